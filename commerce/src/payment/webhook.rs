//! Gateway webhooks (`POST /webhooks/toss`, `POST /webhooks/portone`): verified before they
//! are read, stored by the gateway's event id and handled once, and acting only on what the
//! gateway's API answers when asked again (a webhook body is never believed).
//!
//! - Toss `PAYMENT_STATUS_CHANGED`: the payment is fetched again by its `paymentKey`.
//! - Toss `DEPOSIT_CALLBACK` (flat body): its `secret` must be the one Toss gave when the
//!   virtual account was issued (stored hashed); then the payment is fetched again.
//! - PortOne: the Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature`) and a timestamp within five minutes; then the payment is fetched.

use serde_json::Value;
use sqlx::PgPool;

use super::{
    Gateways, Provider,
    confirm::{Settled, settle, void},
    digest,
    portone::WebhookRejection,
};
use crate::{Error, ids::OrderId};

/// What a delivery did. Every outcome is answered 200: the gateway stops resending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Handled now: what it did (`PAID`, `AWAITING_DEPOSIT`, `NOT_PAID`, `VOIDED`, …).
    Handled(&'static str),
    /// This event id was handled before: nothing changed.
    Duplicate,
    /// Not about an order of ours, or of a kind we don't act on; logged.
    Ignored(&'static str),
}

/// A delivery that proves nothing (`UNAUTHENTICATED`, HTTP 401): a bad signature or secret,
/// a stale timestamp, a gateway without keys.
fn unauthenticated(provider: Provider, why: &str) -> Error {
    tracing::warn!(%provider, why, "webhook refused");
    Error::Unauthenticated
}

fn bad_request(reason: &str) -> Error {
    Error::Invalid {
        field: "body",
        reason: reason.into(),
    }
}

/// Whether `event_id` of `provider` was handled already.
async fn seen(pool: &PgPool, provider: Provider, event_id: &str) -> Result<bool, Error> {
    let mut conn = pool.acquire().await?;
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM webhook_events WHERE provider = $1 AND event_id = $2) AS "seen!""#,
        provider.as_str(),
        event_id,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Records a handled delivery; `false` when another delivery of the same event won.
async fn record(
    pool: &PgPool,
    provider: Provider,
    event_id: &str,
    event_type: &str,
    order: Option<OrderId>,
    outcome: &str,
) -> Result<bool, Error> {
    let mut conn = pool.acquire().await?;
    let r = sqlx::query!(
        "INSERT INTO webhook_events (provider, event_id, event_type, order_id, outcome)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        provider.as_str(),
        event_id,
        event_type.chars().take(64).collect::<String>(),
        order.map(|o| o.0),
        outcome,
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| (1..=200).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()))
}

/// Whether a Toss `paymentKey` is one of ours.
async fn known(pool: &PgPool, payment_key: &str) -> Result<bool, Error> {
    let mut conn = pool.acquire().await?;
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM payments WHERE provider = 'TOSS' AND provider_id = $1) AS "known!""#,
        payment_key,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The order a gateway's payment belongs to: Toss by our order number, KakaoPay and
