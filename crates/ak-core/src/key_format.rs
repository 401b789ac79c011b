//! The cleartext access-key format, its generation and its parsing.
//!
//! A cleartext key reads `<prefix>_<id>_<body>`, for example
//! `ak_3xq4…(26 chars)_h7…(58 chars)`:
//!
//! * `prefix`: 1..=16 lowercase ASCII letters or digits (default `ak`), so secret scanners and
//!   people can recognise an ak key.
//! * `id`: the key id, 16 random bytes in lowercase RFC 4648 base32 (26 characters, 128 bits), so
//!   authentication is one point lookup.
//! * `body`: lowercase base32 of the 32-byte secret (256 bits from the CSPRNG) followed by a
//!   big-endian CRC-32 of `<prefix>_<id>_` and the secret bytes. The checksum is verified before
//!   any store access, so a typo or random garbage is rejected in nanoseconds. It is not a MAC and
//!   proves nothing about authenticity; only the argon2id check does.
//!
//! The alphabet is `[a-z0-9_]`: ASCII, URL- and header-safe, and never `:` (Descope clients send
//! `Bearer <project>:<key>`). The prefix is not part of the secret: keys made under an older prefix
//! keep working after the configured prefix changes.

use std::sync::OnceLock;

use data_encoding::{Encoding, Specification};
use zeroize::{Zeroize, Zeroizing};

use crate::limits::{MAX_PREFIX_CHARS, MAX_PRESENTED_KEY_BYTES};
use crate::random::{RandomError, RandomSource};
use crate::validate::ValidationError;

/// The default cleartext prefix.
pub const DEFAULT_PREFIX: &str = "ak";
/// Bytes of randomness in a key id.
pub const ID_BYTES: usize = 16;
/// Bytes of randomness in a secret.
pub const SECRET_BYTES: usize = 32;
pub(crate) const CHECKSUM_BYTES: usize = 4;
pub(crate) const ID_CHARS: usize = 26;
pub(crate) const BODY_CHARS: usize = 58;

pub(crate) fn base32() -> &'static Encoding {
    static ENCODING: OnceLock<Encoding> = OnceLock::new();
    ENCODING.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
        spec.check_trailing_bits = true;
        spec.encoding()
            .unwrap_or_else(|_| unreachable!("a fixed, valid base32 specification"))
    })
}

/// Checks a cleartext prefix: 1..=[`MAX_PREFIX_CHARS`] lowercase ASCII letters or digits.
pub fn validate_prefix(prefix: &str) -> Result<(), ValidationError> {
    let valid = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_CHARS
        && prefix
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(ValidationError::BadPrefix)
    }
}

/// A freshly generated key id: 128 random bits in lowercase base32.
pub(crate) fn generate_id(random: &dyn RandomSource) -> Result<String, RandomError> {
    let mut bytes = [0u8; ID_BYTES];
    random.fill_bytes(&mut bytes)?;
    Ok(base32().encode(&bytes))
}

/// A cleartext access key. It exists only in the return value of create and rotate.
///
/// It has no `Serialize`, its `Debug` and `Display` print `[redacted]`, it is zeroized on drop,
/// and its text is reachable only through [`Cleartext::expose_secret`].
pub struct Cleartext(pub(crate) Zeroizing<String>);

impl Cleartext {
    /// The key's text. Show it once to whoever must hold it; never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Cleartext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cleartext([redacted])")
    }
}

impl std::fmt::Display for Cleartext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A secret held for hashing: zeroized on drop, redacted in `Debug`.
pub(crate) struct Secret(pub(crate) Zeroizing<[u8; SECRET_BYTES]>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Makes a new secret for key `id` and returns it with its cleartext.
pub(crate) fn generate(
    prefix: &str,
    id: &str,
    random: &dyn RandomSource,
) -> Result<(Cleartext, Secret), RandomError> {
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    random.fill_bytes(secret.as_mut())?;
    let mut body = Zeroizing::new([0u8; SECRET_BYTES + CHECKSUM_BYTES]);
    body[..SECRET_BYTES].copy_from_slice(secret.as_ref());
    body[SECRET_BYTES..].copy_from_slice(&checksum(prefix, id, &secret).to_be_bytes());
    let mut text = Zeroizing::new(String::with_capacity(prefix.len() + ID_CHARS + BODY_CHARS + 2));
    text.push_str(prefix);
    text.push('_');
    text.push_str(id);
    text.push('_');
    base32().encode_append(body.as_ref(), &mut text);
    Ok((Cleartext(text), Secret(secret)))
}

/// A presented key that passed the format and checksum checks (not yet authenticated).
#[derive(Debug)]
pub(crate) struct PresentedKey<'a> {
    pub(crate) id: &'a str,
    pub(crate) secret: Secret,
}

/// The key id of a presented key that is well formed and whose checksum holds (it may still be
/// unknown or have a wrong secret); `None` otherwise. For audit records of failed exchanges: an
/// id is recorded only when the presented key parsed.
pub fn presented_key_id(text: &str) -> Option<&str> {
    parse(text).map(|key| key.id)
}

