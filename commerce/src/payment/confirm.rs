//! `paymentConfirm`: the customer is back from the gateway. The amount is checked against
//! the order before the gateway is called, the order is claimed so a second click waits
//! for the first, the gateway confirms (idempotently), its answer is checked again, and the
//! payment and the order's `PAID` commit together. Also what webhooks share with it:
//! [`settle`] (what a gateway's answer does to an order) and [`void`] (money that cannot
//! be kept goes back).

use std::time::{Duration, Instant};

use sqlx::{PgConnection, PgPool};

use super::{GatewayError, GatewayPayment, GatewayStatus, Gateways, Provider, digest, idempotency_key};
use crate::{
    Error, Won,
    checkout::PaymentMethod,
    ids::{OrderId, PaymentId},
    order::{self, Actor, Order, OrderKey, OrderStatus, Transition},
};

/// What the storefront sends back from the gateway (`paymentConfirm(input)`).
#[derive(Clone, Debug)]
pub struct ConfirmInput {
    /// The gateway.
    pub provider: Provider,
    /// Our order number (Toss's `orderId`, KakaoPay's `partner_order_id`).
    pub order_number: String,
    /// Toss: the success URL's `paymentKey`.
    pub payment_key: Option<String>,
    /// Toss: the success URL's `amount` (checked before anything else).
    pub amount: Option<Won>,
    /// KakaoPay: the approval URL's `pg_token`.
    pub pg_token: Option<String>,
    /// PortOne: the `paymentId` of the session.
    pub payment_id: Option<String>,
}

/// What the customer proves the payment with, checked for shape.
enum Proof {
    Toss { payment_key: String, amount: Won },
    KakaoPay { pg_token: String },
    PortOne { payment_id: String },
}

fn token(value: Option<&String>, field: &'static str) -> Result<String, Error> {
    let v = value.map_or("", |s| s.trim());
    let ok = (1..=200).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| v.to_owned()).ok_or(Error::Invalid {
        field,
        reason: "required for this provider: 1–200 printable ASCII characters".into(),
    })
}

impl ConfirmInput {
    fn proof(&self) -> Result<Proof, Error> {
        Ok(match self.provider {
            Provider::Toss => Proof::Toss {
                payment_key: token(self.payment_key.as_ref(), "paymentKey")?,
                amount: self.amount.ok_or(Error::Invalid {
                    field: "amount",
                    reason: "required for TOSS: the success URL's amount".into(),
                })?,
            },
            Provider::KakaoPay => Proof::KakaoPay {
                pg_token: token(self.pg_token.as_ref(), "pgToken")?,
            },
            Provider::PortOne => Proof::PortOne {
                payment_id: token(self.payment_id.as_ref(), "paymentId")?,
            },
        })
    }
}

/// How long a confirmation holds its order: one gateway call and some room to record it.
fn claim_for(gateways: &Gateways) -> Duration {
    gateways.timeout + Duration::from_secs(10)
}

