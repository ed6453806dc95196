//! The admin GraphQL API as the bot uses it: one HTTP client with the bot token
//! (`Authorization: Bearer …`), acting for a Slack user with `X-Jangteo-Slack-User`, named
//! operations (`BotSales`, `BotOrder`, …), a timeout on every call, and errors mapped to
//! [`ApiError`] by their `extensions.code`. Never the database (DESIGN.md §1).
//!
//! Here: the client, its errors and the GraphQL plumbing (`run`, `decode`). Each command's
//! operations live with the types they return, all re-exported from here:
//! - `sales`: `BotSales`, `BotSalesChart`: reports, the period compared with, charts;
//! - `orders`: `BotOrder`, `BotOrders`: one order by number, or a search;
//! - `stock`: `BotStock`, `BotStockAdjust`: stock lines, and the alert buttons' adjustment;
//! - `runs`: `BotMe`, `BotRunClaim`, `BotThread`, `BotThreadSave`, `BotAlerts`: what the
//!   scheduler and the Sentry relay keep in the service.

mod orders;
mod runs;
mod sales;
mod stock;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use url::Url;

pub use orders::{BankTransfer, Carrier, Order, OrderLine, OrderList, Payment, Recipient, Shipment};
pub use runs::{Alert, BotThread, StaffMe};
pub use sales::{Figures, Granularity, ReportRow, SalesComparison, SalesReport, TopRow, png_from_data_uri};
pub use stock::{StockItem, StockList};

/// The header that makes a request act as the staff member linked to a Slack user.
pub const SLACK_USER_HEADER: &str = "X-Jangteo-Slack-User";

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The Slack user is linked to no staff member (`SLACK_USER_NOT_LINKED`).
    #[error("the Slack user is not linked to a staff member")]
    NotLinked,
    /// The role may not do this (`FORBIDDEN`).
    #[error("forbidden")]
    Forbidden,
    /// The bot token is missing, wrong, expired or revoked (`UNAUTHENTICATED`).
    #[error("the bot token was refused")]
    Unauthenticated,
    /// Nothing matches (`NOT_FOUND`).
    #[error("not found")]
    NotFound,
    /// The service asked us to slow down (`RATE_LIMITED`, `TOO_MANY_ATTEMPTS`).
    #[error("rate limited")]
    RateLimited,
    /// The call took longer than the timeout.
    #[error("the admin API timed out")]
    Timeout,
    /// The service could not be reached, or answered something that isn't GraphQL.
    #[error("the admin API is unreachable: {0}")]
    Network(String),
    /// Any other error the service reported (`INVALID_INPUT`, `INTERNAL`, …).
    #[error("{code}: {message}")]
    Other {
        /// `extensions.code`, or `userErrors[].code`.
        code: String,
        /// The service's message (for logs; never shown raw in Slack).
        message: String,
    },
}

impl ApiError {
    /// The stable code of the error.
    pub fn code(&self) -> &str {
        match self {
            ApiError::NotLinked => "SLACK_USER_NOT_LINKED",
            ApiError::Forbidden => "FORBIDDEN",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::RateLimited => "RATE_LIMITED",
            ApiError::Timeout => "TIMEOUT",
            ApiError::Network(_) => "NETWORK",
            ApiError::Other { code, .. } => code,
        }
    }

