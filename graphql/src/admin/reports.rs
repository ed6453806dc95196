//! Admin statistics: sales and member reports (OWNER, MANAGER and the bot; CS is refused).

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::Utc;
use commerce::{SHOP_TZ, stats};
use sqlx::PgPool;

use super::context::Cx;
use crate::{
    error::GqlResult,
    flat::{self, FlatList, FlatObject, Writer},
    shared::{CustomerTier, Date, SalesChannel, Won},
};

/// The length of a report's periods (Seoul calendar; weeks start on Monday).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Granularity {
    /// Days.
    Day,
    /// ISO weeks; a period is its Monday.
    Week,
    /// Calendar months; a period is the 1st.
    Month,
}

impl From<Granularity> for stats::Granularity {
    fn from(g: Granularity) -> stats::Granularity {
        match g {
            Granularity::Day => stats::Granularity::Day,
            Granularity::Week => stats::Granularity::Week,
            Granularity::Month => stats::Granularity::Month,
        }
    }
}

/// How a sales report cuts each period.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SalesGroupBy {
    /// One row per period (`key` null).
    None,
    /// By category (`key` the category slug).
    Category,
    /// By product (`key` the product slug).
    Product,
    /// By SKU.
    Sku,
    /// By sales channel (`key` `PC_WEB`, `MOBILE_WEB`, `APP`, `EXTERNAL`).
    Channel,
}

impl From<SalesGroupBy> for stats::GroupBy {
    fn from(g: SalesGroupBy) -> stats::GroupBy {
        match g {
            SalesGroupBy::None => stats::GroupBy::None,
            SalesGroupBy::Category => stats::GroupBy::Category,
            SalesGroupBy::Product => stats::GroupBy::Product,
            SalesGroupBy::Sku => stats::GroupBy::Sku,
            SalesGroupBy::Channel => stats::GroupBy::Channel,
        }
    }
}

/// Sales figures. `netSales = grossSales − discounts − refunds`; shipping is apart.
#[derive(SimpleObject)]
pub struct SalesFigures {
    /// Orders paid.
    orders: i64,
    /// Units sold (free gifts are not sales).
    units: i64,
    /// Goods at their prices.
    gross_sales: Won,
    /// Coupon discounts.
    discounts: Won,
    /// Shipping fees charged, less shipping refunded.
    shipping_fees: Won,
    /// Refunds of goods: a refund counts as goods first; what exceeds the goods is shipping.
    refunds: Won,
    /// What the goods brought in.
    net_sales: Won,
}

impl From<stats::SalesFigures> for SalesFigures {
    fn from(f: stats::SalesFigures) -> SalesFigures {
        SalesFigures {
            orders: f.orders,
            units: f.units,
            gross_sales: Won(f.gross_sales),
            discounts: Won(f.discounts),
            shipping_fees: Won(f.shipping_fees),
            refunds: Won(f.refunds),
            net_sales: Won(f.net_sales),
        }
    }
}

/// One period (and key of the cut) of a sales report.
#[derive(SimpleObject)]
pub struct SalesReportRow {
    /// The first day of the period.
    period: Date,
    /// The category slug, product slug, SKU or channel; null with `groupBy: NONE` (and for
    /// uncategorised or deleted products).
    key: Option<String>,
    /// Its display name.
    label: Option<String>,
    /// Orders paid.
    orders: i64,
    /// Units sold.
    units: i64,
    /// Goods at their prices.
    gross_sales: Won,
    /// Coupon discounts.
    discounts: Won,
    /// Shipping fees charged, less shipping refunded.
    shipping_fees: Won,
    /// Refunds of goods.
    refunds: Won,
    /// `grossSales − discounts − refunds`.
    net_sales: Won,
}

/// A year by day and SKU is some 300,000 fields: written straight, with no value, string
/// copy or date text allocated for each.
impl FlatObject for SalesReportRow {
    type Data = SalesReportRow;

    fn data(&self) -> &SalesReportRow {
        self
    }

