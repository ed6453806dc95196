//! How numbers, money, changes and periods read in answers: full won with thousands
//! separators (`₩1,234,500`; 만/억 are for chart axes only), changes as `▲ 12.3%` / `▼ 4.0%`.

use chrono::{Datelike, NaiveDate, Weekday};

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Won in full: `₩1,234,500`, `-₩3,000` for a net refund.
pub fn won(n: i64) -> String {
    let abs = int(i64::try_from(n.unsigned_abs()).unwrap_or(i64::MAX));
    if n < 0 {
        format!("-₩{abs}")
    } else {
        format!("₩{abs}")
    }
}

/// The change from `previous` to `current` to a tenth of a percent, rounded half away from
/// zero: `▲ 12.3%`, `▼ 4.0%`, `0.0%` when equal, and `–` when there is nothing to compare
/// with (a previous of zero or less).
pub fn change(current: i64, previous: i64) -> String {
    if previous <= 0 {
        return "–".to_owned();
    }
    let (c, p) = (i128::from(current), i128::from(previous));
    // Tenths of a percent: (c - p) / p * 1000, rounded half away from zero.
    let num = (c - p) * 1000;
    let tenths = (num.abs() * 2 + p) / (2 * p);
    let text = format!("{}.{}%", tenths / 10, tenths % 10);
    match (c - p).signum() {
        1 if tenths > 0 => format!("▲ {text}"),
        -1 if tenths > 0 => format!("▼ {text}"),
        _ => "0.0%".to_owned(),
    }
}

/// `value / n` rounded half up, 0 for no orders: the service's average order value.
pub fn average(value: i64, n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let (q, r) = (value.div_euclid(n), value.rem_euclid(n));
    q + i64::from(r * 2 >= n)
}

/// A Seoul day with its weekday: `2026-12-01 (화)`.
pub fn day(d: NaiveDate) -> String {
    format!("{} ({})", d.format("%Y-%m-%d"), weekday_ko(d.weekday()))
}

/// A range of days: one day alone, or `2026-11-30 ~ 2026-12-06`.
pub fn range(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        day(from)
    } else {
        format!("{} ~ {}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"))
    }
}

/// Korean short weekday names.
pub fn weekday_ko(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "월",
        Weekday::Tue => "화",
        Weekday::Wed => "수",
        Weekday::Thu => "목",
        Weekday::Fri => "금",
        Weekday::Sat => "토",
        Weekday::Sun => "일",
    }
}

/// Text that is safe inside Slack mrkdwn: `&`, `<` and `>` escaped as Slack asks, so names
/// from the shop can't ping `<!channel>` or forge links.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_has_thousands_separators() {
        assert_eq!(won(0), "₩0");
        assert_eq!(won(999), "₩999");
        assert_eq!(won(1000), "₩1,000");
        assert_eq!(won(1_234_500), "₩1,234,500");
        assert_eq!(won(123_456_789_012), "₩123,456,789,012");
        assert_eq!(won(-3000), "-₩3,000");
        assert_eq!(won(i64::MIN), "-₩9,223,372,036,854,775,807");
        assert_eq!(int(-1_000_000), "-1,000,000");
    }

    #[test]
    fn changes_show_direction_to_a_tenth_of_a_percent() {
        assert_eq!(change(1123, 1000), "▲ 12.3%");
        assert_eq!(change(960, 1000), "▼ 4.0%");
        assert_eq!(change(1000, 1000), "0.0%");
        assert_eq!(change(500, 0), "–");
        assert_eq!(change(0, 0), "–");
        assert_eq!(change(10, -5), "–");
        assert_eq!(change(0, 1000), "▼ 100.0%");
        assert_eq!(change(3000, 1000), "▲ 200.0%");
        // Half away from zero: 0.05% → 0.1%; below 0.05% the change reads as none.
        assert_eq!(change(20_010, 20_000), "▲ 0.1%");
        assert_eq!(change(19_990, 20_000), "▼ 0.1%");
        assert_eq!(change(100_004, 100_000), "0.0%");
        assert_eq!(change(2, 3), "▼ 33.3%");
        assert_eq!(change(i64::MAX, 1), format!("▲ {}.0%", i128::from(i64::MAX - 1) * 100));
    }

    #[test]
    fn averages_round_half_up_like_the_service() {
        assert_eq!(average(10, 4), 3);
        assert_eq!(average(9, 4), 2);
        assert_eq!(average(100, 0), 0);
    }

    #[test]
    fn days_and_ranges_read_in_korean() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("a date");
        assert_eq!(day(d("2026-12-01")), "2026-12-01 (화)");
        assert_eq!(range(d("2026-12-01"), d("2026-12-01")), "2026-12-01 (화)");
        assert_eq!(range(d("2026-11-30"), d("2026-12-06")), "2026-11-30 ~ 2026-12-06");
        assert_eq!(escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
