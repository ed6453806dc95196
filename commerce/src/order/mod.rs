//! Orders: reading them, and every transition after checkout (owns `orders`,
//! `order_lines`, `order_history`, `payments`, `refunds`; releases allocations in
//! `variants` with a `stock_movements` row each).

pub mod admin;
mod cancel;
mod deposit;
mod returns;
mod status;
mod transition;

use std::fmt;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool, types::Json};

pub use cancel::{cancel, cancel_by_customer, cancel_in};
pub(crate) use cancel::{cancel_with, owned_for_update};
pub use deposit::{confirm_deposit, confirm_deposit_in, expire_unpaid};
pub use returns::request_return;
pub use status::{OrderStatus, Transition};
pub use transition::{release_allocation, transition};

use crate::{
    Error, Won,
    address::PostalAddress,
    ids::{CustomerId, OrderId, OrderLineId, ProductId, RefundId, ReturnRequestId, ShipmentId, StaffId, VariantId},
    types::{Email, mask_digits, mask_name, parse_name},
};

/// The withdrawal period (청약철회, 전자상거래법 §17): a delivered order may be returned until
/// the end of the 7th day (Seoul) after the day of delivery.
pub const WITHDRAWAL_DAYS: i64 = 7;

/// Who did something, for history and audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in customer.
    Customer(CustomerId),
    /// A guest who proved the order's e-mail.
    Guest,
    /// A staff member.
    Staff(StaffId),
    /// A scheduled job.
    System,
}

impl Actor {
    /// `customer:cus_…`, `guest`, `staff:stf_…`, `system`.
    pub fn label(self) -> String {
        match self {
            Actor::Customer(id) => format!("customer:{id}"),
            Actor::Guest => "guest".into(),
            Actor::Staff(id) => format!("staff:{id}"),
            Actor::System => "system".into(),
        }
    }
}

/// An order line: a snapshot of what was bought.
#[derive(Clone, Debug, Deserialize)]
pub struct OrderLine {
    /// Its id.
    pub id: OrderLineId,
    /// The variant, unless deleted since.
    pub variant_id: Option<VariantId>,
    /// The product, unless deleted since.
    pub product_id: Option<ProductId>,
    /// Product name at the time.
    pub product_name: String,
    /// Variant name at the time.
    pub variant_name: String,
    /// SKU at the time.
    pub sku: String,
    /// Price per unit charged.
    pub unit_price: Won,
    /// Units.
    pub quantity: i32,
    /// `unit_price × quantity`.
    pub line_total: Won,
    /// A gift with purchase.
    pub is_gift: bool,
}

/// Where to pay by bank transfer.
#[derive(Clone, Debug)]
pub struct DepositInfo {
    /// Bank.
    pub bank: String,
    /// Account number.
    pub account_number: String,
    /// Account holder.
    pub holder: String,
    /// Pay by then.
    pub due_at: DateTime<Utc>,
}

/// One entry of an order's history.
#[derive(Clone, Debug, Deserialize)]
pub struct HistoryEntry {
    /// From (none for creation).
    pub from_status: Option<String>,
    /// To.
    pub to_status: String,
    /// Who.
    pub actor: String,
    /// Why: for staff, every note; see [`HistoryEntry::customer_note`] for the customer.
    pub note: String,
    /// Whether the customer may read `note`: only what they wrote themselves (a cancel
    /// reason). Staff notes and system texts are internal.
    pub note_for_customer: bool,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl HistoryEntry {
    /// The note as the customer may see it: their own words, else empty.
    pub fn customer_note(&self) -> &str {
        if self.note_for_customer { &self.note } else { "" }
    }
}

/// One parcel of an order (owned by `shipping`, read with the order).
#[derive(Clone, Debug, Deserialize)]
pub struct Shipment {
    /// Its id.
    pub id: ShipmentId,
    /// The carrier's code, e.g. `CJ`.
    pub carrier_code: String,
    /// The carrier's name, e.g. `CJ대한통운`.
    pub carrier_name: String,
    /// Digits.
    pub tracking_number: String,
    /// The carrier's tracking page for it.
    pub tracking_url: String,
    /// Handed to the carrier at.
    pub shipped_at: DateTime<Utc>,
    /// Delivered at, once delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The account a bank-transfer payment is refunded to (환불 계좌): personal data, never
/// logged (`Debug` masks it), shown to staff who see personal data only.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct RefundAccount {
    /// Bank, e.g. `국민은행`.
    pub bank: String,
    /// Account number, digits.
    pub number: String,
    /// Account holder (예금주).
    pub holder: String,
}

impl fmt::Debug for RefundAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.masked();
        f.debug_struct("RefundAccount")
            .field("bank", &m.bank)
            .field("number", &m.number)
            .field("holder", &m.holder)
            .finish()
    }
}

