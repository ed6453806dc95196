//! The messages' templates (minijinja), compiled into the binary from `templates/`.
//!
//! Each notice has `{name}.txt` with the blocks `subject`, `text` and (for those that go by
//! phone too) `sms`, and `{name}.html`, which extends `layout.html` (the shop's header and
//! the legally required footer). HTML is auto-escaped; the CSS of the layout's `<style>` is
//! inlined into `style` attributes with css-inline, since mail clients drop `<style>`.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use minijinja::{Environment, Value as JinjaValue, context};
use serde_json::Value;

use super::SendError;
use crate::SHOP_TZ;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        /// Every notice there is a template for.
        pub const NOTICES: &[&str] = &[$($name),*];

        static SOURCES: &[(&str, &str)] = &[$(
            (concat!($name, ".txt"), include_str!(concat!("templates/", $name, ".txt"))),
            (concat!($name, ".html"), include_str!(concat!("templates/", $name, ".html"))),
        )*];
    };
}

templates!(
    "welcome",
    "order_placed",
    "payment_confirmed",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
    "tier_changed",
    "password_reset",
    "staff_locked",
    "inquiry_answered",
    "abandoned_cart",
    "review_request",
    "daily_sales_report",
    "marketing",
    "notice",
);

static ENV: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A notice sent without an optional part (no shipments yet) renders it empty.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, src) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("order_lines.html", include_str!("templates/order_lines.html")),
        ("order_lines.txt", include_str!("templates/order_lines.txt")),
    ] {
        env.add_template(name, src).map_err(|e| e.to_string())?;
    }
    for (name, src) in SOURCES {
        env.add_template(name, src).map_err(|e| format!("{name}: {e}"))?;
    }
    env.add_filter("won", won);
    env.add_filter("kst", kst);
    Ok(env)
});

/// `12000` → `12,000`.
pub fn thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}", if v < 0 { "-" } else { "" })
}

/// `12000` → `12,000원`.
fn won(v: i64) -> String {
    format!("{}원", thousands(v))
}

/// An RFC 3339 time → `2026년 12월 3일 14:05` in Seoul.
fn kst(v: &str) -> String {
    DateTime::parse_from_rfc3339(v).map_or_else(
        |_| v.to_owned(),
        |t| {
            t.with_timezone(&Utc)
                .with_timezone(&SHOP_TZ)
                .format("%Y년 %-m월 %-d일 %H:%M")
                .to_string()
        },
    )
}

/// A notice rendered for each channel.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// E-mail subject.
    pub subject: String,
    /// E-mail HTML, CSS inlined.
    pub html: String,
    /// E-mail plain text.
    pub text: String,
    /// The SMS/Alimtalk text, when the notice goes by phone too.
    pub sms: Option<String>,
}

/// Renders `notice` with `ctx` (which must hold `shop`).
pub fn render(notice: &str, ctx: &Value) -> Result<Rendered, SendError> {
    let env = ENV.as_ref().map_err(|e| SendError::Config(format!("templates: {e}")))?;
    let fault = |e: minijinja::Error| SendError::Config(format!("template {notice}: {e:#}"));
    let ctx = JinjaValue::from_serialize(ctx);
    let parts = env.get_template(&format!("{notice}.txt")).map_err(fault)?;
    let mut captured = parts.render_captured(context! { ..ctx.clone() }).map_err(fault)?;
    let (subject, text, sms) = captured
        .with_state_mut(|state| {
            let subject = state.render_block("subject")?.trim().to_owned();
            let text = tidy(&state.render_block("text")?);
            let sms = match state.render_block("sms") {
                Ok(s) if !s.trim().is_empty() => Some(tidy(&s)),
                _ => None,
            };
            Ok::<_, minijinja::Error>((subject, text, sms))
        })
        .map_err(fault)?;
    let html = env
        .get_template(&format!("{notice}.html"))
        .map_err(fault)?
        .render(context! { subject => subject.clone(), ..ctx })
        .map_err(fault)?;
    let html = css_inline::inline(&html).map_err(|e| SendError::Config(format!("inlining CSS: {e}")))?;
    Ok(Rendered {
        subject,
        html,
        text,
        sms,
    })
}

