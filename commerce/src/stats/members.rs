//! Member statistics: sign-ups, buyers, first-time and repeat buyers per period, and the
//! member base as it is now (owns `member_periods`, `orders.prev_paid_at`).
//!
//! No distinct buyers are counted at read time. Each member's paid order knows its place in
//! its customer's sequence (`customer_seq`, kept by [`super::rollup`]) and when the
//! previous one was paid (`prev_paid_at`). Then, for a period (or a range) P:
//! - its buyers are its orders whose previous one fell before P, or that have none;
//! - its first-time buyers are its orders with `customer_seq = 1`;
//! - its repeat buyers are its orders with `customer_seq >= 2` whose previous one was the
//!   customer's first purchase (`customer_seq = 2`) or fell before P.
//!
//! `member_periods` keeps those counts per day, ISO week and month, added to in the
//! transaction that pays; a range's totals apply the same rule to its orders in one
//! index-only pass.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use sqlx::PgPool;

use super::{Granularity, check_range};
use crate::{
    Error, SHOP_TZ,
    staff::{Permission, Principal},
};

/// Member figures of a period or a range.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MemberFigures {
    /// Customers who signed up.
    pub sign_ups: i64,
    /// Members who paid for an order.
    pub buyers: i64,
    /// Members whose first paid order ever fell in it.
    pub first_time_buyers: i64,
    /// Buyers with at least two paid orders by its end (a first-time buyer who came back
    /// within it is both).
    pub repeat_buyers: i64,
    /// `repeat_buyers / buyers`, 0 without buyers.
    pub repeat_rate: f64,
}

/// One period of a member report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberRow {
    /// The first day of the period.
    pub period: NaiveDate,
    /// Its figures.
    pub figures: MemberFigures,
}

/// A member report: every period in range, and the range as a whole (buyers counted once).
#[derive(Clone, Debug, PartialEq)]
pub struct MemberReport {
    /// The rows, by period.
    pub rows: Vec<MemberRow>,
    /// The range.
    pub totals: MemberFigures,
}

/// Members over `from..=to` (Seoul days, both included). Guests are not members.
/// Errors: `FORBIDDEN`, `INVALID_INPUT` (range).
pub async fn member_report(
    pool: &PgPool,
    by: Principal,
    from: NaiveDate,
    to: NaiveDate,
    g: Granularity,
) -> Result<MemberReport, Error> {
    by.require(Permission::ReadReports, "read member reports")?;
    let periods = check_range(from, to, g)?;
    let (start, end) = (seoul_midnight(from)?, seoul_midnight(to + Days::new(1))?);
    let mut conn = pool.acquire().await?;
    let sign_ups = sqlx::query!(
        r#"SELECT date_trunc($1, created_day)::date AS "period!", sum(n)::int8 AS "n!"
             FROM (SELECT created_day, count(*) AS n FROM customers
                    WHERE created_day >= $2 AND created_day <= $3 GROUP BY 1) d
            GROUP BY 1"#,
        g.trunc(),
        from,
        to,
    )
    .fetch_all(&mut *conn)
    .await?;
    let kept = sqlx::query!(
        r#"SELECT period, buyers, first_time, repeat FROM member_periods
            WHERE granularity = $1 AND period >= $2 AND period <= $3"#,
        g.trunc(),
        from,
        to,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut buyers: HashMap<NaiveDate, Buyers> = kept
        .into_iter()
        .map(|r| (r.period, (r.buyers, r.first_time, r.repeat)))
        .collect();
    // A period the range cuts (its first or last) counts only its days in the range.
    for p in [periods.first(), periods.last()].into_iter().flatten() {
        let (lo, hi) = ((*p).max(from), g.next(*p).min(to + Days::new(1)));
        if (lo, hi) != (*p, g.next(*p)) {
            let counted = range_buyers(&mut conn, seoul_midnight(lo)?, seoul_midnight(hi)?).await?;
            buyers.insert(*p, counted);
        }
    }
    let totals = range_buyers(&mut conn, start, end).await?;
    drop(conn);
    let figures = |sign_ups: i64, (n, first, repeat): Buyers| MemberFigures {
        sign_ups,
        buyers: n,
        first_time_buyers: first,
        repeat_buyers: repeat,
        repeat_rate: rate(repeat, n),
    };
    Ok(MemberReport {
        rows: periods
            .iter()
            .map(|p| MemberRow {
                period: *p,
                figures: figures(
                    sign_ups.iter().filter(|r| r.period == *p).map(|r| r.n).sum(),
                    buyers.get(p).copied().unwrap_or_default(),
                ),
            })
            .collect(),
        totals: figures(sign_ups.iter().map(|r| r.n).sum(), totals),
    })
}

/// Buyers, first-time buyers and repeat buyers.
type Buyers = (i64, i64, i64);

/// The first moment of a Seoul day. Errors: `INVALID_INPUT` on `to` outside the calendar.
fn seoul_midnight(d: NaiveDate) -> Result<DateTime<Utc>, Error> {
    d.and_time(NaiveTime::MIN)
        .and_local_timezone(SHOP_TZ)
        .earliest()
        .map(|t| t.to_utc())
        .ok_or(Error::Invalid {
            field: "to",
            reason: "outside the calendar".into(),
        })
}

/// The module's rule over `[start, end)`, each buyer once: one index-only pass over the
/// members' orders paid in it.
async fn range_buyers(
    conn: &mut sqlx::PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Buyers, Error> {
    let r = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE prev_paid_at IS NULL OR prev_paid_at < $1)::int8 AS "buyers!",
                  count(*) FILTER (WHERE customer_seq = 1)::int8 AS "first!",
                  count(*) FILTER (WHERE customer_seq >= 2 AND (customer_seq = 2 OR prev_paid_at < $1))::int8
                      AS "repeat!"
             FROM orders
            WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL AND paid_at >= $1 AND paid_at < $2"#,
        start,
        end,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.buyers, r.first, r.repeat))
}

