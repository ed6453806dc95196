//! Every answer twice: Block Kit (`serde_json::Value`, for Slack) and plain text (Slack's
//! notification fallback, and what the console prints). Amounts in full won; personal data
//! exactly as the admin API returned it (masked for the role); nothing raw from GraphQL.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    api::{Alert, ApiError, Order, OrderList, SalesComparison, StockItem, StockList},
    command::{CommandName, Cut, SalesQuery},
    format::{change, day, escape, int, won},
};

/// An answer's text and blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// Plain text: the whole answer, readable without blocks.
    pub text: String,
    /// Block Kit blocks.
    pub blocks: Vec<Value>,
}

/// How many rows of a cut a sales answer lists.
pub const TOP_ROWS: usize = 10;
/// How many orders a list shows.
pub const ORDER_ROWS: usize = 10;
/// How many stock lines an answer shows.
pub const STOCK_ROWS: usize = 20;

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

/// `/sales`: orders, net sales, average order value, the change against the previous
/// period, and the top rows of the cut.
pub fn sales(q: &SalesQuery, data: &SalesComparison) -> View {
    let now = &data.current.totals;
    let before = &data.previous;
    let cut = if q.cut == Cut::None {
        String::new()
    } else {
        format!(" · {}", q.cut.label())
    };
    let when = if q.period.label.starts_with(|c: char| c.is_ascii_digit()) {
        q.period.label.clone()
    } else {
        format!(
            "{} · {}",
            q.period.label,
            crate::format::range(q.period.from, q.period.to)
        )
    };
    let title = format!("매출 · {when}{cut}");
    let vs = change(now.net_sales, before.net_sales);
    let compared = crate::format::range(q.previous.from, q.previous.to);
    let mut text = format!(
        "{title}\n주문 {}건 · 순매출 {} · 객단가 {}\n이전 기간({compared}) 대비 {vs} (순매출 {}, 주문 {}건)\n\
         판매 {}개 · 할인 {} · 환불 {} · 배송비 {}",
        int(now.orders),
        won(now.net_sales),
        won(now.average_order_value()),
        won(before.net_sales),
        int(before.orders),
        int(now.units),
        won(now.discounts),
        won(now.refunds),
        won(now.shipping_fees),
    );
    let mut blocks = vec![
        header(&format!("📈 {title}")),
        fields(&[
            ("주문", format!("{}건", int(now.orders))),
            ("순매출", won(now.net_sales)),
            ("객단가", won(now.average_order_value())),
            ("이전 기간 대비", format!("{vs}\n_{}_", won(before.net_sales))),
        ]),
        // The period's own details, then the period compared with: in one line, the
        // details read as the compared period's.
        context(&format!(
            "판매 {}개 · 할인 {} · 환불 {} · 배송비 {}",
            int(now.units),
            won(now.discounts),
            won(now.refunds),
            won(now.shipping_fees),
        )),
        context(&format!("비교 기간 {compared} · 주문 {}건", int(before.orders))),
    ];
    if q.cut != Cut::None {
        let top = data.current.top();
        blocks.push(divider());
        if top.is_empty() {
            let _ = write!(text, "\n{}: 판매 없음", q.cut.label());
            blocks.push(section(&format!("*{}*\n판매가 없어요.", q.cut.label())));
        } else {
            let lines: Vec<(String, String)> = top
                .iter()
                .take(TOP_ROWS)
                .enumerate()
                .map(|(i, r)| {
                    let tail = format!("{} · {}건 · {}개", won(r.net_sales), int(r.orders), int(r.units));
                    (
                        format!("{}. *{}* — {tail}", i + 1, escape(&r.label)),
                        format!("{:>2}. {} — {tail}", i + 1, r.label),
                    )
                })
                .collect();
            let more = top.len().saturating_sub(TOP_ROWS);
            let heading = format!("{} 상위 {}", q.cut.label(), top.len().min(TOP_ROWS));
            let _ = write!(text, "\n{heading}:");
            for (_, plain) in &lines {
                let _ = write!(text, "\n{plain}");
            }
            let mut md = format!("*{heading}*");
            for (m, _) in &lines {
                md.push('\n');
                md.push_str(m);
            }
            if more > 0 {
                let _ = write!(text, "\n외 {more}개");
                let _ = write!(md, "\n_외 {more}개_");
            }
            blocks.push(section(&md));
        }
    }
    View { text, blocks }
}

