//! Carts: anonymous by token, one per signed-in customer, priced live on the server
//! (owns `carts`, `cart_lines`). Adding to a cart costs two statements.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool, types::Json};

use crate::{
    Error, auth,
    error::CouponProblem,
    ids::{CartId, CartLineId, CustomerId, VariantId},
    pricing::{self, CouponTerms, GiftRule, LineInput, Priced, PricingInput},
    settings::ShippingSettings,
    types::Zonecode,
};

/// The most units of one variant a cart line holds.
pub const MAX_QUANTITY: i32 = 999;

/// Where a cart (and its order) comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    /// PC web.
    PcWeb,
    /// Mobile web.
    MobileWeb,
    /// The shop's app.
    App,
    /// Another storefront, e.g. a marketplace, by name.
    External(String),
}

impl Channel {
    /// Parses a channel and, for `EXTERNAL`, its source (required, 1–50 characters).
    pub fn parse(channel: &str, source: Option<&str>) -> Result<Channel, Error> {
        let source = source.map(str::trim).filter(|s| !s.is_empty());
        match (channel, source) {
            ("PC_WEB", None) => Ok(Channel::PcWeb),
            ("MOBILE_WEB", None) => Ok(Channel::MobileWeb),
            ("APP", None) => Ok(Channel::App),
            ("EXTERNAL", Some(s)) if s.chars().count() <= 50 => Ok(Channel::External(s.to_owned())),
            ("EXTERNAL", _) => Err(Error::Invalid {
                field: "source",
                reason: "EXTERNAL needs a source name".into(),
            }),
            (_, Some(_)) => Err(Error::Invalid {
                field: "source",
                reason: "only EXTERNAL takes a source".into(),
            }),
            _ => Err(Error::Invalid {
                field: "channel",
                reason: "unknown channel".into(),
            }),
        }
    }

    /// The database form.
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::PcWeb => "PC_WEB",
            Channel::MobileWeb => "MOBILE_WEB",
            Channel::App => "APP",
            Channel::External(_) => "EXTERNAL",
        }
    }

    fn source(&self) -> Option<&str> {
        match self {
            Channel::External(s) => Some(s),
            _ => None,
        }
    }
}

/// A line to add: variant and units.
#[derive(Clone, Copy, Debug)]
pub struct AddLine {
    /// The variant.
    pub variant: VariantId,
    /// Units (1–999).
    pub quantity: i32,
}

