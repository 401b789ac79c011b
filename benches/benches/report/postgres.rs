//! The PostgreSQL rows (issue 15), measured by every replicate process like the other paired
//! rows, on the test server (`AK_TEST_POSTGRES_URL`, default the machine's PostgreSQL):
//!
//! * exchange, warm, 100k keys, against ed25519-dalek sign plus one bare `SELECT` round trip
//!   (target: at most 1.3x);
//! * load by id against the bare `SELECT` (at most 1.5x);
//! * search by tenant, 100 hits, 100k keys against 10k (at most 1.3x);
//! * exchange throughput of two nodes against one (a speed-up of at least 1.6x).
//!
//! The bare `SELECT` reads a 400-byte `bytea` by primary key from a table of its own (the same
//! ids as the keys) on a `postgres::Client` connected with the store's URL: the round trip every
//! exchange and every load makes, with nothing of ak's around it. A *node* is an `AccessKeys` on
//! its own `PgStore` handle (its own pool), as another process would open it; each node is driven
//! by one thread, so on one machine the row measures how well the nodes share the database, not
//! a saturated node (the nodes and the server share the machine's cores).
//!
//! The single-thread rows (exchange, load, search) run on one CPU together with the server
//! processes of their connections (`on_one_cpu`), so that both sides of a pair make the same
//! same-CPU hand-offs; the two-node row runs on every CPU.
//!
//! The stores are built in the parent process: the keys' own insert (a durable transaction each)
//! on [`LOAD_THREADS`] threads, whose commits PostgreSQL flushes together, and the bare table in
//! chunks of one multi-row `INSERT ... SELECT FROM unnest(...)`. Each lives in a schema of its
//! own, dropped when the report ends. When no server answers the rows are skipped with a line
//! saying so; with `AK_REQUIRE_POSTGRES=1` (as in CI) the report fails instead.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use ak::{ExchangeOptions, KeyStore, PgConfig, PgStore};
use ak_benches::{Measurement, Target, alternating, per_op_ns};
use ak_testkit::postgres::TempSchema;
use ed25519_dalek::Signer;

use super::{Backend, Plan, bulk_id, create_stores, load_row, sample_token, search_rows, service};

/// The backend's name in the rows.
const NAME: &str = "PostgreSQL";

/// Real keys (created through `AccessKeys`) in the large store: the two warm keys and spares.
const REAL_KEYS: usize = 4;

/// Threads of the bulk load, and connections of the store's pool.
const LOAD_THREADS: usize = 16;

/// Rows per statement of the bare table's load.
const BARE_CHUNK: usize = 5_000;

/// The schemas of one report run, dropped (with everything in them) when this is.
#[derive(Debug)]
pub(crate) struct PgStores {
    _big: TempSchema,
    _small: TempSchema,
    _bare: TempSchema,
}

/// The file under a store directory naming its schema.
fn schema_file(dir: &Path) -> PathBuf {
    dir.join("schema")
}

fn bare_schema_file(root: &Path) -> PathBuf {
    root.join("PostgreSQL-bare-schema")
}

/// Opens the store whose schema `dir` names (every call a new handle with its own pool).
fn open_pg(dir: &Path) -> Arc<dyn KeyStore> {
    open_handle(dir)
}

fn open_handle(dir: &Path) -> Arc<PgStore> {
    let schema = std::fs::read_to_string(schema_file(dir)).expect("schema file");
    let config = PgConfig::from_url(&ak_testkit::postgres::url())
        .expect("AK_TEST_POSTGRES_URL")
        .schema(schema.trim())
        .pool_size(LOAD_THREADS);
    Arc::new(PgStore::open(&config).expect("open the PostgreSQL store"))
}

/// A plain client to the server, for the bare table.
fn bare_client() -> postgres::Client {
    ak_testkit::postgres::connect().expect("connect to PostgreSQL")
}

