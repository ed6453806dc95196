//! The storefront schema (`POST /graphql`): shop, catalog, carts, customers, checkout, orders.

mod cart;
pub(crate) mod catalog;
mod checkout;
mod customer;
pub(crate) mod inquiries;
mod loaders;
pub(crate) mod media;
pub(crate) mod orders;
pub(crate) mod pages;
mod payload;
mod payments;
mod session;
mod shop;
pub(crate) mod variant;

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};
use commerce::Settings;
use sqlx::PgPool;

use crate::limits;

pub use loaders::Loaders;
pub use orders::StaffView;
pub use payload::{ErrorCode, UserError, split, user_error};
pub use session::Caller;

/// Storefront queries.
#[derive(MergedObject, Default)]
pub struct Query(
    shop::ShopQuery,
    catalog::CatalogQuery,
    cart::CartQuery,
    customer::CustomerQuery,
    orders::OrderQuery,
    pages::PageQuery,
);

/// Storefront mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(
    cart::CartMutation,
    customer::CustomerMutation,
    inquiries::InquiryMutation,
    checkout::CheckoutMutation,
    payments::PaymentMutation,
    orders::OrderMutation,
);

/// The storefront schema type.
pub type StorefrontSchema = Schema<Query, Mutation, EmptySubscription>;

/// Depth limit: deep enough for category → products → variants, not for abuse.
pub const MAX_DEPTH: usize = 10;

/// Complexity limit: list fields count `first` × their selection, and each root field
/// [`limits::ROOT_FIELD_COST`] more (most run statements of their own).
pub const MAX_COMPLEXITY: usize = 5000;

// The complexity limit is set by `limits::Schemas::build`.
fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).limit_depth(MAX_DEPTH)
}

/// The schemas with their shared data (pool, settings): one for requests with one root
/// field, one for requests with several (`limits.rs`).
pub fn schema(
    pool: PgPool,
    reuse: Arc<commerce::db::Reuse>,
    settings: Arc<Settings>,
    gateways: Arc<commerce::payment::Gateways>,
) -> limits::Schemas<StorefrontSchema> {
    let with_data = move |b: SchemaBuilder<Query, Mutation, EmptySubscription>| {
        b.data(pool.clone())
            .data(reuse.clone())
            .data(settings.shop.clone())
            .data(settings.clone())
            .data(gateways.clone())
    };
    limits::Schemas::build(MAX_COMPLEXITY, || with_data(builder()))
}

/// The schema in SDL, as committed in `graphql/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