/// Korean names of order states.
pub fn status_ko(status: &str) -> &str {
    match status {
        "PENDING_PAYMENT" => "결제 대기",
        "AWAITING_DEPOSIT" => "입금 대기",
        "PAID" => "결제 완료",
        "EXPIRED" => "입금 기한 만료",
        "PREPARING" => "배송 준비중",
        "SHIPPED" => "배송중",
        "DELIVERED" => "배송 완료",
        "COMPLETED" => "구매 확정",
        "CANCELLED" => "취소",
        "RETURN_REQUESTED" => "반품 요청",
        "RETURNED" => "반품 완료",
        other => other,
    }
}

/// Korean names of sales channels.
pub fn channel_ko(channel: &str) -> &str {
    match channel {
        "PC_WEB" => "PC 웹",
        "MOBILE_WEB" => "모바일 웹",
        "APP" => "앱",
        "EXTERNAL" => "외부 채널",
        other => other,
    }
}

fn method_ko(method: &str) -> &str {
    match method {
        "BANK_TRANSFER" => "무통장입금",
        "CARD" => "카드",
        "KAKAO_PAY" => "카카오페이",
        other => other,
    }
}

/// `/order` with one match: status, lines, amounts, payment, shipment (ephemeral).
pub fn order(o: &Order) -> View {
    let title = format!("주문 {}", o.number);
    let status = status_ko(&o.status);
    let orderer = format!("{} · {}", o.orderer_name, o.phone);
    let placed = seoul(o.created_at);
    let payment = payment_line(o);
    let mut text = format!(
        "{title} — {status}\n주문일 {placed} · {}\n주문자 {orderer}\n결제 {payment}",
        channel_ko(&o.channel)
    );
    let mut blocks = vec![
        header(&format!("🧾 {title}")),
        fields(&[
            ("상태", status.to_owned()),
            ("주문일", format!("{placed} · {}", channel_ko(&o.channel))),
            ("주문자", escape(&orderer)),
            ("결제", escape(&payment)),
        ]),
    ];
    let mut md = String::from("*주문 상품*");
    text.push_str("\n주문 상품:");
    for l in &o.lines {
        let gift = if l.is_gift { " (사은품)" } else { "" };
        let name = if l.variant_name.is_empty() {
            l.product_name.clone()
        } else {
            format!("{} / {}", l.product_name, l.variant_name)
        };
        let tail = format!("× {} — {}", int(l.quantity), won(l.line_total));
        let _ = write!(md, "\n• {} (`{}`){gift} {tail}", escape(&name), escape(&l.sku));
        let _ = write!(text, "\n • {name} ({}){gift} {tail}", l.sku);
    }
    blocks.push(section(&md));
    let mut amounts = vec![
        ("상품 합계", won(o.subtotal)),
        ("할인", won(o.discount)),
        ("배송비", won(o.shipping_fee)),
        ("결제 금액", won(o.total)),
    ];
    if o.refunded > 0 {
        amounts.push(("환불", won(o.refunded)));
    }
    let _ = write!(
        text,
        "\n상품 합계 {} · 할인 {} · 배송비 {} · 결제 금액 {}",
        won(o.subtotal),
        won(o.discount),
        won(o.shipping_fee),
        won(o.total)
    );
    if o.refunded > 0 {
        let _ = write!(text, " · 환불 {}", won(o.refunded));
    }
    blocks.push(fields(&amounts));
    if o.shipments.is_empty() {
        if let Some(to) = &o.shipping_address {
            let who = format!("{} · {}", to.recipient, to.phone);
            let _ = write!(text, "\n받는 분 {who} · 아직 발송 전");
            blocks.push(context(&format!("받는 분 {} · 아직 발송 전", escape(&who))));
        }
    } else {
        let mut md = String::from("*배송*");
        text.push_str("\n배송:");
        for s in &o.shipments {
            let done = s.delivered_at.map_or_else(
                || format!("발송 {}", seoul(s.shipped_at)),
                |d| format!("배송 완료 {}", seoul(d)),
            );
            let _ = write!(
                md,
                "\n🚚 {} `{}` · {done} · <{}|배송 조회>",
                escape(&s.carrier.name),
                escape(&s.tracking_number),
                s.tracking_url
            );
            let _ = write!(
                text,
                "\n {} {} · {done} · {}",
                s.carrier.name, s.tracking_number, s.tracking_url
            );
        }
        blocks.push(section(&md));
    }
    if !o.masked_fields.is_empty() {
        blocks.push(context("🔒 개인정보는 역할에 따라 가려져 있어요."));
    }
    View { text, blocks }
}

