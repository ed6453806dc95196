//! Storefront CMS: `page(slug)`, `pages(kind)`; also the `Page` type the admin API shares.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::cms;
use sqlx::PgPool;

use super::catalog::seoul;
use crate::{
    error::{GqlResult, lang, to_gql},
    shared::PageKind,
};

/// A CMS page.
#[derive(SimpleObject)]
pub struct Page {
    /// Opaque id.
    id: ID,
    /// URL name.
    slug: String,
    /// A standing page or a dated notice.
    kind: PageKind,
    /// Title.
    title: String,
    /// Sanitized HTML.
    body: String,
    /// Shown in the storefront.
    published: bool,
    /// Last changed.
    updated_at: DateTime<FixedOffset>,
}

impl From<cms::Page> for Page {
    fn from(p: cms::Page) -> Page {
        Page {
            id: ID(p.id.to_string()),
            slug: p.slug,
            // The table's CHECK allows only the two kinds.
            kind: PageKind::from_db(&p.kind).unwrap_or(PageKind::Page),
            title: p.title,
            body: p.body,
            published: p.published,
            updated_at: seoul(p.updated_at),
        }
    }
}

/// Storefront CMS queries.
#[derive(Default)]
pub struct PageQuery;

#[Object]
impl PageQuery {
    /// A published page by slug. Null, with a `NOT_FOUND` error, when there is none.
    async fn page(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Page>> {
        let pool = ctx.data::<PgPool>()?;
        match cms::published(pool, &slug).await.gql(ctx)? {
            Some(p) => Ok(Some(p.into())),
            None => Err(to_gql(&commerce::Error::NotFound { what: "page" }, lang(ctx))),
        }
    }

    /// Published pages (or notices), most recently changed first.
    async fn pages(&self, ctx: &Context<'_>, kind: Option<PageKind>) -> Result<Vec<Page>> {
        let pool = ctx.data::<PgPool>()?;
        Ok(cms::list(pool, kind.map(PageKind::as_str), true)
            .await
            .gql(ctx)?
            .into_iter()
            .map(Page::from)
            .collect())
    }
}
