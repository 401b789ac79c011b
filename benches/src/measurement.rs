//! The raw batches of a paired row, pooled over the processes that measured it.
//!
//! The report measures in several child processes (each with its own address-space layout, heap
//! and store caches, which move a ratio by more than the noise within one process does) and pools
//! their pairs; a child hands its measurements to the parent as one line each.

use crate::row::{Row, Target};

/// A paired row's raw batches: `figure[i]` was measured beside `baseline[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// What was measured.
    pub scenario: String,
    /// What it was measured against.
    pub baseline_name: String,
    /// The target.
    pub target: Target,
    /// The figure's batches (nanoseconds per operation).
    pub figure: Vec<f64>,
    /// The baseline's batches, pair by pair with `figure`.
    pub baseline: Vec<f64>,
}

impl Measurement {
    /// A measurement from the batches [`alternating`](crate::alternating) returned.
    pub fn new(
        scenario: impl Into<String>,
        figure: &[f64],
        baseline: (&str, &[f64]),
        target: Target,
    ) -> Self {
        Self {
            scenario: scenario.into(),
            baseline_name: baseline.0.to_owned(),
            target,
            figure: figure.to_vec(),
            baseline: baseline.1.to_vec(),
        }
    }

    /// The report row of these batches.
    pub fn row(&self) -> Row {
        Row::paired(
            self.scenario.clone(),
            &self.figure,
            (&self.baseline_name, &self.baseline),
            self.target,
        )
    }

    /// Adds `other`'s pairs to these.
    ///
    /// # Errors
    /// When `other` measured something else (another scenario, baseline or target).
    pub fn pool(&mut self, other: Self) -> Result<(), String> {
        if other.scenario != self.scenario
            || other.baseline_name != self.baseline_name
            || other.target != self.target
        {
            return Err(format!(
                "cannot pool `{}` against `{}` with `{}` against `{}`",
                other.scenario, other.baseline_name, self.scenario, self.baseline_name
            ));
        }
        self.figure.extend(other.figure);
        self.baseline.extend(other.baseline);
        Ok(())
    }

    /// One line of text (tab-separated; floats in Rust's shortest round-trip form, so that
    /// [`from_line`](Self::from_line) gives back exactly these batches).
    pub fn to_line(&self) -> String {
        let join = |values: &[f64]| values.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
        let target = match self.target {
            Target::RatioAtMost(max) => format!("at-most {max}"),
            Target::SpeedupAtLeast(min) => format!("speedup-at-least {min}"),
            Target::RatioWithin(low, high) => format!("within {low} {high}"),
            Target::BytesAtMost(max) => format!("bytes-at-most {max}"),
            Target::Report => "report".to_owned(),
            Target::SpeedupReport => "speedup-report".to_owned(),
        };
        format!(
            "measurement\t{}\t{}\t{target}\t{}\t{}",
            self.scenario.replace(['\t', '\n'], " "),
            self.baseline_name.replace(['\t', '\n'], " "),
            join(&self.figure),
            join(&self.baseline)
        )
    }

    /// Parses a line written by [`to_line`](Self::to_line); `None` for any other line.
    pub fn from_line(line: &str) -> Option<Self> {
        let mut fields = line.split('\t');
        if fields.next()? != "measurement" {
            return None;
        }
        let scenario = fields.next()?.to_owned();
        let baseline_name = fields.next()?.to_owned();
        let target: Vec<&str> = fields.next()?.split(' ').collect();
        let number = |text: &str| text.parse::<f64>().ok();
        let target = match target.as_slice() {
            ["at-most", max] => Target::RatioAtMost(number(max)?),
            ["speedup-at-least", min] => Target::SpeedupAtLeast(number(min)?),
            ["within", low, high] => Target::RatioWithin(number(low)?, number(high)?),
            ["bytes-at-most", max] => Target::BytesAtMost(number(max)?),
            ["report"] => Target::Report,
            ["speedup-report"] => Target::SpeedupReport,
            _ => return None,
        };
        let values = |text: &str| -> Option<Vec<f64>> {
            if text.is_empty() {
                return Some(Vec::new());
            }
            text.split(',').map(number).collect()
        };
        let figure = values(fields.next()?)?;
        let baseline = values(fields.next()?)?;
        if fields.next().is_some() || figure.len() != baseline.len() {
            return None;
        }
        Some(Self {
            scenario,
            baseline_name,
            target,
            figure,
            baseline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_exactly() {
        let targets = [
            Target::RatioAtMost(1.35),
            Target::SpeedupAtLeast(1.7),
            Target::RatioWithin(1.0 / 1.1, 1.1),
            Target::Report,
            Target::SpeedupReport,
        ];
        for target in targets {
            let measurement = Measurement::new(
                "exchange, warm, SQLite, 100k keys",
                &[25_541.123_456_789, 1.0 / 3.0],
                ("ed25519-dalek sign", &[18_820.5, 2.0e-9]),
                target,
            );
            let line = measurement.to_line();
            assert_eq!(Measurement::from_line(&line), Some(measurement), "{line}");
        }
        assert_eq!(Measurement::from_line("SQLite done at 60 s"), None);
        assert_eq!(
            Measurement::from_line("measurement\tx\ty\tat-most 1\t1,2\t3"),
            None
        );
        assert_eq!(Measurement::from_line("measurement\tx\ty\tsoon\t1\t3"), None);
    }

    #[test]
    fn pooling_appends_pairs_of_the_same_row_only() {
        let target = Target::RatioAtMost(1.35);
        let mut first = Measurement::new("x", &[130.0], ("base", &[100.0]), target);
        let second = Measurement::new("x", &[260.0, 120.0], ("base", &[200.0, 100.0]), target);
        first.pool(second).expect("same row");
        assert_eq!(first.figure, vec![130.0, 260.0, 120.0]);
        assert_eq!(first.row().ratios, vec![1.3, 1.3, 1.2]);
        let other = Measurement::new("y", &[1.0], ("base", &[1.0]), target);
        assert!(first.pool(other).is_err());
    }
}
