//! Admin orders: the list with filters and sorts, the dashboard's counts, one order, and
//! deposit, cancel, refund, status and memo, each by `orderId` or `orderNumber`.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    Error,
    catalog::Direction,
    ids::{CustomerId, OrderId},
    order::{
        OrderKey,
        admin::{self as orders, OrderSort},
    },
    payment::Gateways,
};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    order::{AdminOrder, AdminOrderPayload},
};
use crate::{
    error::{GqlResult, lang, to_gql},
    shared::{OrderStatus, PaymentMethod, SalesChannel, Won},
};

pub use crate::storefront::catalog::SortDirection;

connection!(OrderConnection, OrderEdge, AdminOrder, "orders");

/// Which orders to list; every given condition must hold.
#[derive(InputObject, Default)]
pub struct OrderFilterInput {
    /// Only in this state.
    status: Option<OrderStatus>,
    /// Only in one of these states.
    statuses: Option<Vec<OrderStatus>>,
    /// Only from this channel.
    channel: Option<SalesChannel>,
    /// Only paid this way.
    payment_method: Option<PaymentMethod>,
    /// Only this member's.
    customer_id: Option<ID>,
    /// Only orders still awaiting their deposit, due before this.
    deposit_due_before: Option<DateTime<FixedOffset>>,
    /// Only orders changed at or after this.
    updated_since: Option<DateTime<FixedOffset>>,
    /// Placed at or after.
    from: Option<DateTime<FixedOffset>>,
    /// Placed before.
    to: Option<DateTime<FixedOffset>>,
    /// Order number, orderer or recipient name, or phone (any part). Roles that see personal
    /// data masked (the Slack bot) find by order number (any part), the exact whole orderer
    /// or recipient name, or exactly the last 4 digits of a phone. Searches count against
    /// a per-caller rate limit (`RATE_LIMITED`).
    search: Option<String>,
}

impl OrderFilterInput {
    fn parse(self) -> Result<orders::OrderFilter, Error> {
        let customer = self.customer_id.as_ref().map(|c| c.parse::<CustomerId>()).transpose()?;
        Ok(orders::OrderFilter {
            status: self.status.map(Into::into),
            statuses: self.statuses.map(|s| s.into_iter().map(Into::into).collect()),
            channel: self.channel.map(|c| c.as_str().to_owned()),
            payment_method: self.payment_method.map(|m| m.as_str().to_owned()),
            customer,
            deposit_due_before: self.deposit_due_before.map(|t| t.to_utc()),
            updated_since: self.updated_since.map(|t| t.to_utc()),
            from: self.from.map(|t| t.to_utc()),
            to: self.to.map(|t| t.to_utc()),
            search: self.search,
        })
    }
}

/// What to sort orders by (the id breaks ties).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderSortField {
    /// When it was placed.
    CreatedAt,
    /// When it last changed.
    UpdatedAt,
    /// What it charged.
    Total,
}

/// How to sort orders (default: newest first).
#[derive(InputObject)]
pub struct OrderSortInput {
    /// What to sort by.
    field: OrderSortField,
    /// Which way (default `DESC`).
    direction: Option<SortDirection>,
}

impl From<OrderSortInput> for OrderSort {
    fn from(s: OrderSortInput) -> OrderSort {
        OrderSort {
            field: match s.field {
                OrderSortField::CreatedAt => orders::OrderSortField::CreatedAt,
                OrderSortField::UpdatedAt => orders::OrderSortField::UpdatedAt,
                OrderSortField::Total => orders::OrderSortField::Total,
            },
            direction: s.direction.map_or(Direction::Desc, direction),
        }
    }
}

/// The core's direction for the API's.
pub fn direction(d: SortDirection) -> Direction {
    match d {
        SortDirection::Asc => Direction::Asc,
        SortDirection::Desc => Direction::Desc,
    }
}

/// How many orders are in one state.
#[derive(SimpleObject)]
pub struct OrderStatusCount {
    /// The state.
    status: OrderStatus,
    /// Orders in it.
    count: i64,
}

