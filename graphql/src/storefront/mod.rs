//! The storefront schema (`POST /graphql`): shop, catalog.

mod catalog;
mod loaders;

use async_graphql::{EmptyMutation, EmptySubscription, Schema, SchemaBuilder};
use commerce::settings::ShopSettings;
use sqlx::PgPool;

pub use catalog::Query;
pub use loaders::Loaders;

/// The storefront schema type.
pub type StorefrontSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Depth limit: deep enough for category → products → variants, not for abuse.
pub const MAX_DEPTH: usize = 10;
/// Complexity limit: list fields count `first` × their selection.
pub const MAX_COMPLEXITY: usize = 5000;

fn builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema with its shared data (pool, shop settings).
pub fn schema(pool: PgPool, shop: ShopSettings) -> StorefrontSchema {
    builder().data(pool).data(shop).finish()
}

/// The schema in SDL, as committed in `graphql/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
