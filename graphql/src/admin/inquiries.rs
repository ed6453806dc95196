//! Admin inquiries (1:1 문의): the list, filtered by status, and `inquiryAnswer`, which
//! e-mails the answer (OWNER, MANAGER, CS). Texts are plain: clients escape them.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{
    ids::InquiryId,
    inquiry::{self, InquiryFilter},
};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    seoul,
};
use crate::{
    error::GqlResult,
    storefront::{
        UserError,
        inquiries::{InquiryCategory, InquiryStatus},
        split,
    },
};

/// An inquiry as staff see it: what the customer sees, and where the answer goes. Texts
/// are plain: escape them when showing them.
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
    /// Where the answer is e-mailed: the member's account e-mail, or a guest's order e-mail.
    email: String,
    /// Who asked: the member, or the guest order's orderer.
    name: String,
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
            email: i.email,
            name: i.name,
        }
    }
}

connection!(InquiryConnection, InquiryEdge, Inquiry, "inquiries");

/// Which inquiries to list.
#[derive(InputObject, Default)]
pub struct InquiryFilterInput {
    /// Only those in this status (`OPEN`: waiting for an answer).
    status: Option<InquiryStatus>,
}

/// The result of `inquiryAnswer`.
#[derive(SimpleObject)]
pub struct InquiryAnswerPayload {
    /// The inquiry with its answer.
    inquiry: Option<Inquiry>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Admin inquiry queries.
#[derive(Default)]
pub struct InquiriesQuery;

#[Object]
impl InquiriesQuery {
    /// Customer inquiries, newest first (OWNER, MANAGER, CS); `after` is the `endCursor`
    /// of the page before.
    async fn inquiries(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<InquiryFilterInput>,
    ) -> Result<InquiryConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let filter = InquiryFilter {
            status: filter.unwrap_or_default().status.map(Into::into),
        };
        let page = inquiry::list_for_staff(cx.pool, cx.principal, filter, first, after.as_deref(), wants_total(ctx))
            .await
            .gql(ctx)?;
        Ok(InquiryConnection::from_page(page, Inquiry::from))
    }
}

/// Admin inquiry mutations.
#[derive(Default)]
pub struct InquiriesMutation;

#[Object]
impl InquiriesMutation {
    /// Answers an inquiry (OWNER, MANAGER, CS) and e-mails the answer; answering again
    /// replaces the answer and e-mails it again. `body`: 1–5000 characters, plain text.
    /// Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_INPUT` (`body`), `INVALID_ID`.
    async fn inquiry_answer(&self, ctx: &Context<'_>, id: ID, body: String) -> Result<InquiryAnswerPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { inquiry::answer(cx.pool, cx.principal, id.parse::<InquiryId>()?, &body, cx.ip).await }.await;
        let (inquiry, user_errors) = split(ctx, r)?;
        Ok(InquiryAnswerPayload {
            inquiry: inquiry.map(Inquiry::from),
            user_errors,
        })
    }
}
