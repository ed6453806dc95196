//! Orders for staff: listing (filters, sorts, keyset cursors) and counts, deposits,
//! cancels and refunds (`money`), status changes and the staff memo, each checked against the staff
//! member's role here in the core and written to the audit log in the same transaction.
//! What staff see beyond the customer's view of an order ([`StaffOrder`]) is read here too.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{Actor, Order, OrderKey, OrderStatus, Transition, get, get_many, transition};
use crate::{
    Error, Won,
    catalog::Direction,
    ids::{CustomerId, OrderId},
    pagination::Page,
    staff::{Permission, Principal, audit},
};

mod money;

pub use money::{cancel_by_staff, mark_deposited, refund};

/// Which orders to list. Every given condition must hold.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only in this state.
    pub status: Option<OrderStatus>,
    /// Only in one of these states (an empty list matches nothing).
    pub statuses: Option<Vec<OrderStatus>>,
    /// Only from this channel (`PC_WEB`, …).
    pub channel: Option<String>,
    /// Only paid this way (`BANK_TRANSFER`, …).
    pub payment_method: Option<String>,
    /// Only this member's.
    pub customer: Option<CustomerId>,
    /// Only orders still awaiting their deposit whose due time is before this.
    pub deposit_due_before: Option<DateTime<Utc>>,
    /// Only orders changed at or after this (a sync's high-water mark).
    pub updated_since: Option<DateTime<Utc>>,
    /// Placed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Placed before.
    pub to: Option<DateTime<Utc>>,
    /// Order number, orderer or recipient name, or phone (any part). Roles that don't see
    /// personal data (the Slack bot) find by order number (any part), by the exact whole
    /// orderer or recipient name, or by exactly the last four digits of a phone: never by
    /// a part of a name or a longer part of a phone, since that would unmask what they see
    /// masked, or let them enumerate customers.
    pub search: Option<String>,
}

/// What an order list is sorted by (the id breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OrderSortField {
    /// When it was placed.
    #[default]
    CreatedAt,
    /// When it last changed.
    UpdatedAt,
    /// What it charged.
    Total,
}

/// An order list's sort: field and direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderSort {
    /// What to sort by.
    pub field: OrderSortField,
    /// Which way.
    pub direction: Direction,
}

impl Default for OrderSort {
    /// Newest first.
    fn default() -> OrderSort {
        OrderSort {
            field: OrderSortField::CreatedAt,
            direction: Direction::Desc,
        }
    }
}

/// A keyset cursor: the sort it belongs to, the sort key of the last item seen (micros
/// since the epoch, or won) and its id. Opaque to clients (base64url JSON).
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// Sort tag, so a cursor of one sort is refused by another.
    s: String,
    /// The key.
    k: i64,
    /// The id.
    i: uuid::Uuid,
}

fn sort_tag(sort: OrderSort) -> String {
    let f = match sort.field {
        OrderSortField::CreatedAt => "c",
        OrderSortField::UpdatedAt => "u",
        OrderSortField::Total => "t",
    };
    let d = match sort.direction {
        Direction::Asc => "a",
        Direction::Desc => "d",
    };
    format!("{f}{d}")
}

fn encode_cursor(sort: OrderSort, key: i64, id: OrderId) -> String {
    let c = Cursor {
        s: sort_tag(sort),
        k: key,
        i: id.0,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap_or_default())
}

/// The key and id a cursor points after. `INVALID_CURSOR` when it is not one of ours or
/// belongs to another sort.
fn decode_cursor(sort: OrderSort, cursor: &str) -> Result<(i64, uuid::Uuid), Error> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Error::InvalidCursor)?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| Error::InvalidCursor)?;
    (c.s == sort_tag(sort))
        .then_some((c.k, c.i))
        .ok_or(Error::InvalidCursor)
}

/// One row of a page of ids: the order, its sort keys, and the count when asked for.
struct PageRow {
    id: Option<OrderId>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    total: Option<i64>,
    count: Option<i64>,
}