/// A cart as the customer sees it, priced now.
#[derive(Clone, Debug)]
pub struct CartView {
    /// Its id.
    pub id: CartId,
    /// Its token.
    pub token: String,
    /// Its owner, once signed in.
    pub customer_id: Option<CustomerId>,
    /// Channel.
    pub channel: String,
    /// For `EXTERNAL`, the source.
    pub channel_source: Option<String>,
    /// The coupon applied.
    pub coupon_code: Option<String>,
    /// Where it ships, once known.
    pub zonecode: Option<Zonecode>,
    /// Lines, totals and warnings.
    pub priced: Priced,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct CartRow {
    id: CartId,
    token: String,
    customer_id: Option<CustomerId>,
    channel: String,
    channel_source: Option<String>,
    coupon_code: Option<String>,
    zonecode: Option<String>,
    updated_at: DateTime<Utc>,
}

/// Loads and prices a cart in one statement; `lock` takes a row lock for checkout.
/// Errors: `NOT_FOUND`.
pub async fn view(
    conn: &mut PgConnection,
    token: &str,
    shipping: &ShippingSettings,
    lock: bool,
    now: DateTime<Utc>,
) -> Result<CartView, Error> {
    // Two spellings: FOR UPDATE can't be a parameter.
    macro_rules! load {
        ($suffix:literal) => {
            sqlx::query!(
                r#"SELECT json_build_object('id', c.id, 'token', c.token, 'customer_id', c.customer_id,
                          'channel', c.channel, 'channel_source', c.channel_source, 'coupon_code', c.coupon_code,
                          'zonecode', c.zonecode, 'updated_at', c.updated_at) AS "cart!: Json<CartRow>",
                     (SELECT COALESCE(json_agg(json_build_object(
                          'line_id', 'cln_' || replace(l.id::text, '-', ''), 'variant_id', v.id, 'product_id', p.id,
                          'product_name', p.name, 'variant_name', v.name, 'sku', v.sku, 'quantity', l.quantity,
                          'price', v.price, 'seen_price', l.unit_price, 'compare_at_price', v.compare_at_price,
                          'available', v.on_hand - v.allocated, 'tax_free', p.tax_free, 'published', p.published)
                          ORDER BY l.created_at, l.id), '[]')
                        FROM cart_lines l JOIN variants v ON v.id = l.variant_id JOIN products p ON p.id = v.product_id
                       WHERE l.cart_id = c.id) AS "lines!: Json<Vec<LineInput>>",
                     (SELECT json_build_object('code', k.code, 'name', k.name, 'description', k.description,
                          'kind', k.kind, 'value', k.value,
                          'max_discount', k.max_discount, 'min_subtotal', k.min_subtotal, 'starts_at', k.starts_at,
                          'ends_at', k.ends_at, 'active', k.active,
                          'login_required', k.members_only AND c.customer_id IS NULL,
                          'used_up', k.usage_limit IS NOT NULL AND k.used_count >= k.usage_limit,
                          'customer_used_up', k.per_customer_limit IS NOT NULL AND c.customer_id IS NOT NULL
                              AND k.per_customer_limit <= (SELECT count(*) FROM coupon_redemptions r
                                   WHERE r.coupon_id = k.id AND r.customer_id = c.customer_id))
                        FROM coupons k WHERE k.code = c.coupon_code) AS "coupon: Json<CouponTerms>",
                     (SELECT COALESCE(json_agg(json_build_object(
                          'id', 'gft_' || replace(g.id::text, '-', ''), 'name', g.name, 'min_subtotal', g.min_subtotal,
                          'required_product_id', g.required_product_id, 'channel', g.channel,
                          'gift', json_build_object(
                              'line_id', 'gft_' || replace(g.id::text, '-', ''), 'variant_id', v.id, 'product_id', p.id,
                              'product_name', p.name, 'variant_name', v.name, 'sku', v.sku, 'quantity', g.gift_quantity,
                              'price', v.price, 'seen_price', v.price, 'available', v.on_hand - v.allocated,
                              'tax_free', p.tax_free, 'published', true)) ORDER BY g.created_at, g.id), '[]')
                        FROM gift_rules g JOIN variants v ON v.id = g.gift_variant_id JOIN products p ON p.id = v.product_id
                       WHERE g.active AND (g.starts_at IS NULL OR g.starts_at <= $2)
                         AND (g.ends_at IS NULL OR g.ends_at > $2)) AS "gift_rules!: Json<Vec<GiftRule>>"
                   FROM carts c WHERE c.token = $1 "#
                    + $suffix,
                token,
                now,
            )
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| (r.cart.0, r.lines.0, r.coupon.map(|c| c.0), r.gift_rules.0))
        };
    }
    let row = if lock { load!("FOR UPDATE OF c") } else { load!("") };
    let (cart, lines, coupon, gift_rules) = row.ok_or(Error::NotFound { what: "cart" })?;
    let zonecode = cart.zonecode.as_deref().and_then(|z| Zonecode::parse(z).ok());
    let coupon = match (&cart.coupon_code, coupon) {
        (Some(code), None) => Some(CouponTerms {
            // Deleted since it was applied: priced as such, so the cart shows why.
            code: code.clone(),
            kind: "FIXED".into(),
            deleted: true,
            ..CouponTerms::default()
        }),
        (_, c) => c,
    };
    let priced = pricing::price(PricingInput {
        lines,
        coupon,
        gift_rules,
        channel: &cart.channel,
        zonecode: zonecode.as_ref(),
        shipping,
        now,
    })?;
    Ok(CartView {
        id: cart.id,
        token: cart.token,
        customer_id: cart.customer_id,
        channel: cart.channel,
        channel_source: cart.channel_source,
        coupon_code: cart.coupon_code,
        zonecode,
        priced,
        updated_at: cart.updated_at,
    })
}

