//! Catalog editing for staff: categories, products, variants, images, publishing, and the
//! admin product list; stock in `stock`. Roles are checked here; every write is audited.

use serde_json::json;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::{
    Error, Won,
    catalog::{self, Direction, OptionValue, Product, ProductSort, ProductView, SortField},
    cms::sanitize,
    ids::{CategoryId, ProductId, VariantId},
    pagination::Page,
    staff::{Permission, Principal, audit},
};

mod stock;

pub use stock::{StockFilter, StockItem, StockMovement, adjust_stock, stock, stock_movements};

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
    audit(&mut tx, by, action, &c.slug, json!({ "name": name }), ip).await?;
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
    audit(&mut tx, by, "category.delete", &slug, json!({}), ip).await?;
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
    crate::media::replace_with_urls(&mut tx, target, &p.images, Some(by.id)).await?;
    let action = if id.is_some() {
        "product.update"
    } else {
        "product.create"
    };
    audit(&mut tx, by, action, &p.slug, json!({ "published": p.published }), ip).await?;
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
        by,
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
    audit(&mut tx, by, "product.delete", &slug, json!({}), ip).await?;
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
    audit(&mut tx, by, "variant.delete", &row.sku, json!({}), ip).await?;
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
    /// At or below this many available, the variant is low on stock (`Variant.stockStatus`,
    /// the `lowStock` filters); `None` keeps the current one (5 for a new variant).
    pub low_stock_threshold: Option<i32>,
}

