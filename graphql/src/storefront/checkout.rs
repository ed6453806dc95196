//! Storefront checkout: `checkoutComplete`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use commerce::{
    Error,
    checkout::{self, CheckoutInput, ShipTo},
    ids::{AddressId, CustomerId},
    types::{Email, PhoneNumber},
};
use sqlx::PgPool;

use crate::shared::{PaymentMethod, Won};

use super::{
    cart::settings,
    customer::AddressFields,
    orders::Order,
    payload::{UserError, split},
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
            payment_method: match self.payment_method {
                PaymentMethod::BankTransfer => checkout::PaymentMethod::BankTransfer,
            },
            idempotency_key: checkout::parse_idempotency_key(&self.idempotency_key)?,
            expected_total: self
                .expected_total
                .map(|t| t.non_negative("expectedTotal"))
                .transpose()?,
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
            order: order.map(Order::from),
            user_errors,
        })
    }
}
