//! Seeding: the demo shop (`serve --demo`, `seed --demo`) and bulk catalogs for benchmarks.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    Error,
    catalog::OptionValue,
    ids::{CategoryId, CouponId, GiftRuleId, MediaId, ProductId, VariantId},
};

const DEMO: &str = include_str!("demo/shop.json");

#[derive(Deserialize)]
struct DemoShop {
    categories: Vec<DemoCategory>,
    products: Vec<DemoProduct>,
}

#[derive(Deserialize)]
struct DemoCategory {
    slug: String,
    name: String,
    description: String,
    parent: Option<String>,
    position: i32,
}

#[derive(Deserialize)]
struct DemoProduct {
    slug: String,
    name: String,
    category: String,
    description: String,
    tax_free: bool,
    published: bool,
    images: Vec<DemoImage>,
    options: Vec<String>,
    variants: Vec<DemoVariant>,
}

#[derive(Deserialize)]
struct DemoImage {
    url: String,
    alt: String,
}

#[derive(Deserialize)]
struct DemoVariant {
    sku: String,
    options: HashMap<String, String>,
    price: i64,
    compare_at_price: Option<i64>,
    stock: i32,
}

/// What a seed did.
#[derive(Debug, PartialEq, Eq)]
pub enum Seeded {
    /// Products and variants inserted.
    Catalog {
        /// Products inserted.
        products: u64,
        /// Variants inserted.
        variants: u64,
    },
    /// The database already had products; nothing was touched.
    AlreadyHasCatalog,
}

/// Takes the seeding lock and tells whether the catalog is empty.
async fn lock_and_check_empty(conn: &mut PgConnection) -> Result<bool, Error> {
    // Two replicas started with --demo at once must not both seed.
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('jangteo.seed'))")
        .execute(&mut *conn)
        .await?;
    let any = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM products) AS "any!""#)
        .fetch_one(&mut *conn)
        .await?;
    Ok(!any)
}

/// Seeds the demo shop into an empty catalog, in one transaction. A database that already
/// has products is left alone ([`Seeded::AlreadyHasCatalog`]).
pub async fn seed_demo(pool: &PgPool) -> Result<Seeded, Error> {
    let shop: DemoShop = serde_json::from_str(DEMO).map_err(|e| Error::Invalid {
        field: "demo/shop.json",
        reason: e.to_string(),
    })?;
    let mut tx = pool.begin().await?;
    if !lock_and_check_empty(&mut tx).await? {
        return Ok(Seeded::AlreadyHasCatalog);
    }
    let category_ids = insert_categories(&mut tx, &shop.categories).await?;
    let now = Utc::now();
    let mut variants = 0;
    for (i, p) in shop.products.iter().enumerate() {
        // Spread creation times so "newest" has a visible order: the file's first is newest.
        let created = now - Duration::minutes(i64::try_from(i).unwrap_or(0) * 90);
        let category = category_ids.get(p.category.as_str()).copied();
        variants += insert_product(&mut tx, p, category, created).await?;
    }
    insert_promotions(&mut tx).await?;
    tx.commit().await?;
    Ok(Seeded::Catalog {
        products: shop.products.len() as u64,
        variants,
    })
}

/// The demo's promotions: a welcome coupon, a fixed coupon for larger orders, and a
/// tumbler as a gift from ₩60,000.
async fn insert_promotions(conn: &mut PgConnection) -> Result<(), Error> {
    sqlx::query!(
        "INSERT INTO coupons (id, code, name, description, kind, value, max_discount, min_subtotal, per_customer_limit)
         VALUES ($1, 'WELCOME10', '첫 구매 10% 할인', '3만원 이상 구매 시 10% 할인 (최대 5,000원, 1인 1회)',
                 'PERCENT', 10, 5000, 30000, 1),
                ($2, 'THANKS3000', '3만원 이상 3,000원 할인', '3만원 이상 구매 시 3,000원 할인',
                 'FIXED', 3000, NULL, 30000, NULL)",
        CouponId::generate() as CouponId,
        CouponId::generate() as CouponId,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO gift_rules (id, name, min_subtotal, gift_variant_id, gift_quantity)
         SELECT $1, '6만원 이상 구매 시 보온 텀블러 증정', 60000, v.id, 1
           FROM variants v JOIN products p ON p.id = v.product_id
          WHERE p.slug = 'insulated-tumbler' AND v.on_hand > 0
          ORDER BY v.position LIMIT 1",
        GiftRuleId::generate() as GiftRuleId,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts categories parents first; returns their ids by slug.
async fn insert_categories<'a>(
    conn: &mut PgConnection,
    categories: &'a [DemoCategory],
) -> Result<HashMap<&'a str, CategoryId>, Error> {
    let mut ids: HashMap<&str, CategoryId> = HashMap::new();
    let mut pending: Vec<&DemoCategory> = categories.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for c in pending {
            let parent = match &c.parent {
                None => None,
                Some(p) if ids.contains_key(p.as_str()) => ids.get(p.as_str()).copied(),
                Some(_) => {
                    rest.push(c);
                    continue;
                }
            };
            let id = CategoryId::generate();
            sqlx::query!(
                "INSERT INTO categories (id, parent_id, slug, name, description, position)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                id as CategoryId,
                parent as Option<CategoryId>,
                c.slug,
                c.name,
                c.description,
                c.position,
            )
            .execute(&mut *conn)
            .await?;
            ids.insert(&c.slug, id);
        }
        if rest.len() == before {
            return Err(Error::Invalid {
                field: "demo/shop.json",
                reason: "category parent missing".into(),
            });
        }
        pending = rest;
    }
    Ok(ids)
}

