//! Sales and member statistics for staff (owns the reports; the rollups they read are
//! kept by [`rollup`]). Every day, week and month is a Seoul calendar period; weeks start on
//! Monday. A sale counts on the day its order was paid, a refund on the day it was made, an
//! order that was never paid never.

mod members;
pub mod rollup;

use std::collections::{BTreeMap, HashMap, hash_map::Entry};

use chrono::{Datelike, Days, Months, NaiveDate};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use members::{CustomerStats, MemberFigures, MemberReport, MemberRow, customer_stats, member_report};
pub use rollup::{Rebuilt, allocate, rebuild, rebuild_if_needed};

use crate::{
    Error,
    staff::{Permission, Principal},
};

/// The length of a report's periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// Seoul calendar days.
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
}

impl Granularity {
    /// The first day of the period holding `d`.
    pub fn period_of(self, d: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => d,
            Granularity::Week => d - Days::new(u64::from(d.weekday().num_days_from_monday())),
            Granularity::Month => d.with_day(1).unwrap_or(d),
        }
    }

    /// The first day of the period after the one starting at `p`.
    fn next(self, p: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => p + Days::new(1),
            Granularity::Week => p + Days::new(7),
            Granularity::Month => p + Months::new(1),
        }
    }

    /// PostgreSQL's `date_trunc` field for the period.
    fn trunc(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    /// The first days of every period that `from..=to` touches.
    pub fn periods(self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut p = self.period_of(from);
        while p <= to {
            out.push(p);
            p = self.next(p);
        }
        out
    }
}

/// The periods a report may span: three years of days.
pub const MAX_PERIODS: usize = 1_100;

/// Checks a report's range. Errors: `INVALID_INPUT` on `to` (before `from`, or more than
/// [`MAX_PERIODS`] periods).
fn check_range(from: NaiveDate, to: NaiveDate, g: Granularity) -> Result<Vec<NaiveDate>, Error> {
    if to < from {
        return Err(Error::Invalid {
            field: "to",
            reason: "the range ends before it starts".into(),
        });
    }
    if (to - from).num_days() > 3_660 {
        return Err(Error::Invalid {
            field: "to",
            reason: "at most ten years".into(),
        });
    }
    let periods = g.periods(from, to);
    if periods.len() > MAX_PERIODS {
        return Err(Error::Invalid {
            field: "to",
            reason: format!("at most {MAX_PERIODS} periods; choose a longer granularity"),
        });
    }
    Ok(periods)
}

/// How a sales report cuts each period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// One row per period.
    None,
    /// By the product's category (now).
    Category,
    /// By product.
    Product,
    /// By the SKU sold.
    Sku,
    /// By sales channel.
    Channel,
}

/// The sales channels, in the order reports list them, with their Korean names.
pub const CHANNELS: [(&str, &str); 4] = [
    ("PC_WEB", "PC 웹"),
    ("MOBILE_WEB", "모바일 웹"),
    ("APP", "앱"),
    ("EXTERNAL", "외부 채널"),
];

/// What a report asks for.
#[derive(Clone, Copy, Debug)]
pub struct SalesQuery<'a> {
    /// First Seoul day, included.
    pub from: NaiveDate,
    /// Last Seoul day, included.
    pub to: NaiveDate,
    /// Period length.
    pub granularity: Granularity,
    /// The cut.
    pub group_by: GroupBy,
    /// Only this channel (`PC_WEB`, `MOBILE_WEB`, `APP`, `EXTERNAL`).
    pub channel: Option<&'a str>,
}

/// Sales figures of a period, a cut or a whole report. Amounts in won; `net_sales` and
/// `shipping_fees` can be negative on a day of refunds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SalesFigures {
    /// Orders paid.
    pub orders: i64,
    /// Units sold (gifts are not sales).
    pub units: i64,
    /// Goods at their prices.
    pub gross_sales: i64,
    /// Coupon discounts.
    pub discounts: i64,
    /// Shipping fees charged, less those refunded.
    pub shipping_fees: i64,
    /// Refunds of goods (a refund is goods first; what exceeds the goods is shipping).
    pub refunds: i64,
    /// `gross_sales − discounts − refunds`.
    pub net_sales: i64,
}

impl SalesFigures {
    fn add(&mut self, o: &SalesFigures) {
        self.orders += o.orders;
        self.units += o.units;
        self.gross_sales += o.gross_sales;
        self.discounts += o.discounts;
        self.shipping_fees += o.shipping_fees;
        self.refunds += o.refunds;
        self.net_sales += o.net_sales;
    }
}