    fn from_code(code: &str, message: &str) -> ApiError {
        match code {
            "SLACK_USER_NOT_LINKED" => ApiError::NotLinked,
            "FORBIDDEN" => ApiError::Forbidden,
            "UNAUTHENTICATED" => ApiError::Unauthenticated,
            "NOT_FOUND" => ApiError::NotFound,
            "RATE_LIMITED" | "TOO_MANY_ATTEMPTS" => ApiError::RateLimited,
            _ => ApiError::Other {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    fn from_reqwest(e: reqwest::Error) -> ApiError {
        if e.is_timeout() {
            ApiError::Timeout
        } else {
            // Without the URL: it is ours, but keep messages short and free of secrets.
            ApiError::Network(e.without_url().to_string())
        }
    }
}

/// A client of the admin API, cheap to clone.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    url: Url,
    token: SecretString,
    acting: Option<String>,
}

impl Api {
    /// A client of the admin API at `url` with a bot token; every call gives up after
    /// `timeout`.
    pub fn new(url: Url, token: SecretString, timeout: Duration) -> Result<Api, ApiError> {
        // Checked here, not at the first call: a token pasted with a log line or a space
        // would otherwise read as an unreachable service on every command.
        let t = token.expose_secret();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::Other {
                code: "INVALID_TOKEN".into(),
                message: "bot.api_token is not a token: empty, or holding spaces or control characters \
                          (copy only the line `jangteo staff bot-token` prints)"
                    .into(),
            });
        }
        crate::slack::install_tls();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("jangteo-bot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Network(e.to_string()))?;
        Ok(Api {
            http,
            url,
            token,
            acting: None,
        })
    }

    /// The same client acting as the staff member linked to `slack_user_id`: the service
    /// checks that member's role on every call.
    #[must_use]
    pub fn acting(&self, slack_user_id: &str) -> Api {
        Api {
            acting: Some(slack_user_id.to_owned()),
            ..self.clone()
        }
    }

    /// The Slack user this client acts for, if any.
    pub fn acting_for(&self) -> Option<&str> {
        self.acting.as_deref()
    }

    /// Runs a named operation and decodes its `data`. A response with errors fails with the
    /// first error's code, unless `data` still decodes and the errors are only `NOT_FOUND`
    /// (a nullable field that found nothing).
    async fn run<T: DeserializeOwned>(&self, operation: &str, query: &str, variables: Value) -> Result<T, ApiError> {
        let mut req = self
            .http
            .post(self.url.clone())
            .bearer_auth(self.token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&json!({ "operationName": operation, "query": query, "variables": variables }));
        if let Some(user) = &self.acting {
            req = req.header(SLACK_USER_HEADER, user);
        }
        let started = std::time::Instant::now();
        let res = req.send().await.map_err(ApiError::from_reqwest)?;
        let status = res.status();
        let body: Value = match res.json().await {
            Ok(v) => v,
            Err(e) if e.is_timeout() => return Err(ApiError::Timeout),
            Err(_) => return Err(ApiError::Network(format!("HTTP {status} without a GraphQL body"))),
        };
        tracing::debug!(operation, %status, ms = started.elapsed().as_millis(), "admin API");
        decode(operation, body)
    }
}

/// The data or the first error of a GraphQL response.
fn decode<T: DeserializeOwned>(operation: &str, mut body: Value) -> Result<T, ApiError> {
    let first_error = body
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|errors| errors.first())
        .map(|e| {
            let code = e
                .pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or("INTERNAL");
            let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
            ApiError::from_code(code, message)
        });
    let data = body.get_mut("data").map_or(Value::Null, Value::take);
    match first_error {
        Some(ApiError::NotFound) => Err(ApiError::NotFound),
        Some(e) => {
            tracing::info!(operation, code = e.code(), "admin API refused");
            Err(e)
        }
        None => serde_json::from_value(data).map_err(|e| {
            tracing::warn!(operation, error = %e, "admin API answer did not decode");
            ApiError::Other {
                code: "BAD_RESPONSE".into(),
                message: format!("{operation}: {e}"),
            }
        }),
    }
}

/// A mutation's `userErrors[]` entry.
#[derive(Debug, Clone, Deserialize)]
struct UserError {
    code: String,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_with_spaces_or_log_lines_is_refused_at_the_start() {
        let url: Url = "http://127.0.0.1:8080/admin/graphql".parse().expect("a URL");
        let t = Duration::from_secs(1);
        for bad in ["", "jbt_abc def", "\u{1b}[2m2026-12-03 INFO\njbt_abc", "jbt_abc\n"] {
            let err = Api::new(url.clone(), SecretString::from(bad), t).expect_err(bad);
            assert!(
                err.to_string().contains("bot.api_token is not a token"),
                "{bad:?}: {err}"
            );
            assert!(
                !err.to_string().contains("jbt_abc"),
                "the secret stays out of the message"
            );
        }
        assert!(
            Api::new(
                url,
                SecretString::from("qNmQEUJZA62i66t0I9M8gWQJlLRssXp7F9CjIk21_ew"),
                t
            )
            .is_ok()
        );
    }

    #[test]
    fn error_codes_map_to_typed_errors() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct X {
            x: i64,
        }

        let body = json!({ "data": null, "errors": [
            { "message": "no", "extensions": { "code": "SLACK_USER_NOT_LINKED" } }
        ]});
        assert_eq!(decode::<Value>("BotSales", body), Err(ApiError::NotLinked));
        let body = json!({ "data": null, "errors": [{ "message": "role", "extensions": { "code": "FORBIDDEN" } }]});
        assert_eq!(decode::<Value>("BotSales", body), Err(ApiError::Forbidden));
        let body = json!({ "errors": [{ "message": "who", "extensions": { "code": "UNAUTHENTICATED" } }]});
        assert_eq!(decode::<Value>("BotSales", body), Err(ApiError::Unauthenticated));
        let body = json!({ "data": null, "errors": [{ "message": "boom" }]});
        assert_eq!(
            decode::<Value>("BotSales", body).map_err(|e| e.code().to_owned()),
            Err("INTERNAL".into())
        );
        let body = json!({ "data": { "x": 1 } });
        assert_eq!(decode::<Value>("BotSales", body), Ok(json!({ "x": 1 })));
        let body = json!({ "data": { "x": "not a number" } });
        assert!(matches!(decode::<X>("BotSales", body), Err(ApiError::Other { code, .. }) if code == "BAD_RESPONSE"));
    }
}
