//! Sealing the signing-key document under the master key: XChaCha20-Poly1305.
//!
//! A sealed set is `MAGIC ‖ FORMAT ‖ check(8) ‖ nonce(24) ‖ ciphertext+tag`:
//!
//! * `MAGIC` (`aksk`) and the format byte say what the bytes are;
//! * `check` is the first 8 bytes of `SHA-256("ak master key check v1" ‖ master key)`, so a wrong
//!   master key is told apart from damaged bytes (it reveals nothing usable about a 256-bit key);
//! * the nonce is 24 random bytes, fresh for every seal (XChaCha's nonce is large enough for
//!   random nonces);
//! * the associated data is `MAGIC ‖ FORMAT ‖ check ‖ purpose`, binding the ciphertext to its
//!   purpose and format version: the same key never opens another kind of blob. The signing-key
//!   set uses `aksk` and the purpose `"ak signing-key set"`; a webhook secret (see
//!   [`crate::webhook`]) uses `akwh` and `"ak webhook secret" ‖ 0x00 ‖ webhook id`, so a sealed
//!   secret copied onto another webhook's record does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::master_key::MasterKey;
use ak_core::{OsRandom, RandomSource};

const MAGIC: &[u8; 4] = b"aksk";
const FORMAT: u8 = 1;
const PURPOSE: &[u8] = b"ak signing-key set";
const CHECK_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = MAGIC.len() + 1 + CHECK_LEN;

/// Why sealed bytes could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The set was sealed under another master key.
    #[error("the signing keys in the store were sealed with a different master key")]
    WrongMasterKey,
    /// Not a sealed ak signing-key set, an unknown format, or damaged bytes.
    #[error("the sealed signing keys in the store are damaged or not in a known format")]
    Damaged,
}

fn check_value(master: &MasterKey) -> [u8; CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(b"ak master key check v1")
        .chain_update(master.bytes())
        .finalize();
    let mut check = [0u8; CHECK_LEN];
    check.copy_from_slice(&digest[..CHECK_LEN]);
    check
}

fn associated_data(header: &[u8], purpose: &[u8]) -> Vec<u8> {
    [header, purpose].concat()
}

/// Seals `plaintext` under `master` with a fresh random nonce.
pub(crate) fn seal(master: &MasterKey, plaintext: &[u8]) -> Result<Vec<u8>, ak_core::RandomError> {
    seal_as(master, MAGIC, PURPOSE, plaintext)
}

/// Opens bytes made by [`seal`]; the plaintext is zeroized on drop.
pub(crate) fn open(master: &MasterKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    open_as(master, MAGIC, PURPOSE, sealed)
}

/// Seals `plaintext` under `master` as a blob of kind `magic` for `purpose`.
pub(crate) fn seal_as(
    master: &MasterKey,
    magic: &[u8; 4],
    purpose: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ak_core::RandomError> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRandom.fill_bytes(&mut nonce)?;
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(magic);
    out.push(FORMAT);
    out.extend_from_slice(&check_value(master));
    let aad = associated_data(&out, purpose);
    let cipher = XChaCha20Poly1305::new(master.bytes().into());
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        // Encryption fails only for inputs beyond 256 GiB.
        .unwrap_or_default();
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens bytes made by [`seal_as`] with the same `magic` and `purpose`; the plaintext is zeroized
/// on drop.
pub(crate) fn open_as(
    master: &MasterKey,
    magic: &[u8; 4],
    purpose: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    if sealed.len() < HEADER_LEN + NONCE_LEN + 16
        || &sealed[..MAGIC.len()] != magic
        || sealed[MAGIC.len()] != FORMAT
    {
        return Err(OpenError::Damaged);
    }
    let (header, rest) = sealed.split_at(HEADER_LEN);
    // Not secret: a public digest of the key, compared to tell a wrong key from damage.
    if header[MAGIC.len() + 1..] != check_value(master) {
        return Err(OpenError::WrongMasterKey);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Damaged)?;
    let cipher = XChaCha20Poly1305::new(master.bytes().into());
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: &associated_data(header, purpose),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Damaged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> MasterKey {
        MasterKey::from_bytes([n; 32])
    }

    #[test]
    fn round_trip_fresh_nonces_and_no_plaintext() {
        let plaintext = b"the private signing keys";
        let a = seal(&key(1), plaintext).unwrap();
        let b = seal(&key(1), plaintext).unwrap();
        assert_ne!(a, b, "every seal draws a fresh nonce");
        assert!(!a.windows(plaintext.len()).any(|w| w == plaintext));
        assert_eq!(open(&key(1), &a).unwrap().as_slice(), plaintext);
    }

    #[test]
    fn purposes_do_not_open_each_other() {
        let sealed = seal_as(&key(1), b"akwh", b"ak webhook secret\0wh1", b"secret").unwrap();
        assert_eq!(
            open_as(&key(1), b"akwh", b"ak webhook secret\0wh1", &sealed)
                .unwrap()
                .as_slice(),
            b"secret"
        );
        assert_eq!(
            open_as(&key(1), b"akwh", b"ak webhook secret\0wh2", &sealed).unwrap_err(),
            OpenError::Damaged
        );
        assert_eq!(open(&key(1), &sealed).unwrap_err(), OpenError::Damaged);
        let set = seal(&key(1), b"set").unwrap();
        assert_eq!(
            open_as(&key(1), b"akwh", b"ak webhook secret\0wh1", &set).unwrap_err(),
            OpenError::Damaged
        );
    }

    #[test]
    fn wrong_key_and_damage_are_told_apart() {
        let sealed = seal(&key(1), b"secret").unwrap();
        assert_eq!(open(&key(2), &sealed).unwrap_err(), OpenError::WrongMasterKey);
        for at in 0..sealed.len() {
            let mut damaged = sealed.clone();
            damaged[at] ^= 0x01;
            let error = open(&key(1), &damaged).unwrap_err();
            let expected = if (MAGIC.len() + 1..HEADER_LEN).contains(&at) {
                OpenError::WrongMasterKey
            } else {
                OpenError::Damaged
            };
            assert_eq!(error, expected, "byte {at}");
        }
        for short in [&b""[..], b"aksk", &sealed[..sealed.len() - 1]] {
            assert_eq!(open(&key(1), short).unwrap_err(), OpenError::Damaged);
        }
    }
}
