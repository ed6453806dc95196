//! `/sales`: orders, net sales, average order value and the change against the period
//! compared with, the top rows of a cut; and the daily report's heading above them.

use std::fmt::Write as _;

use super::{View, context, divider, fields, header, section};
use crate::{
    api::SalesComparison,
    command::{Cut, SalesQuery},
    format::{change, day, escape, int, won},
};

/// How many rows of a cut a sales answer lists.
pub const TOP_ROWS: usize = 10;

/// Under a period that runs up to today (`오늘`, `이번 주`, `이번 달`): at noon, today
/// against a whole day reads as a fall that isn't one.
const ONGOING: &str = "⏳ 오늘은 아직 끝나지 않았어요: 오늘은 지금까지의 매출이고 비교 기간은 하루 전체라, 변화가 실제보다 낮게 보일 수 있어요.";

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
    if q.ongoing {
        let _ = write!(text, "\n{ONGOING}");
        blocks.push(context(ONGOING));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Figures, ReportRow, SalesReport};
    use crate::command::{Command, parse};

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
    fn a_period_up_to_today_says_today_is_not_over() {
        let data = SalesComparison {
            current: SalesReport {
                rows: vec![],
                totals: figures(4, 150_000),
            },
            previous: figures(10, 240_000),
        };
        for text in ["/sales 오늘", "/sales 이번주", "/sales 이번달 채널별"] {
            let v = sales(&query(text), &data);
            assert!(v.text.contains("오늘은 아직 끝나지 않았어요"), "{text}: {}", v.text);
            assert!(
                v.blocks
                    .iter()
                    .any(|b| b.to_string().contains("오늘은 아직 끝나지 않았어요"))
            );
        }
        let v = sales(&query("/sales 어제"), &data);
        assert!(!v.text.contains("끝나지 않았어요"));
    }
}
