//! Catalog editing for staff: categories, products, variants, images, publishing, and
//! stock adjustments with a movement each. Roles are checked here; every write is audited.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;
use sqlx::PgPool;

use crate::{
    Error, Won,
    catalog::OptionValue,
    cms::sanitize,
    ids::{CategoryId, ImageId, ProductId, VariantId},
    pagination::Page,
    staff::{Permission, Principal, audit},
};

fn slug_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Why a conditional change of a variant touched no row: it is missing, or the condition.
async fn refusal(conn: &mut sqlx::PgConnection, id: VariantId, field: &'static str, reason: &str) -> Error {
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM variants WHERE id = $1) AS "e!""#,
        id as VariantId
    )
    .fetch_one(&mut *conn)
    .await;
    match exists {
        Ok(true) => Error::Invalid {
            field,
            reason: reason.to_owned(),
        },
        Ok(false) => Error::NotFound { what: "variant" },
        Err(e) => Error::Db(e),
    }
}

/// `INVALID_INPUT` on `slug` unless it is lower-case letters, digits and single dashes.
pub(crate) fn check_slug(s: &str) -> Result<(), Error> {
    slug_ok(s).then_some(()).ok_or(Error::Invalid {
        field: "slug",
        reason: "lower-case letters, digits and single dashes".into(),
    })
}

fn taken(e: sqlx::Error, what: &'static str, value: &str) -> Error {
    match &e {
        // The only foreign key a catalog write names is its category (or parent category).
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23503") => Error::NotFound { what: "category" },
        _ => Error::unique(e, what, value),
    }
}

/// A category as entered.
#[derive(Clone, Debug)]
pub struct CategoryInput {
    /// URL name.
    pub slug: String,
    /// Name.
    pub name: String,
    /// One line.
    pub description: String,
    /// Parent, if any.
    pub parent: Option<CategoryId>,
    /// Order among siblings.
    pub position: i32,
}

/// Creates or (with `id`) replaces a category. Errors: `FORBIDDEN`, `INVALID_INPUT`,
/// `ALREADY_EXISTS`, `NOT_FOUND` (parent or category).
pub async fn save_category(
    pool: &PgPool,
    by: Principal,
    id: Option<CategoryId>,
    c: &CategoryInput,
    ip: Option<&str>,
) -> Result<CategoryId, Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    check_slug(&c.slug)?;
    let name = crate::types::parse_name(&c.name, "name")?;
    if id.is_some() && id == c.parent {
        return Err(Error::Invalid {
            field: "parentId",
            reason: "a category cannot be its own parent".into(),
        });
    }
    let mut tx = pool.begin().await?;
    let target = match id {
        None => {
            let new = CategoryId::generate();
            sqlx::query!(
                "INSERT INTO categories (id, parent_id, slug, name, description, position) VALUES ($1, $2, $3, $4, $5, $6)",
                new as CategoryId,
                c.parent as Option<CategoryId>,
                c.slug,
                name,
                c.description,
                c.position,
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| taken(e, "slug", &c.slug))?;
            new
        }
        Some(id) => {
            // No cycles: the new parent must not be below this category.
            let cycle = sqlx::query_scalar!(
                r#"WITH RECURSIVE up AS (SELECT id, parent_id FROM categories WHERE id = $2
                     UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id)
                   SELECT EXISTS (SELECT 1 FROM up WHERE id = $1) AS "cycle!""#,
                id as CategoryId,
                c.parent as Option<CategoryId>,
            )
            .fetch_one(&mut *tx)
            .await?;
            if cycle {
                return Err(Error::Invalid {
                    field: "parentId",
                    reason: "that would make a cycle".into(),
                });
            }
            let r = sqlx::query!(
                "UPDATE categories SET parent_id = $2, slug = $3, name = $4, description = $5, position = $6, updated_at = now()
                  WHERE id = $1",
                id as CategoryId,
                c.parent as Option<CategoryId>,
                c.slug,
                name,
                c.description,
                c.position,
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| taken(e, "slug", &c.slug))?;
            if r.rows_affected() == 0 {
                return Err(Error::NotFound { what: "category" });
            }
            id
        }
    };
    let action = if id.is_some() {
        "category.update"
    } else {
        "category.create"
    };
    audit(&mut tx, Some(by.id), action, &c.slug, json!({ "name": name }), ip).await?;
    tx.commit().await?;
    Ok(target)
}

