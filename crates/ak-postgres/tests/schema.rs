//! Opening: migrations (idempotent, safe when nodes start at once), and what opening refuses
//! with a typed error while creating or changing nothing: another application's schema, a newer
//! ak schema, an invalid schema name, a server that refuses the login or the privilege, a server
//! that does not answer.

mod common;

use std::sync::{Arc, Barrier};

use ak_core::{BackendErrorKind, KeyStore, StoreError};
use ak_postgres::{PgConfig, PgStore, SCHEMA_VERSION};
use postgres::Client;

/// Every table of `schema` with its row count, and the marker rows: what "nothing changed"
/// compares.
fn snapshot(admin: &mut Client, schema: &str) -> Vec<String> {
    let tables: Vec<String> = admin
        .query(
            "SELECT c.relname::text || ':' || c.relkind::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut out = tables.clone();
    for table in tables.iter().filter_map(|entry| entry.strip_suffix(":r")) {
        let rows: String = admin
            .query_one(
                &format!("SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM \"{schema}\".\"{table}\" t"),
                &[],
            )
            .unwrap()
            .get(0);
        out.push(format!("{table}={rows}"));
    }
    out
}

fn schema_exists(admin: &mut Client, schema: &str) -> bool {
    admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .unwrap()
        .get(0)
}

fn assert_kind(result: Result<PgStore, StoreError>, kind: BackendErrorKind, mentions: &str) -> StoreError {
    let err = result.expect_err("opening must fail");
    assert_eq!(err.backend_kind(), Some(kind), "{err}");
    let text = err.to_string();
    assert!(text.contains(mentions), "{text:?} should mention {mentions:?}");
    err
}

#[test]
fn opening_creates_the_schema_once_and_reopening_changes_nothing() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    assert!(!schema_exists(&mut admin, &schema.name));
    let store = schema.open();
    store
        .insert(&ak_testkit::fixtures::record("k1", "one", 1))
        .unwrap();
    let before = snapshot(&mut admin, &schema.name);
    assert!(
        before
            .iter()
            .any(|line| line == &format!("schema_meta=(t,ak,{SCHEMA_VERSION})")),
        "{before:?}"
    );
    for _ in 0..3 {
        let again = schema.open();
        assert!(again.get("k1").unwrap().is_some());
    }
    assert_eq!(snapshot(&mut admin, &schema.name), before);
}

#[test]
fn nodes_starting_at_once_migrate_exactly_once() {
    let Some(mut admin) = common::admin() else { return };
    let schema = Arc::new(common::TempSchema::new());
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (schema, barrier) = (Arc::clone(&schema), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let config = schema.config();
                barrier.wait();
                PgStore::open(&config).map(drop)
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().expect("every node opens");
    }
    let markers: i64 = admin
        .query_one(
            &format!("SELECT count(*) FROM \"{}\".schema_meta", schema.name),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(markers, 1);
}

#[test]
fn another_applications_schema_is_refused_and_untouched() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let name = &schema.name;
    // Tables with ak's names, but no marker.
    admin
        .batch_execute(&format!(
            "CREATE SCHEMA \"{name}\";
             CREATE TABLE \"{name}\".keys (id text PRIMARY KEY, owner text);
             CREATE TABLE \"{name}\".management_keys (id text PRIMARY KEY);
             INSERT INTO \"{name}\".keys VALUES ('theirs', 'other app');"
        ))
        .unwrap();
    let before = snapshot(&mut admin, name);
    assert_kind(
        PgStore::open(&schema.config()),
        BackendErrorKind::Incompatible,
        "no ak marker",
    );
    assert_eq!(snapshot(&mut admin, name), before);

    // A foreign schema_meta of another shape, or ak's shape with another application's name.
    admin
        .batch_execute(&format!("CREATE TABLE \"{name}\".schema_meta (version int); INSERT INTO \"{name}\".schema_meta VALUES (1);"))
        .unwrap();
    let before = snapshot(&mut admin, name);
    assert_kind(
        PgStore::open(&schema.config()),
        BackendErrorKind::Incompatible,
        "not ak's marker",
    );
    assert_eq!(snapshot(&mut admin, name), before);
    admin
        .batch_execute(&format!(
            "DROP TABLE \"{name}\".schema_meta;
             CREATE TABLE \"{name}\".schema_meta (singleton bool PRIMARY KEY, application text, schema_version int);
             INSERT INTO \"{name}\".schema_meta VALUES (true, 'billing', 1);"
        ))
        .unwrap();
    let before = snapshot(&mut admin, name);
    assert_kind(
        PgStore::open(&schema.config()),
        BackendErrorKind::Incompatible,
        "not ak's marker",
    );
    assert_eq!(snapshot(&mut admin, name), before);
}

