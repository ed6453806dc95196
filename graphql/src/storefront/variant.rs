//! `Variant`: one SKU of a product with its price and stock, the same type in listings,
//! carts, orders and on the staff API; and the batched look-ups of variants by id.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ContextBase, Enum, ID, Object, Result, SimpleObject, resolver_utils::enum_value};
use commerce::{catalog, ids::VariantId};
use sqlx::PgPool;

use super::{
    StaffView,
    catalog::{Prefetched, Product, products_for_lines, visible},
    loaders::Loaders,
    media::Media,
};
use crate::{
    error::{GqlResult, lang, to_gql},
    flat::{self, FlatObject, Writer},
    shared::Won,
};

/// What a storefront shows about a variant's stock.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "commerce::catalog::StockStatus")]
pub enum StockStatus {
    /// More units available than the variant's low-stock threshold.
    InStock,
    /// A few left: 1 to the variant's low-stock threshold (품절 임박).
    LowStock,
    /// None available (품절).
    SoldOut,
}

/// Whether this request may see exact stock: staff always, storefronts when
/// `storefront.show_exact_stock` is on (or in demo mode).
pub(crate) fn shows_exact_stock<T>(ctx: &ContextBase<'_, T>) -> bool {
    ctx.data_opt::<StaffView>().is_some()
        || ctx
            .data_opt::<Arc<commerce::Settings>>()
            .is_some_and(|s| s.shows_exact_stock())
}

/// One option value, e.g. 맛 = 초코.
#[derive(SimpleObject)]
pub struct SelectedOption {
    /// The option, e.g. `맛`.
    name: String,
    /// The value, e.g. `초코`.
    value: String,
}

/// A variant: one SKU with its price and stock.
#[derive(Clone)]
pub struct Variant(
    pub(crate) catalog::Variant,
    /// Its product (drafts too) when the parent had it at hand; else the loader fetches it.
    Prefetched<Option<Arc<catalog::Product>>>,
);

impl Variant {
    /// A variant whose product a loader fetches when asked for.
    pub(crate) fn new(v: catalog::Variant) -> Variant {
        Variant(v, Prefetched::No)
    }

    /// A variant with its product already loaded (`None`: deleted), so `product` and
    /// `image` cost nothing more. Which products a storefront may show is still checked.
    pub(crate) fn with_product(v: catalog::Variant, product: Option<Arc<catalog::Product>>) -> Variant {
        Variant(v, Prefetched::Yes(product))
    }

    /// Its product, drafts included: prefetched, or through the batched loader.
    async fn any_product(&self, ctx: &Context<'_>) -> Result<Option<Arc<catalog::Product>>> {
        if let Prefetched::Yes(p) = &self.1 {
            return Ok(p.clone());
        }
        Box::pin(async {
            let p = ctx
                .data::<Loaders>()?
                .product
                .load_one(self.0.product_id)
                .await
                .map_err(|e| to_gql(&e, lang(ctx)))?;
            Ok(p.map(Arc::new))
        })
        .await
    }
}

/// A listing's variants with a plain selection (`variants { id price quantityAvailable }`)
/// are written as JSON text: resolving each field of each variant as its own future was
/// the largest part of the listing's GraphQL work. The values are the resolvers' below;
/// the tests compare the two paths.
impl FlatObject for Variant {
    type Data = catalog::Variant;

    fn data(&self) -> &catalog::Variant {
        &self.0
    }

    fn writer(field: &Context<'_>) -> Option<Writer<catalog::Variant>> {
        type V = catalog::Variant;
        match field.item.node.name.node.as_str() {
            "id" => flat::quoted(|v: &V| v.id),
            "sku" => flat::text(|v: &V| &v.sku),
            "name" => flat::text(|v: &V| &v.name),
            "price" => flat::scalar(|v: &V| v.price),
            "compareAtPrice" => flat::scalar(|v: &V| v.compare_at_price),
            "inStock" => flat::scalar(|v: &V| v.quantity_available() > 0),
            "stockStatus" => flat::scalar(|v: &V| enum_value(StockStatus::from(v.stock_status()))),
            "quantityAvailable" => {
                let exact = shows_exact_stock(field);
                flat::scalar(move |v: &V| exact.then(|| v.quantity_available()))
            }
            _ => None,
        }
    }
}