fn payment_line(o: &Order) -> String {
    let method = method_ko(&o.payment_method);
    let mut s = format!("{method} {}", won(o.total));
    if let Some(p) = o.payments.last() {
        let _ = write!(s, " · {}", p.status);
    }
    if let Some(bt) = &o.bank_transfer
        && o.status == "AWAITING_DEPOSIT"
    {
        let _ = write!(s, " · {} 입금 기한 {}", bt.bank, seoul(bt.due_at));
    }
    if let Some(name) = &o.depositor_name {
        let _ = write!(s, " · 입금자 {name}");
    }
    s
}

/// `/order` with several matches: a short list, newest first.
pub fn order_list(search: &str, list: &OrderList) -> View {
    let title = format!("주문 검색 “{search}” · {}건", int(list.total_count));
    let mut md = String::new();
    let mut text = title.clone();
    for o in list.nodes.iter().take(ORDER_ROWS) {
        let row = format!(
            "{} · {} · {} · {}",
            o.orderer_name,
            won(o.total),
            status_ko(&o.status),
            seoul(o.created_at)
        );
        let _ = writeln!(md, "• `{}` {}", o.number, escape(&row));
        let _ = write!(text, "\n • {} {row}", o.number);
    }
    let shown = list.nodes.len().min(ORDER_ROWS);
    let rest = usize::try_from(list.total_count).unwrap_or(0).saturating_sub(shown);
    let hint = if rest > 0 {
        format!("외 {rest}건 · 한 건을 보려면 `/order 주문번호`")
    } else {
        "한 건을 보려면 `/order 주문번호`".to_owned()
    };
    let _ = write!(text, "\n{hint}");
    View {
        text,
        blocks: vec![header(&format!("🔎 {title}")), section(md.trim_end()), context(&hint)],
    }
}

/// `/order` that found nothing.
pub fn order_not_found(search: &str) -> View {
    let text = format!(
        "“{search}”에 맞는 주문이 없어요. 주문번호(예: 20261202-000001), 전화번호 뒤 4자리, 이름으로 찾을 수 있어요."
    );
    View {
        blocks: vec![section(&escape(&text))],
        text,
    }
}

fn stock_line(s: &StockItem) -> (String, String) {
    let flag = if s.available <= 0 {
        "⛔ 품절"
    } else if s.low_stock {
        "⚠️ 부족"
    } else {
        "✅"
    };
    let name = if s.variant_name.is_empty() {
        s.product_name.clone()
    } else {
        format!("{} / {}", s.product_name, s.variant_name)
    };
    let hidden = if s.published { "" } else { " (비공개)" };
    let nums = format!(
        "가용 {} · 보유 {} · 할당 {} · 기준 {}",
        int(s.available),
        int(s.on_hand),
        int(s.allocated),
        int(s.low_stock_threshold)
    );
    (
        format!("{flag} `{}` {}{hidden} — {nums}", escape(&s.sku), escape(&name)),
        format!("{flag} {} {name}{hidden} — {nums}", s.sku),
    )
}