    fn writer(field: &async_graphql::Context<'_>) -> Option<Writer<SalesReportRow>> {
        type R = SalesReportRow;
        match field.item.node.name.node.as_str() {
            "period" => flat::quoted(|r: &R| r.period.0),
            "key" => flat::opt_text(|r: &R| r.key.as_deref()),
            "label" => flat::opt_text(|r: &R| r.label.as_deref()),
            "orders" => flat::scalar(|r: &R| r.orders),
            "units" => flat::scalar(|r: &R| r.units),
            "grossSales" => flat::scalar(|r: &R| r.gross_sales.0),
            "discounts" => flat::scalar(|r: &R| r.discounts.0),
            "shippingFees" => flat::scalar(|r: &R| r.shipping_fees.0),
            "refunds" => flat::scalar(|r: &R| r.refunds.0),
            "netSales" => flat::scalar(|r: &R| r.net_sales.0),
            _ => None,
        }
    }
}

/// Sales over a range: every period (and key) with zeros where nothing sold, by period,
/// then net sales highest first.
#[derive(SimpleObject)]
pub struct SalesReport {
    /// The rows.
    rows: FlatList<SalesReportRow>,
    /// The whole range (each order counted once, whatever the cut).
    totals: SalesFigures,
}

impl From<stats::SalesReport> for SalesReport {
    fn from(r: stats::SalesReport) -> SalesReport {
        SalesReport {
            rows: FlatList(
                r.rows
                    .into_iter()
                    .map(|row| {
                        let f = row.figures;
                        SalesReportRow {
                            period: Date(row.period),
                            key: row.key,
                            label: row.label,
                            orders: f.orders,
                            units: f.units,
                            gross_sales: Won(f.gross_sales),
                            discounts: Won(f.discounts),
                            shipping_fees: Won(f.shipping_fees),
                            refunds: Won(f.refunds),
                            net_sales: Won(f.net_sales),
                        }
                    })
                    .collect(),
            ),
            totals: r.totals.into(),
        }
    }
}

/// A day's headline figures.
#[derive(SimpleObject)]
pub struct DayFigures {
    /// Orders paid.
    orders: i64,
    /// Net sales.
    net_sales: Won,
    /// Goods after discounts per order paid.
    average_order_value: Won,
}

impl From<stats::DayFigures> for DayFigures {
    fn from(d: stats::DayFigures) -> DayFigures {
        DayFigures {
            orders: d.orders,
            net_sales: Won(d.net_sales),
            average_order_value: Won(d.average_order_value),
        }
    }
}

/// One of a day's best sellers.
#[derive(SimpleObject)]
pub struct TopProduct {
    /// The product's slug (null when it was deleted).
    slug: Option<String>,
    /// Its name.
    name: String,
    /// Units sold.
    units: i64,
    /// Net sales.
    net_sales: Won,
}

/// A day against the day before and the same weekday a week ago.
#[derive(SimpleObject)]
pub struct SalesSummary {
    /// The Seoul day.
    date: Date,
    /// Orders paid that day.
    orders: i64,
    /// Net sales that day.
    net_sales: Won,
    /// Goods after discounts per order paid that day.
    average_order_value: Won,
    /// The day before.
    previous_day: DayFigures,
    /// Seven days before.
    same_day_last_week: DayFigures,
    /// Up to five products by net sales.
    top_products: Vec<TopProduct>,
}

/// Member figures of a period or a range.
#[derive(SimpleObject)]
pub struct MemberFigures {
    /// Customers who signed up.
    sign_ups: i64,
    /// Members who paid for an order.
    buyers: i64,
    /// Members whose first paid order fell in it.
    first_time_buyers: i64,
    /// Buyers with at least two paid orders by its end.
    repeat_buyers: i64,
    /// `repeatBuyers / buyers` (0–1, four decimals).
    repeat_rate: f64,
}

impl From<stats::MemberFigures> for MemberFigures {
    fn from(f: stats::MemberFigures) -> MemberFigures {
        MemberFigures {
            sign_ups: f.sign_ups,
            buyers: f.buyers,
            first_time_buyers: f.first_time_buyers,
            repeat_buyers: f.repeat_buyers,
            repeat_rate: f.repeat_rate,
        }
    }
}

