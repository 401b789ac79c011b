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

use argon2::password_hash::{PasswordHash, PasswordHasher, Salt, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

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
    /// Hashes of two fixed secrets with one salt, checked as a current and a previous secret
    /// when the key id is unknown: an unknown id then does the work of the costliest failure, a
    /// wrong secret for a key in its rotation grace period (one argon2id run, two digests).
    decoy: String,
    decoy_previous: String,
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
        let decoy_hash = |secret: &[u8]| {
            argon2
                .hash_password(secret, &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| HashParamsError(error.to_string()))
        };
        let decoy = decoy_hash(&[0u8; SECRET_BYTES])?;
        let decoy_previous = decoy_hash(&[1u8; SECRET_BYTES])?;
        Ok(Self {
            argon2,
            decoy,
            decoy_previous,
        })
    }

    /// The PHC string of `secret` with a fresh 16-byte salt.
    pub(crate) fn hash(&self, secret: &Secret, random: &dyn RandomSource) -> Result<String, RandomError> {
        let mut salt = [0u8; 16];
        random.fill_bytes(&mut salt)?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| RandomError)?;
        self.hash_with(secret, salt.as_salt())
    }

    /// The PHC string of a rotated key's new `secret`, with the salt of `previous` (the hash that
    /// stays valid during the grace period) when `previous` has this hasher's parameters, else
    /// a fresh salt.
    ///
    /// Sharing the salt lets [`verify_current_or_previous`](Self::verify_current_or_previous)
    /// check both secrets with one argon2id run. It costs nothing: the salt keeps two hashes of
    /// one secret apart and defeats precomputation, and these are two different 256-bit random
    /// secrets of one key.
    pub(crate) fn hash_for_rotation(
        &self,
        secret: &Secret,
        previous: &str,
        random: &dyn RandomSource,
    ) -> Result<String, RandomError> {
        match Stored::parse(previous) {
            Some(stored) if stored.params == *self.argon2.params() && stored.version == Version::V0x13 => {
                self.hash_with(secret, stored.hash.salt.ok_or(RandomError)?)
            }
            _ => self.hash(secret, random),
        }
    }

    fn hash_with(&self, secret: &Secret, salt: Salt<'_>) -> Result<String, RandomError> {
        // Hashing 32 bytes with validated parameters and a valid salt cannot fail.
        self.argon2
            .hash_password(secret.0.as_ref(), salt)
            .map(|hash| hash.to_string())
            .map_err(|_| RandomError)
    }

    /// Whether `secret` matches `phc`. A hash that does not parse, or is not argon2id, never
    /// matches (fail closed). The comparison is constant-time.
    pub(crate) fn verify(&self, secret: &Secret, phc: &str) -> bool {
        Stored::parse(phc).is_some_and(|stored| stored.matches(&stored.compute(secret)))
    }

    /// Which of a key's secrets `secret` is: the current one (`current`), the previous one still
    /// in its grace period (`previous`), or neither.
    ///
    /// When both hashes share their salt and parameters (every rotation since
    /// [`hash_for_rotation`](Self::hash_for_rotation) makes them so) this is one argon2id run,
    /// compared against both digests in constant time: a wrong secret during a grace period costs
    /// what any other wrong secret costs. Two hashes made otherwise (rotated by an older ak, or
    /// across a change of parameters) cost two runs until the grace period ends.
    pub(crate) fn verify_current_or_previous(
        &self,
        secret: &Secret,
        current: &str,
        previous: Option<&str>,
    ) -> SecretMatch {
        let Some(current) = Stored::parse(current) else {
            return match previous {
                Some(previous) if self.verify(secret, previous) => SecretMatch::Previous,
                _ => SecretMatch::Neither,
            };
        };
        let output = current.compute(secret);
        let is_current = current.matches(&output);
        let is_previous = match previous.map(Stored::parse) {
            None => false,
            Some(None) => false,
            Some(Some(previous)) if previous.same_inputs(&current) => previous.matches(&output),
            Some(Some(previous)) => previous.matches(&previous.compute(secret)),
        };
        match (is_current, is_previous) {
            (true, _) => SecretMatch::Current,
            (false, true) => SecretMatch::Previous,
            (false, false) => SecretMatch::Neither,
        }
    }

    /// The decoy hashes (current, previous): their lengths are those of this hasher's hashes.
    pub(crate) fn decoy_hashes(&self) -> (&str, &str) {
        (&self.decoy, &self.decoy_previous)
    }

    /// Spends the time of a failed verification during a grace period on fixed decoy hashes
    /// and returns nothing.
    pub(crate) fn verify_decoy(&self, secret: &Secret) {
        let _ = self.verify_current_or_previous(secret, &self.decoy, Some(&self.decoy_previous));
    }
}

/// Which of a key's secrets a presented secret matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretMatch {
    /// The current secret.
    Current,
    /// The previous secret, in its grace period.
    Previous,
    /// Neither.
    Neither,
}

/// A stored argon2id PHC string, parsed and checked against the cost caps.
struct Stored<'a> {
    hash: PasswordHash<'a>,
    params: Params,
    version: Version,
}

impl<'a> Stored<'a> {
    /// `None` for a hash that does not parse, is not argon2id, or asks for costs above the caps
    /// (a tampered record must not make us spend them).
    fn parse(phc: &'a str) -> Option<Self> {
        let hash = PasswordHash::new(phc).ok()?;
        if hash.algorithm != argon2::ARGON2ID_IDENT {
            return None;
        }
        let params = Params::try_from(&hash).ok()?;
        if !within_caps(params.m_cost(), params.t_cost(), params.p_cost()) {
            return None;
        }
        let version = hash.version.map_or(Ok(Version::V0x13), Version::try_from).ok()?;
        hash.hash?;
        Some(Self {
            hash,
            params,
            version,
        })
    }

