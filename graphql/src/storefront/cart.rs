//! Storefront carts: `cart`, `cartCreate`, `cartLines*`, `cartCoupon*`, `cartShippingZonecodeSet`.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset, Utc};
use commerce::{
    Error, Settings,
    cart::{self, AddLine, CartView, Channel},
    ids::{CartLineId, VariantId},
    types::Zonecode,
};
use sqlx::PgPool;

use super::{
    catalog::{Prefetched, seoul},
    payload::{UserError, split},
    session,
    variant::{Variant, shows_exact_stock, variant_by_id, variants_for_lines},
};
use crate::{
    error::{lang, to_gql},
    shared::{SalesChannel, Won},
};

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
pub struct Cart(pub(super) CartView);

/// A cart line.
pub struct CartLine(
    commerce::pricing::PricedLine,
    /// Its variant (with its product) when `Cart.lines` loaded them for all lines at once.
    Prefetched<Option<Variant>>,
);

/// Something to show beside the cart.
#[derive(SimpleObject)]
pub struct CartWarning {
    /// What it is about.
    code: CartWarningCode,
    /// The line it is about.
    line_id: Option<ID>,
    /// For `COUPON_MINIMUM_NOT_MET`: the won still to add to the products subtotal; null
    /// otherwise.
    amount: Option<Won>,
    /// For people.
    message: String,
}

/// Why a warning is shown beside the cart. None blocks the cart; checkout refuses what the
/// line warnings and the coupon warnings describe.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CartWarningCode {
    /// Fewer units available than the line holds (`quantityAvailable` says how many).
    LowStock,
    /// Nothing of the line's variant is available.
    OutOfStock,
    /// The price changed since the line was added; checkout asks once to confirm it.
    PriceChanged,
    /// A gift the cart qualifies for is out of stock: left out, the order goes ahead.
    GiftUnavailable,
    /// The line's product is no longer sold.
    Unavailable,
    /// The applied coupon is switched off or its period has not started.
    CouponNotApplicable,
    /// The applied coupon no longer exists.
    CouponNotFound,
    /// The applied coupon's period has ended.
    CouponExpired,
    /// The products subtotal is below the coupon's minimum; `amount` is what is missing.
    CouponMinimumNotMet,
    /// The coupon has no uses left: all of them, or this customer's.
    CouponUsedUp,
    /// A members-only coupon on a guest's cart: it applies once the customer signs in.
    CouponLoginRequired,
}

impl CartWarningCode {
    /// The code of a commerce warning (`pricing::Warning::code`).
    fn from_commerce(code: &str) -> Option<CartWarningCode> {
        Some(match code {
            "LOW_STOCK" => Self::LowStock,
            "OUT_OF_STOCK" => Self::OutOfStock,
            "PRICE_CHANGED" => Self::PriceChanged,
            "GIFT_UNAVAILABLE" => Self::GiftUnavailable,
            "UNAVAILABLE" => Self::Unavailable,
            "COUPON_NOT_APPLICABLE" => Self::CouponNotApplicable,
            "COUPON_NOT_FOUND" => Self::CouponNotFound,
            "COUPON_EXPIRED" => Self::CouponExpired,
            "COUPON_MINIMUM_NOT_MET" => Self::CouponMinimumNotMet,
            "COUPON_USED_UP" => Self::CouponUsedUp,
            "COUPON_LOGIN_REQUIRED" => Self::CouponLoginRequired,
            _ => return None,
        })
    }
}

