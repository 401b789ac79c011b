//! The audit rows (issue 16), on SQLite, measured by every replicate process like the other
//! paired rows (`AK_BENCH_ONLY=audit` selects them):
//!
//! * a warm exchange through an `AccessKeys` built with an audit store and a usage store (both
//!   the key store itself) against the same exchange of the same key through one built without
//!   them, on the same store (target: at most 1.10x). Both sides present a client address, so
//!   the "on" side pays for the address in the event and in the last use too. The
//!   recorder's writer thread runs beside the measuring thread, as it does in a server; the row
//!   checks afterwards that no event was dropped and that the events are in the store.
//! * audit search by key id, the first page newest first, at [`AuditPlan::big`] events against
//!   [`AuditPlan::small`] (at most 1.3x). The searched key has exactly [`HITS`] events in both
//!   stores, spread evenly through time, and the page holds all of them; every other event
//!   belongs to one of [`OTHER_KEYS`] other keys. So both searches return the same page and the
//!   ratio is the cost of the larger indexes.
//!
//! The stores are built once in the parent process (the audit stores through the store's own
//! `append_audit_events`, [`CHUNK`] events per transaction); the replicates reopen them.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ak::{ExchangeOptions, SqliteKeyStore};
use ak_benches::{Measurement, Target, alternating, per_op_ns};
use ak_core::audit::{AuditEvent, AuditEventStore, AuditQuery, actions};

use super::{Plan, builder, bulk_id, create_real_key, service};

/// Sizes of the audit search row's stores.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditPlan {
    /// Events in the large audit store (a multiple of [`HITS`]).
    pub(crate) big: usize,
    /// Events in the small audit store (a multiple of [`HITS`]).
    pub(crate) small: usize,
}

/// Events of the searched key in either audit store, and the page size of the search.
const HITS: usize = 100;

/// Keys that every other event belongs to, in turn.
const OTHER_KEYS: usize = 999;

/// Events per `append_audit_events` call (one transaction) while building a store.
const CHUNK: usize = 10_000;

/// The client address of the exchanges, and of the stored events.
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

/// When the stored events start (Unix ms); one event per millisecond.
const START_MS: i64 = 1_700_000_000_000;

fn keys_dir(root: &Path) -> PathBuf {
    root.join("audit-keys")
}

fn warm_key_file(root: &Path) -> PathBuf {
    root.join("audit-warm-key.txt")
}

fn events_dir(root: &Path, count: usize) -> PathBuf {
    root.join(format!("audit-events-{count}"))
}

fn open_store(dir: &Path) -> Arc<SqliteKeyStore> {
    std::fs::create_dir_all(dir).expect("store dir");
    Arc::new(SqliteKeyStore::open(dir.join("keys.db")).expect("open SQLite store"))
}

/// The key whose trail the search row reads.
fn searched_key() -> String {
    bulk_id(0)
}

/// In the parent process: the exchange row's key store (one real key) and both audit stores.
pub(crate) fn create(plan: Plan, root: &Path) {
    eprintln!(
        "audit: creating a key store and audit stores of {} and {} events",
        plan.audit.big, plan.audit.small
    );
    let keys = service(open_store(&keys_dir(root)), false);
    // A bench key in a private temporary directory, read back by the children.
    std::fs::write(warm_key_file(root), create_real_key(&keys, 0)).expect("warm key file");
    for count in [plan.audit.big, plan.audit.small] {
        populate(&events_dir(root, count), count);
    }
}