/// One row of a sales report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesRow {
    /// The first day of the period.
    pub period: NaiveDate,
    /// The category slug, product slug, SKU or channel; `None` for the whole period (and for
    /// sales without one: uncategorised products, deleted products).
    pub key: Option<String>,
    /// Its display name.
    pub label: Option<String>,
    /// The figures.
    pub figures: SalesFigures,
}

/// A sales report: a row for every period in range (and every key of the cut), zeros where
/// nothing sold, sorted by period then net sales (highest first); totals over the range.
#[derive(Clone, Debug)]
pub struct SalesReport {
    /// The rows.
    pub rows: Vec<SalesRow>,
    /// The whole range: orders counted once whatever the cut.
    pub totals: SalesFigures,
}

/// Aggregated rollup rows of one cut.
struct Aggregate {
    period: NaiveDate,
    key: String,
    label: String,
    figures: SalesFigures,
}

/// Sales over `from..=to`, cut as asked. Reads the rollups: a year is a few thousand rows.
/// Errors: `FORBIDDEN` (reports are for OWNER, MANAGER and BOT), `INVALID_INPUT` (range).
pub async fn sales_report(pool: &PgPool, by: Principal, q: SalesQuery<'_>) -> Result<SalesReport, Error> {
    by.require(Permission::ReadReports, "read sales reports")?;
    let periods = check_range(q.from, q.to, q.granularity)?;
    let dim = match q.group_by {
        GroupBy::None | GroupBy::Channel => "ALL",
        GroupBy::Category => "CATEGORY",
        GroupBy::Product => "PRODUCT",
        GroupBy::Sku => "SKU",
    };
    // The rollup rows of the range, read through the primary key and summed here: a year of
    // days × SKUs is some 25,000 rows, which PostgreSQL returns in milliseconds but sums
    // (numeric accumulators, a sort spilling past work_mem) several times slower than a map.
    let channels: Vec<&str> = if q.group_by == GroupBy::Channel {
        CHANNELS
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| q.channel.is_none_or(|only| only == *c))
            .collect()
    } else {
        vec![q.channel.unwrap_or("*")]
    };
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query!(
        r#"SELECT day, channel, key, label, orders, units, gross, discounts,
                  shipping - shipping_refunds AS "shipping!", refunds
             FROM sales_rollups
            WHERE dim = $1 AND channel = ANY($2) AND day BETWEEN $3 AND $4"#,
        dim,
        &channels as &[&str],
        q.from,
        q.to,
    )
    .fetch_all(&mut *conn)
    .await?;
    // (period, key) → the cell, and the day its label is from (the newest name wins).
    let mut cells: HashMap<(NaiveDate, String), (Aggregate, NaiveDate)> = HashMap::new();
    for r in rows {
        let period = q.granularity.period_of(r.day);
        let key = if q.group_by == GroupBy::Channel {
            r.channel
        } else {
            r.key
        };
        let figures = SalesFigures {
            orders: r.orders,
            units: r.units,
            gross_sales: r.gross,
            discounts: r.discounts,
            shipping_fees: r.shipping,
            refunds: r.refunds,
            net_sales: r.gross - r.discounts - r.refunds,
        };
        match cells.entry((period, key)) {
            Entry::Occupied(mut e) => {
                let (cell, labelled) = e.get_mut();
                cell.figures.add(&figures);
                if r.day > *labelled {
                    cell.label = r.label;
                    *labelled = r.day;
                }
            }
            Entry::Vacant(e) => {
                let key = e.key().1.clone();
                e.insert((
                    Aggregate {
                        period,
                        key,
                        label: r.label,
                        figures,
                    },
                    r.day,
                ));
            }
        }
    }
    let found: Vec<Aggregate> = cells.into_values().map(|(a, _)| a).collect();
    let totals = if matches!(q.group_by, GroupBy::None | GroupBy::Channel) {
        let mut t = SalesFigures::default();
        for a in &found {
            t.add(&a.figures);
        }
        t
    } else {
        totals(&mut conn, q).await?
    };
    let names = key_names(&mut conn, q.group_by, &found).await?;
    drop(conn);
    Ok(SalesReport {
        rows: dense_rows(&periods, q, &found, names.as_ref()),
        totals,
    })
}