/// One period of a member report.
#[derive(SimpleObject)]
pub struct MemberReportRow {
    /// The first day of the period.
    period: Date,
    /// Customers who signed up.
    sign_ups: i64,
    /// Members who paid for an order.
    buyers: i64,
    /// Members whose first paid order fell in it.
    first_time_buyers: i64,
    /// Buyers with at least two paid orders by its end.
    repeat_buyers: i64,
    /// `repeatBuyers / buyers`.
    repeat_rate: f64,
}

/// Members over a range.
#[derive(SimpleObject)]
pub struct MemberReport {
    /// Every period in range.
    rows: Vec<MemberReportRow>,
    /// The range (each buyer once).
    totals: MemberFigures,
}

/// Customers of one tier.
#[derive(SimpleObject)]
pub struct TierCount {
    /// The tier.
    tier: CustomerTier,
    /// How many.
    count: i64,
}

/// The member base now.
#[derive(SimpleObject)]
pub struct CustomerStats {
    /// Customers.
    total: i64,
    /// With at least one paid order.
    with_orders: i64,
    /// Agreed to marketing e-mail.
    marketing_email: i64,
    /// Agreed to marketing SMS.
    marketing_sms: i64,
    /// Per tier, every tier listed.
    by_tier: Vec<TierCount>,
}

/// What the reports (and `salesChart`) read from: a pool on `database.read_url` (a read
/// replica) when it is set, else the main pool. Reads only.
#[derive(Clone)]
pub struct ReportsPool(pub PgPool);

impl ReportsPool {
    /// The request's reports pool (the main pool if the schema has none).
    pub fn of<'a>(ctx: &'a Context<'_>, main: &'a PgPool) -> &'a PgPool {
        ctx.data_opt::<ReportsPool>().map_or(main, |r| &r.0)
    }
}

/// Admin report queries.
#[derive(Default)]
pub struct ReportsQuery;

/// What each field selected inside a report costs of the request's complexity limit (5,000):
/// the fields repeat on every row, so a row can't be selected with thousands of aliases.
const ROWS_COST: usize = 100;

#[Object]
impl ReportsQuery {
    /// Sales from `from` to `to` (Seoul days, both included), by period and cut, optionally
    /// of one channel. At most 1,100 periods and 100,000 rows. A sale counts on the day it
    /// was paid, a refund on the day it was made (OWNER, MANAGER, BOT). Each field selected
    /// inside costs 100 of the request's complexity limit (5,000): it repeats on every row.
    #[graphql(complexity = "child_complexity.saturating_mul(ROWS_COST)")]
    async fn sales_report(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        granularity: Granularity,
        #[graphql(default_with = "SalesGroupBy::None")] group_by: SalesGroupBy,
        channel: Option<SalesChannel>,
    ) -> Result<SalesReport> {
        let cx = Cx::staff(ctx).await?;
        let q = stats::SalesQuery {
            from: from.0,
            to: to.0,
            granularity: granularity.into(),
            group_by: group_by.into(),
            channel: channel.map(SalesChannel::as_str),
        };
        let pool = ReportsPool::of(ctx, cx.pool);
        let report = stats::sales_report(pool, cx.principal, q).await.gql(ctx)?;
        Ok(report.into())
    }

    /// One Seoul day (today if omitted) against the day before and a week before, with its
    /// five best sellers (OWNER, MANAGER, BOT).
    async fn sales_summary(&self, ctx: &Context<'_>, date: Option<Date>) -> Result<SalesSummary> {
        let cx = Cx::staff(ctx).await?;
        let date = date.map_or_else(|| Utc::now().with_timezone(&SHOP_TZ).date_naive(), |d| d.0);
        let s = stats::sales_summary(ReportsPool::of(ctx, cx.pool), cx.principal, date)
            .await
            .gql(ctx)?;
        Ok(SalesSummary {
            date: Date(s.date),
            orders: s.day.orders,
            net_sales: Won(s.day.net_sales),
            average_order_value: Won(s.day.average_order_value),
            previous_day: s.previous_day.into(),
            same_day_last_week: s.same_day_last_week.into(),
            top_products: s
                .top_products
                .into_iter()
                .map(|p| TopProduct {
                    slug: p.slug,
                    name: p.name,
                    units: p.units,
                    net_sales: Won(p.net_sales),
                })
                .collect(),
        })
    }

