//! Member statistics: sign-ups, buyers, first-time and repeat buyers per period, and the
//! member base as it is now. Read off `customers` and the members' paid orders, whose place
//! in their customer's sequence (`orders.customer_seq`) is kept by [`super::rollup`].

use chrono::{NaiveDate, NaiveTime};
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
    let start = from
        .and_time(NaiveTime::MIN)
        .and_local_timezone(SHOP_TZ)
        .earliest()
        .map(|t| t.to_utc());
    let end = to
        .succ_opt()
        .and_then(|d| d.and_time(NaiveTime::MIN).and_local_timezone(SHOP_TZ).earliest())
        .map(|t| t.to_utc());
    let (Some(start), Some(end)) = (start, end) else {
        return Err(Error::Invalid {
            field: "to",
            reason: "outside the calendar".into(),
        });
    };
    let mut conn = pool.acquire().await?;
    let sign_ups = sqlx::query!(
        r#"SELECT date_trunc($1, created_at AT TIME ZONE 'Asia/Seoul')::date AS "period!", count(*)::int8 AS "n!"
             FROM customers WHERE created_at >= $2 AND created_at < $3 GROUP BY 1"#,
        g.trunc(),
        start,
        end,
    )
    .fetch_all(&mut *conn)
    .await?;
    // The totals row (period NULL) counts each buyer once over the whole range.
    let buyers = sqlx::query!(
        r#"SELECT date_trunc($1, paid_at AT TIME ZONE 'Asia/Seoul')::date AS period,
                  count(DISTINCT customer_id)::int8 AS "buyers!",
                  count(*) FILTER (WHERE customer_seq = 1)::int8 AS "first!",
                  count(DISTINCT customer_id) FILTER (WHERE customer_seq >= 2)::int8 AS "repeat!"
             FROM orders
            WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL AND paid_at >= $2 AND paid_at < $3
            GROUP BY GROUPING SETS ((1), ())"#,
        g.trunc(),
        start,
        end,
    )
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    let figures = |period: Option<NaiveDate>| {
        let sign_ups = match period {
            Some(p) => sign_ups.iter().filter(|r| r.period == p).map(|r| r.n).sum(),
            None => sign_ups.iter().map(|r| r.n).sum(),
        };
        let b = buyers.iter().find(|r| r.period == period);
        let (n, first, repeat) = b.map_or((0, 0, 0), |r| (r.buyers, r.first, r.repeat));
        MemberFigures {
            sign_ups,
            buyers: n,
            first_time_buyers: first,
            repeat_buyers: repeat,
            repeat_rate: rate(repeat, n),
        }
    };
    Ok(MemberReport {
        rows: periods
            .iter()
            .map(|p| MemberRow {
                period: *p,
                figures: figures(Some(*p)),
            })
            .collect(),
        totals: figures(None),
    })
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
    /// Customers per tier, every tier listed (`BASIC`, `SILVER`, `GOLD`, `VIP`).
    pub by_tier: Vec<(String, i64)>,
}

/// The tiers, lowest first.
const TIERS: [&str; 4] = ["BASIC", "SILVER", "GOLD", "VIP"];

/// Counts of the member base, one statement. Errors: `FORBIDDEN`.
pub async fn customer_stats(pool: &PgPool, by: Principal) -> Result<CustomerStats, Error> {
    by.require(Permission::ReadReports, "read member reports")?;
    let rows = sqlx::query!(
        r#"SELECT tier AS "tier?", count(*)::int8 AS "total!", count(*) FILTER (WHERE paid_orders > 0)::int8 AS "with_orders!",
                  count(*) FILTER (WHERE marketing_email)::int8 AS "email!",
                  count(*) FILTER (WHERE marketing_sms)::int8 AS "sms!"
             FROM customers GROUP BY GROUPING SETS ((tier), ())"#
    )
    .fetch_all(pool)
    .await?;
    let all = rows.iter().find(|r| r.tier.is_none());
    let mut by_tier: Vec<(String, i64)> = TIERS
        .iter()
        .map(|t| {
            let n = rows
                .iter()
                .find(|r| r.tier.as_deref() == Some(t))
                .map_or(0, |r| r.total);
            ((*t).to_owned(), n)
        })
        .collect();
    // A tier a later release adds still shows.
    for r in &rows {
        if let Some(t) = &r.tier
            && !TIERS.contains(&t.as_str())
        {
            by_tier.push((t.clone(), r.total));
        }
    }
    Ok(CustomerStats {
        total: all.map_or(0, |r| r.total),
        with_orders: all.map_or(0, |r| r.with_orders),
        marketing_email: all.map_or(0, |r| r.email),
        marketing_sms: all.map_or(0, |r| r.sms),
        by_tier,
    })
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