/// The parameters of a page of ids, named for [`page_query`].
struct PageArgs {
    after: Option<uuid::Uuid>,
    after_key: i64,
    status: Option<&'static str>,
    statuses: Option<Vec<String>>,
    channel: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    pattern: Option<String>,
    digits: String,
    /// The whole search, for the exact name match of roles that see masked data.
    exact: Option<String>,
    /// The search when it is exactly four digits: the end of a phone number, which masked
    /// data shows anyway (`010-****-5678`).
    last4: Option<String>,
    limit: i64,
    personal: bool,
    count: bool,
    payment_method: Option<String>,
    customer: Option<uuid::Uuid>,
    due_before: Option<DateTime<Utc>>,
    updated_since: Option<DateTime<Utc>>,
}

/// What `filter.search` looks for (see [`OrderFilter::search`]); all `None` without one.
#[derive(Debug, Default, PartialEq, Eq)]
struct Search {
    /// Any part of a number (and, for roles that see personal data, of a name).
    pattern: Option<String>,
    /// Its digits, for any part of a phone (roles that see personal data).
    digits: String,
    /// The whole search, for a whole name (roles that see masked data).
    exact: Option<String>,
    /// The search when it is exactly four digits, for a phone's end.
    last4: Option<String>,
}

impl Search {
    fn parse(search: Option<&str>) -> Search {
        let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) else {
            return Search::default();
        };
        Search {
            pattern: Some(crate::types::contains_pattern(s)),
            digits: s.chars().filter(char::is_ascii_digit).collect(),
            exact: Some(s.to_owned()),
            last4: Some(s.to_owned()).filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())),
        }
    }
}

