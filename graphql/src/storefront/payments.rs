//! Storefront payments: `paymentConfirm` when the customer is back from a gateway, and the
//! `PaymentSession` checkout hands the storefront to open one.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use commerce::{
    Error,
    payment::{
        Gateways,
        confirm::{self, ConfirmInput},
    },
};
use sqlx::PgPool;

use super::orders::OrderPayload;
use crate::shared::{PaymentMethod, PaymentProvider, Won};

/// What the storefront opens the gateway with. Fields a gateway does not use are null.
#[derive(SimpleObject)]
pub struct PaymentSession {
    /// The gateway.
    provider: PaymentProvider,
    /// The order's method.
    method: PaymentMethod,
    /// What to charge: the order total (the server checks it again at `paymentConfirm`).
    amount: Won,
    /// Its tax-free part (면세): the SDKs' `taxFreeAmount`, so refunds can carry their share.
    tax_free_amount: Won,
    /// The order number: Toss SDK's `orderId`.
    order_id: String,
    /// `첫 상품 외 N건` (at most 100 characters): the SDK's `orderName`.
    order_name: String,
    /// Toss SDK's `customerKey`: the member's id, or `ANONYMOUS`.
    customer_key: Option<String>,
    /// Toss client key (`test_ck_…`/`live_ck_…`).
    client_key: Option<String>,
    /// KakaoPay: where to send the customer now (PC, mobile or app page by the order's
    /// channel).
    redirect_url: Option<String>,
    /// PortOne SDK's `paymentId`.
    payment_id: Option<String>,
    /// PortOne SDK's `storeId`.
    store_id: Option<String>,
    /// PortOne SDK's `channelKey`.
    channel_key: Option<String>,
    /// Toss SDK's `successUrl` (Toss appends `paymentKey`, `orderId`, `amount`).
    success_url: Option<String>,
    /// Toss SDK's `failUrl` (Toss appends `code`, `message`, `orderId`).
    fail_url: Option<String>,
}

impl From<commerce::payment::session::PaymentSession> for PaymentSession {
    fn from(s: commerce::payment::session::PaymentSession) -> PaymentSession {
        use commerce::payment::Provider as P;
        PaymentSession {
            provider: match s.provider {
                P::Toss => PaymentProvider::Toss,
                P::KakaoPay => PaymentProvider::Kakaopay,
                P::PortOne => PaymentProvider::Portone,
            },
            method: PaymentMethod::from_core(s.method),
            amount: s.amount.into(),
            tax_free_amount: s.tax_free_amount.into(),
            order_id: s.order_id,
            order_name: s.order_name,
            customer_key: s.customer_key,
            client_key: s.client_key,
            redirect_url: s.redirect_url,
            payment_id: s.payment_id,
            store_id: s.store_id,
            channel_key: s.channel_key,
            success_url: s.success_url,
            fail_url: s.fail_url,
        }
    }
}

/// What the gateway sent the customer back with.
#[derive(InputObject)]
pub struct PaymentConfirmInput {
    /// The gateway (`TOSS`, `KAKAOPAY`, `PORTONE`).
    provider: PaymentProvider,
    /// The order number.
    order_number: String,
    /// Toss: the success URL's `paymentKey`.
    payment_key: Option<String>,
    /// Toss: the success URL's `amount` (refused with `AMOUNT_MISMATCH` unless it is the
    /// order's total, before Toss is called).
    amount: Option<Won>,
    /// KakaoPay: the approval URL's `pg_token`.
    pg_token: Option<String>,
    /// PortOne: the session's `paymentId`.
    payment_id: Option<String>,
}

/// Payment mutations.
#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Confirms a gateway payment once the customer is back: the amount is checked against
    /// the order, the gateway confirms (once, however often this is called: a repeat
    /// returns the paid order), and the order is `PAID`. Errors: `AMOUNT_MISMATCH`,
    /// `PAYMENT_DECLINED` and `PAYMENT_FAILED` (with the gateway's code and message; the
    /// order stays payable), `ORDER_NOT_PAYABLE`, `NOT_FOUND`, `INVALID_INPUT`.
    async fn payment_confirm(&self, ctx: &Context<'_>, input: PaymentConfirmInput) -> Result<OrderPayload> {
        let pool = ctx.data::<PgPool>()?;
        let gateways = ctx.data::<Arc<Gateways>>()?;
        let result = async {
            let provider = input.provider.gateway().ok_or(Error::Invalid {
                field: "provider",
                reason: "TOSS, KAKAOPAY or PORTONE".into(),
            })?;
            let amount = input.amount.map(|a| a.non_negative("amount")).transpose()?;
            confirm::confirm(
                pool,
                gateways,
                ConfirmInput {
                    provider,
                    order_number: input.order_number.chars().take(64).collect(),
                    payment_key: input.payment_key,
                    amount,
                    pg_token: input.pg_token,
                    payment_id: input.payment_id,
                },
            )
            .await
        }
        .await;
        OrderPayload::from(ctx, result)
    }
}
