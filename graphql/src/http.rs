//! GraphQL over HTTP, as the GraphQL-over-HTTP specification says (the stock
//! async-graphql-axum handler answers `application/graphql-response+json` whatever
//! `Accept` says, and 200 for request errors).
//!
//! - Response media type by `Accept`: `application/graphql-response+json` or
//!   `application/json` (also for a missing `Accept`, `*/*` or `application/*`); 406 otherwise.
//! - POST needs `Content-Type: application/json` (415 otherwise); GET carries the request in
//!   the query string and may only run queries (405 for a mutation).
//! - Request errors (unparseable body, missing query, invalid document, unknown
//!   operation, bad variables) have no `data` entry; with `application/graphql-response+json`
//!   they are 400, with `application/json` the body is still JSON-parseable and well-formed
//!   HTTP requests get 200, unparseable ones 400.
//! - Documents pass the guards of `limits.rs` before the parser sees them (codes
//!   `NESTING_TOO_DEEP`, `DOCUMENT_TOO_LARGE`, `TOO_MANY_ROOT_FIELDS`, request errors).
//! - GraphiQL (GET with `Accept: text/html` and no query) loads pinned assets checked by
//!   Subresource Integrity; `http.graphiql = false` turns it off, and admin introspection.

use async_graphql::{
    Executor, Request as GqlRequest, ServerError, Variables,
    parser::types::{ExecutableDocument, OperationType},
};
use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use commerce::Lang;

use std::sync::Arc;

use crate::{
    cache::{self, ResponseCache},
    flat, limits,
};
use serde_json::{Map, Value, json};

/// `application/graphql-response+json`
pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// `application/json`
pub const JSON: &str = "application/json";

/// The two media types we answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: HTTP status tells request errors apart.
    GraphqlResponse,
    /// `application/json`: the legacy type, 200 for every well-formed request.
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => GRAPHQL_RESPONSE,
            MediaType::Json => JSON,
        }
    }

    /// Picks the response type from `Accept` by weight; `None` if neither is acceptable.
    pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
            return Some(MediaType::Json);
        };
        let mut best: Option<(f32, u8, MediaType)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            // Specific types beat wildcards at equal weight.
            let (rank, media) = match ty.as_str() {
                GRAPHQL_RESPONSE => (3, MediaType::GraphqlResponse),
                JSON => (2, MediaType::Json),
                "application/*" | "*/*" => (1, MediaType::Json),
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, br, _)| (q, rank) > (bq, br)) {
                best = Some((q, rank, media));
            }
        }
        best.map(|(_, _, m)| m)
    }
}

/// Why a request did not get to execution.
enum RequestError {
    /// Not acceptable: neither media type is.
    NotAcceptable,
    /// POST without a JSON content type.
    UnsupportedMediaType,
    /// Body or query string is not a GraphQL-over-HTTP request.
    Malformed(String),
    /// GET of a mutation.
    MutationViaGet,
}

/// The parameters of a GraphQL-over-HTTP request. `query` may be missing when
/// `extensions.persistedQuery` names it (APQ).
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

fn params_from_json(body: &[u8]) -> Result<Params, RequestError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| RequestError::Malformed(format!("body is not JSON: {e}")))?;
    let Value::Object(mut o) = v else {
        return Err(RequestError::Malformed("body must be a JSON object".into()));
    };
    let query = match o.remove("query") {
        Some(Value::String(q)) => Some(q),
        None | Some(Value::Null) => None,
        Some(_) => return Err(RequestError::Malformed("`query` must be a string".into())),
    };
    let operation_name = match o.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(RequestError::Malformed("`operationName` must be a string".into()));
        }
    };
    let object = |name: &str, v: Option<Value>| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(RequestError::Malformed(format!("`{name}` must be an object"))),
    };
    let variables = object("variables", o.remove("variables"))?;
    let extensions = object("extensions", o.remove("extensions"))?;
    Ok(Params {
        query,
        operation_name,
        variables,
        extensions,
    })
}

