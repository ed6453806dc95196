//! Admin shipping: carriers, one shipment, shipments imported from a courier's CSV.

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::{context::Cx, order::AdminOrder, orders::target};
use crate::{
    error::GqlResult,
    storefront::{UserError, split},
};

/// A carrier.
#[derive(SimpleObject)]
pub struct Carrier {
    /// Code, e.g. `CJ`.
    code: String,
    /// Name.
    name: String,
    /// Tracking page, `{n}` standing for the number.
    tracking_url_template: String,
}

/// A shipment.
#[derive(SimpleObject)]
pub struct Shipment {
    /// Carrier code.
    carrier: String,
    /// Carrier name.
    carrier_name: String,
    /// Digits.
    tracking_number: String,
    /// The carrier's tracking page.
    tracking_url: String,
}

/// The result of shipping an order.
#[derive(SimpleObject)]
pub struct ShipmentCreatePayload {
    /// The shipment.
    shipment: Option<Shipment>,
    /// The order, now `SHIPPED`.
    order: Option<AdminOrder>,
    /// The carrier's tracking page.
    tracking_url: Option<String>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// One row of a shipments import.
#[derive(SimpleObject)]
pub struct ShipmentImportRow {
    /// Line in the CSV (1-based).
    line: i32,
    /// The order number on it.
    order_number: String,
    /// Shipped.
    ok: bool,
    /// Why not.
    error: Option<UserError>,
}

/// The result of a shipments import.
#[derive(SimpleObject)]
pub struct ShipmentsImportPayload {
    /// Every row, in order.
    rows: Vec<ShipmentImportRow>,
    /// Rows shipped.
    shipped: i32,
    /// Rows refused.
    failed: i32,
    /// What went wrong for the whole import.
    user_errors: Vec<UserError>,
}

/// Admin queries about shipping.
#[derive(Default)]
pub struct ShippingQuery;

#[Object]
impl ShippingQuery {
    /// Carriers for `shipmentCreate`.
    async fn carriers(&self, ctx: &Context<'_>) -> Result<Vec<Carrier>> {
        let cx = Cx::staff(ctx).await?;
        let list = commerce::shipping::carriers(cx.pool).await.gql(ctx)?;
        Ok(list
            .into_iter()
            .map(|c| Carrier {
                code: c.code,
                name: c.name,
                tracking_url_template: c.tracking_url_template,
            })
            .collect())
    }
}

/// Admin mutations on shipping.
#[derive(Default)]
pub struct ShippingMutation;

#[Object]
impl ShippingMutation {
    /// Ships an order (PAID or PREPARING → SHIPPED) named by `orderId` or `orderNumber`
    /// (exactly one, else `INVALID_INPUT`) with a carrier code and tracking number.
    async fn shipment_create(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        order_number: Option<String>,
        carrier: String,
        tracking_number: String,
    ) -> Result<ShipmentCreatePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id = target(&cx, order_id.as_ref(), order_number.as_deref()).await?;
            let s = commerce::shipping::create_shipment(cx.pool, cx.principal, id, &carrier, &tracking_number, cx.ip)
                .await?;
            // The order as staff see it (masked for the roles that don't see personal data).
            let order = commerce::order::admin::view(cx.pool, cx.principal, id).await?;
            Ok((s, order))
        }
        .await;
        let (shipped, user_errors) = split(ctx, r)?;
        Ok(match shipped {
            Some((s, order)) => ShipmentCreatePayload {
                tracking_url: Some(s.tracking_url.clone()),
                shipment: Some(Shipment {
                    carrier: s.carrier.code,
                    carrier_name: s.carrier.name,
                    tracking_number: s.tracking_number,
                    tracking_url: s.tracking_url,
                }),
                order: Some(order.into()),
                user_errors,
            },
            None => ShipmentCreatePayload {
                shipment: None,
                order: None,
                tracking_url: None,
                user_errors,
            },
        })
    }

    /// Ships many orders from CSV text as a courier's Excel export has it (UTF-8 BOM, CRLF,
    /// quoted fields): order number, carrier code, tracking number per row, or the columns a
    /// header row names (`주문번호`, `택배사`, `송장번호`); bad rows are reported with their
    /// line, good rows go through.
    async fn shipments_import(&self, ctx: &Context<'_>, csv: String) -> Result<ShipmentsImportPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = commerce::shipping::import_shipments(cx.pool, cx.principal, &csv, cx.ip).await;
        let (rows, user_errors) = split(ctx, r)?;
        let rows: Vec<ShipmentImportRow> = rows
            .unwrap_or_default()
            .into_iter()
            .map(|row| ShipmentImportRow {
                line: i32::try_from(row.line).unwrap_or(i32::MAX),
                order_number: row.number,
                ok: row.error.is_none(),
                error: row.error.as_ref().map(|e| crate::storefront::user_error(ctx, e)),
            })
            .collect();
        let shipped = i32::try_from(rows.iter().filter(|r| r.ok).count()).unwrap_or(i32::MAX);
        let failed = i32::try_from(rows.len()).unwrap_or(i32::MAX) - shipped;
        Ok(ShipmentsImportPayload {
            rows,
            shipped,
            failed,
            user_errors,
        })
    }
}
