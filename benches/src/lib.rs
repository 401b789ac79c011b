//! The measuring harness behind ak's benchmark report (`benches/report.rs`).
//!
//! Every scenario is measured beside its baseline in the same run: the two (or more) are run in
//! alternating batches, in a rotating order, and each figure is the median of its batches, so
//! machine noise and frequency drift hit both alike. The report prints one table: scenario,
//! median, baseline median, ratio, target, pass or fail.
//!
//! Run it with `cargo bench -p ak-benches --bench report` (add `-- --quick` for a short run that
//! only proves every scenario still builds and runs; timings then mean little).

use std::fmt::Write as _;
use std::time::Instant;

/// Nanoseconds per operation of one batch: runs `op` `iterations` times and divides.
pub fn per_op_ns(iterations: u32, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        op();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations.max(1))
}

/// The median of `values` (the mean of the middle two for an even count; 0 when empty).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// Runs `batches` rounds; in each round every entry of `runs` measures one batch (returning
/// nanoseconds per operation), starting with a different entry each round. Returns each entry's
/// median.
pub fn interleaved(batches: usize, runs: &mut [&mut dyn FnMut() -> f64]) -> Vec<f64> {
    let count = runs.len();
    let mut samples = vec![Vec::with_capacity(batches); count];
    for round in 0..batches {
        for offset in 0..count {
            let index = (round + offset) % count;
            samples[index].push(runs[index]());
        }
    }
    samples.iter_mut().map(|values| median(values)).collect()
}

/// What a row must achieve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// `median / baseline` at most this.
    RatioAtMost(f64),
    /// `baseline / median` (a speed-up) at least this.
    SpeedupAtLeast(f64),
    /// The median (a size in bytes) at most this.
    BytesAtMost(f64),
    /// Reported only.
    Report,
}

/// How a figure is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per operation.
    Time,
    /// Bytes.
    Bytes,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub scenario: String,
    /// Its median.
    pub median: f64,
    /// The baseline's name and median, if it has one.
    pub baseline: Option<(String, f64)>,
    /// The target.
    pub target: Target,
    /// How to print the figures.
    pub unit: Unit,
}

impl Row {
    /// A timed row against a baseline.
    pub fn timed(scenario: impl Into<String>, median: f64, baseline: (&str, f64), target: Target) -> Self {
        Self {
            scenario: scenario.into(),
            median,
            baseline: Some((baseline.0.to_owned(), baseline.1)),
            target,
            unit: Unit::Time,
        }
    }

    /// The ratio shown: `median / baseline`, or `baseline / median` for a speed-up target.
    pub fn ratio(&self) -> Option<f64> {
        let (_, baseline) = self.baseline.as_ref()?;
        Some(match self.target {
            Target::SpeedupAtLeast(_) => baseline / self.median,
            _ => self.median / baseline,
        })
    }

    /// Whether the row meets its target (`None` for a report-only row).
    pub fn pass(&self) -> Option<bool> {
        match self.target {
            Target::RatioAtMost(max) => self.ratio().map(|ratio| ratio <= max),
            Target::SpeedupAtLeast(min) => self.ratio().map(|ratio| ratio >= min),
            Target::BytesAtMost(max) => Some(self.median <= max),
            Target::Report => None,
        }
    }
}

/// A figure with a readable unit.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => format!("{value:.0} B"),
        Unit::Time if value < 1_000.0 => format!("{value:.0} ns"),
        Unit::Time if value < 1_000_000.0 => format!("{:.2} µs", value / 1_000.0),
        Unit::Time => format!("{:.2} ms", value / 1_000_000.0),
    }
}

/// The report table, as text.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "scenario",
        "median",
        "baseline",
        "baseline median",
        "ratio",
        "target",
        "result",
    ];
    let lines: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            let (baseline_name, baseline_value) = match &row.baseline {
                Some((name, value)) => (name.clone(), format_value(*value, row.unit)),
                None => ("-".to_owned(), "-".to_owned()),
            };
            let target = match row.target {
                Target::RatioAtMost(max) => format!("<= {max:.2}x"),
                Target::SpeedupAtLeast(min) => format!(">= {min:.2}x"),
                Target::BytesAtMost(max) => format!("<= {}", format_value(max, Unit::Bytes)),
                Target::Report => "report".to_owned(),
            };
            [
                row.scenario.clone(),
                format_value(row.median, row.unit),
                baseline_name,
                baseline_value,
                row.ratio()
                    .map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.3}x")),
                target,
                match row.pass() {
                    Some(true) => "pass".to_owned(),
                    Some(false) => "FAIL".to_owned(),
                    None => "-".to_owned(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(|title| title.chars().count());
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: &[String]| {
        out.push('|');
        for (cell, width) in cells.iter().zip(widths) {
            let pad = width - cell.chars().count();
            let _ = write!(out, " {cell}{} |", " ".repeat(pad));
        }
        out.push('\n');
    };
    push(&header.map(str::to_owned));
    push(&widths.map(|width| "-".repeat(width)));
    for line in &lines {
        push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratios() {
        assert!((median(&mut [3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(&mut [4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < f64::EPSILON);
        let row = Row::timed("x", 150.0, ("base", 100.0), Target::RatioAtMost(1.35));
        assert_eq!(row.pass(), Some(false));
        let row = Row::timed("x", 50.0, ("base", 100.0), Target::SpeedupAtLeast(1.7));
        assert_eq!(row.pass(), Some(true));
        let text = table(&[row]);
        assert!(text.contains("2.000x") && text.contains("pass"), "{text}");
    }

    #[test]
    fn interleaving_rotates_and_takes_medians() {
        let mut a = 0.0;
        let mut b = 10.0;
        let mut run_a = || {
            a += 1.0;
            a
        };
        let mut run_b = || {
            b += 1.0;
            b
        };
        let medians = interleaved(5, &mut [&mut run_a, &mut run_b]);
        assert_eq!(medians, vec![3.0, 13.0]);
    }
}
