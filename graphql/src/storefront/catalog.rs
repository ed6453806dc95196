//! Storefront catalog: `products`, `product`, `categories`, `category`.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset, Utc};
use commerce::{
    SHOP_TZ,
    catalog::{self, Include, ProductFilter, ProductKey, ProductSort, SortField},
    db::Reuse,
    ids::{CategoryId, ProductId},
};
use sqlx::PgPool;

use super::{StaffView, loaders::Loaders, media::Media, variant::Variant};
use crate::{
    error::{GqlResult, lang, to_gql},
    flat::{self, Flat, FlatList, FlatObject, Plan, Writer},
    shared::Won,
};

/// The storefront's catalog queries.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Published products, a page at a time (keyset pagination; `first` at most 100).
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<ProductFilterInput>,
        sort: Option<ProductSortInput>,
    ) -> Result<Flat<ProductConnection>> {
        ProductConnection::load(ctx, filter.map(Into::into).unwrap_or_default(), sort, first, after)
            .await
            .map(Flat)
    }

    /// One published product by `slug` or by `id`: give exactly one (both or neither is
    /// `INVALID_INPUT`). Null, with a `NOT_FOUND` error, when there is none.
    async fn product(&self, ctx: &Context<'_>, slug: Option<String>, id: Option<ID>) -> Result<Option<Flat<Product>>> {
        let key = ProductKey::parse(slug, id.as_ref().map(|i| i.as_str())).gql(ctx)?;
        let mut conn = ctx.data::<Arc<Reuse>>()?.acquire().await.gql(ctx)?;
        let found = catalog::product(&mut conn, &key).await.gql(ctx)?;
        conn.finish();
        match found {
            Some(view) => Ok(Some(Flat(Product::new(view)))),
            None => Err(to_gql(&commerce::Error::NotFound { what: "product" }, lang(ctx))),
        }
    }

    /// Every category, parents before children.
    async fn categories(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        let mut conn = ctx.data::<PgPool>()?.acquire().await.gql(ctx)?;
        let rows = catalog::categories(&mut conn).await.gql(ctx)?;
        Ok(rows.into_iter().map(Category).collect())
    }

    /// One category by slug, with its products. Null, with a `NOT_FOUND` error, when there is none.
    async fn category(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Category>> {
        let mut conn = ctx.data::<PgPool>()?.acquire().await.gql(ctx)?;
        match catalog::category_by_slug(&mut conn, &slug).await.gql(ctx)? {
            Some(c) => Ok(Some(Category(c))),
            None => Err(to_gql(&commerce::Error::NotFound { what: "category" }, lang(ctx))),
        }
    }
}

/// Complexity of a page: `first` (clamped, so an oversized `first` gets its own clear
/// error from the resolver) × what each item selects.
#[allow(clippy::unnecessary_wraps, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn page_complexity(first: Option<i64>, child: usize) -> usize {
    let n = first
        .unwrap_or(i64::from(commerce::pagination::DEFAULT_PAGE))
        .clamp(1, i64::from(commerce::pagination::MAX_PAGE)) as usize;
    n.saturating_mul(child).saturating_add(1)
}

/// Which products to list.
#[derive(InputObject, Default)]
pub struct ProductFilterInput {
    /// Only this category and its subcategories.
    category_slug: Option<String>,
    /// Substring search over name and description; every word must appear (`단백질`).
    search: Option<String>,
    /// `true`: only products with a variant in stock; `false`: only sold-out ones.
    in_stock: Option<bool>,
}

impl From<ProductFilterInput> for ProductFilter {
    fn from(f: ProductFilterInput) -> Self {
        ProductFilter {
            category_slug: f.category_slug,
            search: f.search,
            in_stock: f.in_stock,
        }
    }
}

/// What to sort products by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProductSortField {
    /// Creation time (default direction: newest first).
    Newest,
    /// Lowest variant price (default: cheapest first).
    Price,
    /// Name (default: 가나다 order).
    Name,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A product listing order.
#[derive(InputObject)]
pub struct ProductSortInput {
    /// What to sort by.
    field: ProductSortField,
    /// Which way; the field's natural direction when absent.
    direction: Option<SortDirection>,
}

