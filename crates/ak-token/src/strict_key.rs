//! Ed25519 verification that accepts exactly what ed25519-dalek's `verify_strict` accepts, at
//! the cost of its plain `verify`.
//!
//! `verify` (RFC 8032's equation) already rejects a non-canonical `S` and compares the recomputed
//! `R` with the signature's `R` by canonical encoding, so an `R` that is not a valid encoding, or
//! not the canonical one, never matches. `verify_strict` adds two checks, and pays for them on
//! every call: it decompresses `R` (a field square root) and multiplies both `R` and the public
//! key `A` by the cofactor to reject points of small order. [`StrictKey`] makes the same two
//! checks cheaper:
//!
//! * **`A` of small order**: checked once, when the key is installed ([`StrictKey::new`]).
//! * **`R` of small order**: decided from `R`'s bytes. The eight points of small order have only
//!   five `y` coordinates (`0`, `1`, `p - 1` and the two of order 8); an encoding decodes to one of
//!   them exactly when its 255-bit `y` field (the sign bit masked off) is one of those five, or
//!   one of them plus `p` where that is still below 2^255 (`p` and `p + 1`). The sign bit does not
//!   matter: both choices of `x` are of small order, and ed25519-dalek accepts a set sign bit
//!   with `x = 0`. [`SMALL_ORDER_Y`] lists those seven values (libsodium rejects the same list).
//!
//! `S < ℓ` is also checked here, so that a crate elsewhere in the build turning on
//! ed25519-dalek's `legacy_compatibility` feature cannot make tokens malleable.
//!
//! The tests check this against `verify_strict` itself: every listed value and its neighbours,
//! every torsion point, malleated and forged signatures, and random inputs.

use curve25519_dalek::Scalar;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

/// The 255-bit `y` fields (little-endian, sign bit clear) of every encoding that
/// ed25519-dalek decodes to a point of small order.
pub(crate) const SMALL_ORDER_Y: [[u8; 32]; 7] = [
    // y = 0: the two points of order 4.
    [0; 32],
    // y = 1: the identity.
    one(0x01, 0x00),
    // The two points of order 8 with this y (`x` and `-x`).
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5,
        0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    // The other two points of order 8 (this y is p minus the one above).
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a,
        0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
    // y = p - 1 = -1: the point of order 2.
    one(0xec, 0xff),
    // y = p, a non-canonical 0.
    one(0xed, 0xff),
    // y = p + 1, a non-canonical 1.
    one(0xee, 0xff),
];

/// `[low, fill × 30, top]` with `top` = 0x7f when `fill` is 0xff, else 0: the values near 0 and p.
const fn one(low: u8, fill: u8) -> [u8; 32] {
    let mut bytes = [fill; 32];
    bytes[0] = low;
    bytes[31] = if fill == 0xff { 0x7f } else { 0 };
    bytes
}

/// Whether `r` (the first half of a signature) decodes to a point of small order.
pub(crate) fn is_small_order_encoding(r: &[u8; 32]) -> bool {
    let mut y = *r;
    y[31] &= 0x7f;
    SMALL_ORDER_Y.contains(&y)
}

/// A public key checked once for small order; verifies with `verify_strict`'s rules.
#[derive(Clone, Copy)]
pub(crate) struct StrictKey(VerifyingKey);

impl StrictKey {
    /// The key, or `None` if it is of small order (weak).
    pub(crate) fn new(key: VerifyingKey) -> Option<Self> {
        (!key.is_weak()).then_some(Self(key))
    }

