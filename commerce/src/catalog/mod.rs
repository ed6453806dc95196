//! Catalog reads: categories (a tree), products, variants and their stock, product images.
//! Owns the `categories`, `products` and `variants` tables (pictures: `crate::media`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, types::Json};

use crate::{
    Error, Won,
    ids::{CategoryId, MediaId, ProductId, VariantId},
    media::Media,
};

mod listing;

pub(crate) use listing::{CursorKey, decode_cursor, encode_cursor};
pub use listing::{
    Direction, Include, ProductFilter, ProductSort, SortField, count_products, list_products, listing_sql,
};

/// The longest search text accepted.
pub const MAX_SEARCH_CHARS: usize = 100;

/// A category; categories form a tree through `parent_id`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Category {
    /// Its id.
    pub id: CategoryId,
    /// The parent, `None` at the top.
    pub parent_id: Option<CategoryId>,
    /// URL name, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// Order among its siblings.
    pub position: i32,
}

/// A product as the storefront shows it (variants load separately, see [`variants_of`]).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Product {
    /// Its id.
    pub id: ProductId,
    /// URL name, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// HTML description.
    pub description: String,
    /// Its category, if any.
    pub category_id: Option<CategoryId>,
    /// Listed in the storefront.
    pub published: bool,
    /// VAT-exempt (면세), e.g. unprocessed farm produce.
    pub tax_free: bool,
    /// The lowest variant price.
    pub price_min: Won,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its pictures, in order (`crate::media`).
    pub images: Json<Vec<Media>>,
}

/// One option value of a variant, e.g. 맛 = 초코.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionValue {
    /// The option, e.g. `맛`.
    pub name: String,
    /// The value, e.g. `초코`.
    pub value: String,
}

/// A variant: what is bought, one SKU with its price and stock.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Variant {
    /// Its id.
    pub id: VariantId,
    /// Its product.
    pub product_id: ProductId,
    /// Stock keeping unit, unique.
    pub sku: String,
    /// Display name, e.g. `초코 / 500ml`.
    pub name: String,
    /// Option values in the product's option order.
    pub options: Json<Vec<OptionValue>>,
    /// Price in won, VAT included.
    pub price: Won,
    /// The "was" price shown struck through, if any.
    pub compare_at_price: Option<Won>,
    /// Units in the warehouse.
    pub on_hand: i32,
    /// Units promised to placed orders, not yet shipped.
    pub allocated: i32,
    /// At most this many units available reads as [`StockStatus::LowStock`] (품절 임박).
    pub low_stock_threshold: i32,
    /// Its own picture (`Variant.image`); `None`: its product's first.
    pub media_id: Option<MediaId>,
}

impl Variant {
    /// Units that can still be sold: on hand − allocated, never below zero.
    pub fn quantity_available(&self) -> i32 {
        (self.on_hand - self.allocated).max(0)
    }

    /// What a storefront may say about its stock without the exact number.
    pub fn stock_status(&self) -> StockStatus {
        StockStatus::of(self.quantity_available(), self.low_stock_threshold)
    }
}

/// Public stock: what a storefront shows instead of (or beside) the exact number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockStatus {
    /// More than the variant's low-stock threshold available.
    InStock,
    /// 1 ≤ available ≤ the threshold (품절 임박).
    LowStock,
    /// Nothing available (품절).
    SoldOut,
}

impl StockStatus {
    /// The status of `available` units against a low-stock `threshold`.
    pub fn of(available: i32, threshold: i32) -> StockStatus {
        match available {
            ..=0 => StockStatus::SoldOut,
            a if a <= threshold => StockStatus::LowStock,
            _ => StockStatus::InStock,
        }
    }
}

/// One option of a product and its values, e.g. 맛: 초코, 바닐라.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductOption {
    /// The option, e.g. `맛`.
    pub name: String,
    /// Its values in the order of the variants that carry them, each once.
    pub values: Vec<String>,
}

/// A product's options, from its variants in display order: options in the order the
/// variants list them (the product's option order), values in variant order, each once.
pub fn product_options(variants: &[Variant]) -> Vec<ProductOption> {
    let mut out: Vec<ProductOption> = Vec::new();
    for o in variants.iter().flat_map(|v| v.options.0.iter()) {
        let i = match out.iter().position(|p| p.name == o.name) {
            Some(i) => i,
            None => {
                out.push(ProductOption {
                    name: o.name.clone(),
                    values: Vec::new(),
                });
                out.len() - 1
            }
        };
        if !out[i].values.contains(&o.value) {
            out[i].values.push(o.value.clone());
        }
    }
    out
}

