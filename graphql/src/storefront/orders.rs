//! Storefront orders: the `Order` type (the order page), `orderByNumber`, `orderCancel`,
//! `orderReturnRequest`.

use async_graphql::{Context, Enum, ID, InputObject, MergedObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    Error,
    ids::{CustomerId, OrderLineId},
    order::{self, OrderKey, RefundAccount},
};
use sqlx::PgPool;

use super::{
    catalog::{Product, product_by_id, seoul},
    payload::{UserError, split},
    session,
    variant::{Variant, variant_by_id},
};
use crate::{
    error::{GqlResult, lang, to_gql},
    shared::{OrderStatus, Payment, PaymentMethod, SalesChannel, Won},
};

/// An order.
// Both schemas call their order `Order`; the admin one adds staff fields. Each merges the
// shared fields of [`OrderFields`], whose own name is never reachable and so never shows.
#[derive(MergedObject, Clone)]
#[graphql(name = "Order")]
pub struct Order(pub OrderFields);

impl From<commerce::order::Order> for Order {
    fn from(o: commerce::order::Order) -> Order {
        Order(OrderFields(o))
    }
}

impl Order {
    /// The order as `commerce` has it.
    pub fn get(&self) -> &commerce::order::Order {
        &self.0.0
    }
}

/// The fields every `Order` has, whoever reads it.
#[derive(Clone)]
pub struct OrderFields(pub commerce::order::Order);

/// An absent optional text is null, never `""`.
fn present(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Where it goes.
#[derive(SimpleObject)]
pub struct ShippingAddress {
    /// 받는 분.
    recipient: String,
    /// Their phone, `010-1234-5678`.
    phone: String,
    /// 우편번호.
    zonecode: String,
    /// 도로명 주소.
    road_address: String,
    /// 지번 주소, if given.
    jibun_address: Option<String>,
    /// 건물명, if any.
    building_name: Option<String>,
    /// 상세 주소, if given.
    detail_address: Option<String>,
}

impl From<commerce::address::PostalAddress> for ShippingAddress {
    fn from(a: commerce::address::PostalAddress) -> ShippingAddress {
        ShippingAddress {
            phone: phone(&a.phone),
            jibun_address: present(&a.jibun_address),
            building_name: present(&a.building_name),
            detail_address: present(&a.detail_address),
            recipient: a.recipient,
            zonecode: a.zonecode,
            road_address: a.road_address,
        }
    }
}

/// Where to send a bank transfer.
#[derive(SimpleObject)]
pub struct BankTransfer {
    /// Bank.
    bank: String,
    /// Account number.
    account_number: String,
    /// Account holder (예금주).
    holder: String,
    /// Exactly this much.
    amount: Won,
    /// The name to send it under (입금자명), so the shop can match the deposit.
    depositor_name: Option<String>,
    /// Pay by then, or the order expires.
    due_at: DateTime<FixedOffset>,
}

/// A line of an order: what was bought, as it was then.
pub struct OrderLine(commerce::order::OrderLine);

#[Object]
impl OrderLine {
    /// Opaque id (use it in `orderReturnRequest`).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Product name at the time.
    async fn product_name(&self) -> &str {
        &self.0.product_name
    }
    /// Variant name at the time.
    async fn variant_name(&self) -> &str {
        &self.0.variant_name
    }
    /// SKU.
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    /// Price per unit charged.
    async fn unit_price(&self) -> Won {
        self.0.unit_price.into()
    }
    /// Units.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// `unitPrice × quantity`.
    async fn line_total(&self) -> Won {
        self.0.line_total.into()
    }
    /// A gift with purchase.
    async fn is_gift(&self) -> bool {
        self.0.is_gift
    }
    /// The variant as it is now (batched); null when it was deleted since.
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        match self.0.variant_id {
            Some(id) => variant_by_id(ctx, id).await,
            None => Ok(None),
        }
    }
    /// The product as it is now, to link to (batched); null when it was deleted or
    /// unpublished since.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        match self.0.product_id {
            Some(id) => product_by_id(ctx, id).await,
            None => Ok(None),
        }
    }
}

/// A carrier.
#[derive(SimpleObject)]
pub struct ShipmentCarrier {
    /// Code, e.g. `CJ`.
    code: String,
    /// Name, e.g. `CJ대한통운`.
    name: String,
}