#[test]
fn a_newer_schema_is_refused_and_untouched() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    schema
        .open()
        .insert(&ak_testkit::fixtures::record("k1", "one", 1))
        .unwrap();
    admin
        .batch_execute(&format!(
            "UPDATE \"{}\".schema_meta SET schema_version = {}",
            schema.name,
            SCHEMA_VERSION + 1
        ))
        .unwrap();
    let before = snapshot(&mut admin, &schema.name);
    assert_kind(
        PgStore::open(&schema.config()),
        BackendErrorKind::Incompatible,
        "newer",
    );
    assert_eq!(snapshot(&mut admin, &schema.name), before);
}

#[test]
fn an_empty_schema_made_by_an_administrator_is_initialised() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    admin
        .batch_execute(&format!("CREATE SCHEMA \"{}\"", schema.name))
        .unwrap();
    let store = schema.open();
    store
        .insert(&ak_testkit::fixtures::record("k1", "one", 1))
        .unwrap();
    assert!(store.get("k1").unwrap().is_some());
}

#[test]
fn invalid_schema_names_are_refused_before_connecting() {
    let Some(mut admin) = common::admin() else { return };
    for name in [
        "",
        "Ak",
        "a-b",
        "x\"; DROP SCHEMA public; --",
        "pg_catalog",
        &"a".repeat(64),
    ] {
        let config = PgConfig::from_url(&common::url()).unwrap().schema(name);
        assert_kind(
            PgStore::open(&config),
            BackendErrorKind::Incompatible,
            "invalid schema name",
        );
    }
    assert!(schema_exists(&mut admin, "public"));
}

#[test]
fn unknown_role_and_unknown_database_are_denied_and_nothing_is_created() {
    // The test server trusts 127.0.0.1, so any password is accepted there: a wrong password is
    // tested on a private cluster with password authentication (tests/cluster.rs). Here: an
    // unknown role and an unknown database, which the server refuses with or without trust.
    let Some(mut admin) = common::admin() else { return };
    let base = PgConfig::from_url(&common::url()).unwrap();
    let host = base.label().split('/').next().unwrap().to_owned();
    let schema = common::TempSchema::new();

    let role = common::unique("akt_nobody");
    let url = format!("postgres://{role}:not-the-password@{host}/test");
    let config = PgConfig::from_url(&url).unwrap().schema(&schema.name);
    let err = assert_kind(PgStore::open(&config), BackendErrorKind::Denied, &host);
    assert!(!format!("{err} {err:?}").contains("not-the-password"), "{err:?}");

    let database = common::unique("akt_nodb");
    let url = format!("postgres://postgres@{host}/{database}");
    let config = PgConfig::from_url(&url).unwrap().schema(&schema.name);
    assert_kind(PgStore::open(&config), BackendErrorKind::Denied, &database);
    assert!(!schema_exists(&mut admin, &schema.name));
}

#[test]
fn a_role_without_the_create_privilege_is_denied_and_nothing_is_created() {
    let Some(mut admin) = common::admin() else { return };
    let base = PgConfig::from_url(&common::url()).unwrap();
    let host = base.label().split('/').next().unwrap().to_owned();
    let database = base.label().split('/').nth(1).unwrap().to_owned();
    let role = common::unique("akt_reader");
    admin
        .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
        .unwrap();
    // PUBLIC has no CREATE privilege on a database unless granted, so the role cannot create a
    // schema.
    let schema = common::TempSchema::new();
    let config = PgConfig::from_url(&format!("postgres://{role}@{host}/{database}"))
        .unwrap()
        .schema(&schema.name);
    let result = PgStore::open(&config);
    let exists = schema_exists(&mut admin, &schema.name);
    admin.batch_execute(&format!("DROP ROLE \"{role}\"")).unwrap();
    assert_kind(result, BackendErrorKind::Denied, "permission denied");
    assert!(!exists);
}

#[test]
fn a_server_that_does_not_answer_is_unavailable_and_named() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = PgConfig::from_url(&format!("postgres://ak:sekrit@127.0.0.1:{port}/keys")).unwrap();
    let err = assert_kind(
        PgStore::open(&config),
        BackendErrorKind::Unavailable,
        &format!("127.0.0.1:{port}/keys"),
    );
    assert!(!format!("{err} {err:?}").contains("sekrit"), "{err:?}");
}

