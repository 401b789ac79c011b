//! Instruction counts: the committed baseline file, callgrind's output, and the growth check.
//!
//! The counting itself (one scenario per process under `valgrind --tool=callgrind`) is in
//! `benches/icount.rs`; this module holds the parts that are plain data, so they are unit-tested.

use std::fmt::Write as _;

/// How much a hot path may grow against the baseline before the check fails, in percent.
pub const MAX_GROWTH_PERCENT: u64 = 10;

/// Scenario names and their instruction counts, in file order.
pub type Counts = Vec<(String, u64)>;

/// Parses a baseline file: one `name count` per line; blank lines and `#` comments are skipped.
///
/// # Errors
/// The first malformed or duplicated line, with its number.
pub fn parse_baseline(text: &str) -> Result<Counts, String> {
    let mut counts: Counts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = index + 1;
        let mut fields = line.split_whitespace();
        let (Some(name), Some(count), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("line {number}: expected `<scenario> <instructions>`"));
        };
        let count: u64 = count
            .parse()
            .map_err(|_| format!("line {number}: `{count}` is not a count"))?;
        if counts.iter().any(|(seen, _)| seen == name) {
            return Err(format!("line {number}: `{name}` appears twice"));
        }
        counts.push((name.to_owned(), count));
    }
    Ok(counts)
}

/// A baseline file for `counts`, with a header saying what it is and how to regenerate it.
pub fn format_baseline(counts: &[(String, u64)]) -> String {
    let mut out = String::from(
        "# Instructions per operation of ak's hot paths, counted by callgrind (README, \"Benchmarks and\n\
         # fuzzing\"). `.ci/run` fails when a count grows by more than 10% against this file.\n\
         # Regenerate it only in the commit that justifies the change:\n\
         #   cargo bench -p ak-benches --bench icount -- --update\n",
    );
    for (name, count) in counts {
        let _ = writeln!(out, "{name} {count}");
    }
    out
}

/// The total of the collected events in a callgrind output file (its `summary:` line, or the
/// `totals:` line when there is no summary); `None` when neither is there.
pub fn callgrind_total(output: &str) -> Option<u64> {
    let find = |prefix: &str| {
        output.lines().find_map(|line| {
            let rest = line.strip_prefix(prefix)?;
            rest.split_whitespace().next()?.parse().ok()
        })
    };
    find("summary:").or_else(|| find("totals:"))
}

/// How one scenario compares with its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Within the allowed growth.
    Ok,
    /// Grew by more than [`MAX_GROWTH_PERCENT`]: the check fails.
    Grew,
    /// Shrank by more than [`MAX_GROWTH_PERCENT`]: fine, but the baseline should be lowered so that a
    /// later regression is caught.
    Shrank,
    /// Measured but not in the baseline: the check fails until the baseline is updated.
    New,
    /// In the baseline but not measured: the check fails until the baseline is updated.
    Missing,
}

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    /// The scenario.
    pub name: String,
    /// Its baseline count.
    pub baseline: Option<u64>,
    /// Its count now.
    pub now: Option<u64>,
    /// The verdict.
    pub change: Change,
}

impl Compared {
    /// Whether this line fails the check.
    pub fn fails(&self) -> bool {
        matches!(self.change, Change::Grew | Change::New | Change::Missing)
    }

    /// `now / baseline - 1`, when both exist.
    pub fn growth(&self) -> Option<f64> {
        match (self.baseline, self.now) {
            (Some(baseline), Some(now)) if baseline > 0 => Some(now as f64 / baseline as f64 - 1.0),
            _ => None,
        }
    }
}

