//! Storefront customers: `me`, sign-up, login, logout, password reset, addresses.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    Error,
    address::PostalAddress,
    cart,
    customer::{self, SignUp},
    ids::AddressId,
    types::{Email, NewPassword, PhoneNumber, format_phone},
};
use sqlx::PgPool;

use super::{
    cart::{Cart, load_cart, settings},
    catalog::seoul,
    inquiries::{InquiryConnection, my_inquiries},
    orders::{Order, OrderConnection, ShippingAddress, my_order, my_orders},
    payload::{UserError, split},
    session,
};
use crate::{error::GqlResult, shared::CustomerTier};

/// A signed-in customer.
pub struct Customer(customer::Customer);

/// A saved address.
#[derive(SimpleObject)]
pub struct Address {
    /// Opaque id.
    id: ID,
    /// The address, with the fields of an order's.
    #[graphql(flatten)]
    address: ShippingAddress,
    /// The default address.
    is_default: bool,
}

impl From<customer::Address> for Address {
    fn from(saved: customer::Address) -> Address {
        Address {
            id: ID(saved.id.to_string()),
            address: saved.address.into(),
            is_default: saved.is_default,
        }
    }
}

#[Object]
impl Customer {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Sign-in e-mail.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Mobile, `010-1234-5678`.
    async fn mobile(&self) -> String {
        format_phone(&self.0.mobile)
    }
    /// Membership tier (회원 등급).
    async fn tier(&self) -> CustomerTier {
        CustomerTier::from_db(&self.0.tier)
    }
    /// Points balance.
    async fn points(&self) -> i64 {
        self.0.points
    }
    /// Marketing e-mail consent.
    async fn marketing_email(&self) -> bool {
        self.0.marketing_email.is_some()
    }
    /// Marketing SMS consent.
    async fn marketing_sms(&self) -> bool {
        self.0.marketing_sms.is_some()
    }
    /// Saved addresses, the default first.
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<Address>> {
        let pool = ctx.data::<PgPool>()?;
        Ok(customer::addresses(pool, self.0.id)
            .await
            .gql(ctx)?
            .into_iter()
            .map(Address::from)
            .collect())
    }
    /// Their orders, newest first.
    async fn orders(&self, ctx: &Context<'_>, first: Option<i64>, after: Option<String>) -> Result<OrderConnection> {
        my_orders(ctx, self.0.id, first, after).await
    }
    /// Their inquiries (1:1 문의), newest first.
    async fn inquiries(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<InquiryConnection> {
        my_inquiries(ctx, self.0.id, first, after).await
    }
    /// One of their orders by number (the order page); null with a `NOT_FOUND` error for
    /// a number that is not theirs.
    async fn order(&self, ctx: &Context<'_>, number: String) -> Result<Option<Order>> {
        my_order(ctx, self.0.id, &number).await
    }
    /// Their cart, if any.
    async fn cart(&self, ctx: &Context<'_>) -> Result<Option<Cart>> {
        let pool = ctx.data::<PgPool>()?;
        settings(ctx)?;
        let mut conn = pool.acquire().await.gql(ctx)?;
        let Some(token) = cart::token_of_customer(&mut conn, self.0.id).await.gql(ctx)? else {
            return Ok(None);
        };
        drop(conn);
        Ok(Some(Cart(load_cart(ctx, &token).await.gql(ctx)?)))
    }
    /// Signed up at.
    async fn created_at(&self) -> DateTime<FixedOffset> {
        seoul(self.0.created_at)
    }
}

/// Sign-up details.
#[derive(InputObject)]
pub struct CustomerSignUpInput {
    /// E-mail (sign-in id).
    email: String,
    /// 8–64 characters, at least two of letters, digits, symbols.
    password: String,
    /// Name.
    name: String,
    /// Mobile, e.g. `010-1234-5678`.
    mobile: String,
    /// 이용약관 동의 (required).
    terms_accepted: bool,
    /// 개인정보 수집·이용 동의 (required).
    privacy_accepted: bool,
    /// 마케팅 이메일 수신 동의.
    marketing_email: Option<bool>,
    /// 마케팅 SMS 수신 동의.
    marketing_sms: Option<bool>,
}

/// An address as the Daum/Kakao postcode widget gives it, plus recipient and phone.
#[derive(InputObject, Clone)]
pub struct AddressFields {
    /// 받는 분.
    recipient: String,
    /// Phone.
    phone: String,
    /// 우편번호 (5 digits).
    zonecode: String,
    /// 도로명 주소.
    road_address: String,
    /// 지번 주소.
    jibun_address: Option<String>,
    /// 건물명.
    building_name: Option<String>,
    /// 상세 주소.
    detail_address: Option<String>,
}

impl AddressFields {
    pub(super) fn parse(&self) -> Result<PostalAddress, Error> {
        PostalAddress {
            recipient: self.recipient.clone(),
            phone: self.phone.clone(),
            zonecode: self.zonecode.clone(),
            road_address: self.road_address.clone(),
            jibun_address: self.jibun_address.clone().unwrap_or_default(),
            building_name: self.building_name.clone().unwrap_or_default(),
            detail_address: self.detail_address.clone().unwrap_or_default(),
        }
        .checked()
    }
}

/// The result of sign-up.
#[derive(SimpleObject)]
pub struct CustomerSignUpPayload {
    /// The new customer.
    customer: Option<Customer>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of login.
#[derive(SimpleObject)]
pub struct CustomerLoginPayload {
    /// Send as `Authorization: Bearer …`.
    access_token: Option<String>,
    /// When the token stops working (renew it before with `customerTokenRenew`).
    expires_at: Option<DateTime<FixedOffset>>,
    /// Who.
    customer: Option<Customer>,
    /// Their cart after merging the anonymous one.
    cart: Option<Cart>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of a token renewal.
#[derive(SimpleObject)]
pub struct CustomerTokenRenewPayload {
    /// The new token; the one sent no longer works.
    access_token: Option<String>,
    /// When the new token stops working.
    expires_at: Option<DateTime<FixedOffset>>,
    /// What went wrong (`UNAUTHENTICATED`: no live token was sent).
    user_errors: Vec<UserError>,
}

/// The result of logout.
#[derive(SimpleObject)]
pub struct CustomerLogoutPayload {
    /// The token is revoked.
    ok: bool,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of `customerPasswordResetRequest`.
#[derive(SimpleObject)]
pub struct CustomerPasswordResetRequestPayload {
    /// The request was taken: if an account has the e-mail, a link is on its way. The same
    /// answer for every e-mail.
    ok: bool,
    /// What went wrong (`INVALID_INPUT`: not an e-mail address).
    user_errors: Vec<UserError>,
}

/// The result of `customerPasswordReset`.
#[derive(SimpleObject)]
pub struct CustomerPasswordResetPayload {
    /// The password is changed and every session ended: log in with the new password.
    ok: bool,
    /// What went wrong (`INVALID_TOKEN` on `token`, `INVALID_INPUT` on `password`).
    user_errors: Vec<UserError>,
}

/// The result of an address change.
#[derive(SimpleObject)]
pub struct AddressPayload {
    /// The address after the change.
    address: Option<Address>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of deleting an address.
#[derive(SimpleObject)]
pub struct AddressDeletePayload {
    /// The deleted address's id.
    deleted_id: Option<ID>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Customer queries.
#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// The signed-in customer; null for a guest (no token), so one query can ask for
    /// `me` and the rest of a page. A token that is unknown, expired or revoked is an
    /// `UNAUTHENTICATED` error on this field (`me` null, the other fields answered): the
    /// client should drop the token rather than take the caller for a guest.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let Some(id) = session::customer(ctx).await? else {
            return Ok(None);
        };
        let pool = ctx.data::<PgPool>()?;
        Ok(Some(Customer(customer::get(pool, id).await.gql(ctx)?)))
    }
}

/// Customer mutations.
#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer account.
    async fn customer_sign_up(&self, ctx: &Context<'_>, input: CustomerSignUpInput) -> Result<CustomerSignUpPayload> {
        let pool = ctx.data::<PgPool>()?;
        let result = async {
            let s = SignUp {
                email: Email::parse(&input.email)?,
                password: NewPassword::parse(&input.password)?,
                name: commerce::types::parse_name(&input.name, "name")?,
                mobile: PhoneNumber::parse_mobile(&input.mobile)?,
                terms: input.terms_accepted,
                privacy: input.privacy_accepted,
                marketing_email: input.marketing_email.unwrap_or(false),
                marketing_sms: input.marketing_sms.unwrap_or(false),
            };
            customer::sign_up(pool, s).await
        }
        .await;
        let (customer, user_errors) = split(ctx, result)?;
        Ok(CustomerSignUpPayload {
            customer: customer.map(Customer),
            user_errors,
        })
    }

