//! Admin promotions: coupons and gift-with-purchase rules as data (read: every role;
//! write: MANAGER, OWNER), checked as the cart applies them (`commerce::promotion`).

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    Error,
    ids::{CouponId, GiftRuleId, ProductId, VariantId},
    promotion,
};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    seoul,
};
use crate::{
    error::GqlResult,
    shared::{SalesChannel, Won},
    storefront::{
        UserError,
        catalog::{Product, product_by_id},
        split,
        variant::{Variant, variant_by_id},
    },
};

/// How a coupon discounts.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "commerce::promotion::CouponKind")]
pub enum CouponKind {
    /// A fixed amount off the products subtotal (`amountOff`).
    Fixed,
    /// A percentage of the products subtotal (`percentOff`), capped by `maxDiscount`.
    Percent,
}

/// A coupon: a code customers type in the cart.
pub struct Coupon(promotion::Coupon);

#[Object]
impl Coupon {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What customers type (upper-case; the cart matches it case-insensitively).
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name (`Cart.coupon.name`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// One line under the name; null when none.
    async fn description(&self) -> Option<&str> {
        Some(self.0.description.as_str()).filter(|d| !d.is_empty())
    }
    /// How it discounts.
    async fn kind(&self) -> CouponKind {
        self.0.kind.into()
    }
    /// FIXED: the amount off; null for PERCENT.
    async fn amount_off(&self) -> Option<Won> {
        (self.0.kind == promotion::CouponKind::Fixed).then_some(Won(self.0.value))
    }
    /// PERCENT: the percentage off (1–100); null for FIXED.
    async fn percent_off(&self) -> Option<i32> {
        (self.0.kind == promotion::CouponKind::Percent).then(|| i32::try_from(self.0.value).unwrap_or(100))
    }
    /// PERCENT: the most it takes off; null: no cap.
    async fn max_discount(&self) -> Option<Won> {
        self.0.max_discount.map(Won::from)
    }
    /// The products subtotal it needs.
    async fn min_subtotal(&self) -> Won {
        self.0.min_subtotal.into()
    }
    /// Usable from (inclusive); null: already.
    async fn starts_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.starts_at.map(seoul)
    }
    /// Usable until (exclusive); null: no end.
    async fn ends_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.ends_at.map(seoul)
    }
    /// Uses over all customers; null: unlimited.
    async fn usage_limit(&self) -> Option<i32> {
        self.0.usage_limit
    }
    /// Uses per signed-in customer; null: unlimited.
    async fn per_customer_limit(&self) -> Option<i32> {
        self.0.per_customer_limit
    }
    /// Only signed-in customers may use it (a guest's cart shows `COUPON_LOGIN_REQUIRED`).
    async fn members_only(&self) -> bool {
        self.0.members_only
    }
    /// Orders placed with it.
    async fn used_count(&self) -> i32 {
        self.0.used_count
    }
    /// Switched on.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Created (Seoul time).
    async fn created_at(&self) -> DateTime<FixedOffset> {
        seoul(self.0.created_at)
    }
}

connection!(CouponConnection, CouponEdge, Coupon, "coupons");

/// A coupon as entered (create, or replace with `couponUpdate`). FIXED takes `amountOff`;
/// PERCENT takes `percentOff` and optionally `maxDiscount`.
#[derive(InputObject)]
pub struct CouponInput {
    /// What customers type: 2–40 of A–Z, 0–9 and `-` (upper-cased on save), unique.
    code: String,
    /// Display name, 1–50 characters.
    name: String,
    /// One line under the name, at most 500 characters.
    description: Option<String>,
    /// How it discounts.
    kind: CouponKind,
    /// FIXED: the amount off (> 0).
    amount_off: Option<Won>,
    /// PERCENT: the percentage off (1–100).
    percent_off: Option<i32>,
    /// PERCENT: the most it takes off (> 0); absent: no cap.
    max_discount: Option<Won>,
    /// The products subtotal it needs (≥ 0; default 0).
    min_subtotal: Option<Won>,
    /// Usable from (inclusive).
    starts_at: Option<DateTime<FixedOffset>>,
    /// Usable until (exclusive); after `startsAt`.
    ends_at: Option<DateTime<FixedOffset>>,
    /// Uses over all customers (> 0); absent: unlimited. Not below `usedCount`.
    usage_limit: Option<i32>,
    /// Uses per signed-in customer (> 0); absent: unlimited.
    per_customer_limit: Option<i32>,
    /// Only signed-in customers may use it (default false).
    members_only: Option<bool>,
    /// Switched on (default true).
    active: Option<bool>,
}

