//! One HTTP request as logs and Sentry see it: its id (`X-Request-Id`), its `request` span,
//! and its own Sentry scope, for the service's and the bot's routers.
//!
//! Outermost, [`RequestLayer`] gives every request an id: the client's (or the balancer's)
//! `X-Request-Id` when it is short and plain, else a new UUID. The id goes into the request's
//! extensions and headers (for the span, which [`request_span`] makes), back in the response
//! header, and, while Sentry reports, into a scope of the request's own (tag `request_id`),
//! so an event raised while it runs (a panic, a `tracing::error!`) says which request it was.
//! A 5xx answer with no event yet becomes one. [`set_operation`] adds the GraphQL operation.
//!
//! tower-http's `SetRequestIdLayer` keeps any incoming id, whatever its length or bytes; the
//! id is written into every log line, so one of ours checks it first.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use sentry::{Hub, SentryFutureExt as _};

/// The request id header, as load balancers and tracing proxies name it.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id kept (a UUID is 36; trace ids of balancers are under 100).
pub const MAX_REQUEST_ID: usize = 128;

/// The id of one request, in its extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The first `X-Request-Id` of `headers` if it is the only one, at most
    /// [`MAX_REQUEST_ID`] bytes of letters, digits and `-_.:+=/@`; else a new UUID (v7).
    pub fn from_headers(headers: &HeaderMap) -> RequestId {
        let mut given = headers.get_all(&REQUEST_ID).iter();
        match (given.next(), given.next()) {
            (Some(v), None) if is_plain(v.as_bytes()) => {
                RequestId(Arc::from(String::from_utf8_lossy(v.as_bytes()).as_ref()))
            }
            _ => RequestId::generate(),
        }
    }

    /// A new id: a UUID v7 (time-ordered, so ids sort as requests came).
    pub fn generate() -> RequestId {
        RequestId(Arc::from(uuid::Uuid::now_v7().to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn header_value(&self) -> HeaderValue {
        // Only ever plain ASCII (checked or generated).
        HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Nothing a log line, a header or a Sentry tag could be bent by: no spaces, quotes, control
/// characters or non-ASCII.
fn is_plain(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:+=/@".contains(b))
}

/// The request's id, set by [`RequestLayer`] (`-` outside it).
pub fn request_id<B>(req: &Request<B>) -> &str {
    req.extensions().get::<RequestId>().map_or("-", RequestId::as_str)
}

/// The `request` span of a request: method, path (never the query string: it may carry
/// tokens), request id, and `operation`, recorded later by [`set_operation`]. For
/// `TraceLayer::make_span_with`.
pub fn request_span<B>(req: &Request<B>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %request_id(req),
        operation = tracing::field::Empty,
    )
}

/// Names the GraphQL operation the current request runs: the `operation` field of its span
/// and the `operation` tag of its Sentry events. Names longer than 100 bytes are cut.
pub fn set_operation(name: &str) {
    let name = match name.char_indices().nth(100) {
        Some((end, _)) => &name[..end],
        None => name,
    };
    tracing::Span::current().record("operation", name);
    sentry::configure_scope(|scope| scope.set_tag("operation", name));
}

/// Gives each request an id and a Sentry scope of its own (see the module's documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLayer;

impl<S> tower::Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> RequestService<S> {
        RequestService { inner }
    }
}

/// The service of [`RequestLayer`].
#[derive(Clone, Debug)]
pub struct RequestService<S> {
    inner: S,
}

impl<S, B, R> tower::Service<Request<B>> for RequestService<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = RequestId::from_headers(req.headers());
        let value = id.header_value();
        // `insert` drops every other value: handlers see the one id that is logged.
        req.headers_mut().insert(REQUEST_ID, value.clone());
        req.extensions_mut().insert(id.clone());
        let current = Hub::current();
        if current.client().is_none_or(|c| !c.is_enabled()) {
            let fut = self.inner.call(req);
            return Box::pin(async move {
                let mut res = fut.await?;
                res.headers_mut().insert(REQUEST_ID, value);
                Ok(res)
            });
        }
        let hub = Arc::new(Hub::new_from_top(current));
        let what = format!("{} {}", req.method(), req.uri().path());
        hub.configure_scope(|scope| {
            scope.set_tag("request_id", id.as_str());
            scope.set_transaction(Some(&what));
        });
        let fut = Hub::run(hub.clone(), || self.inner.call(req));
        Box::pin(async move {
            let mut res = fut.bind_hub(hub.clone()).await?;
            let status = res.status();
            // 503 is readiness saying "not now" (draining, database away), not a fault.
            if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE && hub.last_event_id().is_none() {
                hub.capture_message(&format!("{what} answered {status}"), sentry::Level::Error);
            }
            res.headers_mut().insert(REQUEST_ID, value);
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::{Router, body::Body, routing::get};
    use sentry::{Level, test::with_captured_events_options};
    use tower::ServiceExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// The events Sentry would get while `requests` (path, request id) go through a router
    /// behind [`RequestLayer`] and `CatchPanicLayer`, as the service's, with their statuses.
    fn captured(requests: &[(&str, &str)]) -> (Vec<StatusCode>, Vec<sentry::protocol::Event<'static>>) {
        let app = Router::new()
            .route("/boom", get(boom))
            .route("/bad-gateway", get(|| async { StatusCode::BAD_GATEWAY }))
            .route("/draining", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route(
                "/logged",
                get(|| async {
                    tracing::error!(error = "pool timed out", "internal error");
                    StatusCode::INTERNAL_SERVER_ERROR
                }),
            )
            .route("/fine", get(|| async { "ok" }))
            .layer(tower_http::catch_panic::CatchPanicLayer::new())
            .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span::<Body>))
            .layer(RequestLayer);
        let mut statuses = Vec::new();
        let options = sentry::apply_defaults(crate::client_options("jangteo@1.2.3", Some("test"), "serve"));
        let events = with_captured_events_options(
            || {
                let subscriber = tracing_subscriber::registry().with(crate::sentry_layer());
                let _default = tracing::subscriber::set_default(subscriber);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("a runtime");
                rt.block_on(async {
                    for (path, id) in requests {
                        let req = Request::get(*path)
                            .header(REQUEST_ID, *id)
                            .body(Body::empty())
                            .expect("a request");
                        let res = app.clone().oneshot(req).await.expect("an answer");
                        assert_eq!(res.headers()[REQUEST_ID], *id, "{path}");
                        statuses.push(res.status());
                    }
                });
            },
            options,
        );
        (statuses, events)
    }

    async fn boom() -> &'static str {
        set_operation("CheckoutComplete");
        panic!("no customer kim.minji@example.com at 010-1234-5678");
    }

    fn tag<'e>(e: &'e sentry::protocol::Event<'static>, name: &str) -> Option<&'e str> {
        e.tags.get(name).map(String::as_str)
    }

    #[test]
    fn a_panicking_request_is_one_event_with_its_id_and_operation_and_no_personal_data() {
        let (statuses, events) = captured(&[("/boom", "req-boom-1")]);
        assert_eq!(statuses, [StatusCode::INTERNAL_SERVER_ERROR]);
        assert_eq!(events.len(), 1, "the panic, not the 500 again: {events:#?}");
        let e = &events[0];
        assert_eq!(tag(e, "request_id"), Some("req-boom-1"));
        assert_eq!(tag(e, "operation"), Some("CheckoutComplete"));
        assert_eq!(tag(e, "component"), Some("serve"));
        assert_eq!(e.transaction.as_deref(), Some("GET /boom"));
        assert_eq!(
            e.exception.values[0].value.as_deref(),
            Some("no customer [email] at [phone]")
        );
        let all = format!("{e:?}");
        assert!(!all.contains("kim.minji") && !all.contains("1234-5678"), "{e:#?}");
    }

    #[test]
    fn a_5xx_is_one_event_unless_reported_already_and_503_is_none() {
        let (statuses, events) = captured(&[
            ("/bad-gateway", "req-502"),
            ("/draining", "req-503"),
            ("/logged", "req-logged"),
            ("/fine", "req-200"),
        ]);
        assert_eq!(
            statuses,
            [
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::OK
            ]
        );
        assert_eq!(events.len(), 2, "{events:#?}");
        assert_eq!(tag(&events[0], "request_id"), Some("req-502"));
        assert_eq!(events[0].level, Level::Error);
        assert_eq!(
            events[0].message.as_deref(),
            Some("GET /bad-gateway answered 502 Bad Gateway")
        );
        assert_eq!(tag(&events[1], "request_id"), Some("req-logged"));
        assert!(
            format!("{:?}", events[1]).contains("pool timed out"),
            "{:#?}",
            events[1]
        );
    }

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(REQUEST_ID, HeaderValue::from_bytes(v).expect("header value"));
        }
        h
    }

    #[test]
    fn a_plain_incoming_id_is_kept() {
        for id in [
            "f3b0c442-98fc-1c14-9afb-f4c8996fb924",
            "Root=1-67891233-abcdef012345678912345678",
            "a",
        ] {
            assert_eq!(RequestId::from_headers(&headers(&[id.as_bytes()])).as_str(), id);
        }
    }

    #[test]
    fn hostile_or_ambiguous_ids_are_replaced() {
        let long = "a".repeat(MAX_REQUEST_ID + 1);
        for given in [
            &[long.as_bytes()][..],
            &[b"abc\tdef"],
            &[b"a b"],
            &[b"x\" level=error"],
            &["주문".as_bytes()],
            &[b""],
            &[b"one", b"two"],
        ] {
            let id = RequestId::from_headers(&headers(given));
            assert!(uuid::Uuid::parse_str(id.as_str()).is_ok(), "{given:?} → {id}");
        }
        assert!(uuid::Uuid::parse_str(RequestId::from_headers(&HeaderMap::new()).as_str()).is_ok());
        assert_ne!(RequestId::generate(), RequestId::generate());
    }
}
