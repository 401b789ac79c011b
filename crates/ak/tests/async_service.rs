//! The tokio wrapper runs every call on the blocking pool and behaves like the sync service.
#![cfg(feature = "tokio")]

use std::time::Duration;

use ak::{
    AccessKeys, AsyncAccessKeys, AuthError, CreateKey, ExchangeError, ExchangeOptions, KeySet,
    MemoryKeyStore, SigningKey,
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