/// Deletes a category without subcategories (its products keep going, uncategorised).
/// Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_INPUT` (has subcategories).
pub async fn delete_category(pool: &PgPool, by: Principal, id: CategoryId, ip: Option<&str>) -> Result<(), Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    let mut tx = pool.begin().await?;
    let slug = sqlx::query_scalar!("DELETE FROM categories WHERE id = $1 RETURNING slug", id as CategoryId)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("23503") => Error::Invalid {
                field: "id",
                reason: "move or delete its subcategories first".into(),
            },
            _ => Error::Db(e),
        })?
        .ok_or(Error::NotFound { what: "category" })?;
    audit(&mut tx, Some(by.id), "category.delete", &slug, json!({}), ip).await?;
    tx.commit().await?;
    Ok(())
}

/// A product as entered.
#[derive(Clone, Debug)]
pub struct ProductInput {
    /// URL name.
    pub slug: String,
    /// Name.
    pub name: String,
    /// HTML (sanitized on save).
    pub description: String,
    /// Category.
    pub category: Option<CategoryId>,
    /// VAT-exempt.
    pub tax_free: bool,
    /// Listed.
    pub published: bool,
    /// Images in order: URL and alt text.
    pub images: Vec<(String, String)>,
}

/// Creates or (with `id`) replaces a product and its images. Errors: `FORBIDDEN`,
/// `INVALID_INPUT`, `ALREADY_EXISTS`, `NOT_FOUND`.
pub async fn save_product(
    pool: &PgPool,
    by: Principal,
    id: Option<ProductId>,
    p: &ProductInput,
    ip: Option<&str>,
) -> Result<ProductId, Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    check_slug(&p.slug)?;
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::Invalid {
            field: "name",
            reason: "1–200 characters".into(),
        });
    }
    for (url, _) in &p.images {
        if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) || url.len() > 2000 {
            return Err(Error::Invalid {
                field: "images",
                reason: "http(s) URLs or paths".into(),
            });
        }
    }
    let description = sanitize(&p.description, "description")?;
    let mut tx = pool.begin().await?;
    let target = id.unwrap_or_else(ProductId::generate);
    let r = sqlx::query!(
        "INSERT INTO products (id, slug, name, description, category_id, tax_free, published)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name, description = EXCLUDED.description,
             category_id = EXCLUDED.category_id, tax_free = EXCLUDED.tax_free, published = EXCLUDED.published,
             updated_at = now()
         RETURNING (xmax = 0) AS inserted",
        target as ProductId,
        p.slug,
        name,
        description,
        p.category as Option<CategoryId>,
        p.tax_free,
        p.published,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| taken(e, "slug", &p.slug))?;
    if id.is_some() && r.inserted == Some(true) {
        return Err(Error::NotFound { what: "product" });
    }
    sqlx::query!("DELETE FROM product_images WHERE product_id = $1", target as ProductId)
        .execute(&mut *tx)
        .await?;
    for (i, (url, alt)) in p.images.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO product_images (id, product_id, url, alt, position) VALUES ($1, $2, $3, $4, $5)",
            ImageId::generate() as ImageId,
            target as ProductId,
            url,
            alt,
            i32::try_from(i).unwrap_or(i32::MAX),
        )
        .execute(&mut *tx)
        .await?;
    }
    let action = if id.is_some() {
        "product.update"
    } else {
        "product.create"
    };
    audit(
        &mut tx,
        Some(by.id),
        action,
        &p.slug,
        json!({ "published": p.published }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(target)
}

/// Publishes or unpublishes a product. Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn set_published(
    pool: &PgPool,
    by: Principal,
    id: ProductId,
    published: bool,
    ip: Option<&str>,
) -> Result<(), Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    let mut tx = pool.begin().await?;
    let slug = sqlx::query_scalar!(
        "UPDATE products SET published = $2, updated_at = now() WHERE id = $1 RETURNING slug",
        id as ProductId,
        published
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "product" })?;
    audit(
        &mut tx,
        Some(by.id),
        if published {
            "product.publish"
        } else {
            "product.unpublish"
        },
        &slug,
        json!({}),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a product and its variants and images; past orders keep their snapshots.
/// Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn delete_product(pool: &PgPool, by: Principal, id: ProductId, ip: Option<&str>) -> Result<(), Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    let mut tx = pool.begin().await?;
    let slug = sqlx::query_scalar!("DELETE FROM products WHERE id = $1 RETURNING slug", id as ProductId)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound { what: "product" })?;
    audit(&mut tx, Some(by.id), "product.delete", &slug, json!({}), ip).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a variant no placed order still holds stock of. Errors: `FORBIDDEN`,