impl CouponInput {
    fn parse(self) -> Result<promotion::CouponInput, Error> {
        Ok(promotion::CouponInput {
            code: self.code,
            name: self.name,
            description: self.description.unwrap_or_default(),
            kind: self.kind.into(),
            amount_off: self.amount_off.map(|a| a.non_negative("amountOff")).transpose()?,
            percent_off: self.percent_off,
            max_discount: self.max_discount.map(|m| m.non_negative("maxDiscount")).transpose()?,
            min_subtotal: self.min_subtotal.unwrap_or_default().non_negative("minSubtotal")?,
            starts_at: self.starts_at.map(|t| t.to_utc()),
            ends_at: self.ends_at.map(|t| t.to_utc()),
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            members_only: self.members_only.unwrap_or(false),
            active: self.active.unwrap_or(true),
        })
    }
}

/// Which coupons to list.
#[derive(InputObject, Default)]
pub struct CouponFilter {
    /// A part of the code or the name.
    search: Option<String>,
    /// Only switched on (`true`) or off (`false`) ones.
    active: Option<bool>,
}

/// The result of a coupon change.
#[derive(SimpleObject)]
pub struct CouponPayload {
    /// The coupon after the change.
    coupon: Option<Coupon>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of a delete.
#[derive(SimpleObject)]
pub struct PromotionDeletePayload {
    /// The deleted item's id.
    deleted_id: Option<ID>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// A gift-with-purchase rule: when a cart meets every condition it has, the gift joins
/// it at ₩0 (skipped with a notice when out of stock).
pub struct GiftRule(promotion::GiftRule);

#[Object]
impl GiftRule {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name (`Cart.giftProgress.ruleName`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Switched on.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The products subtotal it needs; null: any.
    async fn min_subtotal(&self) -> Option<Won> {
        self.0.min_subtotal.map(Won::from)
    }
    /// A product the cart must hold (drafts included); null: any.
    async fn required_product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        match self.0.required_product_id {
            Some(id) => product_by_id(ctx, id).await,
            None => Ok(None),
        }
    }
    /// The gift.
    async fn gift_variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        variant_by_id(ctx, self.0.gift_variant_id).await
    }
    /// Units of the gift.
    async fn gift_quantity(&self) -> i32 {
        self.0.gift_quantity
    }
    /// Only carts of this channel; null: every channel.
    async fn channel(&self) -> Option<SalesChannel> {
        self.0.channel.as_deref().and_then(SalesChannel::from_db)
    }
    /// From (inclusive); null: already.
    async fn starts_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.starts_at.map(seoul)
    }
    /// Until (exclusive); null: no end.
    async fn ends_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.ends_at.map(seoul)
    }
    /// Created (Seoul time).
    async fn created_at(&self) -> DateTime<FixedOffset> {
        seoul(self.0.created_at)
    }
}

connection!(GiftRuleConnection, GiftRuleEdge, GiftRule, "gift rules");

/// A gift rule as entered (create, or replace with `giftRuleUpdate`).
#[derive(InputObject)]
pub struct GiftRuleInput {
    /// Display name, 1–50 characters.
    name: String,
    /// Switched on (default true).
    active: Option<bool>,
    /// The products subtotal it needs (≥ 0); absent: any.
    min_subtotal: Option<Won>,
    /// A product the cart must hold; absent: any.
    required_product_id: Option<ID>,
    /// The gift.
    gift_variant_id: ID,
    /// Units of the gift, 1–100 (default 1).
    gift_quantity: Option<i32>,
    /// Only carts of this channel; absent: every channel.
    channel: Option<SalesChannel>,
    /// From (inclusive).
    starts_at: Option<DateTime<FixedOffset>>,
    /// Until (exclusive); after `startsAt`.
    ends_at: Option<DateTime<FixedOffset>>,
}

impl GiftRuleInput {
    fn parse(self) -> Result<promotion::GiftRuleInput, Error> {
        Ok(promotion::GiftRuleInput {
            name: self.name,
            active: self.active.unwrap_or(true),
            min_subtotal: self.min_subtotal.map(|m| m.non_negative("minSubtotal")).transpose()?,
            required_product_id: self.required_product_id.map(|p| p.parse::<ProductId>()).transpose()?,
            gift_variant_id: self.gift_variant_id.parse::<VariantId>()?,
            gift_quantity: self.gift_quantity.unwrap_or(1),
            channel: self.channel.map(|c| c.as_str().to_owned()),
            starts_at: self.starts_at.map(|t| t.to_utc()),
            ends_at: self.ends_at.map(|t| t.to_utc()),
        })
    }
}