/// The variant whose options are exactly `selected` (every option named once, in any
/// order), or `None`: a partial or unknown selection matches nothing.
pub fn variant_by_options<'a>(variants: &'a [Variant], selected: &[OptionValue]) -> Option<&'a Variant> {
    variants.iter().find(|v| {
        v.options.0.len() == selected.len()
            && v.options.0.iter().all(|o| {
                let mut same_name = selected.iter().filter(|s| s.name == o.name);
                same_name.next().is_some_and(|s| s.value == o.value) && same_name.next().is_none()
            })
    })
}

/// A product with its variants when they were loaded with it.
#[derive(Clone, Debug)]
pub struct ProductView {
    /// The product.
    pub product: Product,
    /// Its variants in display order, if loaded.
    pub variants: Option<Vec<Variant>>,
}

/// A variant as `listing::VARIANTS_JSON` (and [`product_any`]) writes it: a JSON array of
/// these fields in this order (`json_build_array`, positional: serde reads a struct from an
/// array field by field, and a count that differs is an error). Arrays rather than objects
/// because PostgreSQL spends more on writing and escaping the keys than on the values: the
/// listing's statement ran 1.6× as fast with them gone. The product id is the row's.
#[derive(Debug, Deserialize)]
pub(super) struct VariantJson {
    id: VariantId,
    sku: String,
    name: String,
    options: Vec<OptionValue>,
    price: Won,
    compare_at_price: Option<Won>,
    on_hand: i32,
    allocated: i32,
    low_stock_threshold: i32,
    media_id: Option<MediaId>,
}

impl VariantJson {
    /// The variant, of `product`.
    pub(super) fn of(self, product: ProductId) -> Variant {
        Variant {
            id: self.id,
            product_id: product,
            sku: self.sku,
            name: self.name,
            options: Json(self.options),
            price: self.price,
            compare_at_price: self.compare_at_price,
            on_hand: self.on_hand,
            allocated: self.allocated,
            low_stock_threshold: self.low_stock_threshold,
            media_id: self.media_id,
        }
    }
}

/// How to find one product.
#[derive(Clone, Debug)]
pub enum ProductKey {
    /// By its URL name.
    Slug(String),
    /// By its id.
    Id(ProductId),
}

impl ProductKey {
    /// The key from a `slug` or an opaque `id`, exactly one of them.
    /// Errors: `INVALID_INPUT` (both or neither), `INVALID_ID`.
    pub fn parse(slug: Option<String>, id: Option<&str>) -> Result<ProductKey, Error> {
        match (slug, id) {
            (Some(slug), None) => Ok(ProductKey::Slug(slug)),
            (None, Some(id)) => id.parse::<ProductId>().map(ProductKey::Id),
            (Some(_), Some(_)) => Err(Error::Invalid {
                field: "id",
                reason: "give slug or id, not both".into(),
            }),
            (None, None) => Err(Error::Invalid {
                field: "slug",
                reason: "give slug or id".into(),
            }),
        }
    }
}

/// A published product with its variants, in one statement; `None` if there is none.
pub async fn product(conn: &mut PgConnection, key: &ProductKey) -> Result<Option<ProductView>, Error> {
    product_any(conn, key, false).await
}

/// A product with its variants, drafts too when `include_unpublished` (for staff).
pub async fn product_any(
    conn: &mut PgConnection,
    key: &ProductKey,
    include_unpublished: bool,
) -> Result<Option<ProductView>, Error> {
    let (slug, id) = match key {
        ProductKey::Slug(s) => (Some(s.as_str()), None),
        ProductKey::Id(id) => (None, Some(id.0)),
    };
    // Keep the JSON shapes in step with PRODUCT_COLUMNS and VARIANTS_JSON. The key is
    // written so that one generic plan serves every execution (`slug = $1 OR id = $2` got a
    // custom plan each time, planning taking six times as long as running it).
    let row = sqlx::query!(
        r#"SELECT p.id AS "id: ProductId", p.slug, p.name, p.description,
                  p.category_id AS "category_id: CategoryId", p.published, p.tax_free,
                  p.price_min AS "price_min: Won", p.created_at, p.updated_at,
                  (SELECT COALESCE(json_agg(json_build_array(m.id, m.storage, m.key, m.url,
                     m.content_type, m.width, m.height, m.bytes, m.alt,
                     m.widths, m.created_at) ORDER BY pm.position), '[]') FROM product_media pm JOIN media m ON m.id = pm.media_id WHERE pm.product_id = p.id)
                  AS "images!: Json<Vec<Media>>",
                  (SELECT COALESCE(json_agg(json_build_array(v.id, v.sku, v.name, v.options, v.price,
                     v.compare_at_price, v.on_hand, v.allocated,
                     v.low_stock_threshold, v.media_id) ORDER BY v.position, v.sku), '[]') FROM variants v WHERE v.product_id = p.id)
                  AS "variants!: Json<Vec<VariantJson>>"
             FROM products p
            WHERE p.id = COALESCE($2, (SELECT s.id FROM products s WHERE s.slug = $1)) AND ($3 OR p.published)"#,
        slug,
        id,
        include_unpublished,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| ProductView {
        product: Product {
            id: r.id,
            slug: r.slug,
            name: r.name,
            description: r.description,
            category_id: r.category_id,
            published: r.published,
            tax_free: r.tax_free,
            price_min: r.price_min,
            created_at: r.created_at,
            updated_at: r.updated_at,
            images: r.images,
        },
        variants: Some(r.variants.0.into_iter().map(|v| v.of(r.id)).collect()),
    }))
}

