//! Customer inquiries (1:1 문의) and staff answers; owns `inquiries`.
//!
//! A member asks from their account (about one of their orders, or about anything); a guest
//! asks about an order by its number and e-mail. The answer is e-mailed (`inquiry_answered`)
//! to the member's account e-mail or the guest's order e-mail, enqueued in the answer's
//! transaction. Titles, bodies and answers are plain text, stored as given (trimmed) and
//! never rendered as HTML here: clients escape them, the e-mail templates auto-escape.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    Error,
    ids::{CustomerId, InquiryId, OrderId, StaffId},
    pagination::Page,
    staff::{Permission, Principal, audit::audit},
    types::Email,
};

/// What an inquiry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum InquiryCategory {
    /// 주문.
    Order,
    /// 배송.
    Delivery,
    /// 반품·교환.
    Return,
    /// 상품.
    Product,
    /// 회원 정보.
    Account,
    /// 기타.
    Other,
}

/// Where an inquiry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum InquiryStatus {
    /// Waiting for an answer.
    Open,
    /// Answered (an answer given again replaces the first).
    Answered,
}

impl InquiryCategory {
    /// The database and wire form, e.g. `DELIVERY`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl InquiryStatus {
    /// The database and wire form, e.g. `OPEN`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An inquiry and its answer.
#[derive(Clone, Debug)]
pub struct Inquiry {
    /// Its id.
    pub id: InquiryId,
    /// The member who asked; `None` for a guest.
    pub customer_id: Option<CustomerId>,
    /// The order it is about, by number.
    pub order_number: Option<String>,
    /// Where the answer goes.
    pub email: String,
    /// Who asked (the member's name, or the guest order's orderer).
    pub name: String,
    /// What it is about.
    pub category: InquiryCategory,
    /// Title (1–100 characters), plain text.
    pub title: String,
    /// The question (1–5000 characters), plain text.
    pub body: String,
    /// Open or answered.
    pub status: InquiryStatus,
    /// The answer, plain text.
    pub answer: Option<String>,
    /// When it was (last) answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
}

/// A new inquiry, as the storefront sends it (checked by [`create`]).
#[derive(Clone, Debug)]
pub struct NewInquiry {
    /// The order it is about: optional for members, required for guests.
    pub order_number: Option<String>,
    /// The order's e-mail: required for guests, ignored for members (the answer goes to
    /// their account e-mail).
    pub email: Option<String>,
    /// What it is about.
    pub category: InquiryCategory,
    /// Title, 1–100 characters once trimmed.
    pub title: String,
    /// The question, 1–5000 characters once trimmed.
    pub body: String,
}

/// The stored row, before its strings are parsed.
struct Row {
    id: InquiryId,
    customer_id: Option<CustomerId>,
    order_number: Option<String>,
    email: String,
    name: String,
    category: String,
    title: String,
    body: String,
    status: String,
    answer: Option<String>,
    answered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Inquiry {
    type Error = Error;

    fn try_from(r: Row) -> Result<Inquiry, Error> {
        let fault = |what: &str, v: &str| Error::Fault {
            what: "inquiries",
            reason: format!("unknown {what} {v}"),
        };
        Ok(Inquiry {
            category: r.category.parse().map_err(|_| fault("category", &r.category))?,
            status: r.status.parse().map_err(|_| fault("status", &r.status))?,
            id: r.id,
            customer_id: r.customer_id,
            order_number: r.order_number,
            email: r.email,
            name: r.name,
            title: r.title,
            body: r.body,
            answer: r.answer,
            answered_at: r.answered_at,
            created_at: r.created_at,
        })
    }
}

/// `text` trimmed, `INVALID_INPUT` on `field` unless it has 1 to `max` characters.
fn plain_text(field: &'static str, text: &str, max: usize) -> Result<String, Error> {
    let t = text.trim();
    let n = t.chars().count();
    if n == 0 || n > max {
        return Err(Error::Invalid {
            field,
            reason: format!("1–{max} characters"),
        });
    }
    Ok(t.to_owned())
}

/// Asks a question. A signed-in member (`me`) may name one of their orders; the answer goes
/// to their account e-mail. A guest names an order by number and its e-mail; the answer goes
/// there. Errors: `INVALID_INPUT` (`title`, `body`; a guest without `orderNumber` or
/// `email`, or with a malformed e-mail), `NOT_FOUND` (no such order, not the member's, or
/// not that e-mail's: one answer for all, so nothing can be learned by trying).
pub async fn create(pool: &PgPool, me: Option<CustomerId>, input: NewInquiry) -> Result<Inquiry, Error> {
    let title = plain_text("title", &input.title, 100)?;
    let body = plain_text("body", &input.body, 5000)?;
    let number = input.order_number.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let mut conn = pool.acquire().await?;
    let (customer, order, email, name) = match me {
        Some(me) => {
            let c = sqlx::query!("SELECT email, name FROM customers WHERE id = $1", me as CustomerId)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(Error::NotFound { what: "customer" })?;
            let order = match number {
                None => None,
                Some(n) => Some(
                    sqlx::query_scalar!(
                        r#"SELECT id AS "id: OrderId" FROM orders WHERE number = $1 AND customer_id = $2"#,
                        n,
                        me as CustomerId,
                    )
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(Error::NotFound { what: "order" })?,
                ),
            };
            (Some(me), order, c.email, c.name)
        }
        None => {
            let number = number.ok_or_else(|| Error::Invalid {
                field: "orderNumber",
                reason: "guests name the order they ask about".into(),
            })?;
            let email = input
                .email
                .as_deref()
                .filter(|e| !e.trim().is_empty())
                .ok_or_else(|| Error::Invalid {
                    field: "email",
                    reason: "guests give the order's e-mail".into(),
                })?;
            let email = Email::parse(email)?;
            // Number and e-mail in one look-up: a wrong number and a wrong e-mail answer alike.
            let o = sqlx::query!(
                r#"SELECT id AS "id: OrderId", email, orderer_name FROM orders WHERE number = $1 AND email = $2"#,
                number,
                email.as_str(),
            )
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(Error::NotFound { what: "order" })?;
            (None, Some(o.id), o.email, o.orderer_name)
        }
    };
    let id = InquiryId::generate();
    sqlx::query!(
        "INSERT INTO inquiries (id, customer_id, order_id, email, name, category, title, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id as InquiryId,
        customer as Option<CustomerId>,
        order as Option<OrderId>,
        email,
        name,
        input.category.as_str(),
        title,
        body,
    )
    .execute(&mut *conn)
    .await?;
    tracing::info!(inquiry = %id, member = customer.is_some(), "inquiry created");
    get(&mut conn, id).await
}

/// One inquiry. Errors: `NOT_FOUND`.
async fn get(conn: &mut PgConnection, id: InquiryId) -> Result<Inquiry, Error> {
    sqlx::query_as!(
        Row,
        r#"SELECT i.id AS "id: InquiryId", i.customer_id AS "customer_id: CustomerId", o.number AS "order_number?",
                  i.email, i.name, i.category, i.title, i.body, i.status, i.answer, i.answered_at, i.created_at
             FROM inquiries i LEFT JOIN orders o ON o.id = i.order_id
            WHERE i.id = $1"#,
        id as InquiryId,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "inquiry" })?
    .try_into()
}

/// An inquiry's cursor is its id; the page continues after its `(created_at, id)`.
/// `INVALID_CURSOR` for anything else.
fn cursor(after: Option<&str>) -> Result<Option<uuid::Uuid>, Error> {
    after
        .map(|c| c.parse::<InquiryId>().map(|id| id.0).map_err(|_| Error::InvalidCursor))
        .transpose()
}

fn page(rows: Vec<Row>, first: u32, total: Option<i64>) -> Result<Page<Inquiry>, Error> {
    let inquiries = rows.into_iter().map(Inquiry::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(inquiries, first, total, |i| {
        let cursor = i.id.to_string();
        (i, cursor)
    }))
}

/// A member's own inquiries, newest first, a page at a time (`after`: the cursor of the
/// last one seen). Errors: `INVALID_CURSOR`.
pub async fn of_customer(
    pool: &PgPool,
    me: CustomerId,
    first: u32,
    after: Option<&str>,
) -> Result<Page<Inquiry>, Error> {
    let after = cursor(after)?;
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT i.id AS "id: InquiryId", i.customer_id AS "customer_id: CustomerId", o.number AS "order_number?",
                  i.email, i.name, i.category, i.title, i.body, i.status, i.answer, i.answered_at, i.created_at
             FROM inquiries i LEFT JOIN orders o ON o.id = i.order_id
            WHERE i.customer_id = $1
              AND ($2::uuid IS NULL OR (i.created_at, i.id) < (SELECT c.created_at, c.id FROM inquiries c WHERE c.id = $2))
            ORDER BY i.created_at DESC, i.id DESC
            LIMIT $3"#,
        me as CustomerId,
        after,
        i64::from(first) + 1,
    )
    .fetch_all(pool)
    .await?;
    page(rows, first, None)
}

