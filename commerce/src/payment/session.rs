//! What a gateway order needs between checkout and payment: the storefront's payment
//! session (what it opens the gateway with), KakaoPay's `ready` and the Toss virtual
//! account issued at checkout, and PortOne's `paymentId` chosen for the order.

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{
    GatewayError, GatewayPayment, GatewayStatus, Gateways, Provider, digest,
    gateway::IssuedAccount,
    idempotency_key,
    kakaopay::ReadyRequest,
    toss::{CashReceiptRequest, VirtualAccountRequest},
};
use crate::{
    Error, Settings, Won,
    checkout::{CashReceiptKind, PaymentMethod},
    ids::{OrderId, PaymentId},
    order::{self, Actor, Order, OrderKey, OrderStatus, Transition},
};

/// What the storefront opens the gateway with (`CheckoutCompletePayload.paymentSession`).
/// Fields a gateway does not use are `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentSession {
    /// The gateway.
    pub provider: Provider,
    /// The order's method (`TOSS`, `KAKAOPAY`, `PORTONE`).
    pub method: PaymentMethod,
    /// What to charge: the order total.
    pub amount: Won,
    /// Its tax-free part (the SDKs' `taxFreeAmount`).
    pub tax_free_amount: Won,
    /// The gateway's order id: our order number (Toss `orderId`).
    pub order_id: String,
    /// `첫 상품 외 N건`, at most 100 characters.
    pub order_name: String,
    /// Toss `customerKey`: the customer's id, or `ANONYMOUS` for a guest.
    pub customer_key: Option<String>,
    /// Toss client key.
    pub client_key: Option<String>,
    /// KakaoPay: where to send the customer (chosen by the order's channel).
    pub redirect_url: Option<String>,
    /// PortOne `paymentId`.
    pub payment_id: Option<String>,
    /// PortOne `storeId`.
    pub store_id: Option<String>,
    /// PortOne `channelKey`.
    pub channel_key: Option<String>,
    /// Toss: the success URL to give the SDK (it appends `paymentKey`, `orderId`, `amount`).
    pub success_url: Option<String>,
    /// Toss: the failure URL (it appends `code`, `message`, `orderId`).
    pub fail_url: Option<String>,
}

/// `첫 상품 외 N건` (gifts left out), at most 100 characters as the gateways allow.
pub fn order_name(o: &Order) -> String {
    let bought: Vec<_> = o.lines.iter().filter(|l| !l.is_gift).collect();
    let first = bought.first().map_or("주문 상품", |l| l.product_name.as_str());
    let name = match bought.len() {
        0 | 1 => first.to_owned(),
        n => format!("{first} 외 {}건", n - 1),
    };
    name.chars().take(100).collect()
}

fn storefront(settings: &Settings, path: &str) -> String {
    format!("{}{path}", settings.shop.storefront_url.trim_end_matches('/'))
}