/// Appends `count` exchange events: the searched key's [`HITS`] every `count / HITS` events, the
/// others' in between, one millisecond apart.
fn populate(dir: &Path, count: usize) {
    assert!(
        count > HITS && count.is_multiple_of(HITS),
        "audit store sizes are multiples of {HITS}"
    );
    let store = open_store(dir);
    let step = count / HITS;
    let searched = searched_key();
    let others: Vec<String> = (1..=OTHER_KEYS).map(bulk_id).collect();
    let start = Instant::now();
    let mut batch = Vec::with_capacity(CHUNK);
    for index in 0..count {
        let key = if index.is_multiple_of(step) {
            &searched
        } else {
            &others[index % OTHER_KEYS]
        };
        let occurred = START_MS + i64::try_from(index).unwrap_or(i64::MAX);
        batch.push(
            AuditEvent::new(actions::ACCESS_KEY_EXCHANGE, key.clone(), occurred)
                .with_keys([key.clone()])
                .with_client(Some(CLIENT.to_string())),
        );
        if batch.len() == CHUNK || index + 1 == count {
            store.append_audit_events(&batch).expect("append audit events");
            batch.clear();
        }
    }
    eprintln!(
        "  appended {count} audit events in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// In a child process: both audit rows.
pub(crate) fn audit_rows(plan: Plan, root: &Path, rows: &mut Vec<Measurement>) {
    exchange_row(plan, root, rows);
    search_row(plan, root, rows);
}

/// A warm exchange with the audit trail and last-used tracking on, against the same with both off.
fn exchange_row(plan: Plan, root: &Path, rows: &mut Vec<Measurement>) {
    let store = open_store(&keys_dir(root));
    let off = service(store.clone(), false);
    let on = builder(store.clone())
        .audit_store(store.clone())
        .usage_store(store)
        .build()
        .expect("bench service settings are valid");
    let warm = std::fs::read_to_string(warm_key_file(root)).expect("warm key file");
    let options = ExchangeOptions {
        client_ip: Some(CLIENT),
        ..ExchangeOptions::default()
    };
    // Each service verifies the secret once (argon2id); later exchanges hit its cache.
    let key_id = on.exchange(&warm, &options).expect("exchange").key_id;
    assert!(off.exchange(&warm, &options).is_ok(), "exchange");

    let mut with = || {
        per_op_ns(plan.fast, || {
            drop(black_box(on.exchange(black_box(&warm), &options)));
        })
    };
    let mut without = || {
        per_op_ns(plan.fast, || {
            drop(black_box(off.exchange(black_box(&warm), &options)));
        })
    };
    let batches = alternating(plan.schedule, &mut [&mut with, &mut without]);

    // The "on" side recorded every exchange: none dropped, and they are in the store.
    on.flush_audit();
    assert_eq!(
        on.audit_events_dropped(),
        0,
        "the audit recorder dropped events: the row did not measure recording"
    );
    let query = AuditQuery {
        key_ids: vec![key_id],
        limit: 1,
        ..AuditQuery::default()
    };
    let newest = on.search_audit(&query).expect("audit search");
    assert!(
        newest
            .items
            .first()
            .is_some_and(|event| event.client_address.as_deref() == Some("203.0.113.7")),
        "the exchanges are in the audit trail"
    );
    rows.push(Measurement::new(
        "exchange, warm, SQLite, audit trail and last-used on",
        &batches[0],
        ("the same exchange, both off", &batches[1]),
        Target::RatioAtMost(1.10),
    ));
}

/// The searched key's page at the large audit store against the same page at the small one.
fn search_row(plan: Plan, root: &Path, rows: &mut Vec<Measurement>) {
    let big = open_store(&events_dir(root, plan.audit.big));
    let small = open_store(&events_dir(root, plan.audit.small));
    let query = AuditQuery {
        key_ids: vec![searched_key()],
        limit: u32::try_from(HITS).unwrap_or(u32::MAX),
        ..AuditQuery::default()
    };
    for store in [&big, &small] {
        let page = store.search_audit_events(&query).expect("audit search");
        assert_eq!(page.items.len(), HITS, "the searched key's whole trail");
        assert!(page.next_cursor.is_none(), "one page");
        assert!(
            page.items
                .windows(2)
                .all(|pair| pair[0].occurred > pair[1].occurred),
            "newest first"
        );
    }
    let iterations = (plan.fast / 20).max(2);
    let mut at_big = || {
        per_op_ns(iterations, || {
            drop(black_box(big.search_audit_events(black_box(&query))));
        })
    };
    let mut at_small = || {
        per_op_ns(iterations, || {
            drop(black_box(small.search_audit_events(black_box(&query))));
        })
    };
    let batches = alternating(plan.schedule, &mut [&mut at_big, &mut at_small]);
    rows.push(Measurement::new(
        format!(
            "audit search by key id, {HITS} hits, SQLite, {} events",
            Plan::label(plan.audit.big)
        ),
        &batches[0],
        (
            format!("same search at {} events", Plan::label(plan.audit.small)).as_str(),
            &batches[1],
        ),
        Target::RatioAtMost(1.3),
    ));
}