impl From<ProductSortInput> for ProductSort {
    fn from(s: ProductSortInput) -> Self {
        let field = match s.field {
            ProductSortField::Newest => SortField::Newest,
            ProductSortField::Price => SortField::Price,
            ProductSortField::Name => SortField::Name,
        };
        let natural = ProductSort::natural(field);
        match s.direction {
            None => natural,
            Some(SortDirection::Asc) => ProductSort {
                field,
                direction: catalog::Direction::Asc,
            },
            Some(SortDirection::Desc) => ProductSort {
                field,
                direction: catalog::Direction::Desc,
            },
        }
    }
}

/// Relay page information (forward pagination).
#[derive(SimpleObject)]
pub struct PageInfo {
    /// More items follow `endCursor`.
    has_next_page: bool,
    /// Always false: pages go forward only.
    has_previous_page: bool,
    /// Cursor of the first item.
    start_cursor: Option<String>,
    /// Cursor of the last item: pass it as `after`.
    end_cursor: Option<String>,
}

/// A page of products.
pub struct ProductConnection {
    edges: Vec<ProductEdge>,
    has_next: bool,
    /// Counted with the page when the selection asked for it.
    total: Option<i64>,
    filter: ProductFilter,
}

impl FlatObject for PageInfo {
    type Data = PageInfo;

    fn data(&self) -> &PageInfo {
        self
    }

    fn writer(field: &Context<'_>) -> Option<Writer<PageInfo>> {
        match field.item.node.name.node.as_str() {
            "hasNextPage" => flat::scalar(|p: &PageInfo| p.has_next_page),
            "hasPreviousPage" => flat::scalar(|p: &PageInfo| p.has_previous_page),
            "startCursor" => flat::opt_text(|p: &PageInfo| p.start_cursor.as_deref()),
            "endCursor" => flat::opt_text(|p: &PageInfo| p.end_cursor.as_deref()),
            _ => None,
        }
    }
}

impl PageInfo {
    /// A forward page.
    pub fn forward(has_next_page: bool, start_cursor: Option<String>, end_cursor: Option<String>) -> PageInfo {
        PageInfo {
            has_next_page,
            has_previous_page: false,
            start_cursor,
            end_cursor,
        }
    }
}

impl ProductConnection {
    async fn load(
        ctx: &Context<'_>,
        filter: ProductFilter,
        sort: Option<ProductSortInput>,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<ProductConnection> {
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let sort = sort.map(Into::into).unwrap_or_default();
        // The page's statements run to their end or the request fails: the connection is
        // kept for the next read only then.
        let mut conn = ctx.data::<Arc<Reuse>>()?.acquire().await.gql(ctx)?;
        // What the selection needs comes with the page, so a page costs the same few
        // statements whatever its size: variants and the count in the page's statement,
        // categories in one more when asked for.
        let look = ctx.look_ahead();
        let nodes = [look.field("edges").field("node"), look.field("nodes")];
        let wants = |field: &str| nodes.iter().any(|n| n.field(field).exists());
        let include = Include {
            variants: ["variants", "inStock", "options", "variantBySelectedOptions"]
                .into_iter()
                .any(wants),
            total: look.field("totalCount").exists(),
        };
        let page = catalog::list_products(&mut conn, &filter, sort, first, after.as_deref(), include)
            .await
            .gql(ctx)?;
        let categories: Option<HashMap<CategoryId, catalog::Category>> = if wants("category") && !page.items.is_empty()
        {
            let mut wanted: Vec<CategoryId> = page.items.iter().filter_map(|(v, _)| v.product.category_id).collect();
            wanted.sort_unstable();
            wanted.dedup();
            let rows = catalog::categories_by_ids(&mut conn, &wanted).await.gql(ctx)?;
            Some(rows.into_iter().map(|c| (c.id, c)).collect())
        } else {
            None
        };
        conn.finish();
        let edges = page
            .items
            .into_iter()
            .map(|(view, cursor)| {
                let category = match &categories {
                    Some(c) => Prefetched::Yes(view.product.category_id.and_then(|id| c.get(&id).cloned())),
                    None => Prefetched::No,
                };
                let mut node = Product::new(view);
                node.category = category;
                ProductEdge { cursor, node }
            })
            .collect();
        Ok(ProductConnection {
            edges,
            has_next: page.has_next,
            total: page.total,
            filter,
        })
    }

    fn page_info(&self) -> PageInfo {
        PageInfo::forward(
            self.has_next,
            self.edges.first().map(|e| e.cursor.clone()),
            self.edges.last().map(|e| e.cursor.clone()),
        )
    }
}

/// A listing page with a selection of fields at hand (not `category`, `options`, …) is
/// written as JSON text in one go (see [`flat`]): per-field futures were most of the
/// listing's own cost. The values are the resolvers'; the tests compare the two paths.
impl FlatObject for ProductConnection {
    type Data = ProductConnection;

