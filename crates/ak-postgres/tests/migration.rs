//! Migrations under contention, as in a rolling upgrade: a node migrating behind another node's
//! long transaction gives up after `MIGRATION_LOCK_TIMEOUT` with a typed error and changes
//! nothing (and a retry migrates); a migration that has nothing to alter takes no lock that a
//! query of another node holds; and nodes wait on the migration lock (which only migrating nodes
//! hold) however long it takes, then migrate once even when their sessions default to
//! `repeatable read`.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ak_core::{BackendErrorKind, KeyStore, StoreError};
use ak_postgres::{MIGRATION_LOCK, MIGRATION_LOCK_TIMEOUT, PgConfig, PgStore, SCHEMA_VERSION};
use postgres::Client;

/// The GIN indexes whose `fastupdate` version 3 turns off.
const GIN_INDEXES: [&str; 3] = ["keys_by_tenant", "keys_by_attributes", "audit_events_by_key"];

/// How long past the lock timeout a test waits for an open before it calls the open hung.
const SLACK: Duration = Duration::from_secs(20);

/// A schema at version 2 as version 2 made it (`fastupdate` unset on every GIN index), holding
/// key `k1`.
fn version_2_schema(admin: &mut Client, schema: &common::TempSchema) {
    schema
        .open()
        .insert(&ak_testkit::fixtures::record("k1", "one", 1))
        .unwrap();
    let name = &schema.name;
    for index in GIN_INDEXES {
        admin
            .batch_execute(&format!("ALTER INDEX \"{name}\".{index} RESET (fastupdate)"))
            .unwrap();
    }
    admin
        .batch_execute(&format!("UPDATE \"{name}\".schema_meta SET schema_version = 2"))
        .unwrap();
    assert_eq!(options(admin, name, "keys_by_tenant"), None);
}

fn version(admin: &mut Client, schema: &str) -> i32 {
    admin
        .query_one(
            &format!("SELECT schema_version FROM \"{schema}\".schema_meta"),
            &[],
        )
        .unwrap()
        .get(0)
}

/// The `reloptions` of an index.
fn options(admin: &mut Client, schema: &str, index: &str) -> Option<Vec<String>> {
    admin
        .query_one(
            "SELECT c.reloptions::text[] FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &index],
        )
        .unwrap()
        .get(0)
}

/// `ACCESS EXCLUSIVE` locks held or requested by any session on a relation of `schema`.
fn exclusive_locks(admin: &mut Client, schema: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND l.mode = 'AccessExclusiveLock'",
            &[&schema],
        )
        .unwrap()
        .get(0)
}

/// Another node's long transaction: open, having read `tables` (so it holds `ACCESS SHARE` on
/// them and on every one of their indexes) until it is dropped or rolled back. Dropping the
/// client (also when a test panics) ends the session and its locks.
fn long_transaction(schema: &str, tables: &[&str]) -> Client {
    let mut holder = common::admin().expect("the test server answered a moment ago");
    holder.batch_execute("BEGIN").unwrap();
    for table in tables {
        holder
            .batch_execute(&format!("SELECT count(*) FROM \"{schema}\".{table}"))
            .unwrap();
    }
    holder
}

/// Opens the store on another thread; the result and how long it took, or `None` if it took
/// longer than `limit` (the thread is then left to finish once the test's locks are gone).
fn open_within(config: PgConfig, limit: Duration) -> Option<(Result<PgStore, StoreError>, Duration)> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let start = Instant::now();
        let result = PgStore::open(&config);
        let _ = send.send((result, start.elapsed()));
    });
    receive.recv_timeout(limit).ok()
}