impl RefundAccount {
    /// Checks an account as entered: a bank of 1–40 characters, a number of 6–20 digits
    /// (dashes and spaces dropped), a holder's name. Errors: `INVALID_INPUT` on
    /// `refundAccount.bank`, `refundAccount.number` or `refundAccount.holder`.
    pub fn parse(bank: &str, number: &str, holder: &str) -> Result<RefundAccount, Error> {
        let bank = bank.trim();
        if bank.is_empty() || bank.chars().count() > 40 {
            return Err(Error::Invalid {
                field: "refundAccount.bank",
                reason: "1–40 characters".into(),
            });
        }
        let digits: String = number.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if !(6..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Invalid {
                field: "refundAccount.number",
                reason: "6–20 digits (dashes allowed)".into(),
            });
        }
        Ok(RefundAccount {
            bank: bank.to_owned(),
            number: digits,
            holder: parse_name(holder, "refundAccount.holder")?,
        })
    }

    /// As staff who don't see personal data see it: the bank, the last four digits, 홍*동.
    #[must_use]
    pub fn masked(&self) -> RefundAccount {
        RefundAccount {
            bank: self.bank.clone(),
            number: mask_digits(&self.number),
            holder: mask_name(&self.holder),
        }
    }
}

/// A refund recorded for an order (its own row, never an edit of the order).
#[derive(Clone, Debug, Deserialize)]
pub struct Refund {
    /// Its id.
    pub id: RefundId,
    /// How much.
    pub amount: Won,
    /// Why: for staff, always; for the customer, only what they wrote (see
    /// [`Order::for_customer`]).
    pub reason: String,
    /// `PENDING` (to pay out), `DONE` or `FAILED`.
    pub status: String,
    /// Where a bank-transfer refund goes, when the customer gave it (a guest's cancel).
    pub account: Option<RefundAccount>,
    /// Who recorded it (`customer:…`, `guest`, `staff:…`); empty for the customer.
    pub actor: String,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
}

/// A customer's return request (청약철회) of some lines of a delivered order.
#[derive(Clone, Debug, Deserialize)]
pub struct ReturnRequest {
    /// Its id.
    pub id: ReturnRequestId,
    /// The customer's reason.
    pub reason: String,
    /// The lines to return.
    pub line_ids: Vec<OrderLineId>,
    /// Who asked (`customer:…` or `guest`); empty for the customer.
    pub actor: String,
    /// Asked at.
    pub created_at: DateTime<Utc>,
}

/// An order with its lines and history.
#[derive(Clone, Debug)]
pub struct Order {
    /// Its id.
    pub id: OrderId,
    /// `YYYYMMDD-NNNNNN`.
    pub number: String,
    /// Where it is.
    pub status: OrderStatus,
    /// `PC_WEB`, `MOBILE_WEB`, `APP`, `EXTERNAL`.
    pub channel: String,
    /// For `EXTERNAL`: the marketplace.
    pub channel_source: Option<String>,
    /// The member who ordered, if signed in.
    pub customer_id: Option<CustomerId>,
    /// Orderer e-mail.
    pub email: String,
    /// Orderer phone, digits.
    pub phone: String,
    /// 주문자.
    pub orderer_name: String,
    /// Where it goes.
    pub shipping_address: PostalAddress,
    /// 배송 메모.
    pub delivery_note: String,
    /// `BANK_TRANSFER`, …
    pub payment_method: String,
    /// Products subtotal.
    pub subtotal: Won,
    /// Coupon discount.
    pub discount: Won,
    /// Shipping fee.
    pub shipping_fee: Won,
    /// Charged.
    pub total: Won,
    /// VAT-exempt part.
    pub tax_free_amount: Won,
    /// VAT inside the total.
    pub vat: Won,
    /// The coupon used.
    pub coupon_code: Option<String>,
    /// Bank transfer details while awaiting the deposit.
    pub deposit: Option<DepositInfo>,
    /// 입금자명: the name the bank-transfer deposit is expected under (bank transfer only).
    pub depositor_name: Option<String>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Refunds recorded so far.
    pub refunded: Won,
    /// Placed at.
    pub created_at: DateTime<Utc>,
    /// Lines in order.
    pub lines: Vec<OrderLine>,
    /// Transitions, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Parcels, oldest first.
    pub shipments: Vec<Shipment>,
    /// Refunds, oldest first.
    pub refunds: Vec<Refund>,
    /// Return requests, oldest first.
    pub return_requests: Vec<ReturnRequest>,
}

