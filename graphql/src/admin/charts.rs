//! `salesChart`: the reports drawn as pictures (PNG as a data URI, and SVG), for the admin UI
//! and the Slack bot. The figures come from `commerce::stats`; the drawing from `charts`.

use async_graphql::{Context, Enum, Object, Result};
use base64::Engine;
use chrono::{Days, Months, NaiveDate};
use commerce::{Error, stats};

use super::{
    context::Cx,
    reports::{Granularity, SalesGroupBy},
};
use crate::{
    error::GqlResult,
    shared::{Date, SalesChannel},
};

/// Which picture.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChartKind {
    /// Net sales per period, the previous range of the same length as a lighter line.
    Line,
    /// Net sales per period stacked by channel.
    ChannelBars,
    /// The range's top ten by net sales: products (`groupBy` NONE or PRODUCT), categories,
    /// SKUs or channels.
    TopBars,
    /// Sign-ups per period as bars, the repeat rate as a line.
    Members,
}

/// A chart, drawn when a field asks for it.
pub struct SalesChart {
    plot: Plot,
    size: charts::Size,
}

#[derive(Clone)]
enum Plot {
    Line(charts::SalesLine),
    Channels(charts::ChannelBars),
    Top(charts::TopBars),
    Members(charts::Members),
}

impl SalesChart {
    /// Draws on a blocking thread: a big chart is tens of milliseconds of CPU.
    async fn draw(&self, format: charts::Format) -> Result<Vec<u8>, Error> {
        let (plot, size) = (self.plot.clone(), self.size);
        let drawn = tokio::task::spawn_blocking(move || match &plot {
            Plot::Line(c) => charts::sales_line(c, size, format),
            Plot::Channels(c) => charts::channel_bars(c, size, format),
            Plot::Top(c) => charts::top_bars(c, size, format),
            Plot::Members(c) => charts::members(c, size, format),
        })
        .await;
        match drawn {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) => Err(Error::Fault {
                what: "charts.draw",
                reason: e.to_string(),
            }),
            Err(e) => Err(Error::Fault {
                what: "charts.task",
                reason: e.to_string(),
            }),
        }
    }
}

#[Object]
impl SalesChart {
    /// The picture as PNG, a `data:image/png;base64,…` URI.
    async fn png(&self, ctx: &Context<'_>) -> Result<String> {
        let png = self.draw(charts::Format::Png).await.gql(ctx)?;
        Ok(format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        ))
    }

    /// The picture as SVG text.
    async fn svg(&self, ctx: &Context<'_>) -> Result<String> {
        let svg = self.draw(charts::Format::Svg).await.gql(ctx)?;
        String::from_utf8(svg)
            .map_err(|e| Error::Fault {
                what: "charts.svg",
                reason: e.to_string(),
            })
            .gql(ctx)
    }
}

impl From<Granularity> for charts::Granularity {
    fn from(g: Granularity) -> charts::Granularity {
        match g {
            Granularity::Day => charts::Granularity::Day,
            Granularity::Week => charts::Granularity::Week,
            Granularity::Month => charts::Granularity::Month,
        }
    }
}

/// The range of the same length just before `from..=to`, period for period.
fn previous_range(from: NaiveDate, to: NaiveDate, g: Granularity, periods: usize) -> (NaiveDate, NaiveDate) {
    let n = u32::try_from(periods).unwrap_or(u32::MAX);
    let back = |d: NaiveDate| match g {
        Granularity::Day => d - Days::new(u64::from(n)),
        Granularity::Week => d - Days::new(7 * u64::from(n)),
        Granularity::Month => d - Months::new(n),
    };
    (back(from), back(to))
}

/// Net sales per period of a report with one row per period.
fn net_per_period(r: &stats::SalesReport) -> Vec<i64> {
    r.rows.iter().map(|row| row.figures.net_sales).collect()
}

/// The periods of a report, in order, once each.
fn periods_of(r: &stats::SalesReport) -> Vec<NaiveDate> {
    let mut p: Vec<NaiveDate> = r.rows.iter().map(|row| row.period).collect();
    p.dedup();
    p
}

/// Admin chart queries.
#[derive(Default)]
pub struct ChartsQuery;

