//! The one per-request look-up of every admin resolver: pool, settings, the caller's
//! address and, past the login steps, the signed-in staff member.

use std::sync::Arc;

use async_graphql::{Context, Result};
use commerce::{Error, Settings, staff};
use sqlx::PgPool;

use super::loaders::AdminLoaders;
use crate::{
    error::{lang, to_gql},
    storefront::Caller,
};

/// What an admin resolver takes from its request. `P` is the signed-in staff member
/// ([`Cx::staff`]), or `()` for the login steps ([`Cx::anonymous`]).
pub struct Cx<'a, P = staff::Principal> {
    /// The database.
    pub pool: &'a PgPool,
    /// The service's settings.
    pub settings: &'a Arc<Settings>,
    /// The caller's address, for the audit log.
    pub ip: Option<&'a str>,
    /// The bearer token sent with the request.
    pub bearer: Option<&'a str>,
    /// Who is asking.
    pub principal: P,
}

impl<'a> Cx<'a, ()> {
    /// A request that needs no session (the login steps).
    pub fn anonymous(ctx: &'a Context<'_>) -> Result<Cx<'a, ()>> {
        static NOBODY: Caller = Caller { bearer: None, ip: None };
        let caller = ctx.data_opt::<Caller>().unwrap_or(&NOBODY);
        Ok(Cx {
            pool: ctx.data::<PgPool>()?,
            settings: ctx.data::<Arc<Settings>>()?,
            ip: caller.ip.as_deref(),
            bearer: caller.bearer.as_deref(),
            principal: (),
        })
    }
}

/// What an admin request keeps for all its fields: whom its token belongs to, looked up
/// once per request (every root field asks, and up to 50 of them would each run the
/// session's UPDATE; `None`: no valid session; faults are not kept, the next field tries
/// again), and its DataLoaders, made when a field first needs them.
#[derive(Default)]
pub struct SignedIn(
    tokio::sync::OnceCell<Option<staff::Principal>>,
    std::sync::OnceLock<AdminLoaders>,
);

impl<'a> Cx<'a> {
    /// A signed-in staff member's request, or a top-level `UNAUTHENTICATED` error.
    pub async fn staff(ctx: &'a Context<'_>) -> Result<Cx<'a>> {
        let cx = Cx::anonymous(ctx)?;
        let Some(token) = cx.bearer else {
            return Err(to_gql(&Error::Unauthenticated, lang(ctx)));
        };
        let look_up = async || match staff::authenticate(cx.pool, &cx.settings.staff, token).await {
            Ok(p) => Ok(Some(p)),
            Err(Error::Unauthenticated) => Ok(None),
            Err(e) => Err(e),
        };
        let found = match ctx.data_opt::<SignedIn>() {
            Some(cache) => cache.0.get_or_try_init(look_up).await.copied(),
            None => look_up().await,
        };
        let principal = found
            .and_then(|p| p.ok_or(Error::Unauthenticated))
            .map_err(|e| to_gql(&e, lang(ctx)))?;
        Ok(Cx {
            pool: cx.pool,
            settings: cx.settings,
            ip: cx.ip,
            bearer: cx.bearer,
            principal,
        })
    }

    /// The request's admin DataLoaders (made on first use, on this request's pool).
    pub fn loaders(&self, ctx: &'a Context<'_>) -> Result<&'a AdminLoaders> {
        let kept = ctx
            .data_opt::<SignedIn>()
            .ok_or_else(|| async_graphql::Error::new("admin request data missing"))?;
        Ok(kept.1.get_or_init(|| AdminLoaders::new(self.pool)))
    }
}
