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

/// How a row is measured: `pairs` pairs of batches; within a pair, each side runs `repeats`
/// sub-batches, interleaved with the other side's, and its batch figure is the fastest of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Pairs of batches: one ratio each.
    pub pairs: usize,
    /// Sub-batches per side in a pair (at least 1); the fastest is the pair's figure for that side.
    pub repeats: usize,
}

/// Runs `schedule.pairs` rounds in which every entry of `runs` measures `schedule.repeats`
/// sub-batches (each call returns nanoseconds per operation), and returns every entry's batch
/// figures in round order, so that `result[0][i]` and `result[1][i]` were measured side by side
/// in round `i`.
///
/// Within a round the entries take turns, sub-batch by sub-batch, and the order alternates: the
/// first sub-batch runs the entries first to last, the next last to first (`ABBAAB...`), so that
/// whatever favours the batch that runs first (a cache the other just warmed, a frequency step)
/// cancels out instead of biasing the ratio. An entry's figure for the round is its fastest
/// sub-batch: noise on a shared machine (another process taking the core) only ever adds time,
/// so the minimum over a few sub-batches taken in the same moments is the figure least disturbed
/// by it, on both sides alike.
pub fn alternating(schedule: Schedule, runs: &mut [&mut dyn FnMut() -> f64]) -> Vec<Vec<f64>> {
    let count = runs.len();
    let repeats = schedule.repeats.max(1);
    let mut samples = vec![Vec::with_capacity(schedule.pairs); count];
    let mut turn = 0usize;
    for _ in 0..schedule.pairs {
        let mut fastest = vec![f64::INFINITY; count];
        for _ in 0..repeats {
            for step in 0..count {
                let index = if turn.is_multiple_of(2) {
                    step
                } else {
                    count - 1 - step
                };
                fastest[index] = fastest[index].min(runs[index]());
            }
            turn += 1;
        }
        for (entry, value) in samples.iter_mut().zip(fastest) {
            entry.push(value);
        }
    }
    samples
}

/// Per pair, the 2-way time per operation `two` would take where the reference scaled like two
/// CPUs: `two[i] × reference_one[i] / (2 × reference_two[i])`.
///
/// Against the 1-way batches of the same figure this gives the figure's speed-up divided by the
/// reference's, times 2: the machine's own scaling, measured in the same pair by a reference
/// that shares nothing between its threads, is taken out of the figure's.
pub fn scaled_by_reference(two: &[f64], reference_one: &[f64], reference_two: &[f64]) -> Vec<f64> {
    two.iter()
        .zip(reference_one.iter().zip(reference_two))
        .map(|(two, (one, reference_two))| two * one / (2.0 * reference_two))
        .collect()
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
        let once = Schedule { pairs: 4, repeats: 1 };
        let samples = alternating(once, &mut [&mut run_a, &mut run_b]);
        assert_eq!(samples[0], vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(samples[1], vec![101.0, 102.0, 103.0, 104.0]);
        assert_eq!(order.into_inner().into_iter().collect::<String>(), "abbaabba");
    }

    #[test]
    fn each_side_keeps_its_fastest_sub_batch() {
        // Sub-batch times of side a: 5, 3, 9 | 4, 8, 6; of side b: 50, 70, 30 | 60, 40, 90.
        let mut a = [5.0, 3.0, 9.0, 4.0, 8.0, 6.0].into_iter();
        let mut b = [50.0, 70.0, 30.0, 60.0, 40.0, 90.0].into_iter();
        let mut run_a = || a.next().unwrap_or(f64::NAN);
        let mut run_b = || b.next().unwrap_or(f64::NAN);
        let schedule = Schedule { pairs: 2, repeats: 3 };
        let samples = alternating(schedule, &mut [&mut run_a, &mut run_b]);
        assert_eq!(samples, vec![vec![3.0, 4.0], vec![30.0, 40.0]]);
    }

    #[test]
    fn per_op_divides_by_the_iterations() {
        let mut calls = 0;
        let ns = per_op_ns(10, || calls += 1);
        assert_eq!(calls, 10);
        assert!(ns >= 0.0);
    }

    #[test]
    fn scaling_takes_the_reference_speed_up_out_pair_by_pair() {
        // Pair 1: the reference scales 1.6x (100 -> 62.5), the figure 1.2x (60 -> 50): scaled
        // 1.5x. Pair 2: the reference scales perfectly, so the figure is left as it is.
        let scaled = scaled_by_reference(&[50.0, 30.0], &[100.0, 100.0], &[62.5, 50.0]);
        assert_eq!(scaled, vec![40.0, 30.0]);
        assert_eq!(60.0 / scaled[0], 1.5);
    }
}