    /// Logs in; with `cartToken` the anonymous cart joins the customer's.
    async fn customer_login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        cart_token: Option<String>,
    ) -> Result<CustomerLoginPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let ip = session::caller(ctx).ip.clone();
        let result = customer::login(
            pool,
            &s.customers,
            &email,
            &password,
            ip.as_deref(),
            cart_token.as_deref(),
        )
        .await;
        let (ok, user_errors) = split(ctx, result)?;
        let Some(ok) = ok else {
            return Ok(CustomerLoginPayload {
                access_token: None,
                expires_at: None,
                customer: None,
                cart: None,
                user_errors,
            });
        };
        let cart = match &ok.cart_token {
            Some(t) => Some(Cart(load_cart(ctx, t).await.gql(ctx)?)),
            None => None,
        };
        let expires_at = commerce::session::expires_at(pool, &ok.token).await.gql(ctx)?;
        Ok(CustomerLoginPayload {
            access_token: Some(ok.token),
            expires_at: Some(seoul(expires_at)),
            customer: Some(Customer(ok.customer)),
            cart,
            user_errors,
        })
    }

    /// Swaps the live access token sent with this request for a new one with a new expiry;
    /// the old one stops working. `UNAUTHENTICATED` (a user error) without a live token.
    async fn customer_token_renew(&self, ctx: &Context<'_>) -> Result<CustomerTokenRenewPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let result = match session::caller(ctx).bearer.clone() {
            Some(t) => commerce::session::renew(pool, &s.customers, &t).await,
            None => Err(Error::Unauthenticated),
        };
        let (renewed, user_errors) = split(ctx, result)?;
        Ok(CustomerTokenRenewPayload {
            expires_at: renewed.as_ref().map(|r| seoul(r.expires_at)),
            access_token: renewed.map(|r| r.token),
            user_errors,
        })
    }

    /// Revokes the access token sent with this request.
    async fn customer_logout(&self, ctx: &Context<'_>) -> Result<CustomerLogoutPayload> {
        let pool = ctx.data::<PgPool>()?;
        let result = match session::caller(ctx).bearer.clone() {
            Some(t) => customer::logout(pool, &t).await,
            None => Err(Error::Unauthenticated),
        };
        let (ok, user_errors) = split(ctx, result)?;
        Ok(CustomerLogoutPayload {
            ok: ok.is_some(),
            user_errors,
        })
    }

    /// Sends a password reset link to `email`, valid for 30 minutes and once; earlier links
    /// stop working. The answer is the same whether or not an account has the e-mail (an
    /// unknown one gets nothing).
    async fn customer_password_reset_request(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> Result<CustomerPasswordResetRequestPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let result = commerce::password_reset::request(pool, &s.shop.storefront_url, &email).await;
        let (ok, user_errors) = split(ctx, result)?;
        Ok(CustomerPasswordResetRequestPayload {
            ok: ok.is_some(),
            user_errors,
        })
    }

    /// Sets a new password with the `token` of a reset link; every session of the customer
    /// ends. `INVALID_TOKEN` for an unknown, expired or used link.
    async fn customer_password_reset(
        &self,
        ctx: &Context<'_>,
        token: String,
        password: String,
    ) -> Result<CustomerPasswordResetPayload> {
        let pool = ctx.data::<PgPool>()?;
        let result = async {
            let password = NewPassword::parse(&password)?;
            commerce::password_reset::reset(pool, &token, password).await
        }
        .await;
        let (ok, user_errors) = split(ctx, result)?;
        Ok(CustomerPasswordResetPayload {
            ok: ok.is_some(),
            user_errors,
        })
    }

    /// Saves an address (the first, or one with `default: true`, becomes the default).
    async fn customer_address_add(
        &self,
        ctx: &Context<'_>,
        input: AddressFields,
        default: Option<bool>,
    ) -> Result<AddressPayload> {
        let me = session::require_customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        let result = async { customer::add_address(pool, me, input.parse()?, default.unwrap_or(false)).await }.await;
        address_payload(ctx, result)
    }

    /// Replaces an address's fields.
    async fn customer_address_update(&self, ctx: &Context<'_>, id: ID, input: AddressFields) -> Result<AddressPayload> {
        let me = session::require_customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        let result = async { customer::update_address(pool, me, id.parse::<AddressId>()?, input.parse()?).await }.await;
        address_payload(ctx, result)
    }

    /// Makes an address the default.
    async fn customer_address_set_default(&self, ctx: &Context<'_>, id: ID) -> Result<AddressPayload> {
        let me = session::require_customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        let result = async { customer::set_default_address(pool, me, id.parse::<AddressId>()?).await }.await;
        address_payload(ctx, result)
    }

    /// Deletes an address.
    async fn customer_address_delete(&self, ctx: &Context<'_>, id: ID) -> Result<AddressDeletePayload> {
        let me = session::require_customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        let result = async {
            let address = id.parse::<AddressId>()?;
            customer::delete_address(pool, me, address).await.map(|()| address)
        }
        .await;
        let (deleted, user_errors) = split(ctx, result)?;
        Ok(AddressDeletePayload {
            deleted_id: deleted.map(|a| ID(a.to_string())),
            user_errors,
        })
    }
}

fn address_payload(ctx: &Context<'_>, r: Result<customer::Address, Error>) -> Result<AddressPayload> {
    let (address, user_errors) = split(ctx, r)?;
    Ok(AddressPayload {
        address: address.map(Address::from),
        user_errors,
    })
}
