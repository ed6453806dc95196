//! Refunds of gateway payments: the gateway cancels first (full or partial, with the
//! tax-free part computed from the order's tax-free lines), then the caller records the
//! refund row with the gateway's transaction key in its own transaction ([`record`]). A
//! gateway error changes nothing on our side and reaches staff with the gateway's code.

use sqlx::{PgConnection, PgPool};

use super::{GatewayError, Gateways, Provider, idempotency_key, toss::RefundReceiveAccount};
use crate::{
    Error, Won,
    ids::{OrderId, RefundId},
    order::RefundAccount,
};

/// A cancellation a gateway made for a refund.
#[derive(Clone, Debug)]
pub struct GatewayRefund {
    /// The gateway.
    pub provider: Provider,
    /// The payment's gateway id.
    pub provider_id: String,
    /// The gateway's key of this cancellation (Toss `transactionKey`, KakaoPay `aid`,
    /// PortOne cancellation id).
    pub transaction_key: String,
    /// Refunded (0 when an unpaid virtual account was closed).
    pub amount: Won,
    /// Its tax-free part.
    pub tax_free: Won,
}

/// The tax-free part of refunding `amount` of an order: all of what is left of the
/// order's tax-free amount when the rest is refunded, else its share of `amount` (rounded
/// down), never more than what is left.
pub fn tax_free_part(order_total: Won, order_tax_free: Won, tax_free_refunded: Won, room: Won, amount: Won) -> Won {
    let left = order_tax_free.checked_sub(tax_free_refunded).unwrap_or(Won::ZERO);
    if amount >= room || order_total == Won::ZERO {
        return left;
    }
    let share = i128::from(amount.get()) * i128::from(order_tax_free.get()) / i128::from(order_total.get());
    Won::new(i64::try_from(share).unwrap_or(0))
        .unwrap_or(Won::ZERO)
        .min(left)
}

