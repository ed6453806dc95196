//! Orders for staff: listing and search, deposits, cancels, refunds and status changes,
//! each checked against the staff member's role here in the core and written to the
//! audit log in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use super::{
    Actor, Order, OrderKey, OrderStatus, Transition, cancel_in, confirm_deposit_in, get, get_many, transition,
};
use crate::{
    Error, Won,
    ids::{OrderId, RefundId},
    pagination::Page,
    staff::{Permission, Principal, audit},
};

/// Which orders to list.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only in this state.
    pub status: Option<OrderStatus>,
    /// Only from this channel.
    pub channel: Option<String>,
    /// Placed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Placed before.
    pub to: Option<DateTime<Utc>>,
    /// Order number, orderer or recipient name, or phone (any part). Roles that don't see
    /// personal data search order numbers only: a name or phone finds nothing, since
    /// finding an order by its full phone number would unmask it.
    pub search: Option<String>,
}

/// Orders newest first, a page at a time (cursor: the order id), in two statements (the
/// page's ids with the count over all pages when `total`, then the orders); `filter.search`
/// looks at names and phones only for roles that see personal data. Errors: `FORBIDDEN`.
pub async fn list(
    pool: &PgPool,
    by: Principal,
    filter: &OrderFilter,
    first: u32,
    after: Option<OrderId>,
    total: bool,
) -> Result<Page<Order>, Error> {
    by.require(Permission::ReadOrders, "list orders")?;
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let digits: String = s.chars().filter(char::is_ascii_digit).collect();
            (crate::types::contains_pattern(s), digits)
        });
    let mut conn = pool.acquire().await?;
    // The filter is written once (`m`, inlined into both uses); the count runs only when
    // asked for, and the one-row `t` carries it even when the page is empty.
    let rows = sqlx::query!(
        r#"WITH m AS NOT MATERIALIZED (
               SELECT o.id, o.created_at FROM orders o
                WHERE ($2::text IS NULL OR o.status = $2)
                  AND ($3::text IS NULL OR o.channel = $3)
                  AND ($4::timestamptz IS NULL OR o.created_at >= $4)
                  AND ($5::timestamptz IS NULL OR o.created_at < $5)
                  AND ($6::text IS NULL OR o.number LIKE $6
                       OR ($9 AND (o.orderer_name LIKE $6 OR o.recipient LIKE $6
                           OR ($7 <> '' AND (o.phone LIKE '%' || $7 || '%' OR o.recipient_phone LIKE '%' || $7 || '%'))))))
           SELECT p.id AS "id?: OrderId", t.total
             FROM (SELECT CASE WHEN $10 THEN (SELECT count(*) FROM m) END AS total) t
             LEFT JOIN LATERAL (
                  SELECT m.id, m.created_at FROM m
                   WHERE $1::uuid IS NULL OR (m.created_at, m.id) < (SELECT created_at, id FROM orders WHERE id = $1)
                   ORDER BY m.created_at DESC, m.id DESC LIMIT $8) p ON true
            ORDER BY p.created_at DESC, p.id DESC"#,
        after.map(|a| a.0),
        filter.status.map(OrderStatus::as_str),
        filter.channel,
        filter.from,
        filter.to,
        search.as_ref().map(|s| s.0.as_str()),
        search.as_ref().map_or("", |s| s.1.as_str()),
        i64::from(first) + 1,
        by.sees_personal_data(),
        total,
    )
    .fetch_all(&mut *conn)
    .await?;
    let count = rows.first().and_then(|r| r.total);
    let mut ids: Vec<OrderId> = rows.into_iter().filter_map(|r| r.id).collect();
    let has_next = ids.len() > first as usize;
    ids.truncate(first as usize);
    let items = get_many(&mut conn, &ids)
        .await?
        .into_iter()
        .map(|o| {
            let cursor = o.id.to_string();
            (o.seen_by(by), cursor)
        })
        .collect();
    Ok(Page {
        items,
        has_next,
        total: count,
    })
}

/// One order with its history. Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn find(pool: &PgPool, by: Principal, key: &OrderKey<'_>) -> Result<Order, Error> {
    by.require(Permission::ReadOrders, "read orders")?;
    let mut conn = pool.acquire().await?;
    let o = get(&mut conn, key).await?.ok_or(Error::NotFound { what: "order" })?;
    Ok(o.seen_by(by))
}