impl Order {
    /// The order as the staff member `by` may see it: whole for the roles that see personal
    /// data, else [`Order::masked`]. Every order handed to staff goes through this.
    #[must_use]
    pub fn seen_by(self, by: crate::staff::Principal) -> Order {
        if by.sees_personal_data() { self } else { self.masked() }
    }

    /// The order as its customer sees it: history keeps status changes and times, and only
    /// the notes the customer wrote (staff notes and actors stay internal). Every order
    /// handed to the storefront goes through this.
    /// Refunds keep amount, status and time, and a reason only when the customer wrote it;
    /// the refund account and actors stay internal.
    #[must_use]
    pub fn for_customer(mut self) -> Order {
        for h in &mut self.history {
            if !h.note_for_customer {
                h.note.clear();
            }
            h.actor.clear();
        }
        for r in &mut self.refunds {
            if !(r.actor == "guest" || r.actor.starts_with("customer:")) {
                r.reason.clear();
            }
            r.actor.clear();
            r.account = None;
        }
        for r in &mut self.return_requests {
            r.actor.clear();
        }
        self
    }

    /// Whether the customer may cancel the order now (before it ships; see
    /// [`Transition::Cancel`]).
    pub fn can_cancel(&self) -> bool {
        self.status.apply(Transition::Cancel).is_ok()
    }

    /// When the order was delivered: the latest move from `SHIPPED` to `DELIVERED` (a
    /// refused return moves it back to `DELIVERED` without restarting the period).
    pub fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.history
            .iter()
            .rev()
            .find(|h| h.to_status == "DELIVERED" && h.from_status.as_deref() == Some("SHIPPED"))
            .map(|h| h.created_at)
    }

    /// The end of the withdrawal period: midnight (Seoul) after the [`WITHDRAWAL_DAYS`]th day
    /// following the day of delivery; `None` before delivery.
    pub fn return_deadline(&self) -> Option<DateTime<Utc>> {
        let delivered = self.delivered_at()?.with_timezone(&crate::SHOP_TZ).date_naive();
        let end = (delivered + Duration::days(WITHDRAWAL_DAYS + 1)).and_hms_opt(0, 0, 0)?;
        crate::SHOP_TZ
            .from_local_datetime(&end)
            .single()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Whether the customer may ask for a return at `now`: delivered, within the period.
    pub fn can_request_return(&self, now: DateTime<Utc>) -> bool {
        self.status.apply(Transition::RequestReturn).is_ok() && self.return_deadline().is_some_and(|d| now < d)
    }

    /// Where to send the money, while the order still waits for its bank transfer; `None`
    /// once paid, expired or cancelled.
    pub fn awaited_deposit(&self) -> Option<&DepositInfo> {
        self.deposit
            .as_ref()
            .filter(|_| self.status == OrderStatus::AwaitingDeposit)
    }

    /// The order as staff who don't need personal data see it: 홍*동, 010-****-5678,
    /// ho***@example.com, no detail address.
    #[must_use]
    pub fn masked(mut self) -> Order {
        use crate::types::{mask_email, mask_name, mask_phone};
        self.email = mask_email(&self.email);
        self.phone = mask_phone(&self.phone);
        self.orderer_name = mask_name(&self.orderer_name);
        self.shipping_address = self.shipping_address.masked();
        self.delivery_note = String::new();
        self.depositor_name = self.depositor_name.as_deref().map(mask_name);
        for r in &mut self.refunds {
            r.account = r.account.as_ref().map(RefundAccount::masked);
        }
        self
    }
}

/// How to find one order.
#[derive(Clone, Debug)]
pub enum OrderKey<'a> {
    /// By id.
    Id(OrderId),
    /// By number.
    Number(&'a str),
}

/// An order by id or number, with lines and history, in one statement; `None` if none.
pub async fn get(conn: &mut PgConnection, key: &OrderKey<'_>) -> Result<Option<Order>, Error> {
    let found = match key {
        OrderKey::Id(id) => load(conn, &[id.0], None).await?,
        OrderKey::Number(n) => load(conn, &[], Some(*n)).await?,
    };
    Ok(found.into_iter().next())
}