#[test]
fn a_migration_behind_a_long_transaction_gives_up_changing_nothing_and_a_retry_migrates() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let name = &schema.name;
    version_2_schema(&mut admin, &schema);
    // Holds ACCESS SHARE on audit_events_by_key, the last index the migration alters.
    let mut holder = long_transaction(name, &["audit_events"]);

    let Some((result, took)) = open_within(schema.config(), MIGRATION_LOCK_TIMEOUT + SLACK) else {
        drop(holder);
        panic!("the migration still waits for its lock {SLACK:?} past MIGRATION_LOCK_TIMEOUT");
    };
    let err = result.expect_err("the migration cannot get its lock");
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Locked), "{err}");
    let text = err.to_string();
    for mention in ["index audit_events_by_key", "still at version 2", name.as_str()] {
        assert!(text.contains(mention), "{text:?} should mention {mention:?}");
    }
    assert!(
        took >= MIGRATION_LOCK_TIMEOUT - Duration::from_millis(100),
        "gave up after {took:?}, before the lock timeout"
    );

    // Everything rolled back, the two indexes altered before the one it could not lock included;
    // no lock is left behind, and the schema serves queries (another node's transaction still
    // open).
    assert_eq!(version(&mut admin, name), 2);
    for index in GIN_INDEXES {
        assert_eq!(options(&mut admin, name, index), None, "{index}");
    }
    assert_eq!(exclusive_locks(&mut admin, name), 0);
    let mut other = admin.transaction().unwrap();
    other.batch_execute("SET LOCAL lock_timeout = '1s'").unwrap();
    let found: i64 = other
        .query_one(
            &format!("SELECT count(*) FROM \"{name}\".keys WHERE tenant_ids @> ARRAY['t1']"),
            &[],
        )
        .unwrap()
        .get(0);
    assert!(found <= 1);
    other
        .batch_execute(&format!(
            "INSERT INTO \"{name}\".audit_events VALUES ('e1', 1, 'a', 'b', ARRAY['k1'], '{{}}')"
        ))
        .unwrap();
    other.rollback().unwrap();

    // The other node's transaction ends: opening again migrates.
    holder.batch_execute("ROLLBACK").unwrap();
    let store = schema.open();
    assert_eq!(version(&mut admin, name), SCHEMA_VERSION);
    for index in GIN_INDEXES {
        assert_eq!(
            options(&mut admin, name, index),
            Some(vec!["fastupdate=off".to_owned()]),
            "{index}"
        );
    }
    assert!(store.get("k1").unwrap().is_some());
}

#[test]
fn indexes_already_off_are_not_altered_so_the_migration_takes_no_exclusive_lock() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let name = &schema.name;
    version_2_schema(&mut admin, &schema);
    // Off already, in the spellings PostgreSQL keeps as they were written.
    for (index, off) in GIN_INDEXES.iter().zip(["off", "'FALSE'", "0"]) {
        admin
            .batch_execute(&format!(
                "ALTER INDEX \"{name}\".{index} SET (fastupdate = {off})"
            ))
            .unwrap();
    }
    // ACCESS SHARE on every GIN index (and table): it conflicts with ALTER INDEX's ACCESS
    // EXCLUSIVE, and with nothing else the migration does.
    let holder = long_transaction(name, &["keys", "audit_events"]);

    let Some((result, took)) = open_within(schema.config(), MIGRATION_LOCK_TIMEOUT + SLACK) else {
        drop(holder);
        panic!("the migration waits for a lock it should not take");
    };
    let store = result.expect("nothing to alter, so nothing to wait for");
    assert!(took < MIGRATION_LOCK_TIMEOUT, "took {took:?}");
    assert_eq!(version(&mut admin, name), SCHEMA_VERSION);
    assert!(store.get("k1").unwrap().is_some());
    assert_eq!(
        options(&mut admin, name, "keys_by_attributes"),
        Some(vec!["fastupdate=FALSE".to_owned()]),
        "left as it was"
    );

    // Re-opening the now current schema waits for nothing either.
    let Some((result, took)) = open_within(schema.config(), MIGRATION_LOCK_TIMEOUT + SLACK) else {
        drop(holder);
        panic!("re-opening a current schema waits for a lock");
    };
    result.expect("a current schema opens");
    assert!(took < MIGRATION_LOCK_TIMEOUT, "took {took:?}");
    drop(holder);
}

#[test]
fn a_lock_wait_after_the_index_locks_are_taken_is_bounded_too() {
    // Once the migration holds ACCESS EXCLUSIVE on an index, every query of it waits for the
    // migration's commit: so the lock timeout stays in force to the end of the transaction (here
    // the marker update, behind a lock on schema_meta), not only around the ALTER statements.
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let name = &schema.name;
    version_2_schema(&mut admin, &schema);
    let mut holder = common::admin().unwrap();
    holder
        .batch_execute(&format!("BEGIN; LOCK TABLE \"{name}\".schema_meta IN SHARE MODE"))
        .unwrap();

    let Some((result, _)) = open_within(schema.config(), MIGRATION_LOCK_TIMEOUT + SLACK) else {
        drop(holder);
        panic!("the marker update waits unbounded while the migration holds the index locks");
    };
    let err = result.expect_err("the marker cannot be updated");
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Locked), "{err}");
    assert!(err.to_string().contains("table schema_meta"), "{err}");
    drop(holder);
    assert_eq!(version(&mut admin, name), 2);
    assert_eq!(options(&mut admin, name, "keys_by_tenant"), None);
    assert_eq!(exclusive_locks(&mut admin, name), 0);
}

