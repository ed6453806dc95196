//! `/sales` against the admin API: a period's report with the totals of the period it is
//! compared with (`BotSales`), its chart as PNG (`BotSalesChart`), and the report types
//! (figures, rows, the top rows of a cut, granularity).

use base64::Engine;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::{Api, ApiError};
use crate::command::Period;

impl Api {
    /// Totals and rows of a period by `cut`, and the totals of the period it is compared
    /// with (`BotSales`).
    pub async fn sales(
        &self,
        period: &Period,
        previous: &Period,
        group_by: &str,
        granularity: Granularity,
    ) -> Result<SalesComparison, ApiError> {
        const Q: &str = "query BotSales($from: Date!, $to: Date!, $prevFrom: Date!, $prevTo: Date!, \
            $granularity: Granularity!, $groupBy: SalesGroupBy!) {
  current: salesReport(from: $from, to: $to, granularity: $granularity, groupBy: $groupBy) {
    totals { ...BotFigures }
    rows { period key label orders units netSales }
  }
  previous: salesReport(from: $prevFrom, to: $prevTo, granularity: $granularity) { totals { ...BotFigures } }
}
fragment BotFigures on SalesFigures { orders units grossSales discounts shippingFees refunds netSales }";
        #[derive(Deserialize)]
        struct Data {
            current: SalesReport,
            previous: Totals,
        }
        #[derive(Deserialize)]
        struct Totals {
            totals: Figures,
        }
        let vars = json!({
            "from": period.from, "to": period.to,
            "prevFrom": previous.from, "prevTo": previous.to,
            "granularity": granularity.as_str(), "groupBy": group_by,
        });
        let d: Data = self.run("BotSales", Q, vars).await?;
        Ok(SalesComparison {
            current: d.current,
            previous: d.previous.totals,
        })
    }

    /// A chart of a period as PNG bytes (`BotSalesChart`): `kind` is `LINE`, `CHANNEL_BARS`
    /// or `TOP_BARS`.
    pub async fn sales_chart(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        granularity: Granularity,
        group_by: &str,
        kind: &str,
    ) -> Result<Vec<u8>, ApiError> {
        const Q: &str = "query BotSalesChart($from: Date!, $to: Date!, $granularity: Granularity!, \
            $groupBy: SalesGroupBy!, $kind: ChartKind!) {
  salesChart(from: $from, to: $to, granularity: $granularity, groupBy: $groupBy, kind: $kind, width: 1200, height: 600) { png }
}";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            sales_chart: Png,
        }
        #[derive(Deserialize)]
        struct Png {
            png: String,
        }
        let vars = json!({
            "from": from, "to": to, "granularity": granularity.as_str(), "groupBy": group_by, "kind": kind,
        });
        let d: Data = self.run("BotSalesChart", Q, vars).await?;
        png_from_data_uri(&d.sales_chart.png).ok_or_else(|| ApiError::Other {
            code: "BAD_CHART".into(),
            message: "salesChart.png is not a base64 PNG data URI".into(),
        })
    }
}

/// The bytes of a `data:image/png;base64,…` URI.
pub fn png_from_data_uri(uri: &str) -> Option<Vec<u8>> {
    let b64 = uri.strip_prefix("data:image/png;base64,")?;
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()
}

/// Report periods: days, weeks (from Monday) or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// `DAY`.
    Day,
    /// `WEEK`.
    Week,
    /// `MONTH`.
    Month,
}

impl Granularity {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "DAY",
            Granularity::Week => "WEEK",
            Granularity::Month => "MONTH",
        }
    }

    /// Days up to two months, weeks up to a year, months beyond: at most a few dozen points.
    pub fn for_days(days: i64) -> Granularity {
        match days {
            ..=62 => Granularity::Day,
            63..=366 => Granularity::Week,
            _ => Granularity::Month,
        }
    }
}