/// In the parent process: the large and small stores and the bare table, or `None` after a
/// "skipped" line when no server answers.
pub(crate) fn create(plan: Plan, root: &Path) -> Option<PgStores> {
    let (big, small, bare) = (TempSchema::new()?, TempSchema::new()?, TempSchema::new()?);
    for (schema, dir) in [
        (&big, super::store_dir(root, NAME)),
        (&small, root.join(format!("{NAME}-small"))),
    ] {
        std::fs::create_dir_all(&dir).expect("store dir");
        std::fs::write(schema_file(&dir), schema.name()).expect("schema file");
    }
    let start = Instant::now();
    create_stores(NAME, plan, root, open_pg, REAL_KEYS, LOAD_THREADS);
    eprintln!("  {NAME} stores ready in {:.1} s", start.elapsed().as_secs_f64());

    let start = Instant::now();
    let mut client = bare_client();
    let table = format!("\"{}\".blobs", bare.name());
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{}\"; CREATE TABLE {table} (id text COLLATE \"C\" PRIMARY KEY, body bytea NOT NULL)",
            bare.name()
        ))
        .expect("bare schema");
    let insert = format!("INSERT INTO {table} (id, body) SELECT * FROM unnest($1::text[], $2::bytea[])");
    let mut transaction = client.transaction().expect("transaction");
    for first in (0..plan.big).step_by(BARE_CHUNK) {
        let indexes = first..(first + BARE_CHUNK).min(plan.big);
        let ids: Vec<String> = indexes.clone().map(bulk_id).collect();
        let bodies: Vec<Vec<u8>> = indexes.map(|index| vec![index.to_le_bytes()[0]; 400]).collect();
        transaction.execute(&insert, &[&ids, &bodies]).expect("bare rows");
    }
    transaction.commit().expect("commit");
    client
        .batch_execute(&format!("ANALYZE {table}"))
        .expect("analyze");
    std::fs::write(bare_schema_file(root), bare.name()).expect("bare schema file");
    eprintln!(
        "  bare table of {} rows in {:.1} s",
        plan.big,
        start.elapsed().as_secs_f64()
    );
    Some(PgStores {
        _big: big,
        _small: small,
        _bare: bare,
    })
}

/// In a child process: every PostgreSQL row, if the parent made the stores.
pub(crate) fn pg_rows(plan: Plan, root: &Path, index: usize, rows: &mut Vec<Measurement>) {
    let Ok(bare_schema) = std::fs::read_to_string(bare_schema_file(root)) else {
        return;
    };
    let backend = Backend::open(NAME, plan, root, open_pg, index);
    let mut client = bare_client();
    let statement = client
        .prepare(&format!(
            "SELECT body FROM \"{}\".blobs WHERE id = $1",
            bare_schema.trim()
        ))
        .expect("prepare the bare SELECT");
    let mut select = |id: &str| {
        let row = client.query_one(&statement, &[&id]).expect("bare row");
        black_box(row.get::<_, Vec<u8>>(0));
    };

    // Both sides' connections exist before their backends are pinned.
    assert!(backend.keys.load(&bulk_id(0)).is_ok(), "a bulk id loads");
    select(&bulk_id(0));
    let backends = backend_pids(&mut pids_client());
    on_one_cpu(&backends, || {
        exchange_row(plan, &backend, &mut select, rows);
        load_row(
            plan,
            &backend,
            ("bare point SELECT of a 400 B bytea", Target::RatioAtMost(1.5)),
            rows,
            &mut select,
        );
        search_rows(plan, &backend, rows);
    });
    two_nodes_row(plan, &backend, root, rows);
}

/// A connection that only looks up the others' backend processes.
fn pids_client() -> postgres::Client {
    bare_client()
}

/// The server processes of this database's client connections (ours: the report is the only
/// client while it runs), except the asking one. Only a pid that is a local `postgres` process
/// counts: a server in another pid namespace or on another host cannot be pinned from here, and
/// its pids may name unrelated local processes.
fn backend_pids(client: &mut postgres::Client) -> Vec<i32> {
    let pids: Vec<i32> = client
        .query(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' \
             AND datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .map(|rows| rows.iter().map(|row| row.get(0)).collect())
        .unwrap_or_default();
    pids.into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == "postgres")
        })
        .collect()
}

