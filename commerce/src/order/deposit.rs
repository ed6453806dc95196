//! Deposits and expiry: staff confirm a bank transfer, and unpaid orders (a deposit not
//! received by its due time, a gateway payment not completed in time) expire and release
//! their stock.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{Actor, Order, OrderKey, Transition, get, release_allocation, transition};
use crate::{
    Error, Won,
    ids::{OrderId, PaymentId, StaffId},
};

/// Staff confirm a bank-transfer deposit: `AWAITING_DEPOSIT` → `PAID` with a payment row.
/// The amount must be the order's total to the won. One transaction. Errors: `NOT_FOUND`,
/// `INVALID_STATE`, `AMOUNT_MISMATCH` (nothing changes).
pub async fn confirm_deposit(pool: &PgPool, id: OrderId, amount: Won, staff: StaffId) -> Result<Order, Error> {
    let mut tx = pool.begin().await?;
    let after = confirm_deposit_in(&mut tx, id, amount, staff).await?;
    tx.commit().await?;
    Ok(after)
}

/// [`confirm_deposit`] inside the caller's transaction, so the audit row of the
/// confirmation commits or rolls back with it. Errors: `NOT_FOUND`, `INVALID_STATE`,
/// `AMOUNT_MISMATCH`.
pub async fn confirm_deposit_in(
    conn: &mut PgConnection,
    id: OrderId,
    amount: Won,
    staff: StaffId,
) -> Result<Order, Error> {
    let order = get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    order.status.apply(Transition::ConfirmDeposit)?;
    if order.payment_method != "BANK_TRANSFER" {
        // A virtual account is paid when Toss reports the deposit; marking it by hand as
        // well would take the money twice.
        return Err(Error::InvalidState {
            from: order.status,
            action: "confirm by hand (Toss confirms a virtual account's deposit) the deposit of",
        });
    }
    if amount != order.total {
        return Err(Error::AmountMismatch {
            expected: order.total,
            got: amount,
        });
    }
    let actor = Actor::Staff(staff);
    transition(conn, id, Transition::ConfirmDeposit, actor, "deposit confirmed").await?;
    sqlx::query!(
        "INSERT INTO payments (id, order_id, provider, method, amount, status, actor)
         VALUES ($1, $2, 'BANK_TRANSFER', 'BANK_TRANSFER', $3, 'PAID', $4)",
        PaymentId::generate() as PaymentId,
        id as OrderId,
        amount.get(),
        actor.label(),
    )
    .execute(&mut *conn)
    .await?;
    get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })
}

/// Expires every unpaid order at `now`, releasing its stock: a bank transfer or virtual
/// account past its due time, a gateway order (`PENDING_PAYMENT`) placed more than
/// `pending_minutes` ago and not being confirmed right now. One transaction per order,
/// skipping orders another worker holds. Returns the numbers expired.
pub async fn expire_unpaid(pool: &PgPool, now: DateTime<Utc>, pending_minutes: i64) -> Result<Vec<String>, Error> {
    let mut expired = Vec::new();
    let placed_before = now - chrono::Duration::minutes(pending_minutes.max(1));
    loop {
        let mut tx = pool.begin().await?;
        let due = sqlx::query!(
            r#"SELECT id AS "id: OrderId", number, status = 'PENDING_PAYMENT' AS "pending!" FROM orders
                WHERE id = COALESCE(
                        (SELECT id FROM orders WHERE status = 'AWAITING_DEPOSIT' AND deposit_due_at <= $1
                          ORDER BY deposit_due_at LIMIT 1 FOR UPDATE SKIP LOCKED),
                        (SELECT id FROM orders WHERE status = 'PENDING_PAYMENT' AND created_at <= $2
                            AND (payment_claimed_until IS NULL OR payment_claimed_until <= $1)
                          ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED))"#,
            now,
            placed_before,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(due) = due else { break };
        let note = if due.pending {
            "payment not completed in time"
        } else {
            "deposit not received by the due time"
        };
        transition(&mut tx, due.id, Transition::Expire, Actor::System, note).await?;
        release_allocation(&mut tx, due.id, "PAYMENT_EXPIRED", Actor::System).await?;
        tx.commit().await?;
        tracing::info!(order = %due.id, "expired unpaid order");
        expired.push(due.number);
    }
    Ok(expired)
}