/// `NOT_FOUND`, `INVALID_INPUT` (allocated).
pub async fn delete_variant(pool: &PgPool, by: Principal, id: VariantId, ip: Option<&str>) -> Result<ProductId, Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"DELETE FROM variants WHERE id = $1 AND allocated = 0 RETURNING sku, product_id AS "product_id: ProductId""#,
        id as VariantId
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(refusal(
            &mut tx,
            id,
            "id",
            "placed orders still hold stock of it; unpublish instead",
        )
        .await);
    };
    audit(&mut tx, Some(by.id), "variant.delete", &row.sku, json!({}), ip).await?;
    tx.commit().await?;
    Ok(row.product_id)
}

/// A variant as entered (stock changes go through [`adjust_stock`]).
#[derive(Clone, Debug)]
pub struct VariantInput {
    /// SKU, unique.
    pub sku: String,
    /// Display name; the option values joined when empty.
    pub name: String,
    /// Option values.
    pub options: Vec<OptionValue>,
    /// Price.
    pub price: Won,
    /// The "was" price, above the price.
    pub compare_at_price: Option<Won>,
}

fn check_variant(v: &VariantInput) -> Result<(), Error> {
    let sku = v.sku.trim();
    if sku.is_empty() || sku.len() > 64 || sku.chars().any(char::is_whitespace) {
        return Err(Error::Invalid {
            field: "sku",
            reason: "1–64 characters without spaces".into(),
        });
    }
    if v.compare_at_price.is_some_and(|c| c <= v.price) {
        return Err(Error::Invalid {
            field: "compareAtPrice",
            reason: "must be above the price".into(),
        });
    }
    Ok(())
}

