//! Storefront checkout: `checkoutComplete`.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use commerce::{
    Error, Won,
    checkout::{self, CheckoutInput, PaymentMethod},
    ids::CustomerId,
    types::{Email, PhoneNumber},
};
use sqlx::PgPool;

use super::{
    cart::settings,
    customer::AddressFields,
    orders::Order,
    payload::{UserError, split},
    session,
};

/// How the customer pays.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PaymentMethodInput {
    /// 무통장입금: the order waits for the deposit.
    BankTransfer,
}

/// Checkout details.
#[derive(InputObject)]
pub struct CheckoutCompleteInput {
    /// Orderer e-mail.
    email: String,
    /// Orderer phone.
    phone: String,
    /// 주문자.
    orderer_name: String,
    /// Where it goes.
    shipping_address: AddressFields,
    /// 배송 메모.
    delivery_note: Option<String>,
    /// How they pay.
    payment_method: PaymentMethodInput,
    /// A key unique to this attempt: retrying with it returns the same order.
    idempotency_key: String,
    /// The total shown to the customer: a different server total is refused (`PRICE_CHANGED`).
    expected_total: Option<i64>,
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
            address: self.shipping_address.parse()?,
            delivery_note: note.to_owned(),
            payment_method: match self.payment_method {
                PaymentMethodInput::BankTransfer => PaymentMethod::BankTransfer,
            },
            idempotency_key: checkout::parse_idempotency_key(&self.idempotency_key)?,
            expected_total: match self.expected_total {
                None => None,
                Some(t) => Some(Won::new(t).ok_or(Error::Invalid {
                    field: "expectedTotal",
                    reason: "≥ 0".into(),
                })?),
            },
        })
    }
}

/// The result of checkout.
#[derive(SimpleObject)]
pub struct CheckoutCompletePayload {
    /// The order placed (its `bankTransfer` says where to pay).
    order: Option<Order>,
    /// What went wrong; nothing was placed.
    user_errors: Vec<UserError>,
}

/// Checkout mutations.
#[derive(Default)]
pub struct CheckoutMutation;

#[Object]
impl CheckoutMutation {
    /// Places the order for a cart (bank transfer: it then awaits the deposit).
    async fn checkout_complete(
        &self,
        ctx: &Context<'_>,
        cart_token: String,
        input: CheckoutCompleteInput,
    ) -> Result<CheckoutCompletePayload> {
        let me: Option<CustomerId> = session::customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let result = async { checkout::complete(pool, s, &cart_token, input.parse()?, me).await }.await;
        let (order, user_errors) = split(ctx, result)?;
        Ok(CheckoutCompletePayload {
            order: order.map(Order),
            user_errors,
        })
    }
}
