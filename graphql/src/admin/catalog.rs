//! Admin catalog: categories, products (drafts included) and variants.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use commerce::{Error, catalog_admin, ids::CategoryId};

use sqlx::PgPool;

use super::{
    connection::{connection, wants_total},
    context::Cx,
};
use crate::{
    error::{GqlResult, lang, to_gql},
    shared::Won,
    storefront::{
        UserError,
        catalog::{Category, Product, ProductSortInput},
        split,
    },
};

connection!(AdminProductConnection, AdminProductEdge, Product, "products");

/// Which products staff list (drafts included unless `published` says otherwise).
#[derive(InputObject, Default)]
pub struct AdminProductFilter {
    /// Every word must appear in the name, description, slug or a variant's SKU.
    search: Option<String>,
    /// Only this category and its subcategories.
    category_id: Option<ID>,
    /// `true`: only listed products; `false`: only drafts.
    published: Option<bool>,
    /// `true`: some variant has at most its `lowStockThreshold` available; `false`: none has.
    low_stock: Option<bool>,
}

impl AdminProductFilter {
    fn parse(self) -> Result<catalog_admin::AdminProductFilter, Error> {
        Ok(catalog_admin::AdminProductFilter {
            search: self.search,
            category: self.category_id.map(|c| c.parse::<CategoryId>()).transpose()?,
            published: self.published,
            low_stock: self.low_stock,
        })
    }
}

/// A category as entered.
#[derive(InputObject)]
pub struct CategoryInput {
    /// URL name.
    slug: String,
    /// Name.
    name: String,
    /// One line.
    description: Option<String>,
    /// Parent category.
    parent_id: Option<ID>,
    /// Order among siblings.
    position: Option<i32>,
}

impl CategoryInput {
    fn parse(&self) -> Result<commerce::catalog_admin::CategoryInput, Error> {
        Ok(commerce::catalog_admin::CategoryInput {
            slug: self.slug.trim().to_owned(),
            name: self.name.clone(),
            description: self.description.clone().unwrap_or_default(),
            parent: self.parent_id.as_ref().map(|p| p.parse()).transpose()?,
            position: self.position.unwrap_or(0),
        })
    }
}

/// A product image as entered.
#[derive(InputObject)]
pub struct ImageInput {
    /// Where the picture is.
    url: String,
    /// Alternative text.
    alt: Option<String>,
}

/// A product as entered.
#[derive(InputObject)]
pub struct ProductInput {
    /// URL name.
    slug: String,
    /// Name.
    name: String,
    /// HTML (sanitized on save).
    description: Option<String>,
    /// Category.
    category_id: Option<ID>,
    /// VAT-exempt (면세).
    tax_free: Option<bool>,
    /// Listed.
    published: Option<bool>,
    /// Images in order.
    images: Option<Vec<ImageInput>>,
}

impl ProductInput {
    fn parse(&self) -> Result<commerce::catalog_admin::ProductInput, Error> {
        Ok(commerce::catalog_admin::ProductInput {
            slug: self.slug.trim().to_owned(),
            name: self.name.clone(),
            description: self.description.clone().unwrap_or_default(),
            category: self.category_id.as_ref().map(|c| c.parse()).transpose()?,
            tax_free: self.tax_free.unwrap_or(false),
            published: self.published.unwrap_or(false),
            images: self
                .images
                .iter()
                .flatten()
                .map(|i| (i.url.trim().to_owned(), i.alt.clone().unwrap_or_default()))
                .collect(),
        })
    }
}

/// One option value.
#[derive(InputObject)]
pub struct OptionInput {
    /// The option, e.g. `맛`.
    name: String,
    /// The value, e.g. `초코`.
    value: String,
}