/// Adds a variant with its opening stock (a movement records it). Errors: `FORBIDDEN`,
/// `INVALID_INPUT`, `ALREADY_EXISTS` (SKU), `NOT_FOUND` (product).
pub async fn create_variant(
    pool: &PgPool,
    by: Principal,
    product: ProductId,
    v: &VariantInput,
    on_hand: i32,
    ip: Option<&str>,
) -> Result<VariantId, Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    check_variant(v)?;
    if on_hand < 0 {
        return Err(Error::Invalid {
            field: "onHand",
            reason: "≥ 0".into(),
        });
    }
    let id = VariantId::generate();
    let name = if v.name.trim().is_empty() {
        v.options
            .iter()
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>()
            .join(" / ")
    } else {
        v.name.trim().to_owned()
    };
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO variants (id, product_id, sku, name, options, price, compare_at_price, on_hand, position)
         SELECT $1, p.id, $3, $4, $5, $6, $7, $8, (SELECT count(*) FROM variants WHERE product_id = p.id)::int
           FROM products p WHERE p.id = $2",
        id as VariantId,
        product as ProductId,
        v.sku.trim(),
        name,
        serde_json::to_value(&v.options).unwrap_or_default(),
        v.price.get(),
        v.compare_at_price.map(Won::get),
        on_hand,
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "sku", &v.sku))
    .and_then(|r| {
        if r.rows_affected() == 0 {
            Err(Error::NotFound { what: "product" })
        } else {
            Ok(r)
        }
    })?;
    if on_hand > 0 {
        sqlx::query!(
            "INSERT INTO stock_movements (variant_id, delta_on_hand, reason, actor) VALUES ($1, $2, 'ADJUSTMENT', $3)",
            id as VariantId,
            on_hand,
            format!("staff:{}", by.id),
        )
        .execute(&mut *tx)
        .await?;
    }
    audit(
        &mut tx,
        Some(by.id),
        "variant.create",
        v.sku.trim(),
        json!({ "price": v.price.get(), "on_hand": on_hand }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces a variant's SKU, name, options and prices. Errors: `FORBIDDEN`, `INVALID_INPUT`,
/// `ALREADY_EXISTS`, `NOT_FOUND`.
pub async fn update_variant(
    pool: &PgPool,
    by: Principal,
    id: VariantId,
    v: &VariantInput,
    ip: Option<&str>,
) -> Result<(), Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    check_variant(v)?;
    let mut tx = pool.begin().await?;
    let before = sqlx::query_scalar!(
        r#"SELECT price AS "price: Won" FROM variants WHERE id = $1 FOR UPDATE"#,
        id as VariantId
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "variant" })?;
    sqlx::query!(
        "UPDATE variants SET sku = $2, name = $3, options = $4, price = $5, compare_at_price = $6, updated_at = now() WHERE id = $1",
        id as VariantId,
        v.sku.trim(),
        v.name.trim(),
        serde_json::to_value(&v.options).unwrap_or_default(),
        v.price.get(),
        v.compare_at_price.map(Won::get),
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "sku", &v.sku))?;
    audit(
        &mut tx,
        Some(by.id),
        "variant.update",
        v.sku.trim(),
        json!({ "price": { "before": before.get(), "after": v.price.get() } }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adjusts stock on hand by `delta` (a count, a delivery, breakage) with a movement; it
/// never goes below what placed orders hold. Errors: `FORBIDDEN`, `NOT_FOUND`,
/// `INVALID_INPUT` (reason, or too little left).
pub async fn adjust_stock(
    pool: &PgPool,
    by: Principal,
    id: VariantId,
    delta: i32,
    reason: &str,
    ip: Option<&str>,
) -> Result<(i32, i32), Error> {
    by.require(Permission::WriteStock, "adjust stock")?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || delta == 0 {
        return Err(Error::Invalid {
            field: "reason",
            reason: "a non-zero delta and a reason (1–200 characters)".into(),
        });
    }
    let mut tx = pool.begin().await?;
    let r = sqlx::query!(
        "UPDATE variants SET on_hand = on_hand + $2, updated_at = now()
          WHERE id = $1 AND on_hand + $2 >= allocated AND on_hand + $2 >= 0
          RETURNING sku, on_hand, allocated",
        id as VariantId,
        delta,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = r else {
        return Err(refusal(&mut tx, id, "delta", "stock on hand cannot go below what orders hold").await);
    };
    sqlx::query!(
        "INSERT INTO stock_movements (variant_id, delta_on_hand, reason, actor) VALUES ($1, $2, 'ADJUSTMENT', $3)",
        id as VariantId,
        delta,
        format!("staff:{}: {reason}", by.id),
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(by.id),
        "stock.adjust",
        &r.sku,
        json!({ "delta": delta, "reason": reason, "on_hand": r.on_hand }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok((r.on_hand, r.allocated))
}

/// A stock line for staff.
#[derive(Clone, Debug)]
pub struct StockItem {
    /// The variant.
    pub variant_id: VariantId,
    /// Its product.
    pub product_id: ProductId,
    /// Product name.
    pub product_name: String,
    /// Variant name.
    pub variant_name: String,
    /// SKU.
    pub sku: String,
    /// In the warehouse.
    pub on_hand: i32,
    /// Held by placed orders.
    pub allocated: i32,
    /// Sellable.
    pub available: i32,
    /// Listed.
    pub published: bool,
}

/// Which stock lines to list.
#[derive(Clone, Debug, Default)]
pub struct StockFilter {
    /// This SKU exactly.
    pub sku: Option<String>,
    /// A part of the SKU, product or variant name.
    pub search: Option<String>,
    /// At or below this many available.
    pub low: Option<i32>,
}

/// Stock lines, fewest available first, then by SKU (cursor: both, opaque), a page at a
/// time, with the count over all pages when `total`. Errors: `FORBIDDEN`, `INVALID_CURSOR`.
pub async fn stock(
    pool: &PgPool,
    by: Principal,
    filter: &StockFilter,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<StockItem>, Error> {
    by.require(Permission::ReadStock, "read stock")?;
    let after = after.map(decode_stock_cursor).transpose()?;
    let mut conn = pool.acquire().await?;
    let rows = stock_page(&mut conn, filter, first, after.as_ref(), total).await?;
    let mut count = rows.first().and_then(|r| r.total);
    if total && rows.is_empty() {
        // Past the last page: the first row of the first page carries the count.
        let head = stock_page(&mut conn, filter, 1, None, true).await?;
        count = Some(head.first().and_then(|r| r.total).unwrap_or(0));
    }
    Ok(Page::from_rows(rows, first, count, |r| {
        let cursor = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&(r.available, &r.sku)).unwrap_or_default());
        let item = StockItem {
            variant_id: r.variant_id,
            product_id: r.product_id,
            product_name: r.product_name,
            variant_name: r.variant_name,
            sku: r.sku,
            on_hand: r.on_hand,
            allocated: r.allocated,
            available: r.available,
            published: r.published,
        };
        (item, cursor)
    }))
}

fn decode_stock_cursor(cursor: &str) -> Result<(i32, String), Error> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Error::InvalidCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| Error::InvalidCursor)
}

/// A row of [`stock`] with the count when asked for.
struct StockRow {
    variant_id: VariantId,
    product_id: ProductId,
    product_name: String,
    variant_name: String,
    sku: String,
    on_hand: i32,
    allocated: i32,
    available: i32,
    published: bool,
    total: Option<i64>,
}

/// One page of [`stock`] (`first` + 1 rows); the filter is written once, in `m`.
async fn stock_page(
    conn: &mut sqlx::PgConnection,
    filter: &StockFilter,
    first: u32,
    after: Option<&(i32, String)>,
    total: bool,
) -> Result<Vec<StockRow>, Error> {
    let pattern = filter
        .search
        .as_deref()
        .map(|s| crate::types::contains_pattern(s.trim()));
    Ok(sqlx::query_as!(
        StockRow,
        r#"WITH m AS NOT MATERIALIZED (
               SELECT v.id AS variant_id, p.id AS product_id, p.name AS product_name, v.name AS variant_name,
                      v.sku, v.on_hand, v.allocated, (v.on_hand - v.allocated) AS available, p.published
                 FROM variants v JOIN products p ON p.id = v.product_id
                WHERE ($1::text IS NULL OR v.sku = $1)
                  AND ($2::text IS NULL OR v.sku ILIKE $2 OR p.name ILIKE $2 OR v.name ILIKE $2)
                  AND ($3::int IS NULL OR v.on_hand - v.allocated <= $3))
           SELECT variant_id AS "variant_id!: VariantId", product_id AS "product_id!: ProductId",
                  product_name AS "product_name!", variant_name AS "variant_name!", sku AS "sku!",
                  on_hand AS "on_hand!", allocated AS "allocated!", available AS "available!",
                  published AS "published!", CASE WHEN $7 THEN (SELECT count(*) FROM m) END AS total
             FROM m
            WHERE $4::int IS NULL OR (available, sku) > ($4, $5)
            ORDER BY available, sku LIMIT $6"#,
        filter.sku.as_deref().map(str::trim),
        pattern,
        filter.low,
        after.map(|a| a.0),
        after.map(|a| a.1.as_str()),
        i64::from(first) + 1,
        total,
    )
    .fetch_all(&mut *conn)
    .await?)
}