/// Inserts one product with its images and variants; returns how many variants.
async fn insert_product(
    conn: &mut PgConnection,
    p: &DemoProduct,
    category: Option<CategoryId>,
    created: chrono::DateTime<Utc>,
) -> Result<u64, Error> {
    let id = ProductId::generate();
    sqlx::query!(
        "INSERT INTO products (id, slug, name, description, category_id, published, tax_free,
                               created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        id as ProductId,
        p.slug,
        p.name,
        p.description,
        category as Option<CategoryId>,
        p.published,
        p.tax_free,
        created,
    )
    .execute(&mut *conn)
    .await?;
    for (pos, img) in p.images.iter().enumerate() {
        // Outside placeholders; `serve --demo` draws stored ones instead (media::demo).
        sqlx::query!(
            "WITH m AS (INSERT INTO media (id, storage, url, alt) VALUES ($1, 'EXTERNAL', $3, $4) RETURNING id)
             INSERT INTO product_media (product_id, media_id, position) SELECT $2, id, $5 FROM m",
            MediaId::generate() as MediaId,
            id as ProductId,
            img.url,
            img.alt,
            i32::try_from(pos).unwrap_or(i32::MAX),
        )
        .execute(&mut *conn)
        .await?;
    }
    for (pos, v) in p.variants.iter().enumerate() {
        let options: Vec<OptionValue> = p
            .options
            .iter()
            .filter_map(|name| {
                v.options.get(name).map(|value| OptionValue {
                    name: name.clone(),
                    value: value.clone(),
                })
            })
            .collect();
        let name = options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>().join(" / ");
        sqlx::query!(
            "INSERT INTO variants (id, product_id, sku, name, options, price, compare_at_price,
                                   on_hand, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            VariantId::generate() as VariantId,
            id as ProductId,
            v.sku,
            name,
            serde_json::to_value(&options).unwrap_or_default(),
            v.price,
            v.compare_at_price,
            v.stock,
            i32::try_from(pos).unwrap_or(i32::MAX),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(p.variants.len() as u64)
}

const ADJECTIVES: [&str; 8] = [
    "고단백",
    "저당",
    "유기농",
    "프리미엄",
    "데일리",
    "슬림",
    "바삭한",
    "촉촉한",
];
const NOUNS: [&str; 8] = [
    "쉐이크",
    "단백질바",
    "그래놀라",
    "선식",
    "두유",
    "곤약젤리",
    "닭가슴살",
    "견과믹스",
];
/// Bulk variants are the 구성 (pack size) options, at most this many per product.
pub const MAX_BULK_VARIANTS: u32 = 6;
const SIZES: [&str; MAX_BULK_VARIANTS as usize] = ["1개", "3개입", "6개입", "12개입", "24개입", "30개입"];

/// Inserts `products` published products with `variants` variants each (stock 1,000 each),
/// in batches of 1,000, one transaction in all. For benchmarks and load tests.
/// Errors: `INVALID_INPUT` unless `products ≥ 1` and `variants` in `1..=MAX_BULK_VARIANTS`.
pub async fn seed_bulk(pool: &PgPool, products: u32, variants: u32) -> Result<Seeded, Error> {
    if products == 0 || !(1..=MAX_BULK_VARIANTS).contains(&variants) {
        return Err(Error::Invalid {
            field: "variants",
            reason: format!("products ≥ 1 and variants in 1..={MAX_BULK_VARIANTS}"),
        });
    }
    let run = Uuid::now_v7().simple().to_string()[24..].to_owned();
    let mut tx = pool.begin().await?;
    let category = bulk_category(&mut tx, &run).await?;
    let now = Utc::now();
    let mut done = 0u32;
    while done < products {
        let batch = (products - done).min(1000);
        BulkBatch::build(&run, done..done + batch, variants, now)
            .insert(&mut tx, category)
            .await?;
        done += batch;
    }
    tx.commit().await?;
    // Fresh statistics after a bulk load, so the planner picks the listing indexes.
    sqlx::query!("ANALYZE products, variants").execute(pool).await?;
    Ok(Seeded::Catalog {
        products: u64::from(products),
        variants: u64::from(products) * u64::from(variants),
    })
}

/// The first category, or a new one when there is none.
async fn bulk_category(conn: &mut PgConnection, run: &str) -> Result<CategoryId, Error> {
    let first = sqlx::query_scalar!(r#"SELECT id AS "id: CategoryId" FROM categories ORDER BY position LIMIT 1"#)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = first {
        return Ok(id);
    }
    let id = CategoryId::generate();
    sqlx::query!(
        "INSERT INTO categories (id, slug, name) VALUES ($1, $2, '전체 상품')",
        id as CategoryId,
        format!("all-{run}"),
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Columns of one batch of bulk products and their variants, for `UNNEST` inserts.
#[derive(Default)]
struct BulkBatch {
    ids: Vec<Uuid>,
    slugs: Vec<String>,
    names: Vec<String>,
    descriptions: Vec<String>,
    created: Vec<chrono::DateTime<Utc>>,
    v_ids: Vec<Uuid>,
    v_products: Vec<Uuid>,
    skus: Vec<String>,
    v_names: Vec<String>,
    v_options: Vec<serde_json::Value>,
    prices: Vec<i64>,
    compare_at: Vec<Option<i64>>,
    positions: Vec<i32>,
}

impl BulkBatch {
    fn build(run: &str, range: std::ops::Range<u32>, variants: u32, now: chrono::DateTime<Utc>) -> BulkBatch {
        let mut b = BulkBatch::default();
        for n in range {
            let id = Uuid::now_v7();
            let (a, noun) = (ADJECTIVES[n as usize % 8], NOUNS[(n as usize / 8) % 8]);
            b.ids.push(id);
            b.slugs.push(format!("bulk-{run}-{n}"));
            b.names.push(format!("{a} {noun} {n:05}"));
            b.descriptions
                .push(format!("<p>{a} {noun}. 한 번에 단백질 {}g.</p>", 10 + n % 20));
            b.created.push(now - Duration::seconds(i64::from(n)));
            for (j, size) in SIZES.iter().take(variants as usize).enumerate() {
                let j = i32::try_from(j).unwrap_or(0);
                let price = 2900 + i64::from(n % 50) * 300 + i64::from(j) * 4000;
                b.v_ids.push(Uuid::now_v7());
                b.v_products.push(id);
                b.skus.push(format!("BULK-{run}-{n}-{j}"));
                b.v_names.push((*size).to_owned());
                b.v_options.push(serde_json::json!([{ "name": "구성", "value": size }]));
                b.prices.push(price);
                b.compare_at.push((n % 3 == 0).then_some(price + 1000));
                b.positions.push(j);
            }
        }
        b
    }

    async fn insert(&self, conn: &mut PgConnection, category: CategoryId) -> Result<(), Error> {
        sqlx::query!(
            "INSERT INTO products (id, slug, name, description, category_id, published, created_at, updated_at)
             SELECT id, slug, name, description, $5, true, created, created
               FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $6::timestamptz[])
                    AS t (id, slug, name, description, created)",
            &self.ids,
            &self.slugs,
            &self.names,
            &self.descriptions,
            category as CategoryId,
            &self.created,
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "INSERT INTO variants (id, product_id, sku, name, options, price, compare_at_price, on_hand, position)
             SELECT id, product_id, sku, name, options, price, compare_at_price, 1000, position
               FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::int8[],
                           $7::int8[], $8::int4[])
                    AS t (id, product_id, sku, name, options, price, compare_at_price, position)",
            &self.v_ids,
            &self.v_products,
            &self.skus,
            &self.v_names,
            &self.v_options,
            &self.prices,
            &self.compare_at as &[Option<i64>],
            &self.positions,
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
