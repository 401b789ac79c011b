//! The measuring harness behind ak's benchmark report (`benches/report.rs`) and its instruction
//! counts (`benches/icount.rs`).
//!
//! # Paired ratios
//!
//! Every timed row of the report compares a figure with a baseline from the same run (raw
//! ed25519-dalek, jsonwebtoken, a bare database lookup, one thread against two). The two are
//! measured in alternating batches ([`alternating`]): a *pair* is one batch of each, taken in the
//! same moments (each side's batch the fastest of a few interleaved sub-batches), and the ratio is
//! computed per pair, so a noise burst that slows both sides of a pair leaves its ratio alone. A row reports the median of its per-pair ratios and their interquartile range
//! (IQR: the middle half of the ratios), and gets one of three verdicts ([`judge`]):
//!
//! * **pass**: the whole IQR meets the target (so does the median);
//! * **FAIL**: the whole IQR misses it;
//! * **noisy**: the target lies inside the IQR; the pairs disagree too much to tell.
//!
//! ```
//! use ak_benches::{Row, Schedule, Target, Verdict, alternating};
//!
//! let mut figure = || 130.0; // nanoseconds per operation of one batch
//! let mut baseline = || 100.0;
//! let schedule = Schedule { pairs: 5, repeats: 3 };
//! let batches = alternating(schedule, &mut [&mut figure, &mut baseline]);
//! let row = Row::paired("exchange", &batches[0], ("sign", &batches[1]), Target::RatioAtMost(1.35));
//! assert_eq!(row.verdict(), Verdict::Pass);
//! ```
//!
//! # Instruction counts
//!
//! [`icount`] reads and writes the committed baseline of callgrind instruction counts and compares
//! a run with it (a hot path may grow by at most [`icount::MAX_GROWTH_PERCENT`]).
//!
//! Run the report with `cargo bench -p ak-benches --bench report` (add `-- --quick` for a short
//! run that only proves every scenario still builds and runs) and the instruction-count check with
//! `cargo bench -p ak-benches --bench icount`.

pub mod icount;
mod measure;
mod measurement;
mod row;
mod stats;
mod table;
pub mod wrk;

pub use measure::{Schedule, alternating, per_op_ns, scaled_by_reference};
pub use measurement::Measurement;
pub use row::{Baseline, Row, Target, Unit, Verdict, judge};
pub use stats::{Spread, median, quantile};
pub use table::{format_value, table};
