//! Sales and member statistics for staff (owns the reports; the rollups they read are
//! kept by [`rollup`]). Every day, week and month is a Seoul calendar period; weeks start on
//! Monday. A sale counts on the day its order was paid, a refund on the day it was made, an
//! order that was never paid never.

mod members;
pub mod rollup;

use std::collections::HashMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use members::{
    CustomerStats, MemberFigures, MemberReport, MemberRow, compact_customer_counts, customer_stats, member_report,
};
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
    pub(crate) fn next(self, p: NaiveDate) -> NaiveDate {
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

/// The rows a sales report may have, periods × keys (some 15 MB of JSON): a year by day of
/// 270 SKUs, or by week of 1,900.
pub const MAX_ROWS: usize = 100_000;

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

/// A report being summed: a column per key of the cut, a cell per period in each.
struct Grid<'p> {
    periods: &'p [NaiveDate],
    q: SalesQuery<'p>,
    /// Rollup key (a SKU, an id, a channel) → its column.
    index: HashMap<String, usize>,
    columns: Vec<Column>,
}

/// One key of a report: its name on the newest day it sold, and a cell per period.
struct Column {
    key: String,
    label: String,
    cells: Vec<SalesFigures>,
}

impl<'p> Grid<'p> {
    /// The grid of `periods`: with `GroupBy::None` its one column, with `Channel` one per
    /// channel asked for, otherwise a column per key as rows arrive.
    fn new(periods: &'p [NaiveDate], q: SalesQuery<'p>) -> Grid<'p> {
        let mut grid = Grid {
            periods,
            q,
            index: HashMap::new(),
            columns: Vec::new(),
        };
        match q.group_by {
            GroupBy::None => grid.push(String::new(), String::new()),
            GroupBy::Channel => {
                for (c, name) in CHANNELS {
                    if q.channel.is_none_or(|only| only == c) {
                        grid.push(c.to_owned(), name.to_owned());
                    }
                }
            }
            GroupBy::Category | GroupBy::Product | GroupBy::Sku => {}
        }
        grid
    }

    fn push(&mut self, key: String, label: String) {
        self.index.insert(key.clone(), self.columns.len());
        self.columns.push(Column {
            key,
            label,
            cells: vec![SalesFigures::default(); self.periods.len()],
        });
    }

    /// The column of `key`: with `None` and `Channel` one made at the start (`None` for any
    /// other key), else a new one named `label`. Errors: `INVALID_INPUT` past [`MAX_ROWS`].
    fn column(&mut self, key: String, label: Option<String>) -> Result<Option<usize>, Error> {
        if let Some(&c) = self.index.get(&key) {
            return Ok(Some(c));
        }
        if matches!(self.q.group_by, GroupBy::None | GroupBy::Channel) {
            return Ok(None);
        }
        if (self.columns.len() + 1) * self.periods.len() > MAX_ROWS {
            return Err(Error::Invalid {
                field: "groupBy",
                reason: format!(
                    "more than {MAX_ROWS} rows ({} periods × over {} keys): choose a shorter range or a longer \
                     granularity",
                    self.periods.len(),
                    self.columns.len()
                ),
            });
        }
        self.push(key, label.unwrap_or_default());
        Ok(Some(self.columns.len() - 1))
    }

    /// Adds the figures of `day` to column `c`.
    fn add(&mut self, c: usize, day: NaiveDate, figures: &SalesFigures) {
        let period = self.q.granularity.period_of(day);
        if let Ok(p) = self.periods.binary_search(&period) {
            self.columns[c].cells[p].add(figures);
        }
    }

    /// Every cell summed (`None` and `Channel` cuts count each order once).
    fn total(&self) -> SalesFigures {
        let mut t = SalesFigures::default();
        for cell in self.columns.iter().flat_map(|c| &c.cells) {
            t.add(cell);
        }
        t
    }

    /// The ids of the products or categories among the keys.
    fn ids(&self) -> Vec<Uuid> {
        self.columns.iter().filter_map(|c| c.key.parse().ok()).collect()
    }

    /// Every period × every key, zeros where nothing sold, by period then net sales (highest
    /// first) then key. `names`: slugs and names now, by id (products, categories).
    fn rows(self, names: Option<&HashMap<String, (String, String)>>) -> Vec<SalesRow> {
        // (client key, label) of each column.
        let shown: Vec<(Option<String>, Option<String>)> = self
            .columns
            .iter()
            .map(|c| match self.q.group_by {
                GroupBy::None => (None, None),
                GroupBy::Channel | GroupBy::Sku => (Some(c.key.clone()), Some(c.label.clone())),
                GroupBy::Product | GroupBy::Category => {
                    let known = names.and_then(|n| n.get(&c.key));
                    let label = match known {
                        Some((_, name)) => name.clone(),
                        None if c.key.is_empty() && self.q.group_by == GroupBy::Category => "미분류".to_owned(),
                        None => c.label.clone(),
                    };
                    (known.map(|(slug, _)| slug.clone()), Some(label))
                }
            })
            .collect();
        let mut rows = Vec::with_capacity(self.periods.len() * self.columns.len().max(1));
        for (p, period) in self.periods.iter().enumerate() {
            let first = rows.len();
            if self.columns.is_empty() {
                rows.push(SalesRow {
                    period: *period,
                    key: None,
                    label: None,
                    figures: SalesFigures::default(),
                });
            }
            for (c, (key, label)) in self.columns.iter().zip(&shown) {
                rows.push(SalesRow {
                    period: *period,
                    key: key.clone(),
                    label: label.clone(),
                    figures: c.cells[p],
                });
            }
            rows[first..].sort_unstable_by(|a, b| {
                b.figures
                    .net_sales
                    .cmp(&a.figures.net_sales)
                    .then_with(|| a.key.cmp(&b.key))
            });
        }
        rows
    }
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
    // The rollup rows of the range, read through the primary key and summed here into
    // periods: a year of days × SKUs is some 25,000 rows, which PostgreSQL sums (numeric
    // accumulators, a sort spilling past work_mem) several times slower than the grid.
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
    // A row per key (channel, with `Channel`) holding its days' figures as arrays (one
    // aggregate's arrays line up: PostgreSQL feeds each row to all of them in turn), and its
    // name on the newest day. Decoding 25,000 rows cost more than the rest of the report.
    let keys = sqlx::query!(
        r#"WITH k AS (
               SELECT CASE WHEN $5 THEN channel ELSE key END AS key, max(day) AS newest,
                      array_agg(day) AS days, array_agg(orders) AS orders, array_agg(units) AS units,
                      array_agg(gross) AS gross, array_agg(discounts) AS discounts,
                      array_agg(shipping - shipping_refunds) AS shipping, array_agg(refunds) AS refunds
                 FROM sales_rollups
                WHERE dim = $1 AND channel = ANY($2) AND day BETWEEN $3 AND $4
                GROUP BY 1)
           SELECT k.key AS "key!", r.label AS "label?", k.days AS "days!: Vec<NaiveDate>",
                  k.orders AS "orders!: Vec<i64>", k.units AS "units!: Vec<i64>", k.gross AS "gross!: Vec<i64>",
                  k.discounts AS "discounts!: Vec<i64>", k.shipping AS "shipping!: Vec<i64>",
                  k.refunds AS "refunds!: Vec<i64>"
             FROM k
             LEFT JOIN sales_rollups r ON r.dim = $1 AND r.channel = $2[1] AND r.day = k.newest AND r.key = k.key"#,
        dim,
        &channels as &[&str],
        q.from,
        q.to,
        q.group_by == GroupBy::Channel,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut grid = Grid::new(&periods, q);
    for k in keys {
        let n = k.days.len();
        if [&k.orders, &k.units, &k.gross, &k.discounts, &k.shipping, &k.refunds]
            .iter()
            .any(|a| a.len() != n)
        {
            return Err(Error::Fault {
                what: "sales_rollups",
                reason: format!("the arrays of key {} differ in length", k.key),
            });
        }
        let Some(c) = grid.column(k.key, k.label)? else {
            continue;
        };
        for (i, day) in k.days.iter().enumerate() {
            let figures = SalesFigures {
                orders: k.orders[i],
                units: k.units[i],
                gross_sales: k.gross[i],
                discounts: k.discounts[i],
                shipping_fees: k.shipping[i],
                refunds: k.refunds[i],
                net_sales: k.gross[i] - k.discounts[i] - k.refunds[i],
            };
            grid.add(c, *day, &figures);
        }
    }
    let totals = if matches!(q.group_by, GroupBy::None | GroupBy::Channel) {
        grid.total()
    } else {
        totals(&mut conn, q).await?
    };
    let names = key_names(&mut conn, q.group_by, &grid).await?;
    drop(conn);
    Ok(SalesReport {
        rows: grid.rows(names.as_ref()),
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
    grid: &Grid<'_>,
) -> Result<Option<HashMap<String, (String, String)>>, Error> {
    let ids = grid.ids();
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
    fn a_report_has_at_most_max_rows() {
        let q = SalesQuery {
            from: d("2026-01-01"),
            to: d("2026-12-31"),
            granularity: Granularity::Day,
            group_by: GroupBy::Sku,
            channel: None,
        };
        let periods = q.granularity.periods(q.from, q.to);
        let mut grid = Grid::new(&periods, q);
        let fit = MAX_ROWS / periods.len();
        for i in 0..fit {
            assert_eq!(grid.column(format!("SKU-{i}"), None).ok().flatten(), Some(i));
        }
        assert_eq!(
            grid.column("SKU-0".into(), None).ok().flatten(),
            Some(0),
            "a known key is no new row"
        );
        let err = grid.column("ONE-MORE".into(), None).expect_err("past MAX_ROWS");
        assert_eq!(err.code(), crate::error::Code::InvalidInput);
        assert_eq!(grid.columns.len(), fit, "nothing allocated for it");
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