/// One page of ids in one sort: the filter is written once (`m`, inlined into both uses);
/// the count runs only when asked for, and the one-row `t` carries it even when the page
/// is empty. Each sort is its own static statement, so each can use its index.
macro_rules! page_query {
    ($conn:expr, $a:ident, $key:tt, $cursor_key:tt, $cmp:tt, $dir:tt) => {
        sqlx::query!(
            r#"WITH m AS NOT MATERIALIZED (
                   SELECT o.id, o.created_at, o.updated_at, o.total FROM orders o
                    WHERE ($2::text IS NULL OR o.status = $2)
                      AND ($11::text[] IS NULL OR o.status = ANY($11))
                      AND ($3::text IS NULL OR o.channel = $3)
                      AND ($12::text IS NULL OR o.payment_method = $12)
                      AND ($13::uuid IS NULL OR o.customer_id = $13)
                      AND ($14::timestamptz IS NULL OR (o.status = 'AWAITING_DEPOSIT' AND o.deposit_due_at < $14))
                      AND ($15::timestamptz IS NULL OR o.updated_at >= $15)
                      AND ($4::timestamptz IS NULL OR o.created_at >= $4)
                      AND ($5::timestamptz IS NULL OR o.created_at < $5)
                      AND ($6::text IS NULL OR o.number LIKE $6
                           OR ($9 AND (o.orderer_name LIKE $6 OR o.recipient LIKE $6
                               OR ($7 <> '' AND (o.phone LIKE '%' || $7 || '%' OR o.recipient_phone LIKE '%' || $7 || '%'))))
                           OR (NOT $9 AND (o.orderer_name = $17 OR o.recipient = $17
                               OR right(o.phone, 4) = $18 OR right(o.recipient_phone, 4) = $18))))
               SELECT p.id AS "id?: OrderId", p.created_at AS "created_at?", p.updated_at AS "updated_at?",
                      p.total AS "total?", t.n AS "count"
                 FROM (SELECT CASE WHEN $10 THEN (SELECT count(*) FROM m) END AS n) t
                 LEFT JOIN LATERAL (
                      SELECT m.id, m.created_at, m.updated_at, m.total FROM m
                       WHERE $1::uuid IS NULL OR (m."#
                + $key
                + ", m.id) "
                + $cmp
                + " ("
                + $cursor_key
                + ", $1) ORDER BY m."
                + $key
                + " "
                + $dir
                + ", m.id "
                + $dir
                + " LIMIT $8) p ON true ORDER BY p."
                + $key
                + " "
                + $dir
                + ", p.id "
                + $dir,
            $a.after,
            $a.status,
            $a.channel,
            $a.from,
            $a.to,
            $a.pattern,
            $a.digits,
            $a.limit,
            $a.personal,
            $a.count,
            $a.statuses.as_deref(),
            $a.payment_method,
            $a.customer,
            $a.due_before,
            $a.updated_since,
            $a.after_key,
            $a.exact,
            $a.last4,
        )
        .fetch_all(&mut *$conn)
        .await?
        .into_iter()
        .map(|r| PageRow {
            id: r.id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            total: r.total,
            count: r.count,
        })
        .collect::<Vec<PageRow>>()
    };
}

/// Orders a page at a time in `sort` (default newest first; `after`: the cursor of the
/// last item seen), in three statements whatever the page size (the page's ids with the
/// count over all pages when `total`, the orders, what staff see beyond them);
/// `filter.search` looks at parts of names and phones only for roles that see personal
/// data, and at whole names and phones' last four digits for the others (see
/// [`OrderFilter::search`]).
/// Errors: `FORBIDDEN`, `INVALID_CURSOR` (not one of ours, or of another sort).
pub async fn list(
    pool: &PgPool,
    by: Principal,
    filter: &OrderFilter,
    sort: OrderSort,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<StaffOrder>, Error> {
    by.require(Permission::ReadOrders, "list orders")?;
    let after = after.map(|c| decode_cursor(sort, c)).transpose()?;
    let search = Search::parse(filter.search.as_deref());
    let a = PageArgs {
        after: after.map(|(_, id)| id),
        after_key: after.map_or(0, |(k, _)| k),
        status: filter.status.map(OrderStatus::as_str),
        statuses: filter
            .statuses
            .as_ref()
            .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect()),
        channel: filter.channel.clone(),
        from: filter.from,
        to: filter.to,
        pattern: search.pattern,
        digits: search.digits,
        exact: search.exact,
        last4: search.last4,
        limit: i64::from(first) + 1,
        personal: by.sees_personal_data(),
        count: total,
        payment_method: filter.payment_method.clone(),
        customer: filter.customer.map(|c| c.0),
        due_before: filter.deposit_due_before,
        updated_since: filter.updated_since,
    };
    let mut conn = pool.acquire().await?;
    let rows = match (sort.field, sort.direction) {
        (OrderSortField::CreatedAt, Direction::Desc) => page_query!(
            conn,
            a,
            "created_at",
            "'epoch'::timestamptz + $16::int8 * interval '1 microsecond'",
            "<",
            "DESC"
        ),
        (OrderSortField::CreatedAt, Direction::Asc) => page_query!(
            conn,
            a,
            "created_at",
            "'epoch'::timestamptz + $16::int8 * interval '1 microsecond'",
            ">",
            "ASC"
        ),
        (OrderSortField::UpdatedAt, Direction::Desc) => page_query!(
            conn,
            a,
            "updated_at",
            "'epoch'::timestamptz + $16::int8 * interval '1 microsecond'",
            "<",
            "DESC"
        ),
        (OrderSortField::UpdatedAt, Direction::Asc) => page_query!(
            conn,
            a,
            "updated_at",
            "'epoch'::timestamptz + $16::int8 * interval '1 microsecond'",
            ">",
            "ASC"
        ),
        (OrderSortField::Total, Direction::Desc) => page_query!(conn, a, "total", "$16::int8", "<", "DESC"),
        (OrderSortField::Total, Direction::Asc) => page_query!(conn, a, "total", "$16::int8", ">", "ASC"),
    };
    let count = rows.first().and_then(|r| r.count);
    let keyed: Vec<(OrderId, i64)> = rows
        .into_iter()
        .filter_map(|r| {
            let key = match sort.field {
                OrderSortField::CreatedAt => r.created_at.map(|t| t.timestamp_micros()),
                OrderSortField::UpdatedAt => r.updated_at.map(|t| t.timestamp_micros()),
                OrderSortField::Total => r.total,
            };
            Some((r.id?, key?))
        })
        .collect();
    let page = Page::from_rows(keyed, first, count, |(id, key)| (id, encode_cursor(sort, key, id)));
    let ids: Vec<OrderId> = page.items.iter().map(|(id, _)| *id).collect();
    let orders = get_many(&mut conn, &ids).await?;
    let orders = for_staff(&mut conn, by, orders).await?;
    let mut by_id: HashMap<OrderId, StaffOrder> = orders.into_iter().map(|o| (o.order.id, o)).collect();
    let items = page
        .items
        .into_iter()
        .filter_map(|(id, cursor)| Some((by_id.remove(&id)?, cursor)))
        .collect();
    Ok(Page {
        items,
        has_next: page.has_next,
        total: page.total,
    })
}

/// The fields of an order masked for roles that don't see personal data, by their API
/// names: what [`Order::masked`] changes (`bankTransfer` holds the depositor's name too).
const MASKED_ORDER_FIELDS: &[&str] = &[
    "email",
    "phone",
    "ordererName",
    "shippingAddress",
    "deliveryNote",
    "depositorName",
    "bankTransfer",
    "cashReceipt",
];

/// The names of the order fields `by` sees masked (e.g. `phone`); empty when nothing is.
pub fn masked_fields(by: Principal) -> &'static [&'static str] {
    if by.sees_personal_data() {
        &[]
    } else {
        MASKED_ORDER_FIELDS
    }
}

