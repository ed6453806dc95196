//! Return requests (청약철회) by the customer (owns `return_requests`,
//! `return_request_lines`): a delivered order moves to `RETURN_REQUESTED` within the
//! withdrawal period, with the lines to return; staff then accept or refuse it.

use chrono::Utc;
use sqlx::PgPool;

use super::{Order, OrderKey, Transition, get, owned_for_update, transition};
use crate::{
    Error,
    ids::{CustomerId, OrderId, OrderLineId, ReturnRequestId},
};

/// A customer asks to return lines of their delivered order: the signed-in owner (`me`)
/// by number alone, a guest by number and the order's e-mail. The reason (trimmed, 1–500
/// characters) is theirs and shows in their history. One transaction: the order moves to
/// `RETURN_REQUESTED` and the request is kept with its lines. Returns the order as the
/// customer sees it. Errors: `INVALID_INPUT` (`reason`; `lineIds`: none, or not lines of
/// this order), `NOT_FOUND` (no such order, or not theirs: the same answer),
/// `INVALID_STATE` (not delivered), `RETURN_PERIOD_OVER` (past [`Order::return_deadline`]).
pub async fn request_return(
    pool: &PgPool,
    number: &str,
    email: Option<&str>,
    me: Option<CustomerId>,
    reason: &str,
    line_ids: &[OrderLineId],
) -> Result<Order, Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::Invalid {
            field: "reason",
            reason: "1–500 characters".into(),
        });
    }
    if line_ids.is_empty() {
        return Err(Error::Invalid {
            field: "lineIds",
            reason: "at least one line".into(),
        });
    }
    let mut tx = pool.begin().await?;
    let (o, actor) = owned_for_update(&mut tx, number, email, me).await?;
    if let Some(stranger) = line_ids.iter().find(|id| !o.lines.iter().any(|l| l.id == **id)) {
        tracing::debug!(order = %o.id, line = %stranger, "return of a line of another order");
        return Err(Error::Invalid {
            field: "lineIds",
            reason: "not a line of this order".into(),
        });
    }
    o.status.apply(Transition::RequestReturn)?;
    let until = o.return_deadline().ok_or(Error::InvalidState {
        from: o.status,
        action: Transition::RequestReturn.name(),
    })?;
    if Utc::now() >= until {
        return Err(Error::ReturnPeriodOver { until });
    }
    transition(&mut tx, o.id, Transition::RequestReturn, actor, reason).await?;
    let mut lines: Vec<uuid::Uuid> = line_ids.iter().map(|l| l.0).collect();
    lines.sort_unstable();
    lines.dedup();
    sqlx::query!(
        "WITH r AS (INSERT INTO return_requests (id, order_id, reason, actor) VALUES ($1, $2, $3, $4) RETURNING id)
         INSERT INTO return_request_lines (return_request_id, order_line_id) SELECT r.id, l FROM r, UNNEST($5::uuid[]) l",
        ReturnRequestId::generate() as ReturnRequestId,
        o.id as OrderId,
        reason,
        actor.label(),
        &lines,
    )
    .execute(&mut *tx)
    .await?;
    let after = get(&mut tx, &OrderKey::Id(o.id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    tx.commit().await?;
    tracing::info!(order = %o.id, lines = lines.len(), "return requested by the customer");
    Ok(after.for_customer())
}
