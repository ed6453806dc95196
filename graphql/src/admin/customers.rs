//! Admin customers: the filtered, sorted list and one customer with their orders,
//! addresses and totals, for the roles that see personal data; an order's `customer`
//! shows the same record, masked for the roles that don't.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    catalog::Direction,
    customer::{self, Customer, CustomerFilter, CustomerSort},
    ids::CustomerId,
    staff::Principal,
};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    orders::{OrderConnection, SortDirection, direction, list_orders},
    seoul,
};
use crate::{
    error::{GqlResult, lang, to_gql},
    shared::{CustomerTier, Won},
    storefront::orders::ShippingAddress,
};

/// A customer as staff see them.
pub struct CustomerRecord {
    customer: Customer,
    by: Principal,
}

impl CustomerRecord {
    /// The customer as `by` may see them (masked for roles that don't see personal data).
    pub fn new(c: Customer, by: Principal) -> CustomerRecord {
        CustomerRecord {
            customer: c.seen_by(by),
            by,
        }
    }
}

/// A customer's saved address.
#[derive(SimpleObject)]
pub struct CustomerAddress {
    /// Opaque id.
    id: ID,
    /// The address, with the fields of an order's.
    #[graphql(flatten)]
    address: ShippingAddress,
    /// Their default address.
    is_default: bool,
}

#[Object]
impl CustomerRecord {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.customer.id.to_string())
    }
    /// E-mail.
    async fn email(&self) -> &str {
        &self.customer.email
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.customer.name
    }
    /// Mobile, `010-1234-5678`.
    async fn mobile(&self) -> String {
        commerce::types::format_phone(&self.customer.mobile)
    }
    /// Membership tier.
    async fn tier(&self) -> CustomerTier {
        CustomerTier::from_db(&self.customer.tier)
    }
    /// Points.
    async fn points(&self) -> i64 {
        self.customer.points
    }
    /// Marketing e-mail consent.
    async fn marketing_email(&self) -> bool {
        self.customer.marketing_email.is_some()
    }
    /// Marketing SMS consent.
    async fn marketing_sms(&self) -> bool {
        self.customer.marketing_sms.is_some()
    }
    /// Signed up at.
    async fn created_at(&self) -> DateTime<FixedOffset> {
        seoul(self.customer.created_at)
    }
    /// The fields shown masked to the caller (e.g. `mobile`); empty when nothing is.
    async fn masked_fields(&self) -> Vec<&'static str> {
        customer::masked_fields(self.by).to_vec()
    }
    /// Saved addresses, the default first (masked like the customer).
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<CustomerAddress>> {
        let loaders = Cx::staff(ctx).await?.loaders(ctx)?;
        let found = loaders
            .addresses
            .load_one(self.customer.id)
            .await
            .map_err(|e| to_gql(&e, lang(ctx)))?;
        let masked = !self.by.sees_personal_data();
        Ok(found
            .unwrap_or_default()
            .into_iter()
            .map(|a| CustomerAddress {
                id: ID(a.id.to_string()),
                address: if masked { a.address.masked() } else { a.address }.into(),
                is_default: a.is_default,
            })
            .collect())
    }
    /// Orders placed, in any state.
    async fn orders_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let loaders = Cx::staff(ctx).await?.loaders(ctx)?;
        let found = loaders
            .stats
            .load_one(self.customer.id)
            .await
            .map_err(|e| to_gql(&e, lang(ctx)))?;
        Ok(found.map_or(0, |s| s.orders_count))
    }
    /// What they spent: paid orders' totals minus what was refunded on them.
    async fn total_spent(&self, ctx: &Context<'_>) -> Result<Won> {
        let loaders = Cx::staff(ctx).await?.loaders(ctx)?;
        let found = loaders
            .stats
            .load_one(self.customer.id)
            .await
            .map_err(|e| to_gql(&e, lang(ctx)))?;
        Ok(found.map_or(Won(0), |s| s.total_spent.into()))
    }
    /// Their orders, newest first (as `orders(filter: {customerId})`); `after` is the
    /// `endCursor` of the page before. A page of its own per customer: ask for it on one
    /// customer (`customer(id)`), not across a list.
    async fn orders(&self, ctx: &Context<'_>, first: Option<i64>, after: Option<String>) -> Result<OrderConnection> {
        let filter = commerce::order::admin::OrderFilter {
            customer: Some(self.customer.id),
            ..Default::default()
        };
        list_orders(ctx, first, after, filter, commerce::order::admin::OrderSort::default()).await
    }
}

