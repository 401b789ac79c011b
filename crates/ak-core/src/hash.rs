//! Argon2id hashing of generated secrets.
//!
//! # Why such small parameters
//!
//! Argon2id's memory and time costs exist to slow down guessing of *low-entropy* secrets such as
//! passwords: OWASP's m=19 MiB, t=2 buys a 2^14-ish slowdown per guess against a dictionary. An ak
//! secret is 256 bits from the OS CSPRNG; there is no dictionary, and 2^256 guesses stay out of reach
//! at any per-guess cost, so a larger work factor adds no security. It does add cost where it hurts:
//! ~20 ms and 19 MiB per exchange would cap a 2-core machine at ~100 exchanges per second and hand
//! anyone who can send garbage keys a denial-of-service lever. ak therefore hashes generated
//! secrets with the smallest valid argon2id parameters, **m = 8 KiB, t = 1, p = 1** (~15 µs on the
//! reference machine), keeping argon2id only as a well-reviewed, salted, one-way function.
//!
//! Parameters are configurable ([`HashParams`]); every stored hash is a PHC string that carries its
//! own parameters and salt, so changing them affects only keys created or rotated afterwards.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::key_format::{SECRET_BYTES, Secret};
use crate::limits::{MAX_HASH_ITERATIONS, MAX_HASH_MEMORY_KIB, MAX_HASH_PARALLELISM};
use crate::random::{RandomError, RandomSource};

/// Argon2id cost parameters for newly hashed secrets.
///
/// Each cost is capped ([`MAX_HASH_MEMORY_KIB`], [`MAX_HASH_ITERATIONS`], [`MAX_HASH_PARALLELISM`]);
/// the same caps bound the costs a stored hash may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory cost in KiB (at least 8 × `parallelism`).
    pub memory_kib: u32,
    /// Number of passes (at least 1).
    pub iterations: u32,
    /// Lanes (at least 1).
    pub parallelism: u32,
}

impl Default for HashParams {
    /// m = 8 KiB, t = 1, p = 1: see the [module docs](self) for why.
    fn default() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }
}

/// Argon2id parameters were out of the algorithm's range.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid argon2id parameters: {0}")]
pub struct HashParamsError(String);

/// Hashes secrets with fixed parameters and verifies them against stored PHC strings.
#[derive(Debug, Clone)]
pub(crate) struct SecretHasher {
    argon2: Argon2<'static>,
    /// A hash of a fixed secret, verified against when the key id is unknown so that an unknown
    /// id costs the same as a wrong secret.
    decoy: String,
}

impl SecretHasher {
    pub(crate) fn new(params: HashParams) -> Result<Self, HashParamsError> {
        if !within_caps(params.memory_kib, params.iterations, params.parallelism) {
            return Err(HashParamsError(format!(
                "costs above the caps (m <= {MAX_HASH_MEMORY_KIB} KiB, t <= {MAX_HASH_ITERATIONS}, \
                 p <= {MAX_HASH_PARALLELISM})"
            )));
        }
        let params = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
            .map_err(|error| HashParamsError(error.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"ak-decoy-salt-16").map_err(|e| HashParamsError(e.to_string()))?;
        let decoy = argon2
            .hash_password(&[0u8; SECRET_BYTES], &salt)
            .map_err(|error| HashParamsError(error.to_string()))?
            .to_string();
        Ok(Self { argon2, decoy })
    }

    /// The PHC string of `secret` with a fresh 16-byte salt.
    pub(crate) fn hash(&self, secret: &Secret, random: &dyn RandomSource) -> Result<String, RandomError> {
        let mut salt = [0u8; 16];
        random.fill_bytes(&mut salt)?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| RandomError)?;
        // Hashing 32 bytes with validated parameters and a valid salt cannot fail.
        self.argon2
            .hash_password(secret.0.as_ref(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| RandomError)
    }

    /// Whether `secret` matches `phc`. A hash that does not parse, or is not argon2id, never
    /// matches (fail closed). The comparison inside argon2 is constant-time.
    pub(crate) fn verify(&self, secret: &Secret, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return false;
        };
        if hash.algorithm != argon2::ARGON2ID_IDENT {
            return false;
        }
        // Costs come from the stored record: refuse any above the caps rather than spend them.
        let Ok(params) = Params::try_from(&hash) else {
            return false;
        };
        if !within_caps(params.m_cost(), params.t_cost(), params.p_cost()) {
            return false;
        }
        // Verify with the parameters recorded in the hash itself.
        Argon2::default()
            .verify_password(secret.0.as_ref(), &hash)
            .is_ok()
    }