    /// Sign-ups, buyers, first-time and repeat buyers per period (members only; guests are
    /// not counted) (OWNER, MANAGER, BOT). Each field selected inside costs 100 of the
    /// request's complexity limit, as in `salesReport`.
    #[graphql(complexity = "child_complexity.saturating_mul(ROWS_COST)")]
    async fn member_report(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        granularity: Granularity,
    ) -> Result<MemberReport> {
        let cx = Cx::staff(ctx).await?;
        let pool = ReportsPool::of(ctx, cx.pool);
        let r = stats::member_report(pool, cx.principal, from.0, to.0, granularity.into())
            .await
            .gql(ctx)?;
        Ok(MemberReport {
            rows: r
                .rows
                .into_iter()
                .map(|row| MemberReportRow {
                    period: Date(row.period),
                    sign_ups: row.figures.sign_ups,
                    buyers: row.figures.buyers,
                    first_time_buyers: row.figures.first_time_buyers,
                    repeat_buyers: row.figures.repeat_buyers,
                    repeat_rate: row.figures.repeat_rate,
                })
                .collect(),
            totals: r.totals.into(),
        })
    }

    /// The member base now: customers, buyers, marketing consents, tiers (OWNER, MANAGER, BOT).
    async fn customer_stats(&self, ctx: &Context<'_>) -> Result<CustomerStats> {
        let cx = Cx::staff(ctx).await?;
        let s = stats::customer_stats(ReportsPool::of(ctx, cx.pool), cx.principal)
            .await
            .gql(ctx)?;
        Ok(CustomerStats {
            total: s.total,
            with_orders: s.with_orders,
            marketing_email: s.marketing_email,
            marketing_sms: s.marketing_sms,
            by_tier: s
                .by_tier
                .into_iter()
                .map(|(t, count)| TierCount {
                    tier: CustomerTier::from_db(&t),
                    count,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Schema};

    use super::*;

    fn rows() -> Vec<SalesReportRow> {
        let row = |key: Option<&str>, label: Option<&str>| SalesReportRow {
            period: Date(chrono::NaiveDate::from_ymd_opt(2026, 1, 5).expect("date")),
            key: key.map(str::to_owned),
            label: label.map(str::to_owned),
            orders: 12,
            units: -3,
            gross_sales: Won(1_234_567_890_123),
            discounts: Won(0),
            shipping_fees: Won(-3000),
            refunds: Won(i64::MAX),
            net_sales: Won(i64::MIN),
        };
        vec![
            row(Some("SKU-1"), Some("단백질 \"쉐이크\" \\ 1kg\n\t\u{1}")),
            row(None, None),
        ]
    }

    struct Query;

    #[Object]
    impl Query {
        async fn rows(&self) -> FlatList<SalesReportRow> {
            FlatList(rows())
        }
    }

    /// Every field of a row, written straight, is the text async-graphql makes of it (which
    /// a skipped field with a directive forces).
    #[tokio::test]
    async fn a_row_writes_what_async_graphql_would() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let fields = "period key label orders units grossSales discounts shippingFees refunds netSales";
        let text = |query: String| {
            let schema = schema.clone();
            async move {
                let resp = schema.execute(query).await;
                assert!(resp.errors.is_empty(), "{:?}", resp.errors);
                let mut out = Vec::new();
                crate::flat::write_json(&mut out, &resp.data);
                String::from_utf8(out).expect("utf-8")
            }
        };
        let flat = text(format!("{{ rows {{ {fields} }} }}")).await;
        let engine = text(format!("{{ rows {{ __typename @include(if: false) {fields} }} }}")).await;
        assert_eq!(flat, engine);
        assert!(
            flat.contains(r#""label":"단백질 \"쉐이크\" \\ 1kg\n\t\u0001""#),
            "{flat}"
        );
    }
}