/// Which inquiries staff list.
#[derive(Clone, Copy, Debug, Default)]
pub struct InquiryFilter {
    /// Only those in this status.
    pub status: Option<InquiryStatus>,
}

/// Inquiries for staff, newest first, a page at a time, with the count over all pages when
/// `total` (OWNER, MANAGER, CS). Errors: `FORBIDDEN`, `INVALID_CURSOR`.
pub async fn list_for_staff(
    pool: &PgPool,
    by: Principal,
    filter: InquiryFilter,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<Inquiry>, Error> {
    by.require(Permission::AnswerInquiries, "read inquiries")?;
    let after = cursor(after)?;
    let status = filter.status.map(InquiryStatus::as_str);
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT i.id AS "id: InquiryId", i.customer_id AS "customer_id: CustomerId", o.number AS "order_number?",
                  i.email, i.name, i.category, i.title, i.body, i.status, i.answer, i.answered_at, i.created_at
             FROM inquiries i LEFT JOIN orders o ON o.id = i.order_id
            WHERE ($1::text IS NULL OR i.status = $1)
              AND ($2::uuid IS NULL OR (i.created_at, i.id) < (SELECT c.created_at, c.id FROM inquiries c WHERE c.id = $2))
            ORDER BY i.created_at DESC, i.id DESC
            LIMIT $3"#,
        status,
        after,
        i64::from(first) + 1,
    )
    .fetch_all(&mut *conn)
    .await?;
    let count = if total {
        Some(
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM inquiries WHERE ($1::text IS NULL OR status = $1)"#,
                status
            )
            .fetch_one(&mut *conn)
            .await?,
        )
    } else {
        None
    };
    page(rows, first, count)
}

