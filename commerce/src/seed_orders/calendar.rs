//! Randomness and the calendar: a seeded generator, and how many orders each day gets.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use uuid::Uuid;

use super::OrderSeed;
use crate::SHOP_TZ;

/// SplitMix64: small, fast and good enough for test data; seeded, so runs repeat.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..hi` (seconds, won…).
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.f64() * (hi - lo) as f64) as i64
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// An index drawn by the weights of a cumulative table.
    pub(super) fn pick(&mut self, cumulative: &[f64]) -> usize {
        let x = self.f64() * cumulative.last().copied().unwrap_or(0.0);
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }

    /// A version 7 id for something made at `at`: time-ordered like `Uuid::now_v7`.
    pub(super) fn id_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.u64().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(at.timestamp_millis()).unwrap_or(0), &bytes).into_uuid()
    }
}

pub(super) fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

pub(super) fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

// ---------------------------------------------------------------------------------------
// The calendar

/// Orders per hour of a Seoul day: a lunch peak and a larger evening one.
pub(super) const HOURS: [f64; 24] = [
    3.0, 1.8, 1.0, 0.6, 0.5, 0.6, 1.2, 2.2, 3.2, 4.2, 5.0, 5.8, 7.0, 6.5, 5.2, 5.0, 4.8, 4.6, 4.6, 5.4, 6.6, 7.6, 7.2,
    5.2,
];

/// 설날 and 추석 (the day itself; the holiday is the day before to the day after).
#[rustfmt::skip]
pub(super) const HOLIDAYS: [(i32, u32, u32); 18] = [
    (2022, 2, 1), (2022, 9, 10), (2023, 1, 22), (2023, 9, 29), (2024, 2, 10), (2024, 9, 17),
    (2025, 1, 29), (2025, 10, 6), (2026, 2, 17), (2026, 9, 25), (2027, 2, 7), (2027, 9, 15),
    (2028, 1, 27), (2028, 10, 3), (2029, 2, 13), (2029, 9, 22), (2030, 2, 3), (2030, 9, 12),
];

/// How busy a Seoul calendar day is, before growth and noise.
pub(super) fn day_weight(d: NaiveDate) -> f64 {
    let weekday = match d.weekday() {
        Weekday::Mon => 1.22,
        Weekday::Tue => 1.12,
        Weekday::Wed => 1.07,
        Weekday::Thu => 1.03,
        Weekday::Fri => 0.95,
        Weekday::Sat => 0.78,
        Weekday::Sun => 0.88,
    };
    let month = [1.25, 0.98, 1.05, 1.0, 1.04, 0.95, 0.9, 0.88, 1.0, 0.97, 1.18, 1.12][d.month0() as usize];
    let mut w = weekday * month;
    // New year, new diet: the first three weeks of January.
    if d.month() == 1 && (2..=21).contains(&d.day()) {
        w *= 1.2;
    }
    for (y, m, day) in HOLIDAYS {
        let Some(h) = NaiveDate::from_ymd_opt(y, m, day) else {
            continue;
        };
        let before = (h - d).num_days();
        if (4..=14).contains(&before) {
            w *= 1.7; // gift sets, before the last delivery day
        } else if (-1..=3).contains(&before) {
            w *= 0.55; // couriers stop; families travel
        }
    }
    if d.month() == 11 {
        // 11.11 sales, and Black Friday (the fourth Friday) to Cyber Monday.
        let nov1 = NaiveDate::from_ymd_opt(d.year(), 11, 1).map_or(0, |f| f.weekday().num_days_from_monday());
        let fourth_friday = 1 + (4 + 7 - nov1) % 7 + 21;
        if d.day() == 11 {
            w *= 1.9;
        } else if d.day() == 10 || d.day() == 12 {
            w *= 1.2;
        } else if (fourth_friday..=fourth_friday + 3).contains(&d.day()) {
            w *= 1.5;
        }
    }
    if d.month() == 12 && (d.day() == 24 || d.day() == 25) || d.month() == 1 && d.day() == 1 {
        w *= 0.75;
    }
    w
}

/// One Seoul day of the period (the first and last may be partial).
pub(super) struct Day {
    pub(super) date: NaiveDate,
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
    pub(super) orders: u64,
}

/// The days of the period with the number of orders of each: `seed.orders` in all,
/// shared by the days' weights (calendar × growth × noise × the part of the day inside).
pub(super) fn plan_days(seed: OrderSeed, rng: &mut Rng) -> Vec<Day> {
    let start = seed.now - Duration::days(i64::from(seed.days));
    let (first, last) = (
        start.with_timezone(&SHOP_TZ).date_naive(),
        seed.now.with_timezone(&SHOP_TZ).date_naive(),
    );
    let midnight = |d: NaiveDate| {
        SHOP_TZ
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(start, |t| t.to_utc())
    };
    let mut days = Vec::new();
    let mut weights = Vec::new();
    let hours_total: f64 = HOURS.iter().sum();
    let mut d = first;
    while d <= last {
        let (day_start, day_end) = (midnight(d), midnight(d + Duration::days(1)));
        let (s, e) = (day_start.max(start), day_end.min(seed.now));
        // The share of the day's orders that falls inside the period.
        let mut inside = 0.0;
        for (h, w) in HOURS.iter().enumerate() {
            let hs = day_start + Duration::hours(h as i64);
            let overlap = (e.min(hs + Duration::hours(1)) - s.max(hs))
                .num_seconds()
                .clamp(0, 3600);
            inside += w * overlap as f64 / 3600.0;
        }
        let years = (d - first).num_days() as f64 / 365.0;
        let noise = 0.88 + 0.24 * rng.f64();
        weights.push(day_weight(d) * 1.3f64.powf(years) * noise * inside / hours_total);
        days.push(Day {
            date: d,
            start: s,
            end: e,
            orders: 0,
        });
        d += Duration::days(1);
    }
    // Largest remainder: the counts add up to the orders asked for.
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / total * seed.orders as f64).collect();
    let mut given = 0u64;
    for (day, x) in days.iter_mut().zip(&exact) {
        day.orders = x.floor() as u64;
        given += day.orders;
    }
    let mut order: Vec<usize> = (0..days.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for i in order
        .into_iter()
        .cycle()
        .take(seed.orders.saturating_sub(given) as usize)
    {
        days[i].orders += 1;
    }
    days
}