/// One parcel of an order.
#[derive(SimpleObject)]
pub struct OrderShipment {
    /// Opaque id.
    id: ID,
    /// Who carries it.
    carrier: ShipmentCarrier,
    /// 송장번호, digits.
    tracking_number: String,
    /// The carrier's tracking page.
    tracking_url: String,
    /// Handed to the carrier at.
    shipped_at: DateTime<FixedOffset>,
    /// Delivered at; null until delivered.
    delivered_at: Option<DateTime<FixedOffset>>,
}

/// Where a refund is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RefundStatus {
    /// Recorded, to be paid out (a bank transfer is refunded by hand).
    Pending,
    /// Paid out.
    Done,
    /// Paying out failed; staff follow up.
    Failed,
}

/// A refund of (part of) an order.
#[derive(SimpleObject)]
pub struct Refund {
    /// Opaque id.
    id: ID,
    /// How much.
    amount: Won,
    /// Why. The customer reads only what they wrote (their cancel reason); staff read all.
    reason: Option<String>,
    /// Where it is.
    status: RefundStatus,
    /// The account a guest named for a bank-transfer refund: for staff, who send the money
    /// (masked for the bot); always null on the storefront.
    account: Option<RefundBankAccount>,
    /// Recorded at.
    created_at: DateTime<FixedOffset>,
}

/// A bank account a refund is paid into.
#[derive(SimpleObject)]
pub struct RefundBankAccount {
    /// Bank.
    bank: String,
    /// Account number.
    number: String,
    /// Account holder (예금주).
    holder: String,
}

/// One step of an order as the customer follows it.
#[derive(SimpleObject)]
pub struct TimelineEntry {
    /// The state reached.
    status: OrderStatus,
    /// When.
    at: DateTime<FixedOffset>,
}

/// A return request (청약철회) of some lines.
#[derive(SimpleObject)]
pub struct ReturnRequest {
    /// Opaque id.
    id: ID,
    /// The customer's reason.
    reason: String,
    /// The lines to return.
    line_ids: Vec<ID>,
    /// Asked at.
    created_at: DateTime<FixedOffset>,
}

/// One change of an order's state.
#[derive(SimpleObject)]
pub struct OrderEvent {
    /// Who (`customer:…`, `guest`, `staff:…`, `system`); shown to staff only.
    actor: Option<String>,
    /// From (null at placement).
    from_status: Option<OrderStatus>,
    /// To.
    to_status: OrderStatus,
    /// Why. Staff read every note; the customer reads only what they wrote themselves
    /// (their cancel reason), never staff notes.
    note: String,
    /// When.
    at: DateTime<FixedOffset>,
}

use commerce::types::format_phone as phone;

/// A status as stored; an unknown one is a fault (logged), never shown.
fn status(s: &str) -> Result<OrderStatus, Error> {
    commerce::order::OrderStatus::parse(s)
        .map(OrderStatus::from)
        .map_err(|_| Error::Fault {
            what: "order_history.status",
            reason: format!("unknown status {s}"),
        })
}