/// `/stock`: on hand, allocated, available per variant, low-stock flags. `low` says the
/// list is `/stock low`.
pub fn stock(search: Option<&str>, list: &StockList) -> View {
    let title = match search {
        Some(s) => format!("재고 “{s}” · {}개", int(list.total_count)),
        None => format!("재고 부족 · {}개", int(list.total_count)),
    };
    if list.nodes.is_empty() {
        let text = match search {
            Some(s) => format!("{title}\n“{s}”에 맞는 SKU나 상품이 없어요."),
            None => format!("{title}\n기준 아래로 떨어진 재고가 없어요. 👍"),
        };
        return View {
            blocks: vec![
                header(&format!("📦 {title}")),
                section(&escape(text.lines().nth(1).unwrap_or(""))),
            ],
            text,
        };
    }
    let mut text = title.clone();
    let mut blocks = vec![header(&format!("📦 {title}"))];
    let mut md = String::new();
    for s in list.nodes.iter().take(STOCK_ROWS) {
        let (m, plain) = stock_line(s);
        let _ = write!(text, "\n{plain}");
        // Keep each section under Slack's 3,000 characters.
        if md.chars().count() + m.chars().count() > 2900 {
            blocks.push(section(md.trim_end()));
            md.clear();
        }
        md.push_str(&m);
        md.push('\n');
    }
    blocks.push(section(md.trim_end()));
    let rest = usize::try_from(list.total_count)
        .unwrap_or(0)
        .saturating_sub(list.nodes.len().min(STOCK_ROWS));
    if rest > 0 {
        let _ = write!(text, "\n외 {rest}개");
        blocks.push(context(&format!("외 {rest}개 · 더 좁혀 찾아 보세요")));
    }
    View { text, blocks }
}