/// Orders by id, with lines and history, in one statement (a page of a listing without a
/// statement per order), in the order of `ids`; ids without an order are left out.
pub async fn get_many(conn: &mut PgConnection, ids: &[OrderId]) -> Result<Vec<Order>, Error> {
    let raw: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    let mut orders = load(conn, &raw, None).await?;
    orders.sort_by_key(|o| ids.iter().position(|id| *id == o.id));
    Ok(orders)
}

/// The orders whose id is one of `ids` or whose number is `number`, in one statement.
#[allow(clippy::too_many_lines)] // one statement (an order with everything it carries) and its mapping
async fn load(conn: &mut PgConnection, ids: &[uuid::Uuid], number: Option<&str>) -> Result<Vec<Order>, Error> {
    let rows = sqlx::query!(
        r#"SELECT o.id AS "id: OrderId", o.number, o.status, o.channel, o.channel_source,
                  o.customer_id AS "customer_id: CustomerId", o.email, o.phone, o.orderer_name,
                  o.recipient, o.recipient_phone, o.zonecode, o.road_address, o.jibun_address,
                  o.building_name, o.detail_address, o.delivery_note, o.payment_method,
                  o.subtotal AS "subtotal: Won", o.discount AS "discount: Won",
                  o.shipping_fee AS "shipping_fee: Won", o.total AS "total: Won",
                  o.tax_free_amount AS "tax_free_amount: Won", o.vat AS "vat: Won", o.coupon_code,
                  o.deposit_bank, o.deposit_account, o.deposit_holder, o.deposit_due_at, o.depositor_name,
                  o.paid_at, o.cancelled_at, o.created_at,
                  (SELECT COALESCE(sum(f.amount), 0)::int8 FROM refunds f WHERE f.order_id = o.id) AS "refunded!: Won",
                  (SELECT json_agg(json_build_object('id', l.id, 'variant_id', l.variant_id,
                       'product_id', l.product_id, 'product_name', l.product_name,
                       'variant_name', l.variant_name, 'sku', l.sku, 'unit_price', l.unit_price,
                       'quantity', l.quantity, 'line_total', l.line_total, 'is_gift', l.is_gift)
                     ORDER BY l.position) FROM order_lines l WHERE l.order_id = o.id)
                  AS "lines!: Json<Vec<OrderLine>>",
                  (SELECT json_agg(json_build_object('from_status', h.from_status, 'to_status', h.to_status,
                       'actor', h.actor, 'note', h.note, 'note_for_customer', h.note_for_customer,
                       'created_at', h.created_at) ORDER BY h.id)
                     FROM order_history h WHERE h.order_id = o.id)
                  AS "history!: Json<Vec<HistoryEntry>>",
                  (SELECT COALESCE(json_agg(json_build_object('id', s.id, 'carrier_code', s.carrier_code,
                       'carrier_name', c.name, 'tracking_number', s.tracking_number,
                       'tracking_url', replace(c.tracking_url_template, '{n}', s.tracking_number),
                       'shipped_at', s.created_at, 'delivered_at', s.delivered_at) ORDER BY s.created_at, s.id), '[]')
                     FROM shipments s JOIN carriers c ON c.code = s.carrier_code WHERE s.order_id = o.id)
                  AS "shipments!: Json<Vec<Shipment>>",
                  (SELECT COALESCE(json_agg(json_build_object('id', f.id, 'amount', f.amount, 'reason', f.reason,
                       'status', f.status, 'actor', f.actor, 'created_at', f.created_at,
                       'account', CASE WHEN f.account_bank IS NULL THEN NULL ELSE json_build_object(
                           'bank', f.account_bank, 'number', f.account_number, 'holder', f.account_holder) END)
                     ORDER BY f.created_at, f.id), '[]')
                     FROM refunds f WHERE f.order_id = o.id)
                  AS "refunds!: Json<Vec<Refund>>",
                  (SELECT COALESCE(json_agg(json_build_object('id', r.id, 'reason', r.reason, 'actor', r.actor,
                       'created_at', r.created_at,
                       'line_ids', (SELECT COALESCE(json_agg(rl.order_line_id), '[]') FROM return_request_lines rl
                                     WHERE rl.return_request_id = r.id)) ORDER BY r.created_at, r.id), '[]')
                     FROM return_requests r WHERE r.order_id = o.id)
                  AS "return_requests!: Json<Vec<ReturnRequest>>"
             FROM orders o
            WHERE o.id = ANY($1) OR o.number = $2"#,
        ids,
        number,
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let deposit = match (r.deposit_bank, r.deposit_account, r.deposit_holder, r.deposit_due_at) {
                (Some(bank), Some(account_number), Some(holder), Some(due_at)) => Some(DepositInfo {
                    bank,
                    account_number,
                    holder,
                    due_at,
                }),
                _ => None,
            };
            Ok(Order {
                id: r.id,
                number: r.number,
                status: OrderStatus::parse(&r.status)?,
                channel: r.channel,
                channel_source: r.channel_source,
                customer_id: r.customer_id,
                email: r.email,
                phone: r.phone,
                orderer_name: r.orderer_name,
                shipping_address: PostalAddress {
                    recipient: r.recipient,
                    phone: r.recipient_phone,
                    zonecode: r.zonecode,
                    road_address: r.road_address,
                    jibun_address: r.jibun_address,
                    building_name: r.building_name,
                    detail_address: r.detail_address,
                },
                delivery_note: r.delivery_note,
                payment_method: r.payment_method,
                subtotal: r.subtotal,
                discount: r.discount,
                shipping_fee: r.shipping_fee,
                total: r.total,
                tax_free_amount: r.tax_free_amount,
                vat: r.vat,
                coupon_code: r.coupon_code,
                deposit,
                depositor_name: r.depositor_name,
                paid_at: r.paid_at,
                cancelled_at: r.cancelled_at,
                refunded: r.refunded,
                created_at: r.created_at,
                lines: r.lines.0,
                history: r.history.0,
                shipments: r.shipments.0,
                refunds: r.refunds.0,
                return_requests: r.return_requests.0,
            })
        })
        .collect()
}

