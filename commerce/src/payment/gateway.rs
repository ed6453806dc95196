//! What the three gateways have in common: the HTTP client, their errors, and a payment as
//! a gateway reports it, converted from each one's wire types.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{PaymentSettings, Provider, kakaopay::KakaoPay, portone::PortOne, toss::Toss};
use crate::Error;

/// The gateways that have keys, sharing one HTTP client.
#[derive(Clone, Debug)]
pub struct Gateways {
    /// Toss Payments, when `payments.toss` has both keys.
    pub toss: Option<Toss>,
    /// KakaoPay, when `payments.kakaopay.secret_key` is set.
    pub kakaopay: Option<KakaoPay>,
    /// PortOne, when `payments.portone` is complete.
    pub portone: Option<PortOne>,
    /// One call's time limit.
    pub timeout: std::time::Duration,
}

impl Gateways {
    /// The configured gateways. Errors: `INTERNAL` when the HTTP client cannot be built (no
    /// TLS provider installed).
    pub fn new(settings: &PaymentSettings) -> Result<Gateways, Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout().min(std::time::Duration::from_secs(10)))
            .user_agent(concat!("jangteo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Fault {
                what: "payments http client",
                reason: e.to_string(),
            })?;
        Ok(Gateways {
            toss: settings
                .toss
                .is_configured()
                .then(|| Toss::new(http.clone(), &settings.toss)),
            kakaopay: settings
                .kakaopay
                .is_configured()
                .then(|| KakaoPay::new(http.clone(), &settings.kakaopay)),
            portone: settings
                .portone
                .is_configured()
                .then(|| PortOne::new(http.clone(), &settings.portone)),
            timeout: settings.timeout(),
        })
    }

    /// None configured (tests and the demo without keys).
    pub fn none() -> Gateways {
        Gateways {
            toss: None,
            kakaopay: None,
            portone: None,
            timeout: std::time::Duration::from_secs(20),
        }
    }

    /// Whether `provider` has its keys.
    pub fn has(&self, provider: Provider) -> bool {
        match provider {
            Provider::Toss => self.toss.is_some(),
            Provider::KakaoPay => self.kakaopay.is_some(),
            Provider::PortOne => self.portone.is_some(),
        }
    }

    pub(crate) fn toss(&self) -> Result<&Toss, Error> {
        self.toss
            .as_ref()
            .ok_or(Error::PaymentMethodUnavailable { method: "TOSS" })
    }

    pub(crate) fn kakaopay(&self) -> Result<&KakaoPay, Error> {
        self.kakaopay
            .as_ref()
            .ok_or(Error::PaymentMethodUnavailable { method: "KAKAOPAY" })
    }

    pub(crate) fn portone(&self) -> Result<&PortOne, Error> {
        self.portone
            .as_ref()
            .ok_or(Error::PaymentMethodUnavailable { method: "PORTONE" })
    }
}

/// A gateway call that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayError {
    /// The gateway refused the payment itself (card company, limits): the customer may try
    /// another card.
    Declined {
        /// The gateway's code.
        code: String,
        /// The gateway's message.
        message: String,
    },
    /// The gateway answered with an error.
    Failed {
        /// HTTP status.
        status: u16,
        /// The gateway's code.
        code: String,
        /// The gateway's message.
        message: String,
    },
    /// No answer in time: the operation may or may not have happened (retry it with the
    /// same idempotency key, or ask the gateway).
    Timeout,
    /// Not reachable, or an answer that is not the documented shape.
    Unreachable(String),
}

impl GatewayError {
    /// The gateway's code (or ours: `TIMEOUT`, `UNREACHABLE`).
    pub fn code(&self) -> &str {
        match self {
            GatewayError::Declined { code, .. } | GatewayError::Failed { code, .. } => code,
            GatewayError::Timeout => "TIMEOUT",
            GatewayError::Unreachable(_) => "UNREACHABLE",
        }
    }

    /// The gateway's message (or ours).
    pub fn message(&self) -> String {
        match self {
            GatewayError::Declined { message, .. } | GatewayError::Failed { message, .. } => message.clone(),
            GatewayError::Timeout => "the payment gateway did not answer in time".into(),
            GatewayError::Unreachable(_) => "the payment gateway could not be reached".into(),
        }
    }

    /// As the core error shown to people (`PAYMENT_DECLINED` or `PAYMENT_FAILED`).
    pub fn into_error(self, provider: Provider) -> Error {
        let provider = provider.as_str();
        match self {
            GatewayError::Declined { code, message } => Error::PaymentDeclined {
                provider,
                code,
                message,
            },
            other => Error::PaymentFailed {
                provider,
                code: other.code().to_owned(),
                message: other.message(),
            },
        }
    }
}

/// A payment's state at a gateway, in our words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayStatus {
    /// Opened, not paid yet (window open, waiting for the customer).
    Pending,
    /// A virtual account waits for the deposit.
    WaitingForDeposit,
    /// Paid (approved, or deposited).
    Paid,
    /// Part of it cancelled.
    PartiallyCancelled,
    /// Wholly cancelled.
    Cancelled,
    /// Failed, aborted or expired: no money moved.
    Failed,
}

