//! Carriers and shipments (owns `carriers`, `shipments`). Shipping an order moves its
//! stock from allocated to shipped: on hand and allocated both drop, with a movement each.

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    Error,
    ids::OrderId,
    order::{self, Actor, Order, OrderKey, OrderStatus, Transition},
    staff::{Permission, Principal, audit},
};

/// A carrier.
#[derive(Clone, Debug)]
pub struct Carrier {
    /// Code, e.g. `CJ`.
    pub code: String,
    /// Name, e.g. `CJ대한통운`.
    pub name: String,
    /// Tracking page, `{n}` standing for the number.
    pub tracking_url_template: String,
}

/// The tracking page of a number: digits only, `{n}` replaced.
pub fn tracking_url(template: &str, number: &str) -> String {
    template.replace("{n}", number)
}

/// A tracking number as carriers print it (`6012-3456-7890`), reduced to its 9–15 digits.
pub fn parse_tracking_number(s: &str) -> Result<String, Error> {
    let cleaned: String = s.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    let ok = (9..=15).contains(&cleaned.len()) && cleaned.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(cleaned).ok_or(Error::Invalid {
        field: "trackingNumber",
        reason: "9–15 digits (dashes allowed)".into(),
    })
}

/// Active carriers in display order.
pub async fn carriers(pool: &PgPool) -> Result<Vec<Carrier>, Error> {
    Ok(sqlx::query_as!(
        Carrier,
        "SELECT code, name, tracking_url_template FROM carriers WHERE active ORDER BY position, code"
    )
    .fetch_all(pool)
    .await?)
}

/// A shipment made.
#[derive(Clone, Debug)]
pub struct Shipped {
    /// The carrier.
    pub carrier: Carrier,
    /// Digits.
    pub tracking_number: String,
    /// The tracking page.
    pub tracking_url: String,
    /// The order, now `SHIPPED`.
    pub order: Order,
}

async fn ship_in(
    conn: &mut PgConnection,
    by: Principal,
    id: OrderId,
    carrier: &str,
    tracking: &str,
    ip: Option<&str>,
) -> Result<Shipped, Error> {
    let tracking = parse_tracking_number(tracking)?;
    let carrier = sqlx::query_as!(
        Carrier,
        "SELECT code, name, tracking_url_template FROM carriers WHERE code = $1 AND active",
        carrier.trim().to_uppercase()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "carrier" })?;
    let o = order::get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let actor = Actor::Staff(by.id);
    // A paid order can go straight out: it passes through PREPARING on the way.
    if o.status == OrderStatus::Paid {
        order::transition(conn, id, Transition::Prepare, actor, "packed").await?;
    }
    order::transition(
        conn,
        id,
        Transition::Ship,
        actor,
        &format!("{} {tracking}", carrier.name),
    )
    .await?;
    sqlx::query!(
        "INSERT INTO shipments (id, order_id, carrier_code, tracking_number, actor) VALUES ($1, $2, $3, $4, $5)",
        uuid::Uuid::now_v7(),
        id as OrderId,
        carrier.code,
        tracking,
        actor.label(),
    )
    .execute(&mut *conn)
    .await?;
    // Allocated → shipped, variants locked in id order like checkout.
    sqlx::query!(
        "WITH lines AS (
             SELECT variant_id, sum(quantity)::int AS qty FROM order_lines
              WHERE order_id = $1 AND variant_id IS NOT NULL GROUP BY variant_id),
         locked AS (SELECT v.id FROM variants v JOIN lines ON lines.variant_id = v.id ORDER BY v.id FOR UPDATE OF v),
         upd AS (
             UPDATE variants v SET on_hand = v.on_hand - lines.qty, allocated = v.allocated - lines.qty, updated_at = now()
               FROM lines WHERE v.id = lines.variant_id AND v.id IN (SELECT id FROM locked)
             RETURNING v.id, lines.qty)
         INSERT INTO stock_movements (variant_id, delta_on_hand, delta_allocated, reason, order_id, actor)
         SELECT id, -qty, -qty, 'SHIPPED', $1, $2 FROM upd",
        id as OrderId,
        actor.label(),
    )
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        Some(by.id),
        "order.ship",
        &o.number,
        json!({ "carrier": carrier.code, "tracking": tracking }),
        ip,
    )
    .await?;
    let order = order::get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    Ok(Shipped {
        tracking_url: tracking_url(&carrier.tracking_url_template, &tracking),
        carrier,
        tracking_number: tracking,
        order,
    })
}