/// An order as staff see it: the order (masked for roles that don't see personal data)
/// and what only staff read.
#[derive(Clone, Debug)]
pub struct StaffOrder {
    /// The order, as `by` may see it ([`Order::seen_by`]).
    pub order: Order,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// 직원 메모: an internal note, never shown to the customer.
    pub staff_memo: Option<String>,
    /// The cash receipt (현금영수증) the customer asked for: its kind and number (the number
    /// masked but for its last four digits for roles that don't see personal data).
    pub cash_receipt: Option<(String, String)>,
    /// The names of the fields shown masked to this staff member.
    pub masked_fields: &'static [&'static str],
    /// The states this staff member can move the order to now, each by its operation
    /// (`orderMarkDeposited`, `orderSetStatus`, `shipmentCreate`, `orderCancel`); empty for
    /// roles that can't change orders.
    pub allowed_transitions: Vec<OrderStatus>,
}

/// The transitions staff make (the others are the customer's, a gateway's or a job's).
const STAFF_TRANSITIONS: &[Transition] = &[
    Transition::ConfirmDeposit,
    Transition::Prepare,
    Transition::Ship,
    Transition::Deliver,
    Transition::Complete,
    Transition::Cancel,
    Transition::RequestReturn,
    Transition::AcceptReturn,
    Transition::RejectReturn,
];

/// The states `by` can move an order in `status` to (see [`StaffOrder::allowed_transitions`]).
pub fn allowed_transitions(by: Principal, status: OrderStatus) -> Vec<OrderStatus> {
    if !by.allows(Permission::WriteOrders) {
        return Vec::new();
    }
    let mut out: Vec<OrderStatus> = Vec::new();
    for t in STAFF_TRANSITIONS {
        if let Ok(next) = status.apply(*t)
            && !out.contains(&next)
        {
            out.push(next);
        }
    }
    out
}