/// The cart of a customer, if they have one. Errors: none beyond faults.
pub async fn token_of_customer(conn: &mut PgConnection, customer: CustomerId) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar!("SELECT token FROM carts WHERE customer_id = $1", customer as CustomerId)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Merges repeated variants of a request and checks quantities.
fn merge_request(lines: &[AddLine]) -> Result<BTreeMap<VariantId, i32>, Error> {
    let mut merged = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            return Err(Error::Invalid {
                field: leak_field("lines", i, "quantity"),
                reason: format!("1–{MAX_QUANTITY}"),
            });
        }
        *merged.entry(l.variant).or_insert(0) += l.quantity;
    }
    if merged.len() > 100 {
        return Err(Error::Invalid {
            field: "lines",
            reason: "at most 100 lines".into(),
        });
    }
    Ok(merged)
}

/// `lines.<i>.quantity` as a `'static` path: a few distinct strings at most, kept.
fn leak_field(list: &str, i: usize, field: &str) -> &'static str {
    const PATHS: [&str; 4] = [
        "lines.0.quantity",
        "lines.1.quantity",
        "lines.2.quantity",
        "lines.3.quantity",
    ];
    if list == "lines" && field == "quantity" && i < PATHS.len() {
        PATHS[i]
    } else {
        "lines"
    }
}

#[derive(Debug, Deserialize)]
struct Problem {
    variant_id: VariantId,
    sku: Option<String>,
    available: Option<i32>,
    published: Option<bool>,
}

fn problem_error(p: Problem) -> Error {
    match (p.sku, p.published, p.available) {
        (Some(sku), Some(true), Some(available)) => Error::OutOfStock {
            variant: p.variant_id,
            sku,
            line: None,
            available: available.max(0),
        },
        _ => Error::NotFound { what: "variant" },
    }
}

/// Adds lines (quantities add up per variant), all or nothing, in one statement: each
/// resulting quantity must be in stock. Errors: `NOT_FOUND` (cart, variant),
/// `OUT_OF_STOCK`, `INVALID_INPUT`.
pub async fn add_lines(conn: &mut PgConnection, token: &str, lines: &[AddLine]) -> Result<(), Error> {
    let merged = merge_request(lines)?;
    let variants: Vec<uuid::Uuid> = merged.keys().map(|v| v.0).collect();
    let quantities: Vec<i32> = merged.values().copied().collect();
    let ids: Vec<uuid::Uuid> = merged.keys().map(|_| CartLineId::generate().0).collect();
    let r = sqlx::query!(
        r#"WITH cart AS (SELECT id FROM carts WHERE token = $1),
                req AS (SELECT * FROM UNNEST($2::uuid[], $3::int4[], $4::uuid[]) AS r (variant_id, qty, new_id)),
                checked AS (
                    SELECT r.variant_id, r.new_id, r.qty + COALESCE(l.quantity, 0) AS new_qty, v.sku, v.price,
                           v.on_hand - v.allocated AS available, p.published, v.id IS NOT NULL AS found
                      FROM req r
                      LEFT JOIN variants v ON v.id = r.variant_id
                      LEFT JOIN products p ON p.id = v.product_id
                      LEFT JOIN cart_lines l ON l.cart_id = (SELECT id FROM cart) AND l.variant_id = r.variant_id),
                bad AS (
                    SELECT variant_id, sku, available, published FROM checked
                     WHERE NOT found OR NOT published OR new_qty > available OR new_qty > $5),
                ins AS (
                    INSERT INTO cart_lines (id, cart_id, variant_id, quantity, unit_price)
                    SELECT new_id, (SELECT id FROM cart), variant_id, new_qty, price FROM checked
                     WHERE EXISTS (SELECT 1 FROM cart) AND NOT EXISTS (SELECT 1 FROM bad)
                    ON CONFLICT (cart_id, variant_id)
                    DO UPDATE SET quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price
                    RETURNING 1),
                touch AS (
                    UPDATE carts SET updated_at = now()
                     WHERE id = (SELECT id FROM cart) AND NOT EXISTS (SELECT 1 FROM bad))
           SELECT EXISTS (SELECT 1 FROM cart) AS "cart!",
                  (SELECT json_agg(json_build_object('variant_id', variant_id, 'sku', sku,
                       'available', available, 'published', published)) FROM bad) AS "bad: Json<Vec<Problem>>""#,
        token,
        &variants,
        &quantities,
        &ids,
        MAX_QUANTITY,
    )
    .fetch_one(&mut *conn)
    .await?;
    if !r.cart {
        return Err(Error::NotFound { what: "cart" });
    }
    match r.bad.and_then(|b| b.0.into_iter().next()) {
        Some(p) => Err(problem_error(p)),
        None => Ok(()),
    }
}