    /// The key's 32-byte encoding.
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Whether `signature` is a valid signature of `message` under `verify_strict`'s rules.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        if is_small_order_encoding(signature.r_bytes())
            || bool::from(Scalar::from_canonical_bytes(*signature.s_bytes()).is_none())
        {
            return false;
        }
        self.0.verify(message, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use ed25519_dalek::{Signer as _, SigningKey};
    use proptest::prelude::*;
    use sha2::{Digest as _, Sha512};

    use super::*;

    /// ed25519-dalek's own answer: does `bytes` decode to a point of small order?
    fn dalek_small_order(bytes: [u8; 32]) -> bool {
        CompressedEdwardsY(bytes)
            .decompress()
            .is_some_and(|point| point.is_small_order())
    }

    fn with_sign(mut y: [u8; 32], sign: bool) -> [u8; 32] {
        y[31] = (y[31] & 0x7f) | (u8::from(sign) << 7);
        y
    }

    /// `p + delta` (`p` = 2^255 - 19), little-endian; `None` when that leaves p's low byte (past
    /// 2^255 - 1, or below p - 237).
    fn p_plus(delta: i16) -> Option<[u8; 32]> {
        let low = u8::try_from(0xed_i16 + delta).ok()?;
        Some(one(low, 0xff))
    }

    #[test]
    fn every_listed_encoding_is_small_order_with_either_sign() {
        for y in SMALL_ORDER_Y {
            assert_eq!(y[31] & 0x80, 0);
            for sign in [false, true] {
                assert!(dalek_small_order(with_sign(y, sign)), "{y:02x?} sign {sign}");
                assert!(is_small_order_encoding(&with_sign(y, sign)));
            }
        }
    }

    #[test]
    fn every_torsion_point_is_listed() {
        for point in EIGHT_TORSION {
            assert!(is_small_order_encoding(&point.compress().to_bytes()));
        }
        let ys: std::collections::BTreeSet<[u8; 32]> = EIGHT_TORSION
            .iter()
            .map(|point| with_sign(point.compress().to_bytes(), false))
            .collect();
        assert_eq!(ys.len(), 5, "five y coordinates");
    }

    #[test]
    fn the_list_agrees_with_dalek_near_every_listed_value() {
        // Every y within 300 of 0, of p (both ends of the non-canonical range) and of the listed
        // values, with both sign bits.
        let mut candidates: Vec<[u8; 32]> = Vec::new();
        for low in 0..=0xffu8 {
            for high in [0u8, 1] {
                let mut y = [0u8; 32];
                y[0] = low;
                y[1] = high;
                candidates.push(y);
            }
        }
        candidates.extend((-300..=18).filter_map(p_plus));
        for listed in SMALL_ORDER_Y {
            for delta in 0..=255u8 {
                let mut y = listed;
                y[0] = delta;
                candidates.push(y);
            }
        }
        for y in candidates {
            for sign in [false, true] {
                let bytes = with_sign(y, sign);
                assert_eq!(
                    is_small_order_encoding(&bytes),
                    dalek_small_order(bytes),
                    "{bytes:02x?}"
                );
            }
        }
    }

    fn key(seed: u8) -> (SigningKey, StrictKey) {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let strict = StrictKey::new(signing.verifying_key()).expect("a real key is not weak");
        (signing, strict)
    }

    /// Both verifiers, which must agree.
    fn both(key: &StrictKey, message: &[u8], signature: &[u8; 64]) -> bool {
        let ours = key.verify(message, signature);
        let dalek = key
            .0
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok();
        assert_eq!(ours, dalek, "signature {signature:02x?}");
        ours
    }

    #[test]
    fn weak_public_keys_are_refused() {
        for point in EIGHT_TORSION {
            let bytes = point.compress().to_bytes();
            if let Ok(weak) = VerifyingKey::from_bytes(&bytes) {
                assert!(StrictKey::new(weak).is_none());
            }
        }
        assert!(StrictKey::new(SigningKey::from_bytes(&[1; 32]).verifying_key()).is_some());
    }

    #[test]
    fn valid_signatures_verify_and_malleated_ones_do_not() {
        let (signing, key) = key(7);
        let message = b"header.payload";
        let signature = signing.sign(message).to_bytes();
        assert!(both(&key, message, &signature));
        assert!(!both(&key, b"header.payloae", &signature));

        // S + l: the same equation with a non-canonical S.
        let mut malleated = signature;
        let mut carry = 0u16;
        for (slot, l) in malleated[32..].iter_mut().zip(L) {
            let sum = u16::from(*slot) + u16::from(l) + carry;
            *slot = u8::try_from(sum & 0xff).unwrap();
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "S + l < 2^256");
        assert!(!both(&key, message, &malleated), "S + l is refused");

        // Every small-order R, with S = 0 and with the real S.
        for y in SMALL_ORDER_Y {
            for sign in [false, true] {
                let mut forged = signature;
                forged[..32].copy_from_slice(&with_sign(y, sign));
                assert!(!both(&key, message, &forged));
                forged[32..].fill(0);
                assert!(!both(&key, message, &forged));
            }
        }
    }

    #[test]
    fn a_small_order_r_that_satisfies_the_equation_is_refused() {
        // The key holder can make R = identity pass the plain equation: with k = H(R || A || M),
        // S = k·a gives [S]B - [k]A = identity. `verify` accepts it; strict rules must not.
        let (signing, key) = key(9);
        let message = b"a token the key holder forged";
        let a = signing.to_scalar();
        let r = with_sign(one(0x01, 0x00), false);
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(key.as_bytes())
                .chain_update(message),
        );
        let s = k * a;
        let mut forged = [0u8; 64];
        forged[..32].copy_from_slice(&r);
        forged[32..].copy_from_slice(s.as_bytes());
        assert!(
            key.0.verify(message, &Signature::from_bytes(&forged)).is_ok(),
            "the plain equation holds"
        );
        assert!(!both(&key, message, &forged));
    }