/// Compares `now` with `baseline`, scenario by scenario (in `now`'s order, then the missing ones).
pub fn compare(baseline: &[(String, u64)], now: &[(String, u64)]) -> Vec<Compared> {
    let lookup = |counts: &[(String, u64)], name: &str| {
        counts
            .iter()
            .find(|(seen, _)| seen == name)
            .map(|&(_, count)| count)
    };
    let mut lines: Vec<Compared> = now
        .iter()
        .map(|(name, count)| {
            let base = lookup(baseline, name);
            let mut line = Compared {
                name: name.clone(),
                baseline: base,
                now: Some(*count),
                change: Change::New,
            };
            if let Some(base) = base {
                // In integers, so that exactly +10% is still within bounds.
                let (now, base) = (u128::from(*count) * 100, u128::from(base));
                line.change = if now > base * u128::from(100 + MAX_GROWTH_PERCENT) {
                    Change::Grew
                } else if now < base * u128::from(100 - MAX_GROWTH_PERCENT) {
                    Change::Shrank
                } else {
                    Change::Ok
                };
            }
            line
        })
        .collect();
    for (name, count) in baseline {
        if lookup(now, name).is_none() {
            lines.push(Compared {
                name: name.clone(),
                baseline: Some(*count),
                now: None,
                change: Change::Missing,
            });
        }
    }
    lines
}

/// The comparison as a table: every row with baseline, now, change and verdict.
pub fn comparison_table(lines: &[Compared]) -> String {
    let header = ["scenario", "baseline", "now", "change", "result"].map(str::to_owned);
    let rows: Vec<[String; 5]> = lines
        .iter()
        .map(|line| {
            let count = |value: Option<u64>| value.map_or_else(|| "-".to_owned(), |v| v.to_string());
            [
                line.name.clone(),
                count(line.baseline),
                count(line.now),
                line.growth()
                    .map_or_else(|| "-".to_owned(), |growth| format!("{:+.2}%", growth * 100.0)),
                match line.change {
                    Change::Ok => "ok",
                    Change::Grew => "FAIL: grew more than 10%",
                    Change::Shrank => "ok: shrank more than 10%, lower the baseline",
                    Change::New => "FAIL: not in the baseline",
                    Change::Missing => "FAIL: no longer measured",
                }
                .to_owned(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        out.push('|');
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            // Names and verdicts left-aligned, numbers right-aligned.
            if index == 0 || index == 4 {
                let _ = write!(out, " {cell:<width$} |");
            } else {
                let _ = write!(out, " {cell:>width$} |");
            }
        }
        out.push('\n');
        if std::ptr::eq(row, &header) {
            out.push('|');
            for width in widths {
                let _ = write!(out, "{}|", "-".repeat(width + 2));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> Counts {
        pairs
            .iter()
            .map(|&(name, count)| (name.to_owned(), count))
            .collect()
    }

    #[test]
    fn baseline_files_round_trip_and_reject_garbage() {
        let written = counts(&[("mint", 120_000), ("key_parse", 900)]);
        let text = format_baseline(&written);
        assert!(text.contains("--update"));
        assert_eq!(parse_baseline(&text), Ok(written));
        assert!(parse_baseline("mint\n").is_err());
        assert!(parse_baseline("mint twelve\n").is_err());
        assert!(parse_baseline("mint 1 2\n").is_err());
        assert!(parse_baseline("mint 1\nmint 2\n").unwrap_err().contains("twice"));
    }

    #[test]
    fn callgrind_summary_is_read() {
        let output = "version: 1\ncmd: x\nevents: Ir\nfn=(1) main\n5 10\nsummary: 123456\ntotals: 123456\n";
        assert_eq!(callgrind_total(output), Some(123_456));
        assert_eq!(callgrind_total("totals: 77\n"), Some(77));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }

    #[test]
    fn growth_past_ten_percent_fails_and_every_row_is_printed() {
        let baseline = counts(&[("a", 1000), ("b", 1000), ("c", 1000), ("gone", 5)]);
        let now = counts(&[("a", 1100), ("b", 1101), ("c", 800), ("fresh", 9)]);
        let lines = compare(&baseline, &now);
        let changes: Vec<Change> = lines.iter().map(|line| line.change).collect();
        assert_eq!(
            changes,
            vec![
                Change::Ok,
                Change::Grew,
                Change::Shrank,
                Change::New,
                Change::Missing
            ]
        );
        let failing: Vec<&str> = lines
            .iter()
            .filter(|line| line.fails())
            .map(|line| line.name.as_str())
            .collect();
        assert_eq!(failing, vec!["b", "fresh", "gone"]);
        let table = comparison_table(&lines);
        for expected in ["+10.00%", "+10.10%", "-20.00%", "FAIL: grew", "| gone"] {
            assert!(table.contains(expected), "{expected} in\n{table}");
        }
        assert_eq!(table.lines().count(), 2 + lines.len());
    }
}