/// The payment session of an order still waiting for its gateway payment
/// (`PENDING_PAYMENT`); `None` for any other order. Errors: faults only.
pub async fn for_order(
    conn: &mut PgConnection,
    settings: &Settings,
    gateways: &Gateways,
    o: &Order,
) -> Result<Option<PaymentSession>, Error> {
    let Some(method) = PaymentMethod::parse(&o.payment_method) else {
        return Ok(None);
    };
    let Some(provider) = method.provider() else {
        return Ok(None);
    };
    if o.status != OrderStatus::PendingPayment || method == PaymentMethod::VirtualAccount {
        return Ok(None);
    }
    let mut s = PaymentSession {
        provider,
        method,
        amount: o.total,
        tax_free_amount: o.tax_free_amount,
        order_id: o.number.clone(),
        order_name: order_name(o),
        customer_key: None,
        client_key: None,
        redirect_url: None,
        payment_id: None,
        store_id: None,
        channel_key: None,
        success_url: None,
        fail_url: None,
    };
    match provider {
        Provider::Toss => {
            s.customer_key = Some(o.customer_id.map_or_else(|| "ANONYMOUS".to_owned(), |c| c.to_string()));
            s.client_key = gateways.toss.as_ref().map(|t| t.client_key.clone());
            s.success_url = Some(storefront(settings, "/payments/toss/success"));
            s.fail_url = Some(storefront(settings, "/payments/toss/fail"));
        }
        Provider::KakaoPay => {
            let urls = sqlx::query_scalar!(
                "SELECT session FROM payments WHERE order_id = $1 AND provider = 'KAKAOPAY' AND status = 'READY'
                  ORDER BY created_at DESC LIMIT 1",
                o.id as OrderId,
            )
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            let key = match o.channel.as_str() {
                "MOBILE_WEB" => "mobile",
                "APP" => "app",
                _ => "pc",
            };
            s.redirect_url = urls.and_then(|u| u.get(key).and_then(|v| v.as_str()).map(str::to_owned));
        }
        Provider::PortOne => {
            s.payment_id = sqlx::query_scalar!(
                "SELECT provider_id FROM payments WHERE order_id = $1 AND provider = 'PORTONE'
                  ORDER BY created_at DESC LIMIT 1",
                o.id as OrderId,
            )
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            if let Some(p) = &gateways.portone {
                s.store_id = Some(p.store_id.clone());
                s.channel_key = Some(p.channel_key.clone());
            }
        }
    }
    Ok(Some(s))
}