/// Products by id, drafts included (the caller decides what it may show), in one
/// statement; an id with no product (deleted) is simply missing. Errors: none beyond faults.
pub async fn products_by_ids(conn: &mut PgConnection, ids: &[ProductId]) -> Result<Vec<Product>, Error> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|p| p.0).collect();
    // Keep the JSON shape in step with PRODUCT_COLUMNS.
    let rows = sqlx::query_as!(
        Product,
        r#"SELECT p.id AS "id: ProductId", p.slug, p.name, p.description,
                  p.category_id AS "category_id: CategoryId", p.published, p.tax_free,
                  p.price_min AS "price_min: Won", p.created_at, p.updated_at,
                  (SELECT COALESCE(json_agg(json_build_array(m.id, m.storage, m.key, m.url,
                     m.content_type, m.width, m.height, m.bytes, m.alt,
                     m.widths, m.created_at) ORDER BY pm.position), '[]') FROM product_media pm JOIN media m ON m.id = pm.media_id WHERE pm.product_id = p.id)
                  AS "images!: Json<Vec<Media>>"
             FROM products p WHERE p.id = ANY($1)"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// The variants of these products, in one statement, each product's in display order.
pub async fn variants_of(conn: &mut PgConnection, products: &[ProductId]) -> Result<Vec<Variant>, Error> {
    let ids: Vec<uuid::Uuid> = products.iter().map(|p| p.0).collect();
    let rows = sqlx::query_as!(
        Variant,
        r#"SELECT id AS "id: VariantId", product_id AS "product_id: ProductId", sku, name,
                  options AS "options: Json<Vec<OptionValue>>", price AS "price: Won",
                  compare_at_price AS "compare_at_price: Won", on_hand, allocated, low_stock_threshold,
                  media_id AS "media_id: MediaId"
             FROM variants WHERE product_id = ANY($1)
            ORDER BY product_id, position, sku"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// Variants by id, in one statement (order not guaranteed).
pub async fn variants_by_ids(conn: &mut PgConnection, ids: &[VariantId]) -> Result<Vec<Variant>, Error> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|v| v.0).collect();
    let rows = sqlx::query_as!(
        Variant,
        r#"SELECT id AS "id: VariantId", product_id AS "product_id: ProductId", sku, name,
                  options AS "options: Json<Vec<OptionValue>>", price AS "price: Won",
                  compare_at_price AS "compare_at_price: Won", on_hand, allocated, low_stock_threshold,
                  media_id AS "media_id: MediaId"
             FROM variants WHERE id = ANY($1)"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// Every category, parents before children, siblings by position then name.
pub async fn categories(conn: &mut PgConnection) -> Result<Vec<Category>, Error> {
    let rows = sqlx::query_as!(
        Category,
        r#"WITH RECURSIVE tree AS (
               SELECT c.*, ARRAY[c.position::bigint] AS path, ARRAY[c.name] AS names
                 FROM categories c WHERE c.parent_id IS NULL
               UNION ALL
               SELECT c.*, tree.path || c.position::bigint, tree.names || c.name
                 FROM categories c JOIN tree ON c.parent_id = tree.id)
           SELECT id AS "id!: CategoryId", parent_id AS "parent_id: CategoryId", slug AS "slug!",
                  name AS "name!", description AS "description!", position AS "position!"
             FROM tree ORDER BY path, names"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// A category by slug, `None` if there is none.
pub async fn category_by_slug(conn: &mut PgConnection, slug: &str) -> Result<Option<Category>, Error> {
    let c = sqlx::query_as!(
        Category,
        r#"SELECT id AS "id: CategoryId", parent_id AS "parent_id: CategoryId", slug, name,
                  description, position
             FROM categories WHERE slug = $1"#,
        slug
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(c)
}

/// Categories by id, in one statement (order not guaranteed).
pub async fn categories_by_ids(conn: &mut PgConnection, ids: &[CategoryId]) -> Result<Vec<Category>, Error> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|c| c.0).collect();
    let rows = sqlx::query_as!(
        Category,
        r#"SELECT id AS "id: CategoryId", parent_id AS "parent_id: CategoryId", slug, name,
                  description, position
             FROM categories WHERE id = ANY($1)"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// The children of these categories, in one statement, siblings by position then name.
pub async fn children_of(conn: &mut PgConnection, parents: &[CategoryId]) -> Result<Vec<Category>, Error> {
    let ids: Vec<uuid::Uuid> = parents.iter().map(|c| c.0).collect();
    let rows = sqlx::query_as!(
        Category,
        r#"SELECT id AS "id: CategoryId", parent_id AS "parent_id: CategoryId", slug, name,
                  description, position
             FROM categories WHERE parent_id = ANY($1) ORDER BY position, name"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(sku: &str, options: &[(&str, &str)]) -> Variant {
        Variant {
            id: VariantId::generate(),
            product_id: ProductId(uuid::Uuid::nil()),
            sku: sku.into(),
            name: String::new(),
            options: Json(
                options
                    .iter()
                    .map(|(n, v)| OptionValue {
                        name: (*n).into(),
                        value: (*v).into(),
                    })
                    .collect(),
            ),
            price: Won::ZERO,
            compare_at_price: None,
            on_hand: 0,
            allocated: 0,
            low_stock_threshold: 5,
            media_id: None,
        }
    }

    #[test]
    fn stock_status_reads_sold_out_low_and_in_stock_from_the_threshold() {
        let s = |a| StockStatus::of(a, 3);
        assert_eq!(
            [s(-1), s(0), s(1), s(3), s(4)],
            [
                StockStatus::SoldOut,
                StockStatus::SoldOut,
                StockStatus::LowStock,
                StockStatus::LowStock,
                StockStatus::InStock
            ]
        );
        assert_eq!(StockStatus::of(1, 0), StockStatus::InStock, "threshold 0: never low");
    }

    #[test]
    fn options_keep_their_order_and_an_exact_selection_finds_its_variant() {
        let vs = [
            variant("A", &[("맛", "초코"), ("용량", "350ml")]),
            variant("B", &[("맛", "초코"), ("용량", "500ml")]),
            variant("C", &[("맛", "바닐라"), ("용량", "350ml")]),
        ];
        let opts = product_options(&vs);
        assert_eq!(
            opts,
            vec![
                ProductOption {
                    name: "맛".into(),
                    values: vec!["초코".into(), "바닐라".into()]
                },
                ProductOption {
                    name: "용량".into(),
                    values: vec!["350ml".into(), "500ml".into()]
                },
            ]
        );
        let sel = |pairs: &[(&str, &str)]| -> Vec<OptionValue> {
            pairs
                .iter()
                .map(|(n, v)| OptionValue {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect()
        };
        let found = |pairs: &[(&str, &str)]| variant_by_options(&vs, &sel(pairs)).map(|v| v.sku.clone());
        assert_eq!(found(&[("용량", "500ml"), ("맛", "초코")]), Some("B".into()));
        assert_eq!(found(&[("맛", "초코")]), None);
        assert_eq!(found(&[("맛", "바닐라"), ("용량", "500ml")]), None);
        assert_eq!(found(&[("맛", "초코"), ("맛", "초코")]), None);
        assert!(product_options(&[variant("X", &[])]).is_empty());
        assert_eq!(
            variant_by_options(&[variant("X", &[])], &[]).map(|v| v.sku.as_str()),
            Some("X")
        );
    }

    #[test]
    fn a_product_key_is_a_slug_or_an_id_never_both() {
        assert!(matches!(
            ProductKey::parse(Some("a".into()), None),
            Ok(ProductKey::Slug(_))
        ));
        assert!(matches!(
            ProductKey::parse(Some("a".into()), Some("prd_00000000000000000000000000000000")),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(ProductKey::parse(None, None), Err(Error::Invalid { .. })));
    }
}