/// Answers an inquiry (OWNER, MANAGER, CS): the answer (trimmed, 1–5000 characters, plain
/// text) replaces any earlier one, and is e-mailed (`inquiry_answered`) to the inquiry's
/// e-mail, enqueued in the same transaction; audited (`inquiry.answer`). Errors:
/// `FORBIDDEN`, `INVALID_INPUT` (`body`), `NOT_FOUND`.
pub async fn answer(
    pool: &PgPool,
    by: Principal,
    id: InquiryId,
    body: &str,
    ip: Option<&str>,
) -> Result<Inquiry, Error> {
    by.require(Permission::AnswerInquiries, "answer inquiries")?;
    let answer = plain_text("body", body, 5000)?;
    let mut tx = pool.begin().await?;
    let r = sqlx::query!(
        r#"UPDATE inquiries i SET status = 'ANSWERED', answer = $2, answered_by = $3, answered_at = now()
             FROM (SELECT id, status FROM inquiries WHERE id = $1 FOR UPDATE) old
            WHERE i.id = old.id
           RETURNING old.status AS was, i.customer_id AS "customer_id: CustomerId", i.email, i.name, i.title,
                     (SELECT number FROM orders WHERE id = i.order_id) AS order_number"#,
        id as InquiryId,
        answer,
        by.id as StaffId,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "inquiry" })?;
    let again = r.was == InquiryStatus::Answered.as_str();
    audit(
        &mut tx,
        by,
        "inquiry.answer",
        &id.to_string(),
        json!({ "again": again, "chars": answer.chars().count() }),
        ip,
    )
    .await?;
    crate::notify::enqueue_email(
        &mut tx,
        "inquiry_answered",
        &r.email,
        r.customer_id,
        json!({ "inquiry": {
            "name": r.name, "title": r.title, "answer": answer, "order_number": r.order_number,
        } }),
    )
    .await?;
    let inquiry = get(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(inquiry = %id, staff = %by.id, again, "inquiry answered");
    Ok(inquiry)
}