/// Creates a cart with lines, one transaction. A signed-in customer who already has a cart
/// gets the lines added to it instead. Errors: as [`add_lines`].
pub async fn create(
    pool: &PgPool,
    channel: &Channel,
    lines: &[AddLine],
    customer: Option<CustomerId>,
) -> Result<String, Error> {
    // Nothing to roll back for a new anonymous cart without lines: one statement, no transaction.
    if customer.is_none() && lines.is_empty() {
        let (token, _) = auth::new_token();
        insert_cart(pool.acquire().await?.as_mut(), &token, channel, None).await?;
        return Ok(token);
    }
    let mut tx = pool.begin().await?;
    let existing = match customer {
        Some(c) => token_of_customer(&mut tx, c).await?,
        None => None,
    };
    let token = match existing {
        Some(t) => t,
        None => {
            let (token, _) = auth::new_token();
            insert_cart(&mut tx, &token, channel, customer).await?;
            token
        }
    };
    if !lines.is_empty() {
        add_lines(&mut tx, &token, lines).await?;
    }
    tx.commit().await?;
    Ok(token)
}

async fn insert_cart(
    conn: &mut PgConnection,
    token: &str,
    channel: &Channel,
    customer: Option<CustomerId>,
) -> Result<(), Error> {
    sqlx::query!(
        "INSERT INTO carts (id, token, customer_id, channel, channel_source) VALUES ($1, $2, $3, $4, $5)",
        CartId::generate() as CartId,
        token,
        customer as Option<CustomerId>,
        channel.as_str(),
        channel.source(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets line quantities (0 removes), all or nothing: raising a quantity needs the stock.
/// Errors: `NOT_FOUND` (cart, line), `OUT_OF_STOCK`, `INVALID_INPUT`.
pub async fn update_lines(conn: &mut PgConnection, token: &str, updates: &[(CartLineId, i32)]) -> Result<(), Error> {
    if updates.iter().any(|(_, q)| !(0..=MAX_QUANTITY).contains(q)) {
        return Err(Error::Invalid {
            field: "quantity",
            reason: format!("0–{MAX_QUANTITY}"),
        });
    }
    let ids: Vec<uuid::Uuid> = updates.iter().map(|(l, _)| l.0).collect();
    let qty: Vec<i32> = updates.iter().map(|(_, q)| *q).collect();
    let r = sqlx::query!(
        r#"WITH cart AS (SELECT id FROM carts WHERE token = $1),
                req AS (SELECT * FROM UNNEST($2::uuid[], $3::int4[]) AS r (line_id, qty)),
                checked AS (
                    SELECT r.line_id, r.qty, l.id IS NOT NULL AS found, l.quantity AS current, v.id AS variant_id,
                           v.sku, v.on_hand - v.allocated AS available
                      FROM req r
                      LEFT JOIN cart_lines l ON l.id = r.line_id AND l.cart_id = (SELECT id FROM cart)
                      LEFT JOIN variants v ON v.id = l.variant_id),
                bad AS (SELECT * FROM checked WHERE NOT found OR (qty > current AND qty > available)),
                del AS (
                    DELETE FROM cart_lines WHERE id IN (SELECT line_id FROM checked WHERE qty = 0)
                       AND NOT EXISTS (SELECT 1 FROM bad)),
                upd AS (
                    UPDATE cart_lines l SET quantity = c.qty FROM checked c
                     WHERE l.id = c.line_id AND c.qty > 0 AND NOT EXISTS (SELECT 1 FROM bad)),
                touch AS (
                    UPDATE carts SET updated_at = now()
                     WHERE id = (SELECT id FROM cart) AND NOT EXISTS (SELECT 1 FROM bad))
           SELECT EXISTS (SELECT 1 FROM cart) AS "cart!",
                  (SELECT json_agg(json_build_object('line_id', line_id, 'found', found, 'variant_id', variant_id,
                       'sku', sku, 'available', available)) FROM bad) AS "bad: Json<Vec<LineProblem>>""#,
        token,
        &ids,
        &qty,
    )
    .fetch_one(&mut *conn)
    .await?;
    if !r.cart {
        return Err(Error::NotFound { what: "cart" });
    }
    match r.bad.and_then(|b| b.0.into_iter().next()) {
        Some(LineProblem { found: false, .. }) => Err(Error::NotFound { what: "cart line" }),
        Some(LineProblem {
            line_id,
            variant_id: Some(variant),
            sku,
            available,
            ..
        }) => Err(Error::OutOfStock {
            variant,
            sku: sku.unwrap_or_default(),
            line: Some(CartLineId(line_id).to_string()),
            available: available.unwrap_or(0).max(0),
        }),
        Some(_) => Err(Error::NotFound { what: "cart line" }),
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
struct LineProblem {
    line_id: uuid::Uuid,
    found: bool,
    variant_id: Option<VariantId>,
    sku: Option<String>,
    available: Option<i32>,
}

/// Removes lines, all or nothing. Errors: `NOT_FOUND` (cart, a line not in it).
pub async fn remove_lines(conn: &mut PgConnection, token: &str, lines: &[CartLineId]) -> Result<(), Error> {
    let ids: Vec<uuid::Uuid> = lines.iter().map(|l| l.0).collect();
    let r = sqlx::query!(
        r#"WITH cart AS (SELECT id FROM carts WHERE token = $1),
                mine AS (SELECT id FROM cart_lines WHERE cart_id = (SELECT id FROM cart) AND id = ANY($2)),
                ok AS (SELECT (SELECT count(*) FROM mine) = cardinality(ARRAY(SELECT DISTINCT unnest($2::uuid[]))) AS all_found),
                del AS (DELETE FROM cart_lines WHERE id IN (SELECT id FROM mine) AND (SELECT all_found FROM ok)),
                touch AS (UPDATE carts SET updated_at = now() WHERE id = (SELECT id FROM cart) AND (SELECT all_found FROM ok))
           SELECT EXISTS (SELECT 1 FROM cart) AS "cart!", (SELECT all_found FROM ok) AS "all_found!""#,
        token,
        &ids,
    )
    .fetch_one(&mut *conn)
    .await?;
    if !r.cart {
        return Err(Error::NotFound { what: "cart" });
    }
    if !r.all_found {
        return Err(Error::NotFound { what: "cart line" });
    }
    Ok(())
}

/// Applies a coupon after checking it can be used now by this cart (and customer): every
/// reason of [`CouponProblem`], members-only coupons for signed-in customers only.
/// Errors: `NOT_FOUND` (cart), `COUPON_INVALID`.
pub async fn apply_coupon(
    pool: &PgPool,
    token: &str,
    code: &str,
    shipping: &ShippingSettings,
    customer: Option<CustomerId>,
) -> Result<(), Error> {
    let code = code.trim().to_uppercase();
    let mut conn = pool.acquire().await?;
    let now = Utc::now();
    let cart = view(&mut conn, token, shipping, false, now).await?;
    let terms = sqlx::query_scalar!(
        r#"SELECT json_build_object('code', code, 'kind', kind, 'value', value, 'max_discount', max_discount,
                  'min_subtotal', min_subtotal, 'starts_at', starts_at, 'ends_at', ends_at, 'active', active,
                  'login_required', members_only AND $2::uuid IS NULL,
                  'used_up', usage_limit IS NOT NULL AND used_count >= usage_limit,
                  'customer_used_up', per_customer_limit IS NOT NULL AND $2::uuid IS NOT NULL AND per_customer_limit <=
                      (SELECT count(*) FROM coupon_redemptions r WHERE r.coupon_id = coupons.id AND r.customer_id = $2))
                  AS "terms!: Json<CouponTerms>"
             FROM coupons WHERE code = $1"#,
        code,
        customer.or(cart.customer_id).map(|c| c.0),
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::CouponInvalid(CouponProblem::Unknown))?;
    pricing::coupon_discount(&terms.0, cart.priced.subtotal, now).map_err(Error::CouponInvalid)?;
    sqlx::query!(
        "UPDATE carts SET coupon_code = $2, updated_at = now() WHERE token = $1",
        token,
        code
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes the coupon. Errors: `NOT_FOUND` (cart).
pub async fn remove_coupon(conn: &mut PgConnection, token: &str) -> Result<(), Error> {
    let r = sqlx::query!(
        "UPDATE carts SET coupon_code = NULL, updated_at = now() WHERE token = $1",
        token
    )
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::NotFound { what: "cart" });
    }
    Ok(())
}

/// Sets where the cart ships (for the remote-area fee). Errors: `NOT_FOUND` (cart).
pub async fn set_zonecode(conn: &mut PgConnection, token: &str, zonecode: Option<&Zonecode>) -> Result<(), Error> {
    let r = sqlx::query!(
        "UPDATE carts SET zonecode = $2, updated_at = now() WHERE token = $1",
        token,
        zonecode.map(Zonecode::as_str),
    )
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::NotFound { what: "cart" });
    }
    Ok(())
}

/// At login: the anonymous cart becomes the customer's, or its lines join the customer's
/// cart (quantities added, capped by stock) and it goes away. Returns the customer's cart
/// token, if they have a cart now.
pub async fn attach_to_customer(
    conn: &mut PgConnection,
    anonymous: Option<&str>,
    customer: CustomerId,
) -> Result<Option<String>, Error> {
    let own = token_of_customer(&mut *conn, customer).await?;
    let Some(anon) = anonymous.filter(|t| Some(*t) != own.as_deref()) else {
        return Ok(own);
    };
    match own {
        None => {
            // Someone else's cart is not taken over.
            let r = sqlx::query!(
                "UPDATE carts SET customer_id = $2, updated_at = now() WHERE token = $1 AND customer_id IS NULL",
                anon,
                customer as CustomerId,
            )
            .execute(&mut *conn)
            .await?;
            Ok((r.rows_affected() == 1).then(|| anon.to_owned()))
        }
        Some(own) => {
            sqlx::query!(
                "WITH anon AS (SELECT id FROM carts WHERE token = $1 AND customer_id IS NULL),
                      mine AS (SELECT id FROM carts WHERE token = $2),
                      merged AS (
                          INSERT INTO cart_lines (id, cart_id, variant_id, quantity, unit_price)
                          SELECT gen_random_uuid(), (SELECT id FROM mine), a.variant_id,
                                 LEAST(a.quantity + COALESCE(m.quantity, 0),
                                       GREATEST(v.on_hand - v.allocated, COALESCE(m.quantity, 0)), $3),
                                 a.unit_price
                            FROM cart_lines a
                            JOIN variants v ON v.id = a.variant_id
                            LEFT JOIN cart_lines m ON m.cart_id = (SELECT id FROM mine) AND m.variant_id = a.variant_id
                           WHERE a.cart_id = (SELECT id FROM anon)
                             AND (v.on_hand - v.allocated > 0 OR m.id IS NOT NULL)
                          ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity),
                      gone AS (DELETE FROM carts WHERE id = (SELECT id FROM anon))
                 UPDATE carts SET updated_at = now() WHERE id = (SELECT id FROM mine)",
                anon,
                own,
                MAX_QUANTITY,
            )
            .execute(&mut *conn)
            .await?;
            Ok(Some(own))
        }
    }
}

/// After a `PRICE_CHANGED` refusal: the customer has now been shown the new prices.
pub async fn accept_current_prices(conn: &mut PgConnection, token: &str) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE cart_lines l SET unit_price = v.price FROM variants v, carts c
          WHERE c.token = $1 AND l.cart_id = c.id AND v.id = l.variant_id AND l.unit_price <> v.price",
        token,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