#[Object(name = "OrderFields")]
impl OrderFields {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `YYYYMMDD-NNNNNN`.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// Where it is.
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }
    /// Where it was ordered.
    #[allow(clippy::unused_async)] // a resolver with a context is async in async-graphql
    async fn channel(&self, ctx: &Context<'_>) -> Result<SalesChannel> {
        SalesChannel::from_db(&self.0.channel)
            .ok_or_else(|| Error::Fault {
                what: "orders.channel",
                reason: format!("unknown channel {}", self.0.channel),
            })
            .gql(ctx)
    }
    /// For `EXTERNAL`: where.
    async fn channel_source(&self) -> Option<&str> {
        self.0.channel_source.as_deref()
    }
    /// Orderer e-mail.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Orderer phone.
    async fn phone(&self) -> String {
        phone(&self.0.phone)
    }
    /// 주문자.
    async fn orderer_name(&self) -> &str {
        &self.0.orderer_name
    }
    /// Where it goes.
    async fn shipping_address(&self) -> ShippingAddress {
        ShippingAddress::from(self.0.shipping_address.clone())
    }
    /// 배송 메모, if given.
    async fn delivery_note(&self) -> Option<String> {
        present(&self.0.delivery_note)
    }
    /// How it is paid.
    #[allow(clippy::unused_async)] // a resolver with a context is async in async-graphql
    async fn payment_method(&self, ctx: &Context<'_>) -> Result<PaymentMethod> {
        PaymentMethod::from_db(&self.0.payment_method)
            .ok_or_else(|| Error::Fault {
                what: "orders.payment_method",
                reason: format!("unknown payment method {}", self.0.payment_method),
            })
            .gql(ctx)
    }
    /// Products subtotal.
    async fn subtotal(&self) -> Won {
        self.0.subtotal.into()
    }
    /// Coupon discount.
    async fn discount(&self) -> Won {
        self.0.discount.into()
    }
    /// Shipping fee.
    async fn shipping_fee(&self) -> Won {
        self.0.shipping_fee.into()
    }
    /// Charged.
    async fn total(&self) -> Won {
        self.0.total.into()
    }
    /// VAT-exempt part of the total.
    async fn tax_free_amount(&self) -> Won {
        self.0.tax_free_amount.into()
    }
    /// VAT inside the total.
    async fn vat(&self) -> Won {
        self.0.vat.into()
    }
    /// The coupon used.
    async fn coupon_code(&self) -> Option<&str> {
        self.0.coupon_code.as_deref()
    }
    /// Where to send the money while the order awaits the deposit.
    async fn bank_transfer(&self) -> Option<BankTransfer> {
        let d = self.0.awaited_deposit()?;
        Some(BankTransfer {
            bank: d.bank.clone(),
            account_number: d.account_number.clone(),
            holder: d.holder.clone(),
            amount: self.0.total.into(),
            depositor_name: self.0.depositor_name.clone(),
            due_at: seoul(d.due_at),
        })
    }
    /// What was bought.
    async fn lines(&self) -> Vec<OrderLine> {
        self.0.lines.iter().cloned().map(OrderLine).collect()
    }
    /// State changes, oldest first.
    #[allow(clippy::unused_async)] // a resolver with a context is async in async-graphql
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<OrderEvent>> {
        let staff = ctx.data_opt::<StaffView>().is_some();
        self.0
            .history
            .iter()
            .map(|h| {
                Ok(OrderEvent {
                    actor: staff.then(|| h.actor.clone()),
                    from_status: h.from_status.as_deref().map(status).transpose()?,
                    to_status: status(&h.to_status)?,
                    note: if staff {
                        h.note.clone()
                    } else {
                        h.customer_note().to_owned()
                    },
                    at: seoul(h.created_at),
                })
            })
            .collect::<Result<_, Error>>()
            .gql(ctx)
    }
    /// The states the order went through and when, oldest first: no notes, no actors.
    #[allow(clippy::unused_async)] // a resolver with a context is async in async-graphql
    async fn timeline(&self, ctx: &Context<'_>) -> Result<Vec<TimelineEntry>> {
        self.0
            .history
            .iter()
            .map(|h| {
                Ok(TimelineEntry {
                    status: status(&h.to_status)?,
                    at: seoul(h.created_at),
                })
            })
            .collect::<Result<_, Error>>()
            .gql(ctx)
    }
    /// Its parcels, oldest first (empty until shipped).
    async fn shipments(&self) -> Vec<OrderShipment> {
        self.0
            .shipments
            .iter()
            .map(|s| OrderShipment {
                id: ID(s.id.to_string()),
                carrier: ShipmentCarrier {
                    code: s.carrier_code.clone(),
                    name: s.carrier_name.clone(),
                },
                tracking_number: s.tracking_number.clone(),
                tracking_url: s.tracking_url.clone(),
                shipped_at: seoul(s.shipped_at),
                delivered_at: s.delivered_at.map(seoul),
            })
            .collect()
    }
    /// The latest parcel's tracking page, once shipped (see `shipments` for all of them).
    async fn tracking_url(&self) -> Option<&str> {
        self.0.shipments.last().map(|s| s.tracking_url.as_str())
    }
    /// Whether the customer may cancel it now (`orderCancel`): until it ships.
    async fn can_cancel(&self) -> bool {
        self.0.can_cancel()
    }
    /// Until when a return may be asked for (`orderReturnRequest`): the end of the 7th day
    /// after delivery; null before delivery.
    async fn return_deadline(&self) -> Option<DateTime<FixedOffset>> {
        self.0.return_deadline().map(seoul)
    }
    /// Whether the customer may ask for a return now: delivered, within the 7 days.
    async fn can_request_return(&self) -> bool {
        self.0.can_request_return(chrono::Utc::now())
    }
    /// Return requests, oldest first.
    async fn return_requests(&self) -> Vec<ReturnRequest> {
        self.0
            .return_requests
            .iter()
            .map(|r| ReturnRequest {
                id: ID(r.id.to_string()),
                reason: r.reason.clone(),
                line_ids: r.line_ids.iter().map(|l| ID(l.to_string())).collect(),
                created_at: seoul(r.created_at),
            })
            .collect()
    }
    /// Refunds, oldest first.
    #[allow(clippy::unused_async)] // a resolver with a context is async in async-graphql
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Refund>> {
        self.0
            .refunds
            .iter()
            .map(|r| {
                Ok(Refund {
                    id: ID(r.id.to_string()),
                    amount: r.amount.into(),
                    reason: present(&r.reason),
                    account: r.account.clone().map(|a| RefundBankAccount {
                        bank: a.bank,
                        number: a.number,
                        holder: a.holder,
                    }),
                    status: match r.status.as_str() {
                        "PENDING" => RefundStatus::Pending,
                        "DONE" => RefundStatus::Done,
                        "FAILED" => RefundStatus::Failed,
                        other => {
                            return Err(Error::Fault {
                                what: "refunds.status",
                                reason: format!("unknown status {other}"),
                            });
                        }
                    },
                    created_at: seoul(r.created_at),
                })
            })
            .collect::<Result<_, Error>>()
            .gql(ctx)
    }
    /// Its payment attempts, oldest first: the gateway, the amount, the state, the receipt.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let found = ctx
            .data::<super::Loaders>()?
            .payments
            .load_one(self.0.id)
            .await
            .map_err(|e| crate::error::to_gql(&e, crate::error::lang(ctx)))?;
        found
            .unwrap_or_default()
            .into_iter()
            .map(Payment::try_from)
            .collect::<Result<_, Error>>()
            .gql(ctx)
    }
    /// Refunds recorded so far, in all.
    async fn refunded(&self) -> Won {
        self.0.refunded.into()
    }
    /// Placed at.
    async fn created_at(&self) -> DateTime<FixedOffset> {
        seoul(self.0.created_at)
    }
    /// Paid at.
    async fn paid_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.paid_at.map(seoul)
    }
    /// Cancelled at.
    async fn cancelled_at(&self) -> Option<DateTime<FixedOffset>> {
        self.0.cancelled_at.map(seoul)
    }
}