fn params_from_query_string(qs: &str) -> Result<Params, RequestError> {
    let mut query = None;
    let mut operation_name = None;
    let mut variables = None;
    let mut extensions = None;
    for (k, v) in form_urlencoded::parse(qs.as_bytes()) {
        let v = v.into_owned();
        match k.as_ref() {
            "query" => query = Some(v),
            "operationName" if !v.is_empty() => operation_name = Some(v),
            "variables" | "extensions" if !v.is_empty() => {
                let parsed: Value =
                    serde_json::from_str(&v).map_err(|_| RequestError::Malformed(format!("`{k}` must be JSON")))?;
                let Value::Object(m) = parsed else {
                    return Err(RequestError::Malformed(format!("`{k}` must be a JSON object")));
                };
                if k == "variables" {
                    variables = Some(m);
                } else {
                    extensions = Some(m);
                }
            }
            _ => {}
        }
    }
    Ok(Params {
        query,
        operation_name,
        variables,
        extensions,
    })
}

/// Parsed and checked documents by their text, with the most root fields of their
/// operations, bounded: a storefront sends a few dozen distinct documents, so a small map
/// that starts over when full keeps nearly all of them. Only documents that passed
/// [`limits::parse`] are kept, so a hit needs no checks again.
#[derive(Default)]
pub struct DocumentCache(std::sync::Mutex<std::collections::HashMap<String, (ExecutableDocument, usize)>>);

impl DocumentCache {
    /// Most documents kept.
    pub const CAPACITY: usize = 256;
    /// Longest document kept (longer ones are parsed each time).
    pub const MAX_LEN: usize = 16 * 1024;

    fn get(&self, query: &str) -> Option<(ExecutableDocument, usize)> {
        self.0.lock().ok()?.get(query).cloned()
    }

    fn put(&self, query: &str, doc: &ExecutableDocument, root_fields: usize) {
        if query.len() > Self::MAX_LEN {
            return;
        }
        if let Ok(mut map) = self.0.lock()
            && !map.contains_key(query)
        {
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert(query.to_owned(), (doc.clone(), root_fields));
        }
    }
}

/// A whole request refused before execution (for example rate limited): answered with
/// `status`, one error carrying `code`, and `Retry-After` when `retry_after` is set.
#[derive(Debug)]
pub struct Refusal {
    /// The HTTP status, whatever the response media type (e.g. 429).
    pub status: StatusCode,
    /// The error's `extensions.code`, e.g. `RATE_LIMITED`.
    pub code: &'static str,
    /// The error's message.
    pub message: String,
    /// Seconds for the `Retry-After` header.
    pub retry_after: Option<u64>,
}

/// Per-request data the schema needs besides the query.
pub trait RequestData: Send + Sync {
    /// Adds loaders and the like to the request.
    fn attach(&self, req: GqlRequest) -> GqlRequest;

    /// Decides whether the parsed request may run at all; called after parsing and the
    /// request guards, before execution. Admits everything unless overridden.
    fn admit(
        &self,
        _doc: &ExecutableDocument,
        _operation_name: Option<&str>,
        _variables: &Variables,
    ) -> Result<(), Refusal> {
        Ok(())
    }
}

/// A GraphQL endpoint: its schema, its parsed-document cache and its path (for GraphiQL).
pub struct Endpoint<E> {
    /// The schema, for requests with one root field.
    pub schema: E,
    /// The same schema under [`limits::Guard`], for requests with several root fields.
    pub guarded: E,
    /// Documents parsed before.
    pub documents: DocumentCache,
    /// Where it is served, e.g. `/graphql`.
    pub path: &'static str,
    /// GET with `Accept: text/html` and no query gets GraphiQL.
    pub graphiql: bool,
    /// Introspection (`__schema`, `__type`) is answered.
    pub introspection: bool,
    /// Persisted queries and public reads kept in memory (the storefront's).
    pub cache: Option<Arc<ResponseCache>>,
    /// Root fields whose anonymous answers are public (`cache::PUBLIC_ROOTS` on the
    /// storefront; none on the admin API, whose every answer is `private, no-store`).
    pub public_roots: &'static [&'static str],
    /// The operation names its requests are counted under (`metrics.rs`).
    pub operations: crate::metrics::OperationNames,
}

impl<E> Endpoint<E> {
    /// An endpoint for `schemas` at `path`, with GraphiQL and introspection.
    pub fn new(schemas: limits::Schemas<E>, path: &'static str) -> Endpoint<E> {
        Endpoint {
            schema: schemas.plain,
            guarded: schemas.guarded,
            documents: DocumentCache::default(),
            path,
            graphiql: true,
            introspection: true,
            cache: None,
            public_roots: &[],
            operations: crate::metrics::OperationNames::default(),
        }
    }