/// A guest's order: by number and the e-mail it was placed with, as the customer sees it
/// ([`Order::for_customer`]). `NOT_FOUND` for either mismatch, so numbers can't be probed.
pub async fn by_number_and_email(pool: &PgPool, number: &str, email: &str) -> Result<Order, Error> {
    let email = Email::parse(email).map_err(|_| Error::NotFound { what: "order" })?;
    let mut conn = pool.acquire().await?;
    match get(&mut conn, &OrderKey::Number(number.trim())).await? {
        Some(o) if o.email == email.as_str() => Ok(o.for_customer()),
        _ => Err(Error::NotFound { what: "order" }),
    }
}

/// A signed-in member's own order by number, as they see it ([`Order::for_customer`]).
/// Errors: `NOT_FOUND` (no such order, or someone else's: the same answer).
pub async fn of_customer_by_number(pool: &PgPool, customer: CustomerId, number: &str) -> Result<Order, Error> {
    let mut conn = pool.acquire().await?;
    match get(&mut conn, &OrderKey::Number(number.trim())).await? {
        Some(o) if o.customer_id == Some(customer) => Ok(o.for_customer()),
        _ => Err(Error::NotFound { what: "order" }),
    }
}

/// A member's orders as they see them, newest first, a page at a time (keyset on
/// `created_at, id`).
pub async fn of_customer(
    pool: &PgPool,
    customer: CustomerId,
    first: u32,
    before: Option<(DateTime<Utc>, OrderId)>,
) -> Result<(Vec<Order>, bool), Error> {
    let mut conn = pool.acquire().await?;
    let (at, id) = before.map_or((None, None), |(at, id)| (Some(at), Some(id.0)));
    let ids = sqlx::query_scalar!(
        r#"SELECT id AS "id: OrderId" FROM orders
            WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
            ORDER BY created_at DESC, id DESC LIMIT $4"#,
        customer as CustomerId,
        at,
        id,
        i64::from(first) + 1,
    )
    .fetch_all(&mut *conn)
    .await?;
    let has_next = ids.len() > first as usize;
    let page = get_many(&mut conn, &ids[..ids.len().min(first as usize)]).await?;
    Ok((page.into_iter().map(Order::for_customer).collect(), has_next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(from: Option<&str>, to: &str, at: &str) -> HistoryEntry {
        HistoryEntry {
            from_status: from.map(str::to_owned),
            to_status: to.into(),
            actor: "system".into(),
            note: String::new(),
            note_for_customer: false,
            created_at: at.parse().expect("time"),
        }
    }

    fn delivered(history: Vec<HistoryEntry>) -> Order {
        Order {
            id: OrderId::generate(),
            number: "20261202-000001".into(),
            status: OrderStatus::Delivered,
            channel: "PC_WEB".into(),
            channel_source: None,
            customer_id: None,
            email: "a@example.com".into(),
            phone: "01012345678".into(),
            orderer_name: "홍길동".into(),
            shipping_address: PostalAddress {
                recipient: "홍길동".into(),
                phone: "01012345678".into(),
                zonecode: "06236".into(),
                road_address: "서울특별시 강남구 테헤란로 152".into(),
                jibun_address: String::new(),
                building_name: String::new(),
                detail_address: String::new(),
            },
            delivery_note: String::new(),
            payment_method: "BANK_TRANSFER".into(),
            subtotal: Won::ZERO,
            discount: Won::ZERO,
            shipping_fee: Won::ZERO,
            total: Won::ZERO,
            tax_free_amount: Won::ZERO,
            vat: Won::ZERO,
            coupon_code: None,
            deposit: None,
            depositor_name: Some("홍길동".into()),
            paid_at: None,
            cancelled_at: None,
            refunded: Won::ZERO,
            created_at: Utc::now(),
            lines: Vec::new(),
            history,
            shipments: Vec::new(),
            refunds: Vec::new(),
            return_requests: Vec::new(),
        }
    }

    #[test]
    fn the_return_period_ends_at_midnight_seoul_after_the_seventh_day() {
        // Delivered 2026-12-01 23:30 in Seoul (14:30 UTC): the period runs through 12-08.
        let o = delivered(vec![
            entry(Some("SHIPPED"), "DELIVERED", "2026-12-01T14:30:00Z"),
            entry(Some("DELIVERED"), "RETURN_REQUESTED", "2026-12-02T00:00:00Z"),
            entry(Some("RETURN_REQUESTED"), "DELIVERED", "2026-12-03T00:00:00Z"),
        ]);
        let deadline = o.return_deadline().expect("delivered");
        assert_eq!(
            deadline.to_rfc3339(),
            "2026-12-08T15:00:00+00:00",
            "a refused return does not restart it"
        );
        let just_before = deadline - Duration::seconds(1);
        assert!(o.can_request_return(just_before));
        assert!(!o.can_request_return(deadline));
        assert!(!o.can_cancel());
        assert_eq!(delivered(Vec::new()).return_deadline(), None);
    }

    #[test]
    fn refund_accounts_are_checked_and_masked() {
        let a = RefundAccount::parse(" 국민은행 ", "123456-01-234567", "홍길동").expect("valid");
        assert_eq!(a.number, "12345601234567");
        let m = a.masked();
        assert_eq!((m.number.as_str(), m.holder.as_str()), ("**********4567", "홍*동"));
        let shown = format!("{a:?}");
        assert!(!shown.contains("123456") && !shown.contains("홍길동"), "{shown}");
        for (bank, number, holder, field) in [
            ("", "1234567890", "홍길동", "refundAccount.bank"),
            ("국민은행", "12-34", "홍길동", "refundAccount.number"),
            ("국민은행", "12345a7890", "홍길동", "refundAccount.number"),
            ("국민은행", "1234567890", " ", "refundAccount.holder"),
        ] {
            match RefundAccount::parse(bank, number, holder) {
                Err(Error::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_customer_sees_their_own_refund_reasons_only_and_no_accounts() {
        let mut o = delivered(Vec::new());
        let refund = |actor: &str, reason: &str| Refund {
            id: RefundId::generate(),
            amount: Won::new(1000).expect("won"),
            reason: reason.into(),
            status: "PENDING".into(),
            account: RefundAccount::parse("국민은행", "1234567890", "홍길동").ok(),
            actor: actor.into(),
            created_at: Utc::now(),
        };
        o.refunds = vec![refund("guest", "주소 오류"), refund("staff:stf_1", "블랙리스트")];
        let staff = o.clone().masked();
        assert_eq!(
            staff.refunds[0].account.as_ref().map(|a| a.holder.as_str()),
            Some("홍*동")
        );
        assert_eq!(staff.depositor_name.as_deref(), Some("홍*동"));
        let c = o.for_customer();
        assert_eq!(
            (c.refunds[0].reason.as_str(), c.refunds[1].reason.as_str()),
            ("주소 오류", "")
        );
        assert!(c.refunds.iter().all(|r| r.account.is_none() && r.actor.is_empty()));
    }
}
