//! Storefront cart, customer and checkout operations (names are the contract, DESIGN.md §4).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset, Utc};
use commerce::{
    Error, Settings, Won,
    cart::{self, AddLine, CartView, Channel},
    checkout::{self, CheckoutInput, PaymentMethod},
    customer::{self, AddressInput, SignUp},
    ids::{AddressId, CartLineId, CustomerId, VariantId},
    types::{Email, NewPassword, PhoneNumber, Zonecode, format_phone},
};
use sqlx::PgPool;

use super::{
    catalog::{Variant, seoul},
    loaders::Loaders,
    orders::{Order, OrderConnection, my_orders},
    payload::{UserError, split},
    session,
};
use crate::error::{GqlResult, lang, to_gql};

/// Where a cart (and its order) comes from.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SalesChannel {
    /// PC web.
    PcWeb,
    /// Mobile web.
    MobileWeb,
    /// The app.
    App,
    /// Another storefront (give `source`).
    External,
}

impl SalesChannel {
    fn as_str(self) -> &'static str {
        match self {
            SalesChannel::PcWeb => "PC_WEB",
            SalesChannel::MobileWeb => "MOBILE_WEB",
            SalesChannel::App => "APP",
            SalesChannel::External => "EXTERNAL",
        }
    }
}

/// A line to add.
#[derive(InputObject)]
pub struct CartLineInput {
    /// The variant.
    variant_id: ID,
    /// Units (1–999).
    quantity: i32,
}

/// A new cart.
#[derive(InputObject)]
pub struct CartCreateInput {
    /// Where the customer shops.
    channel: SalesChannel,
    /// For `EXTERNAL`: the source, e.g. a marketplace name.
    source: Option<String>,
    /// Lines to start with.
    lines: Option<Vec<CartLineInput>>,
}

/// A quantity change.
#[derive(InputObject)]
pub struct CartLineUpdateInput {
    /// The line.
    line_id: ID,
    /// New quantity (0 removes).
    quantity: i32,
}

fn parse_lines(lines: &[CartLineInput]) -> Result<Vec<AddLine>, Error> {
    lines
        .iter()
        .map(|l| {
            Ok(AddLine {
                variant: l.variant_id.parse::<VariantId>()?,
                quantity: l.quantity,
            })
        })
        .collect()
}

/// A cart, priced now.
pub struct Cart(CartView);

/// A cart line.
pub struct CartLine(commerce::pricing::PricedLine);

/// Something to show beside the cart.
#[derive(SimpleObject)]
pub struct CartWarning {
    /// `LOW_STOCK`, `OUT_OF_STOCK`, `PRICE_CHANGED`, `GIFT_UNAVAILABLE`, `COUPON_NOT_APPLICABLE`, `UNAVAILABLE`.
    code: &'static str,
    /// The line it is about.
    line_id: Option<ID>,
    /// For people.
    message: String,
}

fn warning_message(code: &str, detail: &str, lang: commerce::Lang) -> String {
    match (lang, code) {
        (commerce::Lang::En, _) => format!("{}: {detail}", code.to_lowercase().replace('_', " ")),
        (_, "LOW_STOCK") => format!("재고가 부족합니다 ({detail})"),
        (_, "OUT_OF_STOCK") => "품절되었습니다".into(),
        (_, "PRICE_CHANGED") => format!("가격이 변경되었습니다 ({detail})"),
        (_, "GIFT_UNAVAILABLE") => "사은품 재고가 소진되어 이번 주문에는 제외됩니다".into(),
        (_, "COUPON_NOT_APPLICABLE") => format!("쿠폰을 적용할 수 없습니다: {detail}"),
        (_, "UNAVAILABLE") => "판매가 중지된 상품입니다".into(),
        (_, _) => detail.to_owned(),
    }
}