/// Parses a presented key, or `None` when it is not well formed or its checksum is wrong.
///
/// Never panics and never allocates more than a fixed buffer, whatever the input.
pub(crate) fn parse(text: &str) -> Option<PresentedKey<'_>> {
    if text.len() > MAX_PRESENTED_KEY_BYTES || !text.is_ascii() {
        return None;
    }
    let (rest, body) = text.rsplit_once('_')?;
    let (prefix, id) = rest.rsplit_once('_')?;
    if validate_prefix(prefix).is_err() || id.len() != ID_CHARS || body.len() != BODY_CHARS {
        return None;
    }
    let mut id_bytes = [0u8; ID_BYTES];
    (base32().decode_mut(id.as_bytes(), &mut id_bytes).ok()? == ID_BYTES).then_some(())?;
    let mut decoded = Zeroizing::new([0u8; SECRET_BYTES + CHECKSUM_BYTES]);
    let written = base32().decode_mut(body.as_bytes(), decoded.as_mut()).ok();
    if written != Some(SECRET_BYTES + CHECKSUM_BYTES) {
        return None;
    }
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    secret.copy_from_slice(&decoded[..SECRET_BYTES]);
    let mut expected = [0u8; CHECKSUM_BYTES];
    expected.copy_from_slice(&decoded[SECRET_BYTES..]);
    decoded.zeroize();
    (checksum(prefix, id, &secret) == u32::from_be_bytes(expected)).then_some(())?;
    Some(PresentedKey {
        id,
        secret: Secret(secret),
    })
}

fn checksum(prefix: &str, id: &str, secret: &[u8; SECRET_BYTES]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(prefix.as_bytes());
    hasher.update(b"_");
    hasher.update(id.as_bytes());
    hasher.update(b"_");
    hasher.update(secret);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn generated_keys_parse_back_to_their_id_and_secret() {
        let random = SeededRandom::new(7);
        let id = generate_id(&random).unwrap();
        let (cleartext, secret) = generate("ak", &id, &random).unwrap();
        let text = cleartext.expose_secret();
        assert_eq!(text.len(), 2 + 1 + ID_CHARS + 1 + BODY_CHARS);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        let parsed = parse(text).expect("a generated key parses");
        assert_eq!(parsed.id, id);
        assert_eq!(*parsed.secret.0, *secret.0);
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let random = SeededRandom::new(8);
        let id = generate_id(&random).unwrap();
        let (cleartext, _) = generate("ak", &id, &random).unwrap();
        let text = cleartext.expose_secret().as_bytes().to_vec();
        for index in 0..text.len() {
            for replacement in [b'a', b'q', b'7', b'_', b'A', b':'] {
                if text[index] == replacement {
                    continue;
                }
                let mut changed = text.clone();
                changed[index] = replacement;
                let changed = String::from_utf8(changed).unwrap();
                assert!(
                    parse(&changed).is_none(),
                    "change at {index} to {} accepted",
                    replacement as char
                );
            }
        }
    }

    #[test]
    fn garbage_and_oversized_input_is_rejected() {
        for input in ["", "_", "__", "ak__", "ak_x_y", ":", "ak_\u{e9}_x"] {
            assert!(parse(input).is_none(), "{input:?}");
        }
        assert!(parse(&"a".repeat(MAX_PRESENTED_KEY_BYTES + 1)).is_none());
    }

    #[test]
    fn prefix_rules() {
        assert!(validate_prefix("ak").is_ok());
        assert!(validate_prefix(&"a".repeat(MAX_PREFIX_CHARS)).is_ok());
        for bad in ["", "AK", "a_k", "a-k", "a:k"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
        assert!(validate_prefix(&"a".repeat(MAX_PREFIX_CHARS + 1)).is_err());
    }

    #[test]
    fn cleartext_is_redacted() {
        let random = SeededRandom::new(9);
        let (cleartext, secret) = generate("ak", "abc", &random).unwrap();
        let text = cleartext.expose_secret().to_owned();
        for shown in [
            format!("{cleartext:?}"),
            format!("{cleartext}"),
            format!("{secret:?}"),
        ] {
            assert!(!shown.contains(&text[7..]), "{shown}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(input in ".{0,300}") {
            let _ = parse(&input);
        }

        #[test]
        fn parse_never_panics_on_near_keys(input in "[a-z0-9]{1,17}_[a-z2-7]{20,30}_[a-z2-7_]{50,64}") {
            let _ = parse(&input);
        }

        #[test]
        fn generated_keys_round_trip(seed in proptest::prelude::any::<u64>(), prefix in "[a-z0-9]{1,16}") {
            let random = SeededRandom::new(seed);
            let id = generate_id(&random).unwrap();
            let (cleartext, secret) = generate(&prefix, &id, &random).unwrap();
            let parsed = parse(cleartext.expose_secret()).unwrap();
            proptest::prop_assert_eq!(parsed.id, id.as_str());
            proptest::prop_assert_eq!(*parsed.secret.0, *secret.0);
        }
    }
}