connection!(CustomerConnection, CustomerEdge, CustomerRecord, "customers");

/// Which customers to list; every given condition must hold.
#[derive(InputObject, Default)]
pub struct CustomerFilterInput {
    /// E-mail, name or mobile (any part).
    search: Option<String>,
    /// Only this tier.
    tier: Option<CustomerTier>,
    /// `true`: agreed to marketing by e-mail or SMS; `false`: to neither.
    marketing_consent: Option<bool>,
    /// Signed up at or after.
    signed_up_from: Option<DateTime<FixedOffset>>,
    /// Signed up before.
    signed_up_to: Option<DateTime<FixedOffset>>,
}

/// What to sort customers by (the id breaks ties).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CustomerSortField {
    /// When they signed up.
    CreatedAt,
    /// Their name.
    Name,
}

/// How to sort customers (default: newest first).
#[derive(InputObject)]
pub struct CustomerSortInput {
    /// What to sort by.
    field: CustomerSortField,
    /// Which way (default `DESC` for `CREATED_AT`, `ASC` for `NAME`).
    direction: Option<SortDirection>,
}

impl From<CustomerSortInput> for CustomerSort {
    fn from(s: CustomerSortInput) -> CustomerSort {
        let field = match s.field {
            CustomerSortField::CreatedAt => customer::CustomerSortField::CreatedAt,
            CustomerSortField::Name => customer::CustomerSortField::Name,
        };
        let natural = match field {
            customer::CustomerSortField::CreatedAt => Direction::Desc,
            customer::CustomerSortField::Name => Direction::Asc,
        };
        CustomerSort {
            field,
            direction: s.direction.map_or(natural, direction),
        }
    }
}

/// Admin customer queries.
#[derive(Default)]
pub struct CustomersQuery;

#[Object]
impl CustomersQuery {
    /// Customers, newest first unless `sort` says otherwise, filtered (OWNER, MANAGER,
    /// CS); `after` is the `endCursor` of the page before, in the same sort.
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<CustomerFilterInput>,
        sort: Option<CustomerSortInput>,
    ) -> Result<CustomerConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = CustomerFilter {
            search: f.search,
            tier: f.tier.map(|t| t.as_str().to_owned()),
            marketing_consent: f.marketing_consent,
            signed_up_from: f.signed_up_from.map(|t| t.to_utc()),
            signed_up_to: f.signed_up_to.map(|t| t.to_utc()),
        };
        let sort = sort.map(CustomerSort::from).unwrap_or_default();
        let r = customer::list_for_staff(
            cx.pool,
            cx.principal,
            &filter,
            sort,
            first,
            after.as_deref(),
            wants_total(ctx),
        )
        .await;
        let by = cx.principal;
        Ok(CustomerConnection::from_page(r.gql(ctx)?, |c| {
            CustomerRecord::new(c, by)
        }))
    }

    /// One customer (OWNER, MANAGER, CS). Null, with a `NOT_FOUND` error, if none.
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Result<Option<CustomerRecord>> {
        let cx = Cx::staff(ctx).await?;
        let id = id.parse::<CustomerId>().gql(ctx)?;
        let c = customer::find_for_staff(cx.pool, cx.principal, id).await.gql(ctx)?;
        Ok(Some(CustomerRecord::new(c, cx.principal)))
    }
}
