//! DataLoaders for list-in-list fields: one `WHERE … = ANY($1)` per batch, fresh per request.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use commerce::{
    catalog::{self, Category, Product, Variant},
    ids::{CategoryId, ProductId, VariantId},
};
use sqlx::PgPool;

/// The loaders of one request.
pub struct Loaders {
    /// Variants by product.
    pub variants: DataLoader<VariantsByProduct, HashMapCache>,
    /// Categories by id.
    pub categories: DataLoader<CategoryById, HashMapCache>,
    /// Children by parent category.
    pub children: DataLoader<ChildrenByParent, HashMapCache>,
    /// Variants by id (cart and order lines); a deleted variant is absent.
    pub variant: DataLoader<VariantById, HashMapCache>,
    /// Products by id, drafts included: a storefront resolver shows only published ones
    /// (see `catalog::product_by_id`); a deleted product is absent.
    pub product: DataLoader<ProductById, HashMapCache>,
    /// Payments by order (an order list's payments in one statement).
    pub payments: DataLoader<crate::admin::loaders::PaymentsByOrder, async_graphql::dataloader::NoCache>,
}

impl Loaders {
    /// New loaders on `pool`; batches run on tokio.
    pub fn new(pool: &PgPool) -> Loaders {
        Loaders {
            // Cached for the request: the same category asked for by many products (or by a
            // batch that has already gone out) is loaded once.
            variants: DataLoader::with_cache(VariantsByProduct(pool.clone()), tokio::spawn, HashMapCache::default()),
            categories: DataLoader::with_cache(CategoryById(pool.clone()), tokio::spawn, HashMapCache::default()),
            variant: DataLoader::with_cache(VariantById(pool.clone()), tokio::spawn, HashMapCache::default()),
            children: DataLoader::with_cache(ChildrenByParent(pool.clone()), tokio::spawn, HashMapCache::default()),
            product: DataLoader::with_cache(ProductById(pool.clone()), tokio::spawn, HashMapCache::default()),
            payments: DataLoader::new(crate::admin::loaders::PaymentsByOrder(pool.clone()), tokio::spawn),
        }
    }
}

type LoadError = Arc<commerce::Error>;

/// Loads the variants of many products at once.
pub struct VariantsByProduct(PgPool);

impl Loader<ProductId> for VariantsByProduct {
    type Value = Vec<Variant>;
    type Error = LoadError;

    async fn load(&self, keys: &[ProductId]) -> Result<HashMap<ProductId, Vec<Variant>>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = catalog::variants_of(&mut conn, keys).await.map_err(Arc::new)?;
        Ok(group_variants(keys, rows))
    }
}

/// Groups variants by product, with an empty list for a product that has none.
pub fn group_variants(keys: &[ProductId], rows: Vec<Variant>) -> HashMap<ProductId, Vec<Variant>> {
    let mut out: HashMap<ProductId, Vec<Variant>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for v in rows {
        out.entry(v.product_id).or_default().push(v);
    }
    out
}

/// Loads many categories by id at once.
pub struct CategoryById(PgPool);

impl Loader<CategoryId> for CategoryById {
    type Value = Category;
    type Error = LoadError;

    async fn load(&self, keys: &[CategoryId]) -> Result<HashMap<CategoryId, Category>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = catalog::categories_by_ids(&mut conn, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// Loads the children of many categories at once.
pub struct ChildrenByParent(PgPool);

impl Loader<CategoryId> for ChildrenByParent {
    type Value = Vec<Category>;
    type Error = LoadError;

    async fn load(&self, keys: &[CategoryId]) -> Result<HashMap<CategoryId, Vec<Category>>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = catalog::children_of(&mut conn, keys).await.map_err(Arc::new)?;
        let mut out: HashMap<CategoryId, Vec<Category>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for c in rows {
            if let Some(parent) = c.parent_id {
                out.entry(parent).or_default().push(c);
            }
        }
        Ok(out)
    }
}

/// Loads many variants by id at once.
pub struct VariantById(PgPool);

impl Loader<VariantId> for VariantById {
    type Value = Variant;
    type Error = LoadError;

    async fn load(&self, keys: &[VariantId]) -> Result<HashMap<VariantId, Variant>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = catalog::variants_by_ids(&mut conn, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|v| (v.id, v)).collect())
    }
}

/// Loads many products by id at once, drafts included.
pub struct ProductById(PgPool);

impl Loader<ProductId> for ProductById {
    type Value = Product;
    type Error = LoadError;

    async fn load(&self, keys: &[ProductId]) -> Result<HashMap<ProductId, Product>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = catalog::products_by_ids(&mut conn, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}