impl GatewayStatus {
    /// As stored in `payments.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayStatus::Pending => "READY",
            GatewayStatus::WaitingForDeposit => "WAITING_FOR_DEPOSIT",
            GatewayStatus::Paid => "PAID",
            GatewayStatus::PartiallyCancelled => "PARTIAL_CANCELLED",
            GatewayStatus::Cancelled => "CANCELLED",
            GatewayStatus::Failed => "FAILED",
        }
    }

    /// Money was taken and some of it is still held.
    pub fn holds_money(self) -> bool {
        matches!(self, GatewayStatus::Paid | GatewayStatus::PartiallyCancelled)
    }
}

/// A virtual account a gateway issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedAccount {
    /// Bank name, e.g. `우리은행`.
    pub bank: String,
    /// Account number.
    pub number: String,
    /// Account holder shown to the depositor.
    pub holder: String,
    /// Deposit deadline.
    pub due_at: DateTime<Utc>,
}

/// A payment as a gateway reports it.
#[derive(Clone, Debug)]
pub struct GatewayPayment {
    /// Which gateway.
    pub provider: Provider,
    /// The gateway's id: Toss `paymentKey`, KakaoPay `tid`, PortOne `paymentId`.
    pub provider_id: String,
    /// The order reference the gateway holds (our order number; PortOne's is the
    /// `paymentId`, whose order we know).
    pub order_ref: String,
    /// Its state.
    pub status: GatewayStatus,
    /// The amount approved (or to deposit).
    pub total: i64,
    /// What is left to cancel.
    pub balance: i64,
    /// How it was paid: `CARD`, `EASY_PAY`, `VIRTUAL_ACCOUNT`, `TRANSFER`, `MOBILE`, …
    pub method: String,
    /// Paid at.
    pub paid_at: Option<DateTime<Utc>>,
    /// The gateway's receipt page.
    pub receipt_url: Option<String>,
    /// A virtual account waiting for its deposit.
    pub account: Option<IssuedAccount>,
    /// A virtual account's deposit-callback secret (Toss).
    pub secret: Option<String>,
    /// Why it failed, when it did.
    pub failure: Option<(String, String)>,
    /// The latest approval or cancel transaction (Toss `lastTransactionKey`).
    pub transaction_key: Option<String>,
    /// The gateway's answer, kept on the payment row.
    pub raw: Value,
}

/// A cancellation a gateway made.
#[derive(Clone, Debug)]
pub struct GatewayCancel {
    /// The gateway's key of this cancellation.
    pub transaction_key: String,
    /// Cancelled now.
    pub amount: i64,
    /// Left to cancel after it.
    pub balance: i64,
    /// The answer.
    pub raw: Value,
}

/// Sends `req` and decodes a 2xx body as `T`; any other status goes through `on_error`
/// with the status and body. A timeout is [`GatewayError::Timeout`].
pub(crate) async fn send<T: DeserializeOwned>(
    provider: Provider,
    req: reqwest::RequestBuilder,
    on_error: impl FnOnce(u16, &[u8]) -> GatewayError,
) -> Result<(T, Value), GatewayError> {
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(GatewayError::Timeout),
        Err(e) => {
            tracing::warn!(%provider, error = %e, "payment gateway unreachable");
            return Err(GatewayError::Unreachable(e.to_string()));
        }
    };
    let status = resp.status();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) if e.is_timeout() => return Err(GatewayError::Timeout),
        Err(e) => return Err(GatewayError::Unreachable(e.to_string())),
    };
    if !status.is_success() {
        let err = on_error(status.as_u16(), &body);
        tracing::info!(%provider, status = status.as_u16(), code = err.code(), "payment gateway refused");
        return Err(err);
    }
    let raw: Value = serde_json::from_slice(&body).map_err(|e| {
        tracing::warn!(%provider, error = %e, "payment gateway answered something that is not JSON");
        GatewayError::Unreachable(format!("not JSON: {e}"))
    })?;
    let typed = T::deserialize(&raw).map_err(|e| {
        tracing::warn!(%provider, error = %e, "payment gateway answer of an unexpected shape");
        GatewayError::Unreachable(format!("unexpected answer: {e}"))
    })?;
    Ok((typed, raw))
}

/// An error answer that is not the gateway's documented error body (a proxy's HTML page, an
/// empty 502): `HTTP_<status>` with the start of the body.
pub(crate) fn unparsed(status: u16, body: &[u8]) -> GatewayError {
    GatewayError::Failed {
        status,
        code: format!("HTTP_{status}"),
        message: String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

/// Parses an RFC 3339 time (Toss `+09:00`, PortOne `Z`), or a zone-less KakaoPay time
/// (Seoul).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    naive
        .and_local_timezone(crate::SHOP_TZ)
        .single()
        .map(|t| t.with_timezone(&Utc))
}
