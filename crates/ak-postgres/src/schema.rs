//! The schema, its versioned migrations, the ak marker, and the checks that refuse a schema of
//! another application or of a newer ak, and a server that would not keep acknowledged writes.

use std::time::Duration;

use ak_core::{BackendErrorKind, StoreError};
use postgres::error::SqlState;
use postgres::{GenericClient, IsolationLevel, Transaction};

use crate::error::{Fail, backend};

/// The schema version this code writes (`schema_meta.schema_version`). Older ak schemas are
/// migrated on open; newer ones are refused and left untouched.
pub const SCHEMA_VERSION: i32 = 3;

/// The `schema_meta.application` marker of every ak schema.
pub const APPLICATION: &str = "ak";

/// The first key of the transaction-level advisory lock that migrations hold (`"akks"`); the
/// second is `hashtext(schema)`, so migrations of different schemas do not wait for each other.
pub const MIGRATION_LOCK: i32 = 0x616B_6B73;

/// Whether `name` is a schema name this crate accepts: `^[a-z_][a-z0-9_]{0,62}$`.
pub fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
        && !name.starts_with("pg_")
}

/// How long the migration to version 3 waits for each lock it takes on an index or table that
/// other nodes' queries use, before it gives up with [`BackendErrorKind::Locked`] and rolls back
/// (the schema stays at its version; opening again retries).
///
/// `ALTER INDEX ... SET (fastupdate = off)` needs an `ACCESS EXCLUSIVE` lock on the index, and
/// every other query of the index waits behind that request, granted or not. Without a bound, a
/// node migrating behind one long transaction (in a rolling upgrade) would stall every query of
/// every other node until that transaction ends; with it, they wait at most this long per index
/// and the migrating node fails with a clear error. It is the migration transaction's
/// `lock_timeout` (`SET LOCAL`) from the first such `ALTER INDEX` to the commit, since the locks
/// are held until then; the wait for the migration advisory lock ([`MIGRATION_LOCK`]), which only
/// other migrating nodes hold, is not bounded by it. Indexes that already have `fastupdate` off
/// are not altered, so re-running the migration takes no such lock.
pub const MIGRATION_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// One migration: what takes a schema from one version to the next.
enum Step {
    /// Statements run as one batch; `{s}` is the quoted schema name.
    Sql(&'static str),
    /// `fastupdate = off` on these GIN indexes of the schema, each one unless it is off already,
    /// under [`MIGRATION_LOCK_TIMEOUT`]; then their pending lists are merged.
    FastupdateOff(&'static [&'static str]),
}

