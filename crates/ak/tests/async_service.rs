//! The tokio wrapper runs every call as blocking work and behaves like the sync service.
#![cfg(feature = "tokio")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ak::{
    AccessKeys, AsyncAccessKeys, AuthError, CreateKey, ExchangeError, ExchangeOptions, KeySet,
    MemoryKeyStore, SigningKey, run_blocking,
};

fn service() -> AsyncAccessKeys {
    AsyncAccessKeys::new(
        AccessKeys::builder()
            .store(MemoryKeyStore::new())
            .signing_keys(KeySet::new(SigningKey::generate()))
            .issuer("p")
            .build()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_through_the_async_wrapper() {
    let keys = service();
    let created = keys.create(CreateKey::named("worker")).await.unwrap();
    let cleartext = created.cleartext.expose_secret().to_owned();
    let session = keys
        .exchange(cleartext.clone(), ExchangeOptions::default())
        .await
        .unwrap();
    keys.validate_session_and_key(session.session_jwt.clone())
        .await
        .unwrap();
    let rotated = keys.rotate(created.key.id.clone(), Duration::ZERO).await.unwrap();
    assert!(
        keys.exchange(cleartext, ExchangeOptions::default())
            .await
            .is_err()
    );
    let fresh = rotated.cleartext.expose_secret().to_owned();
    keys.deactivate_batch(vec![created.key.id.clone()]).await.unwrap();
    assert!(matches!(
        keys.exchange(fresh, ExchangeOptions::default()).await,
        Err(ExchangeError::Auth(AuthError::Inactive))
    ));
    keys.delete(created.key.id.clone()).await.unwrap();
    assert!(keys.load(created.key.id).await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_exchanges_on_a_single_threaded_runtime() {
    let keys = service();
    let created = keys.create(CreateKey::named("k")).await.unwrap();
    let cleartext = created.cleartext.expose_secret().to_owned();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (keys, cleartext) = (keys.clone(), cleartext.clone());
            tokio::spawn(async move { keys.exchange(cleartext, ExchangeOptions::default()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().key_id, created.key.id);
    }
}

/// A blocking call that waits (up to 10 s) for a task spawned just before it to run: it can
/// only see it run if the runtime kept running other tasks while the call blocked.
async fn blocking_call_leaves_the_runtime_running() {
    let ticked = Arc::new(AtomicBool::new(false));
    let ticker = {
        let ticked = Arc::clone(&ticked);
        tokio::spawn(async move { ticked.store(true, Ordering::SeqCst) })
    };
    let seen = Arc::clone(&ticked);
    let saw_tick = run_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !seen.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        seen.load(Ordering::SeqCst)
    })
    .await;
    assert!(saw_tick, "another task ran while the blocking call was blocked");
    ticker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_blocking_call_on_a_one_worker_runtime_does_not_stall_it() {
    blocking_call_leaves_the_runtime_running().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_blocking_call_on_a_current_thread_runtime_does_not_stall_it() {
    blocking_call_leaves_the_runtime_running().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_multi_thread_runtime_the_calling_thread_runs_the_call() {
    // No hop to another thread and back: the caller's own thread does the work.
    let caller = std::thread::current().id();
    let ran_on = run_blocking(|| std::thread::current().id()).await;
    assert_eq!(ran_on, caller);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_blocking_call_reaches_the_caller() {
    let outcome = tokio::spawn(run_blocking(|| panic!("boom"))).await;
    assert!(outcome.unwrap_err().is_panic());
}