#[Object]
impl Cart {
    /// The cart's token: keep it to come back to the cart.
    async fn token(&self) -> &str {
        &self.0.token
    }
    /// Lines, gifts last.
    async fn lines(&self) -> Vec<CartLine> {
        self.0.priced.lines.iter().cloned().map(CartLine).collect()
    }
    /// Products subtotal, won.
    async fn subtotal(&self) -> i64 {
        self.0.priced.subtotal.get()
    }
    /// Coupon discount, won.
    async fn discount(&self) -> i64 {
        self.0.priced.discount.get()
    }
    /// Shipping fee, won (remote-area fee once the zonecode is known).
    async fn shipping_fee(&self) -> i64 {
        self.0.priced.shipping_fee.get()
    }
    /// What checkout charges, won.
    async fn total(&self) -> i64 {
        self.0.priced.total.get()
    }
    /// How much more until shipping is free, won.
    async fn free_shipping_remaining(&self) -> i64 {
        self.0.priced.free_shipping_remaining.get()
    }
    /// Things to show beside the cart.
    async fn warnings(&self, ctx: &Context<'_>) -> Vec<CartWarning> {
        let lang = lang(ctx);
        self.0
            .priced
            .warnings
            .iter()
            .map(|w| CartWarning {
                code: w.code,
                line_id: w.line_id.clone().map(ID),
                message: warning_message(w.code, &w.detail, lang),
            })
            .collect()
    }
    /// The coupon applied.
    async fn coupon_code(&self) -> Option<&str> {
        self.0.coupon_code.as_deref()
    }
    /// Where it ships, once known.
    async fn zonecode(&self) -> Option<&str> {
        self.0.zonecode.as_ref().map(Zonecode::as_str)
    }
    /// Channel.
    async fn channel(&self) -> &str {
        &self.0.channel
    }
    /// Units in the cart (gifts included).
    async fn total_quantity(&self) -> i64 {
        self.0.priced.lines.iter().map(|l| i64::from(l.line.quantity)).sum()
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        seoul(self.0.updated_at)
    }
}

#[Object]
impl CartLine {
    /// Opaque id (`gft_…` for gifts, which follow their rule by themselves).
    async fn id(&self) -> ID {
        ID(self.0.line.line_id.clone())
    }
    /// The variant.
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        let v = ctx
            .data::<Loaders>()?
            .variant
            .load_one(self.0.line.variant_id)
            .await
            .map_err(|e| to_gql(&e, lang(ctx)))?;
        Ok(v.map(Variant))
    }
    /// Product name.
    async fn product_name(&self) -> &str {
        &self.0.line.product_name
    }
    /// Variant name.
    async fn variant_name(&self) -> &str {
        &self.0.line.variant_name
    }
    /// SKU.
    async fn sku(&self) -> &str {
        &self.0.line.sku
    }
    /// Units.
    async fn quantity(&self) -> i32 {
        self.0.line.quantity
    }
    /// Price per unit now, won (₩0 for gifts).
    async fn unit_price(&self) -> i64 {
        self.0.unit_price.get()
    }
    /// `unitPrice × quantity`, won.
    async fn line_total(&self) -> i64 {
        self.0.line_total.get()
    }
    /// A gift with purchase.
    async fn is_gift(&self) -> bool {
        self.0.is_gift
    }
    /// Units that can be bought now.
    async fn quantity_available(&self) -> i32 {
        self.0.line.available.max(0)
    }
}