/// Orders as `by` sees them, with what only staff read, in one statement.
async fn for_staff(conn: &mut PgConnection, by: Principal, orders: Vec<Order>) -> Result<Vec<StaffOrder>, Error> {
    let ids: Vec<uuid::Uuid> = orders.iter().map(|o| o.id.0).collect();
    let rows = sqlx::query!(
        r#"SELECT id AS "id: OrderId", updated_at, staff_memo, cash_receipt_type, cash_receipt_number
             FROM orders WHERE id = ANY($1)"#,
        &ids,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut extra: HashMap<OrderId, _> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(orders
        .into_iter()
        .filter_map(|o| {
            let e = extra.remove(&o.id)?;
            Some(StaffOrder {
                allowed_transitions: allowed_transitions(by, o.status),
                order: o.seen_by(by),
                updated_at: e.updated_at,
                staff_memo: e.staff_memo,
                cash_receipt: e.cash_receipt_type.zip(e.cash_receipt_number).map(|(kind, number)| {
                    let number = if by.sees_personal_data() {
                        number
                    } else {
                        crate::types::mask_digits(&number)
                    };
                    (kind, number)
                }),
                masked_fields: masked_fields(by),
            })
        })
        .collect())
}

/// One order as staff see it, in the caller's connection or transaction.
async fn one_for_staff(conn: &mut PgConnection, by: Principal, o: Order) -> Result<StaffOrder, Error> {
    for_staff(conn, by, vec![o])
        .await?
        .pop()
        .ok_or(Error::NotFound { what: "order" })
}

/// An order another module changed (a shipment) as `by` sees it, read again with what only
/// staff read. Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn view(pool: &PgPool, by: Principal, id: OrderId) -> Result<StaffOrder, Error> {
    find(pool, by, &OrderKey::Id(id)).await
}

/// How many orders are in each state, every state listed (zeros included), in the order
/// of [`OrderStatus`]: a dashboard's counts. Errors: `FORBIDDEN`.
pub async fn counts(pool: &PgPool, by: Principal) -> Result<Vec<(OrderStatus, i64)>, Error> {
    use strum::IntoEnumIterator;
    by.require(Permission::ReadOrders, "count orders")?;
    let rows = sqlx::query!(r#"SELECT status, count(*) AS "n!" FROM orders GROUP BY status"#)
        .fetch_all(pool)
        .await?;
    let found: HashMap<String, i64> = rows.into_iter().map(|r| (r.status, r.n)).collect();
    Ok(OrderStatus::iter()
        .map(|s| (s, found.get(s.as_str()).copied().unwrap_or(0)))
        .collect())
}

/// The id of the order `key` names (what people type in Slack is the number).
/// Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn id_of(pool: &PgPool, by: Principal, key: &OrderKey<'_>) -> Result<OrderId, Error> {
    by.require(Permission::ReadOrders, "read orders")?;
    match key {
        OrderKey::Id(id) => Ok(*id),
        OrderKey::Number(n) => {
            sqlx::query_scalar!(r#"SELECT id AS "id: OrderId" FROM orders WHERE number = $1"#, n.trim())
                .fetch_optional(pool)
                .await?
                .ok_or(Error::NotFound { what: "order" })
        }
    }
}

/// One order with its history. Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn find(pool: &PgPool, by: Principal, key: &OrderKey<'_>) -> Result<StaffOrder, Error> {
    by.require(Permission::ReadOrders, "read orders")?;
    let mut conn = pool.acquire().await?;
    let o = get(&mut conn, key).await?.ok_or(Error::NotFound { what: "order" })?;
    one_for_staff(&mut conn, by, o).await
}

/// The longest staff memo, in characters.
pub const MAX_MEMO_CHARS: usize = 2000;

/// Sets (or, when blank, clears) an order's staff memo, audited with its length only (a
/// memo may hold personal data). Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_INPUT` (longer
/// than [`MAX_MEMO_CHARS`]).
pub async fn set_memo(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    memo: &str,
    ip: Option<&str>,
) -> Result<StaffOrder, Error> {
    by.require(Permission::WriteOrders, "write order memos")?;
    let memo = memo.trim();
    let chars = memo.chars().count();
    if chars > MAX_MEMO_CHARS {
        return Err(Error::Invalid {
            field: "memo",
            reason: format!("at most {MAX_MEMO_CHARS} characters"),
        });
    }
    let mut tx = pool.begin().await?;
    let number = sqlx::query_scalar!(
        "UPDATE orders SET staff_memo = NULLIF($2, ''), updated_at = now() WHERE id = $1 RETURNING number",
        id as OrderId,
        memo,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "order" })?;
    audit(&mut tx, by, "order.memo", &number, json!({ "chars": chars }), ip).await?;
    let o = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let after = one_for_staff(&mut tx, by, o).await?;
    tx.commit().await?;
    Ok(after)
}