#[Object]
impl Variant {
    /// Opaque id (use it in cart lines).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Stock keeping unit.
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    /// Display name, e.g. `초코 / 500ml`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Option values in the product's option order.
    async fn options(&self) -> Vec<SelectedOption> {
        self.0
            .options
            .iter()
            .map(|o| SelectedOption {
                name: o.name.clone(),
                value: o.value.clone(),
            })
            .collect()
    }
    /// Price in won, VAT included.
    async fn price(&self) -> Won {
        self.0.price.into()
    }
    /// The "was" price to show struck through, in won.
    async fn compare_at_price(&self) -> Option<Won> {
        self.0.compare_at_price.map(Won::from)
    }
    /// Can be bought now.
    async fn in_stock(&self) -> bool {
        self.0.quantity_available() > 0
    }
    /// In stock, a few left (from the variant's low-stock threshold), or sold out.
    async fn stock_status(&self) -> StockStatus {
        self.0.stock_status().into()
    }
    /// Units that can still be bought: always for staff; on the storefront only when the
    /// shop shows exact stock (`storefront.show_exact_stock`), else null.
    async fn quantity_available(&self, ctx: &Context<'_>) -> Option<i32> {
        shows_exact_stock(ctx).then(|| self.0.quantity_available())
    }
    /// Its product; null when it was deleted, or unpublished (storefront). Batched.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        Ok(visible(ctx, self.any_product(ctx).await?))
    }
    /// The picture to show beside it (cart and order lines): its own (`variantMediaSet`),
    /// else its product's first; null when there is none. Batched.
    async fn image(&self, ctx: &Context<'_>) -> Result<Option<Media>> {
        let product = self.any_product(ctx).await?;
        let Some(own) = self.0.media_id else {
            return Ok(product.and_then(|p| p.images.first().cloned()).map(Media));
        };
        // Usually one of its product's pictures, already at hand; else one look-up.
        if let Some(m) = product.as_ref().and_then(|p| p.images.iter().find(|m| m.id == own)) {
            return Ok(Some(Media(m.clone())));
        }
        Box::pin(async move {
            let mut conn = ctx.data::<PgPool>()?.acquire().await.gql(ctx)?;
            let found = commerce::media::by_ids(&mut conn, &[own]).await.gql(ctx)?;
            Ok(found.into_iter().next().map(Media))
        })
        .await
    }
}

/// The variant `id`, batched with the other look-ups of the request; null when it was
/// deleted. A variant of an unpublished product still shows (a cart line warns about it).
pub(crate) async fn variant_by_id(ctx: &Context<'_>, id: VariantId) -> Result<Option<Variant>> {
    let v = ctx
        .data::<Loaders>()?
        .variant
        .load_one(id)
        .await
        .map_err(|e| to_gql(&e, lang(ctx)))?;
    Ok(v.map(Variant::new))
}

/// The variants `ids` for a list of lines (cart, order), deleted ones missing, each with its
/// product when `with_products` (for `Variant.product` and `Variant.image`): one batch per
/// loader, so any number of lines costs the same two statements. (Per-line `load_one`s are
/// batched too, but a long list may straddle a batch's 1 ms window.)
pub(crate) async fn variants_for_lines(
    ctx: &Context<'_>,
    ids: impl IntoIterator<Item = VariantId>,
    with_products: bool,
) -> Result<HashMap<VariantId, Variant>> {
    let loaders = ctx.data::<Loaders>()?;
    let variants = loaders
        .variant
        .load_many(ids)
        .await
        .map_err(|e| to_gql(&e, lang(ctx)))?;
    if !with_products {
        return Ok(variants.into_iter().map(|(id, v)| (id, Variant::new(v))).collect());
    }
    let products = products_for_lines(ctx, variants.values().map(|v| v.product_id)).await?;
    Ok(variants
        .into_iter()
        .map(|(id, v)| {
            let p = products.get(&v.product_id).cloned();
            (id, Variant::with_product(v, p))
        })
        .collect())
}