    fn data(&self) -> &ProductConnection {
        self
    }

    fn writer(field: &Context<'_>) -> Option<Writer<ProductConnection>> {
        match field.item.node.name.node.as_str() {
            // Counted with the page when selected, so at hand but for a selection the
            // look-ahead missed.
            "totalCount" => Some(Box::new(|c: &ProductConnection, out: &mut Vec<u8>| {
                flat::write_scalar(out, &c.total?);
                Some(())
            })),
            "edges" => flat::list(Plan::nested::<ProductEdge>(field)?, |c: &ProductConnection| {
                Some(c.edges.as_slice())
            }),
            "nodes" => {
                let plan = Plan::nested::<Product>(field)?;
                Some(Box::new(move |c: &ProductConnection, out: &mut Vec<u8>| {
                    plan.write_list(c.edges.iter().map(|e| &e.node), out)
                }))
            }
            "pageInfo" => {
                let plan = Plan::nested::<PageInfo>(field)?;
                Some(Box::new(move |c: &ProductConnection, out: &mut Vec<u8>| {
                    plan.write(&c.page_info(), out)
                }))
            }
            _ => None,
        }
    }
}

#[Object]
impl ProductConnection {
    /// The products with their cursors.
    async fn edges(&self) -> &[ProductEdge] {
        &self.edges
    }

    /// The products alone.
    async fn nodes(&self) -> Vec<&Product> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page is.
    #[graphql(name = "pageInfo")]
    async fn page_info_field(&self) -> PageInfo {
        self.page_info()
    }

    /// How many products match the filter, over all pages (one extra statement, only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        if let Some(total) = self.total {
            return Ok(total);
        }
        let mut conn = ctx.data::<PgPool>()?.acquire().await.gql(ctx)?;
        catalog::count_products(&mut conn, &self.filter).await.gql(ctx)
    }
}

/// A product and its cursor.
#[derive(SimpleObject)]
pub struct ProductEdge {
    /// Pass as `after` to continue after this product.
    cursor: String,
    /// The product.
    node: Product,
}

impl FlatObject for ProductEdge {
    type Data = ProductEdge;

    fn data(&self) -> &ProductEdge {
        self
    }

    fn writer(field: &Context<'_>) -> Option<Writer<ProductEdge>> {
        match field.item.node.name.node.as_str() {
            "cursor" => flat::text(|e: &ProductEdge| &e.cursor),
            "node" => flat::object(Plan::nested::<Product>(field)?, |e: &ProductEdge| Some(Some(&e.node))),
            _ => None,
        }
    }
}

/// A product.
pub struct Product {
    /// Shared with its variants (`Variant.product`, `Variant.image` need no look-up).
    p: Arc<catalog::Product>,
    /// Variants prefetched with the page, if any; else the loader fetches them.
    variants: Option<Arc<Vec<catalog::Variant>>>,
    /// The category prefetched with the page; else the loader fetches it.
    category: Prefetched<Option<catalog::Category>>,
}

impl Product {
    pub(crate) fn new(view: catalog::ProductView) -> Product {
        Product {
            p: Arc::new(view.product),
            variants: view.variants.map(Arc::new),
            category: Prefetched::No,
        }
    }

    async fn variant_list(&self, ctx: &Context<'_>) -> Result<Arc<Vec<catalog::Variant>>> {
        if let Some(v) = &self.variants {
            return Ok(v.clone());
        }
        // Boxed, as every look-up below: async-graphql builds one future per field of every
        // object, as large as the largest field's, so a look-up's state kept inline would be
        // copied into each of a listing's few hundred field futures.
        Box::pin(async {
            let loaders = ctx.data::<Loaders>()?;
            let found = loaders
                .variants
                .load_one(self.p.id)
                .await
                .map_err(|e| to_gql(&e, lang(ctx)))?;
            Ok(Arc::new(found.unwrap_or_default()))
        })
        .await
    }
}

