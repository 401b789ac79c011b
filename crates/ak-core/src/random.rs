//! Injectable randomness: the OS CSPRNG in production, a seeded generator in tests.

use std::sync::Mutex;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// The OS random source failed; ak refuses to make a key rather than use weak randomness.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the random source failed")]
pub struct RandomError;

/// Where key ids, secrets and salts come from.
pub trait RandomSource: std::fmt::Debug + Send + Sync {
    /// Fills `dest` with random bytes, or fails; never returns predictable bytes.
    fn fill_bytes(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's CSPRNG (`getrandom`). The default.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill_bytes(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        rand_core::OsRng.try_fill_bytes(dest).map_err(|_| RandomError)
    }
}

/// A deterministic ChaCha20 stream from a seed, so tests reproduce the same keys.
///
/// **For tests only**: anyone who knows the seed knows every key it makes.
#[derive(Debug)]
pub struct SeededRandom(Mutex<ChaCha20Rng>);

impl SeededRandom {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(ChaCha20Rng::seed_from_u64(seed)))
    }
}

impl RandomSource for SeededRandom {
    fn fill_bytes(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut rng = self.0.lock().map_err(|_| RandomError)?;
        rng.fill_bytes(dest);
        Ok(())
    }
}
