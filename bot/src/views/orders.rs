//! `/order`: one order (status, lines, amounts, payment, shipment), a short list when
//! several match, or none; and the Korean names of order states, channels and methods.

use std::fmt::Write as _;

use super::{View, context, fields, header, section, seoul};
use crate::{
    api::{Order, OrderList},
    format::{escape, int, won},
};

/// How many orders a list shows.
pub const ORDER_ROWS: usize = 10;

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
        "VIRTUAL_ACCOUNT" => "가상계좌",
        "TOSS" => "토스페이먼츠",
        "KAKAOPAY" => "카카오페이",
        "PORTONE" => "포트원",
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

/// Korean names of payment states (`payments[].status`); a deposit is "received".
fn payment_status_ko<'a>(method: &str, status: &'a str) -> &'a str {
    match (method, status) {
        ("BANK_TRANSFER" | "VIRTUAL_ACCOUNT", "PAID" | "DONE") => "입금 확인",
        (_, "PAID" | "DONE") => "결제 완료",
        (_, "READY") => "결제 대기",
        (_, "WAITING_FOR_DEPOSIT") => "입금 대기",
        (_, "FAILED") => "결제 실패",
        (_, "PARTIAL_CANCELLED") => "부분 취소",
        (_, "CANCELLED" | "CANCELED") => "결제 취소",
        (_, other) => other,
    }
}

fn payment_line(o: &Order) -> String {
    let method = method_ko(&o.payment_method);
    let mut s = format!("{method} {}", won(o.total));
    if let Some(p) = o.payments.last() {
        let _ = write!(s, " · {}", payment_status_ko(&p.method, &p.status));
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
        // A name search also finds recipients, and a phone's last 4 digits also find order
        // numbers: the recipient and the phone say why a row is there.
        let who = match &o.shipping_address {
            Some(to) if to.recipient != o.orderer_name => format!("{} (받는 분 {})", o.orderer_name, to.recipient),
            _ => o.orderer_name.clone(),
        };
        let row = format!(
            "{who} · {} · {} · {} · {}",
            o.phone,
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
    let _ = write!(text, "\n{}", hint.replace('`', ""));
    View {
        text,
        blocks: vec![header(&format!("🔎 {title}")), section(md.trim_end()), context(&hint)],
    }
}

/// `/order` that found nothing.
pub fn order_not_found(search: &str) -> View {
    let text = format!(
        "“{search}”에 맞는 주문이 없어요. 주문번호(예: 20261202-000001), 전화번호 뒤 4자리, \
         주문자나 받는 분의 이름 전체(예: 홍길동)로 찾을 수 있어요."
    );
    View {
        blocks: vec![section(&escape(&text))],
        text,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::api::{BankTransfer, Carrier, OrderLine, Payment, Recipient, Shipment};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("an RFC 3339 time")
    }

    fn sample_order() -> Order {
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

    #[test]
    fn one_order() {
        let v = order(&sample_order());
        insta::assert_json_snapshot!("order", v.blocks);
        insta::assert_snapshot!("order_text", v.text);
    }

    #[test]
    fn payment_states_read_in_korean() {
        let mut o = sample_order();
        assert!(order(&o).text.contains("결제 무통장입금 ₩57,800 · 입금 확인"));
        o.payment_method = "TOSS".into();
        o.payments[0].method = "TOSS".into();
        o.payments[0].status = "FAILED".into();
        let text = order(&o).text;
        assert!(text.contains("결제 토스페이먼츠 ₩57,800 · 결제 실패"), "{text}");
        o.payments[0].status = "PARTIAL_CANCELLED".into();
        assert!(order(&o).text.contains("· 부분 취소"));
        o.payments[0].status = "SOMETHING_NEW".into();
        assert!(order(&o).text.contains("· SOMETHING_NEW"));
    }

    #[test]
    fn several_orders() {
        let mut second = sample_order();
        second.number = "20261201-000007".into();
        second.status = "AWAITING_DEPOSIT".into();
        // Found by its recipient's name or phone: the row says so.
        second.orderer_name = "김*수".into();
        second.phone = "010-****-1234".into();
        let list = OrderList {
            total_count: 12,
            nodes: vec![sample_order(), second],
        };
        let v = order_list("5678", &list);
        insta::assert_json_snapshot!("order_list", v.blocks);
        assert!(v.text.contains("외 10건"));
        assert!(
            v.text
                .contains(" • 20261202-000001 홍*동 · 010-****-5678 · ₩57,800 · 배송중")
        );
        assert!(
            v.text
                .contains(" • 20261201-000007 김*수 (받는 분 홍*동) · 010-****-1234 · ₩57,800 · 입금 대기")
        );
        assert!(!v.text.contains('`'), "the text is plain: {}", v.text);
    }

    #[test]
    fn nothing_found_says_names_are_whole() {
        let v = order_not_found("김");
        assert!(v.text.starts_with("“김”에 맞는 주문이 없어요."));
        assert!(v.text.contains("이름 전체(예: 홍길동)"));
    }
}