/// Refunds `amount` (everything still held when `None`) of the order's gateway payment at
/// the gateway. `Ok(None)`: the order was not paid through a gateway (a bank transfer:
/// staff pay it back themselves). An unpaid Toss virtual account is closed at Toss
/// (amount 0). A paid virtual account is refunded to `account` (required: `INVALID_INPUT`
/// on `refundAccount`). Errors: `INVALID_INPUT` on `amount` (more than the gateway holds),
/// `INVALID_STATE` (another payment operation on the order is running), the gateway's
/// `PAYMENT_DECLINED`/`PAYMENT_FAILED`. The order is claimed meanwhile; [`record`]
/// releases it.
pub(crate) async fn at_gateway(
    pool: &PgPool,
    gateways: &Gateways,
    order: OrderId,
    amount: Option<Won>,
    reason: &str,
    account: Option<&RefundAccount>,
) -> Result<Option<GatewayRefund>, Error> {
    let mut conn = pool.acquire().await?;
    let p = sqlx::query!(
        r#"SELECT p.provider, p.provider_id AS "provider_id!", p.method, p.amount, p.cancelled_amount,
                  p.paid_at IS NOT NULL AS "paid!", o.status, o.total, o.tax_free_amount,
                  (SELECT COALESCE(sum(tax_free_amount), 0) FROM refunds r WHERE r.order_id = o.id)::int8
                      AS "tax_free_refunded!"
             FROM payments p JOIN orders o ON o.id = p.order_id
            WHERE p.order_id = $1 AND p.provider IN ('TOSS', 'KAKAOPAY', 'PORTONE') AND p.provider_id IS NOT NULL
              AND (p.status IN ('PAID', 'PARTIAL_CANCELLED') OR (p.status = 'WAITING_FOR_DEPOSIT' AND o.status = 'AWAITING_DEPOSIT'))
            ORDER BY p.paid_at IS NOT NULL DESC, p.created_at DESC LIMIT 1"#,
        order as OrderId,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(p) = p else { return Ok(None) };
    let provider = Provider::parse(&p.provider).ok_or(Error::Fault {
        what: "payments.provider",
        reason: p.provider.clone(),
    })?;
    let held = Won::new(p.amount - p.cancelled_amount).unwrap_or(Won::ZERO);
    let closing = !p.paid;
    let amount = if closing { Won::ZERO } else { amount.unwrap_or(held) };
    if !closing && (amount == Won::ZERO || amount > held) {
        return Err(Error::Invalid {
            field: "amount",
            reason: format!("between ₩1 and {held} (what the gateway still holds)"),
        });
    }
    let is_account = p.method == "VIRTUAL_ACCOUNT";
    if is_account && !closing && account.is_none() {
        return Err(Error::Invalid {
            field: "refundAccount",
            reason: "a virtual-account payment is refunded to the customer's bank account".into(),
        });
    }
    let to_won = |v: i64| Won::new(v).unwrap_or(Won::ZERO);
    let tax_free = if closing {
        Won::ZERO
    } else {
        tax_free_part(
            to_won(p.total),
            to_won(p.tax_free_amount),
            to_won(p.tax_free_refunded),
            held,
            amount,
        )
    };
    let claimed = claim(&mut conn, order, gateways).await?;
    drop(conn);
    if !claimed {
        return Err(Error::InvalidState {
            from: crate::order::OrderStatus::parse(&p.status)?,
            action: "refund (another payment operation is running) for",
        });
    }
    // The same refund asked again (a retry after a lost answer) is the same operation.
    let key = idempotency_key(&[
        "refund",
        &p.provider_id,
        &p.cancelled_amount.to_string(),
        &amount.get().to_string(),
    ]);
    let reason = if reason.trim().is_empty() {
        "고객 요청"
    } else {
        reason
    };
    let ask = Ask {
        provider,
        provider_id: &p.provider_id,
        reason,
        amount: (!closing).then_some(amount),
        tax_free,
        held,
        account: account.filter(|_| is_account && !closing),
        key: &key,
    };
    let done = cancel_at(gateways, &ask).await;
    match done {
        Ok(c) => Ok(Some(GatewayRefund {
            provider,
            provider_id: p.provider_id,
            transaction_key: c.transaction_key,
            amount,
            tax_free,
        })),
        Err(e) => {
            super::release_claim(pool, order).await?;
            tracing::warn!(order = %order, %provider, code = e.code(), "refund refused by the gateway");
            Err(e.into_error(provider))
        }
    }
}

/// One refund to ask a gateway for.
struct Ask<'a> {
    provider: Provider,
    provider_id: &'a str,
    reason: &'a str,
    /// `None`: close an unpaid virtual account.
    amount: Option<Won>,
    tax_free: Won,
    held: Won,
    account: Option<&'a RefundAccount>,
    key: &'a str,
}

async fn cancel_at(gateways: &Gateways, a: &Ask<'_>) -> Result<super::gateway::GatewayCancel, GatewayError> {
    let off = |p: Provider| GatewayError::Unreachable(format!("{p} has no keys"));
    match a.provider {
        Provider::Toss => {
            let acc = a.account.map(|a| RefundReceiveAccount {
                bank: a.bank.clone(),
                account_number: a.number.clone(),
                holder_name: a.holder.clone(),
            });
            let toss = gateways.toss().map_err(|_| off(a.provider))?;
            toss.cancel(
                a.provider_id,
                a.reason,
                a.amount.map(Won::get),
                a.tax_free.get(),
                acc.as_ref(),
                a.key,
            )
            .await
        }
        Provider::KakaoPay => {
            let amount = a.amount.unwrap_or(a.held).get();
            let kakao = gateways.kakaopay().map_err(|_| off(a.provider))?;
            kakao
                .cancel(a.provider_id, amount, a.tax_free.get(), a.held.get())
                .await
        }
        Provider::PortOne => {
            let portone = gateways.portone().map_err(|_| off(a.provider))?;
            portone
                .cancel(
                    a.provider_id,
                    a.reason,
                    a.amount.map(Won::get),
                    a.tax_free.get(),
                    a.held.get(),
                )
                .await
        }
    }
}

