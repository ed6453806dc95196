//! Admin CMS: pages and notices, drafts included.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use commerce::Error;

use super::{
    connection::{connection, wants_total},
    context::Cx,
};
use crate::{
    error::GqlResult,
    shared::PageKind,
    storefront::{UserError, pages::Page, split},
};

connection!(PageConnection, PageEdge, Page, "pages and notices");

/// A page as entered; the body is sanitized on save.
#[derive(InputObject)]
pub struct PageInput {
    /// URL name (`a-z0-9-`).
    slug: String,
    /// Title.
    title: String,
    /// HTML from the editor.
    body: String,
    /// Shown in the storefront.
    published: bool,
    /// `PAGE` (default) or `NOTICE`.
    kind: Option<PageKind>,
}

impl PageInput {
    fn parse(&self) -> commerce::cms::PageInput {
        commerce::cms::PageInput {
            slug: self.slug.trim().to_owned(),
            kind: self.kind.unwrap_or(PageKind::Page).as_str().to_owned(),
            title: self.title.clone(),
            body: self.body.clone(),
            published: self.published,
        }
    }
}

/// The result of a page change.
#[derive(SimpleObject)]
pub struct PagePayload {
    /// The page after the change.
    page: Option<Page>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of deleting a page.
#[derive(SimpleObject)]
pub struct PageDeletePayload {
    /// The deleted page's id.
    deleted_id: Option<ID>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

fn parse_page(id: &ID) -> Result<commerce::ids::PageId, Error> {
    id.parse()
}

/// Admin CMS queries.
#[derive(Default)]
pub struct CmsQuery;

#[Object]
impl CmsQuery {
    /// Pages and notices, drafts included, last changed first, a page at a time: only of
    /// `kind`, only listed (`published: true`) or only drafts (`false`).
    async fn pages(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        kind: Option<PageKind>,
        published: Option<bool>,
    ) -> Result<PageConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let page = commerce::cms::pages(
            cx.pool,
            cx.principal,
            kind.map(PageKind::as_str),
            published,
            first,
            after.as_deref(),
            wants_total(ctx),
        )
        .await
        .gql(ctx)?;
        Ok(PageConnection::from_page(page, Page::from))
    }
}

/// Admin CMS mutations.
#[derive(Default)]
pub struct CmsMutation;

#[Object]
impl CmsMutation {
    /// Creates a page or notice (HTML sanitized on save).
    async fn page_create(&self, ctx: &Context<'_>, input: PageInput) -> Result<PagePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = commerce::cms::create(cx.pool, cx.principal, &input.parse(), cx.ip).await;
        let (page, user_errors) = split(ctx, r)?;
        Ok(PagePayload {
            page: page.map(Page::from),
            user_errors,
        })
    }

    /// Replaces a page (HTML sanitized on save).
    async fn page_update(&self, ctx: &Context<'_>, id: ID, input: PageInput) -> Result<PagePayload> {
        let cx = Cx::staff(ctx).await?;
        let r =
            async { commerce::cms::update(cx.pool, cx.principal, parse_page(&id)?, &input.parse(), cx.ip).await }.await;
        let (page, user_errors) = split(ctx, r)?;
        Ok(PagePayload {
            page: page.map(Page::from),
            user_errors,
        })
    }

    /// Deletes a page.
    async fn page_delete(&self, ctx: &Context<'_>, id: ID) -> Result<PageDeletePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { commerce::cms::delete(cx.pool, cx.principal, parse_page(&id)?, cx.ip).await }.await;
        let (done, user_errors) = split(ctx, r)?;
        Ok(PageDeletePayload {
            deleted_id: done.map(|()| id),
            user_errors,
        })
    }
}