/// Confirms a gateway payment and returns the order as the customer sees it.
///
/// The order must be waiting for this gateway's payment (`PENDING_PAYMENT`, method of this
/// provider). A Toss `amount` other than the order's total is `AMOUNT_MISMATCH` before the
/// gateway is called. A decline is `PAYMENT_DECLINED`, any other gateway failure
/// `PAYMENT_FAILED`, both with the gateway's code and message; the order stays payable.
/// A gateway answer for another amount is cancelled at the gateway and `AMOUNT_MISMATCH`;
/// a payment for an order that expired meanwhile is cancelled and `ORDER_NOT_PAYABLE`.
/// Confirming again with the same proof (a double click, a second tab) returns the paid
/// order without a second charge. `NOT_FOUND`: no such order; `INVALID_INPUT`: a missing
/// proof.
pub async fn confirm(pool: &PgPool, gateways: &Gateways, input: ConfirmInput) -> Result<Order, Error> {
    let proof = input.proof()?;
    let provider = input.provider;
    let o = match claim(pool, gateways, provider, input.order_number.trim(), &proof).await? {
        Claim::Claimed(o) => o,
        Claim::PaidAlready(o) => return Ok(o.for_customer()),
    };
    let answer = match &proof {
        Proof::Toss { payment_key, amount } => {
            let toss = gateways.toss()?;
            // The attempt is on record before Toss is asked: if the answer is lost, its
            // webhook finds the paymentKey known.
            record_attempt(pool, &o, payment_key).await?;
            let key = idempotency_key(&["confirm", &o.id.to_string(), payment_key]);
            match toss.confirm(payment_key, &o.number, amount.get(), &key).await {
                // Confirmed before (another key, or one older than Toss keeps): what Toss
                // has now is the answer.
                Err(GatewayError::Failed { code, .. }) if code == "ALREADY_PROCESSED_PAYMENT" => {
                    toss.get(payment_key).await
                }
                other => other,
            }
            .map_err(|e| (Some(payment_key.clone()), e))
        }
        Proof::KakaoPay { pg_token } => match session_id(pool, o.id, provider).await? {
            None => Err((None, not_opened())),
            Some(tid) => gateways
                .kakaopay()?
                .approve(&tid, &o.number, &super::session::partner_user(&o), pg_token)
                .await
                .map_err(|e| (Some(tid), e)),
        },
        Proof::PortOne { payment_id } => match session_id(pool, o.id, provider).await? {
            Some(id) if id == *payment_id => gateways.portone()?.get(payment_id).await.map_err(|e| (Some(id), e)),
            _ => {
                super::release_claim(pool, o.id).await?;
                return Err(Error::NotFound { what: "payment" });
            }
        },
    };
    let gp = match answer {
        Ok(gp) => gp,
        Err((provider_id, e)) => {
            record_failure(pool, &o, provider, provider_id.as_deref(), &e).await?;
            let declined = matches!(e, GatewayError::Declined { .. });
            crate::metrics::payment(provider, if declined { "DECLINED" } else { "FAILED" });
            return Err(e.into_error(provider));
        }
    };
    let token_hash = match &proof {
        Proof::KakaoPay { pg_token } => Some(digest(pg_token)),
        _ => None,
    };
    let settled = settle(pool, o.id, &gp, token_hash, true).await?;
    match settled {
        Settled::Paid | Settled::AlreadyPaid | Settled::AwaitingDeposit => {
            let mut conn = pool.acquire().await?;
            order::get(&mut conn, &OrderKey::Id(o.id))
                .await?
                .map(Order::for_customer)
                .ok_or(Error::NotFound { what: "order" })
        }
        Settled::Mismatch => {
            void(pool, gateways, &gp, "결제 금액이 주문 금액과 다릅니다").await;
            Err(Error::AmountMismatch {
                expected: o.total,
                got: Won::new(gp.total).unwrap_or(Won::ZERO),
            })
        }
        Settled::NotPayable(status) => {
            void(pool, gateways, &gp, "결제할 수 없는 주문입니다").await;
            Err(Error::OrderNotPayable { status })
        }
        Settled::NotPaid => {
            let (code, message) = gp
                .failure
                .clone()
                .unwrap_or_else(|| ("NOT_PAID".into(), "the gateway has not taken the payment".into()));
            Err(GatewayError::Failed {
                status: 200,
                code,
                message,
            }
            .into_error(provider))
        }
    }
}

/// What [`claim`] found.
enum Claim {
    /// The order is this confirmation's until it records the gateway's answer.
    Claimed(Order),
    /// The order was paid with this very proof (the first click's result).
    PaidAlready(Order),
}