/// `MIGRATIONS[n]` takes a schema from version `n` to `n + 1`.
const MIGRATIONS: &[Step] = &[
    // 1: the marker; keys with one column per search filter (tenants as an array and custom
    // attributes as jsonb, both GIN-indexed) and the whole record as JSON in `body`; management
    // keys; the one-row sealed signing-key set. Ids, names and creators compare byte-wise
    // (COLLATE "C"), the order `SearchQuery::compare` defines.
    Step::Sql(
        r#"
    CREATE TABLE {s}.schema_meta (
        singleton      BOOLEAN NOT NULL PRIMARY KEY DEFAULT TRUE CHECK (singleton),
        application    TEXT    NOT NULL,
        schema_version INTEGER NOT NULL
    );
    CREATE TABLE {s}.keys (
        id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        name          TEXT COLLATE "C" NOT NULL,
        status        TEXT   NOT NULL,
        created_time  BIGINT NOT NULL,
        expire_time   BIGINT,
        created_by    TEXT COLLATE "C" NOT NULL,
        bound_user_id TEXT COLLATE "C",
        tenant_ids    TEXT[] NOT NULL,
        attributes    JSONB  NOT NULL,
        version       BIGINT NOT NULL,
        body          TEXT   NOT NULL
    );
    CREATE INDEX keys_by_created_time ON {s}.keys (created_time, id);
    CREATE INDEX keys_by_name         ON {s}.keys (name, id);
    CREATE INDEX keys_by_status       ON {s}.keys (status, created_time, id);
    CREATE INDEX keys_by_status_name  ON {s}.keys (status, name, id);
    CREATE INDEX keys_by_bound_user   ON {s}.keys (bound_user_id, created_time, id);
    CREATE INDEX keys_by_created_by   ON {s}.keys (created_by, created_time, id);
    CREATE INDEX keys_by_tenant       ON {s}.keys USING GIN (tenant_ids);
    CREATE INDEX keys_by_attributes   ON {s}.keys USING GIN (attributes jsonb_path_ops);
    CREATE TABLE {s}.management_keys (
        id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE {s}.signing_keys (
        id      SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
        version BIGINT   NOT NULL CHECK (version > 0),
        sealed  BYTEA    NOT NULL
    );
    "#,
    ),
    // 2: last use per key (columns beside the record, written without touching `version`, with
    // indexes for the stale-key and expiry filters); webhooks (the whole record, its secret sealed
    // by the facade, as JSON); the audit trail: one row per event with its key ids as a
    // GIN-indexed array.
    Step::Sql(
        r#"
    ALTER TABLE {s}.keys ADD COLUMN last_used_time BIGINT;
    ALTER TABLE {s}.keys ADD COLUMN last_used_ip TEXT;
    CREATE INDEX keys_by_last_used   ON {s}.keys (last_used_time, id);
    CREATE INDEX keys_by_expire_time ON {s}.keys (expire_time, id);
    CREATE TABLE {s}.webhooks (
        id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE {s}.audit_events (
        id       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        occurred BIGINT NOT NULL,
        action   TEXT COLLATE "C" NOT NULL,
        actor    TEXT COLLATE "C" NOT NULL,
        key_ids  TEXT[] NOT NULL,
        body     TEXT NOT NULL
    );
    CREATE INDEX audit_events_by_time   ON {s}.audit_events (occurred, id);
    CREATE INDEX audit_events_by_action ON {s}.audit_events (action, occurred, id);
    CREATE INDEX audit_events_by_actor  ON {s}.audit_events (actor, occurred, id);
    CREATE INDEX audit_events_by_key    ON {s}.audit_events USING GIN (key_ids);
    "#,
    ),
    // 3: the GIN indexes insert straight into their trees. With `fastupdate` (the default) new
    // entries wait in a pending list that every search through the index reads whole until a
    // vacuum (or 4 MB of them) merges it: on a server whose autovacuum has not run yet (or is
    // off), a tenant search after a bulk load of 100,000 keys read all 100,000 pending entries.
    // Keys are written far more rarely than searched, so the slower insert is the better trade.
    Step::FastupdateOff(&["keys_by_tenant", "keys_by_attributes", "audit_events_by_key"]),
];

/// What a schema holds, read without writing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// No schema of that name.
    Absent,
    /// The schema exists and holds no table, view or sequence.
    Empty,
    /// An ak schema of this version.
    Ak(i32),
}

fn incompatible(label: &str, schema: &str, why: impl std::fmt::Display) -> StoreError {
    backend(
        BackendErrorKind::Incompatible,
        format!("{label}: schema {schema}: {why}"),
        None,
    )
}

fn inspect(client: &mut impl GenericClient, label: &str, schema: &str) -> Result<Found, Fail> {
    let row = client.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1),
                EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1 AND c.relname = 'schema_meta' AND c.relkind = 'r')",
        &[&schema],
    )?;
    let (exists, objects, has_meta): (bool, i64, bool) = (row.get(0), row.get(1), row.get(2));
    if !exists {
        return Ok(Found::Absent);
    }
    if objects == 0 {
        return Ok(Found::Empty);
    }
    if !has_meta {
        return Err(incompatible(
            label,
            schema,
            format!("holds {objects} objects but no ak marker (schema_meta): another application's schema is never touched; choose another schema"),
        )
        .into());
    }
    // Read the marker as JSON so that a foreign `schema_meta` of another shape is refused, not an
    // SQL error.
    let rows = client.query(
        &format!("SELECT to_jsonb(m)::text FROM \"{schema}\".schema_meta m"),
        &[],
    )?;
    let markers: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|row| serde_json::from_str(row.get::<_, &str>(0)).ok())
        .collect();
    let version = match markers.as_slice() {
        [marker] if marker.get("application").and_then(|v| v.as_str()) == Some(APPLICATION) => marker
            .get("schema_version")
            .and_then(serde_json::Value::as_i64)
            .and_then(|version| i32::try_from(version).ok()),
        _ => None,
    };
    let Some(version) = version else {
        return Err(incompatible(
            label,
            schema,
            "its schema_meta table is not ak's marker: another application's schema is never touched",
        )
        .into());
    };
    if version > SCHEMA_VERSION {
        return Err(incompatible(
            label,
            schema,
            format!("schema version {version} is newer than this ak supports ({SCHEMA_VERSION}); upgrade ak to use it"),
        )
        .into());
    }
    if version < 1 {
        return Err(incompatible(label, schema, format!("invalid ak schema version {version}")).into());
    }
    Ok(Found::Ak(version))
}

