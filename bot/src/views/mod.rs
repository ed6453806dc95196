//! Every answer twice: Block Kit (`serde_json::Value`, for Slack) and plain text (Slack's
//! notification fallback, and what the console prints). Amounts in full won; personal data
//! exactly as the admin API returned it (masked for the role); nothing raw from GraphQL.
//!
//! Here: [`View`], the block helpers every view uses, and the answers that belong to no one
//! command (help, an unknown command, bad arguments, refusals and errors, "working…"). Each
//! command's views live in their own file, all re-exported from here: `sales` (`/sales` and
//! the daily report), `orders` (`/order`), `stock` (`/stock` and adjustments), `alerts`
//! (proactive alerts and their buttons).

mod alerts;
mod orders;
mod sales;
mod stock;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use alerts::{ADJUST_ACTION, OPEN_ACTION, ORDER_ACTION, alert, alert_cleared, alert_kind_ko};
pub use orders::{ORDER_ROWS, channel_ko, order, order_list, order_not_found, status_ko};
pub use sales::{TOP_ROWS, daily_report, sales};
pub use stock::{STOCK_ROWS, stock, stock_adjusted};

use crate::{api::ApiError, command::CommandName, format::escape};

/// An answer's text and blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// Plain text: the whole answer, readable without blocks.
    pub text: String,
    /// Block Kit blocks.
    pub blocks: Vec<Value>,
}

fn header(text: &str) -> Value {
    // Slack cuts header text at 150 characters.
    let t: String = text.chars().take(150).collect();
    json!({ "type": "header", "text": { "type": "plain_text", "text": t, "emoji": true } })
}

fn section(mrkdwn: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(mrkdwn, 3000) } })
}

fn fields(pairs: &[(&str, String)]) -> Value {
    let f: Vec<Value> = pairs
        .iter()
        .map(|(k, v)| json!({ "type": "mrkdwn", "text": clip(&format!("*{k}*\n{v}"), 2000) }))
        .collect();
    json!({ "type": "section", "fields": f })
}

fn context(mrkdwn: &str) -> Value {
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": clip(mrkdwn, 3000) }] })
}