fn warning_message(w: &commerce::pricing::Warning, lang: commerce::Lang) -> String {
    let (code, detail) = (w.code, w.detail.as_str());
    let amount = w.amount.unwrap_or_default();
    match (lang, code) {
        (commerce::Lang::En, _) => format!("{}: {detail}", code.to_lowercase().replace('_', " ")),
        (_, "LOW_STOCK") => format!("재고가 부족합니다 ({detail})"),
        (_, "OUT_OF_STOCK") => "품절되었습니다".into(),
        (_, "PRICE_CHANGED") => format!("가격이 변경되었습니다 ({detail})"),
        (_, "GIFT_UNAVAILABLE") => "사은품 재고가 소진되어 이번 주문에는 제외됩니다".into(),
        (_, "COUPON_NOT_APPLICABLE") => format!("쿠폰을 적용할 수 없습니다: {detail}"),
        (_, "COUPON_NOT_FOUND") => "없는 쿠폰입니다".into(),
        (_, "COUPON_EXPIRED") => "사용 기간이 지난 쿠폰입니다".into(),
        (_, "COUPON_MINIMUM_NOT_MET") => format!("{amount} 더 담으면 쿠폰을 사용할 수 있습니다"),
        (_, "COUPON_USED_UP") => "사용할 수 있는 횟수가 남지 않은 쿠폰입니다".into(),
        (_, "COUPON_LOGIN_REQUIRED") => "회원 전용 쿠폰입니다. 로그인하면 적용됩니다".into(),
        (_, "UNAVAILABLE") => "판매가 중지된 상품입니다".into(),
        (_, _) => detail.to_owned(),
    }
}

/// The coupon applied to a cart, when it applies.
#[derive(SimpleObject)]
pub struct AppliedCoupon {
    /// What the customer typed, upper-case.
    code: String,
    /// Its name, e.g. `첫 구매 10%`.
    name: String,
    /// A line shown under the name; null when the shop gave none.
    description: Option<String>,
    /// What it takes off the products subtotal now.
    discount: Won,
}

/// A gift the cart gets by adding to it ("₩12,000 more for a free shaker").
#[derive(SimpleObject)]
pub struct GiftProgress {
    /// The gift rule's name.
    rule_name: String,
    /// Won still to add to the products subtotal.
    remaining: Won,
}

