//! The cleartext never shows up in `Debug` or `Display` of anything that holds it, and failures
//! do not echo it.

use std::sync::Arc;

use ak_core::{CreateKey, KeyManager, MemoryKeyStore};

#[test]
fn secret_never_appears_in_debug_or_display() {
    let store = Arc::new(MemoryKeyStore::new());
    let manager = KeyManager::builder(store.clone()).build().unwrap();
    let created = manager.create(CreateKey::named("k")).unwrap();
    let cleartext = created.cleartext.expose_secret().to_owned();
    // The part after the id is the secret (and its checksum).
    let secret_part = cleartext.rsplit('_').next().unwrap().to_owned();
    let rotated = manager.rotate(&created.key.id, 60).unwrap();
    let rotated_secret = rotated
        .cleartext
        .expose_secret()
        .rsplit('_')
        .next()
        .unwrap()
        .to_owned();
    let authenticated = manager.authenticate(&cleartext, None).unwrap();
    let wrong = format!("{}x", &cleartext[..cleartext.len() - 1]);
    let error = manager.authenticate(&wrong, None).unwrap_err();
    let shown = [
        format!("{:?}", created.cleartext),
        format!("{}", created.cleartext),
        format!("{created:?}"),
        format!("{:#?}", rotated),
        format!("{authenticated:?}"),
        format!("{manager:?}"),
        format!("{store:?}"),
        format!("{error:?} {error}"),
    ];
    for text in shown {
        assert!(!text.contains(&secret_part), "secret leaked in {text}");
        assert!(!text.contains(&rotated_secret), "rotated secret leaked in {text}");
    }
}

#[test]
fn stored_records_hold_only_a_hash() {
    let store = Arc::new(MemoryKeyStore::new());
    let manager = KeyManager::builder(store.clone()).build().unwrap();
    let created = manager.create(CreateKey::named("k")).unwrap();
    let secret_part = created
        .cleartext
        .expose_secret()
        .rsplit('_')
        .next()
        .unwrap()
        .to_owned();
    let record = ak_core::KeyStore::get(&*store, &created.key.id).unwrap().unwrap();
    let serialized = serde_json::to_string(&record).unwrap();
    assert!(!serialized.contains(&secret_part));
    assert!(record.secret_hash.starts_with("$argon2id$"));
}