/// A payment of an order (a deposit confirmed, a gateway's approval or failure).
#[derive(Clone, Debug)]
pub struct Payment {
    /// The order.
    pub order_id: OrderId,
    /// How: `BANK_TRANSFER`, …
    pub method: String,
    /// Who processed it: `BANK_TRANSFER`, `TOSS`, …
    pub provider: String,
    /// How much.
    pub amount: Won,
    /// `READY`, `WAITING_FOR_DEPOSIT`, `PAID`, `PARTIAL_CANCELLED`, `CANCELLED`, `FAILED`.
    pub status: String,
    /// When the money arrived.
    pub paid_at: Option<DateTime<Utc>>,
    /// The gateway's receipt page.
    pub receipt_url: Option<String>,
    /// When the attempt began.
    pub created_at: DateTime<Utc>,
}

/// The payments of many orders, oldest first, in one statement (a page's orders at once).
/// Errors: none but faults (`INTERNAL`).
pub async fn payments_of(conn: &mut PgConnection, orders: &[OrderId]) -> Result<Vec<Payment>, Error> {
    let ids: Vec<uuid::Uuid> = orders.iter().map(|o| o.0).collect();
    Ok(sqlx::query_as!(
        Payment,
        r#"SELECT order_id AS "order_id: OrderId", method, provider, amount AS "amount: Won", status,
                  COALESCE(paid_at, CASE WHEN provider = 'BANK_TRANSFER' AND status = 'PAID' THEN created_at END)
                      AS paid_at,
                  receipt_url, created_at
             FROM payments WHERE order_id = ANY($1) ORDER BY created_at, id"#,
        &ids,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Moves an order along the state machine to `target`: `PREPARING`, `DELIVERED`,
/// `COMPLETED`, `RETURN_REQUESTED`, `RETURNED`. Paying, shipping and cancelling have their
/// own operations. Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_STATE`.
pub async fn set_status(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    target: OrderStatus,
    note: &str,
    ip: Option<&str>,
) -> Result<StaffOrder, Error> {
    by.require(Permission::WriteOrders, "change order status")?;
    let mut tx = pool.begin().await?;
    let o = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let t = match (o.status, target) {
        (_, OrderStatus::Preparing) => Transition::Prepare,
        (_, OrderStatus::Delivered) if o.status == OrderStatus::ReturnRequested => Transition::RejectReturn,
        (_, OrderStatus::Delivered) => Transition::Deliver,
        (_, OrderStatus::Completed) => Transition::Complete,
        (_, OrderStatus::ReturnRequested) => Transition::RequestReturn,
        (_, OrderStatus::Returned) => Transition::AcceptReturn,
        (from, _) => {
            return Err(Error::InvalidState {
                from,
                action: "set this status of (use its own operation)",
            });
        }
    };
    transition(&mut tx, id, t, Actor::Staff(by.id), note).await?;
    audit(
        &mut tx,
        by,
        "order.status",
        &o.number,
        json!({ "from": o.status.as_str(), "to": target.as_str() }),
        ip,
    )
    .await?;
    let after = get(&mut tx, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let after = one_for_staff(&mut tx, by, after).await?;
    tx.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_of_exactly_four_digits_also_looks_at_phone_ends() {
        assert_eq!(Search::parse(None), Search::default());
        assert_eq!(Search::parse(Some("  ")), Search::default());
        let s = Search::parse(Some(" 5678 "));
        assert_eq!(
            (s.pattern.as_deref(), s.exact.as_deref(), s.last4.as_deref()),
            (Some("%5678%"), Some("5678"), Some("5678"))
        );
        for not_four in ["567", "56789", "5678a", "５６７８", "010-5678"] {
            assert_eq!(Search::parse(Some(not_four)).last4, None, "{not_four}");
        }
        let name = Search::parse(Some("홍길동"));
        assert_eq!((name.exact.as_deref(), name.digits.as_str()), (Some("홍길동"), ""));
    }
}
