//! Storefront checkout: `checkoutComplete`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use std::sync::Arc;

use commerce::{
    Error,
    checkout::{self, CashReceipt, CashReceiptKind, CheckoutInput, ShipTo},
    ids::{AddressId, CustomerId},
    payment::Gateways,
    types::{Email, PhoneNumber},
};
use sqlx::PgPool;

use crate::shared::{CashReceiptType, PaymentMethod, Won};

use super::{
    cart::settings,
    customer::AddressFields,
    orders::Order,
    payload::{UserError, split},
    payments::PaymentSession,
    session,
};

/// Checkout details.
#[derive(InputObject)]
pub struct CheckoutCompleteInput {
    /// Orderer e-mail.
    email: String,
    /// Orderer phone.
    phone: String,
    /// 주문자.
    orderer_name: String,
    /// Where it goes, entered now; or give `shippingAddressId` (exactly one of the two).
    shipping_address: Option<AddressFields>,
    /// One of the signed-in customer's saved addresses (`Address.id`) instead of
    /// `shippingAddress`; `NOT_FOUND` for anyone else's.
    shipping_address_id: Option<ID>,
    /// 배송 메모.
    delivery_note: Option<String>,
    /// How they pay.
    payment_method: PaymentMethod,
    /// 입금자명 for a bank transfer (1–20 characters): the name the deposit will be sent
    /// under, for the shop to match it; the orderer's name when absent.
    depositor_name: Option<String>,
    /// A key unique to this attempt: retrying with it returns the same order.
    idempotency_key: String,
    /// The total shown to the customer: a different server total is refused (`PRICE_CHANGED`).
    expected_total: Option<Won>,
    /// A cash receipt (현금영수증) for a bank transfer or virtual account; a virtual
    /// account's goes to Toss, which issues it when the deposit arrives.
    cash_receipt: Option<CashReceiptInput>,
}

/// A cash receipt asked for at checkout.
#[derive(InputObject)]
pub struct CashReceiptInput {
    /// 소득공제 (a person's) or 지출증빙 (a business's).
    #[graphql(name = "type")]
    kind: CashReceiptType,
    /// A mobile, business registration or cash-receipt card number (dashes allowed).
    number: String,
}

impl CheckoutCompleteInput {
    fn parse(&self) -> Result<CheckoutInput, Error> {
        let note = self.delivery_note.as_deref().unwrap_or("").trim();
        if note.chars().count() > 200 {
            return Err(Error::Invalid {
                field: "deliveryNote",
                reason: "at most 200 characters".into(),
            });
        }
        Ok(CheckoutInput {
            email: Email::parse(&self.email)?,
            phone: PhoneNumber::parse(&self.phone, "phone")?,
            orderer_name: commerce::types::parse_name(&self.orderer_name, "ordererName")?,
            ship_to: match (&self.shipping_address, &self.shipping_address_id) {
                (Some(a), None) => ShipTo::Address(a.parse()?),
                (None, Some(id)) => ShipTo::Saved(id.parse::<AddressId>()?),
                _ => {
                    return Err(Error::Invalid {
                        field: "shippingAddress",
                        reason: "give exactly one of shippingAddress and shippingAddressId".into(),
                    });
                }
            },
            depositor_name: self
                .depositor_name
                .as_deref()
                .map(checkout::parse_depositor_name)
                .transpose()?,
            delivery_note: note.to_owned(),
            payment_method: self.payment_method.core(),
            idempotency_key: checkout::parse_idempotency_key(&self.idempotency_key)?,
            expected_total: self
                .expected_total
                .map(|t| t.non_negative("expectedTotal"))
                .transpose()?,
            cash_receipt: self
                .cash_receipt
                .as_ref()
                .map(|c| {
                    let kind = match c.kind {
                        CashReceiptType::IncomeDeduction => CashReceiptKind::IncomeDeduction,
                        CashReceiptType::ExpenditureProof => CashReceiptKind::ExpenditureProof,
                    };
                    CashReceipt::parse(kind, &c.number)
                })
                .transpose()?,
        })
    }
}

/// The result of checkout.
#[derive(SimpleObject)]
pub struct CheckoutCompletePayload {
    /// The order placed: a bank transfer or virtual account shows where to pay in
    /// `bankTransfer`; a card, easy-pay or PortOne order is `PENDING_PAYMENT` until
    /// `paymentConfirm`.
    order: Option<Order>,
    /// What the storefront opens the gateway with (`TOSS`, `KAKAOPAY`, `PORTONE`); null for
    /// bank transfer and virtual account.
    payment_session: Option<PaymentSession>,
    /// What went wrong; nothing was placed (or the order was cancelled again when the
    /// gateway could not open the payment: `PAYMENT_FAILED`, the cart kept).
    user_errors: Vec<UserError>,
}

/// Checkout mutations.
#[derive(Default)]
pub struct CheckoutMutation;

#[Object]
impl CheckoutMutation {
    /// Places the order for a cart: a bank transfer or virtual account then awaits the
    /// deposit, a gateway order its `paymentConfirm` (the stock is held meanwhile, for
    /// `payments.pendingMinutes`).
    async fn checkout_complete(
        &self,
        ctx: &Context<'_>,
        cart_token: String,
        input: CheckoutCompleteInput,
    ) -> Result<CheckoutCompletePayload> {
        let me: Option<CustomerId> = session::customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let gateways = ctx.data::<Arc<Gateways>>()?;
        let result = async {
            let order = checkout::complete(pool, s, gateways, &cart_token, input.parse()?, me).await?;
            let mut conn = pool.acquire().await?;
            let session = commerce::payment::session::for_order(&mut conn, s, gateways, &order).await?;
            Ok((order, session))
        }
        .await;
        let (placed, user_errors) = split(ctx, result)?;
        let (order, session) = placed.unzip();
        Ok(CheckoutCompletePayload {
            order: order.map(Order::from),
            payment_session: session.flatten().map(PaymentSession::from),
            user_errors,
        })
    }
}
