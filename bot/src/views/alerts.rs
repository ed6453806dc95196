//! Proactive alerts (low stock, sold out, payment failures, …): the message with its
//! buttons ("open in admin", "+10" / "+50" stock), and the same message once it cleared.

use std::fmt::Write as _;

use serde_json::json;

use super::{View, context, section, seoul};
use crate::{api::Alert, format::escape};

/// Alert severities and their marks.
fn severity_icon(severity: &str) -> &'static str {
    match severity {
        "CRITICAL" => "🔴",
        "WARNING" => "🟠",
        _ => "🔵",
    }
}

/// Korean names of alert kinds.
pub fn alert_kind_ko(kind: &str) -> &str {
    match kind {
        "LOW_STOCK" => "재고 부족",
        "SOLD_OUT" => "품절",
        "PAYMENT_FAILURES" => "결제 실패 급증",
        "ORDERS_BELOW_USUAL" => "주문 감소",
        "DEPOSIT_AFTER_EXPIRY" => "만료 후 입금",
        "STAFF_LOCKED" => "직원 계정 잠김",
        other => other,
    }
}

/// The `action_id` of the stock-adjust buttons; their `value` is `variant_id:delta`.
pub const ADJUST_ACTION: &str = "stock_adjust";
/// The `action_id` of the "open in admin" link buttons (Slack still sends an action).
pub const OPEN_ACTION: &str = "open_admin";
/// The `action_id` of the "show the order" buttons; their `value` is the order number.
pub const ORDER_ACTION: &str = "order_show";

/// A proactive alert with its buttons: "open in admin" (a link), "show the order" for an
/// alert about an order and, for stock alerts, "+10" / "+50" stock adjustments, made with
/// the clicking member's own rights.
pub fn alert(a: &Alert) -> View {
    let icon = severity_icon(&a.severity);
    let kind = alert_kind_ko(&a.kind);
    let mut text = format!("{icon} [{kind}] {}", a.title);
    let mut md = format!("{icon} *[{kind}] {}*", escape(&a.title));
    if let Some(detail) = a.detail.as_deref().filter(|d| !d.is_empty()) {
        let _ = write!(text, "\n{detail}");
        let _ = write!(md, "\n{}", escape(detail));
    }
    let mut facts = vec![format!("발생 {}", seoul(a.raised_at))];
    if let Some(n) = &a.order_number {
        facts.push(format!("주문 {n}"));
    }
    if let Some(s) = &a.sku {
        facts.push(format!("SKU {s}"));
    }
    let _ = write!(text, "\n{}", facts.join(" · "));
    let mut blocks = vec![section(&md), context(&escape(&facts.join(" · ")))];
    let mut buttons = Vec::new();
    if let Some(url) = &a.admin_url {
        buttons.push(json!({
            "type": "button", "action_id": OPEN_ACTION,
            "text": { "type": "plain_text", "text": "관리자에서 열기" }, "url": url,
        }));
        let _ = write!(text, "\n{url}");
    }
    if let Some(n) = &a.order_number {
        // The order as `/order` shows it, to the member who clicked, with their rights.
        buttons.push(json!({
            "type": "button", "action_id": ORDER_ACTION,
            "text": { "type": "plain_text", "text": "주문 보기" }, "value": n,
        }));
    }
    if let Some(v) = a
        .variant_id
        .as_deref()
        .filter(|_| matches!(a.kind.as_str(), "LOW_STOCK" | "SOLD_OUT"))
    {
        for delta in [10, 50] {
            buttons.push(json!({
                "type": "button", "action_id": format!("{ADJUST_ACTION}_{delta}"),
                "text": { "type": "plain_text", "text": format!("재고 +{delta}") },
                "value": format!("{v}:{delta}"),
            }));
        }
    }
    if !buttons.is_empty() {
        blocks.push(json!({ "type": "actions", "block_id": format!("alert:{}", a.id), "elements": buttons }));
    }
    View { text, blocks }
}

/// An alert that cleared: the original message, struck through and marked ✅ (no buttons).
pub fn alert_cleared(a: &Alert) -> View {
    let kind = alert_kind_ko(&a.kind);
    let when = a.cleared_at.map(seoul).unwrap_or_default();
    let text = format!("✅ [{kind}] {} — 해소됨 {when}", a.title);
    View {
        blocks: vec![
            section(&format!("✅ ~[{kind}] {}~", escape(&a.title))),
            context(&format!("해소됨 {when} · 발생 {}", seoul(a.raised_at))),
        ],
        text,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("an RFC 3339 time")
    }

    #[test]
    fn alerts_with_buttons_and_cleared() {
        let a = Alert {
            id: "alr_1".into(),
            kind: "LOW_STOCK".into(),
            key: "var_1".into(),
            severity: "WARNING".into(),
            title: "프로틴 쉐이크 / 초코 1kg 재고 3개".into(),
            detail: Some("기준 5개 이하".into()),
            raised_at: t("2026-12-02T00:00:00Z"),
            cleared_at: None,
            order_number: None,
            variant_id: Some("var_1".into()),
            sku: Some("PRO-CHOC-1KG".into()),
            admin_url: Some("https://admin.example.com/stock/var_1".into()),
        };
        insta::assert_json_snapshot!("alert_low_stock", alert(&a).blocks);
        let cleared = Alert {
            cleared_at: Some(t("2026-12-02T03:00:00Z")),
            ..a
        };
        insta::assert_json_snapshot!("alert_cleared", alert_cleared(&cleared).blocks);
    }

    #[test]
    fn an_alert_about_an_order_has_a_button_that_shows_it() {
        let a = Alert {
            id: "alr_2".into(),
            kind: "DEPOSIT_AFTER_EXPIRY".into(),
            key: "ord_1".into(),
            severity: "CRITICAL".into(),
            title: "만료된 주문에 입금".into(),
            detail: None,
            raised_at: t("2026-12-02T00:00:00Z"),
            cleared_at: None,
            order_number: Some("20261202-000007".into()),
            variant_id: None,
            sku: None,
            admin_url: None,
        };
        let blocks = alert(&a).blocks;
        let actions = blocks.iter().find(|b| b["type"] == "actions").expect("buttons");
        let buttons = actions["elements"].as_array().expect("elements");
        assert_eq!(buttons.len(), 1, "no stock buttons without a variant");
        assert_eq!(buttons[0]["action_id"], ORDER_ACTION);
        assert_eq!(buttons[0]["value"], "20261202-000007");
    }
}
