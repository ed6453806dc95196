//! Coupons and gift-with-purchase rules as data, for staff: listing, creating, replacing
//! and deleting them (owns the writes to `coupons` and `gift_rules`). The cart applies them
//! ([`crate::cart::apply_coupon`], [`crate::pricing`]); what is saved here is what it
//! applies, so the rules below mirror the tables' CHECKs and the way the cart reads them:
//! codes are matched upper-cased, a PERCENT coupon takes 1–100 % capped by `max_discount`,
//! a window is `starts_at ≤ now < ends_at`.
//!
//! Reading is open to every staff role (CS answers customers about coupons); writing needs
//! [`Permission::WritePromotions`] (OWNER, MANAGER). Every write is audited.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    Error, Won,
    ids::{CouponId, GiftRuleId, ProductId, VariantId},
    pagination::Page,
    staff::{Permission, Principal, audit},
    types::contains_pattern,
};

/// The longest coupon code.
pub const MAX_CODE_CHARS: usize = 40;
/// The longest coupon description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The most units of a gift one rule gives.
pub const MAX_GIFT_QUANTITY: i32 = 100;

/// How a coupon discounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponKind {
    /// A fixed amount of won off the products subtotal.
    Fixed,
    /// A percentage (1–100) of the products subtotal, optionally capped.
    Percent,
}

impl CouponKind {
    /// The database form.
    pub fn as_str(self) -> &'static str {
        match self {
            CouponKind::Fixed => "FIXED",
            CouponKind::Percent => "PERCENT",
        }
    }

    /// From the database form (the table's CHECK allows only the two).
    pub fn from_db(s: &str) -> CouponKind {
        if s == "PERCENT" {
            CouponKind::Percent
        } else {
            CouponKind::Fixed
        }
    }
}