/// Takes the order for one confirmation, waiting while another one runs (a double click,
/// a second tab) so that the second returns the first's result instead of charging again.
async fn claim(
    pool: &PgPool,
    gateways: &Gateways,
    provider: Provider,
    number: &str,
    proof: &Proof,
) -> Result<Claim, Error> {
    let claim = claim_for(gateways);
    let give_up = Instant::now() + claim + Duration::from_secs(5);
    loop {
        let mut conn = pool.acquire().await?;
        let o = order::get(&mut conn, &OrderKey::Number(number))
            .await?
            .ok_or(Error::NotFound { what: "order" })?;
        let method = PaymentMethod::parse(&o.payment_method);
        if method.and_then(PaymentMethod::provider) != Some(provider) || method == Some(PaymentMethod::VirtualAccount) {
            return Err(Error::OrderNotPayable { status: o.status });
        }
        if o.status != OrderStatus::PendingPayment {
            if o.paid_at.is_some() && paid_with(&mut conn, o.id, provider, proof).await? {
                return Ok(Claim::PaidAlready(o));
            }
            return Err(Error::OrderNotPayable { status: o.status });
        }
        if let Proof::Toss { amount, .. } = proof
            && *amount != o.total
        {
            return Err(Error::AmountMismatch {
                expected: o.total,
                got: *amount,
            });
        }
        let claimed = sqlx::query_scalar!(
            "UPDATE orders SET payment_claimed_until = now() + make_interval(secs => $2)
              WHERE id = $1 AND status = 'PENDING_PAYMENT'
                AND (payment_claimed_until IS NULL OR payment_claimed_until <= now())
             RETURNING id",
            o.id as OrderId,
            claim.as_secs_f64(),
        )
        .fetch_optional(&mut *conn)
        .await?;
        if claimed.is_some() {
            return Ok(Claim::Claimed(o));
        }
        if Instant::now() > give_up {
            return Err(Error::PaymentFailed {
                provider: provider.as_str(),
                code: "IN_PROGRESS".into(),
                message: "another confirmation of this order is still running".into(),
            });
        }
        // Another click or tab is confirming: wait for its result instead of charging again.
        drop(conn);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn not_opened() -> GatewayError {
    GatewayError::Failed {
        status: 0,
        code: "NO_SESSION".into(),
        message: "no payment was opened for this order".into(),
    }
}

/// Records a Toss confirmation attempt (`READY`) under its `paymentKey`, unless known.
async fn record_attempt(pool: &PgPool, o: &Order, payment_key: &str) -> Result<(), Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query!(
        "INSERT INTO payments (id, order_id, provider, provider_id, method, amount, status, actor)
         VALUES ($1, $2, 'TOSS', $3, $4, $5, 'READY', 'system')
         ON CONFLICT (provider, provider_id) WHERE provider_id IS NOT NULL DO NOTHING",
        PaymentId::generate() as PaymentId,
        o.id as OrderId,
        payment_key,
        o.payment_method,
        o.total.get(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the order was paid through `provider` with this very proof.
async fn paid_with(conn: &mut PgConnection, order: OrderId, provider: Provider, proof: &Proof) -> Result<bool, Error> {
    let (id, hash) = match proof {
        Proof::Toss { payment_key, .. } => (Some(payment_key.as_str()), None),
        Proof::KakaoPay { pg_token } => (None, Some(digest(pg_token))),
        Proof::PortOne { payment_id } => (Some(payment_id.as_str()), None),
    };
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM payments
                           WHERE order_id = $1 AND provider = $2 AND paid_at IS NOT NULL
                             AND ($3::text IS NULL OR provider_id = $3)
                             AND ($4::bytea IS NULL OR secret_hash = $4)) AS "paid!""#,
        order as OrderId,
        provider.as_str(),
        id,
        hash,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The gateway id of the order's open session (KakaoPay `tid`, PortOne `paymentId`).
async fn session_id(pool: &PgPool, order: OrderId, provider: Provider) -> Result<Option<String>, Error> {
    let mut conn = pool.acquire().await?;
    Ok(sqlx::query_scalar!(
        "SELECT provider_id FROM payments WHERE order_id = $1 AND provider = $2 AND provider_id IS NOT NULL
          ORDER BY created_at DESC LIMIT 1",
        order as OrderId,
        provider.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten())
}

/// A refused or unanswered confirmation: the attempt recorded with the gateway's code, the
/// order released for the next try. One transaction.
async fn record_failure(
    pool: &PgPool,
    o: &Order,
    provider: Provider,
    provider_id: Option<&str>,
    e: &GatewayError,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE orders SET payment_claimed_until = NULL WHERE id = $1",
        o.id as OrderId
    )
    .execute(&mut *tx)
    .await?;
    // A lost answer may still have been a payment: the row keeps the attempt, and the
    // webhook or the next try (same idempotency key) settles it.
    sqlx::query!(
        "INSERT INTO payments (id, order_id, provider, provider_id, method, amount, status, actor, failure_code,
                               failure_message)
         VALUES ($1, $2, $3, $4, $5, $6, 'FAILED', 'system', $7, $8)
         ON CONFLICT (provider, provider_id) WHERE provider_id IS NOT NULL DO UPDATE
            SET status = CASE WHEN payments.paid_at IS NULL THEN 'FAILED' ELSE payments.status END,
                failure_code = EXCLUDED.failure_code, failure_message = EXCLUDED.failure_message,
                updated_at = now()",
        PaymentId::generate() as PaymentId,
        o.id as OrderId,
        provider.as_str(),
        provider_id,
        o.payment_method,
        o.total.get(),
        e.code(),
        e.message(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(order = %o.id, %provider, code = e.code(), "payment not confirmed");
    Ok(())
}

/// What a gateway's answer did to its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The order is now `PAID`.
    Paid,
    /// It was paid by this payment already (a repeat).
    AlreadyPaid,
    /// A PortOne virtual account was issued: the order waits for the deposit.
    AwaitingDeposit,
    /// The gateway holds money for another amount than the order's: to cancel.
    Mismatch,
    /// The gateway holds money for an order that cannot take it: to cancel.
    NotPayable(OrderStatus),
    /// The gateway has not taken money (pending, failed, cancelled): nothing to do.
    NotPaid,
}

impl Settled {
    /// The `result` label of `jangteo_payments_total`; `None` for a repeat (counted once).
    fn counted_as(self) -> Option<&'static str> {
        Some(match self {
            Settled::Paid => "PAID",
            Settled::AlreadyPaid => return None,
            Settled::AwaitingDeposit => "AWAITING_DEPOSIT",
            Settled::Mismatch => "AMOUNT_MISMATCH",
            Settled::NotPayable(_) => "NOT_PAYABLE",
            Settled::NotPaid => "NOT_PAID",
        })
    }
}

/// Applies a gateway's own answer about a payment to its order, in one transaction: the
/// payment row (one per gateway id) takes the gateway's state, and an order waiting for it
/// becomes `PAID` (or `AWAITING_DEPOSIT` for an issued account) when the gateway holds the
/// order's exact total. Money the order cannot take (another amount, an expired or
/// cancelled order, an order paid already) is recorded in `deposits_after_expiry` for
/// staff and returned as `Mismatch`/`NotPayable` for the caller to [`void`]. Idempotent:
/// the same answer twice changes nothing the second time. `release` frees the order's
/// confirmation claim.
pub(crate) async fn settle(
    pool: &PgPool,
    order_id: OrderId,
    gp: &GatewayPayment,
    token_hash: Option<Vec<u8>>,
    release: bool,
) -> Result<Settled, Error> {
    let mut tx = pool.begin().await?;
    let o = sqlx::query!(
        r#"UPDATE orders SET payment_claimed_until = CASE WHEN $2 THEN NULL ELSE payment_claimed_until END
            WHERE id = $1
        RETURNING status, total AS "total: Won", payment_method, number"#,
        order_id as OrderId,
        release,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "order" })?;
    let status = OrderStatus::parse(&o.status)?;
    let already = sqlx::query_scalar!(
        r#"SELECT paid_at IS NOT NULL AS "paid!" FROM payments WHERE provider = $1 AND provider_id = $2"#,
        gp.provider.as_str(),
        gp.provider_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(false);
    record_payment(&mut tx, order_id, &o.payment_method, gp, token_hash).await?;
    let settled = match gp.status {
        GatewayStatus::Paid if already => Settled::AlreadyPaid,
        GatewayStatus::Paid if gp.total != o.total.get() => Settled::Mismatch,
        GatewayStatus::Paid => match status {
            OrderStatus::PendingPayment | OrderStatus::AwaitingDeposit => {
                let t = if status == OrderStatus::PendingPayment {
                    Transition::Pay
                } else {
                    Transition::ConfirmDeposit
                };
                let note = format!("paid through {}", gp.provider);
                order::transition(&mut tx, order_id, t, Actor::System, &note).await?;
                Settled::Paid
            }
            other => Settled::NotPayable(other),
        },
        GatewayStatus::WaitingForDeposit if status == OrderStatus::PendingPayment => match &gp.account {
            Some(a) if gp.total == o.total.get() => {
                sqlx::query!(
                    "UPDATE orders SET deposit_bank = $2, deposit_account = $3, deposit_holder = $4, deposit_due_at = $5
                      WHERE id = $1",
                    order_id as OrderId,
                    a.bank,
                    a.number,
                    a.holder,
                    a.due_at,
                )
                .execute(&mut *tx)
                .await?;
                let note = format!("{}: virtual account issued", gp.provider);
                order::transition(&mut tx, order_id, Transition::AwaitDeposit, Actor::System, &note).await?;
                Settled::AwaitingDeposit
            }
            _ => Settled::NotPaid,
        },
        GatewayStatus::WaitingForDeposit if status == OrderStatus::AwaitingDeposit => Settled::AwaitingDeposit,
        _ => Settled::NotPaid,
    };
    if matches!(settled, Settled::Mismatch | Settled::NotPayable(_)) {
        keep_money(&mut tx, order_id, gp, settled, status).await?;
    }
    tx.commit().await?;
    if let Some(result) = settled.counted_as() {
        crate::metrics::payment(gp.provider, result);
    }
    Ok(settled)
}

/// Keeps money an order could not take for staff (`deposits_after_expiry`), once per
/// gateway payment.
async fn keep_money(
    conn: &mut PgConnection,
    order_id: OrderId,
    gp: &GatewayPayment,
    settled: Settled,
    status: OrderStatus,
) -> Result<(), Error> {
    let reason = match settled {
        Settled::Mismatch => "AMOUNT_MISMATCH",
        _ if status == OrderStatus::Expired => "EXPIRED",
        _ => "NOT_PAYABLE",
    };
    sqlx::query!(
        "INSERT INTO deposits_after_expiry (order_id, amount, provider, reference, reason)
         SELECT $1, $2, $3, $4, $5
          WHERE NOT EXISTS (SELECT 1 FROM deposits_after_expiry WHERE provider = $3 AND reference = $4)",
        order_id as OrderId,
        gp.total,
        gp.provider.as_str(),
        gp.provider_id,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    tracing::warn!(order = %order_id, provider = %gp.provider, reason, "money the order cannot take");
    Ok(())
}

/// The payment row of a gateway answer (one per gateway id), taking the gateway's state.
async fn record_payment(
    conn: &mut PgConnection,
    order_id: OrderId,
    method: &str,
    gp: &GatewayPayment,
    token_hash: Option<Vec<u8>>,
) -> Result<(), Error> {
    let cancelled = gp.total - gp.balance;
    sqlx::query!(
        "INSERT INTO payments (id, order_id, provider, provider_id, method, amount, status, actor, raw, paid_at,
                               receipt_url, failure_code, failure_message, cancelled_amount, secret_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'system', $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (provider, provider_id) WHERE provider_id IS NOT NULL DO UPDATE
            SET status = EXCLUDED.status, amount = EXCLUDED.amount, raw = EXCLUDED.raw,
                paid_at = COALESCE(payments.paid_at, EXCLUDED.paid_at),
                receipt_url = COALESCE(EXCLUDED.receipt_url, payments.receipt_url),
                failure_code = EXCLUDED.failure_code, failure_message = EXCLUDED.failure_message,
                cancelled_amount = EXCLUDED.cancelled_amount,
                secret_hash = COALESCE(EXCLUDED.secret_hash, payments.secret_hash), updated_at = now()",
        PaymentId::generate() as PaymentId,
        order_id as OrderId,
        gp.provider.as_str(),
        gp.provider_id,
        method,
        gp.total,
        gp.status.as_str(),
        gp.raw,
        gp.status
            .holds_money()
            .then(|| gp.paid_at.unwrap_or_else(chrono::Utc::now)),
        gp.receipt_url,
        gp.failure.as_ref().map(|f| f.0.as_str()),
        gp.failure.as_ref().map(|f| f.1.as_str()),
        cancelled.max(0),
        token_hash,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Cancels at the gateway money an order cannot take (idempotent per payment); on success
/// the kept record is marked refunded. A failure stays for staff in
/// `deposits_after_expiry` (and the alert it raises) and is logged.
pub(crate) async fn void(pool: &PgPool, gateways: &Gateways, gp: &GatewayPayment, reason: &str) {
    if !gp.status.holds_money() || gp.balance <= 0 {
        return;
    }
    let key = idempotency_key(&["void", gp.provider.as_str(), &gp.provider_id]);
    let done = match gp.provider {
        // A deposit goes back to an account the customer names: staff refund it.
        Provider::Toss if gp.method == "VIRTUAL_ACCOUNT" => Err(GatewayError::Failed {
            status: 0,
            code: "REFUND_ACCOUNT_REQUIRED".into(),
            message: "a deposit is refunded to the customer's account by staff".into(),
        }),
        Provider::Toss => match gateways.toss() {
            Ok(t) => t.cancel(&gp.provider_id, reason, None, 0, None, &key).await.map(|_| ()),
            Err(_) => Err(GatewayError::Unreachable("Toss is off".into())),
        },
        Provider::KakaoPay => match gateways.kakaopay() {
            Ok(k) => k.cancel(&gp.provider_id, gp.balance, 0, gp.balance).await.map(|_| ()),
            Err(_) => Err(GatewayError::Unreachable("KakaoPay is off".into())),
        },
        Provider::PortOne => match gateways.portone() {
            Ok(p) => p.cancel(&gp.provider_id, reason, None, 0, gp.balance).await.map(|_| ()),
            Err(_) => Err(GatewayError::Unreachable("PortOne is off".into())),
        },
    };
    match done {
        Ok(()) => {
            let marked = async {
                let mut conn = pool.acquire().await?;
                sqlx::query!(
                    "WITH d AS (UPDATE deposits_after_expiry SET refunded = true WHERE provider = $1 AND reference = $2)
                     UPDATE payments SET status = 'CANCELLED', cancelled_amount = amount, updated_at = now()
                      WHERE provider = $1 AND provider_id = $2",
                    gp.provider.as_str(),
                    gp.provider_id,
                )
                .execute(&mut *conn)
                .await?;
                Ok::<(), Error>(())
            };
            if let Err(e) = marked.await {
                tracing::error!(provider = %gp.provider, error = %e, "voided at the gateway, not marked");
            }
            tracing::warn!(provider = %gp.provider, "payment the order could not take was cancelled at the gateway");
        }
        Err(e) => {
            tracing::error!(provider = %gp.provider, code = e.code(), "could not cancel a payment the order cannot take; staff must refund it");
        }
    }
}
