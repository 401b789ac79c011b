//! The management-key cleartext: `akmgmt-<id>-<body>`.
//!
//! `id` is 26 characters of lowercase base32 (128 random bits) and `body` is lowercase base32 of
//! the 32-byte secret and a CRC-32 over a domain tag, the id and the secret, exactly as access
//! keys (see [`key_format`](crate::key_format)) but with `-` as the separator and its own
//! checksum domain. The access-key parser splits on `_`, so it rejects every management key at
//! once; and turning the `-` into `_` yields a wrong access-key checksum.

use zeroize::{Zeroize, Zeroizing};

use crate::key_format::{
    BODY_CHARS, CHECKSUM_BYTES, Cleartext, ID_BYTES, ID_CHARS, PresentedKey, SECRET_BYTES, Secret, base32,
};
use crate::random::{RandomError, RandomSource};

/// The fixed prefix of every management-key cleartext.
pub const MANAGEMENT_KEY_PREFIX: &str = "akmgmt";

/// Mixed into the checksum so that no management key is a well-formed access key.
const CHECKSUM_DOMAIN: &[u8] = b"ak management key\0";

const TEXT_LEN: usize = MANAGEMENT_KEY_PREFIX.len() + 1 + ID_CHARS + 1 + BODY_CHARS;

fn checksum(id: &str, secret: &[u8; SECRET_BYTES]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(CHECKSUM_DOMAIN);
    hasher.update(id.as_bytes());
    hasher.update(secret);
    hasher.finalize()
}

/// Makes a new secret for management key `id` and returns it with its cleartext.
pub(crate) fn generate(id: &str, random: &dyn RandomSource) -> Result<(Cleartext, Secret), RandomError> {
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    random.fill_bytes(secret.as_mut())?;
    let mut body = Zeroizing::new([0u8; SECRET_BYTES + CHECKSUM_BYTES]);
    body[..SECRET_BYTES].copy_from_slice(secret.as_ref());
    body[SECRET_BYTES..].copy_from_slice(&checksum(id, &secret).to_be_bytes());
    let mut text = Zeroizing::new(String::with_capacity(TEXT_LEN));
    text.push_str(MANAGEMENT_KEY_PREFIX);
    text.push('-');
    text.push_str(id);
    text.push('-');
    base32().encode_append(body.as_ref(), &mut text);
    Ok((Cleartext(text), Secret(secret)))
}

/// Parses a presented management key, or `None` when it is malformed or its checksum is wrong.
/// Never panics and reads at most a fixed length, whatever the input.
pub(crate) fn parse(text: &str) -> Option<PresentedKey<'_>> {
    if text.len() != TEXT_LEN || !text.is_ascii() {
        return None;
    }
    let rest = text.strip_prefix(MANAGEMENT_KEY_PREFIX)?.strip_prefix('-')?;
    let (id, body) = rest.split_once('-')?;
    if id.len() != ID_CHARS || body.len() != BODY_CHARS {
        return None;
    }
    let mut id_bytes = [0u8; ID_BYTES];
    (base32().decode_mut(id.as_bytes(), &mut id_bytes).ok()? == ID_BYTES).then_some(())?;
    let mut decoded = Zeroizing::new([0u8; SECRET_BYTES + CHECKSUM_BYTES]);
    if base32().decode_mut(body.as_bytes(), decoded.as_mut()).ok() != Some(SECRET_BYTES + CHECKSUM_BYTES) {
        return None;
    }
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    secret.copy_from_slice(&decoded[..SECRET_BYTES]);
    let mut expected = [0u8; CHECKSUM_BYTES];
    expected.copy_from_slice(&decoded[SECRET_BYTES..]);
    decoded.zeroize();
    (checksum(id, &secret) == u32::from_be_bytes(expected)).then_some(())?;
    Some(PresentedKey {
        id,
        secret: Secret(secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_format::{self, generate_id};
    use crate::random::SeededRandom;

    #[test]
    fn generated_keys_parse_back_and_have_no_colon_or_underscore() {
        let random = SeededRandom::new(11);
        let id = generate_id(&random).unwrap();
        let (cleartext, secret) = generate(&id, &random).unwrap();
        let text = cleartext.expose_secret();
        assert_eq!(text.len(), TEXT_LEN);
        assert!(text.starts_with("akmgmt-"));
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        let parsed = parse(text).unwrap();
        assert_eq!(parsed.id, id);
        assert_eq!(*parsed.secret.0, *secret.0);
    }

    #[test]
    fn a_management_key_is_never_an_access_key_and_vice_versa() {
        for seed in 0..200 {
            let random = SeededRandom::new(seed);
            let id = generate_id(&random).unwrap();
            let (management, _) = generate(&id, &random).unwrap();
            let text = management.expose_secret();
            assert!(key_format::parse(text).is_none());
            // Even with the separators an access key uses, the checksum domain differs.
            assert!(key_format::parse(&text.replace('-', "_")).is_none());
            let (access, _) = key_format::generate("akmgmt", &id, &random).unwrap();
            assert!(parse(access.expose_secret()).is_none());
            assert!(parse(&access.expose_secret().replace('_', "-")).is_none());
        }
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let random = SeededRandom::new(12);
        let id = generate_id(&random).unwrap();
        let (cleartext, _) = generate(&id, &random).unwrap();
        let text = cleartext.expose_secret().as_bytes().to_vec();
        for index in 0..text.len() {
            for replacement in [b'a', b'q', b'7', b'-', b'_', b':'] {
                if text[index] == replacement {
                    continue;
                }
                let mut changed = text.clone();
                changed[index] = replacement;
                assert!(parse(std::str::from_utf8(&changed).unwrap()).is_none(), "{index}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(input in ".{0,300}") {
            let _ = parse(&input);
        }
    }
}