/// The figures of a report's totals (`SalesFigures`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Orders paid.
    pub orders: i64,
    /// Units sold.
    pub units: i64,
    /// Goods before discounts.
    pub gross_sales: i64,
    /// Discounts.
    pub discounts: i64,
    /// Shipping fees charged.
    pub shipping_fees: i64,
    /// Refunds made.
    pub refunds: i64,
    /// Gross less discounts and refunds.
    pub net_sales: i64,
}

impl Figures {
    /// What an order was worth on average: goods after discounts, to the won (as the
    /// service's `averageOrderValue`).
    pub fn average_order_value(&self) -> i64 {
        crate::format::average(self.gross_sales - self.discounts, self.orders)
    }
}

/// One row of a report: a period and, when cut, a key.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    /// The period's first day.
    pub period: NaiveDate,
    /// The cut's key (product id, SKU, channel…), none when not cut.
    pub key: Option<String>,
    /// What people call the key.
    pub label: Option<String>,
    /// Orders.
    pub orders: i64,
    /// Units.
    pub units: i64,
    /// Net sales.
    pub net_sales: i64,
}

/// A report: rows per period (and key) and totals.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SalesReport {
    /// Rows per period and key.
    pub rows: Vec<ReportRow>,
    /// The whole range.
    pub totals: Figures,
}

/// A report and the totals of the period before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesComparison {
    /// The period asked about.
    pub current: SalesReport,
    /// The period it is compared with.
    pub previous: Figures,
}

/// A cut's key over the whole range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopRow {
    /// What people call it.
    pub label: String,
    /// Orders (summed over periods; an order of two keys counts in both).
    pub orders: i64,
    /// Units.
    pub units: i64,
    /// Net sales.
    pub net_sales: i64,
}

impl SalesReport {
    /// The cut's keys over the whole range, best net sales first (then label).
    pub fn top(&self) -> Vec<TopRow> {
        let mut by_key: Vec<(String, TopRow)> = Vec::new();
        for r in &self.rows {
            let Some(key) = &r.key else { continue };
            let label = r.label.clone().unwrap_or_else(|| key.clone());
            match by_key.iter_mut().find(|(k, _)| k == key) {
                Some((_, t)) => {
                    t.orders += r.orders;
                    t.units += r.units;
                    t.net_sales += r.net_sales;
                }
                None => by_key.push((
                    key.clone(),
                    TopRow {
                        label,
                        orders: r.orders,
                        units: r.units,
                        net_sales: r.net_sales,
                    },
                )),
            }
        }
        let mut top: Vec<TopRow> = by_key.into_iter().map(|(_, t)| t).collect();
        top.sort_by(|a, b| b.net_sales.cmp(&a.net_sales).then_with(|| a.label.cmp(&b.label)));
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_decode_from_data_uris() {
        assert_eq!(
            png_from_data_uri("data:image/png;base64,iVBORw0K"),
            Some(vec![0x89, b'P', b'N', b'G', 13, 10])
        );
        assert_eq!(png_from_data_uri("data:image/svg+xml;base64,AAAA"), None);
        assert_eq!(png_from_data_uri("data:image/png;base64,@@"), None);
    }

    #[test]
    fn top_rows_sum_over_periods() {
        let row = |p: &str, k: &str, net| ReportRow {
            period: p.parse().expect("a date"),
            key: Some(k.into()),
            label: Some(format!("L{k}")),
            orders: 1,
            units: 2,
            net_sales: net,
        };
        let r = SalesReport {
            rows: vec![
                row("2026-12-01", "a", 100),
                row("2026-12-01", "b", 300),
                row("2026-12-02", "a", 250),
            ],
            totals: Figures::default(),
        };
        let top = r.top();
        assert_eq!(top[0].label, "La");
        assert_eq!((top[0].orders, top[0].units, top[0].net_sales), (2, 4, 350));
        assert_eq!(top[1].label, "Lb");
    }

    #[test]
    fn granularity_keeps_charts_readable() {
        assert_eq!(Granularity::for_days(1), Granularity::Day);
        assert_eq!(Granularity::for_days(62), Granularity::Day);
        assert_eq!(Granularity::for_days(63), Granularity::Week);
        assert_eq!(Granularity::for_days(400), Granularity::Month);
    }
}