/// Gives a just-paid member order its `prev_paid_at` and counts it in `member_periods`
/// (day, week, month), inside the transaction that pays it, after
/// [`super::rollup::record_paid`] has given it its `customer_seq`. A guest's order counts
/// nowhere. Errors: only faults.
pub(crate) async fn record_paid(conn: &mut sqlx::PgConnection, id: crate::ids::OrderId) -> Result<(), Error> {
    sqlx::query!(
        "WITH o AS (
             UPDATE orders o SET prev_paid_at = (
                        SELECT p.paid_at FROM orders p
                         WHERE p.customer_id = o.customer_id AND p.customer_seq = o.customer_seq - 1)
              WHERE o.id = $1 AND o.customer_id IS NOT NULL AND o.customer_seq IS NOT NULL AND o.paid_at IS NOT NULL
             RETURNING (o.paid_at AT TIME ZONE 'Asia/Seoul')::date AS d,
                       (o.prev_paid_at AT TIME ZONE 'Asia/Seoul')::date AS pd, o.customer_seq AS s),
         c AS (
             SELECT g, date_trunc(g, o.d)::date AS p, o.pd, o.s
               FROM o, (VALUES ('day'), ('week'), ('month')) AS gs (g))
         INSERT INTO member_periods (granularity, period, buyers, first_time, repeat)
         SELECT g, p, (pd IS NULL OR date_trunc(g, pd) < p)::int, (s = 1)::int,
                (s >= 2 AND (s = 2 OR date_trunc(g, pd) < p))::int
           FROM c
         ON CONFLICT (granularity, period) DO UPDATE
            SET buyers = member_periods.buyers + EXCLUDED.buyers,
                first_time = member_periods.first_time + EXCLUDED.first_time,
                repeat = member_periods.repeat + EXCLUDED.repeat",
        id as crate::ids::OrderId,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recomputes `prev_paid_at` and `member_periods` from the orders, inside the statistics
/// rebuild (after it has sequenced every customer's paid orders). Errors: only faults.
pub(crate) async fn rebuild(conn: &mut sqlx::PgConnection) -> Result<(), Error> {
    sqlx::query!(
        "WITH prev AS (
             SELECT id, lag(paid_at) OVER (PARTITION BY customer_id ORDER BY customer_seq) AS p
               FROM orders WHERE customer_id IS NOT NULL AND customer_seq IS NOT NULL AND paid_at IS NOT NULL)
         UPDATE orders o SET prev_paid_at = prev.p FROM prev
          WHERE prev.id = o.id AND o.prev_paid_at IS DISTINCT FROM prev.p"
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM member_periods").execute(&mut *conn).await?;
    sqlx::query!(
        "INSERT INTO member_periods (granularity, period, buyers, first_time, repeat)
         SELECT g, p,
                count(*) FILTER (WHERE pd IS NULL OR date_trunc(g, pd) < p),
                count(*) FILTER (WHERE s = 1),
                count(*) FILTER (WHERE s >= 2 AND (s = 2 OR date_trunc(g, pd) < p))
           FROM (SELECT g, date_trunc(g, (paid_at AT TIME ZONE 'Asia/Seoul')::date)::date AS p,
                        (prev_paid_at AT TIME ZONE 'Asia/Seoul')::date AS pd, customer_seq AS s
                   FROM orders, (VALUES ('day'), ('week'), ('month')) AS gs (g)
                  WHERE customer_id IS NOT NULL AND customer_seq IS NOT NULL AND paid_at IS NOT NULL) o
          GROUP BY g, p"
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `part / whole`, four decimals, 0 for an empty whole.
#[allow(clippy::cast_precision_loss)] // counts of customers are far below 2^52
fn rate(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
}

/// The member base now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerStats {
    /// Customers.
    pub total: i64,
    /// Customers with at least one paid order.
    pub with_orders: i64,
    /// Who agreed to marketing e-mail.
    pub marketing_email: i64,
    /// Who agreed to marketing SMS.
    pub marketing_sms: i64,
    /// Customers per tier: every tier of `member_tiers`, lowest first (zeros included),
    /// then any other tier a customer still holds.
    pub by_tier: Vec<(String, i64)>,
}

/// Counts of the member base, from the signed rows the triggers on `customers` keep in
/// `customer_counts` (no scan of the customers), tiers in their order. Errors: `FORBIDDEN`.
pub async fn customer_stats(pool: &PgPool, by: Principal) -> Result<CustomerStats, Error> {
    by.require(Permission::ReadReports, "read member reports")?;
    let mut tx = pool.begin().await?;
    // One snapshot for the tiers and the counts.
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let all = sqlx::query!(
        r#"SELECT coalesce(sum(n), 0)::int8 AS "total!", coalesce(sum(n) FILTER (WHERE with_orders), 0)::int8 AS "with_orders!",
                  coalesce(sum(n) FILTER (WHERE marketing_email), 0)::int8 AS "email!",
                  coalesce(sum(n) FILTER (WHERE marketing_sms), 0)::int8 AS "sms!"
             FROM customer_counts"#
    )
    .fetch_one(&mut *tx)
    .await?;
    // Every tier the shop has, lowest first, then any other a customer still holds.
    let by_tier = sqlx::query!(
        r#"SELECT t.tier AS "tier!", coalesce(c.n, 0)::int8 AS "count!"
             FROM (SELECT code AS tier, position FROM member_tiers
                   UNION ALL SELECT DISTINCT tier, NULL::int4 FROM customer_counts
                    WHERE tier NOT IN (SELECT code FROM member_tiers)) t
             LEFT JOIN (SELECT tier, sum(n) AS n FROM customer_counts GROUP BY tier) c ON c.tier = t.tier
            WHERE t.position IS NOT NULL OR c.n <> 0
            ORDER BY t.position NULLS LAST, t.tier"#
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.tier, r.count))
    .collect();
    tx.commit().await?;
    Ok(CustomerStats {
        total: all.total,
        with_orders: all.with_orders,
        marketing_email: all.email,
        marketing_sms: all.sms,
        by_tier,
    })
}

/// Folds `customer_counts` into one row per key with a count; returns the rows left. Safe
/// beside writers and another compaction: a row is folded by whoever deleted it.
pub async fn compact_customer_counts(pool: &PgPool) -> Result<u64, Error> {
    let done = sqlx::query!(
        "WITH gone AS (DELETE FROM customer_counts RETURNING tier, with_orders, marketing_email, marketing_sms, n)
         INSERT INTO customer_counts (tier, with_orders, marketing_email, marketing_sms, n)
         SELECT tier, with_orders, marketing_email, marketing_sms, sum(n) FROM gone
          GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn rates_have_four_decimals() {
        assert!((rate(1, 3) - 0.3333).abs() < 1e-9);
        assert!(rate(5, 0).abs() < f64::EPSILON);
    }
}