    /// Keeps public reads of `roots` in `cache`, and serves persisted queries from it.
    #[must_use]
    pub fn cached(mut self, cache: Arc<ResponseCache>, roots: &'static [&'static str]) -> Endpoint<E> {
        self.cache = Some(cache);
        self.public_roots = roots;
        self
    }

    /// Serves GraphiQL or not (`http.graphiql`).
    #[must_use]
    pub fn graphiql(mut self, on: bool) -> Endpoint<E> {
        self.graphiql = on;
        self
    }

    /// Answers introspection or not.
    #[must_use]
    pub fn introspection(mut self, on: bool) -> Endpoint<E> {
        self.introspection = on;
        self
    }
}

/// GraphiQL and React from jsDelivr, each version pinned and checked by the browser against
/// its SHA-384 (Subresource Integrity): a changed file on the CDN does not run. The hashes
/// are of the files in the npm tarballs (`npm pack graphiql@4.1.2 react@18.3.1
/// react-dom@18.3.1`, then `openssl dgst -sha384 -binary FILE | base64`).
/// async-graphql's own page loads `react@18` and `graphiql@4`, unpinned and unchecked.
const GRAPHIQL_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>Jangteo GraphiQL</title>
<style>body { margin: 0; } #graphiql { height: 100vh; }</style>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/graphiql@4.1.2/graphiql.min.css" integrity="sha384-1el1QShFBnnXTx9x/Cprg82hZWKt0ry29OAYIXt05swbi0KcZDFoj0CWguMpopJr" crossorigin="anonymous">
<script src="https://cdn.jsdelivr.net/npm/react@18.3.1/umd/react.production.min.js" integrity="sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z" crossorigin="anonymous"></script>
<script src="https://cdn.jsdelivr.net/npm/react-dom@18.3.1/umd/react-dom.production.min.js" integrity="sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1" crossorigin="anonymous"></script>
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="https://cdn.jsdelivr.net/npm/graphiql@4.1.2/graphiql.min.js" integrity="sha384-9XdHu7ajgGJziD4J1zNBKQ842Q/+zZfDv+ib1eMhZWBH6hPAs806x+Jbcf0yNO6B" crossorigin="anonymous"></script>
<script>
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher: GraphiQL.createFetcher({ url: new URL("ENDPOINT", window.location.origin).toString() }),
    defaultEditorToolsVisibility: true,
  })
);
</script>
</body>
</html>
"#;

/// The GraphiQL page for the endpoint at `path` (one of ours: no quoting needed).
fn graphiql_page(path: &str) -> String {
    GRAPHIQL_PAGE.replace("ENDPOINT", path)
}

/// Answers one GraphQL-over-HTTP request at `endpoint`; the response carries the label its
/// operation is counted under ([`crate::metrics::OperationLabel`]).
pub async fn handle<E: Executor>(
    endpoint: &Endpoint<E>,
    data: &dyn RequestData,
    method: &Method,
    headers: &HeaderMap,
    query_string: Option<&str>,
    body: &Bytes,
) -> Response {
    let mut operation = crate::metrics::OperationLabel::ANONYMOUS;
    let mut response = answer(endpoint, data, method, headers, query_string, body, &mut operation).await;
    response.extensions_mut().insert(operation);
    response
}