fn divider() -> Value {
    json!({ "type": "divider" })
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// A time in Seoul: `2026-12-02 14:03`.
pub fn seoul(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

const EXAMPLES: &str = "`/sales 어제` · `/sales 이번주 채널별` · `/sales 지난달 상품별` · `/sales 2026-12-01..2026-12-07 by sku`\n\
    `/order 20261202-000001` · `/order 5678` · `/order 홍길동`\n\
    `/stock PRO-CHOC-1KG` · `/stock 프로틴` · `/stock low`";

/// `/help`.
pub fn help() -> View {
    let md = format!(
        "*장터 봇이 할 수 있는 일*\n\
         • `/sales [기간] [기준]` 매출 — 기간: 오늘 어제 이번주 지난주 이번달 지난달, YYYY-MM-DD, \
         YYYY-MM-DD..YYYY-MM-DD (today, yesterday, this week, …) · 기준: 카테고리별 상품별 SKU별 채널별 \
         (by category|product|sku|channel)\n\
         • `/order <주문번호 | 전화번호 뒤 4자리 | 이름>` 주문 조회 (나에게만 보여요)\n\
         • `/stock <SKU | 상품명>` · `/stock low` 재고\n\
         • `/help` 이 도움말\n\
         채널에서 `@장터봇 sales 어제`처럼 부르거나 DM으로 보내도 돼요.\n\n*예시*\n{EXAMPLES}"
    );
    View {
        text: md.replace(['*', '`'], ""),
        blocks: vec![section(&md)],
    }
}

/// A command we don't know, with examples.
pub fn unknown(input: &str) -> View {
    let md = format!(
        "`{}`은(는) 모르는 명령이에요. 이렇게 물어봐 주세요:\n{EXAMPLES}\n전체 목록은 `/help`.",
        escape(input)
    );
    View {
        text: md.replace('`', ""),
        blocks: vec![section(&md)],
    }
}

/// A known command whose arguments don't parse: why, and how it's used.
pub fn invalid(command: CommandName, reason: &str) -> View {
    let usage = match command {
        CommandName::Sales => {
            "`/sales [오늘|어제|이번주|지난주|이번달|지난달|YYYY-MM-DD|YYYY-MM-DD..YYYY-MM-DD] [카테고리별|상품별|SKU별|채널별]`\n예: `/sales 어제`, `/sales 이번주 채널별`"
        }
        CommandName::Order => {
            "`/order <주문번호 | 전화번호 뒤 4자리 | 이름>`\n예: `/order 20261202-000001`, `/order 5678`"
        }
        CommandName::Stock => "`/stock <SKU | 상품명>` 또는 `/stock low`\n예: `/stock PRO-CHOC-1KG`, `/stock low`",
    };
    let md = format!("{}\n{usage}", escape(reason));
    View {
        text: md.replace('`', ""),
        blocks: vec![section(&md)],
    }
}

/// What the member wanted, for refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// Sales figures.
    Sales,
    /// Orders.
    Orders,
    /// Stock.
    Stock,
    /// A stock adjustment.
    StockAdjust,
}

/// The answer to a failed call: a polite refusal or a short error, never the raw error.
pub fn failure(asked: Asked, e: &ApiError) -> View {
    let text = match e {
        ApiError::NotLinked => "아직 Slack 계정이 장터 직원 계정과 연결되어 있지 않아요. \
             관리자에게 연결을 요청해 주세요 (관리자 화면의 직원 설정에서 Slack 연결)."
            .to_owned(),
        ApiError::Forbidden => {
            let what = match asked {
                Asked::Sales => "매출은 대표와 매니저만 볼 수 있어요",
                Asked::Orders => "주문을 볼 권한이 없어요",
                Asked::Stock => "재고를 볼 권한이 없어요",
                Asked::StockAdjust => "재고를 조정할 권한이 없어요",
            };
            format!("{what}. 지금 역할로는 할 수 없는 일이에요.")
        }
        ApiError::Unauthenticated => "봇이 장터 서버에 로그인하지 못했어요 (봇 토큰이 만료되었거나 취소되었어요). \
             관리자에게 알려 주세요."
            .to_owned(),
        ApiError::NotFound => "찾는 것이 없어요.".to_owned(),
        ApiError::RateLimited => "요청이 너무 많아요. 잠시 후 다시 해 주세요.".to_owned(),
        ApiError::Timeout | ApiError::Network(_) => "장터 서버가 응답하지 않아요. 잠시 후 다시 해 주세요.".to_owned(),
        ApiError::Other { code, .. } => {
            format!("요청을 처리하지 못했어요 (오류 코드 {code}). 계속되면 관리자에게 알려 주세요.")
        }
    };
    let icon = match e {
        ApiError::NotLinked | ApiError::Forbidden => "🔒",
        _ => "⚠️",
    };
    View {
        blocks: vec![section(&format!("{icon} {text}"))],
        text,
    }
}

/// The immediate answer to a slash command while the work goes on.
pub fn working() -> View {
    let text = "확인하고 있어요… ⏳".to_owned();
    View {
        blocks: vec![context(&text)],
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_unknown_and_invalid() {
        insta::assert_json_snapshot!("help", help().blocks);
        insta::assert_json_snapshot!("unknown", unknown("refund <!channel>").blocks);
        insta::assert_json_snapshot!(
            "invalid_sales",
            invalid(CommandName::Sales, "`x`은(는) 기간이 아니에요").blocks
        );
        assert!(!help().text.contains('*'));
    }

    #[test]
    fn refusals_and_errors_never_show_raw_errors() {
        insta::assert_json_snapshot!("refusal_not_linked", failure(Asked::Sales, &ApiError::NotLinked).blocks);
        insta::assert_json_snapshot!("refusal_cs_sales", failure(Asked::Sales, &ApiError::Forbidden).blocks);
        let raw = ApiError::Other {
            code: "INTERNAL".into(),
            message: "thread 'main' panicked at src/lib.rs:1 — SELECT * FROM orders".into(),
        };
        let v = failure(Asked::Orders, &raw);
        insta::assert_json_snapshot!("error_internal", v.blocks);
        assert!(!v.text.contains("SELECT") && !v.text.contains("panicked"));
        let v = failure(
            Asked::Stock,
            &ApiError::Network("tcp connect error 127.0.0.1:8080".into()),
        );
        assert!(!v.text.contains("127.0.0.1"));
    }
}