#[test]
fn tls_is_required_when_the_url_says_so() {
    // The server's certificate is not signed by any root the store trusts (and 127.0.0.1 is not
    // its name), so a verifying TLS connection must fail, not fall back to plaintext.
    let Some(_admin) = common::admin() else { return };
    let base = PgConfig::from_url(&common::url()).unwrap();
    let host = base.label().split('/').next().unwrap().to_owned();
    let schema = common::TempSchema::new();
    let config = PgConfig::from_url(&format!("postgres://postgres@{host}/test?sslmode=require"))
        .unwrap()
        .schema(&schema.name);
    assert!(config.tls());
    let err = PgStore::open(&config).expect_err("an unverifiable server is refused");
    assert!(err.to_string().contains(&host), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[test]
fn tls_connects_to_a_server_whose_certificate_is_trusted() {
    let Some(mut admin) = common::admin() else { return };
    let row = admin
        .query_one(
            "SELECT current_setting('ssl'), current_setting('ssl_cert_file'), inet_server_port()",
            &[],
        )
        .unwrap();
    let (ssl, cert, port): (String, String, i32) = (row.get(0), row.get(1), row.get(2));
    let readable = std::fs::read_to_string(&cert).is_ok_and(|pem| pem.contains("BEGIN CERTIFICATE"));
    if ssl != "on" || !readable {
        println!("skipped: the test server has no TLS certificate this test can read (ssl = {ssl}, {cert})");
        return;
    }
    // Debian's snakeoil certificate names "localhost"; hostaddr keeps the connection on 127.0.0.1.
    let schema = common::TempSchema::new();
    let application = common::unique("akt_tls");
    let url = format!(
        "postgres://postgres@localhost:{port}/test?hostaddr=127.0.0.1&sslmode=require&sslrootcert={cert}&application_name={application}"
    );
    let store = match PgStore::open(&PgConfig::from_url(&url).unwrap().schema(&schema.name)) {
        Ok(store) => store,
        Err(err) if err.to_string().contains("NotValidForName") => {
            println!("skipped: the server's certificate does not name localhost ({err})");
            return;
        }
        Err(err) => panic!("{err}"),
    };
    store
        .insert(&ak_testkit::fixtures::record("k1", "one", 1))
        .unwrap();
    let encrypted: bool = admin
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid
              WHERE a.application_name = $1",
            &[&application],
        )
        .unwrap()
        .get(0);
    assert!(encrypted, "the store's sessions are not encrypted");
}

#[test]
fn a_version_1_schema_is_migrated_keeping_every_record() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let name = &schema.name;
    let store = schema.open();
    let key = ak_testkit::fixtures::record("k1", "one", 1);
    store.insert(&key).unwrap();
    drop(store);
    // Take the schema back to what version 1 created.
    admin
        .batch_execute(&format!(
            "ALTER TABLE \"{name}\".keys DROP COLUMN last_used_time, DROP COLUMN last_used_ip;
             DROP INDEX \"{name}\".keys_by_expire_time;
             DROP TABLE \"{name}\".webhooks, \"{name}\".audit_events;
             UPDATE \"{name}\".schema_meta SET schema_version = 1;"
        ))
        .unwrap();
    let store = schema.open();
    assert_eq!(store.get("k1").unwrap(), Some(key));
    let version: i32 = admin
        .query_one(&format!("SELECT schema_version FROM \"{name}\".schema_meta"), &[])
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION);
    ak_core::usage::KeyUsageStore::record_key_usage(
        &store,
        &[ak_core::usage::KeyUsage {
            key_id: "k1".into(),
            time: 5,
            ip: None,
        }],
    )
    .unwrap();
    assert_eq!(store.get("k1").unwrap().unwrap().key.last_used_time, Some(5));
}

#[test]
fn searches_for_values_no_record_can_hold_match_nothing() {
    let Some(_admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let store = schema.open();
    store
        .insert(&ak_testkit::fixtures::record("k1", "one", 1))
        .unwrap();
    for query in [
        ak_core::SearchQuery {
            tenant_ids: vec!["a\0b".into()],
            ..Default::default()
        },
        ak_core::SearchQuery {
            bound_user_id: Some("\0".into()),
            ..Default::default()
        },
        ak_core::SearchQuery {
            created_by: Some("x\0".into()),
            ..Default::default()
        },
    ] {
        assert!(store.search(&query).unwrap().items.is_empty(), "{query:?}");
    }
    assert!(
        store
            .set_status(&["k1\0".to_owned()], ak_core::KeyStatus::Inactive)
            .is_err()
    );
    assert!(store.get("k1\0").unwrap().is_none());
}
