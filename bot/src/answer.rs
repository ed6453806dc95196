//! From what staff typed to what the bot says: parse, ask the admin API (acting as the
//! Slack user when there is one), render. Never fails: a refusal or an error is an answer too.

use chrono::{Days, NaiveDate, Utc};

use crate::{
    api::{Api, ApiError, Granularity},
    command::{self, Command, Cut, OrderQuery, SalesQuery, StockQuery},
    views::{self, Asked, View},
};

/// A question to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What was typed: `/sales 어제`, `sales 어제`, `<@U123> sales 어제`.
    pub text: String,
    /// The Slack user who asked; none in the console (the bot token's own rights apply).
    pub slack_user_id: Option<String>,
    /// The channel asked in, if any.
    pub channel_id: Option<String>,
}

/// A chart to upload beside an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// A file name, `sales-2026-12-09-channel.png`.
    pub filename: String,
    /// The file's title in Slack.
    pub title: String,
    /// PNG bytes.
    pub png: Vec<u8>,
}

/// What the bot says.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Plain text: the console's output and Slack's notification fallback.
    pub text: String,
    /// Block Kit blocks.
    pub blocks: Vec<serde_json::Value>,
    /// Only the asker should see it (order details, refusals, help, errors).
    pub ephemeral: bool,
    /// A chart to upload into the channel.
    pub chart: Option<Chart>,
}

impl Answer {
    fn of(view: View, ephemeral: bool) -> Answer {
        Answer {
            text: view.text,
            blocks: view.blocks,
            ephemeral,
            chart: None,
        }
    }
}

/// Today in Seoul, the shop's calendar (DESIGN.md §2).
pub fn seoul_today() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Asia::Seoul).date_naive()
}

/// Answers `req` as of today in Seoul.
pub async fn answer(api: &Api, req: &Request) -> Answer {
    answer_on(api, req, seoul_today()).await
}

/// Answers `req` as if today were `today` (Seoul).
pub async fn answer_on(api: &Api, req: &Request, today: NaiveDate) -> Answer {
    let acting;
    let api = match &req.slack_user_id {
        Some(user) => {
            acting = api.acting(user);
            &acting
        }
        None => api,
    };
    match command::parse(&req.text, today) {
        Command::Sales(q) => sales(api, &q).await,
        Command::Order(q) => order(api, &q).await,
        Command::Stock(q) => stock(api, &q).await,
        Command::Help => Answer::of(views::help(), true),
        Command::Invalid { command, reason } => Answer::of(views::invalid(command, &reason), true),
        Command::Unknown { input } => Answer::of(views::unknown(&input), true),
    }
}

fn refused(asked: Asked, e: &ApiError) -> Answer {
    match e {
        ApiError::NotLinked | ApiError::Forbidden | ApiError::NotFound => {
            tracing::info!(code = e.code(), ?asked, "refused");
        }
        _ => tracing::warn!(error = %e, ?asked, "admin API call failed"),
    }
    Answer::of(views::failure(asked, e), true)
}

/// `/sales`: the period against the previous one, the top rows of the cut, and a chart.
pub async fn sales(api: &Api, q: &SalesQuery) -> Answer {
    // Monthly rows are the fewest; the totals don't depend on the granularity.
    let report = api.sales(&q.period, &q.previous, q.cut.group_by(), Granularity::Month);
    let chart = sales_chart(api, q);
    let (report, chart) = tokio::join!(report, chart);
    match report {
        Ok(data) => {
            let view = views::sales(q, &data);
            let chart = match chart {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "the sales chart failed; answering without it");
                    None
                }
            };
            Answer {
                chart,
                ..Answer::of(view, false)
            }
        }
        Err(e) => refused(Asked::Sales, &e),
    }
}

/// The chart of a sales question: net sales as a line (a single day shows the week up to
/// it), channels as stacked bars, products, SKUs and categories as top-ten bars.
async fn sales_chart(api: &Api, q: &SalesQuery) -> Result<Chart, ApiError> {
    let (kind, group_by) = match q.cut {
        Cut::None => ("LINE", "NONE"),
        Cut::Channel => ("CHANNEL_BARS", "CHANNEL"),
        c => ("TOP_BARS", c.group_by()),
    };
    let (mut from, to) = (q.period.from, q.period.to);
    if q.cut == Cut::None && from == to {
        from = to - Days::new(6);
    }
    let g = Granularity::for_days((to - from).num_days() + 1);
    let png = api.sales_chart(from, to, g, group_by, kind).await?;
    let cut = match q.cut {
        Cut::None => String::new(),
        Cut::Category => "-category".into(),
        Cut::Product => "-product".into(),
        Cut::Sku => "-sku".into(),
        Cut::Channel => "-channel".into(),
    };
    let span = if q.period.from == q.period.to {
        q.period.from.to_string()
    } else {
        format!("{}_{}", q.period.from, q.period.to)
    };
    let title = if q.cut == Cut::None && q.period.from == q.period.to {
        format!("순매출 · {} (최근 7일)", crate::format::range(from, to))
    } else {
        format!("순매출 · {} {}", crate::format::range(from, to), q.cut.label())
            .trim_end()
            .to_owned()
    };
    Ok(Chart {
        filename: format!("sales-{span}{cut}.png"),
        title,
        png,
    })
}

/// `/order`: one order (ephemeral), a short list, or nothing found.
pub async fn order(api: &Api, q: &OrderQuery) -> Answer {
    let search = match q {
        OrderQuery::Number(n) => match api.order(n).await {
            Ok(Some(o)) => return Answer::of(views::order(&o), true),
            Ok(None) => return Answer::of(views::order_not_found(n), true),
            Err(e) => return refused(Asked::Orders, &e),
        },
        OrderQuery::PhoneLast4(s) | OrderQuery::Search(s) => s,
    };
    match api.orders(search, u32::try_from(views::ORDER_ROWS).unwrap_or(10)).await {
        Ok(list) => match list.nodes.as_slice() {
            [] => Answer::of(views::order_not_found(search), true),
            [one] if list.total_count == 1 => Answer::of(views::order(one), true),
            _ => Answer::of(views::order_list(search, &list), true),
        },
        Err(e) => refused(Asked::Orders, &e),
    }
}

/// `/stock`: matching variants or those running low.
pub async fn stock(api: &Api, q: &StockQuery) -> Answer {
    let search = match q {
        StockQuery::Low => None,
        StockQuery::Search(s) => Some(s.as_str()),
    };
    match api.stock(search, u32::try_from(views::STOCK_ROWS).unwrap_or(20)).await {
        Ok(list) => Answer::of(views::stock(search, &list), false),
        Err(e) => refused(Asked::Stock, &e),
    }
}
