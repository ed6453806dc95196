//! The admin schema (`POST /admin/graphql`): staff login with TOTP, then the shop's
//! back office, one file per area. Everything but the login steps needs a staff session
//! with TOTP active ([`context::Cx::staff`]).

use std::sync::Arc;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};
use chrono::{DateTime, FixedOffset, Utc};
use commerce::Settings;
use sqlx::PgPool;

mod audit;
mod bot;
mod catalog;
mod charts;
mod cms;
mod connection;
pub mod context;
mod customers;
mod inquiries;
mod jobs;
pub(crate) mod loaders;
mod login;
mod media;
mod order;
mod orders;
mod promotions;
mod reports;
mod shipping;
mod staff;
mod stock;

pub use login::{StaffMember, StaffRole};

/// Admin queries.
// The order of the parts is the order of the fields in the SDL.
#[derive(MergedObject, Default)]
pub struct Query(
    login::LoginQuery,
    orders::OrdersQuery,
    catalog::CatalogQuery,
    media::MediaQuery,
    stock::StockQuery,
    customers::CustomersQuery,
    inquiries::InquiriesQuery,
    cms::CmsQuery,
    promotions::PromotionsQuery,
    shipping::ShippingQuery,
    audit::AuditQuery,
    staff::StaffQuery,
    reports::ReportsQuery,
    charts::ChartsQuery,
    bot::BotQuery,
    jobs::JobsQuery,
);

/// Admin mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(
    login::LoginMutation,
    orders::OrdersMutation,
    shipping::ShippingMutation,
    catalog::CatalogMutation,
    media::MediaMutation,
    stock::StockMutation,
    cms::CmsMutation,
    promotions::PromotionsMutation,
    staff::StaffMutation,
    inquiries::InquiriesMutation,
    bot::BotMutation,
    jobs::JobsMutation,
);

/// The admin schema type.
pub type AdminSchema = Schema<Query, Mutation, EmptySubscription>;

/// Complexity limit, each root field counting [`crate::limits::ROOT_FIELD_COST`].
const MAX_COMPLEXITY: usize = 5000;

// The complexity limit is set by `limits::Schemas::build`.
fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).limit_depth(12)
}

/// The schemas with their shared data: one for requests with one root field, one for
/// requests with several (`limits.rs`). The reports read from `reports` (`database.read_url`,
/// or `pool` again).
pub fn schema(
    pool: PgPool,
    reuse: Arc<commerce::db::Reuse>,
    reports: PgPool,
    settings: Arc<Settings>,
    gateways: Arc<commerce::payment::Gateways>,
) -> crate::limits::Schemas<AdminSchema> {
    let reports = reports::ReportsPool(reports);
    let with_data = move |b: SchemaBuilder<Query, Mutation, EmptySubscription>| {
        b.data(pool.clone())
            .data(reuse.clone())
            .data(reports.clone())
            .data(settings.clone())
            .data(gateways.clone())
    };
    crate::limits::Schemas::build(MAX_COMPLEXITY, || with_data(builder()))
}

/// The schema in SDL, as committed in `graphql/admin.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// A time as the shop reads it (Asia/Seoul).
fn seoul(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&commerce::SHOP_TZ).fixed_offset()
}
