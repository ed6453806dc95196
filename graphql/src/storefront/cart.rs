//! Storefront carts: `cart`, `cartCreate`, `cartLines*`, `cartCoupon*`, `cartShippingZonecodeSet`.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset, Utc};
use commerce::{
    Error, Settings,
    cart::{self, AddLine, CartView, Channel},
    ids::{CartLineId, VariantId},
    types::Zonecode,
};
use sqlx::PgPool;

use super::{
    catalog::{Variant, seoul, variant_by_id},
    payload::{UserError, split},
    session,
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
    async fn subtotal(&self) -> Won {
        self.0.priced.subtotal.into()
    }
    /// Coupon discount, won.
    async fn discount(&self) -> Won {
        self.0.priced.discount.into()
    }
    /// Shipping fee, won (remote-area fee once the zonecode is known).
    async fn shipping_fee(&self) -> Won {
        self.0.priced.shipping_fee.into()
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
    /// Where the customer shops.
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
        variant_by_id(ctx, self.0.line.variant_id).await
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
