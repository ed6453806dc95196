//! What Jangteo's binaries (the service `jangteo`, the bot `jangteo-bot`) tell ops: logs
//! ([`logs`]: text or JSON lines), the id and span of each HTTP request ([`http`]), and their
//! own panics and errors, reported to Sentry when `SENTRY_DSN` is set: release
//! `<binary>@<version>`, the environment from `SENTRY_ENVIRONMENT`, a `component` tag
//! (`serve`, `migrate`, `bot`, …), a request's `request_id` and `operation`, and no personal
//! data (no default PII; request bodies, cookies, headers, query strings and user details are
//! stripped, and e-mails, phone numbers, addresses and tokens masked in all text ([`scrub`])
//! before sending). `tracing::error!` becomes a Sentry event, `warn!`/`info!` breadcrumbs.
//!
//! In `main`, after installing the rustls provider (sentry's HTTP client uses it) and before
//! the tracing subscriber:
//! ```text
//! let sentry = telemetry::init_sentry(RELEASE, None, None, "serve"); // keep the guard
//! telemetry::logs::init(telemetry::logs::filter(&settings.log), settings.log.format, sentry.is_some());
//! ```

pub mod http;
pub mod logs;
pub mod scrub;

use std::{borrow::Cow, sync::Arc};

use sentry::{
    ClientInitGuard, ClientOptions,
    integrations::tracing::{BreadcrumbLayer, ErrorLayer},
    protocol::{Event, User},
};
use tracing_subscriber::{Layer, filter::filter_fn, registry::LookupSpan};

/// Starts reporting to Sentry as `release` (`jangteo@0.1.0`: the binary's name, not the
/// crate's) if `dsn` (else the `SENTRY_DSN` variable) is set and valid; `environment`
/// defaults to `SENTRY_ENVIRONMENT`, then `production` (`development` in debug builds). Keep
/// the guard until the end of `main`: dropping it flushes queued events.
/// `None`: not reporting (no DSN, or an invalid one, which is printed).
pub fn init_sentry(
    release: &'static str,
    dsn: Option<&str>,
    environment: Option<&str>,
    component: &str,
) -> Option<ClientInitGuard> {
    let dsn = dsn
        .map(str::to_owned)
        .or_else(|| std::env::var("SENTRY_DSN").ok())
        .filter(|d| !d.trim().is_empty())?;
    let dsn = match dsn.trim().parse::<sentry::types::Dsn>() {
        Ok(dsn) => dsn,
        Err(e) => {
            // Logging isn't set up yet: the subscriber comes after Sentry.
            eprintln!("warning: SENTRY_DSN is not a valid DSN ({e}): not reporting errors to Sentry");
            return None;
        }
    };
    let mut options = client_options(release, environment, component);
    options.dsn = Some(dsn);
    Some(sentry::init(options))
}

/// The options [`init_sentry`] uses, without a DSN (tests add the test transport).
pub fn client_options(release: &'static str, environment: Option<&str>, component: &str) -> ClientOptions {
    let component = component.to_owned();
    let mut options = ClientOptions::new();
    options.release = Some(Cow::Borrowed(release));
    options.environment = environment.map(|e| Cow::Owned(e.to_owned()));
    options.send_default_pii = false;
    options.before_send = Some(Arc::new(move |event| Some(scrub(event, &component))));
    options
}

/// A `tracing` layer: `error!` → a Sentry event, `warn!`/`info!` → breadcrumbs sent with the
/// next event (our logs carry ids, never personal data: STYLE §7). tower-http's errors stay
/// breadcrumbs, so that a request is one event: "Service panicked" (the panic hook reports the
/// panic, with its stack) and "response failed" on a 5xx ([`http::RequestLayer`] reports a
/// 5xx unless the request reported something already).
pub fn sentry_layer<S>() -> impl Layer<S> + Send + Sync
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn reported_elsewhere(m: &tracing::Metadata<'_>) -> bool {
        matches!(m.target(), "tower_http::trace::on_failure" | "tower_http::catch_panic")
    }
    BreadcrumbLayer::new()
        .with_filter(filter_fn(|m| {
            matches!(*m.level(), tracing::Level::WARN | tracing::Level::INFO) || reported_elsewhere(m)
        }))
        .and_then(ErrorLayer::new().with_filter(filter_fn(|m| {
            *m.level() == tracing::Level::ERROR && !reported_elsewhere(m)
        })))
}