/// Parses an opaque order id.
pub(super) fn parse_order(id: &ID) -> Result<OrderId, Error> {
    id.parse::<OrderId>()
}

/// The order an operation names: exactly one of `id` and `number`, else `INVALID_INPUT`
/// (on `field`).
pub(super) fn order_key<'a>(
    id: Option<&ID>,
    number: Option<&'a str>,
    field: &'static str,
) -> Result<OrderKey<'a>, Error> {
    match (id, number) {
        (Some(id), None) => Ok(OrderKey::Id(parse_order(id)?)),
        (None, Some(n)) => Ok(OrderKey::Number(n.trim())),
        _ => Err(Error::Invalid {
            field,
            reason: "give exactly one of the order's id and number".into(),
        }),
    }
}

/// The id of the order a mutation names by `orderId` or `orderNumber`.
/// Errors: `INVALID_INPUT` (both or neither), `INVALID_ID`, `FORBIDDEN`, `NOT_FOUND`.
pub(super) async fn target(cx: &Cx<'_>, order_id: Option<&ID>, order_number: Option<&str>) -> Result<OrderId, Error> {
    let key = order_key(order_id, order_number, "orderId")?;
    orders::id_of(cx.pool, cx.principal, &key).await
}

/// A page of orders as the caller may see them: the list of `orders` and of a customer's.
pub(super) async fn list_orders(
    ctx: &Context<'_>,
    first: Option<i64>,
    after: Option<String>,
    filter: orders::OrderFilter,
    sort: OrderSort,
) -> Result<OrderConnection> {
    let cx = Cx::staff(ctx).await?;
    let first = commerce::pagination::page_size(first).gql(ctx)?;
    let page = orders::list(
        cx.pool,
        cx.principal,
        &filter,
        sort,
        first,
        after.as_deref(),
        wants_total(ctx),
    )
    .await
    .gql(ctx)?;
    Ok(OrderConnection::from_page(page, AdminOrder::from))
}

/// Admin queries about orders.
#[derive(Default)]
pub struct OrdersQuery;

#[Object]
impl OrdersQuery {
    /// Orders, newest first unless `sort` says otherwise (personal data masked for roles
    /// that don't need it); `after` is the `endCursor` of the page before, in the same sort.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<OrderFilterInput>,
        sort: Option<OrderSortInput>,
    ) -> Result<OrderConnection> {
        let filter = filter.unwrap_or_default().parse().gql(ctx)?;
        list_orders(ctx, first, after, filter, sort.map(OrderSort::from).unwrap_or_default()).await
    }

    /// How many orders are in each state, every state listed (zeros included): the
    /// dashboard's counts.
    async fn order_counts(&self, ctx: &Context<'_>) -> Result<Vec<OrderStatusCount>> {
        let cx = Cx::staff(ctx).await?;
        let counts = orders::counts(cx.pool, cx.principal).await.gql(ctx)?;
        Ok(counts
            .into_iter()
            .map(|(status, count)| OrderStatusCount {
                status: status.into(),
                count,
            })
            .collect())
    }

    /// One order by `id` or `number` (exactly one, else `INVALID_INPUT`), with its history.
    async fn order(&self, ctx: &Context<'_>, id: Option<ID>, number: Option<String>) -> Result<Option<AdminOrder>> {
        let cx = Cx::staff(ctx).await?;
        let key = order_key(id.as_ref(), number.as_deref(), "id").gql(ctx)?;
        match orders::find(cx.pool, cx.principal, &key).await {
            Ok(o) => Ok(Some(o.into())),
            Err(e) => Err(to_gql(&e, lang(ctx))),
        }
    }
}

/// The customer's bank account a virtual-account payment is refunded to (환불계좌).
#[derive(InputObject)]
pub struct RefundAccountInput {
    /// Bank name or Toss bank code.
    bank: String,
    /// Account number (dashes allowed).
    number: String,
    /// 예금주.
    holder: String,
}

