//! One line of the report: a figure, its baseline, the per-pair ratios, the target and the verdict.

use crate::stats::{Spread, median};

/// What a row must achieve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The ratio `figure / baseline` at most this.
    RatioAtMost(f64),
    /// The ratio `baseline / figure` (a speed-up) at least this.
    SpeedupAtLeast(f64),
    /// The ratio `figure / baseline` within `low ..= high` (equal cost, within a tolerance).
    RatioWithin(f64, f64),
    /// The figure (a size in bytes, measured once) at most this.
    BytesAtMost(f64),
    /// Reported only.
    Report,
    /// Reported only, as a speed-up (`baseline / figure`).
    SpeedupReport,
}

/// How a row came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The whole interquartile range of the per-pair ratios meets the target (and so does the
    /// median); a size row: the size meets it.
    Pass,
    /// The whole interquartile range misses the target; a size row: the size misses it.
    Fail,
    /// The target lies inside the interquartile range: the pairs disagree too much to tell.
    Noisy,
    /// A report-only row.
    Report,
}

impl Verdict {
    /// How the verdict is printed.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Noisy => "noisy",
            Self::Report => "-",
        }
    }
}

/// How a figure is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per operation.
    Time,
    /// Bytes.
    Bytes,
}

/// A row's baseline: what it is and the median of its batches.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// What was measured.
    pub name: String,
    /// The median of its batches.
    pub median: f64,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub scenario: String,
    /// The median of the figure's batches (or the measured size).
    pub figure: f64,
    /// The baseline, for a paired row.
    pub baseline: Option<Baseline>,
    /// One ratio per pair of batches, oriented as the target reads it (`baseline / figure` for a
    /// speed-up, `figure / baseline` otherwise); empty for a size row.
    pub ratios: Vec<f64>,
    /// The target.
    pub target: Target,
    /// How to print the figures.
    pub unit: Unit,
}

impl Row {
    /// A timed row from the batches of a figure and of its baseline, measured in alternating
    /// pairs (`figure[i]` beside `baseline[i]`; see [`alternating`](crate::alternating)).
    pub fn paired(
        scenario: impl Into<String>,
        figure: &[f64],
        baseline: (&str, &[f64]),
        target: Target,
    ) -> Self {
        let (name, base) = baseline;
        let ratios = figure
            .iter()
            .zip(base)
            .map(|(&figure, &base)| match target {
                Target::SpeedupAtLeast(_) | Target::SpeedupReport => base / figure,
                _ => figure / base,
            })
            .collect();
        Self {
            scenario: scenario.into(),
            figure: median(figure),
            baseline: Some(Baseline {
                name: name.to_owned(),
                median: median(base),
            }),
            ratios,
            target,
            unit: Unit::Time,
        }
    }

    /// A size row: `bytes`, measured once, against `target`.
    pub fn size(scenario: impl Into<String>, bytes: f64, target: Target) -> Self {
        Self {
            scenario: scenario.into(),
            figure: bytes,
            baseline: None,
            ratios: Vec::new(),
            target,
            unit: Unit::Bytes,
        }
    }

    /// The quartiles of the per-pair ratios (`None` for a size row).
    pub fn spread(&self) -> Option<Spread> {
        (!self.ratios.is_empty()).then(|| Spread::of(&self.ratios))
    }

    /// The verdict: see [`Verdict`] and [`judge`].
    pub fn verdict(&self) -> Verdict {
        match (self.target, self.spread()) {
            (Target::Report | Target::SpeedupReport, _) => Verdict::Report,
            (Target::BytesAtMost(max), _) => {
                if self.figure <= max {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                }
            }
            (target, Some(spread)) => judge(target, spread),
            (_, None) => Verdict::Noisy,
        }
    }
}