fn check_variant(v: &VariantInput) -> Result<(), Error> {
    if v.low_stock_threshold.is_some_and(|t| t < 0) {
        return Err(Error::Invalid {
            field: "lowStockThreshold",
            reason: "≥ 0".into(),
        });
    }
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
        "INSERT INTO variants (id, product_id, sku, name, options, price, compare_at_price, on_hand, position,
                               low_stock_threshold)
         SELECT $1, p.id, $3, $4, $5, $6, $7, $8, (SELECT count(*) FROM variants WHERE product_id = p.id)::int,
                COALESCE($9, 5)
           FROM products p WHERE p.id = $2",
        id as VariantId,
        product as ProductId,
        v.sku.trim(),
        name,
        serde_json::to_value(&v.options).unwrap_or_default(),
        v.price.get(),
        v.compare_at_price.map(Won::get),
        on_hand,
        v.low_stock_threshold,
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
            "INSERT INTO stock_movements (variant_id, delta_on_hand, reason, actor, note)
             VALUES ($1, $2, 'ADJUSTMENT', $3, 'opening stock')",
            id as VariantId,
            on_hand,
            format!("staff:{}", by.id),
        )
        .execute(&mut *tx)
        .await?;
    }
    audit(
        &mut tx,
        by,
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
        "UPDATE variants SET sku = $2, name = $3, options = $4, price = $5, compare_at_price = $6,
                low_stock_threshold = COALESCE($7, low_stock_threshold), updated_at = now()
          WHERE id = $1",
        id as VariantId,
        v.sku.trim(),
        v.name.trim(),
        serde_json::to_value(&v.options).unwrap_or_default(),
        v.price.get(),
        v.compare_at_price.map(Won::get),
        v.low_stock_threshold,
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "sku", &v.sku))?;
    audit(
        &mut tx,
        by,
        "variant.update",
        v.sku.trim(),
        json!({ "price": { "before": before.get(), "after": v.price.get() } }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Which products staff list: drafts too.
#[derive(Clone, Debug, Default)]
pub struct AdminProductFilter {
    /// Every word must appear in the name, description, slug or a variant's SKU.
    pub search: Option<String>,
    /// Only this category and its subcategories.
    pub category: Option<CategoryId>,
    /// Only listed (`true`) or draft (`false`) products.
    pub published: Option<bool>,
    /// `Some(true)`: some variant has at most its low-stock threshold available;
    /// `Some(false)`: no variant does.
    pub low_stock: Option<bool>,
}

/// The cursor's key, bound as the sort column's type.
enum CursorKey {
    At(chrono::DateTime<chrono::Utc>),
    Won(i64),
    Name(String),
}

/// The storefront's product cursor (one format for both listings), its key typed for the
/// sort column; `INVALID_CURSOR` if it was issued for another order.
fn decode_product_cursor(sort: ProductSort, cursor: &str) -> Result<(CursorKey, uuid::Uuid), Error> {
    let c = catalog::decode_cursor(sort, cursor)?;
    let key = match (sort.field, c.k) {
        (SortField::Newest, catalog::CursorKey::Int(n)) => {
            chrono::DateTime::from_timestamp_micros(n).map(CursorKey::At)
        }
        (SortField::Price, catalog::CursorKey::Int(n)) => Some(CursorKey::Won(n)),
        (SortField::Name, catalog::CursorKey::Text(s)) => Some(CursorKey::Name(s)),
        _ => None,
    };
    Ok((key.ok_or(Error::InvalidCursor)?, c.i))
}

fn push_admin_filter(q: &mut QueryBuilder<Postgres>, f: &AdminProductFilter, terms: &[String]) {
    q.push(" WHERE TRUE");
    if let Some(c) = f.category {
        q.push(" AND p.category_id IN (WITH RECURSIVE tree AS (SELECT id FROM categories WHERE id = ");
        q.push_bind(c.0);
        q.push(" UNION ALL SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id) SELECT id FROM tree)");
    }
    for t in terms {
        q.push(" AND (p.search_text LIKE ");
        q.push_bind(t.clone());
        q.push(" OR p.slug LIKE ");
        q.push_bind(t.clone());
        q.push(" OR EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND lower(v.sku) LIKE ");
        q.push_bind(t.clone());
        q.push("))");
    }
    if let Some(published) = f.published {
        q.push(" AND p.published = ");
        q.push_bind(published);
    }
    if let Some(low) = f.low_stock {
        q.push(if low { " AND " } else { " AND NOT " });
        q.push("EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.on_hand - v.allocated <= v.low_stock_threshold)");
    }
}

#[derive(sqlx::FromRow)]
struct AdminProductRow {
    #[sqlx(flatten)]
    product: Product,
    total: Option<i64>,
}

/// Products for staff, drafts included, in `sort` order with keyset pagination (the
/// cursor carries the sort key and the id), with the count over all pages when `total`.
/// Any staff role. Errors: `INVALID_CURSOR`, `INVALID_INPUT` (search).
pub async fn products(
    pool: &PgPool,
    _by: Principal,
    filter: &AdminProductFilter,
    sort: ProductSort,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<ProductView>, Error> {
    let search = filter.search.as_deref().map(str::trim).unwrap_or_default();
    if search.chars().count() > catalog::MAX_SEARCH_CHARS {
        return Err(Error::Invalid {
            field: "search",
            reason: format!("at most {} characters", catalog::MAX_SEARCH_CHARS),
        });
    }
    let terms: Vec<String> = search
        .split_whitespace()
        .map(|w| crate::types::contains_pattern(&w.to_lowercase()))
        .collect();
    let after = after.map(|c| decode_product_cursor(sort, c)).transpose()?;
    // Fixed fragments only; every value is bound. `p.*` keeps the row in step with
    // `catalog::Product`, whatever columns it gains.
    let mut q = QueryBuilder::new(
        "SELECT p.*, (SELECT COALESCE(json_agg(json_build_array(m.id, m.storage, m.key, \
         m.url, m.content_type, m.width, m.height, m.bytes, \
         m.alt, m.widths, m.created_at) ORDER BY pm.position), '[]') \
         FROM product_media pm JOIN media m ON m.id = pm.media_id WHERE pm.product_id = p.id) AS images, ",
    );
    if total {
        q.push("(SELECT count(*) FROM products p");
        push_admin_filter(&mut q, filter, &terms);
        q.push(") AS total");
    } else {
        q.push("NULL::int8 AS total");
    }
    q.push(" FROM products p");
    push_admin_filter(&mut q, filter, &terms);
    let key = match sort.field {
        SortField::Newest => "p.created_at",
        SortField::Price => "p.price_min",
        SortField::Name => "p.name",
    };
    let (cmp, dir) = match sort.direction {
        Direction::Asc => (">", "ASC"),
        Direction::Desc => ("<", "DESC"),
    };
    if let Some((k, id)) = after {
        q.push(format_args!(" AND ({key}, p.id) {cmp} ("));
        match k {
            CursorKey::At(at) => q.push_bind(at),
            CursorKey::Won(won) => q.push_bind(won),
            CursorKey::Name(name) => q.push_bind(name),
        };
        q.push(", ").push_bind(id).push(")");
    }
    q.push(format_args!(" ORDER BY {key} {dir}, p.id {dir} LIMIT "));
    q.push_bind(i64::from(first) + 1);
    let mut conn = pool.acquire().await?;
    let rows: Vec<AdminProductRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    let count = match (total, rows.first()) {
        (false, _) => None,
        (true, Some(r)) => r.total,
        (true, None) => {
            // Past the last page: count alone.
            let mut c = QueryBuilder::new("SELECT count(*) FROM products p");
            push_admin_filter(&mut c, filter, &terms);
            Some(c.build_query_scalar().fetch_one(&mut *conn).await?)
        }
    };
    Ok(Page::from_rows(rows, first, count, |r| {
        let cursor = catalog::encode_cursor(sort, &r.product);
        (
            ProductView {
                product: r.product,
                variants: None,
            },
            cursor,
        )
    }))
}