async fn answer<E: Executor>(
    endpoint: &Endpoint<E>,
    data: &dyn RequestData,
    method: &Method,
    headers: &HeaderMap,
    query_string: Option<&str>,
    body: &Bytes,
    operation: &mut crate::metrics::OperationLabel,
) -> Response {
    let (schema, documents, graphiql_endpoint) = (&endpoint.schema, &endpoint.documents, endpoint.path);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if endpoint.graphiql
        && *method == Method::GET
        && query_string.is_none_or(|q| !q.contains("query="))
        && accept.is_some_and(|a| a.contains("text/html"))
    {
        return Html(graphiql_page(graphiql_endpoint)).into_response();
    }
    let Some(media) = MediaType::negotiate(accept) else {
        return request_error(MediaType::Json, &RequestError::NotAcceptable);
    };
    let params = if *method == Method::GET {
        params_from_query_string(query_string.unwrap_or(""))
    } else if is_json_content_type(headers) {
        params_from_json(body)
    } else {
        Err(RequestError::UnsupportedMediaType)
    };
    let mut params = match params {
        Ok(p) => p,
        Err(e) => return request_error(media, &e),
    };
    *operation = endpoint.operations.label(params.operation_name.as_deref());
    let lang = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default();
    let is_get = *method == Method::GET;
    let Resolved { query, register, kept } = match resolve(endpoint, &mut params, headers, lang, media, is_get) {
        Ok(r) => r,
        Err(answer) => return *answer,
    };
    let registered = register.map(|hash| (hash, query.clone()));
    let mut req = graphql_request(query, params, lang);
    // Parsed once, here, and kept in the request for execution: a document that doesn't
    // parse is a request error, and GET may only run queries. Clients send the same few
    // documents over and over, so parsed ones are kept.
    let operation_name = req.operation_name.clone();
    // The nesting scan and the document checks run before anything else sees the text
    // (limits.rs): the parser itself recurses without a bound.
    let (doc, root_fields) = match documents.get(&req.query) {
        Some(hit) => hit,
        None => match limits::parse(&req.query) {
            Ok((doc, root_fields)) => {
                documents.put(&req.query, &doc, root_fields);
                (doc, root_fields)
            }
            Err(r) => return graphql_request_error(media, vec![r.error()], r.code),
        },
    };
    // The request span and its Sentry events name the operation (a lone named one if the
    // client didn't say).
    if let Some(name) = operation_name.as_deref().or_else(|| only_operation_name(&doc)) {
        telemetry::http::set_operation(name);
    }
    if is_get && operation_type(&doc, operation_name.as_deref()).is_some_and(|t| t != OperationType::Query) {
        return request_error(media, &RequestError::MutationViaGet);
    }
    if let Err(refusal) = data.admit(&doc, operation_name.as_deref(), &req.variables) {
        return refused(media, &refusal);
    }
    let public = kept.is_some() && cache::is_public(&doc, operation_name.as_deref(), endpoint.public_roots);
    req.set_parsed_query(doc);
    if !endpoint.introspection {
        req = req.disable_introspection();
    }
    let req = data.attach(req);
    let resp = if root_fields > 1 {
        endpoint
            .guarded
            .execute(req.data(limits::RootFields(root_fields)))
            .await
    } else {
        schema.execute(req).await
    };

    // No data and no error with a path: the request failed before execution
    // (validation, unknown operation, variable coercion, limits).
    let before_execution = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    if before_execution {
        return graphql_request_error(media, resp.errors, "GRAPHQL_VALIDATION_FAILED");
    }
    if let (Some((hash, query)), Some(c)) = (registered, &endpoint.cache) {
        c.persist(hash, &query);
    }
    let body = response_body(&resp);
    match kept {
        Some((c, key, generation)) if public && resp.errors.is_empty() => {
            // Kept at its length: the cache weighs entries by their bytes, and the body grew
            // by doubling (up to twice its length).
            let body = Bytes::from(body.into_boxed_slice());
            let tag = cache::etag(&body);
            c.put(key, generation, body.clone(), tag.clone());
            public_response(media, c, (body, &tag, false), headers, is_get)
        }
        _ => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(media.as_str())),
                (header::CACHE_CONTROL, cache::PRIVATE),
            ],
            body,
        )
            .into_response(),
    }
}

/// The engine's request for `query` with the rest of `params`.
fn graphql_request(query: String, params: Params, lang: Lang) -> GqlRequest {
    let mut req = GqlRequest::new(query).data(lang);
    if let Some(name) = params.operation_name {
        req = req.operation_name(name);
    }
    if let Some(vars) = params.variables {
        req = req.variables(Variables::from_json(Value::Object(vars)));
    }
    if let Some(ext) = params.extensions {
        for (k, v) in ext {
            if let Ok(v) = async_graphql::Value::from_json(v) {
                req.extensions.insert(k, v);
            }
        }
    }
    req
}

/// The name of `doc`'s operation when it has exactly one, named.
fn only_operation_name(doc: &ExecutableDocument) -> Option<&str> {
    match &doc.operations {
        async_graphql::parser::types::DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(async_graphql::Name::as_str)
        }
        _ => None,
    }
}

/// The type of the operation `name` of `doc` (the first one without a name).
fn operation_type(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match name {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.map(async_graphql::Name::as_str) == Some(name)),
        None => doc.operations.iter().next(),
    }
    .map(|(_, op)| op.node.ty)
}

