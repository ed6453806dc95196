//! Admin customers: search and list for the roles that see personal data.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{Error, ids::CustomerId};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    seoul,
};
use crate::error::GqlResult;

/// A customer as staff see them.
#[derive(SimpleObject)]
pub struct CustomerRecord {
    /// Opaque id.
    id: ID,
    /// E-mail.
    email: String,
    /// Name.
    name: String,
    /// Mobile, `010-1234-5678`.
    mobile: String,
    /// Tier.
    tier: String,
    /// Points.
    points: i64,
    /// Marketing e-mail consent.
    marketing_email: bool,
    /// Marketing SMS consent.
    marketing_sms: bool,
    /// Signed up at.
    created_at: DateTime<FixedOffset>,
}

connection!(CustomerConnection, CustomerEdge, CustomerRecord, "customers");

impl From<commerce::customer::Customer> for CustomerRecord {
    fn from(c: commerce::customer::Customer) -> CustomerRecord {
        CustomerRecord {
            id: ID(c.id.to_string()),
            mobile: commerce::types::format_phone(&c.mobile),
            email: c.email,
            name: c.name,
            tier: c.tier,
            points: c.points,
            marketing_email: c.marketing_email.is_some(),
            marketing_sms: c.marketing_sms.is_some(),
            created_at: seoul(c.created_at),
        }
    }
}

/// Admin customer queries.
#[derive(Default)]
pub struct CustomersQuery;

#[Object]
impl CustomersQuery {
    /// Customers, newest first, searched by e-mail, name or mobile (OWNER, MANAGER, CS).
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        search: Option<String>,
    ) -> Result<CustomerConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let after = after
            .map(|a| a.parse::<CustomerId>().map_err(|_| Error::InvalidCursor))
            .transpose()
            .gql(ctx)?;
        let r = commerce::customer::list_for_staff(
            cx.pool,
            cx.principal,
            search.as_deref(),
            first,
            after,
            wants_total(ctx),
        )
        .await;
        Ok(CustomerConnection::from_page(r.gql(ctx)?, CustomerRecord::from))
    }
}