/// The result of a cart mutation.
#[derive(SimpleObject)]
pub struct CartPayload {
    /// The cart after the change (unchanged on errors).
    cart: Option<Cart>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

fn settings<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Settings>> {
    ctx.data::<Arc<Settings>>()
}

async fn load_cart(ctx: &Context<'_>, token: &str) -> Result<CartView, Error> {
    let pool = ctx.data_unchecked::<PgPool>();
    let s = ctx.data_unchecked::<Arc<Settings>>();
    let mut conn = pool.acquire().await?;
    cart::view(&mut conn, token, &s.shipping, false, Utc::now()).await
}

/// Runs a cart change, then shows the cart: the cart after it, or the errors.
async fn cart_payload<F>(ctx: &Context<'_>, change: F) -> Result<CartPayload>
where
    F: AsyncFnOnce(&PgPool) -> Result<String, Error>,
{
    let pool = ctx.data::<PgPool>()?;
    settings(ctx)?;
    let result = match change(pool).await {
        Ok(token) => load_cart(ctx, &token).await,
        Err(e) => Err(e),
    };
    let (cart, user_errors) = split(ctx, result)?;
    Ok(CartPayload {
        cart: cart.map(Cart),
        user_errors,
    })
}

/// Shopping queries.
#[derive(Default)]
pub struct ShoppingQuery;

#[Object]
impl ShoppingQuery {
    /// A cart by its token. Null, with a `NOT_FOUND` error, when there is none.
    async fn cart(&self, ctx: &Context<'_>, token: String) -> Result<Option<Cart>> {
        settings(ctx)?;
        match load_cart(ctx, &token).await {
            Ok(c) => Ok(Some(Cart(c))),
            Err(e) => Err(to_gql(&e, lang(ctx))),
        }
    }

    /// The signed-in customer (`UNAUTHENTICATED` otherwise).
    async fn me(&self, ctx: &Context<'_>) -> Result<Customer> {
        let id = session::require_customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        Ok(Customer(customer::get(pool, id).await.gql(ctx)?))
    }
}

/// A signed-in customer.
pub struct Customer(customer::Customer);

/// A saved address.
#[derive(SimpleObject)]
pub struct Address {
    /// Opaque id.
    id: ID,
    /// 받는 분.
    recipient: String,
    /// Phone, `010-1234-5678`.
    phone: String,
    /// 우편번호.
    zonecode: String,
    /// 도로명 주소.
    road_address: String,
    /// 지번 주소.
    jibun_address: String,
    /// 건물명.
    building_name: String,
    /// 상세 주소.
    detail_address: String,
    /// The default address.
    is_default: bool,
}

impl From<customer::Address> for Address {
    fn from(a: customer::Address) -> Address {
        Address {
            id: ID(a.id.to_string()),
            phone: format_phone(&a.phone),
            recipient: a.recipient,
            zonecode: a.zonecode,
            road_address: a.road_address,
            jibun_address: a.jibun_address,
            building_name: a.building_name,
            detail_address: a.detail_address,
            is_default: a.is_default,
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
    /// Tier.
    async fn tier(&self) -> &str {
        &self.0.tier
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
        my_orders(ctx, first, after).await
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
    fn parse(&self) -> Result<AddressInput, Error> {
        AddressInput::parse(
            &self.recipient,
            &self.phone,
            &self.zonecode,
            &self.road_address,
            self.jibun_address.as_deref().unwrap_or(""),
            self.building_name.as_deref().unwrap_or(""),
            self.detail_address.as_deref().unwrap_or(""),
        )
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
    /// Who.
    customer: Option<Customer>,
    /// Their cart after merging the anonymous one.
    cart: Option<Cart>,
    /// What went wrong.
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
            orderer_name: customer::parse_name(&self.orderer_name, "ordererName")?,
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

/// Shopping mutations.
#[derive(Default)]
pub struct ShoppingMutation;

#[Object]
impl ShoppingMutation {
    /// A new cart (a signed-in customer's existing cart gets the lines instead).
    async fn cart_create(&self, ctx: &Context<'_>, input: CartCreateInput) -> Result<CartPayload> {
        let me = session::customer(ctx).await?;
        cart_payload(ctx, async |pool| {
            let channel = Channel::parse(input.channel.as_str(), input.source.as_deref())?;
            let lines = parse_lines(input.lines.as_deref().unwrap_or(&[]))?;
            cart::create(pool, &channel, &lines, me).await
        })
        .await
    }

    /// Adds lines; quantities of a variant already in the cart add up.
    async fn cart_lines_add(&self, ctx: &Context<'_>, token: String, lines: Vec<CartLineInput>) -> Result<CartPayload> {
        cart_payload(ctx, async |pool| {
            let lines = parse_lines(&lines)?;
            let mut conn = pool.acquire().await?;
            cart::add_lines(&mut conn, &token, &lines).await?;
            Ok(token)
        })
        .await
    }

    /// Sets quantities (0 removes the line).
    async fn cart_lines_update(
        &self,
        ctx: &Context<'_>,
        token: String,
        lines: Vec<CartLineUpdateInput>,
    ) -> Result<CartPayload> {
        cart_payload(ctx, async |pool| {
            let updates = lines
                .iter()
                .map(|l| Ok((l.line_id.parse::<CartLineId>()?, l.quantity)))
                .collect::<Result<Vec<_>, Error>>()?;
            let mut conn = pool.acquire().await?;
            cart::update_lines(&mut conn, &token, &updates).await?;
            Ok(token)
        })
        .await
    }

    /// Removes lines.
    async fn cart_lines_remove(&self, ctx: &Context<'_>, token: String, line_ids: Vec<ID>) -> Result<CartPayload> {
        cart_payload(ctx, async |pool| {
            let ids = line_ids
                .iter()
                .map(|l| l.parse::<CartLineId>())
                .collect::<Result<Vec<_>, Error>>()?;
            let mut conn = pool.acquire().await?;
            cart::remove_lines(&mut conn, &token, &ids).await?;
            Ok(token)
        })
        .await
    }

    /// Applies a coupon code.
    async fn cart_coupon_apply(&self, ctx: &Context<'_>, token: String, code: String) -> Result<CartPayload> {
        let me = session::customer(ctx).await?;
        let s = settings(ctx)?.clone();
        cart_payload(ctx, async |pool| {
            cart::apply_coupon(pool, &token, &code, &s.shipping, me).await?;
            Ok(token)
        })
        .await
    }

    /// Removes the coupon.
    async fn cart_coupon_remove(&self, ctx: &Context<'_>, token: String) -> Result<CartPayload> {
        cart_payload(ctx, async |pool| {
            let mut conn = pool.acquire().await?;
            cart::remove_coupon(&mut conn, &token).await?;
            Ok(token)
        })
        .await
    }

    /// Sets where the cart ships (zonecode), for the Jeju and island fee; null clears it.
    async fn cart_shipping_zonecode_set(
        &self,
        ctx: &Context<'_>,
        token: String,
        zonecode: Option<String>,
    ) -> Result<CartPayload> {
        cart_payload(ctx, async |pool| {
            let z = zonecode.as_deref().map(Zonecode::parse).transpose()?;
            let mut conn = pool.acquire().await?;
            cart::set_zonecode(&mut conn, &token, z.as_ref()).await?;
            Ok(token)
        })
        .await
    }

    /// Creates a customer account.
    async fn customer_sign_up(&self, ctx: &Context<'_>, input: CustomerSignUpInput) -> Result<CustomerSignUpPayload> {
        let pool = ctx.data::<PgPool>()?;
        let result = async {
            let s = SignUp {
                email: Email::parse(&input.email)?,
                password: NewPassword::parse(&input.password)?,
                name: customer::parse_name(&input.name, "name")?,
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
                customer: None,
                cart: None,
                user_errors,
            });
        };
        let cart = match &ok.cart_token {
            Some(t) => Some(Cart(load_cart(ctx, t).await.gql(ctx)?)),
            None => None,
        };
        Ok(CustomerLoginPayload {
            access_token: Some(ok.token),
            customer: Some(Customer(ok.customer)),
            cart,
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

fn address_payload(ctx: &Context<'_>, r: Result<customer::Address, Error>) -> Result<AddressPayload> {
    let (address, user_errors) = split(ctx, r)?;
    Ok(AddressPayload {
        address: address.map(Address::from),
        user_errors,
    })
}
