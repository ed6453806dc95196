//! The axum router: storefront GraphQL, health and readiness, with request spans and limits.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{Request as GqlRequest, Variables, parser::types::ExecutableDocument};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use commerce::{Lang, Settings, payment::Gateways};
use serde_json::json;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer,
};

use crate::{
    admin::{
        self, AdminSchema,
        context::{SLACK_USER_HEADER, SlackUser},
    },
    client_ip::TrustedProxies,
    http::{self, RequestData},
    ratelimit::{Api, RateLimits},
    storefront::{self, Caller, Loaders, StorefrontSchema},
};

/// The largest request body accepted (413 beyond).
pub const MAX_BODY: usize = 1024 * 1024;

/// What every handler shares.
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The storefront endpoint.
    pub storefront: http::Endpoint<StorefrontSchema>,
    /// The admin endpoint.
    pub admin: http::Endpoint<AdminSchema>,
    /// Budgets of the guessable operations (`rate_limits.*`).
    pub limits: RateLimits,
    /// Whose `X-Forwarded-For` is believed (`http.trusted_proxies`).
    pub proxies: TrustedProxies,
    /// The payment gateways that have keys (webhooks verify against them).
    pub gateways: Arc<Gateways>,
    /// The settings (unsubscribe links are checked against the server key).
    pub settings: Arc<Settings>,
    /// Product media: the store `/media/…` serves and admin uploads write to.
    pub media: Arc<commerce::media::MediaService>,
    /// Public catalog reads kept in memory, and persisted queries.
    pub cache: Arc<crate::cache::ResponseCache>,
    /// Set when shutdown begins: `/readyz` answers 503 so balancers stop sending new
    /// requests, and every response closes its connection.
    draining: AtomicBool,
}

impl AppState {
    /// State over `pool` with the service's settings; starts the catalog cache's listener.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn new(pool: PgPool, settings: Arc<Settings>) -> Arc<AppState> {
        Self::with_reports_pool(pool.clone(), pool, settings)
    }

    /// As [`AppState::new`], the reports reading from `reports` (`database.read_url`).
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn with_reports_pool(pool: PgPool, reports: PgPool, settings: Arc<Settings>) -> Arc<AppState> {
        // `serve` refuses the demo key outside --demo (main.rs); this is the demo, or a test.
        if settings.staff.uses_demo_key() {
            tracing::warn!(
                "demo mode: staff.totp_key is the built-in demo key (set JANGTEO_STAFF__TOTP_KEY in production)"
            );
        }
        if !settings.bank_transfer_available() {
            tracing::warn!("bank transfer is off: bank_transfer.account_number is the demo account");
        }
        // The gateways' HTTP client needs the one TLS provider (DESIGN §9).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let gateways = Arc::new(Gateways::new(&settings.payments).unwrap_or_else(|e| {
            tracing::error!(error = %e, "payment gateways unavailable");
            Gateways::none()
        }));
        for p in commerce::payment::Provider::ALL {
            if gateways.has(p) {
                tracing::info!(provider = %p, "payment gateway configured");
            }
        }
        let limits = RateLimits::new(&settings.rate_limits);
        // Fails only when no HTTP client can be built at all (no TLS provider).
        let media = commerce::media::MediaService::new(&settings.media).expect("media service");
        let proxies = TrustedProxies::new(settings.http.trusted_proxies.clone());
        // Catalog reads keep some connections between them (commerce::db::Reuse): half
        // the pool at most, none while other work may wait for one, swept back when unused.
        let max_kept = usize::try_from(settings.database.max_connections / 2)
            .unwrap_or(1)
            .max(1);
        let reuse = Arc::new(commerce::db::Reuse::new(pool.clone(), max_kept));
        tokio::spawn(commerce::db::Reuse::sweep_while_alive(Arc::downgrade(&reuse)));
        let storefront = storefront::schema(pool.clone(), reuse.clone(), settings.clone(), gateways.clone());
        // Off: no GraphiQL pages, and no introspection on the admin API.
        let graphiql = settings.http.graphiql;
        let admin = admin::schema(pool.clone(), reuse, reports, settings.clone(), gateways.clone());
        let cache = Arc::new(crate::cache::ResponseCache::new(&settings.cache));
        // Dropping kept reads when the catalog changes, on every replica; it ends with the pool.
        tokio::spawn(
            cache
                .clone()
                .listen(pool.clone(), Duration::from_millis(settings.cache.coalesce_ms)),
        );
        Arc::new(AppState {
            pool,
            storefront: http::Endpoint::new(storefront, "/graphql")
                .graphiql(graphiql)
                .cached(cache.clone(), crate::cache::PUBLIC_ROOTS),
            admin: http::Endpoint::new(admin, "/admin/graphql")
                .graphiql(graphiql)
                .introspection(graphiql),
            limits,
            proxies,
            gateways,
            settings,
            media,
            cache,
            draining: AtomicBool::new(false),
        })
    }

    /// Shutdown has begun: from now on `/readyz` answers 503 and every response closes its
    /// connection, so clients reconnect through the balancer to another replica. Requests
    /// are still served until the listener closes.
    pub fn start_draining(&self) {
        if !self.draining.swap(true, Ordering::SeqCst) {
            tracing::info!("draining: /readyz answers 503, connections close after their response");
        }
    }

    /// Whether [`AppState::start_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// What a request is counted as before it runs: its API, its client's budgets, and the