    /// Whether `other` runs argon2id on the same salt with the same parameters as this hash.
    fn same_inputs(&self, other: &Self) -> bool {
        self.params == other.params && self.version == other.version && self.hash.salt == other.hash.salt
    }

    /// The argon2id output for `secret` with this hash's salt and parameters (`None` if the
    /// salt does not decode).
    fn compute(&self, secret: &Secret) -> Option<Zeroizing<Vec<u8>>> {
        #[cfg(test)]
        tests::ARGON2_RUNS.with(|runs| runs.set(runs.get() + 1));
        let mut salt = [0u8; 64];
        let salt = self.hash.salt?.decode_b64(&mut salt).ok()?;
        let mut output = Zeroizing::new(vec![0u8; self.hash.hash?.len()]);
        Argon2::new(Algorithm::Argon2id, self.version, self.params.clone())
            .hash_password_into(secret.0.as_ref(), salt, &mut output)
            .ok()?;
        Some(output)
    }

    /// Whether `output` equals this hash's digest, in constant time.
    fn matches(&self, output: &Option<Zeroizing<Vec<u8>>>) -> bool {
        match (output, &self.hash.hash) {
            (Some(output), Some(digest)) => bool::from(output.as_slice().ct_eq(digest.as_bytes())),
            _ => false,
        }
    }
}

fn within_caps(memory_kib: u32, iterations: u32, parallelism: u32) -> bool {
    memory_kib <= MAX_HASH_MEMORY_KIB
        && iterations <= MAX_HASH_ITERATIONS
        && parallelism <= MAX_HASH_PARALLELISM
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::random::SeededRandom;

    thread_local! {
        /// How many argon2id computations this thread ran.
        pub(crate) static ARGON2_RUNS: Cell<usize> = const { Cell::new(0) };
    }

    /// Runs `f` and returns how many argon2id computations it ran, with its result.
    pub(crate) fn argon2_runs<T>(f: impl FnOnce() -> T) -> (usize, T) {
        ARGON2_RUNS.with(|runs| runs.set(0));
        let value = f();
        (ARGON2_RUNS.with(Cell::get), value)
    }

    #[test]
    fn a_rotation_shares_the_salt_so_both_secrets_cost_one_run() {
        let hasher = SecretHasher::new(HashParams::default()).unwrap();
        let random = SeededRandom::new(7);
        let old = hasher.hash(&secret(1), &random).unwrap();
        let new = hasher.hash_for_rotation(&secret(2), &old, &random).unwrap();
        assert_ne!(old, new);
        let salt = |phc: &str| phc.split('$').nth(4).unwrap().to_owned();
        assert_eq!(salt(&old), salt(&new));
        for (presented, expected) in [
            (1, SecretMatch::Previous),
            (2, SecretMatch::Current),
            (3, SecretMatch::Neither),
        ] {
            let (runs, found) =
                argon2_runs(|| hasher.verify_current_or_previous(&secret(presented), &new, Some(&old)));
            assert_eq!((runs, found), (1, expected), "secret {presented}");
        }
        // Without a previous secret, and for a plain verify: one run too.
        assert_eq!(argon2_runs(|| hasher.verify(&secret(3), &new)), (1, false));
        let (runs, found) = argon2_runs(|| hasher.verify_current_or_previous(&secret(3), &new, None));
        assert_eq!((runs, found), (1, SecretMatch::Neither));
    }

    #[test]
    fn hashes_of_other_salts_or_parameters_are_still_both_checked() {
        let hasher = SecretHasher::new(HashParams::default()).unwrap();
        let random = SeededRandom::new(8);
        // Rotated by an older ak: a fresh salt.
        let old = hasher.hash(&secret(1), &random).unwrap();
        let new = hasher.hash(&secret(2), &random).unwrap();
        assert_eq!(
            hasher.verify_current_or_previous(&secret(1), &new, Some(&old)),
            SecretMatch::Previous
        );
        assert_eq!(
            hasher.verify_current_or_previous(&secret(2), &new, Some(&old)),
            SecretMatch::Current
        );
        // Across a change of parameters the new hash gets a fresh salt and its own parameters.
        let stronger = SecretHasher::new(HashParams {
            memory_kib: 16,
            ..HashParams::default()
        })
        .unwrap();
        let rotated = stronger.hash_for_rotation(&secret(3), &old, &random).unwrap();
        assert!(rotated.starts_with("$argon2id$v=19$m=16,t=1,p=1$"), "{rotated}");
        assert_eq!(
            stronger.verify_current_or_previous(&secret(1), &rotated, Some(&old)),
            SecretMatch::Previous
        );
        assert_eq!(
            stronger.verify_current_or_previous(&secret(4), &rotated, Some(&old)),
            SecretMatch::Neither
        );
        // A damaged current hash fails closed but leaves the previous secret usable.
        assert_eq!(
            hasher.verify_current_or_previous(&secret(1), "garbage", Some(&old)),
            SecretMatch::Previous
        );
        assert_eq!(
            hasher.verify_current_or_previous(&secret(2), "garbage", Some(&old)),
            SecretMatch::Neither
        );
    }

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
