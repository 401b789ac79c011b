//! Entry points for the fuzz targets in `fuzz/` and their corpus replay. Not a stable API.

use crate::key_format;
use crate::random::{RandomError, RandomSource};

/// What [`parse_key`] found in a well-formed presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// The prefix before the first separator.
    pub prefix: String,
    /// The key id.
    pub id: String,
    /// The decoded secret.
    pub secret: [u8; key_format::SECRET_BYTES],
}

/// Runs the private key parser on `text`; `None` when it rejects it.
pub fn parse_key(text: &str) -> Option<ParsedKey> {
    let parsed = key_format::parse(text)?;
    // The parser accepted `<prefix>_<id>_<body>`; recover the prefix it checksummed.
    let (rest, _) = text.rsplit_once('_')?;
    let (prefix, _) = rest.rsplit_once('_')?;
    Some(ParsedKey {
        prefix: prefix.to_owned(),
        id: parsed.id.to_owned(),
        secret: *parsed.secret.0,
    })
}

/// Formats a key the way [`KeyManager::create`](crate::KeyManager::create) does, from its parts.
pub fn format_key(prefix: &str, id: &str, secret: &[u8; key_format::SECRET_BYTES]) -> String {
    #[derive(Debug)]
    struct Fixed([u8; key_format::SECRET_BYTES]);
    impl RandomSource for Fixed {
        fn fill_bytes(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            let len = dest.len().min(self.0.len());
            dest[..len].copy_from_slice(&self.0[..len]);
            Ok(())
        }
    }
    match key_format::generate(prefix, id, &Fixed(*secret)) {
        Ok((cleartext, _)) => cleartext.expose_secret().to_owned(),
        Err(_) => String::new(),
    }
}