/// Sets the CPUs process `pid` may run on (`taskset`, util-linux); false when it could not.
fn taskset(pid: i32, cpus: &str) -> bool {
    Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs `rows` on a thread pinned to the first CPU, with the server processes `backends` pinned
/// to the same CPU, then lets the backends run anywhere again.
///
/// Each of these rows is one thread making one round trip after another. Unpinned, the
/// scheduler puts a backend on the client's CPU or on the other one, and keeps it there for a
/// while; a round trip to the other CPU costs about twice as much on these VMs, so a pair whose
/// two sides drew different placements measured anything from 0.4x to 3x (the load-by-id row's
/// ratio IQR before this). On one CPU both sides of every pair make the same hand-offs. When the
/// backends cannot be pinned (no `taskset`, not permitted) the rows run unpinned, and a line says
/// so.
fn on_one_cpu(backends: &[i32], rows: impl FnOnce() + Send) {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let Some(first) = cores.first().copied() else {
        rows();
        return;
    };
    let all = cores
        .iter()
        .map(|core| core.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let pinned = !backends.is_empty() && backends.iter().all(|pid| taskset(*pid, &first.id.to_string()));
    if !pinned {
        eprintln!("  {NAME}: could not pin the server's backends to one CPU; the point rows run unpinned");
    }
    std::thread::scope(|scope| {
        let measuring = scope.spawn(move || {
            if pinned {
                core_affinity::set_for_current(first);
            }
            rows();
        });
        let outcome = measuring.join();
        for pid in backends {
            taskset(*pid, &all);
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

/// A warm exchange against what it cannot avoid: one signature and one round trip to the server.
fn exchange_row(plan: Plan, backend: &Backend, select: &mut dyn FnMut(&str), rows: &mut Vec<Measurement>) {
    let dalek = ed25519_dalek::SigningKey::from_bytes(&super::SEED);
    let options = ExchangeOptions::default();
    let warm = backend.real[0].clone();
    let (_, signing_input, _) = sample_token(&backend.keys, &warm);
    let keys = &backend.keys;
    let ids = super::lookup_ids(plan);
    let mut next = ids.iter().cycle();
    let mut exchange = || {
        per_op_ns(plan.fast, || {
            drop(black_box(keys.exchange(black_box(&warm), &options)));
        })
    };
    let mut sign_and_select = || {
        per_op_ns(plan.fast, || {
            black_box(dalek.sign(black_box(&signing_input)));
            select(next.next().map_or("", String::as_str));
        })
    };
    let batches = alternating(plan.schedule, &mut [&mut exchange, &mut sign_and_select]);
    rows.push(Measurement::new(
        format!("exchange, warm, {NAME}, {} keys", Plan::label(plan.big)),
        &batches[0],
        ("ed25519-dalek sign + bare SELECT", &batches[1]),
        Target::RatioAtMost(1.3),
    ));
}

/// Two nodes (each an `AccessKeys` on its own store handle, one thread each) against one.
fn two_nodes_row(plan: Plan, backend: &Backend, root: &Path, rows: &mut Vec<Measurement>) {
    let other = service(open_pg(&super::store_dir(root, NAME)), false);
    let nodes = [&backend.keys, &other];
    let warm = [backend.real[0].as_str(), backend.real[1].as_str()];
    let options = ExchangeOptions::default();
    for (node, key) in nodes.iter().zip(warm) {
        assert!(node.exchange(key, &options).is_ok(), "warm exchange");
    }
    let iterations = plan.fast;
    let run = |count: usize| {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for (node, key) in nodes.iter().zip(warm).take(count) {
                let options = &options;
                scope.spawn(move || {
                    for _ in 0..iterations {
                        drop(black_box(node.exchange(black_box(key), options)));
                    }
                });
            }
        });
        start.elapsed().as_nanos() as f64 / (f64::from(iterations) * count as f64)
    };
    let mut two = || run(2);
    let mut one = || run(1);
    let batches = alternating(plan.schedule, &mut [&mut two, &mut one]);
    rows.push(Measurement::new(
        format!("exchange throughput, 2 nodes (time per exchange), {NAME}"),
        &batches[0],
        ("1 node", &batches[1]),
        Target::SpeedupAtLeast(1.6),
    ));
}