/// Keeps what locates a fault (message, stack, release, route) and drops what could identify
/// a person or carry a secret.
fn scrub(mut event: Event<'static>, component: &str) -> Event<'static> {
    event.tags.insert("component".to_owned(), component.to_owned());
    if let Some(req) = event.request.as_mut() {
        req.data = None;
        req.cookies = None;
        req.query_string = None;
        req.env.clear();
        // Authorization, Cookie, X-Slack-Signature, X-Forwarded-For…: none are needed.
        req.headers.retain(|name, _| name.eq_ignore_ascii_case("content-type"));
        if let Some(url) = req.url.as_mut() {
            url.set_query(None);
            url.set_fragment(None);
        }
    }
    // A user is at most an opaque id; no IP, e-mail, name or extra fields.
    event.user = event.user.take().and_then(|u| u.id).map(|id| User {
        id: Some(id),
        ..Default::default()
    });
    // E-mails, phones, addresses and tokens in the text an error carries.
    scrub::event(&mut event);
    event
}

#[cfg(test)]
mod tests {
    use sentry::{
        Level,
        protocol::{Request, Url},
        test::with_captured_events_options,
    };
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    fn options() -> ClientOptions {
        // `sentry::init` adds the default integrations (panic, contexts, backtrace) this way.
        sentry::apply_defaults(client_options(RELEASE, Some("test"), "serve"))
    }

    const RELEASE: &str = "jangteo@1.2.3";

    fn assert_tagged(event: &Event<'static>) {
        assert_eq!(event.release.as_deref(), Some(RELEASE));
        assert_eq!(event.environment.as_deref(), Some("test"));
        assert_eq!(event.tags.get("component").map(String::as_str), Some("serve"));
    }

    #[test]
    fn a_panic_is_reported_with_release_and_environment() {
        let events = with_captured_events_options(
            || {
                let r = std::panic::catch_unwind(|| panic!("the expiry task lost its pool"));
                assert!(r.is_err());
            },
            options(),
        );
        assert_eq!(events.len(), 1, "{events:#?}");
        let e = &events[0];
        assert_tagged(e);
        assert_eq!(e.level, Level::Fatal);
        let ex = &e.exception.values[0];
        assert_eq!(ex.value.as_deref(), Some("the expiry task lost its pool"));
        assert_eq!(ex.mechanism.as_ref().map(|m| m.ty.as_str()), Some("panic"));
    }

    #[test]
    fn a_tracing_error_becomes_an_event_and_warnings_do_not() {
        let events = with_captured_events_options(
            || {
                let subscriber = tracing_subscriber::registry().with(sentry_layer());
                tracing::subscriber::with_default(subscriber, || {
                    tracing::warn!("slow statement");
                    tracing::error!(order = "ord_01", "expiring unpaid orders failed");
                });
            },
            options(),
        );
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_tagged(&events[0]);
        assert!(
            format!("{:?}", events[0]).contains("expiring unpaid orders failed"),
            "{:#?}",
            events[0]
        );
    }

    #[test]
    fn personal_data_is_stripped_before_sending() {
        let events = with_captured_events_options(
            || {
                let mut event = Event {
                    message: Some("customer create failed".to_owned()),
                    level: Level::Error,
                    ..Default::default()
                };
                let mut request = Request {
                    url: "https://shop.example.com/admin/graphql?token=abc#x".parse().ok(),
                    method: Some("POST".to_owned()),
                    data: Some(r#"{"query":"mutation{customerCreate(phone:\"010-1234-5678\")}"}"#.to_owned()),
                    query_string: Some("token=abc".to_owned()),
                    cookies: Some("session=s3cret".to_owned()),
                    ..Default::default()
                };
                request.headers.insert("Cookie".to_owned(), "session=s3cret".to_owned());
                request
                    .headers
                    .insert("X-Forwarded-For".to_owned(), "203.0.113.7".to_owned());
                request
                    .headers
                    .insert("Content-Type".to_owned(), "application/json".to_owned());
                request.env.insert("REMOTE_ADDR".to_owned(), "203.0.113.7".to_owned());
                event.request = Some(request);
                event.user = Some(User {
                    id: Some("stf_01".to_owned()),
                    email: Some("owner@example.com".to_owned()),
                    ip_address: Some(sentry::protocol::IpAddress::Auto),
                    username: Some("홍길동".to_owned()),
                    ..Default::default()
                });
                sentry::capture_event(event);
            },
            options(),
        );
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_tagged(e);
        let text = format!("{e:?}");
        for secret in [
            "010-1234-5678",
            "s3cret",
            "203.0.113.7",
            "owner@example.com",
            "홍길동",
            "token=abc",
        ] {
            assert!(!text.contains(secret), "{secret} was sent: {e:#?}");
        }
        let req = e.request.as_ref().expect("the request stays, without its data");
        assert_eq!(
            req.url.as_ref().map(Url::as_str),
            Some("https://shop.example.com/admin/graphql")
        );
        assert_eq!(req.method.as_deref(), Some("POST"));
        assert_eq!(e.user.as_ref().and_then(|u| u.id.as_deref()), Some("stf_01"));
        assert_eq!(e.user.as_ref().and_then(|u| u.ip_address.as_ref()), None);
    }
}