/// The whole range of a report, each order once (the `ALL` rows).
async fn totals(conn: &mut PgConnection, q: SalesQuery<'_>) -> Result<SalesFigures, Error> {
    let t = sqlx::query!(
        r#"SELECT coalesce(sum(orders), 0)::int8 AS "orders!", coalesce(sum(units), 0)::int8 AS "units!",
                  coalesce(sum(gross), 0)::int8 AS "gross!", coalesce(sum(discounts), 0)::int8 AS "discounts!",
                  coalesce(sum(shipping - shipping_refunds), 0)::int8 AS "shipping!",
                  coalesce(sum(refunds), 0)::int8 AS "refunds!"
             FROM sales_rollups
            WHERE dim = 'ALL' AND day BETWEEN $1 AND $2 AND channel = coalesce($3, '*')"#,
        q.from,
        q.to,
        q.channel,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(SalesFigures {
        orders: t.orders,
        units: t.units,
        gross_sales: t.gross,
        discounts: t.discounts,
        shipping_fees: t.shipping,
        refunds: t.refunds,
        net_sales: t.gross - t.discounts - t.refunds,
    })
}

/// Keys as clients know them: slugs and names of the products or categories now.
async fn key_names(
    conn: &mut PgConnection,
    group_by: GroupBy,
    found: &[Aggregate],
) -> Result<Option<HashMap<String, (String, String)>>, Error> {
    let ids: Vec<Uuid> = found.iter().filter_map(|a| a.key.parse().ok()).collect();
    let names = match group_by {
        GroupBy::Product => sqlx::query!("SELECT id, slug, name FROM products WHERE id = ANY($1)", &ids)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id.to_string(), (r.slug, r.name)))
            .collect(),
        GroupBy::Category => sqlx::query!("SELECT id, slug, name FROM categories WHERE id = ANY($1)", &ids)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id.to_string(), (r.slug, r.name)))
            .collect(),
        _ => return Ok(None),
    };
    Ok(Some(names))
}

/// The report's rows: every period × every key of the cut, zeros where nothing sold.
fn dense_rows(
    periods: &[NaiveDate],
    q: SalesQuery<'_>,
    found: &[Aggregate],
    names: Option<&HashMap<String, (String, String)>>,
) -> Vec<SalesRow> {
    // key → (client key, label)
    let mut keys: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    match q.group_by {
        GroupBy::None => {
            keys.insert(String::new(), (None, None));
        }
        GroupBy::Channel => {
            for (c, name) in CHANNELS {
                if q.channel.is_none_or(|only| only == c) {
                    keys.insert(c.to_owned(), (Some(c.to_owned()), Some(name.to_owned())));
                }
            }
        }
        GroupBy::Sku => {
            for a in found {
                keys.insert(a.key.clone(), (Some(a.key.clone()), Some(a.label.clone())));
            }
        }
        GroupBy::Product | GroupBy::Category => {
            for a in found {
                let known = names.and_then(|n| n.get(&a.key));
                let label = match known {
                    Some((_, name)) => name.clone(),
                    None if a.key.is_empty() && q.group_by == GroupBy::Category => "미분류".to_owned(),
                    None => a.label.clone(),
                };
                keys.insert(a.key.clone(), (known.map(|(slug, _)| slug.clone()), Some(label)));
            }
        }
    }
    let mut by_cell: HashMap<(NaiveDate, &str), SalesFigures> = HashMap::with_capacity(found.len());
    for a in found {
        // `found` outlives the map: keys are borrowed from it.
        by_cell.insert((a.period, a.key.as_str()), a.figures);
    }
    let mut rows = Vec::with_capacity(periods.len() * keys.len().max(1));
    for p in periods {
        if keys.is_empty() {
            rows.push(SalesRow {
                period: *p,
                key: None,
                label: None,
                figures: SalesFigures::default(),
            });
        }
        for (k, (key, label)) in &keys {
            rows.push(SalesRow {
                period: *p,
                key: key.clone(),
                label: label.clone(),
                figures: by_cell.get(&(*p, k.as_str())).copied().unwrap_or_default(),
            });
        }
    }
    rows.sort_by(|a, b| {
        a.period
            .cmp(&b.period)
            .then(b.figures.net_sales.cmp(&a.figures.net_sales))
            .then(a.key.cmp(&b.key))
    });
    rows
}

/// A day's headline figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayFigures {
    /// Orders paid that day.
    pub orders: i64,
    /// Net sales that day.
    pub net_sales: i64,
    /// What an order paid that day was worth on average: goods after discounts, to the won.
    pub average_order_value: i64,
}