/// A bank-transfer deposit arrived: `AWAITING_DEPOSIT` → `PAID`, the amount exact.
/// Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_STATE`, `AMOUNT_MISMATCH`.
pub async fn mark_deposited(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    amount: Won,
    ip: Option<&str>,
) -> Result<Order, Error> {
    by.require(Permission::WriteOrders, "confirm deposits")?;
    // The audit row commits with the change or not at all.
    let mut tx = pool.begin().await?;
    let o = confirm_deposit_in(&mut tx, id, amount, by.id).await?;
    audit(
        &mut tx,
        Some(by.id),
        "order.deposit",
        &o.number,
        json!({ "amount": amount.get(), "to": "PAID" }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(o.seen_by(by))
}

/// Cancels before shipping (stock released, a refund to make for a paid order).
/// Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_STATE`.
pub async fn cancel_by_staff(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    reason: &str,
    ip: Option<&str>,
) -> Result<Order, Error> {
    by.require(Permission::WriteOrders, "cancel orders")?;
    // The audit row commits with the cancel or not at all.
    let mut tx = pool.begin().await?;
    let o = cancel_in(&mut tx, id, Actor::Staff(by.id), reason).await?;
    audit(
        &mut tx,
        Some(by.id),
        "order.cancel",
        &o.number,
        json!({ "reason": reason, "to": "CANCELLED" }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(o.seen_by(by))
}

/// Records a refund paid back to the customer (its own row; never an edit of the order),
/// at most what was paid and not yet refunded. Errors: `FORBIDDEN`, `NOT_FOUND`,
/// `INVALID_STATE` (never paid), `INVALID_INPUT` (amount).
pub async fn refund(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    amount: Won,
    reason: &str,
    ip: Option<&str>,
) -> Result<Order, Error> {
    by.require(Permission::WriteOrders, "refund orders")?;
    let mut tx = pool.begin().await?;
    // The order row lock keeps two refunds from both fitting in the same room.
    sqlx::query!("SELECT id FROM orders WHERE id = $1 FOR UPDATE", id as OrderId)
        .fetch_optional(&mut *tx)
        .await?;
    let o = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
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
    sqlx::query!(
        "INSERT INTO refunds (id, order_id, amount, reason, status, actor) VALUES ($1, $2, $3, $4, 'DONE', $5)",
        RefundId::generate() as RefundId,
        id as OrderId,
        amount.get(),
        reason,
        Actor::Staff(by.id).label(),
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(by.id),
        "order.refund",
        &o.number,
        json!({ "amount": amount.get(), "reason": reason }),
        ip,
    )
    .await?;
    let after = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    tx.commit().await?;
    Ok(after.seen_by(by))
}

/// Moves an order along the state machine to `target`: `PREPARING`, `DELIVERED`,
/// `COMPLETED`, `RETURN_REQUESTED`, `RETURNED`. Paying, shipping and cancelling have their
/// own operations. Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_STATE`.
pub async fn set_status(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    target: OrderStatus,
    note: &str,
    ip: Option<&str>,
) -> Result<Order, Error> {
    by.require(Permission::WriteOrders, "change order status")?;
    let mut tx = pool.begin().await?;
    let o = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let t = match (o.status, target) {
        (_, OrderStatus::Preparing) => Transition::Prepare,
        (_, OrderStatus::Delivered) if o.status == OrderStatus::ReturnRequested => Transition::RejectReturn,
        (_, OrderStatus::Delivered) => Transition::Deliver,
        (_, OrderStatus::Completed) => Transition::Complete,
        (_, OrderStatus::ReturnRequested) => Transition::RequestReturn,
        (_, OrderStatus::Returned) => Transition::AcceptReturn,
        (from, _) => {
            return Err(Error::InvalidState {
                from,
                action: "set this status of (use its own operation)",
            });
        }
    };
    transition(&mut tx, id, t, Actor::Staff(by.id), note).await?;
    audit(
        &mut tx,
        Some(by.id),
        "order.status",
        &o.number,
        json!({ "from": o.status.as_str(), "to": target.as_str() }),
        ip,
    )
    .await?;
    let after = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    tx.commit().await?;
    Ok(after.seen_by(by))
}