/// Ships an order (`PAID` or `PREPARING` → `SHIPPED`) with a carrier and tracking number,
/// in one transaction; the order comes back as `by` may see it ([`Order::seen_by`]).
/// Errors: `FORBIDDEN`, `NOT_FOUND` (order, carrier), `INVALID_INPUT` (tracking number),
/// `INVALID_STATE`.
pub async fn create_shipment(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    carrier: &str,
    tracking: &str,
    ip: Option<&str>,
) -> Result<Shipped, Error> {
    by.require(Permission::WriteOrders, "ship orders")?;
    let mut tx = pool.begin().await?;
    let shipped = ship_in(&mut tx, by, id, carrier, tracking, ip).await?;
    tx.commit().await?;
    Ok(Shipped {
        order: shipped.order.seen_by(by),
        ..shipped
    })
}

/// The outcome of one CSV row.
#[derive(Debug)]
pub struct ImportRow {
    /// 1-based line in the text.
    pub line: usize,
    /// The order number given.
    pub number: String,
    /// What went wrong, if anything.
    pub error: Option<Error>,
}

/// Ships many orders from CSV text, one `order number, carrier, tracking number` per line
/// (a header line is skipped). Each row is its own transaction: bad rows are reported, good
/// rows go through. Errors: `FORBIDDEN` for the whole import.
pub async fn import_shipments(
    pool: &PgPool,
    by: Principal,
    csv: &str,
    ip: Option<&str>,
) -> Result<Vec<ImportRow>, Error> {
    by.require(Permission::WriteOrders, "ship orders")?;
    let mut out = Vec::new();
    for (i, raw) in csv.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<String> = line
            .split(',')
            .map(|f| f.trim().trim_matches('"').trim().to_owned())
            .collect();
        if i == 0
            && fields
                .first()
                .is_some_and(|f| !f.chars().next().is_some_and(|c| c.is_ascii_digit()))
        {
            continue; // header
        }
        let number = fields.first().cloned().unwrap_or_default();
        let result = async {
            let [_, carrier, tracking] = fields.as_slice() else {
                return Err(Error::Invalid {
                    field: "csv",
                    reason: "3 columns: order number, carrier, tracking number".into(),
                });
            };
            let mut tx = pool.begin().await?;
            let id = order::get(&mut tx, &OrderKey::Number(&number))
                .await?
                .ok_or(Error::NotFound { what: "order" })?
                .id;
            ship_in(&mut tx, by, id, carrier, tracking, ip).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        match result {
            Err(e) if e.is_fault() => return Err(e),
            r => out.push(ImportRow {
                line: i + 1,
                number,
                error: r.err(),
            }),
        }
    }
    Ok(out)
}

/// The latest shipment's tracking page of an order, if it has shipped.
pub async fn tracking_url_of(conn: &mut PgConnection, id: OrderId) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT replace(c.tracking_url_template, '{n}', s.tracking_number) AS "url!"
             FROM shipments s JOIN carriers c ON c.code = s.carrier_code
            WHERE s.order_id = $1 ORDER BY s.created_at DESC LIMIT 1"#,
        id as OrderId
    )
    .fetch_optional(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_and_urls() {
        assert_eq!(
            parse_tracking_number("6012-3456-7890").ok().as_deref(),
            Some("601234567890")
        );
        for bad in ["12345678", "1234567890123456", "60123456789A", ""] {
            assert!(parse_tracking_number(bad).is_err(), "{bad}");
        }
        assert_eq!(
            tracking_url("https://www.ilogen.com/web/personal/trace/{n}", "12345678901"),
            "https://www.ilogen.com/web/personal/trace/12345678901"
        );
    }
}