/// Refuses a server that could lose acknowledged writes: `fsync` off (server-wide), or
/// `synchronous_commit` off for this session (the store asks for `on` in every session's startup
/// options, so only a server or proxy that ignores them gets here).
pub(crate) fn check_durability(client: &mut impl GenericClient, label: &str) -> Result<(), Fail> {
    let row = client.query_one(
        "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
        &[],
    )?;
    let (fsync, synchronous_commit): (String, String) = (row.get(0), row.get(1));
    if fsync != "on" {
        return Err(backend(
            BackendErrorKind::Incompatible,
            format!("{label}: the server runs with fsync = {fsync}: acknowledged writes (and revocations) could be lost in a crash, so ak refuses it"),
            None,
        )
        .into());
    }
    if synchronous_commit == "off" {
        return Err(backend(
            BackendErrorKind::Incompatible,
            format!("{label}: sessions run with synchronous_commit = off: acknowledged writes could be lost in a crash, so ak refuses it"),
            None,
        )
        .into());
    }
    Ok(())
}

/// Brings `schema` to [`SCHEMA_VERSION`]: checks without writing first, then (unless already
/// current) in one `READ COMMITTED` transaction holding the migration advisory lock, re-checks
/// and migrates.
pub(crate) fn migrate(client: &mut postgres::Client, label: &str, schema: &str) -> Result<(), Fail> {
    if inspect(client, label, schema)? == Found::Ak(SCHEMA_VERSION) {
        return Ok(());
    }
    // READ COMMITTED whatever the server's, role's or session's default: each statement then
    // reads in a fresh snapshot, so the re-check after the advisory lock sees what a node that
    // held the lock before committed. Under `repeatable read` or `serializable` the snapshot
    // would be the one taken when the lock was requested, and a second node would migrate an
    // already migrated schema again (and fail).
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&MIGRATION_LOCK, &schema],
    )?;
    let from = match inspect(&mut tx, label, schema)? {
        Found::Ak(version) if version == SCHEMA_VERSION => return Ok(()),
        Found::Ak(version) => version,
        Found::Empty => 0,
        Found::Absent => {
            tx.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))?;
            0
        }
    };
    let quoted = format!("\"{schema}\"");
    let gave_up = |what: &str, err: postgres::Error| lock_timed_out(label, schema, from, what, err);
    for step in MIGRATIONS
        .iter()
        .skip(usize::try_from(from).unwrap_or(usize::MAX))
    {
        match step {
            Step::Sql(sql) => tx.batch_execute(&sql.replace("{s}", &quoted))?,
            Step::FastupdateOff(indexes) => fastupdate_off(&mut tx, schema, indexes, &gave_up)?,
        }
    }
    tx.execute(
        &format!(
            "INSERT INTO {quoted}.schema_meta (singleton, application, schema_version) VALUES (TRUE, $1, $2)
             ON CONFLICT (singleton) DO UPDATE SET schema_version = excluded.schema_version"
        ),
        &[&APPLICATION, &SCHEMA_VERSION],
    )
    .map_err(|err| gave_up("table schema_meta", err))?;
    tx.commit()?;
    Ok(())
}