    #[test]
    fn agrees_with_verify_strict_on_mixed_order_keys_and_rs() {
        // Keys A = aB + T and R = T' or rB + T' for every pair of torsion points. With S = k·a
        // (or r + k·a) the plain equation holds whenever -kT = T', which happens for about one
        // message in eight: then a small-order R must be refused and a mixed-order R accepted.
        let a = Scalar::from_bytes_mod_order([5; 32]);
        let r = Scalar::from_bytes_mod_order([9; 32]);
        let (mut small_r_equations, mut mixed_r_accepted) = (0, 0);
        for torsion in EIGHT_TORSION {
            let public = ED25519_BASEPOINT_POINT * a + torsion;
            let verifying = VerifyingKey::from_bytes(&public.compress().to_bytes()).unwrap();
            let key = StrictKey::new(verifying).expect("a mixed-order key is not weak");
            for (index, other) in EIGHT_TORSION.iter().enumerate() {
                for mixed in [false, true] {
                    let r_point = if mixed {
                        ED25519_BASEPOINT_POINT * r + other
                    } else {
                        *other
                    };
                    let r_bytes = r_point.compress().to_bytes();
                    for count in 0..24u8 {
                        let message = [count, u8::try_from(index).unwrap()];
                        let k = Scalar::from_hash(
                            Sha512::new()
                                .chain_update(r_bytes)
                                .chain_update(key.as_bytes())
                                .chain_update(message),
                        );
                        let s = if mixed { r + k * a } else { k * a };
                        let mut signature = [0u8; 64];
                        signature[..32].copy_from_slice(&r_bytes);
                        signature[32..].copy_from_slice(s.as_bytes());
                        let plain = key.0.verify(&message, &Signature::from_bytes(&signature)).is_ok();
                        let strict = both(&key, &message, &signature);
                        small_r_equations += usize::from(plain && !mixed);
                        mixed_r_accepted += usize::from(strict && mixed);
                        assert!(mixed || !strict, "a small-order R is never accepted");
                    }
                }
            }
        }
        assert!(
            small_r_equations > 0,
            "some small-order R satisfied the plain equation"
        );
        assert!(mixed_r_accepted > 0, "some mixed-order R was accepted");
    }

    /// ℓ, the order of the base point, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    #[test]
    fn l_is_the_group_order() {
        assert!(bool::from(Scalar::from_canonical_bytes(L).is_none()));
        assert_eq!(Scalar::from_bytes_mod_order(L), Scalar::ZERO);
    }

    proptest! {
        #[test]
        fn agrees_with_verify_strict_on_damaged_signatures(
            seed in any::<u8>(),
            message in proptest::collection::vec(any::<u8>(), 0..64),
            flips in proptest::collection::vec((0usize..64, any::<u8>()), 0..3),
        ) {
            let (signing, key) = key(seed);
            let mut signature = signing.sign(&message).to_bytes();
            for (index, mask) in flips {
                signature[index] ^= mask;
            }
            both(&key, &message, &signature);
        }

        #[test]
        fn agrees_with_verify_strict_on_random_signatures(
            signature in proptest::collection::vec(any::<u8>(), 64),
        ) {
            let (_, key) = key(3);
            let signature = <[u8; 64]>::try_from(signature.as_slice()).unwrap();
            prop_assert!(!both(&key, b"m", &signature));
        }
    }
}
