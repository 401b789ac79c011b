//! Order statistics of a handful of samples: quartiles by linear interpolation.

/// The lower quartile, median and upper quartile of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The 25th percentile.
    pub q1: f64,
    /// The median (50th percentile).
    pub median: f64,
    /// The 75th percentile.
    pub q3: f64,
}

impl Spread {
    /// The quartiles of `values` (all 0 when empty). NaNs sort last, as [`f64::total_cmp`] does.
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            q1: quantile(&sorted, 0.25),
            median: quantile(&sorted, 0.5),
            q3: quantile(&sorted, 0.75),
        }
    }

    /// The interquartile range, `q3 - q1`.
    pub fn iqr(&self) -> f64 {
        self.q3 - self.q1
    }
}

/// The `q` quantile (0 ..= 1) of already sorted `sorted`, interpolating linearly between the two
/// nearest ranks (the "type 7" definition of R and NumPy); 0 when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let position = q.clamp(0.0, 1.0) * last as f64;
    // The rank at or below `position` (counted, to stay clear of float-to-int casts).
    let lower = (1..=last).filter(|&rank| rank as f64 <= position).count();
    let fraction = position - lower as f64;
    let upper = (lower + 1).min(last);
    sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

/// The median of `values` (the mean of the middle two for an even count; 0 when empty).
pub fn median(values: &[f64]) -> f64 {
    Spread::of(values).median
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert!((median(&[3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(&[4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < f64::EPSILON);
        assert!(median(&[]).abs() < f64::EPSILON);
    }

    #[test]
    fn quartiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 3, 4, 5, 6, 7, 8], [25, 50, 75]) == [2.75, 4.5, 6.25]
        let spread = Spread::of(&[8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0]);
        assert!((spread.q1 - 2.75).abs() < 1e-12, "{spread:?}");
        assert!((spread.median - 4.5).abs() < 1e-12, "{spread:?}");
        assert!((spread.q3 - 6.25).abs() < 1e-12, "{spread:?}");
        assert!((spread.iqr() - 3.5).abs() < 1e-12);
        let one = Spread::of(&[5.0]);
        assert_eq!((one.q1, one.median, one.q3), (5.0, 5.0, 5.0));
    }
}