/// The test URL with an `application_name` of its own, and startup `options` (percent-encoded)
/// when given.
fn url_with(application: &str, options: Option<&str>) -> String {
    let url = common::url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let options = options.map_or_else(String::new, |options| format!("&options={options}"));
    format!("{url}{separator}application_name={application}{options}")
}

/// Holds the migration advisory lock of a fresh schema until `openers` nodes (sessions of
/// `config`, named `application`) all wait for it, then for `hold` longer; then releases it and
/// waits for every open. The schema must end with one marker, of the current version.
fn openers_behind_the_migration_lock(application: &str, config: &PgConfig, openers: usize, hold: Duration) {
    let mut admin = common::admin().expect("the test server answered a moment ago");
    let schema = config.schema_name().to_owned();
    // Polled outside the gate's transaction, which would see one snapshot of pg_stat_activity.
    let mut watcher = common::admin().expect("the test server answered a moment ago");
    let mut gate = admin.transaction().unwrap();
    gate.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&MIGRATION_LOCK, &schema],
    )
    .unwrap();
    let (send, receive) = mpsc::channel();
    for _ in 0..openers {
        let (config, send) = (config.clone(), send.clone());
        std::thread::spawn(move || {
            let _ = send.send(PgStore::open(&config).map(drop));
        });
    }
    let deadline = Instant::now() + SLACK;
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                  WHERE a.application_name = $1 AND l.locktype = 'advisory' AND NOT l.granted",
                &[&application],
            )
            .unwrap()
            .get(0);
        if usize::try_from(waiting).unwrap() == openers {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of {openers} openers wait for the migration lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(hold);
    gate.commit().unwrap();

    for _ in 0..openers {
        let opened = receive
            .recv_timeout(SLACK)
            .expect("an opener finishes once the lock is released");
        opened.expect("every node opens");
    }
    let markers: Vec<String> = admin
        .query(
            &format!("SELECT application || ':' || schema_version FROM \"{schema}\".schema_meta"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(markers, [format!("ak:{SCHEMA_VERSION}")]);
}

#[test]
fn the_wait_for_the_migration_lock_is_not_bounded_by_the_lock_timeout() {
    // Only other migrating nodes hold the advisory lock, and they finish: a node waits for it as
    // long as it takes (here longer than MIGRATION_LOCK_TIMEOUT), then finds the schema current.
    let Some(_admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let application = common::unique("akt_wait");
    let config = PgConfig::from_url(&url_with(&application, None))
        .unwrap()
        .schema(&schema.name);
    openers_behind_the_migration_lock(
        &application,
        &config,
        1,
        MIGRATION_LOCK_TIMEOUT + Duration::from_secs(1),
    );
}

#[test]
fn nodes_waiting_on_the_migration_lock_migrate_once_in_repeatable_read_sessions() {
    // With `default_transaction_isolation = 'repeatable read'`, a migration transaction that took
    // its snapshot when it asked for the advisory lock would re-check the schema as it was before
    // the first node's migration committed, and migrate it again (failing on "schema already
    // exists"). The test holds the advisory lock until both openers wait for it, so the second
    // opener's wait always spans the first one's commit: deterministic, not a timing race.
    let Some(_admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let application = common::unique("akt_rr");
    // `-c default_transaction_isolation=repeatable\ read`, percent-encoded.
    let url = url_with(
        &application,
        Some("-c%20default_transaction_isolation%3Drepeatable%5C%20read"),
    );
    let mut probe: Client = url
        .parse::<postgres::Config>()
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    let isolation: String = probe
        .query_one("SHOW default_transaction_isolation", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        isolation, "repeatable read",
        "the sessions' default is the one the test means"
    );
    drop(probe);
    let config = PgConfig::from_url(&url).unwrap().schema(&schema.name);
    openers_behind_the_migration_lock(&application, &config, 2, Duration::from_millis(200));
}