/// Chooses the PortOne `paymentId` of a new order (random: it is what the customer's
/// browser proves the payment with) and records the attempt, inside checkout's transaction.
pub(crate) async fn open_portone(conn: &mut PgConnection, order: OrderId, total: Won) -> Result<(), Error> {
    let payment_id = format!("pay-{}", &crate::auth::new_token().0[..32]);
    sqlx::query!(
        "INSERT INTO payments (id, order_id, provider, provider_id, method, amount, status, actor)
         VALUES ($1, $2, 'PORTONE', $3, 'PORTONE', $4, 'READY', 'system')",
        PaymentId::generate() as PaymentId,
        order as OrderId,
        payment_id,
        total.get(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Opens the gateway side of a just-placed order whose checkout calls out: KakaoPay's
/// `ready`, or a Toss virtual account. On success the cart is deleted; on a gateway
/// failure the order is cancelled (stock and coupon released, its idempotency key freed so
/// the same attempt can be made again), the cart stays, and the gateway's error is
/// returned (`PAYMENT_FAILED`, `PAYMENT_DECLINED`). Already opened: nothing happens.
pub(crate) async fn open(
    pool: &PgPool,
    settings: &Settings,
    gateways: &Gateways,
    id: OrderId,
    cart_token: &str,
) -> Result<(), Error> {
    let o = {
        let mut conn = pool.acquire().await?;
        order::get(&mut conn, &OrderKey::Id(id))
            .await?
            .ok_or(Error::NotFound { what: "order" })?
    };
    if o.status != OrderStatus::PendingPayment {
        return Ok(()); // an earlier attempt with this key opened it
    }
    let method = PaymentMethod::parse(&o.payment_method);
    let opened = match method {
        Some(PaymentMethod::KakaoPay) => kakao_ready(pool, settings, gateways, &o).await,
        Some(PaymentMethod::VirtualAccount) => issue_account(pool, settings, gateways, &o).await,
        _ => return Ok(()),
    };
    let provider = method.and_then(PaymentMethod::provider).unwrap_or(Provider::Toss);
    match opened {
        Ok(()) => {
            let mut conn = pool.acquire().await?;
            sqlx::query!("DELETE FROM carts WHERE token = $1", cart_token)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
        Err(e) => {
            abandon(pool, &o, provider, &e).await?;
            Err(e.into_error(provider))
        }
    }
}

async fn kakao_ready(pool: &PgPool, settings: &Settings, gateways: &Gateways, o: &Order) -> Result<(), GatewayError> {
    let kakao = gateways
        .kakaopay()
        .map_err(|_| GatewayError::Unreachable("KakaoPay is off".into()))?;
    let qs = format!("?order={}", o.number);
    let req = ReadyRequest {
        partner_order_id: o.number.clone(),
        partner_user_id: partner_user(o),
        item_name: order_name(o),
        quantity: o.lines.iter().map(|l| i64::from(l.quantity)).sum::<i64>().max(1),
        total_amount: o.total.get(),
        tax_free_amount: o.tax_free_amount.get(),
        approval_url: storefront(settings, &format!("/payments/kakaopay/approve{qs}")),
        cancel_url: storefront(settings, &format!("/payments/kakaopay/cancel{qs}")),
        fail_url: storefront(settings, &format!("/payments/kakaopay/fail{qs}")),
    };
    let ready = kakao.ready(&req).await?;
    let session = json!({
        "pc": ready.next_redirect_pc_url,
        "mobile": ready.next_redirect_mobile_url,
        "app": ready.next_redirect_app_url,
    });
    let write = async {
        let mut conn = pool.acquire().await?;
        sqlx::query!(
            "INSERT INTO payments (id, order_id, provider, provider_id, method, amount, status, actor, session)
             VALUES ($1, $2, 'KAKAOPAY', $3, 'KAKAOPAY', $4, 'READY', 'system', $5)",
            PaymentId::generate() as PaymentId,
            o.id as OrderId,
            ready.tid,
            o.total.get(),
            session,
        )
        .execute(&mut *conn)
        .await?;
        Ok::<(), Error>(())
    };
    write.await.map_err(|e| not_recorded(o, &e))
}

/// KakaoPay's `partner_user_id`: the customer's id, or `guest`; the same at `ready` and
/// `approve`.
pub(crate) fn partner_user(o: &Order) -> String {
    o.customer_id.map_or_else(|| "guest".to_owned(), |c| c.to_string())
}

async fn issue_account(pool: &PgPool, settings: &Settings, gateways: &Gateways, o: &Order) -> Result<(), GatewayError> {
    let toss = gateways
        .toss()
        .map_err(|_| GatewayError::Unreachable("Toss is off".into()))?;
    let receipt = {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| GatewayError::Unreachable(e.to_string()))?;
        sqlx::query!(
            "SELECT cash_receipt_type, cash_receipt_number FROM orders WHERE id = $1",
            o.id as OrderId
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| GatewayError::Unreachable(e.to_string()))?
    };
    let cash_receipt = match (
        receipt.cash_receipt_type.as_deref().and_then(CashReceiptKind::parse),
        receipt.cash_receipt_number,
    ) {
        (Some(kind), Some(number)) => Some(CashReceiptRequest {
            kind: kind.toss_name(),
            registration_number: number,
        }),
        _ => None,
    };
    let req = VirtualAccountRequest {
        amount: o.total.get(),
        order_id: o.number.clone(),
        order_name: order_name(o),
        customer_name: o.depositor_name.clone().unwrap_or_else(|| o.orderer_name.clone()),
        bank: toss.virtual_account_bank.clone(),
        valid_hours: settings.payments.virtual_account_hours.clamp(1, 720),
        customer_email: o.email.clone(),
        tax_free_amount: o.tax_free_amount.get(),
        cash_receipt,
    };
    let key = idempotency_key(&["virtual-account", &o.id.to_string()]);
    let issued = match toss.issue_virtual_account(&req, &key).await {
        Ok(p) => p,
        // The answer was lost, not necessarily the account: ask Toss before giving up.
        Err(GatewayError::Timeout | GatewayError::Failed { status: 500.., .. }) => {
            toss.get_by_order(&o.number).await.map_err(|_| GatewayError::Timeout)?
        }
        Err(e) => return Err(e),
    };
    let Some(account) = issued
        .account
        .clone()
        .filter(|_| issued.status == GatewayStatus::WaitingForDeposit)
    else {
        return Err(GatewayError::Failed {
            status: 200,
            code: "NOT_ISSUED".into(),
            message: "Toss did not issue a virtual account".into(),
        });
    };
    if issued.total != o.total.get() || issued.order_ref != o.number {
        return Err(GatewayError::Failed {
            status: 200,
            code: "AMOUNT_MISMATCH".into(),
            message: "the issued account is for another amount or order".into(),
        });
    }
    record_account(pool, o, &issued, &account)
        .await
        .map_err(|e| not_recorded(o, &e))
}

/// Records an issued account: the payment (its deposit-callback secret hashed), the order's
/// account and due time, `AWAITING_DEPOSIT`. One transaction.
async fn record_account(
    pool: &PgPool,
    o: &Order,
    issued: &GatewayPayment,
    account: &IssuedAccount,
) -> Result<(), Error> {
    let secret = issued.secret.clone().unwrap_or_default();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO payments (id, order_id, provider, provider_id, method, amount, status, actor, raw, secret_hash)
         VALUES ($1, $2, 'TOSS', $3, 'VIRTUAL_ACCOUNT', $4, 'WAITING_FOR_DEPOSIT', 'system', $5, $6)",
        PaymentId::generate() as PaymentId,
        o.id as OrderId,
        issued.provider_id,
        o.total.get(),
        issued.raw,
        (!secret.is_empty()).then(|| digest(&secret)),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE orders SET deposit_bank = $2, deposit_account = $3, deposit_holder = $4, deposit_due_at = $5
          WHERE id = $1",
        o.id as OrderId,
        account.bank,
        account.number,
        account.holder,
        account.due_at,
    )
    .execute(&mut *tx)
    .await?;
    order::transition(
        &mut tx,
        o.id,
        Transition::AwaitDeposit,
        Actor::System,
        "virtual account issued: waiting for the deposit",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A database failure after the gateway answered, reported as the gateway's failure: the
/// order is then abandoned. Nothing was charged (a `ready` or an unpaid account).
fn not_recorded(o: &Order, e: &Error) -> GatewayError {
    tracing::error!(order = %o.id, error = %e, "could not record the gateway's answer");
    GatewayError::Unreachable(e.to_string())
}

/// Cancels an order whose gateway session could not be opened: stock and coupon released,
/// the idempotency key freed, the failed attempt recorded. One transaction.
async fn abandon(pool: &PgPool, o: &Order, provider: Provider, e: &GatewayError) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let note = format!("{provider} could not open the payment: {}", e.code());
    match order::transition(&mut tx, o.id, Transition::Cancel, Actor::System, &note).await {
        Ok(_) => {}
        Err(Error::InvalidState { .. }) => return Ok(()), // someone else moved it first
        Err(other) => return Err(other),
    }
    order::release_allocation(&mut tx, o.id, "ORDER_CANCELLED", Actor::System).await?;
    sqlx::query!(
        "WITH r AS (DELETE FROM coupon_redemptions WHERE order_id = $1 RETURNING coupon_id)
         UPDATE coupons SET used_count = used_count - 1 WHERE id IN (SELECT coupon_id FROM r) AND used_count > 0",
        o.id as OrderId,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE orders SET idempotency_key = NULL WHERE id = $1",
        o.id as OrderId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO payments (id, order_id, provider, method, amount, status, actor, failure_code, failure_message)
         VALUES ($1, $2, $3, $4, $5, 'FAILED', 'system', $6, $7)",
        PaymentId::generate() as PaymentId,
        o.id as OrderId,
        provider.as_str(),
        o.payment_method,
        o.total.get(),
        e.code(),
        e.message(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::warn!(order = %o.id, %provider, code = e.code(), "gateway session not opened; order cancelled");
    Ok(())
}