impl RefundAccountInput {
    fn parse(&self) -> Result<commerce::order::RefundAccount, commerce::Error> {
        commerce::order::RefundAccount::parse(&self.bank, &self.number, &self.holder)
    }
}

/// Admin mutations on orders. Each names its order by `orderId` or `orderNumber` (exactly
/// one, else `INVALID_INPUT`).
#[derive(Default)]
pub struct OrdersMutation;

#[Object]
impl OrdersMutation {
    /// A bank transfer arrived: the amount must be the order's total to the won.
    async fn order_mark_deposited(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        order_number: Option<String>,
        amount: Won,
    ) -> Result<AdminOrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id = target(&cx, order_id.as_ref(), order_number.as_deref()).await?;
            orders::mark_deposited(cx.pool, cx.principal, id, amount.non_negative("amount")?, cx.ip).await
        }
        .await;
        AdminOrderPayload::from(ctx, r)
    }

    /// Cancels an order before it ships. A card, easy-pay or PortOne payment is refunded
    /// at its gateway first, a paid virtual account to `refundAccount` (required then), an
    /// unpaid one closed at Toss; a gateway refusal leaves the order as it was and returns
    /// the gateway's code and message (`PAYMENT_FAILED`, `PAYMENT_DECLINED`).
    async fn order_cancel(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        order_number: Option<String>,
        reason: Option<String>,
        refund_account: Option<RefundAccountInput>,
    ) -> Result<AdminOrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let gateways = ctx.data::<Arc<Gateways>>()?;
        let reason = reason.unwrap_or_else(|| "cancelled by staff".into());
        let r = async {
            let id = target(&cx, order_id.as_ref(), order_number.as_deref()).await?;
            let account = refund_account.map(|a| a.parse()).transpose()?;
            orders::cancel_by_staff(cx.pool, gateways, cx.principal, id, &reason, account, cx.ip).await
        }
        .await;
        AdminOrderPayload::from(ctx, r)
    }

    /// Refunds part or all of what was paid (at most what was paid and not yet refunded).
    /// A gateway payment is refunded at the gateway first, with its share of the order's
    /// tax-free amount (a paid virtual account to `refundAccount`, required then); a bank
    /// transfer is recorded as paid back by staff.
    async fn order_refund(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        order_number: Option<String>,
        amount: Won,
        reason: String,
        refund_account: Option<RefundAccountInput>,
    ) -> Result<AdminOrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let gateways = ctx.data::<Arc<Gateways>>()?;
        let r = async {
            let id = target(&cx, order_id.as_ref(), order_number.as_deref()).await?;
            let account = refund_account.map(|a| a.parse()).transpose()?;
            orders::refund(
                cx.pool,
                gateways,
                cx.principal,
                id,
                amount.non_negative("amount")?,
                &reason,
                account,
                cx.ip,
            )
            .await
        }
        .await;
        AdminOrderPayload::from(ctx, r)
    }

    /// Moves an order along the state machine (PREPARING, DELIVERED, COMPLETED,
    /// RETURN_REQUESTED, RETURNED).
    async fn order_set_status(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        order_number: Option<String>,
        status: OrderStatus,
        note: Option<String>,
    ) -> Result<AdminOrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let note = note.unwrap_or_default();
        let r = async {
            let id = target(&cx, order_id.as_ref(), order_number.as_deref()).await?;
            orders::set_status(cx.pool, cx.principal, id, status.into(), &note, cx.ip).await
        }
        .await;
        AdminOrderPayload::from(ctx, r)
    }

    /// Sets the order's staff memo (직원 메모; at most 2,000 characters), or clears it when
    /// blank. Never shown to the customer; audited.
    async fn order_memo_set(
        &self,
        ctx: &Context<'_>,
        order_id: Option<ID>,
        order_number: Option<String>,
        memo: String,
    ) -> Result<AdminOrderPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let id = target(&cx, order_id.as_ref(), order_number.as_deref()).await?;
            orders::set_memo(cx.pool, cx.principal, id, &memo, cx.ip).await
        }
        .await;
        AdminOrderPayload::from(ctx, r)
    }
}
