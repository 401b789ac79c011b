//! Timing batches, and running a figure and its baselines in alternating batches.

use std::time::Instant;

/// Nanoseconds per operation of one batch: runs `op` `iterations` times and divides.
pub fn per_op_ns(iterations: u32, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        op();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations.max(1))
}

/// Runs `pairs` rounds in which every entry of `runs` measures one batch (each call returns
/// nanoseconds per operation), and returns every entry's batch figures in round order, so that
/// `result[0][i]` and `result[1][i]` were measured back to back in round `i`.
///
/// The order alternates: even rounds run the entries first to last, odd rounds last to first. The
/// figure (entry 0) is thus first in one round and last in the next, so whatever favours the
/// batch that runs first (a cache the other just warmed, a frequency step) cancels out of the
/// median ratio instead of biasing it.
pub fn alternating(pairs: usize, runs: &mut [&mut dyn FnMut() -> f64]) -> Vec<Vec<f64>> {
    let count = runs.len();
    let mut samples = vec![Vec::with_capacity(pairs); count];
    for round in 0..pairs {
        for step in 0..count {
            let index = if round % 2 == 0 { step } else { count - 1 - step };
            let value = runs[index]();
            samples[index].push(value);
        }
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_alternate_their_order_and_keep_pairs_aligned() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut a = 0.0;
        let mut b = 100.0;
        let mut run_a = || {
            order.borrow_mut().push('a');
            a += 1.0;
            a
        };
        let mut run_b = || {
            order.borrow_mut().push('b');
            b += 1.0;
            b
        };
        let samples = alternating(4, &mut [&mut run_a, &mut run_b]);
        assert_eq!(samples[0], vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(samples[1], vec![101.0, 102.0, 103.0, 104.0]);
        assert_eq!(order.into_inner().into_iter().collect::<String>(), "abbaabba");
    }

    #[test]
    fn per_op_divides_by_the_iterations() {
        let mut calls = 0;
        let ns = per_op_ns(10, || calls += 1);
        assert_eq!(calls, 10);
        assert!(ns >= 0.0);
    }
}