/// A product among a day's best sellers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopProduct {
    /// The product's slug (`None` when it was deleted).
    pub slug: Option<String>,
    /// Its name.
    pub name: String,
    /// Units sold that day.
    pub units: i64,
    /// Net sales that day.
    pub net_sales: i64,
}

/// What staff ask first: a day against the day before and the same weekday a week ago,
/// and its five best-selling products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesSummary {
    /// The Seoul day.
    pub date: NaiveDate,
    /// Its figures.
    pub day: DayFigures,
    /// The day before.
    pub previous_day: DayFigures,
    /// Seven days before.
    pub same_day_last_week: DayFigures,
    /// Up to five products by net sales.
    pub top_products: Vec<TopProduct>,
}

/// The summary of one Seoul day. Errors: `FORBIDDEN`.
pub async fn sales_summary(pool: &PgPool, by: Principal, date: NaiveDate) -> Result<SalesSummary, Error> {
    by.require(Permission::ReadReports, "read sales reports")?;
    let previous = date - Days::new(1);
    let last_week = date - Days::new(7);
    let mut conn = pool.acquire().await?;
    let days = sqlx::query!(
        r#"SELECT day, sum(orders)::int8 AS "orders!", sum(gross - discounts - refunds)::int8 AS "net!",
                  sum(gross - discounts)::int8 AS "value!"
             FROM sales_rollups WHERE dim = 'ALL' AND channel = '*' AND day = ANY($1) GROUP BY day"#,
        &[date, previous, last_week][..],
    )
    .fetch_all(&mut *conn)
    .await?;
    let figures = |d: NaiveDate| {
        days.iter()
            .find(|r| r.day == d)
            .map(|r| DayFigures {
                orders: r.orders,
                net_sales: r.net,
                average_order_value: average(r.value, r.orders),
            })
            .unwrap_or_default()
    };
    let top = sqlx::query!(
        r#"SELECT p.slug AS "slug?", coalesce(p.name, max(r.label)) AS "name!", sum(r.units)::int8 AS "units!",
                  sum(r.gross - r.discounts - r.refunds)::int8 AS "net!"
             FROM sales_rollups r LEFT JOIN products p ON p.id = nullif(r.key, '')::uuid
            WHERE r.dim = 'PRODUCT' AND r.day = $1 AND r.channel = '*'
            GROUP BY r.key, p.slug, p.name
           HAVING sum(r.units) > 0
            ORDER BY 4 DESC, 3 DESC, r.key
            LIMIT 5"#,
        date,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(SalesSummary {
        date,
        day: figures(date),
        previous_day: figures(previous),
        same_day_last_week: figures(last_week),
        top_products: top
            .into_iter()
            .map(|r| TopProduct {
                slug: r.slug,
                name: r.name,
                units: r.units,
                net_sales: r.net,
            })
            .collect(),
    })
}

/// `value / n` rounded half up, 0 for no orders.
fn average(value: i64, n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let (q, r) = (value.div_euclid(n), value.rem_euclid(n));
    q + i64::from(r * 2 >= n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn periods_start_on_the_day_the_monday_or_the_first() {
        assert_eq!(Granularity::Week.period_of(d("2026-11-29")), d("2026-11-23"));
        assert_eq!(Granularity::Week.period_of(d("2026-11-30")), d("2026-11-30"));
        assert_eq!(Granularity::Month.period_of(d("2026-02-28")), d("2026-02-01"));
        assert_eq!(
            Granularity::Week.periods(d("2026-11-25"), d("2026-12-08")),
            vec![d("2026-11-23"), d("2026-11-30"), d("2026-12-07")]
        );
        assert_eq!(Granularity::Month.periods(d("2025-12-31"), d("2026-02-01")).len(), 3);
        assert_eq!(Granularity::Day.periods(d("2024-01-01"), d("2024-12-31")).len(), 366);
    }

    #[test]
    fn a_range_is_checked() {
        assert!(check_range(d("2026-12-02"), d("2026-12-01"), Granularity::Day).is_err());
        assert!(check_range(d("2020-01-01"), d("2026-12-01"), Granularity::Day).is_err());
        assert!(check_range(d("2020-01-01"), d("2026-12-01"), Granularity::Month).is_ok());
    }

    #[test]
    fn averages_round_half_up() {
        assert_eq!(average(10, 4), 3);
        assert_eq!(average(9, 4), 2);
        assert_eq!(average(100, 0), 0);
    }
}