/// What a request runs once persisted queries are resolved: the query, the hash to register
/// it under, and for an anonymous read on a caching endpoint its key and the generation it is
/// computed in.
struct Resolved<'e> {
    query: String,
    register: Option<cache::Digest32>,
    kept: Option<(&'e ResponseCache, cache::Digest32, u64)>,
}

/// APQ, then the in-process cache: `Err` is the answer already (a request error, an unknown
/// persisted query, or a kept response).
fn resolve<'e, E>(
    endpoint: &'e Endpoint<E>,
    params: &mut Params,
    headers: &HeaderMap,
    lang: Lang,
    media: MediaType,
    is_get: bool,
) -> Result<Resolved<'e>, Box<Response>> {
    let persisted = persisted_hash(params.extensions.as_ref(), endpoint.cache.is_some())
        .map_err(|e| Box::new(request_error(media, &e)))?;
    // APQ: a hash alone runs the query this replica knows under it; a hash with its query
    // registers it once the query has run.
    let (query, register) = match (params.query.take(), persisted, &endpoint.cache) {
        (Some(q), Some(hash), Some(_)) => {
            if cache::sha256(q.as_bytes()) != hash {
                let e = RequestError::Malformed("provided sha does not match query".into());
                return Err(Box::new(request_error(media, &e)));
            }
            (q, Some(hash))
        }
        (Some(q), _, _) => (q, None),
        (None, Some(hash), Some(c)) => match c.persisted(&hash) {
            Some(q) => (q.to_string(), None),
            None => {
                return Err(Box::new(graphql_request_error(
                    media,
                    vec![ServerError::new("PersistedQueryNotFound", None)],
                    "PERSISTED_QUERY_NOT_FOUND",
                )));
            }
        },
        (None, _, _) => {
            let e = RequestError::Malformed("`query` is missing".into());
            return Err(Box::new(request_error(media, &e)));
        }
    };
    // A public read without a token may be answered from memory.
    let anonymous = !headers.contains_key(header::AUTHORIZATION);
    let kept = match &endpoint.cache {
        Some(c) if anonymous && !endpoint.public_roots.is_empty() => {
            let variables = params
                .variables
                .as_ref()
                .map(|v| serde_json::to_string(v).unwrap_or_default())
                .unwrap_or_default();
            let hash = persisted.unwrap_or_else(|| cache::sha256(query.as_bytes()));
            let key = cache::key(endpoint.path, &hash, params.operation_name.as_deref(), &variables, lang);
            if let Some(hit) = c.get(&key) {
                return Err(Box::new(public_response(
                    media,
                    c,
                    (hit.body.clone(), &hit.etag, true),
                    headers,
                    is_get,
                )));
            }
            Some((c.as_ref(), key, c.generation()))
        }
        _ => None,
    };
    Ok(Resolved { query, register, kept })
}

/// A public read (body, tag, whether it came from memory): cacheable by browsers and CDNs
/// for `cache.*` seconds, tagged, and `304 Not Modified` to a GET that already has it.
/// `X-Cache` says whether this replica had it (`HIT`) or computed it (`MISS`).
fn public_response(
    media: MediaType,
    cache: &ResponseCache,
    (body, tag, hit): (Bytes, &HeaderValue, bool),
    headers: &HeaderMap,
    is_get: bool,
) -> Response {
    let vary = HeaderValue::from_static("Accept, Accept-Language, Authorization");
    let common = [
        (header::CACHE_CONTROL, cache.public_header()),
        (header::ETAG, tag.clone()),
        (header::VARY, vary),
        (
            header::HeaderName::from_static("x-cache"),
            HeaderValue::from_static(if hit { "HIT" } else { "MISS" }),
        ),
    ];
    if is_get && cache::not_modified(headers, tag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(media.as_str()))],
        body,
    )
        .into_response()
}

/// The hash of `extensions.persistedQuery` (version 1), if there is one and the endpoint
/// keeps persisted queries. Errors: a malformed or unsupported one.
fn persisted_hash(
    extensions: Option<&Map<String, Value>>,
    supported: bool,
) -> Result<Option<cache::Digest32>, RequestError> {
    let Some(pq) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    if !supported {
        return Err(RequestError::Malformed(
            "persisted queries are not supported here".into(),
        ));
    }
    if pq.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(RequestError::Malformed("Unsupported persisted query version".into()));
    }
    pq.get("sha256Hash")
        .and_then(Value::as_str)
        .and_then(cache::parse_hex)
        .map(Some)
        .ok_or_else(|| RequestError::Malformed("`persistedQuery.sha256Hash` must be 64 hex digits".into()))
}