/// Turns `fastupdate` off on each of `indexes` (in `schema`) whose options do not say so
/// already, and merges its pending list. The first `ALTER INDEX` sets the transaction's
/// `lock_timeout` to [`MIGRATION_LOCK_TIMEOUT`] for the rest of it; `gave_up` maps the errors of
/// what waits under it.
///
/// An index found off is left alone: no `ACCESS EXCLUSIVE` lock, and no need for the migrating
/// role to own it (both `ALTER INDEX` and `gin_clean_pending_list` need ownership).
fn fastupdate_off(
    tx: &mut Transaction<'_>,
    schema: &str,
    indexes: &[&str],
    gave_up: &impl Fn(&str, postgres::Error) -> Fail,
) -> Result<(), Fail> {
    let mut bounded = false;
    for index in indexes {
        if fastupdate_is_off(tx, schema, index)? {
            continue;
        }
        if !bounded {
            tx.batch_execute(&format!(
                "SET LOCAL lock_timeout = '{}ms'",
                MIGRATION_LOCK_TIMEOUT.as_millis()
            ))?;
            bounded = true;
        }
        let qualified = format!("\"{schema}\".{index}");
        let what = format!("index {index}");
        tx.batch_execute(&format!("ALTER INDEX {qualified} SET (fastupdate = off)"))
            .map_err(|err| gave_up(&what, err))?;
        tx.execute("SELECT gin_clean_pending_list($1::text::regclass)", &[&qualified])
            .map_err(|err| gave_up(&what, err))?;
    }
    Ok(())
}

/// Whether index `index` of `schema` has `fastupdate` off in its options: the value as written
/// (`off`, `false`, `0`, ... in any case, every spelling of false PostgreSQL's boolean options
/// accept). Anything else, an unset option included, is "not off", and the index is altered.
fn fastupdate_is_off(tx: &mut Transaction<'_>, schema: &str, index: &str) -> Result<bool, Fail> {
    let row = tx.query_one(
        "SELECT EXISTS (
           SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                  pg_options_to_table(c.reloptions) o
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'i'
              AND o.option_name = 'fastupdate'
              AND lower(o.option_value) IN ('f', 'fa', 'fal', 'fals', 'false', 'n', 'no', 'of', 'off', '0'))",
        &[&schema, &index],
    )?;
    Ok(row.get(0))
}

/// The typed error of a migration statement that waited longer than the lock timeout for a lock
/// on `what`; any other error as it is. The transaction is rolled back by its caller's `?`.
fn lock_timed_out(label: &str, schema: &str, from: i32, what: &str, err: postgres::Error) -> Fail {
    if err.code() != Some(&SqlState::LOCK_NOT_AVAILABLE) {
        return Fail::Pg(err);
    }
    Fail::Store(backend(
        BackendErrorKind::Locked,
        format!(
            "{label}: schema {schema}: migrating from version {from} to {SCHEMA_VERSION}: another session held a lock on {what} for longer than the migration waits ({MIGRATION_LOCK_TIMEOUT:?}); nothing was changed (the schema is still at version {from}): open the store again once that session's transaction has ended"
        ),
        Some(Box::new(err)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        for good in ["ak", "_x", "tenant_a1", &"a".repeat(63)] {
            assert!(valid_schema_name(good), "{good}");
        }
        for bad in [
            "",
            "1ak",
            "Ak",
            "a-b",
            "a\"b",
            "a b",
            &"a".repeat(64),
            "pg_temp",
            "é",
        ] {
            assert!(!valid_schema_name(bad), "{bad}");
        }
    }

    #[test]
    fn migrations_cover_every_version() {
        assert_eq!(MIGRATIONS.len(), usize::try_from(SCHEMA_VERSION).unwrap());
    }
}