/// language of a refusal.
struct Admission<'a> {
    limits: &'a RateLimits,
    api: Api,
    client: IpAddr,
    /// The caller's credentials (bearer token, and the Slack user a bot acts for), for the
    /// per-caller budgets; hashed by the limiter, never kept.
    who: Option<String>,
    lang: Lang,
}

impl Admission<'_> {
    fn new<'a>(app: &'a AppState, api: Api, client: IpAddr, headers: &HeaderMap) -> Admission<'a> {
        let lang = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::from_accept_language)
            .unwrap_or_default();
        Admission {
            limits: &app.limits,
            api,
            client,
            who: None,
            lang,
        }
    }

    fn admit(
        &self,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), http::Refusal> {
        self.limits
            .admit(
                self.api,
                self.client,
                self.who.as_deref(),
                doc,
                operation_name,
                variables,
            )
            .map_err(|e| http::Refusal {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: e.code().as_str(),
                message: e.message(self.lang),
                retry_after: match e {
                    commerce::Error::RateLimited { retry_after_secs } => Some(retry_after_secs),
                    _ => None,
                },
            })
    }
}

/// The admin request's data; the storefront types it returns need the loaders too.
struct AdminData<'a>(
    Caller,
    Admission<'a>,
    &'a PgPool,
    SlackUser,
    crate::multipart::Uploads,
    &'a Arc<commerce::media::MediaService>,
);

impl RequestData for AdminData<'_> {
    fn attach(&self, req: GqlRequest) -> GqlRequest {
        let req = req
            .data(self.0.clone())
            .data(crate::storefront::StaffView)
            .data(Loaders::new(self.2))
            .data(self.3.clone())
            .data(crate::admin::context::SignedIn::default())
            .data(self.5.clone());
        self.4.attach(req)
    }

    fn admit(
        &self,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), http::Refusal> {
        self.1.admit(doc, operation_name, variables)
    }
}

