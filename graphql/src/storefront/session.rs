//! Who is asking: the bearer token and client IP of a request, resolved to a customer.

use async_graphql::{Context, ErrorExtensions};
use commerce::{Error, customer, ids::CustomerId};
use sqlx::PgPool;

use crate::error::{GqlResult, lang, to_gql};

/// What the HTTP layer knows about the caller.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// `Authorization: Bearer …`, if sent.
    pub bearer: Option<String>,
    /// The client's IP, for throttling and the audit log: the TCP peer, or the address a
    /// trusted proxy forwarded (`http.trusted_proxies`, see `client_ip`).
    pub ip: Option<String>,
}

/// The caller.
pub fn caller<'a>(ctx: &'a Context<'_>) -> &'a Caller {
    static NOBODY: Caller = Caller { bearer: None, ip: None };
    ctx.data_opt::<Caller>().unwrap_or(&NOBODY)
}

/// The signed-in customer, `None` without a token (a guest); a token that is unknown,
/// expired or revoked is an `UNAUTHENTICATED` error of the field asking (the client should
/// drop it). A bad token is never taken for a guest: a client that believes it is signed in
/// must not, say, check out as a guest or see `me: null` as "signed out" without being told.
pub async fn customer(ctx: &Context<'_>) -> async_graphql::Result<Option<CustomerId>> {
    let Some(token) = caller(ctx).bearer.clone() else {
        return Ok(None);
    };
    let pool = ctx.data::<PgPool>()?;
    let mut conn = pool.acquire().await.gql(ctx)?;
    match customer::authenticate(&mut conn, &token).await {
        Ok(id) => Ok(Some(id)),
        Err(e) => Err(to_gql(&e, lang(ctx))),
    }
}

/// The signed-in customer, or a top-level `UNAUTHENTICATED` error.
pub async fn require_customer(ctx: &Context<'_>) -> async_graphql::Result<CustomerId> {
    customer(ctx)
        .await?
        .ok_or_else(|| to_gql(&Error::Unauthenticated, lang(ctx)).extend())
}
