//! Storefront orders: the `Order` type, `orderByNumber`, `orderCancel`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    Error,
    order::{self, OrderKey},
};
use sqlx::PgPool;

use super::{
    catalog::seoul,
    payload::{UserError, split},
    session,
};
use crate::error::{GqlResult, lang, to_gql};

/// Where an order is (DESIGN.md §3).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "commerce::order::OrderStatus")]
pub enum OrderStatus {
    /// Waiting for a card or easy-pay confirmation.
    PendingPayment,
    /// Waiting for the bank transfer.
    AwaitingDeposit,
    /// Paid.
    Paid,
    /// Not paid in time.
    Expired,
    /// Being packed.
    Preparing,
    /// With the carrier.
    Shipped,
    /// Delivered.
    Delivered,
    /// Purchase confirmed.
    Completed,
    /// Cancelled.
    Cancelled,
    /// Return requested.
    ReturnRequested,
    /// Returned.
    Returned,
}

/// An order.
pub struct Order(pub commerce::order::Order);

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
    /// 지번 주소.
    jibun_address: String,
    /// 건물명.
    building_name: String,
    /// 상세 주소.
    detail_address: String,
}

impl From<commerce::address::PostalAddress> for ShippingAddress {
    fn from(a: commerce::address::PostalAddress) -> ShippingAddress {
        ShippingAddress {
            phone: phone(&a.phone),
            recipient: a.recipient,
            zonecode: a.zonecode,
            road_address: a.road_address,
            jibun_address: a.jibun_address,
            building_name: a.building_name,
            detail_address: a.detail_address,
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
    /// Exactly this much, in won.
    amount: i64,
    /// Pay by then, or the order expires.
    due_at: DateTime<FixedOffset>,
}

/// A line of an order.
#[derive(SimpleObject)]
pub struct OrderLine {
    /// Opaque id.
    id: ID,
    /// Product name at the time.
    product_name: String,
    /// Variant name at the time.
    variant_name: String,
    /// SKU.
    sku: String,
    /// Price per unit charged.
    unit_price: i64,
    /// Units.
    quantity: i32,
    /// `unitPrice × quantity`.
    line_total: i64,
    /// A gift with purchase.
    is_gift: bool,
}

/// One change of an order's state.
#[derive(SimpleObject)]
pub struct OrderEvent {
    /// Who (`customer:…`, `guest`, `staff:…`, `system`); shown to staff only.
    actor: Option<String>,
    /// From (null at placement).
    from_status: Option<String>,
    /// To.
    to_status: String,
    /// Why. Staff read every note; the customer reads only what they wrote themselves
    /// (their cancel reason), never staff notes.
    note: String,
    /// When.
    at: DateTime<FixedOffset>,
}

use commerce::types::format_phone as phone;

#[Object]
impl Order {
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
    /// `PC_WEB`, `MOBILE_WEB`, `APP` or `EXTERNAL`.
    async fn channel(&self) -> &str {
        &self.0.channel
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
    /// 배송 메모.
    async fn delivery_note(&self) -> &str {
        &self.0.delivery_note
    }
    /// `BANK_TRANSFER`, …
    async fn payment_method(&self) -> &str {
        &self.0.payment_method
    }
    /// Products subtotal, won.
    async fn subtotal(&self) -> i64 {
        self.0.subtotal.get()
    }
    /// Coupon discount, won.
    async fn discount(&self) -> i64 {
        self.0.discount.get()
    }
    /// Shipping fee, won.
    async fn shipping_fee(&self) -> i64 {
        self.0.shipping_fee.get()
    }
    /// Charged, won.
    async fn total(&self) -> i64 {
        self.0.total.get()
    }
    /// VAT-exempt part of the total, won.
    async fn tax_free_amount(&self) -> i64 {
        self.0.tax_free_amount.get()
    }
    /// VAT inside the total, won.
    async fn vat(&self) -> i64 {
        self.0.vat.get()
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
            amount: self.0.total.get(),
            due_at: seoul(d.due_at),
        })
    }
    /// What was bought.
    async fn lines(&self) -> Vec<OrderLine> {
        self.0
            .lines
            .iter()
            .map(|l| OrderLine {
                id: ID(l.id.to_string()),
                product_name: l.product_name.clone(),
                variant_name: l.variant_name.clone(),
                sku: l.sku.clone(),
                unit_price: l.unit_price.get(),
                quantity: l.quantity,
                line_total: l.line_total.get(),
                is_gift: l.is_gift,
            })
            .collect()
    }
    /// State changes, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Vec<OrderEvent> {
        let staff = ctx.data_opt::<StaffView>().is_some();
        self.0
            .history
            .iter()
            .map(|h| OrderEvent {
                actor: staff.then(|| h.actor.clone()),
                from_status: h.from_status.clone(),
                to_status: h.to_status.clone(),
                note: if staff {
                    h.note.clone()
                } else {
                    h.customer_note().to_owned()
                },
                at: seoul(h.created_at),
            })
            .collect()
    }
    /// The carrier's tracking page, once shipped.
    async fn tracking_url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if !self.0.status.has_shipped() {
            return Ok(None);
        }
        let mut conn = ctx.data::<PgPool>()?.acquire().await.gql(ctx)?;
        commerce::shipping::tracking_url_of(&mut conn, self.0.id).await.gql(ctx)
    }
    /// Refunds recorded so far, won.
    async fn refunded(&self) -> i64 {
        self.0.refunded.get()
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
            Ok(o) => Ok(Some(Order(o))),
            Err(e) => Err(to_gql(&e, lang(ctx))),
        }
    }
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
            order: order.map(Order),
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
        let me = session::customer(ctx).await?;
        let result =
            order::cancel_by_customer(pool, &input.number, input.email.as_deref(), me, input.reason.as_deref()).await;
        OrderPayload::from(ctx, result)
    }
}

/// The orders of the signed-in customer, newest first.
pub async fn my_orders(ctx: &Context<'_>, first: Option<i64>, after: Option<String>) -> Result<OrderConnection> {
    let me = session::require_customer(ctx).await?;
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
        nodes: orders.into_iter().map(Order).collect(),
        has_next,
    })
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
            self.nodes.first().map(|o| o.0.id.to_string()),
            self.nodes.last().map(|o| o.0.id.to_string()),
        )
    }
}

/// An order and its cursor.
pub struct OrderEdge<'a>(&'a Order);

#[Object]
impl OrderEdge<'_> {
    /// Pass as `after`.
    async fn cursor(&self) -> String {
        self.0.0.id.to_string()
    }
    /// The order.
    async fn node(&self) -> &Order {
        self.0
    }
}
