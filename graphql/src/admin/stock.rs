//! Admin stock: levels by SKU, search or low stock; adjustments with a reason; each
//! variant's movements (who, why, how much, when).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{catalog_admin, ids::VariantId};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    seoul,
};
use crate::{
    error::GqlResult,
    storefront::{
        UserError,
        catalog::{Product, product_by_id},
        split,
        variant::{Variant, variant_by_id},
    },
};

/// A stock line: one variant's units.
pub struct StockItem(catalog_admin::StockItem);

#[Object]
impl StockItem {
    /// The variant's id.
    async fn variant_id(&self) -> ID {
        ID(self.0.variant_id.to_string())
    }
    /// Its product's id.
    async fn product_id(&self) -> ID {
        ID(self.0.product_id.to_string())
    }
    /// The variant (price, options, stock status); batched over the page.
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        variant_by_id(ctx, self.0.variant_id).await
    }
    /// Its product, drafts included; batched over the page.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        product_by_id(ctx, self.0.product_id).await
    }
    /// Product name.
    async fn product_name(&self) -> &str {
        &self.0.product_name
    }
    /// Variant name.
    async fn variant_name(&self) -> &str {
        &self.0.variant_name
    }
    /// SKU.
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    /// In the warehouse.
    async fn on_hand(&self) -> i32 {
        self.0.on_hand
    }
    /// Held by placed orders.
    async fn allocated(&self) -> i32 {
        self.0.allocated
    }
    /// Sellable now.
    async fn available(&self) -> i32 {
        self.0.available
    }
    /// At or below this many available, the variant is low on stock.
    async fn low_stock_threshold(&self) -> i32 {
        self.0.low_stock_threshold
    }
    /// Available is at or below the threshold.
    async fn low_stock(&self) -> bool {
        self.0.available <= self.0.low_stock_threshold
    }
    /// Listed.
    async fn published(&self) -> bool {
        self.0.published
    }
}

connection!(StockConnection, StockEdge, StockItem, "stock lines");

/// One change of a variant's stock.
#[derive(SimpleObject)]
pub struct StockMovement {
    /// Opaque id.
    id: ID,
    /// Change of units on hand.
    delta_on_hand: i32,
    /// Change of units held by placed orders.
    delta_allocated: i32,
    /// What kind of change: `ADJUSTMENT`, `ORDER_PLACED`, `ORDER_CANCELLED`, `PAYMENT_EXPIRED`, `SHIPPED`…
    reason: String,
    /// Why, in staff's words (adjustments); null when none.
    note: Option<String>,
    /// Who: `staff:stf_…`, `customer:cus_…`, `guest` or `system`.
    actor: String,
    /// The staff member's name, when staff did it.
    staff_name: Option<String>,
    /// The order's number, when an order caused it.
    order_number: Option<String>,
    /// When (Seoul time).
    created_at: DateTime<FixedOffset>,
}

impl From<catalog_admin::StockMovement> for StockMovement {
    fn from(m: catalog_admin::StockMovement) -> StockMovement {
        StockMovement {
            id: ID(m.id.to_string()),
            delta_on_hand: m.delta_on_hand,
            delta_allocated: m.delta_allocated,
            reason: m.reason,
            note: Some(m.note).filter(|n| !n.is_empty()),
            actor: m.actor,
            staff_name: m.staff_name,
            order_number: m.order_number,
            created_at: seoul(m.created_at),
        }
    }
}

connection!(
    StockMovementConnection,
    StockMovementEdge,
    StockMovement,
    "stock movements"
);

/// The result of a stock adjustment.
#[derive(SimpleObject)]
pub struct StockAdjustPayload {
    /// The stock line after it, with its variant and product.
    stock_item: Option<StockItem>,
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
    /// or names), at or below `lowStock` available units, or at or below (`belowThreshold:
    /// true`) or above (`false`) each variant's own `lowStockThreshold`; a page at a time.
    #[allow(clippy::too_many_arguments)] // the filters are the field's arguments
    async fn stock(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        sku: Option<String>,
        search: Option<String>,
        low_stock: Option<i32>,
        below_threshold: Option<bool>,
    ) -> Result<StockConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let filter = catalog_admin::StockFilter {
            sku,
            search,
            low: low_stock,
            below_threshold,
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
        Ok(StockConnection::from_page(page, StockItem))
    }

    /// A variant's stock movements, newest first: who changed it, why, by how much, when.
    async fn stock_movements(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<StockMovementConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let variant = variant_id.parse::<VariantId>().gql(ctx)?;
        let page = catalog_admin::stock_movements(
            cx.pool,
            cx.principal,
            variant,
            first,
            after.as_deref(),
            wants_total(ctx),
        )
        .await
        .gql(ctx)?;
        Ok(StockMovementConnection::from_page(page, StockMovement::from))
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
        let (on_hand, available) = (after.as_ref().map(|i| i.on_hand), after.as_ref().map(|i| i.available));
        Ok(StockAdjustPayload {
            stock_item: after.map(StockItem),
            on_hand,
            available,
            user_errors,
        })
    }
}
