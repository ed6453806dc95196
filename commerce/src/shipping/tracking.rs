//! Delivery tracking through Sweet Tracker (messaging.md §4): the hourly sync moves an
//! order from `SHIPPED` to `DELIVERED` when every parcel reached level 6, and the
//! auto-completion confirms purchases `auto_complete_days` after delivery.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::PgPool;

use crate::{
    Error,
    ids::{OrderId, ShipmentId},
    order::{Actor, Transition, transition},
};

/// `tracking.*`.
#[derive(Clone, Debug, Deserialize)]
pub struct TrackingSettings {
    /// `https://info.sweettracker.co.kr`.
    pub base_url: String,
    /// The API key (`t_key`); without it, staff mark deliveries themselves.
    pub sweettracker_key: Option<SecretString>,
    /// Days after delivery an order is completed (purchase confirmed) automatically.
    pub auto_complete_days: i64,
}

/// Sweet Tracker's `trackingInfo` answer, the fields we read; an error is HTTP 200 with
/// `{status: false, msg, code}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingInfo {
    status: Option<bool>,
    msg: Option<String>,
    level: Option<i16>,
    complete: Option<bool>,
}

/// What one sync did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Parcels asked about.
    pub checked: usize,
    /// Orders moved to `DELIVERED`.
    pub delivered: usize,
    /// Parcels Sweet Tracker could not answer for (a typo'd number, unknown carrier).
    pub unknown: usize,
}

/// Asks Sweet Tracker about every parcel in transit (least recently checked first, at most
/// 500 a run) and delivers the orders whose parcels all arrived. Errors: `INTERNAL` for
/// database faults, and for Sweet Tracker failing to answer, which ends the run early (the
/// job retries; parcels done so far stay done).
pub async fn sync(pool: &PgPool, http: &reqwest::Client, settings: &TrackingSettings) -> Result<SyncReport, Error> {
    let Some(key) = &settings.sweettracker_key else {
        return Ok(SyncReport::default());
    };
    let parcels = sqlx::query!(
        r#"SELECT s.id AS "id: ShipmentId", s.order_id AS "order_id: OrderId", s.tracking_number,
                  c.sweettracker_code AS "code!"
             FROM shipments s JOIN carriers c ON c.code = s.carrier_code
             JOIN orders o ON o.id = s.order_id
            WHERE s.status = 'IN_TRANSIT' AND o.status = 'SHIPPED' AND c.sweettracker_code IS NOT NULL
            ORDER BY s.tracked_at NULLS FIRST LIMIT 500"#
    )
    .fetch_all(pool)
    .await?;
    let mut report = SyncReport::default();
    let base = settings.base_url.trim_end_matches('/');
    for p in parcels {
        report.checked += 1;
        let info: TrackingInfo = http
            .get(format!("{base}/api/v1/trackingInfo"))
            .query(&[
                ("t_key", key.expose_secret()),
                ("t_code", p.code.as_str()),
                ("t_invoice", p.tracking_number.as_str()),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| Error::Fault {
                what: "Sweet Tracker",
                reason: e.without_url().to_string(),
            })?
            .json()
            .await
            .map_err(|e| Error::Fault {
                what: "Sweet Tracker",
                reason: e.without_url().to_string(),
            })?;
        if info.status == Some(false) {
            report.unknown += 1;
            tracing::warn!(shipment = %p.id, reason = info.msg.as_deref().unwrap_or(""), "Sweet Tracker does not know this parcel");
            sqlx::query!(
                "UPDATE shipments SET tracked_at = now() WHERE id = $1",
                p.id as ShipmentId
            )
            .execute(pool)
            .await?;
            continue;
        }
        let level = info.level.filter(|l| (1..=6).contains(l));
        let arrived = info.complete == Some(true) || level == Some(6);
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "UPDATE shipments SET tracked_at = now(), tracking_level = COALESCE($2, tracking_level),
                    status = CASE WHEN $3 THEN 'DELIVERED' ELSE status END,
                    delivered_at = CASE WHEN $3 THEN now() ELSE delivered_at END
              WHERE id = $1",
            p.id as ShipmentId,
            level,
            arrived,
        )
        .execute(&mut *tx)
        .await?;
        if arrived {
            let pending = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM shipments WHERE order_id = $1 AND status = 'IN_TRANSIT'"#,
                p.order_id as OrderId,
            )
            .fetch_one(&mut *tx)
            .await?;
            if pending == 0 {
                match transition(
                    &mut tx,
                    p.order_id,
                    Transition::Deliver,
                    Actor::System,
                    "delivered (Sweet Tracker)",
                )
                .await
                {
                    Ok(_) => report.delivered += 1,
                    // Staff marked it already, or it was returned meanwhile.
                    Err(Error::InvalidState { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        tx.commit().await?;
    }
    Ok(report)
}

/// Completes (purchase confirmed) every order delivered at least `days` ago with no return
/// asked for; returns how many. One transaction per order.
pub async fn auto_complete(pool: &PgPool, days: i64) -> Result<usize, Error> {
    let due = sqlx::query_scalar!(
        r#"SELECT o.id AS "id: OrderId" FROM orders o
            WHERE o.status = 'DELIVERED'
              AND (SELECT max(h.created_at) FROM order_history h WHERE h.order_id = o.id AND h.to_status = 'DELIVERED')
                  <= now() - make_interval(days => $1)
            LIMIT 1000"#,
        i32::try_from(days.max(0)).unwrap_or(7),
    )
    .fetch_all(pool)
    .await?;
    let mut done = 0;
    for id in due {
        let mut tx = pool.begin().await?;
        match transition(
            &mut tx,
            id,
            Transition::Complete,
            Actor::System,
            "completed automatically after delivery",
        )
        .await
        {
            Ok(_) => {
                tx.commit().await?;
                done += 1;
            }
            Err(Error::InvalidState { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
