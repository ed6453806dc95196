//! Cancelling an order before it ships: the customer's (by number, a guest with the
//! order's e-mail) and anyone's inside a caller's transaction. Stock is released, a paid
//! order gets its refund: through its gateway first when it was paid through one
//! ([`crate::payment::refund`]), else a refund row for staff to pay.

use sqlx::{PgConnection, PgPool};

use super::{Actor, Order, OrderKey, RefundAccount, Transition, get, release_allocation, transition};
use crate::{
    Error, Won,
    ids::{CustomerId, OrderId, RefundId},
    payment::{Gateways, refund::GatewayRefund},
    types::Email,
};

/// Cancels an order before it ships: releases its stock and, when it was paid, records a
/// refund to make (`PENDING`) for the whole amount. One transaction.
/// Errors: `NOT_FOUND`, `INVALID_STATE`.
pub async fn cancel(pool: &PgPool, id: OrderId, actor: Actor, reason: &str) -> Result<Order, Error> {
    let mut tx = pool.begin().await?;
    let after = cancel_in(&mut tx, id, actor, reason).await?;
    tx.commit().await?;
    Ok(after)
}

/// Reason recorded when a customer cancels without giving one.
const CUSTOMER_CANCEL: &str = "cancelled by the customer";

/// The order `number` locked for a change by its customer, and who they are: the
/// signed-in owner (`me`) by number alone, anyone else by the order's e-mail (a guest).
/// Errors: `NOT_FOUND` (no such order, or not theirs: the same answer).
pub(crate) async fn owned_for_update(
    conn: &mut PgConnection,
    number: &str,
    email: Option<&str>,
    me: Option<CustomerId>,
) -> Result<(Order, Actor), Error> {
    // Locked first, so what is checked below still holds when the order changes.
    let id = sqlx::query_scalar!(
        r#"SELECT id AS "id: OrderId" FROM orders WHERE number = $1 FOR UPDATE"#,
        number.trim()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "order" })?;
    let o = get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let by_email = email
        .and_then(|e| Email::parse(e).ok())
        .is_some_and(|e| e.as_str() == o.email);
    let actor = match (me, o.customer_id) {
        (Some(me), Some(owner)) if me == owner => Actor::Customer(me),
        _ if by_email => Actor::Guest,
        _ => return Err(Error::NotFound { what: "order" }),
    };
    Ok((o, actor))
}

/// A customer cancels their order before it ships: the signed-in owner (`me`) by number
/// alone, a guest by number and the order's e-mail. The reason (trimmed, at most 500
/// characters) is theirs, so they see it in the history. A paid bank transfer is refunded
/// to an account: a guest must give it (`refund_account`, kept on the refund for staff);
/// a member may. Returns the order as the customer sees it. Errors: `NOT_FOUND` (no such
/// order, or not theirs: the same answer), `INVALID_STATE`, `INVALID_INPUT` on
/// `refundAccount` (a guest's paid bank transfer without one).
pub async fn cancel_by_customer(
    pool: &PgPool,
    gateways: &Gateways,
    number: &str,
    email: Option<&str>,
    me: Option<CustomerId>,
    reason: Option<&str>,
    refund_account: Option<RefundAccount>,
) -> Result<Order, Error> {
    let (o, actor) = {
        let mut conn = pool.acquire().await?;
        owned_for_update(&mut conn, number, email, me).await?
    };
    // A shipped order says so before anyone is asked for an account.
    o.status.apply(Transition::Cancel)?;
    let refund_due = o.paid_at.is_some() && o.total > Won::ZERO && o.payment_method == "BANK_TRANSFER";
    if refund_due && actor == Actor::Guest && refund_account.is_none() {
        return Err(Error::Invalid {
            field: "refundAccount",
            reason: "required to refund a paid bank transfer".into(),
        });
    }
    let reason: String = reason.unwrap_or("").trim().chars().take(500).collect();
    let reason = if reason.is_empty() { CUSTOMER_CANCEL } else { &reason };
    // A gateway payment goes back through the gateway first (a virtual account's to the
    // account given); if the gateway refuses, nothing changes.
    let gateway =
        crate::payment::refund::at_gateway(pool, gateways, o.id, None, reason, refund_account.as_ref()).await?;
    let account = refund_account.filter(|_| refund_due);
    let mut tx = pool.begin().await?;
    let (o, actor) = owned_for_update(&mut tx, number, email, me).await?;
    let after = match cancel_with(&mut tx, o.id, actor, reason, account.as_ref(), gateway.as_ref()).await {
        Ok(after) => after,
        Err(e) => {
            drop(tx);
            if let Some(g) = &gateway {
                crate::payment::refund::keep_unattached(pool, o.id, g, actor, &e).await?;
            }
            return Err(e);
        }
    };
    tx.commit().await?;
    tracing::info!(order = %o.id, "cancelled by the customer");
    Ok(after.for_customer())
}

/// [`cancel`] inside the caller's transaction, so what else the caller writes (the audit
/// row of a staff cancel) commits or rolls back with it. Errors: `NOT_FOUND`, `INVALID_STATE`.
pub async fn cancel_in(conn: &mut PgConnection, id: OrderId, actor: Actor, reason: &str) -> Result<Order, Error> {
    cancel_with(conn, id, actor, reason, None, None).await
}

/// [`cancel_in`], keeping the account a bank-transfer refund goes to on the refund row, and
/// recording what a gateway refunded already (`gateway`: the refund is then `DONE` with the
/// gateway's transaction key).
pub(crate) async fn cancel_with(
    conn: &mut PgConnection,
    id: OrderId,
    actor: Actor,
    reason: &str,
    account: Option<&RefundAccount>,
    gateway: Option<&GatewayRefund>,
) -> Result<Order, Error> {
    let before = get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    transition(conn, id, Transition::Cancel, actor, reason).await?;
    release_allocation(conn, id, "ORDER_CANCELLED", actor).await?;
    // What staff refunded already (a partial refund) is not owed twice.
    let owed = before.total.checked_sub(before.refunded).unwrap_or(Won::ZERO);
    let mut recorded = None;
    if before.paid_at.is_some() && owed > Won::ZERO {
        let refund = RefundId::generate();
        recorded = Some(refund);
        sqlx::query!(
            "INSERT INTO refunds (id, order_id, amount, reason, actor, account_bank, account_number, account_holder)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            refund as RefundId,
            id as OrderId,
            owed.get(),
            reason,
            actor.label(),
            account.map(|a| a.bank.as_str()),
            account.map(|a| a.number.as_str()),
            account.map(|a| a.holder.as_str()),
        )
        .execute(&mut *conn)
        .await?;
        crate::stats::rollup::record_refund(conn, refund, 1).await?;
    }
    if let Some(g) = gateway {
        crate::payment::refund::record(conn, id, g, recorded.filter(|_| g.amount > Won::ZERO)).await?;
    }
    get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })
}