/// A variant as entered.
#[derive(InputObject)]
pub struct VariantInput {
    /// SKU, unique.
    sku: String,
    /// Display name (the option values when empty).
    name: Option<String>,
    /// Option values.
    options: Option<Vec<OptionInput>>,
    /// Price, VAT included.
    price: Won,
    /// The "was" price, above the price.
    compare_at_price: Option<Won>,
    /// At or below this many available, the variant is low on stock (`stockStatus`
    /// `LOW_STOCK`, the `lowStock` filters); ≥ 0. Absent: unchanged (5 for a new variant).
    low_stock_threshold: Option<i32>,
}

impl VariantInput {
    fn parse(&self) -> Result<commerce::catalog_admin::VariantInput, Error> {
        Ok(commerce::catalog_admin::VariantInput {
            sku: self.sku.clone(),
            name: self.name.clone().unwrap_or_default(),
            options: self
                .options
                .iter()
                .flatten()
                .map(|o| commerce::catalog::OptionValue {
                    name: o.name.clone(),
                    value: o.value.clone(),
                })
                .collect(),
            price: self.price.non_negative("price")?,
            compare_at_price: self
                .compare_at_price
                .map(|c| c.non_negative("compareAtPrice"))
                .transpose()?,
            low_stock_threshold: self.low_stock_threshold,
        })
    }
}

/// The result of a catalog change.
#[derive(SimpleObject)]
pub struct CatalogPayload {
    /// The id of what changed.
    id: Option<ID>,
    /// The product after the change (product and variant operations).
    product: Option<Product>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

pub(super) async fn catalog_payload(
    ctx: &Context<'_>,
    pool: &PgPool,
    r: Result<(String, Option<commerce::ids::ProductId>), Error>,
) -> Result<CatalogPayload> {
    let (done, user_errors) = split(ctx, r)?;
    let Some((id, product)) = done else {
        return Ok(CatalogPayload {
            id: None,
            product: None,
            user_errors,
        });
    };
    let product = match product {
        Some(p) => {
            let mut conn = pool.acquire().await.gql(ctx)?;
            commerce::catalog::product_any(&mut conn, &commerce::catalog::ProductKey::Id(p), true)
                .await
                .gql(ctx)?
                .map(Product::new)
        }
        None => None,
    };
    Ok(CatalogPayload {
        id: Some(ID(id)),
        product,
        user_errors,
    })
}

/// Admin catalog queries.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Every category, parents before children, siblings by position then name (the tree
    /// is small: no pages).
    async fn categories(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        let cx = Cx::staff(ctx).await?;
        let mut conn = cx.pool.acquire().await.gql(ctx)?;
        let rows = commerce::catalog::categories(&mut conn).await.gql(ctx)?;
        Ok(rows.into_iter().map(Category).collect())
    }

    /// One category by id. Null, with a `NOT_FOUND` error, when there is none.
    async fn category(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Category>> {
        let cx = Cx::staff(ctx).await?;
        let id = id.parse::<CategoryId>().gql(ctx)?;
        let mut conn = cx.pool.acquire().await.gql(ctx)?;
        let found = commerce::catalog::categories_by_ids(&mut conn, &[id]).await.gql(ctx)?;
        match found.into_iter().next() {
            Some(c) => Ok(Some(Category(c))),
            None => Err(to_gql(&Error::NotFound { what: "category" }, lang(ctx))),
        }
    }

    /// Products, drafts included, a page at a time (keyset pagination in `sort` order;
    /// newest first by default).
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<AdminProductFilter>,
        sort: Option<ProductSortInput>,
    ) -> Result<AdminProductConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let filter = filter.unwrap_or_default().parse().gql(ctx)?;
        let sort = sort.map(Into::into).unwrap_or_default();
        let page = catalog_admin::products(
            cx.pool,
            cx.principal,
            &filter,
            sort,
            first,
            after.as_deref(),
            wants_total(ctx),
        )
        .await
        .gql(ctx)?;
        Ok(AdminProductConnection::from_page(page, Product::new))
    }

    /// A product by id or slug, drafts included.
    async fn product(&self, ctx: &Context<'_>, id: Option<ID>, slug: Option<String>) -> Result<Option<Product>> {
        let cx = Cx::staff(ctx).await?;
        let key = match (id, slug) {
            (Some(id), None) => commerce::catalog::ProductKey::Id(id.parse::<commerce::ids::ProductId>().gql(ctx)?),
            (None, Some(slug)) => commerce::catalog::ProductKey::Slug(slug),
            _ => {
                let e = Error::Invalid {
                    field: "id",
                    reason: "give exactly one of id and slug".into(),
                };
                return Err(to_gql(&e, lang(ctx)));
            }
        };
        let mut conn = cx.pool.acquire().await.gql(ctx)?;
        let p = commerce::catalog::product_any(&mut conn, &key, true).await.gql(ctx)?;
        Ok(p.map(Product::new))
    }
}

