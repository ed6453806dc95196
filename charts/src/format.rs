//! Korean labels for money, counts, rates and dates; the Slack bot reuses them.

use chrono::{Datelike, NaiveDate};

use crate::Granularity;

const MAN: u64 = 10_000;
const EOK: u64 = 100_000_000;
const JO: u64 = 1_000_000_000_000;

/// Won as an axis label in 만/억/조 units: `9,000`, `1.5만`, `3,500만`, `1.2억`, `1조`, `-250만`.
///
/// Under 만 the number is written out. Above it, one decimal is kept while the whole part is
/// under 100 (`12.5억`) and dropped from there on (`3,512만`); a value that rounds up to the
/// next unit is written in it (`99,999,999` → `1억`).
pub fn won_axis(won: i64) -> String {
    let sign = if won < 0 { "-" } else { "" };
    let a = won.unsigned_abs();
    if a < MAN {
        return format!("{sign}{}", group(a));
    }
    let units = [(MAN, "만"), (EOK, "억"), (JO, "조")];
    let mut i = units.iter().rposition(|&(u, _)| a >= u).unwrap_or(0);
    // u128: `a * 10` can pass u64::MAX.
    let rounded = |unit: u64, per_unit: u128| (u128::from(a) * per_unit + u128::from(unit) / 2) / u128::from(unit);
    // 9,999.6만 is written 1억, not 10,000만.
    while i + 1 < units.len() && rounded(units[i].0, 1) >= 10_000 {
        i += 1;
    }
    let (unit, name) = units[i];
    let tenths = rounded(unit, 10);
    if tenths < 1_000 && tenths % 10 != 0 {
        format!("{sign}{}.{}{name}", tenths / 10, tenths % 10)
    } else {
        let whole = u64::try_from(rounded(unit, 1)).unwrap_or(u64::MAX);
        format!("{sign}{}{name}", group(whole))
    }
}

/// Won written out with the sign: `₩1,234,500`, `-₩12,000`.
pub fn won_full(won: i64) -> String {
    let sign = if won < 0 { "-" } else { "" };
    format!("{sign}₩{}", group(won.unsigned_abs()))
}

/// A count on an axis: the same units as [`won_axis`] (`850`, `1,200`, `1.5만`).
pub fn count_axis(n: i64) -> String {
    won_axis(n)
}

/// A rate (`0.0..=1.0`) as whole percent: `0.25` → `25%`; fractions of a percent keep one
/// decimal (`0.125` → `12.5%`).
pub fn percent(rate: f64) -> String {
    let text = format!("{:.1}", rate * 100.0);
    format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
}

/// `11월 24일`.
pub fn day_label(d: NaiveDate) -> String {
    format!("{}월 {}일", d.month(), d.day())
}

/// `11월 4주`: the month of the week's Monday and which Monday of that month it is.
pub fn week_label(d: NaiveDate) -> String {
    let monday = week_monday(d);
    format!("{}월 {}주", monday.month(), week_of_month(monday))
}

/// `11월`.
pub fn month_label(d: NaiveDate) -> String {
    format!("{}월", d.month())
}

/// `2026년 11월`.
pub fn year_month_label(d: NaiveDate) -> String {
    format!("{}년 {}월", d.year(), d.month())
}

/// The label of one period without its year: [`day_label`], [`week_label`] or [`month_label`].
pub fn period_label(granularity: Granularity, d: NaiveDate) -> String {
    match granularity {
        Granularity::Day => day_label(d),
        Granularity::Week => week_label(d),
        Granularity::Month => month_label(d),
    }
}

/// The span of a chart for its title, the year written once unless the span crosses one:
/// `2026년 11월 1일 – 11월 30일`, `2025년 12월 5주 – 2026년 1월 2주`, `2026년 9월 – 11월`,
/// or a single period (`2026년 11월 24일`).
pub fn range_label(granularity: Granularity, first: NaiveDate, last: NaiveDate) -> String {
    let year_of = |d: NaiveDate| match granularity {
        Granularity::Week => week_monday(d).year(),
        Granularity::Day | Granularity::Month => d.year(),
    };
    let start = format!("{}년 {}", year_of(first), period_label(granularity, first));
    if period_label(granularity, first) == period_label(granularity, last) && year_of(first) == year_of(last) {
        return start;
    }
    let end = if year_of(first) == year_of(last) {
        period_label(granularity, last)
    } else {
        format!("{}년 {}", year_of(last), period_label(granularity, last))
    };
    format!("{start} – {end}")
}

fn week_monday(d: NaiveDate) -> NaiveDate {
    let back = chrono::Days::new(u64::from(d.weekday().num_days_from_monday()));
    // Only fails before the first representable date; that week has no Monday to name.
    d.checked_sub_days(back).unwrap_or(d)
}

fn week_of_month(monday: NaiveDate) -> u32 {
    (monday.day() - 1) / 7 + 1
}

