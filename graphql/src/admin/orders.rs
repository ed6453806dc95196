//! Admin orders: the list with filters, one order, deposit, cancel, refund, status.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, FixedOffset};
use commerce::{
    Error, Won,
    ids::OrderId,
    order::{OrderKey, admin as orders},
};

use super::{
    connection::{connection, wants_total},
    context::Cx,
};
use crate::{
    error::{GqlResult, lang, to_gql},
    storefront::orders::{Order, OrderPayload, OrderStatus},
};

connection!(OrderConnection, OrderEdge, Order, "orders");

/// Which orders to list.
#[derive(InputObject, Default)]
pub struct OrderFilterInput {
    /// Only in this state.
    status: Option<OrderStatus>,
    /// `PC_WEB`, `MOBILE_WEB`, `APP`, `EXTERNAL`.
    channel: Option<String>,
    /// Placed at or after.
    from: Option<DateTime<FixedOffset>>,
    /// Placed before.
    to: Option<DateTime<FixedOffset>>,
    /// Order number, orderer or recipient name, or phone (any part).
    search: Option<String>,
}

pub(super) fn parse_order(id: &ID) -> Result<OrderId, Error> {
    id.parse::<OrderId>()
}

fn won(amount: i64) -> Result<Won, Error> {
    Won::new(amount).ok_or(Error::Invalid {
        field: "amount",
        reason: "≥ 0".into(),
    })
}

/// Admin queries about orders.
#[derive(Default)]
pub struct OrdersQuery;

#[Object]
impl OrdersQuery {
    /// Orders, newest first (personal data masked for roles that don't need it); `after` is
    /// the `endCursor` of the page before.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<OrderFilterInput>,
    ) -> Result<OrderConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let after = after
            .map(|a| a.parse::<OrderId>().map_err(|_| Error::InvalidCursor))
            .transpose()
            .gql(ctx)?;
        let f = filter.unwrap_or_default();
        let status = f.status.map(commerce::order::OrderStatus::from);
        let filter = orders::OrderFilter {
            status,
            channel: f.channel,
            from: f.from.map(|t| t.to_utc()),
            to: f.to.map(|t| t.to_utc()),
            search: f.search,
        };
        let page = orders::list(cx.pool, cx.principal, &filter, first, after, wants_total(ctx))
            .await
            .gql(ctx)?;
        Ok(OrderConnection::from_page(page, Order))
    }

    /// One order by `id` or `number`, with its history.
    async fn order(&self, ctx: &Context<'_>, id: Option<ID>, number: Option<String>) -> Result<Option<Order>> {
        let cx = Cx::staff(ctx).await?;
        let parsed = id.as_ref().map(parse_order).transpose().gql(ctx)?;
        let key = match (&parsed, &number) {
            (Some(id), None) => OrderKey::Id(*id),
            (None, Some(n)) => OrderKey::Number(n.trim()),
            _ => {
                let e = Error::Invalid {
                    field: "id",
                    reason: "give exactly one of id and number".into(),
                };
                return Err(to_gql(&e, lang(ctx)));
            }
        };
        match orders::find(cx.pool, cx.principal, &key).await {
            Ok(o) => Ok(Some(Order(o))),
            Err(e) => Err(to_gql(&e, lang(ctx))),
        }
    }
}

/// Admin mutations on orders.
#[derive(Default)]
pub struct OrdersMutation;

#[Object]
impl OrdersMutation {
    /// A bank transfer arrived: the amount must be the order's total to the won.
    async fn order_mark_deposited(&self, ctx: &Context<'_>, order_id: ID, amount: i64) -> Result<OrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let r =
            async { orders::mark_deposited(cx.pool, cx.principal, parse_order(&order_id)?, won(amount)?, cx.ip).await }
                .await;
        OrderPayload::from(ctx, r)
    }

    /// Cancels an order before it ships.
    async fn order_cancel(&self, ctx: &Context<'_>, order_id: ID, reason: Option<String>) -> Result<OrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let reason = reason.unwrap_or_else(|| "cancelled by staff".into());
        let r = async { orders::cancel_by_staff(cx.pool, cx.principal, parse_order(&order_id)?, &reason, cx.ip).await }
            .await;
        OrderPayload::from(ctx, r)
    }

    /// Records a refund paid back (at most what was paid and not yet refunded).
    async fn order_refund(&self, ctx: &Context<'_>, order_id: ID, amount: i64, reason: String) -> Result<OrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            orders::refund(
                cx.pool,
                cx.principal,
                parse_order(&order_id)?,
                won(amount)?,
                &reason,
                cx.ip,
            )
            .await
        }
        .await;
        OrderPayload::from(ctx, r)
    }

    /// Moves an order along the state machine (PREPARING, DELIVERED, COMPLETED,
    /// RETURN_REQUESTED, RETURNED).
    async fn order_set_status(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        status: OrderStatus,
        note: Option<String>,
    ) -> Result<OrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let note = note.unwrap_or_default();
        let r = async {
            orders::set_status(
                cx.pool,
                cx.principal,
                parse_order(&order_id)?,
                status.into(),
                &note,
                cx.ip,
            )
            .await
        }
        .await;
        OrderPayload::from(ctx, r)
    }
}