#[Object]
impl ChartsQuery {
    /// A report drawn as a chart, `width` × `height` pixels (200–2,000 each), Korean labels
    /// (OWNER, MANAGER, BOT).
    #[allow(clippy::too_many_arguments)] // the report's arguments plus the picture's
    async fn sales_chart(
        &self,
        ctx: &Context<'_>,
        from: Date,
        to: Date,
        granularity: Granularity,
        #[graphql(default_with = "SalesGroupBy::None")] group_by: SalesGroupBy,
        channel: Option<SalesChannel>,
        kind: ChartKind,
        #[graphql(default = 1200)] width: i32,
        #[graphql(default = 600)] height: i32,
    ) -> Result<SalesChart> {
        let cx = Cx::staff(ctx).await?;
        let pixels = |v: i32, field: &'static str| {
            u32::try_from(v)
                .ok()
                .filter(|v| (charts::Size::MIN..=charts::Size::MAX).contains(v))
                .ok_or(Error::Invalid {
                    field,
                    reason: format!("{}–{} pixels", charts::Size::MIN, charts::Size::MAX),
                })
        };
        let size = charts::Size {
            width: pixels(width, "width").gql(ctx)?,
            height: pixels(height, "height").gql(ctx)?,
        };
        let (from, to, g) = (from.0, to.0, granularity);
        let query = |group_by: stats::GroupBy, from: NaiveDate, to: NaiveDate| stats::SalesQuery {
            from,
            to,
            granularity: g.into(),
            group_by,
            channel: channel.map(SalesChannel::as_str),
        };
        let (pool, by) = (super::reports::ReportsPool::of(ctx, cx.pool), cx.principal);
        let plot = match kind {
            ChartKind::Line => {
                let now = stats::sales_report(pool, by, query(stats::GroupBy::None, from, to))
                    .await
                    .gql(ctx)?;
                let periods = periods_of(&now);
                let (pf, pt) = previous_range(from, to, g, periods.len());
                let before = stats::sales_report(pool, by, query(stats::GroupBy::None, pf, pt))
                    .await
                    .gql(ctx)?;
                let mut previous = net_per_period(&before);
                previous.resize(periods.len(), 0);
                Plot::Line(charts::SalesLine {
                    title: "순매출".into(),
                    granularity: g.into(),
                    current: net_per_period(&now),
                    periods,
                    current_label: "이번 기간".into(),
                    previous: Some(previous),
                    previous_label: "이전 기간".into(),
                })
            }
            ChartKind::ChannelBars => {
                let r = stats::sales_report(pool, by, query(stats::GroupBy::Channel, from, to))
                    .await
                    .gql(ctx)?;
                let periods = periods_of(&r);
                let series = stats::CHANNELS
                    .iter()
                    .filter(|(c, _)| channel.is_none_or(|only| only.as_str() == *c))
                    .map(|(c, name)| {
                        let per_period = periods
                            .iter()
                            .map(|p| {
                                r.rows
                                    .iter()
                                    .find(|row| row.period == *p && row.key.as_deref() == Some(c))
                                    .map_or(0, |row| row.figures.net_sales)
                            })
                            .collect();
                        ((*name).to_owned(), per_period)
                    })
                    .collect();
                Plot::Channels(charts::ChannelBars {
                    title: "채널별 순매출".into(),
                    granularity: g.into(),
                    periods,
                    series,
                })
            }
            ChartKind::TopBars => {
                let (cut, what) = match group_by {
                    SalesGroupBy::None | SalesGroupBy::Product => (stats::GroupBy::Product, "상품별"),
                    SalesGroupBy::Category => (stats::GroupBy::Category, "카테고리별"),
                    SalesGroupBy::Sku => (stats::GroupBy::Sku, "SKU별"),
                    SalesGroupBy::Channel => (stats::GroupBy::Channel, "채널별"),
                };
                let r = stats::sales_report(pool, by, query(cut, from, to)).await.gql(ctx)?;
                Plot::Top(charts::TopBars {
                    title: format!("{what} 순매출 상위 {}", charts::range_label(g.into(), from, to)),
                    bars: top_ten(&r),
                })
            }
            ChartKind::Members => {
                let r = stats::member_report(pool, by, from, to, g.into()).await.gql(ctx)?;
                Plot::Members(charts::Members {
                    title: "회원 가입과 재구매율".into(),
                    granularity: g.into(),
                    periods: r.rows.iter().map(|row| row.period).collect(),
                    sign_ups: r.rows.iter().map(|row| row.figures.sign_ups).collect(),
                    repeat_rate: r.rows.iter().map(|row| row.figures.repeat_rate).collect(),
                })
            }
        };
        Ok(SalesChart { plot, size })
    }
}

/// The ten keys with the highest net sales over the whole range, highest first.
fn top_ten(r: &stats::SalesReport) -> Vec<(String, i64)> {
    // (key, label, net): rows of one key share its label.
    let mut sums: Vec<(Option<String>, String, i64)> = Vec::new();
    for row in &r.rows {
        match sums.iter_mut().find(|(k, _, _)| *k == row.key) {
            Some((_, _, net)) => *net += row.figures.net_sales,
            None => sums.push((
                row.key.clone(),
                row.label.clone().unwrap_or_else(|| "기타".to_owned()),
                row.figures.net_sales,
            )),
        }
    }
    sums.retain(|(_, _, net)| *net != 0);
    sums.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    sums.into_iter().take(10).map(|(_, label, net)| (label, net)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn the_previous_range_is_as_long_period_for_period() {
        assert_eq!(
            previous_range(d("2026-11-01"), d("2026-11-30"), Granularity::Day, 30),
            (d("2026-10-02"), d("2026-10-31"))
        );
        assert_eq!(
            previous_range(d("2026-11-02"), d("2026-11-29"), Granularity::Week, 4),
            (d("2026-10-05"), d("2026-11-01"))
        );
        assert_eq!(
            previous_range(d("2026-01-01"), d("2026-12-31"), Granularity::Month, 12),
            (d("2025-01-01"), d("2025-12-31"))
        );
    }
}
