//! Prometheus metrics: the process's recorder, the HTTP request counter and latency
//! histogram, and `GET /metrics` on a listener of its own (`metrics.listen`), never on the
//! public one.
//!
//! Two kinds of numbers end up in one scrape:
//! - Counted as things happen, in the process-wide recorder (`metrics` facade, rendered by
//!   `metrics-exporter-prometheus`): HTTP requests here, orders, payments, logins and jobs in
//!   `commerce::metrics`.
//! - Read at scrape time from their source and written by the scrape itself: the database
//!   pool, the job queue (one statement), the catalog cache. They belong to what this
//!   listener serves (its pool, its cache), so they never linger in the recorder.
//!
//! Labels are bounded: `endpoint` and `status` are closed sets, and `operation` is the
//! request's `operationName` only for the first [`OperationNames::MAX`] distinct valid names
//! an endpoint sees (`other` after that, and for names that are not GraphQL names;
//! `anonymous` without one), so a client making up names can't grow the series.

use std::{
    collections::HashSet,
    fmt::Write as _,
    net::SocketAddr,
    sync::{Arc, OnceLock, RwLock},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use commerce::settings::MetricsSettings;
use metrics::SharedString;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::cache::ResponseCache;

/// Counter: HTTP requests answered, by `endpoint`, `operation` and `status`.
pub const HTTP_REQUESTS: &str = "jangteo_http_requests_total";
/// Histogram: seconds from the request to its response head, labelled as [`HTTP_REQUESTS`].
pub const HTTP_DURATION: &str = "jangteo_http_request_duration_seconds";

/// Upper bounds of the latency buckets, seconds: the catalog's targets are a few
/// milliseconds, a report's a few hundred, the request timeout 30 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed at the first call (later calls get the same handle):
/// one per process, shared by every server and test in it. Also starts a thread that
/// folds recorded latencies into their buckets every few seconds, so memory stays flat
/// between scrapes.
///
/// # Errors
/// When another recorder was installed first.
pub fn install() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| e.to_string())?;
            metrics::describe_counter!(
                HTTP_REQUESTS,
                "HTTP requests answered, by endpoint, operation and status"
            );
            metrics::describe_histogram!(
                HTTP_DURATION,
                metrics::Unit::Seconds,
                "Time to the response head, by endpoint, operation and status"
            );
            commerce::metrics::describe();
            let upkeep = handle.clone();
            // A thread, not a task: it outlives any one runtime (tests start many).
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(handle)
        })
        .clone()
}

/// What a scrape reports besides the recorder: this process's pool and catalog cache.
#[derive(Clone)]
pub struct Exporter {
    /// The recorder's handle.
    pub handle: PrometheusHandle,
    /// The pool whose connections are reported; the job counts are read through it.
    pub pool: PgPool,
    /// The catalog cache (`serve`; a worker has none).
    pub cache: Option<Arc<ResponseCache>>,
}

/// The metrics of `jangteo serve` and `jangteo worker`, as `metrics.*` say: recorded from
/// [`Metrics::install`] on, served from [`Metrics::serve`] on.
pub struct Metrics {
    handle: Option<PrometheusHandle>,
    listen: SocketAddr,
}

impl Metrics {
    /// Installs the recorder when metrics are on; call it before anything is counted.
    pub fn install(settings: &MetricsSettings) -> Metrics {
        let handle = settings.enabled.then(install).and_then(|r| {
            r.map_err(|e| tracing::warn!(error = %e, "metrics not recorded: no recorder"))
                .ok()
        });
        Metrics {
            handle,
            listen: settings.listen,
        }
    }

    /// Serves `/metrics` on `metrics.listen` until the process ends, reporting `pool` and
    /// `cache`. Returns where it listens; `None` when metrics are off, or when the address
    /// can't be had (warned: the service runs on without them).
    pub async fn serve(self, pool: PgPool, cache: Option<Arc<ResponseCache>>) -> Option<SocketAddr> {
        let handle = self.handle?;
        let listener = match TcpListener::bind(self.listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "metrics not served: cannot listen on {} (set metrics.listen)",
                    self.listen
                );
                return None;
            }
        };
        let addr = listener.local_addr().ok()?;
        tracing::info!("metrics on http://{addr}/metrics");
        tokio::spawn(serve(listener, Exporter { handle, pool, cache }));
        Some(addr)
    }
}