/// Trims each line's trailing space and the blank lines around the whole.
fn tidy(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn won_groups_thousands() {
        assert_eq!(won(0), "0원");
        assert_eq!(won(3000), "3,000원");
        assert_eq!(won(1_234_567), "1,234,567원");
        assert_eq!(won(-500), "-500원");
    }

    #[test]
    fn every_notice_renders_and_escapes_html() {
        let ctx = json!({
            "shop": { "name": "장터", "url": "https://shop.example", "company_name": "(주)장터", "ceo": "김장터",
                      "registration_number": "000-00-00000", "mail_order_number": "제2026-서울-0000호",
                      "address": "서울", "phone": "1588-0000", "email": "help@shop.example" },
            "customer": { "name": "<script>홍길동</script>" },
            "order": { "number": "20261203-000001", "orderer_name": "홍길동", "total": 42000, "discount": 0,
                       "shipping_fee": 3000, "refunded": 42000, "url": "https://shop.example/orders/20261203-000001",
                       "recipient": "홍길동", "address": "서울 강남구 테헤란로 1",
                       "lines": [{ "product_name": "한끼 쉐이크", "variant_name": "초코", "quantity": 2, "line_total": 39000 }],
                       "deposit": { "bank": "국민은행", "account_number": "123401-04-567890", "holder": "(주)장터",
                                    "due_at": "2026-12-06T14:59:59Z" },
                       "shipments": [{ "carrier_name": "CJ대한통운", "tracking_number": "123456789012",
                                       "tracking_url": "https://trace.cjlogistics.com/next/tracking.html?wblNo=123456789012" }] },
            "cart": { "url": "https://shop.example/cart",
                      "lines": [{ "product_name": "한끼 쉐이크", "variant_name": "", "quantity": 1, "line_total": 19500 }] },
            "tier": { "name": "골드", "previous_name": "실버", "points_rate": 3, "months": 3 },
            "report": { "day": "2026-12-02", "orders": 12, "gross": 480_000, "refunded": 0, "net": 480_000, "average": 40000 },
            "inquiry": { "name": "홍길동", "title": "배송 문의", "answer": "내일 출발합니다.", "order_number": null },
            "staff": { "name": "김매니저", "email": "m@shop.example", "until": "2026-12-03T01:15:00Z" },
            "message": { "subject": "12월 할인", "body": "전 상품 10% 할인" },
            "unsubscribe_url": "https://api.shop.example/unsubscribe?t=x",
            "opt_out_number": "080-000-0000",
            "reset_url": "https://shop.example/reset?token=x",
        });
        for notice in NOTICES {
            let r = render(notice, &ctx).unwrap_or_else(|e| panic!("{notice}: {e:?}"));
            assert!(!r.subject.is_empty(), "{notice} subject");
            assert!(r.html.contains("(주)장터"), "{notice} footer");
            assert!(!r.html.contains("<script>"), "{notice} escapes");
            assert!(!r.html.contains("<style"), "{notice} CSS inlined");
        }
        let placed = render("order_placed", &ctx).expect("order_placed");
        assert!(placed.text.contains("국민은행 123401-04-567890"), "{}", placed.text);
        assert!(
            placed.text.contains("2026년 12월 6일 23:59"),
            "due time in Seoul: {}",
            placed.text
        );
        assert!(placed.html.contains("style=\""), "inlined styles");
        let ad = render("marketing", &ctx).expect("marketing");
        assert!(ad.subject.starts_with("(광고)"));
        assert!(
            ad.sms
                .as_deref()
                .is_some_and(|s| s.starts_with("(광고)") && s.ends_with("무료수신거부 080-000-0000"))
        );
    }
}