/// `1234567` → `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn won_axis_writes_small_amounts_out() {
        assert_eq!(won_axis(0), "0");
        assert_eq!(won_axis(7), "7");
        assert_eq!(won_axis(9_000), "9,000");
        assert_eq!(won_axis(9_999), "9,999");
        assert_eq!(won_axis(-9_000), "-9,000");
    }

    #[test]
    fn won_axis_uses_man_eok_jo() {
        assert_eq!(won_axis(10_000), "1만");
        assert_eq!(won_axis(15_000), "1.5만");
        assert_eq!(won_axis(125_000), "12.5만");
        assert_eq!(won_axis(1_500_000), "150만");
        assert_eq!(won_axis(35_000_000), "3,500만");
        assert_eq!(won_axis(35_123_456), "3,512만");
        assert_eq!(won_axis(35_125_000), "3,513만");
        assert_eq!(won_axis(120_000_000), "1.2억");
        assert_eq!(won_axis(123_456_789), "1.2억");
        assert_eq!(won_axis(1_250_000_000), "12.5억");
        assert_eq!(won_axis(350_000_000_000), "3,500억");
        assert_eq!(won_axis(1_000_000_000_000), "1조");
        assert_eq!(won_axis(-25_000_000), "-2,500만");
    }

    #[test]
    fn won_axis_rounds_up_into_the_next_unit() {
        assert_eq!(won_axis(99_999_999), "1억");
        assert_eq!(won_axis(99_995_000), "1억");
        assert_eq!(won_axis(99_960_000), "9,996만");
        assert_eq!(won_axis(35_124_999), "3,512만");
        assert_eq!(won_axis(999_999_999_999), "1조");
    }

    #[test]
    fn won_axis_survives_the_extremes() {
        assert_eq!(won_axis(i64::MAX), "9,223,372조");
        assert_eq!(won_axis(i64::MIN), "-9,223,372조");
    }

    #[test]
    fn won_full_writes_every_digit() {
        assert_eq!(won_full(1_234_500), "₩1,234,500");
        assert_eq!(won_full(0), "₩0");
        assert_eq!(won_full(-12_000), "-₩12,000");
        assert_eq!(won_full(i64::MIN), "-₩9,223,372,036,854,775,808");
    }

    #[test]
    fn percent_keeps_a_decimal_only_when_needed() {
        assert_eq!(percent(0.25), "25%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.125), "12.5%");
    }

    #[test]
    fn dates_read_in_korean() {
        assert_eq!(day_label(date(2026, 11, 24)), "11월 24일");
        assert_eq!(month_label(date(2026, 11, 1)), "11월");
        assert_eq!(year_month_label(date(2026, 11, 1)), "2026년 11월");
    }

    #[test]
    fn a_week_is_named_by_its_monday() {
        // 2026-11-23 is the fourth Monday of November 2026.
        assert_eq!(week_label(date(2026, 11, 23)), "11월 4주");
        assert_eq!(week_label(date(2026, 11, 29)), "11월 4주"); // its Sunday
        assert_eq!(week_label(date(2026, 11, 2)), "11월 1주");
        // 2026-12-28 (ISO week 53) and 2027-01-01, a Friday of the same week.
        assert_eq!(week_label(date(2026, 12, 28)), "12월 4주");
        assert_eq!(week_label(date(2027, 1, 1)), "12월 4주");
        assert_eq!(week_label(date(2026, 6, 29)), "6월 5주");
    }

    #[test]
    fn ranges_name_the_year_once() {
        let day = Granularity::Day;
        assert_eq!(
            range_label(day, date(2026, 11, 1), date(2026, 11, 30)),
            "2026년 11월 1일 – 11월 30일"
        );
        assert_eq!(
            range_label(day, date(2025, 12, 29), date(2026, 1, 4)),
            "2025년 12월 29일 – 2026년 1월 4일"
        );
        assert_eq!(
            range_label(day, date(2026, 11, 24), date(2026, 11, 24)),
            "2026년 11월 24일"
        );
        let week = Granularity::Week;
        assert_eq!(
            range_label(week, date(2026, 11, 2), date(2026, 11, 23)),
            "2026년 11월 1주 – 11월 4주"
        );
        assert_eq!(
            range_label(week, date(2027, 1, 1), date(2027, 1, 11)),
            "2026년 12월 4주 – 2027년 1월 2주"
        );
        let month = Granularity::Month;
        assert_eq!(
            range_label(month, date(2026, 9, 1), date(2026, 11, 1)),
            "2026년 9월 – 11월"
        );
        assert_eq!(
            range_label(month, date(2025, 12, 1), date(2026, 2, 1)),
            "2025년 12월 – 2026년 2월"
        );
        assert_eq!(range_label(month, date(2026, 11, 1), date(2026, 11, 1)), "2026년 11월");
    }
}
