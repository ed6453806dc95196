//! The order's own messages: placed (bank account and due time), paid, shipped, delivered,
//! cancelled, refunded. Transactional: they go whatever the customer's marketing consent,
//! by e-mail to the order's address and by Alimtalk/SMS to its phone.

use serde_json::{Value, json};
use sqlx::PgPool;

use super::{About, Notifier};
use crate::{
    ids::{JobId, OrderId},
    jobs::worker::JobFailure,
    order::{self, Order, OrderKey, OrderStatus},
};

/// The job kind; payload `{order, status}`.
pub const JOB: &str = "notify.order";

/// The notice an order's move to `status` sends, if any (a gateway order placed but not
/// yet paid sends nothing: the payment's confirmation does).
pub fn notice_for(status: OrderStatus) -> Option<&'static str> {
    match status {
        OrderStatus::AwaitingDeposit => Some("order_placed"),
        OrderStatus::Paid => Some("payment_confirmed"),
        OrderStatus::Shipped => Some("shipped"),
        OrderStatus::Delivered => Some("delivered"),
        OrderStatus::Cancelled => Some("cancelled"),
        OrderStatus::Returned => Some("refunded"),
        _ => None,
    }
}

/// The statuses that send a notice, in their database form (for the enqueueing SQL).
pub fn notifying_statuses() -> Vec<String> {
    use strum::IntoEnumIterator;
    OrderStatus::iter()
        .filter(|s| notice_for(*s).is_some())
        .map(|s| s.as_str().to_owned())
        .collect()
}

/// An order as its templates read it.
pub fn context(o: &Order, storefront_url: &str) -> Value {
    let a = &o.shipping_address;
    let address = [a.road_address.as_str(), a.detail_address.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "number": o.number,
        "status": o.status.as_str(),
        "orderer_name": o.orderer_name,
        "lines": o.lines.iter().map(|l| json!({
            "product_name": l.product_name, "variant_name": l.variant_name, "quantity": l.quantity,
            "unit_price": l.unit_price.get(), "line_total": l.line_total.get(), "is_gift": l.is_gift,
        })).collect::<Vec<_>>(),
        "subtotal": o.subtotal.get(),
        "discount": o.discount.get(),
        "shipping_fee": o.shipping_fee.get(),
        "total": o.total.get(),
        "refunded": o.refunded.get(),
        "deposit": o.deposit.as_ref().map(|d| json!({
            "bank": d.bank, "account_number": d.account_number, "holder": d.holder, "due_at": d.due_at,
        })),
        "shipments": o.shipments.iter().map(|s| json!({
            "carrier_name": s.carrier_name, "tracking_number": s.tracking_number, "tracking_url": s.tracking_url,
        })).collect::<Vec<_>>(),
        "recipient": a.recipient,
        "address": address,
        "created_at": o.created_at,
        "url": format!("{}/orders/{}", storefront_url.trim_end_matches('/'), o.number),
    })
}

/// Runs a `notify.order` job: the notice of the status the order moved to, by e-mail and
/// by phone.
pub async fn run(pool: &PgPool, notifier: &Notifier, job: JobId, payload: &Value) -> Result<(), JobFailure> {
    let id: OrderId = serde_json::from_value(payload["order"].clone())
        .map_err(|e| JobFailure::Permanent(format!("order id: {e}")))?;
    let status = payload["status"]
        .as_str()
        .and_then(|s| OrderStatus::parse(s).ok())
        .ok_or_else(|| JobFailure::Permanent("no status".into()))?;
    let Some(notice) = notice_for(status) else {
        return Ok(());
    };
    let order = {
        let mut conn = pool.acquire().await.map_err(crate::Error::from)?;
        order::get(&mut conn, &OrderKey::Id(id))
            .await?
            .ok_or_else(|| JobFailure::Permanent("order gone".into()))?
    };
    let ctx = json!({
        "shop": notifier.shop(),
        "order": context(&order, &notifier.settings().shop.storefront_url),
    });
    let about = About {
        customer: order.customer_id,
        order: Some(order.id),
        marketing: false,
    };
    // Both channels are tried before a failure is reported: a retry skips what went.
    let prepared = notifier.prepare(notice, &ctx, about)?;
    let email = notifier.email(pool, job, &prepared, &order.email, None).await;
    let text = notifier.text(pool, job, &prepared, &order.phone).await;
    email.and(text)
}