    /// Spends the time of one verification on a fixed decoy hash and returns nothing.
    pub(crate) fn verify_decoy(&self, secret: &Secret) {
        let _ = self.verify(secret, &self.decoy);
    }
}

fn within_caps(memory_kib: u32, iterations: u32, parallelism: u32) -> bool {
    memory_kib <= MAX_HASH_MEMORY_KIB
        && iterations <= MAX_HASH_ITERATIONS
        && parallelism <= MAX_HASH_PARALLELISM
}

#[cfg(test)]
mod tests {
    use zeroize::Zeroizing;

    use super::*;
    use crate::random::SeededRandom;

    fn secret(byte: u8) -> Secret {
        Secret(Zeroizing::new([byte; SECRET_BYTES]))
    }

    #[test]
    fn hashes_are_argon2id_with_the_configured_parameters_and_verify() {
        let hasher = SecretHasher::new(HashParams::default()).unwrap();
        let random = SeededRandom::new(1);
        let phc = hasher.hash(&secret(1), &random).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(hasher.verify(&secret(1), &phc));
        assert!(!hasher.verify(&secret(2), &phc));
    }

    #[test]
    fn each_hash_keeps_its_own_parameters() {
        let strong = SecretHasher::new(HashParams {
            memory_kib: 64,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap();
        let phc = strong.hash(&secret(3), &SeededRandom::new(2)).unwrap();
        let default = SecretHasher::new(HashParams::default()).unwrap();
        assert!(default.verify(&secret(3), &phc));
    }

    #[test]
    fn unparsable_or_foreign_hashes_never_match() {
        let hasher = SecretHasher::new(HashParams::default()).unwrap();
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(&[1u8; SECRET_BYTES], &SaltString::encode_b64(&[9u8; 16]).unwrap())
        .unwrap()
        .to_string();
        for phc in ["", "garbage", "$argon2id$", argon2i.as_str()] {
            assert!(!hasher.verify(&secret(1), phc), "{phc}");
        }
    }

    #[test]
    fn costs_are_capped_when_configured_and_when_stored() {
        let at_caps = HashParams {
            memory_kib: MAX_HASH_MEMORY_KIB,
            iterations: 1,
            parallelism: MAX_HASH_PARALLELISM,
        };
        assert!(SecretHasher::new(at_caps).is_ok());
        assert!(
            SecretHasher::new(HashParams {
                iterations: MAX_HASH_ITERATIONS,
                ..HashParams::default()
            })
            .is_ok()
        );
        for past in [
            HashParams {
                memory_kib: MAX_HASH_MEMORY_KIB + 1,
                ..HashParams::default()
            },
            HashParams {
                iterations: MAX_HASH_ITERATIONS + 1,
                ..HashParams::default()
            },
            HashParams {
                memory_kib: 8 * (MAX_HASH_PARALLELISM + 1),
                parallelism: MAX_HASH_PARALLELISM + 1,
                iterations: 1,
            },
        ] {
            assert!(SecretHasher::new(past).is_err(), "{past:?}");
        }
        // A stored hash demanding more than the caps is refused without being computed.
        let hasher = SecretHasher::new(HashParams::default()).unwrap();
        let phc = hasher.hash(&secret(4), &SeededRandom::new(3)).unwrap();
        let greedy = phc.replace("m=8,t=1,p=1", &format!("m={},t=1,p=1", MAX_HASH_MEMORY_KIB + 1));
        assert!(!hasher.verify(&secret(4), &greedy));
        let slow = phc.replace("m=8,t=1,p=1", &format!("m=8,t={},p=1", MAX_HASH_ITERATIONS + 1));
        assert!(!hasher.verify(&secret(4), &slow));
    }

    #[test]
    fn invalid_parameters_are_refused() {
        assert!(
            SecretHasher::new(HashParams {
                memory_kib: 1,
                iterations: 1,
                parallelism: 1
            })
            .is_err()
        );
        assert!(
            SecretHasher::new(HashParams {
                memory_kib: 8,
                iterations: 0,
                parallelism: 1
            })
            .is_err()
        );
    }
}