/// Marks a request of the admin API (history shows who did what).
pub struct StaffView;

/// Order queries.
#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// A guest's order by number and the e-mail it was placed with. Null, with a
    /// `NOT_FOUND` error, when either doesn't match.
    async fn order_by_number(&self, ctx: &Context<'_>, number: String, email: String) -> Result<Option<Order>> {
        let pool = ctx.data::<PgPool>()?;
        match order::by_number_and_email(pool, &number, &email).await {
            Ok(o) => Ok(Some(Order::from(o))),
            Err(e) => Err(to_gql(&e, lang(ctx))),
        }
    }
}

/// Where to refund a paid bank transfer (환불 계좌).
#[derive(InputObject)]
pub struct RefundAccountInput {
    /// Bank, e.g. `국민은행`.
    bank: String,
    /// Account number (dashes allowed).
    number: String,
    /// Account holder (예금주).
    holder: String,
}

/// Which order to cancel: the signed-in owner needs only the number; a guest adds the e-mail.
#[derive(InputObject)]
pub struct OrderCancelInput {
    /// Order number.
    number: String,
    /// The order's e-mail (guests).
    email: Option<String>,
    /// Why: shown to staff, and back to the customer in the order's history.
    reason: Option<String>,
    /// Where to refund a paid bank transfer (required from a guest then: `INVALID_INPUT`
    /// on `refundAccount` without it, optional for a member) or a paid virtual account
    /// (required from everyone: Toss pays the deposit back into it); ignored when nothing
    /// is refunded. Card and easy-pay payments go back through their gateway. Only staff
    /// see it.
    refund_account: Option<RefundAccountInput>,
}

/// Which order to return, which lines and why: the signed-in owner needs only the number;
/// a guest adds the e-mail.
#[derive(InputObject)]
pub struct OrderReturnRequestInput {
    /// Order number.
    number: String,
    /// The order's e-mail (guests).
    email: Option<String>,
    /// Why (1–500 characters): shown to staff, and back to the customer in the history.
    reason: String,
    /// The lines to return (`OrderLine.id`).
    line_ids: Vec<ID>,
}

/// The result of an order mutation.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The order after the change.
    order: Option<Order>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

impl OrderPayload {
    /// Wraps a core result.
    pub fn from(ctx: &Context<'_>, r: Result<commerce::order::Order, Error>) -> Result<OrderPayload> {
        let (order, user_errors) = split(ctx, r)?;
        Ok(OrderPayload {
            order: order.map(Order::from),
            user_errors,
        })
    }
}