async fn admin_graphql(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let client = app.proxies.client_ip(peer.ip(), &headers);
    let slack_user = SlackUser(
        headers
            .get(SLACK_USER_HEADER)
            .map(|v| v.to_str().unwrap_or_default().to_owned()),
    );
    let caller = caller(&headers, client);
    let mut admission = Admission::new(&app, Api::Admin, client, &headers);
    admission.who = caller
        .bearer
        .as_ref()
        .map(|t| format!("{t}\n{}", slack_user.0.as_deref().unwrap_or_default()));
    // Uploads (GraphQL multipart request spec): the operations go on as a JSON request,
    // the files into its variables (multipart.rs).
    let (headers, body, uploads) = match crate::multipart::boundary(&headers) {
        Some(_) if caller.bearer.is_none() => return crate::multipart::needs_bearer(),
        Some(boundary) => {
            let max = app.settings.media.max_bytes + 1;
            match crate::multipart::parse(body, boundary, max).await {
                Ok((operations, uploads)) => {
                    let mut headers = headers;
                    headers.insert(
                        axum::http::header::CONTENT_TYPE,
                        axum::http::HeaderValue::from_static("application/json"),
                    );
                    (headers, operations, uploads)
                }
                Err(refused) => return refused.into_response(),
            }
        }
        None => (headers, body, crate::multipart::Uploads::default()),
    };
    let data = AdminData(caller, admission, &app.pool, slack_user, uploads, &app.media);
    http::handle(&app.admin, &data, &method, &headers, uri.query(), &body).await
}

struct StorefrontData<'a> {
    pool: &'a PgPool,
    caller: Caller,
    admission: Admission<'a>,
}

impl RequestData for StorefrontData<'_> {
    fn attach(&self, req: GqlRequest) -> GqlRequest {
        req.data(Loaders::new(self.pool)).data(self.caller.clone())
    }

    fn admit(
        &self,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), http::Refusal> {
        self.admission.admit(doc, operation_name, variables)
    }
}

/// The bearer token and client address of a request.
fn caller(headers: &HeaderMap, client: IpAddr) -> Caller {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    Caller {
        bearer,
        ip: Some(client.to_string()),
    }
}

async fn storefront_graphql(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let client = app.proxies.client_ip(peer.ip(), &headers);
    let data = StorefrontData {
        pool: &app.pool,
        caller: caller(&headers, client),
        admission: Admission::new(&app, Api::Storefront, client, &headers),
    };
    http::handle(&app.storefront, &data, &method, &headers, uri.query(), &body).await
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    if app.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "draining" }))).into_response();
    }
    let check = tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(&app.pool)).await;
    match check {
        Ok(Ok(_)) => Json(json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unreachable" })),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "database timeout" })),
        )
            .into_response(),
    }
}

/// The service's routes with their middleware.
pub fn router(state: Arc<AppState>) -> Router {
    let admin_body = usize::try_from(state.settings.media.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MAX_BODY);
    Router::new()
        .route("/graphql", get(storefront_graphql).post(storefront_graphql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/webhooks/toss", post(crate::webhooks::toss))
        .route("/webhooks/portone", post(crate::webhooks::portone))
        .route(
            "/unsubscribe",
            get(crate::unsubscribe::page).post(crate::unsubscribe::confirm),
        )
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            MAX_BODY,
            crate::body_limit::refuse_oversized,
        ))
        // Uploads: the admin API alone takes bodies up to `media.max_bytes` and some slack.
        .merge(
            Router::new()
                .route("/admin/graphql", get(admin_graphql).post(admin_graphql))
                .layer(RequestBodyLimitLayer::new(admin_body))
                .layer(axum::extract::DefaultBodyLimit::max(admin_body))
                .layer(axum::middleware::from_fn_with_state(
                    admin_body,
                    crate::body_limit::refuse_oversized,
                )),
        )
        .route("/media/{*key}", get(crate::media::serve))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            close_while_draining,
        ))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::http::request_span::<axum::body::Body>))
        // Around the span: the request id is in it, in every answer (a panic's 500 too) and
        // in the request's Sentry scope.
        .layer(telemetry::http::RequestLayer)
        // Outermost: timeouts and panics are counted with the status they answer.
        .layer(axum::middleware::from_fn(crate::metrics::track))
}

/// While draining, `Connection: close` on every response: a client's kept-alive connection
/// ends after its answer instead of being cut at shutdown, and its next request goes
/// through the balancer to a replica that stays.
async fn close_while_draining(State(app): State<Arc<AppState>>, mut response: Response) -> Response {
    if app.is_draining() {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Serves `state` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