/// Serves `GET /metrics` of `exporter` on `listener` (anything else is 404).
pub async fn serve(listener: TcpListener, exporter: Exporter) {
    if let Err(e) = axum::serve(listener, router(exporter)).await {
        tracing::warn!(error = %e, "the metrics listener stopped");
    }
}

/// The metrics listener's routes.
pub fn router(exporter: Exporter) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Arc::new(exporter))
}

/// The Prometheus text format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn scrape(State(exporter): State<Arc<Exporter>>) -> Response {
    let mut body = exporter.handle.render();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    exporter.sample(&mut body).await;
    ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], body).into_response()
}

impl Exporter {
    /// Appends what is read at scrape time: the pool, the cache, the job queue.
    async fn sample(&self, out: &mut String) {
        // Before the job statement takes a connection of its own.
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
        family(
            out,
            "jangteo_db_pool_max_connections",
            "gauge",
            "Connections the pool may open",
        );
        sample(
            out,
            "jangteo_db_pool_max_connections",
            &[],
            self.pool.options().get_max_connections(),
        );
        // sqlx 0.9 does not expose how many tasks wait for a connection.
        family(
            out,
            "jangteo_db_pool_connections",
            "gauge",
            "Open pool connections, by state",
        );
        sample(out, "jangteo_db_pool_connections", &[("state", "idle")], idle);
        sample(out, "jangteo_db_pool_connections", &[("state", "in_use")], size - idle);
        if let Some(cache) = &self.cache {
            let counts = &cache.counts;
            let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            for (name, help, value) in [
                (
                    "jangteo_cache_hits_total",
                    "Public reads answered from memory",
                    load(&counts.hits),
                ),
                (
                    "jangteo_cache_misses_total",
                    "Public reads computed and kept",
                    load(&counts.misses),
                ),
                (
                    "jangteo_cache_drops_total",
                    "Times the kept reads were dropped for a catalog change",
                    load(&counts.drops),
                ),
            ] {
                family(out, name, "counter", help);
                sample(out, name, &[], value);
            }
            family(out, "jangteo_cache_bytes", "gauge", "Bytes of public reads kept");
            sample(out, "jangteo_cache_bytes", &[], cache.weight());
        }
        let jobs = tokio::time::timeout(Duration::from_secs(2), commerce::metrics::job_counts(&self.pool)).await;
        match jobs {
            Ok(Ok(counts)) => {
                family(out, "jangteo_jobs", "gauge", "Jobs in the queue, by kind and state");
                for c in counts {
                    sample(out, "jangteo_jobs", &[("kind", c.kind), ("state", c.state)], c.count);
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "metrics: counting jobs failed"),
            Err(_) => tracing::warn!("metrics: counting jobs timed out"),
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample line; label values are ours (closed sets, job kinds `[a-z_.]+`), escaped anyway.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let v = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = write!(out, "{k}=\"{v}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// The `operation` label of a GraphQL request, carried from the handler to [`track`] as a
/// response extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationLabel(pub SharedString);

impl OperationLabel {
    /// No `operationName` in the request.
    pub const ANONYMOUS: OperationLabel = OperationLabel(SharedString::const_str("anonymous"));
    /// Not a GraphQL name, or past the endpoint's [`OperationNames::MAX`].
    pub const OTHER: OperationLabel = OperationLabel(SharedString::const_str("other"));
}

/// The operation names an endpoint has given labels to: the first [`OperationNames::MAX`]
/// distinct ones, kept for the life of the process (first come, first labelled).
#[derive(Default)]
pub struct OperationNames(RwLock<HashSet<Arc<str>>>);

impl OperationNames {
    /// Distinct names labelled per endpoint.
    pub const MAX: usize = 200;

    /// The label of a request naming `name` (no allocation once a name is known).
    pub fn label(&self, name: Option<&str>) -> OperationLabel {
        let Some(name) = name else {
            return OperationLabel::ANONYMOUS;
        };
        if !is_graphql_name(name) {
            return OperationLabel::OTHER;
        }
        if let Some(known) = self.0.read().ok().and_then(|seen| seen.get(name).cloned()) {
            return OperationLabel(SharedString::from(known));
        }
        let Ok(mut seen) = self.0.write() else {
            return OperationLabel::OTHER;
        };
        if let Some(known) = seen.get(name) {
            return OperationLabel(SharedString::from(known.clone()));
        }
        if seen.len() >= Self::MAX {
            return OperationLabel::OTHER;
        }
        let name: Arc<str> = Arc::from(name);
        seen.insert(name.clone());
        OperationLabel(SharedString::from(name))
    }
}

/// `[A-Za-z_][A-Za-z0-9_]{0,63}`: a GraphQL name of at most 64 characters.
fn is_graphql_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=64).contains(&b.len())
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The `endpoint` label of a path: a closed set.
fn endpoint(path: &str) -> &'static str {
    match path {
        "/graphql" => "storefront",
        "/admin/graphql" => "admin",
        "/healthz" | "/readyz" => "health",
        "/unsubscribe" => "unsubscribe",
        p if p.starts_with("/webhooks/") => "webhook",
        p if p.starts_with("/media/") => "media",
        _ => "other",
    }
}

/// The `status` label: the code's three digits, from a table made once.
fn status(code: StatusCode) -> &'static str {
    static CODES: OnceLock<Vec<String>> = OnceLock::new();
    let codes = CODES.get_or_init(|| (100..1000).map(|c: u16| c.to_string()).collect());
    codes
        .get(usize::from(code.as_u16().saturating_sub(100)))
        .map_or("other", String::as_str)
}

/// Middleware: counts every request and records its latency, with its endpoint, GraphQL
/// operation (empty outside GraphQL) and status.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let endpoint = endpoint(req.uri().path());
    let response = next.run(req).await;
    let operation = response
        .extensions()
        .get::<OperationLabel>()
        .map_or(SharedString::const_str(""), |o| o.0.clone());
    let status = status(response.status());
    metrics::histogram!(HTTP_DURATION, "endpoint" => endpoint, "operation" => operation.clone(), "status" => status)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "endpoint" => endpoint, "operation" => operation, "status" => status).increment(1);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let names = OperationNames::default();
        assert_eq!(names.label(None), OperationLabel::ANONYMOUS);
        assert_eq!(&*names.label(Some("Shop")).0, "Shop");
        for bad in ["", "1abc", "a-b", "이름", &"a".repeat(65)] {
            assert_eq!(names.label(Some(bad)), OperationLabel::OTHER, "{bad:?}");
        }
        assert_eq!(*names.label(Some(&"a".repeat(64))).0, "a".repeat(64));
        for i in 0..1000 {
            names.label(Some(&format!("Op{i}")));
        }
        let labelled: HashSet<String> = (0..1000)
            .map(|i| names.label(Some(&format!("Op{i}"))).0.to_string())
            .collect();
        // "Shop" and the 64 a's took two of the 200 places.
        assert_eq!(labelled.len(), OperationNames::MAX - 2 + 1);
        assert!(labelled.contains("other") && labelled.contains("Op0") && !labelled.contains("Op999"));
        assert_eq!(&*names.label(Some("Shop")).0, "Shop", "known names keep their label");
    }

    #[test]
    fn endpoints_and_statuses_are_closed_sets() {
        assert_eq!(endpoint("/graphql"), "storefront");
        assert_eq!(endpoint("/admin/graphql"), "admin");
        assert_eq!(endpoint("/webhooks/toss"), "webhook");
        assert_eq!(endpoint("/media/a/b.jpg"), "media");
        assert_eq!(endpoint("/wp-login.php"), "other");
        assert_eq!(status(StatusCode::OK), "200");
        assert_eq!(status(StatusCode::TOO_MANY_REQUESTS), "429");
    }
}