/// The product `id` as this request may show it, batched with the other look-ups of the
/// request: null when it was deleted, or when it is unpublished and the request is a
/// storefront one (staff, on the admin API, see drafts too).
pub(crate) async fn product_by_id(ctx: &Context<'_>, id: ProductId) -> Result<Option<Product>> {
    let p = ctx
        .data::<Loaders>()?
        .product
        .load_one(id)
        .await
        .map_err(|e| to_gql(&e, lang(ctx)))?;
    Ok(visible(ctx, p.map(Arc::new)))
}

/// The category `id` through the request's loader batched with the other look-ups of
/// the request (a product's category, a category's parent).
async fn category_by_id(ctx: &Context<'_>, id: CategoryId) -> Result<Option<Category>> {
    let c = ctx
        .data::<Loaders>()?
        .categories
        .load_one(id)
        .await
        .map_err(|e| to_gql(&e, lang(ctx)))?;
    Ok(c.map(Category))
}

/// The products `ids` (drafts too, deleted ones missing) in one batch; see
/// [`variants_for_lines`]. Which ones a storefront may show is for the resolver: see
/// [`visible`].
pub(crate) async fn products_for_lines(
    ctx: &Context<'_>,
    ids: impl IntoIterator<Item = ProductId>,
) -> Result<HashMap<ProductId, Arc<catalog::Product>>> {
    Ok(ctx
        .data::<Loaders>()?
        .product
        .load_many(ids)
        .await
        .map_err(|e| to_gql(&e, lang(ctx)))?
        .into_iter()
        .map(|(id, p)| (id, Arc::new(p)))
        .collect())
}

/// The product as this request may show it: null when unpublished on the storefront.
pub(crate) fn visible(ctx: &Context<'_>, p: Option<Arc<catalog::Product>>) -> Option<Product> {
    let staff = ctx.data_opt::<StaffView>().is_some();
    p.filter(|p| p.published || staff).map(|p| Product {
        p,
        variants: None,
        category: Prefetched::No,
    })
}

/// A value loaded with the page, or not (then a loader fetches it).
#[derive(Clone)]
pub(crate) enum Prefetched<T> {
    /// Not loaded with its parent.
    No,
    /// Loaded with its parent.
    Yes(T),
}

pub(crate) fn seoul(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&SHOP_TZ).fixed_offset()
}

impl FlatObject for Product {
    type Data = Product;

    fn data(&self) -> &Product {
        self
    }

    fn writer(field: &Context<'_>) -> Option<Writer<Product>> {
        match field.item.node.name.node.as_str() {
            "id" => flat::quoted(|p: &Product| p.p.id),
            "slug" => flat::text(|p: &Product| &p.p.slug),
            "name" => flat::text(|p: &Product| &p.p.name),
            "description" => flat::text(|p: &Product| &p.p.description),
            "published" => flat::scalar(|p: &Product| p.p.published),
            "taxFree" => flat::scalar(|p: &Product| p.p.tax_free),
            "priceFrom" => flat::scalar(|p: &Product| p.p.price_min),
            "images" => flat::list(Plan::nested::<Media>(field)?, |p: &Product| Some(p.p.images.as_slice())),
            // The variants are at hand when the page or the product page loaded them.
            "variants" => flat::list(Plan::nested::<Variant>(field)?, |p: &Product| {
                p.variants.as_deref().map(Vec::as_slice)
            }),
            "inStock" => Some(Box::new(|p: &Product, out: &mut Vec<u8>| {
                let any = p.variants.as_ref()?.iter().any(|v| v.quantity_available() > 0);
                flat::write_scalar(out, &any);
                Some(())
            })),
            "createdAt" => flat::scalar(|p: &Product| seoul(p.p.created_at).to_rfc3339()),
            "updatedAt" => flat::scalar(|p: &Product| seoul(p.p.updated_at).to_rfc3339()),
            _ => None,
        }
    }
}