/// What a stock adjustment did (ephemeral, to the member who clicked).
pub fn stock_adjusted(s: &StockItem, delta: i64) -> View {
    let (m, plain) = stock_line(s);
    let sign = if delta >= 0 { "+" } else { "" };
    let text = format!("재고를 {sign}{} 조정했어요.\n{plain}", int(delta));
    View {
        blocks: vec![section(&format!("재고를 *{sign}{}* 조정했어요.\n{m}", int(delta)))],
        text,
    }
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

/// A proactive alert with its buttons: "open in admin" (a link) and, for stock alerts,
/// "+10" / "+50" stock adjustments made with the clicking member's own rights.
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

/// The daily report's heading above yesterday's sales.
pub fn daily_report(sales: &View, date: chrono::NaiveDate) -> View {
    let title = format!("☀️ 어제({})의 매출 리포트", day(date));
    let mut blocks = vec![section(&format!("*{title}*"))];
    blocks.extend(sales.blocks.iter().cloned());
    View {
        text: format!("{title}\n{}", sales.text),
        blocks,
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
    use crate::api::{BankTransfer, Carrier, Figures, OrderLine, Payment, Recipient, ReportRow, SalesReport, Shipment};
    use crate::command::{Command, parse};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("an RFC 3339 time")
    }

    fn query(text: &str) -> SalesQuery {
        match parse(text, "2026-12-10".parse().expect("a date")) {
            Command::Sales(q) => q,
            other => panic!("{other:?}"),
        }
    }

    fn figures(orders: i64, net: i64) -> Figures {
        Figures {
            orders,
            units: orders * 2,
            gross_sales: net + 10_000,
            discounts: 10_000,
            shipping_fees: 3000 * orders,
            refunds: 0,
            net_sales: net,
        }
    }

    fn row(key: &str, label: &str, net: i64) -> ReportRow {
        ReportRow {
            period: "2026-12-01".parse().expect("a date"),
            key: Some(key.into()),
            label: Some(label.into()),
            orders: 3,
            units: 4,
            net_sales: net,
        }
    }

    pub(crate) fn sample_order() -> Order {
        Order {
            number: "20261202-000001".into(),
            status: "SHIPPED".into(),
            channel: "MOBILE_WEB".into(),
            created_at: t("2026-12-02T05:03:00Z"),
            paid_at: Some(t("2026-12-02T06:00:00Z")),
            orderer_name: "홍*동".into(),
            phone: "010-****-5678".into(),
            email: "h***@example.com".into(),
            subtotal: 59_800,
            discount: 5000,
            shipping_fee: 3000,
            total: 57_800,
            refunded: 0,
            payment_method: "BANK_TRANSFER".into(),
            depositor_name: None,
            masked_fields: vec!["phone".into(), "email".into()],
            bank_transfer: Some(BankTransfer {
                bank: "국민은행".into(),
                amount: 57_800,
                depositor_name: None,
                due_at: t("2026-12-05T05:03:00Z"),
            }),
            payments: vec![Payment {
                method: "BANK_TRANSFER".into(),
                provider: "bank".into(),
                amount: 57_800,
                status: "DONE".into(),
                created_at: t("2026-12-02T06:00:00Z"),
            }],
            lines: vec![
                OrderLine {
                    product_name: "프로틴 쉐이크".into(),
                    variant_name: "초코 1kg".into(),
                    sku: "PRO-CHOC-1KG".into(),
                    unit_price: 29_900,
                    quantity: 2,
                    line_total: 59_800,
                    is_gift: false,
                },
                OrderLine {
                    product_name: "셰이커".into(),
                    variant_name: String::new(),
                    sku: "GIFT-SHAKER".into(),
                    unit_price: 0,
                    quantity: 1,
                    line_total: 0,
                    is_gift: true,
                },
            ],
            shipments: vec![Shipment {
                carrier: Carrier {
                    code: "CJ".into(),
                    name: "CJ대한통운".into(),
                },
                tracking_number: "601234567890".into(),
                tracking_url: "https://trace.cjlogistics.com/next/tracking.html?wblNo=601234567890".into(),
                shipped_at: t("2026-12-03T01:00:00Z"),
                delivered_at: None,
            }],
            shipping_address: Some(Recipient {
                recipient: "홍*동".into(),
                phone: "010-****-5678".into(),
            }),
        }
    }

    fn stock_item(sku: &str, available: i64, low: bool) -> StockItem {
        StockItem {
            variant_id: format!("var_{sku}"),
            product_name: "프로틴 쉐이크".into(),
            variant_name: sku.to_lowercase(),
            sku: sku.into(),
            on_hand: available + 2,
            allocated: 2,
            available,
            low_stock_threshold: 5,
            low_stock: low,
            published: true,
        }
    }

    #[test]
    fn sales_by_channel() {
        let data = SalesComparison {
            current: SalesReport {
                rows: vec![row("MOBILE_WEB", "모바일 웹", 800_000), row("PC_WEB", "PC 웹", 434_500)],
                totals: figures(12, 1_234_500),
            },
            previous: figures(10, 1_100_000),
        };
        let v = sales(&query("/sales 어제 채널별"), &data);
        insta::assert_json_snapshot!("sales_yesterday_by_channel", v.blocks);
        insta::assert_snapshot!("sales_yesterday_by_channel_text", v.text);
        assert!(v.text.contains("순매출 ₩1,234,500") && v.text.contains("▲ 12.2%"));
    }

    #[test]
    fn sales_totals_only_against_an_empty_period() {
        let data = SalesComparison {
            current: SalesReport {
                rows: vec![],
                totals: figures(3, 90_000),
            },
            previous: Figures::default(),
        };
        let v = sales(&query("/sales 2026-12-01..2026-12-07"), &data);
        insta::assert_json_snapshot!("sales_range_no_previous", v.blocks);
        assert!(v.text.contains("대비 – "));
    }

    #[test]
    fn one_order() {
        let v = order(&sample_order());
        insta::assert_json_snapshot!("order", v.blocks);
        insta::assert_snapshot!("order_text", v.text);
    }

    #[test]
    fn several_orders() {
        let mut second = sample_order();
        second.number = "20261201-000007".into();
        second.status = "AWAITING_DEPOSIT".into();
        let list = OrderList {
            total_count: 12,
            nodes: vec![sample_order(), second],
        };
        let v = order_list("5678", &list);
        insta::assert_json_snapshot!("order_list", v.blocks);
        assert!(v.text.contains("외 10건"));
    }

    #[test]
    fn stock_with_flags() {
        let list = StockList {
            total_count: 3,
            nodes: vec![
                stock_item("PRO-CHOC-1KG", 0, true),
                stock_item("PRO-VAN-1KG", 3, true),
                stock_item("PRO-STR-1KG", 40, false),
            ],
        };
        let v = stock(Some("프로틴"), &list);
        insta::assert_json_snapshot!("stock_search", v.blocks);
        insta::assert_snapshot!("stock_search_text", v.text);
        let none = stock(
            None,
            &StockList {
                total_count: 0,
                nodes: vec![],
            },
        );
        assert!(none.text.contains("떨어진 재고가 없어요"));
    }

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
}
