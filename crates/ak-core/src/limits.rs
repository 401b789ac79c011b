//! Every size, count and length limit that ak enforces, in one place.
//!
//! Each limit is inclusive: a value exactly at the limit is accepted and one past it is rejected
//! with a [`ValidationError`](crate::ValidationError). Tests exercise every limit at and past its edge.

/// Longest key name, in characters (a name must also be non-empty and free of control characters).
pub const MAX_NAME_CHARS: usize = 256;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Longest identifier, in characters: key ids, role names, tenant ids, user ids and `createdBy`.
pub const MAX_ID_CHARS: usize = 128;
/// Most role names in one list (project roles, or the roles of one tenant).
pub const MAX_ROLES: usize = 64;
/// Most tenants one key may belong to.
pub const MAX_TENANTS: usize = 64;
/// Largest serialized size of a key's `customClaims` object, in bytes of compact JSON.
pub const MAX_CUSTOM_CLAIMS_BYTES: usize = 8 * 1024;
/// Largest serialized size of the custom claims given at exchange (they land under `nsec`), in
/// bytes of compact JSON.
pub const MAX_EXCHANGE_CLAIMS_BYTES: usize = 8 * 1024;
/// Largest serialized size of a key's `customAttributes` object, in bytes of compact JSON.
pub const MAX_CUSTOM_ATTRIBUTES_BYTES: usize = 8 * 1024;
/// Deepest nesting of a key's `customClaims`, its `customAttributes` and the custom claims given
/// at exchange, counted as serde_json counts: every object and array is one level, and the map
/// itself is the first (`{"a": 1}` is 1 deep, `{"a": [1]}` is 2).
///
/// The stores wrap these maps in a few more levels and serde_json refuses input nested deeper
/// than 128, so without this limit a key could be stored that can never be read back.
pub const MAX_JSON_DEPTH: usize = 32;
/// Most entries in a key's `permittedIps` list.
pub const MAX_PERMITTED_IPS: usize = 100;
/// Most ids in one batch activate, deactivate or delete.
pub const MAX_BATCH_IDS: usize = 1000;
/// Largest page a search returns; also the default when no limit is given.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Page size used when a search gives no limit.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Longest search text, in characters.
pub const MAX_SEARCH_TEXT_CHARS: usize = 256;
/// Longest search cursor, in bytes. A cursor ak issues encodes one sort value and one id, both
/// bounded by the limits above, and stays well below this (at most about 2.2 KiB); a longer one
/// is refused before it is decoded.
pub const MAX_CURSOR_BYTES: usize = 4096;
/// Latest accepted `expireTime` (Unix seconds): `i32::MAX`, because Descope's Go SDK decodes
/// `expireTime` into an `int32` and a larger value would break its clients.
pub const MAX_EXPIRE_TIME: i64 = i32::MAX as i64;
/// Longest grace period a rotation may give the previous secret, in seconds (7 days).
pub const MAX_ROTATION_GRACE_SECS: u64 = 7 * 24 * 3600;
/// Longest webhook URL, in characters (http or https only; see [`crate::webhook::validate_url`]).
pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;
/// Most entries in one webhook's action filter.
pub const MAX_WEBHOOK_ACTIONS: usize = 32;
/// Longest entry of a webhook's action filter, in characters.
pub const MAX_WEBHOOK_ACTION_CHARS: usize = 128;
/// Most webhooks on one store: each audit event is delivered to every matching one, so this
/// bounds the fan-out of one event.
pub const MAX_WEBHOOKS: usize = 64;
/// Longest presented access key accepted for parsing, in bytes; longer input is rejected unread.
pub const MAX_PRESENTED_KEY_BYTES: usize = 256;
/// Longest cleartext prefix, in characters (lowercase ASCII letters and digits only).
pub const MAX_PREFIX_CHARS: usize = 16;
/// Largest argon2id memory cost, in KiB (64 MiB), for configured parameters and for stored hashes:
/// a stored hash asking for more never verifies, so a tampered record cannot exhaust memory.
pub const MAX_HASH_MEMORY_KIB: u32 = 64 * 1024;
/// Largest argon2id time cost (passes), for configured parameters and for stored hashes.
pub const MAX_HASH_ITERATIONS: u32 = 16;
/// Largest argon2id parallelism (lanes), for configured parameters and for stored hashes.
pub const MAX_HASH_PARALLELISM: u32 = 8;
/// Most signing keys in one shared signing-key set (signing, pending and verification-only
/// together); a rotation past it is refused until an old key is retired.
pub const MAX_SIGNING_KEYS: usize = 16;
/// Longest delay before a staged signing key starts signing: 30 days.
pub const MAX_SIGNING_KEY_ACTIVATION_DELAY_SECS: u64 = 30 * 24 * 3600;
/// Longest audit-event action name, in characters.
pub const MAX_AUDIT_ACTION_CHARS: usize = 128;
/// Most key ids (and most tenants) in one application audit event.
pub const MAX_AUDIT_KEY_IDS: usize = 64;
/// Largest serialized size of an application audit event's `data`, in bytes of compact JSON.
pub const MAX_AUDIT_DATA_BYTES: usize = 8 * 1024;
/// Most entries in each list filter of an audit search (key ids, actions, addresses).
pub const MAX_AUDIT_FILTER_VALUES: usize = 100;
