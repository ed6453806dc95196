//! One module per chart: `prepare` checks the caller's data, `Plot::plot` draws it.

pub(crate) mod channel_bars;
pub(crate) mod members;
pub(crate) mod sales_line;
pub(crate) mod top_bars;

use chrono::NaiveDate;

use crate::{Error, Granularity, format};

/// `series` has one value per period.
pub(crate) fn same_length<T>(series: &str, values: &[T], periods: &[NaiveDate]) -> Result<(), Error> {
    if values.len() == periods.len() {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            series: series.to_owned(),
            expected: periods.len(),
            found: values.len(),
        })
    }
}

/// `순매출 2026년 11월 1일 – 11월 30일`; the title alone without periods.
pub(crate) fn titled(title: &str, granularity: Granularity, periods: &[NaiveDate]) -> String {
    match (periods.first(), periods.last()) {
        (Some(&first), Some(&last)) => format!("{title} {}", format::range_label(granularity, first, last)),
        _ => title.to_owned(),
    }
}

/// Smallest and largest of `values`, `(0, 0)` for none.
pub(crate) fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((0.0, 0.0), |(lo, hi): (f64, f64), v| (lo.min(v), hi.max(v)))
}