/// The result of a gift rule change.
#[derive(SimpleObject)]
pub struct GiftRulePayload {
    /// The rule after the change.
    gift_rule: Option<GiftRule>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Admin promotion queries.
#[derive(Default)]
pub struct PromotionsQuery;

#[Object]
impl PromotionsQuery {
    /// Coupons, newest first, a page at a time.
    async fn coupons(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<CouponFilter>,
    ) -> Result<CouponConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = promotion::CouponFilter {
            search: f.search,
            active: f.active,
        };
        let page = promotion::coupons(
            cx.pool,
            cx.principal,
            &filter,
            first,
            after.as_deref(),
            wants_total(ctx),
        )
        .await
        .gql(ctx)?;
        Ok(CouponConnection::from_page(page, Coupon))
    }

    /// One coupon. Null, with a `NOT_FOUND` error, when there is none.
    async fn coupon(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Coupon>> {
        let cx = Cx::staff(ctx).await?;
        let id = id.parse::<CouponId>().gql(ctx)?;
        Ok(Some(Coupon(
            promotion::coupon(cx.pool, cx.principal, id).await.gql(ctx)?,
        )))
    }

    /// Gift-with-purchase rules, newest first, a page at a time.
    async fn gift_rules(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<GiftRuleConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let page = promotion::gift_rules(cx.pool, cx.principal, first, after.as_deref(), wants_total(ctx))
            .await
            .gql(ctx)?;
        Ok(GiftRuleConnection::from_page(page, GiftRule))
    }
}

/// Admin promotion mutations (MANAGER, OWNER).
#[derive(Default)]
pub struct PromotionsMutation;

#[Object]
impl PromotionsMutation {
    /// Creates a coupon.
    async fn coupon_create(&self, ctx: &Context<'_>, input: CouponInput) -> Result<CouponPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { promotion::save_coupon(cx.pool, cx.principal, None, &input.parse()?, cx.ip).await }.await;
        let (coupon, user_errors) = split(ctx, r)?;
        Ok(CouponPayload {
            coupon: coupon.map(Coupon),
            user_errors,
        })
    }

    /// Replaces a coupon's terms (its uses so far stay); `active: false` switches it off.
    async fn coupon_update(&self, ctx: &Context<'_>, id: ID, input: CouponInput) -> Result<CouponPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id = id.parse::<CouponId>()?;
            promotion::save_coupon(cx.pool, cx.principal, Some(id), &input.parse()?, cx.ip).await
        }
        .await;
        let (coupon, user_errors) = split(ctx, r)?;
        Ok(CouponPayload {
            coupon: coupon.map(Coupon),
            user_errors,
        })
    }

    /// Deletes a coupon no order has used. A used one is refused (`INVALID_INPUT` on `id`):
    /// its orders point at it; switch it off with `couponUpdate(… active: false)` instead.
    async fn coupon_delete(&self, ctx: &Context<'_>, id: ID) -> Result<PromotionDeletePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { promotion::delete_coupon(cx.pool, cx.principal, id.parse()?, cx.ip).await }.await;
        let (done, user_errors) = split(ctx, r)?;
        Ok(PromotionDeletePayload {
            deleted_id: done.map(|()| id),
            user_errors,
        })
    }

    /// Creates a gift rule.
    async fn gift_rule_create(&self, ctx: &Context<'_>, input: GiftRuleInput) -> Result<GiftRulePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { promotion::save_gift_rule(cx.pool, cx.principal, None, &input.parse()?, cx.ip).await }.await;
        let (rule, user_errors) = split(ctx, r)?;
        Ok(GiftRulePayload {
            gift_rule: rule.map(GiftRule),
            user_errors,
        })
    }

    /// Replaces a gift rule.
    async fn gift_rule_update(&self, ctx: &Context<'_>, id: ID, input: GiftRuleInput) -> Result<GiftRulePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id = id.parse::<GiftRuleId>()?;
            promotion::save_gift_rule(cx.pool, cx.principal, Some(id), &input.parse()?, cx.ip).await
        }
        .await;
        let (rule, user_errors) = split(ctx, r)?;
        Ok(GiftRulePayload {
            gift_rule: rule.map(GiftRule),
            user_errors,
        })
    }

    /// Deletes a gift rule (orders keep their gift lines).
    async fn gift_rule_delete(&self, ctx: &Context<'_>, id: ID) -> Result<PromotionDeletePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { promotion::delete_gift_rule(cx.pool, cx.principal, id.parse()?, cx.ip).await }.await;
        let (done, user_errors) = split(ctx, r)?;
        Ok(PromotionDeletePayload {
            deleted_id: done.map(|()| id),
            user_errors,
        })
    }
}