/// Admin catalog mutations.
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a category.
    async fn category_create(&self, ctx: &Context<'_>, input: CategoryInput) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id =
                commerce::catalog_admin::save_category(cx.pool, cx.principal, None, &input.parse()?, cx.ip).await?;
            Ok((id.to_string(), None))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Replaces a category.
    async fn category_update(&self, ctx: &Context<'_>, id: ID, input: CategoryInput) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id = commerce::catalog_admin::save_category(
                cx.pool,
                cx.principal,
                Some(id.parse()?),
                &input.parse()?,
                cx.ip,
            )
            .await?;
            Ok((id.to_string(), None))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Deletes a category without subcategories.
    async fn category_delete(&self, ctx: &Context<'_>, id: ID) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            commerce::catalog_admin::delete_category(cx.pool, cx.principal, id.parse()?, cx.ip).await?;
            Ok((id.to_string(), None))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Creates a product (add variants with `variantCreate`).
    async fn product_create(&self, ctx: &Context<'_>, input: ProductInput) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id = commerce::catalog_admin::save_product(cx.pool, cx.principal, None, &input.parse()?, cx.ip).await?;
            Ok((id.to_string(), Some(id)))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Replaces a product's fields and images.
    async fn product_update(&self, ctx: &Context<'_>, id: ID, input: ProductInput) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id =
                commerce::catalog_admin::save_product(cx.pool, cx.principal, Some(id.parse()?), &input.parse()?, cx.ip)
                    .await?;
            Ok((id.to_string(), Some(id)))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Publishes or unpublishes a product.
    async fn product_publish(&self, ctx: &Context<'_>, id: ID, published: bool) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let pid = id.parse()?;
            commerce::catalog_admin::set_published(cx.pool, cx.principal, pid, published, cx.ip).await?;
            Ok((id.to_string(), Some(pid)))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Deletes a product (past orders keep their snapshots).
    async fn product_delete(&self, ctx: &Context<'_>, id: ID) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            commerce::catalog_admin::delete_product(cx.pool, cx.principal, id.parse()?, cx.ip).await?;
            Ok((id.to_string(), None))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Deletes a variant no placed order holds stock of.
    async fn variant_delete(&self, ctx: &Context<'_>, id: ID) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let product = commerce::catalog_admin::delete_variant(cx.pool, cx.principal, id.parse()?, cx.ip).await?;
            Ok((id.to_string(), Some(product)))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Adds a variant with its opening stock.
    async fn variant_create(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        input: VariantInput,
        on_hand: Option<i32>,
    ) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let pid = product_id.parse()?;
            let v = commerce::catalog_admin::create_variant(
                cx.pool,
                cx.principal,
                pid,
                &input.parse()?,
                on_hand.unwrap_or(0),
                cx.ip,
            )
            .await?;
            Ok((v.to_string(), Some(pid)))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Replaces a variant's SKU, name, options and prices (stock: `stockAdjust`).
    async fn variant_update(&self, ctx: &Context<'_>, id: ID, input: VariantInput) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let vid: commerce::ids::VariantId = id.parse()?;
            commerce::catalog_admin::update_variant(cx.pool, cx.principal, vid, &input.parse()?, cx.ip).await?;
            Ok((id.to_string(), None))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }
}