/// Order mutations.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Cancels an order before it ships (stock released; a paid order gets a refund).
    async fn order_cancel(&self, ctx: &Context<'_>, input: OrderCancelInput) -> Result<OrderPayload> {
        let pool = ctx.data::<PgPool>()?;
        let gateways = ctx.data::<std::sync::Arc<commerce::payment::Gateways>>()?;
        let me = session::customer(ctx).await?;
        let result = async {
            let account = match &input.refund_account {
                Some(a) => Some(RefundAccount::parse(&a.bank, &a.number, &a.holder)?),
                None => None,
            };
            order::cancel_by_customer(
                pool,
                gateways,
                &input.number,
                input.email.as_deref(),
                me,
                input.reason.as_deref(),
                account,
            )
            .await
        }
        .await;
        OrderPayload::from(ctx, result)
    }

    /// Asks to return lines of a delivered order within the withdrawal period (청약철회: 7
    /// days after delivery); the order moves to `RETURN_REQUESTED`. Errors: `NOT_FOUND`
    /// (also for a wrong e-mail), `INVALID_STATE` (not delivered), `RETURN_PERIOD_OVER`,
    /// `INVALID_INPUT` (`reason`, `lineIds`).
    async fn order_return_request(&self, ctx: &Context<'_>, input: OrderReturnRequestInput) -> Result<OrderPayload> {
        let pool = ctx.data::<PgPool>()?;
        let me = session::customer(ctx).await?;
        let result = async {
            let lines = input
                .line_ids
                .iter()
                .map(|id| id.parse::<OrderLineId>())
                .collect::<Result<Vec<_>, _>>()?;
            order::request_return(pool, &input.number, input.email.as_deref(), me, &input.reason, &lines).await
        }
        .await;
        OrderPayload::from(ctx, result)
    }
}

/// The orders of the signed-in customer `me`, newest first.
pub async fn my_orders(
    ctx: &Context<'_>,
    me: CustomerId,
    first: Option<i64>,
    after: Option<String>,
) -> Result<OrderConnection> {
    let first = commerce::pagination::page_size(first).gql(ctx)?;
    let pool = ctx.data::<PgPool>()?;
    let before = match after {
        None => None,
        Some(c) => {
            let mut conn = pool.acquire().await.gql(ctx)?;
            let id = c.parse::<commerce::ids::OrderId>().gql(ctx)?;
            let o = order::get(&mut conn, &OrderKey::Id(id)).await.gql(ctx)?;
            let o = o
                .filter(|o| o.customer_id == Some(me))
                .ok_or(Error::InvalidCursor)
                .gql(ctx)?;
            Some((o.created_at, o.id))
        }
    };
    let (orders, has_next) = order::of_customer(pool, me, first, before).await.gql(ctx)?;
    Ok(OrderConnection {
        nodes: orders.into_iter().map(Order::from).collect(),
        has_next,
    })
}

/// One order of the signed-in customer `me` by number: null with a `NOT_FOUND` error when
/// there is none or it is someone else's.
pub async fn my_order(ctx: &Context<'_>, me: CustomerId, number: &str) -> Result<Option<Order>> {
    let pool = ctx.data::<PgPool>()?;
    match order::of_customer_by_number(pool, me, number).await {
        Ok(o) => Ok(Some(Order::from(o))),
        Err(e) => Err(to_gql(&e, lang(ctx))),
    }
}

/// A page of orders.
pub struct OrderConnection {
    nodes: Vec<Order>,
    has_next: bool,
}

#[Object]
impl OrderConnection {
    /// Orders with cursors.
    async fn edges(&self) -> Vec<OrderEdge<'_>> {
        self.nodes.iter().map(OrderEdge).collect()
    }
    /// Orders.
    async fn nodes(&self) -> &[Order] {
        &self.nodes
    }
    /// Where this page is.
    async fn page_info(&self) -> super::catalog::PageInfo {
        super::catalog::PageInfo::forward(
            self.has_next,
            self.nodes.first().map(|o| o.get().id.to_string()),
            self.nodes.last().map(|o| o.get().id.to_string()),
        )
    }
}

/// An order and its cursor.
pub struct OrderEdge<'a>(&'a Order);

#[Object]
impl OrderEdge<'_> {
    /// Pass as `after`.
    async fn cursor(&self) -> String {
        self.0.get().id.to_string()
    }
    /// The order.
    async fn node(&self) -> &Order {
        self.0
    }
}