/// PortOne by the payment row their id was recorded on.
async fn order_of(
    pool: &PgPool,
    provider: Provider,
    provider_id: &str,
    number: &str,
) -> Result<Option<OrderId>, Error> {
    let mut conn = pool.acquire().await?;
    Ok(sqlx::query_scalar!(
        r#"SELECT id AS "id!: OrderId" FROM orders WHERE $1 = 'TOSS' AND number = $3
           UNION ALL
           SELECT order_id FROM payments WHERE $1 <> 'TOSS' AND provider = $1 AND provider_id = $2
           LIMIT 1"#,
        provider.as_str(),
        provider_id,
        number,
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Applies what the gateway answers about a payment, voiding money the order cannot take.
async fn apply(
    pool: &PgPool,
    gateways: &Gateways,
    order: OrderId,
    gp: &super::GatewayPayment,
) -> Result<&'static str, Error> {
    Ok(match settle(pool, order, gp, None, false).await? {
        Settled::Paid => "PAID",
        Settled::AlreadyPaid => "ALREADY_PAID",
        Settled::AwaitingDeposit => "AWAITING_DEPOSIT",
        Settled::NotPaid => "NOT_PAID",
        Settled::Mismatch => {
            void(pool, gateways, gp, "결제 금액이 주문 금액과 다릅니다").await;
            "AMOUNT_MISMATCH"
        }
        Settled::NotPayable(_) => {
            void(pool, gateways, gp, "결제할 수 없는 주문입니다").await;
            "NOT_PAYABLE"
        }
    })
}

/// `POST /webhooks/toss`. Errors: `UNAUTHENTICATED` (a deposit callback whose secret is
/// not the account's, Toss without keys), `INVALID_INPUT` (not a Toss webhook body),
/// `PAYMENT_FAILED`/`INTERNAL` when Toss cannot be asked (Toss resends later).
pub async fn toss(pool: &PgPool, gateways: &Gateways, body: &[u8]) -> Result<Outcome, Error> {
    let toss = gateways
        .toss()
        .map_err(|_| unauthenticated(Provider::Toss, "Toss has no keys"))?;
    let v: Value = serde_json::from_slice(body).map_err(|_| bad_request("not JSON"))?;
    if let Some(kind) = v.get("eventType").and_then(Value::as_str) {
        if kind != "PAYMENT_STATUS_CHANGED" {
            return Ok(Outcome::Ignored("event type not acted on"));
        }
        let data = v.get("data").ok_or_else(|| bad_request("no data"))?;
        let key = text(data, "paymentKey").ok_or_else(|| bad_request("no paymentKey"))?;
        let event_id = format!(
            "{key}:{}:{}",
            text(data, "status").unwrap_or(""),
            text(data, "lastTransactionKey")
                .or_else(|| text(data, "approvedAt"))
                .unwrap_or("")
        );
        if seen(pool, Provider::Toss, &event_id).await? {
            return Ok(Outcome::Duplicate);
        }
        // Unsigned: a paymentKey we never sent to Toss is not worth asking Toss about (a
        // flood of made-up events must not spend our API quota). Every payment of ours
        // passed through `confirm` or an issuance, which recorded its key first.
        if !known(pool, key).await? {
            return Ok(Outcome::Ignored("unknown payment"));
        }
        let gp = match toss.get(key).await {
            Ok(gp) => gp,
            Err(e) if not_there(&e) => return Ok(Outcome::Ignored("no such payment at the gateway")),
            Err(e) => return Err(e.into_error(Provider::Toss)),
        };
        let Some(order) = order_of(pool, Provider::Toss, &gp.provider_id, &gp.order_ref).await? else {
            record(pool, Provider::Toss, &event_id, kind, None, "UNKNOWN_ORDER").await?;
            tracing::warn!("Toss webhook about an order we don't have");
            return Ok(Outcome::Ignored("unknown order"));
        };
        let outcome = apply(pool, gateways, order, &gp).await?;
        record(pool, Provider::Toss, &event_id, kind, Some(order), outcome).await?;
        return Ok(Outcome::Handled(outcome));
    }
    // DEPOSIT_CALLBACK: flat, with the account's secret.
    let (Some(secret), Some(number)) = (v.get("secret").and_then(Value::as_str), text(&v, "orderId")) else {
        return Err(bad_request("neither a payment event nor a deposit callback"));
    };
    let mut conn = pool.acquire().await?;
    let account = sqlx::query!(
        r#"SELECT p.order_id AS "order_id: OrderId", p.provider_id AS "payment_key!", p.secret_hash
             FROM payments p JOIN orders o ON o.id = p.order_id
            WHERE o.number = $1 AND p.provider = 'TOSS' AND p.method = 'VIRTUAL_ACCOUNT'
              AND p.provider_id IS NOT NULL
            ORDER BY p.created_at DESC LIMIT 1"#,
        number,
    )
    .fetch_optional(&mut *conn)
    .await?;
    drop(conn);
    let Some(account) = account else {
        return Err(unauthenticated(
            Provider::Toss,
            "deposit callback for no issued account",
        ));
    };
    let matches = account
        .secret_hash
        .as_deref()
        .is_some_and(|h| constant_time_eq(h, &digest(secret)));
    if !matches {
        return Err(unauthenticated(Provider::Toss, "deposit callback with a wrong secret"));
    }
    let event_id = text(&v, "transactionKey").map_or_else(
        || format!("{}:{}", account.payment_key, text(&v, "createdAt").unwrap_or("")),
        str::to_owned,
    );
    if seen(pool, Provider::Toss, &event_id).await? {
        return Ok(Outcome::Duplicate);
    }
    let gp = toss
        .get(&account.payment_key)
        .await
        .map_err(|e| e.into_error(Provider::Toss))?;
    let outcome = apply(pool, gateways, account.order_id, &gp).await?;
    record(
        pool,
        Provider::Toss,
        &event_id,
        "DEPOSIT_CALLBACK",
        Some(account.order_id),
        outcome,
    )
    .await?;
    Ok(Outcome::Handled(outcome))
}

/// The gateway says it has no such payment: a 404 is an answer, not an outage.
fn not_there(e: &super::GatewayError) -> bool {
    matches!(e, super::GatewayError::Failed { status: 404, .. })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub use super::portone::WebhookHeaders as PortOneHeaders;

/// `POST /webhooks/portone`: verified, then handled once by `webhook-id`. Errors:
/// `UNAUTHENTICATED` (missing or wrong signature, a timestamp more than five minutes off,
/// PortOne without keys), `INVALID_INPUT` (a body that is not a PortOne webhook),
/// `PAYMENT_FAILED`/`INTERNAL` when PortOne cannot be asked (it resends later).
pub async fn portone(
    pool: &PgPool,
    gateways: &Gateways,
    h: PortOneHeaders<'_>,
    body: &[u8],
    now: i64,
) -> Result<Outcome, Error> {
    let portone = gateways
        .portone()
        .map_err(|_| unauthenticated(Provider::PortOne, "PortOne has no keys"))?;
    portone.verify_webhook(h, body, now).map_err(|r| {
        unauthenticated(
            Provider::PortOne,
            match r {
                WebhookRejection::Missing => "signature headers missing",
                WebhookRejection::BadSignature => "bad signature",
                WebhookRejection::Stale => "stale timestamp",
            },
        )
    })?;
    let event_id = h.id.unwrap_or_default();
    if seen(pool, Provider::PortOne, event_id).await? {
        return Ok(Outcome::Duplicate);
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| bad_request("not JSON"))?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    if !kind.starts_with("Transaction.") {
        record(pool, Provider::PortOne, event_id, kind, None, "IGNORED").await?;
        return Ok(Outcome::Ignored("event type not acted on"));
    }
    let payment_id = v
        .get("data")
        .and_then(|d| text(d, "paymentId"))
        .ok_or_else(|| bad_request("no data.paymentId"))?;
    let Some(order) = order_of(pool, Provider::PortOne, payment_id, "").await? else {
        record(pool, Provider::PortOne, event_id, kind, None, "UNKNOWN_ORDER").await?;
        tracing::warn!("PortOne webhook about a payment we don't have");
        return Ok(Outcome::Ignored("unknown order"));
    };
    let gp = match portone.get(payment_id).await {
        Ok(gp) => gp,
        // An event ahead of the payment (`Transaction.Ready`): nothing to act on yet.
        Err(e) if not_there(&e) => {
            record(pool, Provider::PortOne, event_id, kind, Some(order), "NOT_AT_GATEWAY").await?;
            return Ok(Outcome::Ignored("no such payment at the gateway"));
        }
        Err(e) => return Err(e.into_error(Provider::PortOne)),
    };
    let outcome = apply(pool, gateways, order, &gp).await?;
    record(pool, Provider::PortOne, event_id, kind, Some(order), outcome).await?;
    Ok(Outcome::Handled(outcome))
}