/// A coupon as staff see it.
#[derive(Clone, Debug)]
pub struct Coupon {
    /// Its id.
    pub id: CouponId,
    /// What customers type, upper-case.
    pub code: String,
    /// Display name.
    pub name: String,
    /// One line under the name; empty when none.
    pub description: String,
    /// How it discounts.
    pub kind: CouponKind,
    /// FIXED: won off; PERCENT: percent off (1–100).
    pub value: i64,
    /// PERCENT: the most it takes off.
    pub max_discount: Option<Won>,
    /// The products subtotal it needs.
    pub min_subtotal: Won,
    /// Usable from (inclusive).
    pub starts_at: Option<DateTime<Utc>>,
    /// Usable until (exclusive).
    pub ends_at: Option<DateTime<Utc>>,
    /// Uses over all customers.
    pub usage_limit: Option<i32>,
    /// Uses per signed-in customer.
    pub per_customer_limit: Option<i32>,
    /// Only signed-in customers may use it (`COUPON_LOGIN_REQUIRED` for guests).
    pub members_only: bool,
    /// Orders placed with it.
    pub used_count: i32,
    /// Switched on.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A coupon as entered: FIXED takes `amount_off`, PERCENT takes `percent_off` and
/// optionally `max_discount`.
#[derive(Clone, Debug)]
pub struct CouponInput {
    /// What customers type; trimmed and upper-cased on save.
    pub code: String,
    /// Display name (1–50 characters).
    pub name: String,
    /// One line under the name (at most [`MAX_DESCRIPTION_CHARS`]).
    pub description: String,
    /// How it discounts.
    pub kind: CouponKind,
    /// FIXED: won off (> 0).
    pub amount_off: Option<Won>,
    /// PERCENT: percent off (1–100).
    pub percent_off: Option<i32>,
    /// PERCENT: the most it takes off (> 0).
    pub max_discount: Option<Won>,
    /// The products subtotal it needs.
    pub min_subtotal: Won,
    /// Usable from (inclusive).
    pub starts_at: Option<DateTime<Utc>>,
    /// Usable until (exclusive), after `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Uses over all customers (> 0).
    pub usage_limit: Option<i32>,
    /// Uses per signed-in customer (> 0).
    pub per_customer_limit: Option<i32>,
    /// Only signed-in customers may use it.
    pub members_only: bool,
    /// Switched on.
    pub active: bool,
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::Invalid {
        field,
        reason: reason.to_owned(),
    }
}

/// The code as the cart matches it: trimmed and upper-cased, then `INVALID_INPUT` on
/// `code` unless it is 2–40 of `A–Z`, `0–9` and `-`.
pub fn normalize_code(code: &str) -> Result<String, Error> {
    let code = code.trim().to_uppercase();
    let ok = (2..=MAX_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    ok.then_some(code)
        .ok_or_else(|| invalid("code", "2–40 of A–Z, 0–9 and -"))
}

fn check_window(starts_at: Option<DateTime<Utc>>, ends_at: Option<DateTime<Utc>>) -> Result<(), Error> {
    match (starts_at, ends_at) {
        (Some(s), Some(e)) if s >= e => Err(invalid("endsAt", "must be after startsAt")),
        _ => Ok(()),
    }
}

fn check_limit(limit: Option<i32>, field: &'static str) -> Result<(), Error> {
    match limit {
        Some(n) if n <= 0 => Err(invalid(field, "> 0 when given")),
        _ => Ok(()),
    }
}

/// A checked coupon, as the table stores it.
struct CouponRow {
    code: String,
    name: String,
    description: String,
    value: i64,
    max_discount: Option<i64>,
}

/// Checks a coupon as the cart will apply it. Errors: `INVALID_INPUT` naming the field.
fn check_coupon(c: &CouponInput) -> Result<CouponRow, Error> {
    let code = normalize_code(&c.code)?;
    let name = crate::types::parse_name(&c.name, "name")?;
    let description = c.description.trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid("description", "at most 500 characters"));
    }
    let (value, max_discount) = match c.kind {
        CouponKind::Fixed => {
            if c.percent_off.is_some() {
                return Err(invalid("percentOff", "only for PERCENT coupons"));
            }
            if c.max_discount.is_some() {
                return Err(invalid("maxDiscount", "only for PERCENT coupons"));
            }
            match c.amount_off {
                Some(a) if a > Won::ZERO => (a.get(), None),
                _ => return Err(invalid("amountOff", "a FIXED coupon takes an amount > 0")),
            }
        }
        CouponKind::Percent => {
            if c.amount_off.is_some() {
                return Err(invalid("amountOff", "only for FIXED coupons"));
            }
            let pct = match c.percent_off {
                Some(p) if (1..=100).contains(&p) => i64::from(p),
                _ => return Err(invalid("percentOff", "a PERCENT coupon takes 1–100")),
            };
            if c.max_discount.is_some_and(|m| m == Won::ZERO) {
                return Err(invalid("maxDiscount", "> 0 when given"));
            }
            (pct, c.max_discount.map(Won::get))
        }
    };
    check_window(c.starts_at, c.ends_at)?;
    check_limit(c.usage_limit, "usageLimit")?;
    check_limit(c.per_customer_limit, "perCustomerLimit")?;
    Ok(CouponRow {
        code,
        name,
        description,
        value,
        max_discount,
    })
}

/// Which coupons to list.
#[derive(Clone, Debug, Default)]
pub struct CouponFilter {
    /// A part of the code or the name.
    pub search: Option<String>,
    /// Only switched on (`true`) or off (`false`) ones.
    pub active: Option<bool>,
}

/// Reads one coupon row; the one SELECT list of this module.
macro_rules! coupon_rows {
    ($where:literal, $($arg:expr),* $(,)?) => {
        sqlx::query!(
            r#"SELECT id AS "id: CouponId", code, name, description, kind, value, max_discount, min_subtotal,
                      starts_at, ends_at, usage_limit, per_customer_limit, members_only, used_count, active, created_at
                 FROM coupons "# + $where,
            $($arg),*
        )
    };
}

macro_rules! coupon_from {
    ($r:expr) => {{
        let r = $r;
        Coupon {
            id: r.id,
            code: r.code,
            name: r.name,
            description: r.description,
            kind: CouponKind::from_db(&r.kind),
            value: r.value,
            max_discount: r.max_discount.and_then(Won::new),
            min_subtotal: Won::new(r.min_subtotal).unwrap_or(Won::ZERO),
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            usage_limit: r.usage_limit,
            per_customer_limit: r.per_customer_limit,
            members_only: r.members_only,
            used_count: r.used_count,
            active: r.active,
            created_at: r.created_at,
        }
    }};
}

