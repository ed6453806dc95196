//! Storefront inquiries (1:1 문의): `inquiryCreate` for members and guests, and a member's
//! own inquiries (`me { inquiries }`). Titles, bodies and answers are plain text: clients
//! escape them.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    ids::CustomerId,
    inquiry::{self, NewInquiry},
};
use sqlx::PgPool;

use super::{
    catalog::{PageInfo, seoul},
    payload::{UserError, split},
    session,
};
use crate::error::GqlResult;

/// What an inquiry is about.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "commerce::inquiry::InquiryCategory")]
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
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "commerce::inquiry::InquiryStatus")]
pub enum InquiryStatus {
    /// Waiting for an answer.
    Open,
    /// Answered; the answer was e-mailed.
    Answered,
}

/// An inquiry (1:1 문의) and its answer. Texts are plain: escape them when showing them.
#[derive(SimpleObject)]
pub struct Inquiry {
    /// Opaque id.
    id: ID,
    /// What it is about.
    category: InquiryCategory,
    /// Title.
    title: String,
    /// The question.
    body: String,
    /// Open or answered.
    status: InquiryStatus,
    /// The answer (the latest, if it was answered again).
    answer: Option<String>,
    /// When it was (last) answered.
    answered_at: Option<DateTime<FixedOffset>>,
    /// When it was asked.
    created_at: DateTime<FixedOffset>,
    /// The order it is about.
    order_number: Option<String>,
}

impl From<inquiry::Inquiry> for Inquiry {
    fn from(i: inquiry::Inquiry) -> Inquiry {
        Inquiry {
            id: ID(i.id.to_string()),
            category: i.category.into(),
            title: i.title,
            body: i.body,
            status: i.status.into(),
            answer: i.answer,
            answered_at: i.answered_at.map(seoul),
            created_at: seoul(i.created_at),
            order_number: i.order_number,
        }
    }
}

/// A page of inquiries.
pub struct InquiryConnection {
    edges: Vec<InquiryEdge>,
    has_next: bool,
}

/// An inquiry and its cursor.
#[derive(SimpleObject)]
pub struct InquiryEdge {
    /// Pass as `after`.
    cursor: String,
    /// The inquiry.
    node: Inquiry,
}

#[Object]
impl InquiryConnection {
    /// Inquiries with cursors.
    async fn edges(&self) -> &[InquiryEdge] {
        &self.edges
    }
    /// Inquiries.
    async fn nodes(&self) -> Vec<&Inquiry> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// Where this page is.
    async fn page_info(&self) -> PageInfo {
        PageInfo::forward(
            self.has_next,
            self.edges.first().map(|e| e.cursor.clone()),
            self.edges.last().map(|e| e.cursor.clone()),
        )
    }
}

/// The inquiries of the signed-in customer `me`, newest first.
pub async fn my_inquiries(
    ctx: &Context<'_>,
    me: CustomerId,
    first: Option<i64>,
    after: Option<String>,
) -> Result<InquiryConnection> {
    let first = commerce::pagination::page_size(first).gql(ctx)?;
    let pool = ctx.data::<PgPool>()?;
    let page = inquiry::of_customer(pool, me, first, after.as_deref()).await.gql(ctx)?;
    Ok(InquiryConnection {
        edges: page
            .items
            .into_iter()
            .map(|(i, cursor)| InquiryEdge { cursor, node: i.into() })
            .collect(),
        has_next: page.has_next,
    })
}

/// A new inquiry.
#[derive(InputObject)]
pub struct InquiryCreateInput {
    /// The order it is about: optional for a signed-in customer (one of theirs), required
    /// for a guest.
    order_number: Option<String>,
    /// The order's e-mail, for a guest (the answer goes there). Signed-in customers' answers
    /// go to their account e-mail; this is then ignored.
    email: Option<String>,
    /// What it is about.
    category: InquiryCategory,
    /// Title, 1–100 characters.
    title: String,
    /// The question, 1–5000 characters, plain text.
    body: String,
}

/// The result of `inquiryCreate`.
#[derive(SimpleObject)]
pub struct InquiryCreatePayload {
    /// The inquiry.
    inquiry: Option<Inquiry>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Inquiry mutations.
#[derive(Default)]
pub struct InquiryMutation;

#[Object]
impl InquiryMutation {
    /// Asks the shop a question (1:1 문의); the answer is e-mailed. Signed in: optionally
    /// about one of the customer's orders. As a guest: about an order, by its number and
    /// e-mail. Errors: `NOT_FOUND` (no such order, not theirs, or not that e-mail's: one
    /// answer for all), `INVALID_INPUT` (`title`, `body`; a guest's missing `orderNumber`
    /// or `email`).
    async fn inquiry_create(&self, ctx: &Context<'_>, input: InquiryCreateInput) -> Result<InquiryCreatePayload> {
        let me = session::customer(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        let new = NewInquiry {
            order_number: input.order_number,
            email: input.email,
            category: input.category.into(),
            title: input.title,
            body: input.body,
        };
        let (inquiry, user_errors) = split(ctx, inquiry::create(pool, me, new).await)?;
        Ok(InquiryCreatePayload {
            inquiry: inquiry.map(Inquiry::from),
            user_errors,
        })
    }
}
