//! Mapping core errors to GraphQL errors: a message in the caller's language and a stable
//! `extensions.code`; faults are logged and shown only as `INTERNAL`.

use async_graphql::{Context, ErrorExtensions};
use commerce::{Error, Lang};

/// The caller's language, set per request from `Accept-Language`.
pub fn lang(ctx: &Context<'_>) -> Lang {
    ctx.data_opt::<Lang>().copied().unwrap_or_default()
}

/// A core error as a top-level GraphQL error.
pub fn to_gql(e: &Error, lang: Lang) -> async_graphql::Error {
    if e.is_fault() {
        tracing::error!(error = %e, "internal error");
    }
    let field = e.field();
    async_graphql::Error::new(e.message(lang)).extend_with(|_, ext| {
        ext.set("code", e.code().as_str());
        if !field.is_empty() {
            ext.set("field", field.clone());
        }
    })
}

/// `?`-friendly conversion inside resolvers.
pub trait GqlResult<T> {
    /// Converts the error with the request's language.
    fn gql(self, ctx: &Context<'_>) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, Error> {
    fn gql(self, ctx: &Context<'_>) -> async_graphql::Result<T> {
        self.map_err(|e| to_gql(&e, lang(ctx)))
    }
}

impl<T> GqlResult<T> for Result<T, sqlx::Error> {
    fn gql(self, ctx: &Context<'_>) -> async_graphql::Result<T> {
        self.map_err(|e| to_gql(&Error::Db(e), lang(ctx)))
    }
}
