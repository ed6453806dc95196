//! Moving an order in the database: the transition with its history row, and what rides
//! in the same transaction (the customer's message job, the sale in the statistics, the
//! points of a confirmed purchase, parcels delivered), and releasing an allocation.

use sqlx::PgConnection;

use super::{Actor, OrderStatus, Transition};
use crate::{Error, ids::OrderId};

/// Moves an order along `t` inside the caller's transaction: the UPDATE repeats the
/// sources so a racer loses cleanly, and the history row is written with it (its note
/// readable by the customer only when the customer wrote it).
/// Errors: `NOT_FOUND`, `INVALID_STATE`.
pub async fn transition(
    conn: &mut PgConnection,
    id: OrderId,
    t: Transition,
    actor: Actor,
    note: &str,
) -> Result<OrderStatus, Error> {
    let target = t.target();
    let row = sqlx::query!(
        r#"WITH prev AS (SELECT status FROM orders WHERE id = $1 FOR UPDATE),
                upd AS (
                    UPDATE orders SET status = $2, updated_at = now(),
                           paid_at = CASE WHEN $2 = 'PAID' THEN now() ELSE paid_at END,
                           cancelled_at = CASE WHEN $2 = 'CANCELLED' THEN now() ELSE cancelled_at END
                     WHERE id = $1 AND status = ANY($3)
                    RETURNING id),
                hist AS (
                    INSERT INTO order_history (order_id, from_status, to_status, actor, note, note_for_customer)
                    SELECT $1, prev.status, $2, $4, $5, $6 FROM prev, upd),
                -- The customer's message about it, committed with the move or not at all.
                job AS (
                    INSERT INTO jobs (id, kind, payload)
                    SELECT $7, $8, jsonb_build_object('order', $1::uuid, 'status', $2::text) FROM upd
                     WHERE $2 = ANY($9))
           SELECT prev.status AS "from!", (SELECT count(*) FROM upd) AS "moved!" FROM prev"#,
        id as OrderId,
        target.as_str(),
        &t.source_names(),
        actor.label(),
        note,
        // The customer reads back only their own words; a staff note is internal.
        matches!(actor, Actor::Customer(_) | Actor::Guest),
        crate::ids::JobId::generate() as crate::ids::JobId,
        crate::notify::orders::JOB,
        &crate::notify::orders::notifying_statuses(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Err(Error::NotFound { what: "order" }),
        Some(r) if r.moved == 0 => Err(Error::InvalidState {
            from: OrderStatus::parse(&r.from)?,
            action: t.name(),
        }),
        Some(_) => {
            if target == OrderStatus::Paid {
                // The sale counts in the statistics with the payment, or not at all.
                crate::stats::rollup::record_paid(conn, id).await?;
            }
            if t == Transition::Complete {
                earn_points(conn, id).await?;
            }
            if t == Transition::Deliver {
                // The order page shows delivery per parcel; all of them arrived with it.
                sqlx::query!(
                    "UPDATE shipments SET delivered_at = now(), status = 'DELIVERED'
                      WHERE order_id = $1 AND delivered_at IS NULL",
                    id as OrderId,
                )
                .execute(&mut *conn)
                .await?;
            }
            Ok(target)
        }
    }
}

/// A purchase confirmed earns its member the tier's rate of the goods paid for (after
/// discounts and refunds; shipping earns nothing), once per order, in the completion's
/// transaction, with a ledger row.
async fn earn_points(conn: &mut PgConnection, id: OrderId) -> Result<(), Error> {
    sqlx::query!(
        "WITH o AS (
             SELECT o.customer_id,
                    greatest(o.subtotal - o.discount
                             - (SELECT COALESCE(sum(f.amount), 0) FROM refunds f WHERE f.order_id = o.id), 0) AS goods
               FROM orders o WHERE o.id = $1 AND o.customer_id IS NOT NULL),
         earn AS (
             SELECT o.customer_id, o.goods * t.points_rate / 100 AS points
               FROM o JOIN customers c ON c.id = o.customer_id JOIN member_tiers t ON t.code = c.tier),
         ledger AS (
             INSERT INTO point_movements (customer_id, order_id, delta, reason)
             SELECT customer_id, $1, points, 'PURCHASE_CONFIRMED' FROM earn WHERE points > 0
             ON CONFLICT DO NOTHING
             RETURNING customer_id, delta)
         UPDATE customers c SET points = c.points + l.delta, updated_at = now() FROM ledger l WHERE c.id = l.customer_id",
        id as OrderId,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Releases the stock an order holds (cancel, expiry), with a movement per line, locking
/// the variants in id order like checkout does, so the two never deadlock.
pub async fn release_allocation(conn: &mut PgConnection, id: OrderId, reason: &str, actor: Actor) -> Result<(), Error> {
    sqlx::query!(
        "WITH lines AS (
             SELECT variant_id, sum(quantity)::int AS qty FROM order_lines
              WHERE order_id = $1 AND variant_id IS NOT NULL GROUP BY variant_id),
         locked AS (
             SELECT v.id FROM variants v JOIN lines ON lines.variant_id = v.id ORDER BY v.id FOR UPDATE OF v),
         upd AS (
             UPDATE variants v SET allocated = v.allocated - lines.qty, updated_at = now()
               FROM lines WHERE v.id = lines.variant_id AND v.id IN (SELECT id FROM locked)
             RETURNING v.id, lines.qty)
         INSERT INTO stock_movements (variant_id, delta_allocated, reason, order_id, actor)
         SELECT id, -qty, $2, $1, $3 FROM upd",
        id as OrderId,
        reason,
        actor.label(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