/// Coupons, newest first (cursor: the coupon id), filtered, with the count over all pages
/// when `total`. Any staff role. Errors: `INVALID_CURSOR`, `INVALID_INPUT` (search).
pub async fn coupons(
    pool: &PgPool,
    _by: Principal,
    filter: &CouponFilter,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<Coupon>, Error> {
    let after = after
        .map(|a| a.parse::<CouponId>().map_err(|_| Error::InvalidCursor))
        .transpose()?;
    let search = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > 100) {
        return Err(invalid("search", "at most 100 characters"));
    }
    let pattern = search.map(contains_pattern);
    let rows = sqlx::query!(
        r#"WITH m AS NOT MATERIALIZED (
               SELECT * FROM coupons
                WHERE ($1::text IS NULL OR code ILIKE $1 OR name ILIKE $1)
                  AND ($2::bool IS NULL OR active = $2))
           SELECT id AS "id!: CouponId", code AS "code!", name AS "name!", description AS "description!",
                  kind AS "kind!", value AS "value!", max_discount, min_subtotal AS "min_subtotal!",
                  starts_at, ends_at, usage_limit, per_customer_limit, members_only AS "members_only!",
                  used_count AS "used_count!",
                  active AS "active!", created_at AS "created_at!",
                  CASE WHEN $5 THEN (SELECT count(*) FROM m) END AS total
             FROM m
            WHERE $3::uuid IS NULL OR id < $3
            ORDER BY id DESC LIMIT $4"#,
        pattern,
        filter.active,
        after.map(|a| a.0),
        i64::from(first) + 1,
        total,
    )
    .fetch_all(pool)
    .await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.total), || {
        sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM coupons
                WHERE ($1::text IS NULL OR code ILIKE $1 OR name ILIKE $1) AND ($2::bool IS NULL OR active = $2)"#,
            pattern,
            filter.active,
        )
        .fetch_one(pool)
    })
    .await?;
    Ok(Page::from_rows(rows, first, count, |r| {
        let c = coupon_from!(r);
        let cursor = c.id.to_string();
        (c, cursor)
    }))
}

/// One coupon. Any staff role. Errors: `NOT_FOUND`.
pub async fn coupon(pool: &PgPool, _by: Principal, id: CouponId) -> Result<Coupon, Error> {
    let mut conn = pool.acquire().await?;
    coupon_in(&mut conn, id).await
}

async fn coupon_in(conn: &mut PgConnection, id: CouponId) -> Result<Coupon, Error> {
    let r = coupon_rows!("WHERE id = $1", id as CouponId)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound { what: "coupon" })?;
    Ok(coupon_from!(r))
}

/// Creates a coupon, or (with `id`) replaces one; uses so far are kept, so a usage limit
/// below them is refused. A cart holding a code renamed since reads it as inactive.
/// MANAGER or OWNER. Errors: `FORBIDDEN`, `INVALID_INPUT`,
/// `ALREADY_EXISTS` (code), `NOT_FOUND`.
pub async fn save_coupon(
    pool: &PgPool,
    by: Principal,
    id: Option<CouponId>,
    c: &CouponInput,
    ip: Option<&str>,
) -> Result<Coupon, Error> {
    by.require(Permission::WritePromotions, "edit coupons")?;
    let row = check_coupon(c)?;
    let mut tx = pool.begin().await?;
    let target = match id {
        None => {
            let new = CouponId::generate();
            sqlx::query!(
                "INSERT INTO coupons (id, code, name, description, kind, value, max_discount, min_subtotal,
                                      starts_at, ends_at, usage_limit, per_customer_limit, active, members_only)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                new as CouponId,
                row.code,
                row.name,
                row.description,
                c.kind.as_str(),
                row.value,
                row.max_discount,
                c.min_subtotal.get(),
                c.starts_at,
                c.ends_at,
                c.usage_limit,
                c.per_customer_limit,
                c.active,
                c.members_only,
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| Error::unique(e, "code", &row.code))?;
            new
        }
        Some(id) => {
            // The condition is the check: checkout raises used_count concurrently.
            let r = sqlx::query!(
                "UPDATE coupons SET code = $2, name = $3, description = $4, kind = $5, value = $6, max_discount = $7,
                        min_subtotal = $8, starts_at = $9, ends_at = $10, usage_limit = $11,
                        per_customer_limit = $12, active = $13, members_only = $14
                  WHERE id = $1 AND ($11::int IS NULL OR used_count <= $11)",
                id as CouponId,
                row.code,
                row.name,
                row.description,
                c.kind.as_str(),
                row.value,
                row.max_discount,
                c.min_subtotal.get(),
                c.starts_at,
                c.ends_at,
                c.usage_limit,
                c.per_customer_limit,
                c.active,
                c.members_only,
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| Error::unique(e, "code", &row.code))?;
            if r.rows_affected() == 0 {
                let used = sqlx::query_scalar!("SELECT used_count FROM coupons WHERE id = $1", id as CouponId)
                    .fetch_optional(&mut *tx)
                    .await?;
                return Err(match used {
                    Some(n) => Error::Invalid {
                        field: "usageLimit",
                        reason: format!("it has been used {n} times already"),
                    },
                    None => Error::NotFound { what: "coupon" },
                });
            }
            id
        }
    };
    let action = if id.is_some() { "coupon.update" } else { "coupon.create" };
    let summary = json!({ "kind": c.kind.as_str(), "value": row.value, "active": c.active });
    audit(&mut tx, by, action, &target.to_string(), summary, ip).await?;
    let saved = coupon_in(&mut tx, target).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Deletes a coupon no order has used. A used coupon stays, because its orders point at
