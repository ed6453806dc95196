//! Admin stock: levels by SKU, search or low stock; adjustments with a reason.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use commerce::catalog_admin;

use super::{
    connection::{connection, wants_total},
    context::Cx,
};
use crate::{
    error::GqlResult,
    storefront::{UserError, split},
};

/// A stock line.
#[derive(SimpleObject)]
pub struct StockItem {
    /// The variant.
    variant_id: ID,
    /// Its product.
    product_id: ID,
    /// Product name.
    product_name: String,
    /// Variant name.
    variant_name: String,
    /// SKU.
    sku: String,
    /// In the warehouse.
    on_hand: i32,
    /// Held by placed orders.
    allocated: i32,
    /// Sellable now.
    available: i32,
    /// Listed.
    published: bool,
}

connection!(StockConnection, StockEdge, StockItem, "stock lines");

impl From<catalog_admin::StockItem> for StockItem {
    fn from(i: catalog_admin::StockItem) -> StockItem {
        StockItem {
            variant_id: ID(i.variant_id.to_string()),
            product_id: ID(i.product_id.to_string()),
            product_name: i.product_name,
            variant_name: i.variant_name,
            sku: i.sku,
            on_hand: i.on_hand,
            allocated: i.allocated,
            available: i.available,
            published: i.published,
        }
    }
}

/// The result of a stock adjustment.
#[derive(SimpleObject)]
pub struct StockAdjustPayload {
    /// On hand after it.
    on_hand: Option<i32>,
    /// Sellable after it.
    available: Option<i32>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Admin stock queries.
#[derive(Default)]
pub struct StockQuery;

#[Object]
impl StockQuery {
    /// Stock lines, fewest available first, then by SKU: by exact `sku`, by `search` (SKU
    /// or names), or at or below `lowStock` available units; a page at a time.
    async fn stock(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        sku: Option<String>,
        search: Option<String>,
        low_stock: Option<i32>,
    ) -> Result<StockConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let filter = catalog_admin::StockFilter {
            sku,
            search,
            low: low_stock,
        };
        let page = catalog_admin::stock(
            cx.pool,
            cx.principal,
            &filter,
            first,
            after.as_deref(),
            wants_total(ctx),
        )
        .await
        .gql(ctx)?;
        Ok(StockConnection::from_page(page, StockItem::from))
    }
}

/// Admin stock mutations.
#[derive(Default)]
pub struct StockMutation;

#[Object]
impl StockMutation {
    /// Adjusts stock on hand by `delta` with a reason; never below what orders hold.
    async fn stock_adjust(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        delta: i32,
        reason: String,
    ) -> Result<StockAdjustPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            catalog_admin::adjust_stock(cx.pool, cx.principal, variant_id.parse()?, delta, &reason, cx.ip).await
        }
        .await;
        let (after, user_errors) = split(ctx, r)?;
        Ok(StockAdjustPayload {
            on_hand: after.map(|(on_hand, _)| on_hand),
            available: after.map(|(on_hand, allocated)| on_hand - allocated),
            user_errors,
        })
    }
}