/// A response with `data` (execution happened), written straight from the engine's values
/// (no detour through serde_json::Value), long flat lists already JSON text (`flat`).
fn response_body(resp: &async_graphql::Response) -> Vec<u8> {
    let mut body = Vec::with_capacity(1024);
    body.extend_from_slice(b"{\"data\":");
    flat::write_json(&mut body, &resp.data);
    if !resp.errors.is_empty() {
        body.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut body, &resp.errors).unwrap_or_default();
    }
    if !resp.extensions.is_empty() {
        body.extend_from_slice(b",\"extensions\":");
        serde_json::to_writer(&mut body, &resp.extensions).unwrap_or_default();
    }
    body.push(b'}');
    body
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == mime::JSON)
}

fn errors_json(errors: Vec<ServerError>, default_code: Option<&str>) -> Value {
    Value::Array(
        errors
            .into_iter()
            .map(|e| {
                let mut v = serde_json::to_value(&e).unwrap_or_else(|_| json!({ "message": e.message }));
                if let Some(code) = default_code
                    && let Value::Object(o) = &mut v
                {
                    let ext = o.entry("extensions").or_insert_with(|| json!({}));
                    if let Value::Object(ext) = ext {
                        ext.entry("code").or_insert_with(|| json!(code));
                    }
                }
                v
            })
            .collect(),
    )
}

fn graphql_request_error(media: MediaType, errors: Vec<ServerError>, code: &str) -> Response {
    let status = match media {
        MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    };
    json_response(status, media, &json!({ "errors": errors_json(errors, Some(code)) }))
}

fn request_error(media: MediaType, e: &RequestError) -> Response {
    let (status, code, message) = match e {
        RequestError::NotAcceptable => (
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            format!("Accept must allow {GRAPHQL_RESPONSE} or {JSON}"),
        ),
        RequestError::UnsupportedMediaType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST bodies must be application/json".to_owned(),
        ),
        RequestError::Malformed(m) => (StatusCode::BAD_REQUEST, "BAD_REQUEST", m.clone()),
        RequestError::MutationViaGet => (
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "mutations need POST".to_owned(),
        ),
    };
    let mut resp = json_response(
        status,
        media,
        &json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }),
    );
    if matches!(e, RequestError::MutationViaGet) {
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    resp
}

fn refused(media: MediaType, r: &Refusal) -> Response {
    let mut resp = json_response(
        r.status,
        media,
        &json!({ "errors": [{ "message": r.message, "extensions": { "code": r.code } }] }),
    );
    if let Some(secs) = r.retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn json_response(status: StatusCode, media: MediaType, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media.as_str())),
            // Never kept by a CDN: a persisted query unknown now is known a moment later.
            (header::CACHE_CONTROL, cache::PRIVATE),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_by_weight_and_specificity() {
        use MediaType::*;
        assert_eq!(MediaType::negotiate(None), Some(Json));
        assert_eq!(MediaType::negotiate(Some("*/*")), Some(Json));
        assert_eq!(MediaType::negotiate(Some(GRAPHQL_RESPONSE)), Some(GraphqlResponse));
        assert_eq!(
            MediaType::negotiate(Some("application/graphql-response+json, application/json;q=0.9")),
            Some(GraphqlResponse)
        );
        assert_eq!(
            MediaType::negotiate(Some("application/graphql-response+json;q=0.5, application/json")),
            Some(Json)
        );
        assert_eq!(MediaType::negotiate(Some("text/html")), None);
        assert_eq!(MediaType::negotiate(Some("application/json;q=0")), None);
    }

    #[test]
    fn reads_get_parameters() {
        let p = params_from_query_string("query=%7B+shop%7Bname%7D%7D&variables=%7B%22a%22%3A1%7D&operationName=")
            .ok()
            .expect("valid");
        assert_eq!(p.query.as_deref(), Some("{ shop{name}}"));
        assert_eq!(p.variables.map(|v| v.len()), Some(1));
        assert!(p.operation_name.is_none());
        assert!(params_from_query_string("variables=%5B%5D&query=x").is_err());
        assert!(params_from_query_string("operationName=x").is_ok_and(|p| p.query.is_none()));
    }
}
