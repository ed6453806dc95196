//! `/stock`: on hand, allocated and available per variant with low-stock flags, and what
//! an alert button's stock adjustment did.

use std::fmt::Write as _;

use super::{View, context, header, section};
use crate::{
    api::{StockItem, StockList},
    format::{escape, int},
};

/// How many stock lines an answer shows.
pub const STOCK_ROWS: usize = 20;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