/// it: it is refused with `INVALID_INPUT` on `id` (switch it off with `active: false`
/// instead). A cart that had it applied shows it as inactive. MANAGER or OWNER.
/// Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_INPUT` (used).
pub async fn delete_coupon(pool: &PgPool, by: Principal, id: CouponId, ip: Option<&str>) -> Result<(), Error> {
    by.require(Permission::WritePromotions, "edit coupons")?;
    let mut tx = pool.begin().await?;
    let code = sqlx::query_scalar!(
        "DELETE FROM coupons c WHERE id = $1 AND used_count = 0
            AND NOT EXISTS (SELECT 1 FROM coupon_redemptions r WHERE r.coupon_id = c.id)
         RETURNING code",
        id as CouponId
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(code) = code else {
        let used = sqlx::query_scalar!(
            r#"SELECT (SELECT count(*) FROM coupon_redemptions r WHERE r.coupon_id = c.id) AS "n!"
                 FROM coupons c WHERE id = $1"#,
            id as CouponId
        )
        .fetch_optional(&mut *tx)
        .await?;
        return Err(match used {
            Some(n) => Error::Invalid {
                field: "id",
                reason: format!("{n} orders used it; switch it off (active: false) instead"),
            },
            None => Error::NotFound { what: "coupon" },
        });
    };
    audit(
        &mut tx,
        by,
        "coupon.delete",
        &id.to_string(),
        json!({ "code": code }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A gift-with-purchase rule as staff see it.
#[derive(Clone, Debug)]
pub struct GiftRule {
    /// Its id.
    pub id: GiftRuleId,
    /// Display name (`Cart.giftProgress.ruleName`).
    pub name: String,
    /// Switched on.
    pub active: bool,
    /// The products subtotal it needs, if any.
    pub min_subtotal: Option<Won>,
    /// A product the cart must hold, if any.
    pub required_product_id: Option<ProductId>,
    /// The gift.
    pub gift_variant_id: VariantId,
    /// Units of the gift.
    pub gift_quantity: i32,
    /// Only carts of this sales channel (`PC_WEB`…), if any.
    pub channel: Option<String>,
    /// From (inclusive).
    pub starts_at: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub ends_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A gift rule as entered.
#[derive(Clone, Debug)]
pub struct GiftRuleInput {
    /// Display name (1–50 characters).
    pub name: String,
    /// Switched on.
    pub active: bool,
    /// The products subtotal it needs, if any.
    pub min_subtotal: Option<Won>,
    /// A product the cart must hold, if any.
    pub required_product_id: Option<ProductId>,
    /// The gift.
    pub gift_variant_id: VariantId,
    /// Units of the gift (1–[`MAX_GIFT_QUANTITY`]).
    pub gift_quantity: i32,
    /// Only carts of this sales channel (`PC_WEB`, `MOBILE_WEB`, `APP`, `EXTERNAL`).
    pub channel: Option<String>,
    /// From (inclusive).
    pub starts_at: Option<DateTime<Utc>>,
    /// Until (exclusive), after `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
}

const CHANNELS: [&str; 4] = ["PC_WEB", "MOBILE_WEB", "APP", "EXTERNAL"];

fn check_gift_rule(g: &GiftRuleInput) -> Result<String, Error> {
    let name = crate::types::parse_name(&g.name, "name")?;
    if !(1..=MAX_GIFT_QUANTITY).contains(&g.gift_quantity) {
        return Err(invalid("giftQuantity", "1–100"));
    }
    if g.channel.as_deref().is_some_and(|c| !CHANNELS.contains(&c)) {
        return Err(invalid("channel", "PC_WEB, MOBILE_WEB, APP or EXTERNAL"));
    }
    check_window(g.starts_at, g.ends_at)?;
    Ok(name)
}

/// A foreign key of `gift_rules` names what is missing.
fn missing(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23503") => {
            if d.constraint().is_some_and(|c| c.contains("required_product")) {
                Error::NotFound { what: "product" }
            } else {
                Error::NotFound { what: "variant" }
            }
        }
        _ => Error::Db(e),
    }
}

macro_rules! gift_from {
    ($r:expr) => {{
        let r = $r;
        GiftRule {
            id: r.id,
            name: r.name,
            active: r.active,
            min_subtotal: r.min_subtotal.and_then(Won::new),
            required_product_id: r.required_product_id,
            gift_variant_id: r.gift_variant_id,
            gift_quantity: r.gift_quantity,
            channel: r.channel,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            created_at: r.created_at,
        }
    }};
}

/// Gift rules, newest first (cursor: the rule id), with the count over all pages when
/// `total`. Any staff role. Errors: `INVALID_CURSOR`.
pub async fn gift_rules(
    pool: &PgPool,
    _by: Principal,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<GiftRule>, Error> {
    let after = after
        .map(|a| a.parse::<GiftRuleId>().map_err(|_| Error::InvalidCursor))
        .transpose()?;
    let rows = sqlx::query!(
        r#"SELECT id AS "id: GiftRuleId", name, active, min_subtotal,
                  required_product_id AS "required_product_id: ProductId",
                  gift_variant_id AS "gift_variant_id: VariantId", gift_quantity, channel, starts_at, ends_at,
                  created_at, CASE WHEN $3 THEN (SELECT count(*) FROM gift_rules) END AS total
             FROM gift_rules
            WHERE $1::uuid IS NULL OR id < $1
            ORDER BY id DESC LIMIT $2"#,
        after.map(|a| a.0),
        i64::from(first) + 1,
        total,
    )
    .fetch_all(pool)
    .await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.total), || {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM gift_rules"#).fetch_one(pool)
    })
    .await?;
    Ok(Page::from_rows(rows, first, count, |r| {
        let g = gift_from!(r);
        let cursor = g.id.to_string();
        (g, cursor)
    }))
}

async fn gift_rule_in(conn: &mut PgConnection, id: GiftRuleId) -> Result<GiftRule, Error> {
    let r = sqlx::query!(
        r#"SELECT id AS "id: GiftRuleId", name, active, min_subtotal,
                  required_product_id AS "required_product_id: ProductId",
                  gift_variant_id AS "gift_variant_id: VariantId", gift_quantity, channel, starts_at, ends_at,
                  created_at
             FROM gift_rules WHERE id = $1"#,
        id as GiftRuleId
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "gift rule" })?;
    Ok(gift_from!(r))
}

/// Creates a gift rule, or (with `id`) replaces one. MANAGER or OWNER. Errors:
/// `FORBIDDEN`, `INVALID_INPUT`, `NOT_FOUND` (rule, required product or gift variant).
pub async fn save_gift_rule(
    pool: &PgPool,
    by: Principal,
    id: Option<GiftRuleId>,
    g: &GiftRuleInput,
    ip: Option<&str>,
) -> Result<GiftRule, Error> {
    by.require(Permission::WritePromotions, "edit gift rules")?;
    let name = check_gift_rule(g)?;
    let mut tx = pool.begin().await?;
    let target = id.unwrap_or_else(GiftRuleId::generate);
    let r = sqlx::query!(
        "INSERT INTO gift_rules (id, name, active, min_subtotal, required_product_id, gift_variant_id, gift_quantity,
                                 channel, starts_at, ends_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, active = EXCLUDED.active,
             min_subtotal = EXCLUDED.min_subtotal, required_product_id = EXCLUDED.required_product_id,
             gift_variant_id = EXCLUDED.gift_variant_id, gift_quantity = EXCLUDED.gift_quantity,
             channel = EXCLUDED.channel, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at
         RETURNING (xmax = 0) AS inserted",
        target as GiftRuleId,
        name,
        g.active,
        g.min_subtotal.map(Won::get),
        g.required_product_id as Option<ProductId>,
        g.gift_variant_id as VariantId,
        g.gift_quantity,
        g.channel,
        g.starts_at,
        g.ends_at,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(missing)?;
    if id.is_some() && r.inserted == Some(true) {
        // `?` drops the transaction: the row just inserted is rolled back.
        return Err(Error::NotFound { what: "gift rule" });
    }
    let action = if id.is_some() {
        "gift_rule.update"
    } else {
        "gift_rule.create"
    };
    let summary =
        json!({ "gift_variant": g.gift_variant_id.to_string(), "quantity": g.gift_quantity, "active": g.active });
    audit(&mut tx, by, action, &target.to_string(), summary, ip).await?;
    let saved = gift_rule_in(&mut tx, target).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Deletes a gift rule (orders keep their gift lines). MANAGER or OWNER. Errors:
/// `FORBIDDEN`, `NOT_FOUND`.
pub async fn delete_gift_rule(pool: &PgPool, by: Principal, id: GiftRuleId, ip: Option<&str>) -> Result<(), Error> {
    by.require(Permission::WritePromotions, "edit gift rules")?;
    let mut tx = pool.begin().await?;
    let name = sqlx::query_scalar!("DELETE FROM gift_rules WHERE id = $1 RETURNING name", id as GiftRuleId)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound { what: "gift rule" })?;
    audit(
        &mut tx,
        by,
        "gift_rule.delete",
        &id.to_string(),
        json!({ "name": name }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(amount: i64) -> CouponInput {
        CouponInput {
            code: " welcome-10 ".into(),
            name: "신규 회원".into(),
            description: String::new(),
            kind: CouponKind::Fixed,
            amount_off: Won::new(amount),
            percent_off: None,
            max_discount: None,
            min_subtotal: Won::ZERO,
            starts_at: None,
            ends_at: None,
            usage_limit: None,
            per_customer_limit: None,
            members_only: false,
            active: true,
        }
    }

    fn field(r: &Result<CouponRow, Error>) -> &'static str {
        match r {
            Err(Error::Invalid { field, .. }) => field,
            _ => "",
        }
    }

    #[test]
    fn codes_are_upper_cased_like_the_cart_reads_them() {
        assert_eq!(normalize_code(" welcome-10 ").ok().as_deref(), Some("WELCOME-10"));
        for bad in ["", "A", "WEL COME", "환영", "A_B", &"A".repeat(41)] {
            assert!(normalize_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn each_kind_takes_its_own_amount() {
        assert_eq!(check_coupon(&fixed(3000)).map(|r| r.value).ok(), Some(3000));
        assert_eq!(field(&check_coupon(&fixed(0))), "amountOff");
        let pct = |p: Option<i32>| CouponInput {
            kind: CouponKind::Percent,
            amount_off: None,
            percent_off: p,
            ..fixed(1)
        };
        assert_eq!(check_coupon(&pct(Some(100))).map(|r| r.value).ok(), Some(100));
        for bad in [None, Some(0), Some(101)] {
            assert_eq!(field(&check_coupon(&pct(bad))), "percentOff");
        }
        let both = CouponInput {
            percent_off: Some(10),
            ..fixed(1000)
        };
        assert_eq!(field(&check_coupon(&both)), "percentOff");
        let capped_fixed = CouponInput {
            max_discount: Won::new(100),
            ..fixed(1000)
        };
        assert_eq!(field(&check_coupon(&capped_fixed)), "maxDiscount");
    }

    #[test]
    fn windows_and_limits() {
        let now = Utc::now();
        let backwards = CouponInput {
            starts_at: Some(now),
            ends_at: Some(now),
            ..fixed(1000)
        };
        assert_eq!(field(&check_coupon(&backwards)), "endsAt");
        let zero = CouponInput {
            usage_limit: Some(0),
            ..fixed(1000)
        };
        assert_eq!(field(&check_coupon(&zero)), "usageLimit");
        let zero = CouponInput {
            per_customer_limit: Some(-1),
            ..fixed(1000)
        };
        assert_eq!(field(&check_coupon(&zero)), "perCustomerLimit");
    }
}
