//! The shop's schedules, in Seoul time. Each worker calls [`tick`] every few seconds; it
//! enqueues the latest period of every schedule under the key `schedule:{kind}:{period}`,
//! which the `jobs` table keeps unique: however many workers tick, a period is one job.
//! A period missed while no worker ran is caught up once (the latest one only).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use serde_json::json;
use sqlx::PgPool;

use super::{NewJob, enqueue, handlers};
use crate::{Error, SHOP_TZ, Settings};

/// When a schedule fires, in Seoul time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Every `n` minutes, on multiples of `n` past the hour.
    Minutes(u32),
    /// Every hour at this minute.
    Hour(u32),
    /// Every day at hour:minute.
    Day(u32, u32),
    /// Every month on the 1st at hour:minute.
    MonthStart(u32, u32),
}

/// One schedule: the job kind it enqueues and when.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// The job kind (see [`handlers::KINDS`]).
    pub kind: &'static str,
    /// When.
    pub every: Every,
}

/// The schedules that run for `settings` (the dormant-account policy only when switched on).
pub fn schedules(settings: &Settings) -> Vec<Schedule> {
    let mut all = vec![
        Schedule {
            kind: handlers::EXPIRE_UNPAID,
            every: Every::Minutes(1),
        },
        Schedule {
            kind: handlers::DAILY_SALES_REPORT,
            every: Every::Day(0, 5),
        },
        Schedule {
            kind: handlers::TRACK_SHIPMENTS,
            every: Every::Hour(0),
        },
        Schedule {
            kind: handlers::AUTO_COMPLETE,
            every: Every::Hour(20),
        },
        Schedule {
            kind: handlers::MEMBER_TIERS,
            every: Every::MonthStart(3, 0),
        },
        Schedule {
            kind: handlers::ABANDONED_CARTS,
            every: Every::Minutes(10),
        },
        Schedule {
            kind: handlers::REVIEW_REQUESTS,
            every: Every::Day(11, 0),
        },
        Schedule {
            kind: handlers::PRUNE_JOBS,
            every: Every::Day(4, 30),
        },
    ];
    if settings.customers.dormant.enabled {
        all.push(Schedule {
            kind: handlers::DORMANT_ACCOUNTS,
            every: Every::Day(4, 0),
        });
    }
    all
}

fn at(date: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN))
}

impl Every {
    /// The latest firing at or before `now` (Seoul wall time).
    pub fn latest(self, now: NaiveDateTime) -> NaiveDateTime {
        let today = now.date();
        match self {
            Every::Minutes(n) => {
                let n = n.max(1);
                let minute = now.minute() - now.minute() % n;
                at(today, now.hour(), minute)
            }
            Every::Hour(m) => {
                let this = at(today, now.hour(), m);
                if this <= now { this } else { this - Duration::hours(1) }
            }
            Every::Day(h, m) => {
                let this = at(today, h, m);
                if this <= now { this } else { this - Duration::days(1) }
            }
            Every::MonthStart(h, m) => {
                let first = today.with_day(1).unwrap_or(today);
                let this = at(first, h, m);
                if this <= now {
                    this
                } else {
                    let prev = (first - Duration::days(1)).with_day(1).unwrap_or(first);
                    at(prev, h, m)
                }
            }
        }
    }
}

/// A period's key part, e.g. `2026-12-03T00:05`.
fn period_key(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// Enqueues the latest period of every schedule that has no job yet; returns how many it
/// enqueued (0 when another worker was first).
pub async fn tick(pool: &PgPool, now: DateTime<Utc>, settings: &Settings) -> Result<usize, Error> {
    let local = now.with_timezone(&SHOP_TZ).naive_local();
    let mut conn = pool.acquire().await?;
    let mut enqueued = 0;
    for s in schedules(settings) {
        let period = s.every.latest(local);
        let period_utc = SHOP_TZ
            .from_local_datetime(&period)
            .earliest()
            .map_or(now, |t| t.with_timezone(&Utc));
        let job = NewJob::new(s.kind, json!({ "period": period_utc })).once(format!(
            "schedule:{}:{}",
            s.kind,
            period_key(period)
        ));
        if enqueue(&mut conn, job).await?.is_some() {
            enqueued += 1;
        }
    }
    Ok(enqueued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
    }

    #[test]
    fn each_schedule_fires_at_its_latest_period() {
        assert_eq!(Every::Minutes(1).latest(t("2026-12-03 10:07")), t("2026-12-03 10:07"));
        assert_eq!(Every::Minutes(10).latest(t("2026-12-03 10:07")), t("2026-12-03 10:00"));
        assert_eq!(Every::Hour(20).latest(t("2026-12-03 10:07")), t("2026-12-03 09:20"));
        assert_eq!(Every::Hour(0).latest(t("2026-12-03 10:07")), t("2026-12-03 10:00"));
        assert_eq!(Every::Day(0, 5).latest(t("2026-12-03 00:04")), t("2026-12-02 00:05"));
        assert_eq!(Every::Day(0, 5).latest(t("2026-12-03 00:05")), t("2026-12-03 00:05"));
        assert_eq!(
            Every::MonthStart(3, 0).latest(t("2026-12-01 02:59")),
            t("2026-11-01 03:00")
        );
        assert_eq!(
            Every::MonthStart(3, 0).latest(t("2026-12-01 03:00")),
            t("2026-12-01 03:00")
        );
        assert_eq!(
            Every::MonthStart(3, 0).latest(t("2027-01-01 01:00")),
            t("2026-12-01 03:00")
        );
    }
}
