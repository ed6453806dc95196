//! Seeding: the demo shop (`serve --demo`, `seed --demo`) and bulk catalogs for benchmarks.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    Error,
    catalog::OptionValue,
    ids::{CategoryId, ImageId, ProductId, VariantId},
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
    let mut category_ids: HashMap<&str, CategoryId> = HashMap::new();
    // Parents first: a category's parent must exist before it.
    let mut pending: Vec<&DemoCategory> = shop.categories.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for c in pending {
            let parent = match &c.parent {
                None => None,
                Some(p) => match category_ids.get(p.as_str()) {
                    Some(id) => Some(*id),
                    None => {
                        rest.push(c);
                        continue;
                    }
                },
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
            .execute(&mut *tx)
            .await?;
            category_ids.insert(&c.slug, id);
        }
        if rest.len() == before {
            return Err(Error::Invalid {
                field: "demo/shop.json",
                reason: "category parent missing".into(),
            });
        }
        pending = rest;
    }

    let now = Utc::now();
    let total = shop.products.len();
    let mut variants = 0;
    for (i, p) in shop.products.iter().enumerate() {
        let id = ProductId::generate();
        // Spread creation times so "newest" has a visible order: the file's first is newest.
        let created = now - Duration::minutes(i64::try_from(i).unwrap_or(0) * 90);
        let category = category_ids.get(p.category.as_str()).copied();
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
        .execute(&mut *tx)
        .await?;
        for (pos, img) in p.images.iter().enumerate() {
            sqlx::query!(
                "INSERT INTO product_images (id, product_id, url, alt, position) VALUES ($1, $2, $3, $4, $5)",
                ImageId::generate() as ImageId,
                id as ProductId,
                img.url,
                img.alt,
                i32::try_from(pos).unwrap_or(i32::MAX),
            )
            .execute(&mut *tx)
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
            .execute(&mut *tx)
            .await?;
            variants += 1;
        }
    }
    tx.commit().await?;
    Ok(Seeded::Catalog {
        products: total as u64,
        variants,
    })
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
const SIZES: [&str; 6] = ["1개", "3개입", "6개입", "12개입", "24개입", "30개입"];

/// Inserts `products` published products with `variants` variants each (stock 1,000 each),
/// in batches of 1,000, one transaction in all. For benchmarks and load tests.
pub async fn seed_bulk(pool: &PgPool, products: u32, variants: u32) -> Result<Seeded, Error> {
    if products == 0 || !(1..=SIZES.len() as u32).contains(&variants) {
        return Err(Error::Invalid {
            field: "variants",
            reason: format!("products ≥ 1 and variants in 1..={}", SIZES.len()),
        });
    }
    let run = &Uuid::now_v7().simple().to_string()[24..];
    let mut tx = pool.begin().await?;
    let category =
        match sqlx::query_scalar!(r#"SELECT id AS "id: CategoryId" FROM categories ORDER BY position LIMIT 1"#)
            .fetch_optional(&mut *tx)
            .await?
        {
            Some(id) => id,
            None => {
                let id = CategoryId::generate();
                sqlx::query!(
                    "INSERT INTO categories (id, slug, name) VALUES ($1, $2, '전체 상품')",
                    id as CategoryId,
                    format!("all-{run}"),
                )
                .execute(&mut *tx)
                .await?;
                id
            }
        };
    let now = Utc::now();
    let mut done = 0u32;
    while done < products {
        let batch = (products - done).min(1000);
        let mut p_ids = Vec::new();
        let (mut slugs, mut names, mut descs, mut created) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut v_ids, mut v_products, mut skus, mut v_names, mut v_opts, mut prices, mut compare) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let mut positions = Vec::new();
        for n in done..done + batch {
            let id = Uuid::now_v7();
            let (a, b) = (ADJECTIVES[n as usize % 8], NOUNS[(n as usize / 8) % 8]);
            p_ids.push(id);
            slugs.push(format!("bulk-{run}-{n}"));
            names.push(format!("{a} {b} {n:05}"));
            descs.push(format!("<p>{a} {b}. 한 번에 단백질 {}g.</p>", 10 + n % 20));
            created.push(now - Duration::seconds(i64::from(n)));
            for j in 0..variants {
                let size = SIZES[j as usize];
                let price = 2900 + i64::from(n % 50) * 300 + i64::from(j) * 4000;
                v_ids.push(Uuid::now_v7());
                v_products.push(id);
                skus.push(format!("BULK-{run}-{n}-{j}"));
                v_names.push(size.to_owned());
                v_opts.push(serde_json::json!([{ "name": "구성", "value": size }]));
                prices.push(price);
                compare.push((n % 3 == 0).then_some(price + 1000));
                positions.push(i32::try_from(j).unwrap_or(0));
            }
        }
        sqlx::query!(
            "INSERT INTO products (id, slug, name, description, category_id, published, created_at, updated_at)
             SELECT id, slug, name, description, $5, true, created, created
               FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $6::timestamptz[])
                    AS t (id, slug, name, description, created)",
            &p_ids,
            &slugs,
            &names,
            &descs,
            category as CategoryId,
            &created,
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO variants (id, product_id, sku, name, options, price, compare_at_price, on_hand, position)
             SELECT id, product_id, sku, name, options, price, compare_at_price, 1000, position
               FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::int8[],
                           $7::int8[], $8::int4[])
                    AS t (id, product_id, sku, name, options, price, compare_at_price, position)",
            &v_ids,
            &v_products,
            &skus,
            &v_names,
            &v_opts,
            &prices,
            &compare as &[Option<i64>],
            &positions,
        )
        .execute(&mut *tx)
        .await?;
        done += batch;
    }
    tx.commit().await?;
    Ok(Seeded::Catalog {
        products: u64::from(products),
        variants: u64::from(products) * u64::from(variants),
    })
}
