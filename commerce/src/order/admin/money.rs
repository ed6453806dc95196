//! Staff operations that move money: confirming a bank-transfer deposit (and keeping one
//! that came too late), cancelling with the refund it owes, refunding part or all. A
//! gateway payment goes back through its gateway first ([`crate::payment::refund`]).

use serde_json::json;
use sqlx::PgPool;

use super::{StaffOrder, one_for_staff};
use crate::{
    Error, Won,
    ids::{OrderId, RefundId},
    order::{Actor, OrderKey, OrderStatus, RefundAccount, Transition, cancel_with, confirm_deposit_in, get},
    payment::Gateways,
    staff::{Permission, Principal, audit},
};

/// A bank-transfer deposit arrived: `AWAITING_DEPOSIT` → `PAID`, the amount exact. A
/// deposit for an order that has expired is refused (its stock was released), but the
/// arrival is recorded (`deposits_after_expiry`, audited as `order.deposit_after_expiry`)
/// for staff to refund or re-order, and raises the `DEPOSIT_AFTER_EXPIRY` alert.
/// Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_STATE`, `AMOUNT_MISMATCH`.
pub async fn mark_deposited(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    amount: Won,
    ip: Option<&str>,
) -> Result<StaffOrder, Error> {
    by.require(Permission::WriteOrders, "confirm deposits")?;
    // The audit row commits with the change or not at all.
    let mut tx = pool.begin().await?;
    let o = match confirm_deposit_in(&mut tx, id, amount, by.id).await {
        Ok(o) => o,
        Err(
            e @ Error::InvalidState {
                from: OrderStatus::Expired,
                ..
            },
        ) => {
            drop(tx);
            deposit_after_expiry(pool, by, id, amount, ip).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    audit(
        &mut tx,
        by,
        "order.deposit",
        &o.number,
        json!({ "amount": amount.get(), "to": "PAID" }),
        ip,
    )
    .await?;
    let after = one_for_staff(&mut tx, by, o).await?;
    tx.commit().await?;
    Ok(after)
}

/// Records a deposit that arrived for an expired order, with its audit row, in one
/// transaction of its own (the refused confirmation's was rolled back).
async fn deposit_after_expiry(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    amount: Won,
    ip: Option<&str>,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let number = sqlx::query_scalar!(
        "WITH o AS (SELECT id, number FROM orders WHERE id = $1 AND status = 'EXPIRED'),
              ins AS (INSERT INTO deposits_after_expiry (order_id, amount, staff_id)
                      SELECT id, $2, $3 FROM o)
         SELECT number FROM o",
        id as OrderId,
        amount.get(),
        by.id.0,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(number) = number {
        audit(
            &mut tx,
            by,
            "order.deposit_after_expiry",
            &number,
            json!({ "amount": amount.get() }),
            ip,
        )
        .await?;
        tracing::warn!(order = %id, "a deposit arrived for an expired order");
    }
    tx.commit().await?;
    Ok(())
}

/// Cancels before shipping (stock released, a refund to make for a paid order).
/// Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_STATE`.
///
/// An order paid through a gateway is refunded at the gateway first (a paid virtual
/// account to `account`), and an unpaid virtual account closed there; a gateway refusal
/// (`PAYMENT_DECLINED`, `PAYMENT_FAILED`) leaves the order as it was.
pub async fn cancel_by_staff(
    pool: &PgPool,
    gateways: &Gateways,
    by: Principal,
    id: OrderId,
    reason: &str,
    account: Option<RefundAccount>,
    ip: Option<&str>,
) -> Result<StaffOrder, Error> {
    by.require(Permission::WriteOrders, "cancel orders")?;
    let before = {
        let mut conn = pool.acquire().await?;
        get(&mut conn, &OrderKey::Id(id))
            .await?
            .ok_or(Error::NotFound { what: "order" })?
    };
    // A shipped order says so before the gateway is asked for anything.
    before.status.apply(Transition::Cancel)?;
    let gateway = crate::payment::refund::at_gateway(pool, gateways, id, None, reason, account.as_ref()).await?;
    // The audit row commits with the cancel or not at all.
    let mut tx = pool.begin().await?;
    let o = match cancel_with(&mut tx, id, Actor::Staff(by.id), reason, None, gateway.as_ref()).await {
        Ok(o) => o,
        Err(e) => {
            drop(tx);
            if let Some(g) = &gateway {
                crate::payment::refund::keep_unattached(pool, id, g, Actor::Staff(by.id), &e).await?;
            }
            return Err(e);
        }
    };
    audit(
        &mut tx,
        by,
        "order.cancel",
        &o.number,
        json!({ "reason": reason, "to": "CANCELLED" }),
        ip,
    )
    .await?;
    let after = one_for_staff(&mut tx, by, o).await?;
    tx.commit().await?;
    Ok(after)
}

/// Records a refund paid back to the customer (its own row; never an edit of the order),
/// at most what was paid and not yet refunded. A gateway payment is refunded at the
/// gateway first (partially if so asked, with its share of the tax-free amount; a paid
/// virtual account to `account`); a gateway refusal changes nothing and carries the
/// gateway's code. Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_STATE` (never paid),
/// `INVALID_INPUT` (amount, refundAccount), `PAYMENT_DECLINED`, `PAYMENT_FAILED`.
#[allow(clippy::too_many_arguments)] // the mutation's inputs, each checked once here
pub async fn refund(
    pool: &PgPool,
    gateways: &Gateways,
    by: Principal,
    id: OrderId,
    amount: Won,
    reason: &str,
    account: Option<RefundAccount>,
    ip: Option<&str>,
) -> Result<StaffOrder, Error> {
    by.require(Permission::WriteOrders, "refund orders")?;
    {
        let mut conn = pool.acquire().await?;
        let o = get(&mut conn, &OrderKey::Id(id))
            .await?
            .ok_or(Error::NotFound { what: "order" })?;
        refund_room(&o, amount)?;
    }
    let gateway =
        crate::payment::refund::at_gateway(pool, gateways, id, Some(amount), reason, account.as_ref()).await?;
    let mut tx = pool.begin().await?;
    // The order row lock keeps two refunds from both fitting in the same room; the order
    // counts as changed (`updatedSince`), or not at all if the refund is refused.
    sqlx::query!("UPDATE orders SET updated_at = now() WHERE id = $1", id as OrderId)
        .execute(&mut *tx)
        .await?;
    let o = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    refund_room(&o, amount)?;
    let refund_id = RefundId::generate();
    sqlx::query!(
        "INSERT INTO refunds (id, order_id, amount, reason, status, actor) VALUES ($1, $2, $3, $4, 'DONE', $5)",
        refund_id as RefundId,
        id as OrderId,
        amount.get(),
        reason,
        Actor::Staff(by.id).label(),
    )
    .execute(&mut *tx)
    .await?;
    crate::stats::rollup::record_refund(&mut tx, refund_id, 1).await?;
    if let Some(g) = &gateway {
        crate::payment::refund::record(&mut tx, id, g, Some(refund_id)).await?;
    }
    audit(
        &mut tx,
        by,
        "order.refund",
        &o.number,
        json!({ "amount": amount.get(), "reason": reason }),
        ip,
    )
    .await?;
    let after = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let after = one_for_staff(&mut tx, by, after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Whether `amount` can be refunded of `o`: paid, and at most what was paid and not yet
/// refunded. Errors: `INVALID_STATE`, `INVALID_INPUT` on `amount`.
fn refund_room(o: &crate::order::Order, amount: Won) -> Result<(), Error> {
    if o.paid_at.is_none() {
        return Err(Error::InvalidState {
            from: o.status,
            action: "refund",
        });
    }
    let room = o.total.checked_sub(o.refunded).unwrap_or(Won::ZERO);
    if amount == Won::ZERO || amount > room {
        return Err(Error::Invalid {
            field: "amount",
            reason: format!("between ₩1 and {room} (paid and not yet refunded)"),
        });
    }
    Ok(())
}