/// The verdict of a ratio target over per-pair ratios with quartiles `spread`.
///
/// Pass when the whole interquartile range meets the target, FAIL when the whole range misses it,
/// and noisy when the target lies inside it. A verdict thus moves from pass to FAIL only when the
/// median moves by more than half the interquartile range, which two runs of the same code on the
/// same machine do not do; a ratio that sits at its target within the noise says "noisy" in both.
pub fn judge(target: Target, spread: Spread) -> Verdict {
    let Spread { q1, q3, .. } = spread;
    let (pass, fail) = match target {
        Target::RatioAtMost(max) => (q3 <= max, q1 > max),
        Target::SpeedupAtLeast(min) => (q1 >= min, q3 < min),
        Target::RatioWithin(low, high) => (low <= q1 && q3 <= high, q3 < low || q1 > high),
        Target::BytesAtMost(_) | Target::Report | Target::SpeedupReport => return Verdict::Report,
    };
    if pass {
        Verdict::Pass
    } else if fail {
        Verdict::Fail
    } else {
        Verdict::Noisy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(q1: f64, q3: f64) -> Spread {
        Spread {
            q1,
            median: f64::midpoint(q1, q3),
            q3,
        }
    }

    #[test]
    fn ratios_are_taken_per_pair() {
        // Both sides slow down together in the second pair: the ratio does not move.
        let row = Row::paired(
            "x",
            &[150.0, 300.0, 150.0],
            ("base", &[100.0, 200.0, 100.0]),
            Target::RatioAtMost(1.35),
        );
        assert_eq!(row.ratios, vec![1.5, 1.5, 1.5]);
        assert_eq!(row.verdict(), Verdict::Fail);
        let row = Row::paired(
            "x",
            &[50.0, 100.0],
            ("base", &[100.0, 200.0]),
            Target::SpeedupAtLeast(1.7),
        );
        assert_eq!(row.ratios, vec![2.0, 2.0]);
        assert_eq!(row.verdict(), Verdict::Pass);
    }

    #[test]
    fn upper_bounds_pass_fail_or_noisy() {
        let target = Target::RatioAtMost(1.35);
        assert_eq!(judge(target, spread(1.20, 1.35)), Verdict::Pass);
        assert_eq!(judge(target, spread(1.30, 1.40)), Verdict::Noisy);
        assert_eq!(judge(target, spread(1.35, 1.40)), Verdict::Noisy);
        assert_eq!(judge(target, spread(1.36, 1.40)), Verdict::Fail);
    }

    #[test]
    fn lower_bounds_pass_fail_or_noisy() {
        let target = Target::SpeedupAtLeast(1.7);
        assert_eq!(judge(target, spread(1.70, 1.90)), Verdict::Pass);
        assert_eq!(judge(target, spread(1.60, 1.80)), Verdict::Noisy);
        assert_eq!(judge(target, spread(1.20, 1.69)), Verdict::Fail);
    }

    #[test]
    fn bands_pass_only_inside() {
        let target = Target::RatioWithin(1.0 / 1.1, 1.1);
        assert_eq!(judge(target, spread(0.95, 1.05)), Verdict::Pass);
        assert_eq!(judge(target, spread(1.05, 1.15)), Verdict::Noisy);
        assert_eq!(judge(target, spread(0.85, 0.95)), Verdict::Noisy);
        assert_eq!(judge(target, spread(0.80, 1.20)), Verdict::Noisy);
        assert_eq!(judge(target, spread(1.90, 2.10)), Verdict::Fail);
        assert_eq!(judge(target, spread(0.40, 0.60)), Verdict::Fail);
    }

    #[test]
    fn sizes_and_reports() {
        assert_eq!(
            Row::size("s", 900.0, Target::BytesAtMost(2048.0)).verdict(),
            Verdict::Pass
        );
        assert_eq!(
            Row::size("s", 4096.0, Target::BytesAtMost(2048.0)).verdict(),
            Verdict::Fail
        );
        let row = Row::paired("r", &[2.0], ("base", &[1.0]), Target::Report);
        assert_eq!(row.verdict(), Verdict::Report);
        let row = Row::paired("r", &[1.0], ("base", &[2.0]), Target::SpeedupReport);
        assert_eq!((row.ratios.clone(), row.verdict()), (vec![2.0], Verdict::Report));
        assert!(row.spread().is_some());
    }
}
