//! `/stock` against the admin API: stock lines by SKU or name, or those below their
//! threshold (`BotStock`), and the adjustment the alerts' buttons make (`BotStockAdjust`).

use serde::Deserialize;
use serde_json::json;

use super::{Api, ApiError, UserError};

impl Api {
    /// Stock lines by SKU or name, or those at or below their threshold (`BotStock`).
    pub async fn stock(&self, search: Option<&str>, first: u32) -> Result<StockList, ApiError> {
        const Q: &str = "query BotStock($search: String, $low: Boolean, $first: Int!) {
  stock(first: $first, search: $search, belowThreshold: $low) {
    totalCount
    nodes { variantId productName variantName sku onHand allocated available lowStockThreshold lowStock published }
  }
}";
        #[derive(Deserialize)]
        struct Data {
            stock: StockList,
        }
        let low = search.is_none().then_some(true);
        let d: Data = self
            .run("BotStock", Q, json!({ "search": search, "low": low, "first": first }))
            .await?;
        Ok(d.stock)
    }

    /// Adds `delta` units to a variant's stock on hand (`BotStockAdjust`); the service checks
    /// the acting member's role. A user error comes back as [`ApiError::Other`].
    pub async fn stock_adjust(&self, variant_id: &str, delta: i64, reason: &str) -> Result<StockItem, ApiError> {
        const Q: &str = "mutation BotStockAdjust($variantId: ID!, $delta: Int!, $reason: String!) {
  stockAdjust(variantId: $variantId, delta: $delta, reason: $reason) {
    stockItem { variantId productName variantName sku onHand allocated available lowStockThreshold lowStock published }
    userErrors { code message }
  }
}";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            stock_adjust: Payload,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            stock_item: Option<StockItem>,
            user_errors: Vec<UserError>,
        }
        let vars = json!({ "variantId": variant_id, "delta": delta, "reason": reason });
        let d: Data = self.run("BotStockAdjust", Q, vars).await?;
        if let Some(e) = d.stock_adjust.user_errors.first() {
            return Err(ApiError::from_code(&e.code, &e.message));
        }
        d.stock_adjust.stock_item.ok_or(ApiError::NotFound)
    }
}

/// A variant's stock.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct StockItem {
    pub variant_id: String,
    pub product_name: String,
    pub variant_name: String,
    pub sku: String,
    pub on_hand: i64,
    pub allocated: i64,
    pub available: i64,
    pub low_stock_threshold: i64,
    pub low_stock: bool,
    pub published: bool,
}

/// A page of stock lines.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StockList {
    /// How many match in all.
    pub total_count: i64,
    /// Fewest available first.
    pub nodes: Vec<StockItem>,
}