#[Object]
impl Product {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.p.id.to_string())
    }
    /// URL name.
    async fn slug(&self) -> &str {
        &self.p.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.p.name
    }
    /// HTML description.
    async fn description(&self) -> &str {
        &self.p.description
    }
    /// Listed in the storefront (always true there; staff see drafts too).
    async fn published(&self) -> bool {
        self.p.published
    }
    /// VAT-exempt (면세).
    async fn tax_free(&self) -> bool {
        self.p.tax_free
    }
    /// The lowest variant price, in won ("₩3,900~").
    async fn price_from(&self) -> Won {
        self.p.price_min.into()
    }
    /// Pictures in display order (`productMediaSet`).
    async fn images(&self) -> Vec<Media> {
        self.p.images.iter().cloned().map(Media).collect()
    }
    /// Its options with their values, in the product's option order (values in variant
    /// order, each once): what a product page shows as selectors.
    async fn options(&self, ctx: &Context<'_>) -> Result<Vec<ProductOption>> {
        let variants = self.variant_list(ctx).await?;
        Ok(catalog::product_options(&variants)
            .into_iter()
            .map(|o| ProductOption {
                name: o.name,
                values: o.values,
            })
            .collect())
    }
    /// The variant with exactly these option values (every option once, in any order);
    /// null when none matches, e.g. a partial selection.
    async fn variant_by_selected_options(
        &self,
        ctx: &Context<'_>,
        selected_options: Vec<SelectedOptionInput>,
    ) -> Result<Option<Variant>> {
        let selected: Vec<catalog::OptionValue> = selected_options
            .into_iter()
            .map(|o| catalog::OptionValue {
                name: o.name,
                value: o.value,
            })
            .collect();
        let variants = self.variant_list(ctx).await?;
        Ok(catalog::variant_by_options(&variants, &selected)
            .cloned()
            .map(|v| Variant::with_product(v, Some(self.p.clone()))))
    }
    /// Its category.
    async fn category(&self, ctx: &Context<'_>) -> Result<Option<Category>> {
        if let Prefetched::Yes(prefetched) = &self.category {
            return Ok(prefetched.clone().map(Category));
        }
        let Some(id) = self.p.category_id else {
            return Ok(None);
        };
        Box::pin(category_by_id(ctx, id)).await
    }
    /// What can be bought: one variant per option combination.
    async fn variants(&self, ctx: &Context<'_>) -> Result<FlatList<Variant>> {
        Ok(FlatList(
            self.variant_list(ctx)
                .await?
                .iter()
                .cloned()
                .map(|v| Variant::with_product(v, Some(self.p.clone())))
                .collect(),
        ))
    }
    /// Some variant can be bought now.
    async fn in_stock(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.variant_list(ctx).await?.iter().any(|v| v.quantity_available() > 0))
    }
    /// When it was created (Seoul time).
    async fn created_at(&self) -> DateTime<FixedOffset> {
        seoul(self.p.created_at)
    }
    /// When it last changed (Seoul time).
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        seoul(self.p.updated_at)
    }
}

/// One option of a product with its values, e.g. 맛: 초코, 바닐라.
#[derive(SimpleObject)]
pub struct ProductOption {
    /// The option, e.g. `맛`.
    name: String,
    /// Its values, e.g. `["초코", "바닐라"]`, in variant order.
    values: Vec<String>,
}

/// One option value to select, e.g. 맛 = 초코.
#[derive(InputObject)]
pub struct SelectedOptionInput {
    /// The option, e.g. `맛`.
    name: String,
    /// The value, e.g. `초코`.
    value: String,
}

/// A category; categories form a tree.
pub struct Category(pub(crate) catalog::Category);

#[Object]
impl Category {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// URL name.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// One line about it.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Order among its siblings.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The parent category, null at the top.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Category>> {
        let Some(id) = self.0.parent_id else {
            return Ok(None);
        };
        category_by_id(ctx, id).await
    }
    /// Subcategories in order.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        let id: CategoryId = self.0.id;
        let c = ctx
            .data::<Loaders>()?
            .children
            .load_one(id)
            .await
            .map_err(|e| to_gql(&e, lang(ctx)))?;
        Ok(c.unwrap_or_default().into_iter().map(Category).collect())
    }
    /// Published products of this category and its subcategories.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        search: Option<String>,
        in_stock: Option<bool>,
        sort: Option<ProductSortInput>,
    ) -> Result<Flat<ProductConnection>> {
        let filter = ProductFilter {
            category_slug: Some(self.0.slug.clone()),
            search,
            in_stock,
        };
        ProductConnection::load(ctx, filter, sort, first, after).await.map(Flat)
    }
}
