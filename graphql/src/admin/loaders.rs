//! The admin API's DataLoaders for list-in-list fields (an order's payments and customer,
//! a customer's addresses and totals): one `WHERE … = ANY($1)` per batch, fresh per request
//! ([`super::context::Cx::loaders`]).

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader, NoCache};
use commerce::{
    customer::{self, Address, Customer, CustomerStats},
    ids::{CustomerId, OrderId},
    order::admin::{self as orders, Payment},
};
use sqlx::PgPool;

type LoadError = Arc<commerce::Error>;

/// The admin loaders of one request.
pub struct AdminLoaders {
    /// Payments by order. Not cached: a deposit confirmed by one mutation shows in the next
    /// mutation's payload of the same request.
    pub payments: DataLoader<PaymentsByOrder, NoCache>,
    /// Customers by id (unmasked: resolvers mask them for the caller).
    pub customer: DataLoader<CustomerById, HashMapCache>,
    /// Saved addresses by customer (unmasked).
    pub addresses: DataLoader<AddressesByCustomer, HashMapCache>,
    /// Order counts and net spending by customer.
    pub stats: DataLoader<StatsByCustomer, HashMapCache>,
}

impl AdminLoaders {
    /// New loaders on `pool`; batches run on tokio.
    pub fn new(pool: &PgPool) -> AdminLoaders {
        AdminLoaders {
            payments: DataLoader::new(PaymentsByOrder(pool.clone()), tokio::spawn),
            customer: DataLoader::with_cache(CustomerById(pool.clone()), tokio::spawn, HashMapCache::default()),
            addresses: DataLoader::with_cache(AddressesByCustomer(pool.clone()), tokio::spawn, HashMapCache::default()),
            stats: DataLoader::with_cache(StatsByCustomer(pool.clone()), tokio::spawn, HashMapCache::default()),
        }
    }
}

/// Loads the payments of many orders at once.
pub struct PaymentsByOrder(pub PgPool);

impl Loader<OrderId> for PaymentsByOrder {
    type Value = Vec<Payment>;
    type Error = LoadError;

    async fn load(&self, keys: &[OrderId]) -> Result<HashMap<OrderId, Vec<Payment>>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = orders::payments_of(&mut conn, keys).await.map_err(Arc::new)?;
        let mut out: HashMap<OrderId, Vec<Payment>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for p in rows {
            out.entry(p.order_id).or_default().push(p);
        }
        Ok(out)
    }
}

/// Loads many customers by id at once.
pub struct CustomerById(PgPool);

impl Loader<CustomerId> for CustomerById {
    type Value = Customer;
    type Error = LoadError;

    async fn load(&self, keys: &[CustomerId]) -> Result<HashMap<CustomerId, Customer>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = customer::by_ids(&mut conn, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// Loads the saved addresses of many customers at once.
pub struct AddressesByCustomer(PgPool);

impl Loader<CustomerId> for AddressesByCustomer {
    type Value = Vec<Address>;
    type Error = LoadError;

    async fn load(&self, keys: &[CustomerId]) -> Result<HashMap<CustomerId, Vec<Address>>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = customer::addresses_of(&mut conn, keys).await.map_err(Arc::new)?;
        let mut out: HashMap<CustomerId, Vec<Address>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (id, a) in rows {
            out.entry(id).or_default().push(a);
        }
        Ok(out)
    }
}

/// Loads the order counts and net spending of many customers at once.
pub struct StatsByCustomer(PgPool);

impl Loader<CustomerId> for StatsByCustomer {
    type Value = CustomerStats;
    type Error = LoadError;

    async fn load(&self, keys: &[CustomerId]) -> Result<HashMap<CustomerId, CustomerStats>, LoadError> {
        let mut conn = self.0.acquire().await.map_err(|e| Arc::new(e.into()))?;
        let rows = customer::stats_of(&mut conn, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|s| (s.id, s)).collect())
    }
}
