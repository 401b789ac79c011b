//! The report table, as text.

use std::fmt::Write as _;

use crate::row::{Row, Target, Unit, Verdict};

/// A figure with a readable unit.
pub fn format_value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Bytes => format!("{value:.0} B"),
        Unit::Time if value < 1_000.0 => format!("{value:.0} ns"),
        Unit::Time if value < 1_000_000.0 => format!("{:.2} µs", value / 1_000.0),
        Unit::Time => format!("{:.2} ms", value / 1_000_000.0),
    }
}

fn format_target(target: Target) -> String {
    match target {
        Target::RatioAtMost(max) => format!("<= {max:.2}x"),
        Target::SpeedupAtLeast(min) => format!(">= {min:.2}x"),
        Target::RatioWithin(low, high) => format!("{low:.3}x ..= {high:.3}x"),
        Target::BytesAtMost(max) => format!("<= {}", format_value(max, Unit::Bytes)),
        Target::Report => "report".to_owned(),
        Target::SpeedupReport => "report (speed-up)".to_owned(),
    }
}

/// The cells of one row.
fn cells(row: &Row) -> [String; 8] {
    let (baseline_name, baseline_value) = match &row.baseline {
        Some(baseline) => (baseline.name.clone(), format_value(baseline.median, row.unit)),
        None => ("-".to_owned(), "-".to_owned()),
    };
    let (ratio, spread) = match row.spread() {
        Some(spread) => (
            format!("{:.4}x", spread.median),
            format!("{:.4} - {:.4}", spread.q1, spread.q3),
        ),
        None => ("-".to_owned(), "-".to_owned()),
    };
    [
        row.scenario.clone(),
        format_value(row.figure, row.unit),
        baseline_name,
        baseline_value,
        ratio,
        spread,
        format_target(row.target),
        row.verdict().label().to_owned(),
    ]
}

/// The report table: scenario, figure median, baseline, baseline median, median ratio, the
/// interquartile range of the per-pair ratios, target and verdict; then a count of verdicts.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "scenario",
        "median",
        "baseline",
        "baseline median",
        "ratio",
        "ratio IQR",
        "target",
        "result",
    ];
    let lines: Vec<[String; 8]> = rows.iter().map(cells).collect();
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
    let count = |verdict| rows.iter().filter(|row| row.verdict() == verdict).count();
    let _ = writeln!(
        out,
        "\n{} pass, {} FAIL, {} noisy (the target lies inside the ratio IQR), {} report-only",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Noisy),
        count(Verdict::Report)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_ratio_spread_and_verdict() {
        let rows = [
            Row::paired(
                "exchange",
                &[130.0, 120.0, 140.0],
                ("sign", &[100.0, 100.0, 100.0]),
                Target::RatioAtMost(1.35),
            ),
            Row::size("size", 900.0, Target::BytesAtMost(2048.0)),
        ];
        let text = table(&rows);
        assert!(text.contains("| 1.3000x "), "{text}");
        assert!(text.contains("1.2500 - 1.3500"), "{text}");
        assert!(text.contains("| pass "), "{text}");
        assert!(text.contains("900 B"), "{text}");
        assert!(text.contains("2 pass, 0 FAIL, 0 noisy"), "{text}");
        let widths: Vec<usize> = text.lines().take(4).map(|line| line.chars().count()).collect();
        assert!(widths.windows(2).all(|pair| pair[0] == pair[1]), "{text}");
    }
}