/// Takes the order for one gateway operation, unless another one holds it.
async fn claim(conn: &mut PgConnection, order: OrderId, gateways: &Gateways) -> Result<bool, Error> {
    let claimed = sqlx::query_scalar!(
        "UPDATE orders SET payment_claimed_until = now() + make_interval(secs => $2)
          WHERE id = $1 AND (payment_claimed_until IS NULL OR payment_claimed_until <= now())
         RETURNING id",
        order as OrderId,
        (gateways.timeout + std::time::Duration::from_secs(10)).as_secs_f64(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(claimed.is_some())
}

/// Records a refund the gateway made for a cancel that then failed on our side (the order
/// shipped in the same instant): the money went back, so the refund row exists anyway,
/// `DONE` with the gateway's key, its reason saying what happened, for staff to see on the
/// order. One transaction of its own. Nothing is recorded for a closed unpaid account.
pub(crate) async fn keep_unattached(
    pool: &PgPool,
    order: OrderId,
    g: &GatewayRefund,
    actor: crate::order::Actor,
    why: &Error,
) -> Result<(), Error> {
    tracing::error!(order = %order, provider = %g.provider, error = %why, "refunded at the gateway but the cancel failed");
    let mut tx = pool.begin().await?;
    let refund = (g.amount > Won::ZERO).then(RefundId::generate);
    if let Some(r) = refund {
        sqlx::query!(
            "INSERT INTO refunds (id, order_id, amount, reason, status, actor) VALUES ($1, $2, $3, $4, 'DONE', $5)",
            r as RefundId,
            order as OrderId,
            g.amount.get(),
            format!("refunded at {} but the cancel failed: {}", g.provider, why.code()),
            actor.label(),
        )
        .execute(&mut *tx)
        .await?;
        crate::stats::rollup::record_refund(&mut tx, r, 1).await?;
    }
    record(&mut tx, order, g, refund).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a gateway refund inside the caller's transaction: the payment's cancelled
/// amount and state, the refund row's gateway, key and tax-free part (`refund` is `None`
/// when nothing was refunded: a closed account), and the order's claim released.
pub(crate) async fn record(
    conn: &mut PgConnection,
    order: OrderId,
    g: &GatewayRefund,
    refund: Option<RefundId>,
) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE payments SET cancelled_amount = cancelled_amount + $3, updated_at = now(),
                status = CASE WHEN paid_at IS NULL THEN 'CANCELLED'
                              WHEN cancelled_amount + $3 >= amount THEN 'CANCELLED'
                              ELSE 'PARTIAL_CANCELLED' END
          WHERE provider = $1 AND provider_id = $2",
        g.provider.as_str(),
        g.provider_id,
        g.amount.get(),
    )
    .execute(&mut *conn)
    .await?;
    if let Some(r) = refund {
        sqlx::query!(
            "UPDATE refunds SET provider = $2, transaction_key = $3, tax_free_amount = $4, status = 'DONE'
              WHERE id = $1",
            r as RefundId,
            g.provider.as_str(),
            g.transaction_key,
            g.tax_free.get(),
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "UPDATE orders SET payment_claimed_until = NULL WHERE id = $1",
        order as OrderId
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(n: i64) -> Won {
        Won::new(n).expect("won")
    }

    #[test]
    fn the_tax_free_part_follows_the_order_and_ends_with_what_is_left() {
        // ₩30,000 order with ₩10,000 tax-free: a ₩9,000 refund carries ₩3,000 of it.
        assert_eq!(tax_free_part(w(30_000), w(10_000), w(0), w(30_000), w(9_000)), w(3_000));
        // The last refund takes what is left of the tax-free part, whatever the share.
        assert_eq!(
            tax_free_part(w(30_000), w(10_000), w(3_000), w(21_000), w(21_000)),
            w(7_000)
        );
        assert_eq!(tax_free_part(w(30_000), w(0), w(0), w(30_000), w(5_000)), w(0));
        // Never more than what is left.
        assert_eq!(
            tax_free_part(w(30_000), w(10_000), w(9_500), w(20_000), w(6_000)),
            w(500)
        );
    }
}