#[Object]
impl Cart {
    /// The cart's token: keep it to come back to the cart.
    async fn token(&self) -> &str {
        &self.0.token
    }
    /// Lines, gifts last.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<CartLine>> {
        let lines = &self.0.priced.lines;
        let look = ctx.look_ahead().field("variant");
        if !look.exists() || lines.is_empty() {
            return Ok(lines.iter().cloned().map(|l| CartLine(l, Prefetched::No)).collect());
        }
        // Every line's variant, and their products when asked for, in one batch each:
        // a cart of 1 or 100 lines costs the same statements.
        let with_products = look.field("product").exists() || look.field("image").exists();
        let variants = variants_for_lines(ctx, lines.iter().map(|l| l.line.variant_id), with_products).await?;
        Ok(lines
            .iter()
            .cloned()
            .map(|l| {
                let v = variants.get(&l.line.variant_id).cloned();
                CartLine(l, Prefetched::Yes(v))
            })
            .collect())
    }
    /// Products subtotal, won.
    async fn subtotal(&self) -> Won {
        self.0.priced.subtotal.into()
    }
    /// Coupon discount, won.
    async fn discount(&self) -> Won {
        self.0.priced.discount.into()
    }
    /// Shipping fee: `shippingBaseFee + remoteAreaFee`.
    async fn shipping_fee(&self) -> Won {
        self.0.priced.shipping_fee.into()
    }
    /// The flat shipping fee: ₩0 from the free-shipping threshold.
    async fn shipping_base_fee(&self) -> Won {
        self.0.priced.shipping_base_fee.into()
    }
    /// The Jeju / island fee of the cart's zonecode (₩0 until it is set), charged even when
    /// shipping is free.
    async fn remote_area_fee(&self) -> Won {
        self.0.priced.remote_area_fee.into()
    }
    /// The coupon applied, with its discount now; null when none is applied or it does not
    /// apply (a `COUPON_*` warning says why).
    async fn coupon(&self) -> Option<AppliedCoupon> {
        self.0.priced.coupon.as_ref().map(|c| AppliedCoupon {
            code: c.code.clone(),
            name: c.name.clone(),
            description: Some(c.description.clone()).filter(|d| !d.trim().is_empty()),
            discount: self.0.priced.discount.into(),
        })
    }
    /// Gifts the cart gets by adding to it: active gift rules whose minimum subtotal is not
    /// met yet (and whose other conditions are), with the won still to add.
    async fn gift_progress(&self) -> Vec<GiftProgress> {
        self.0
            .priced
            .gift_progress
            .iter()
            .map(|g| GiftProgress {
                rule_name: g.rule_name.clone(),
                remaining: g.remaining.into(),
            })
            .collect()
    }
    /// What checkout charges, won.
    async fn total(&self) -> Won {
        self.0.priced.total.into()
    }
    /// How much more until shipping is free, won.
    async fn free_shipping_remaining(&self) -> Won {
        self.0.priced.free_shipping_remaining.into()
    }
    /// Things to show beside the cart.
    #[allow(clippy::unused_async)] // a fallible resolver of async-graphql's #[Object] is async
    async fn warnings(&self, ctx: &Context<'_>) -> Result<Vec<CartWarning>> {
        let lang = lang(ctx);
        self.0
            .priced
            .warnings
            .iter()
            .map(|w| {
                // A code commerce has and this enum lacks is a bug here, not the caller's.
                let code = CartWarningCode::from_commerce(w.code)
                    .ok_or_else(|| async_graphql::Error::new(format!("unmapped cart warning {}", w.code)))?;
                Ok(CartWarning {
                    code,
                    line_id: w.line_id.clone().map(ID),
                    amount: w.amount.map(Won::from),
                    message: warning_message(w, lang),
                })
            })
            .collect()
    }
    /// The coupon code applied, whether it applies or not (see `coupon`).
    async fn coupon_code(&self) -> Option<&str> {
        self.0.coupon_code.as_deref()
    }
    /// Where it ships, once known.
    async fn zonecode(&self) -> Option<&str> {
        self.0.zonecode.as_ref().map(Zonecode::as_str)
    }
    /// Where the customer shops.
    #[allow(clippy::unused_async)] // a fallible resolver of async-graphql's #[Object] is async
    async fn channel(&self) -> Result<SalesChannel> {
        // The column is CHECKed to the four values; another one is a fault, not a guess.
        SalesChannel::from_db(&self.0.channel).ok_or_else(|| "unknown sales channel".into())
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
        match &self.1 {
            Prefetched::Yes(v) => Ok(v.clone()),
            Prefetched::No => variant_by_id(ctx, self.0.line.variant_id).await,
        }
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
    /// The variant's "was" price to show struck through, if any.
    async fn compare_at_price(&self) -> Option<Won> {
        self.0.line.compare_at_price.map(Won::from)
    }
    /// Price per unit now, won (₩0 for gifts).
    async fn unit_price(&self) -> Won {
        self.0.unit_price.into()
    }
    /// `unitPrice × quantity`, won.
    async fn line_total(&self) -> Won {
        self.0.line_total.into()
    }
    /// A gift with purchase.
    async fn is_gift(&self) -> bool {
        self.0.is_gift
    }
    /// Units that can be bought now: always for staff; on the storefront only when the shop
    /// shows exact stock (`storefront.show_exact_stock`), else null (see `variant.stockStatus`).
    async fn quantity_available(&self, ctx: &Context<'_>) -> Option<i32> {
        shows_exact_stock(ctx).then(|| self.0.line.available.max(0))
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

pub(super) fn settings<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Settings>> {
    ctx.data::<Arc<Settings>>()
}

pub(super) async fn load_cart(ctx: &Context<'_>, token: &str) -> Result<CartView, Error> {
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

/// Cart queries.
#[derive(Default)]
pub struct CartQuery;

#[Object]
impl CartQuery {
    /// A cart by its token. Null, with a `NOT_FOUND` error, when there is none.
    async fn cart(&self, ctx: &Context<'_>, token: String) -> Result<Option<Cart>> {
        settings(ctx)?;
        match load_cart(ctx, &token).await {
            Ok(c) => Ok(Some(Cart(c))),
            Err(e) => Err(to_gql(&e, lang(ctx))),
        }
    }
}

/// Cart mutations.
#[derive(Default)]
pub struct CartMutation;

#[Object]
impl CartMutation {
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
}
