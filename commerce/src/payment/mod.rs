//! Korean payment gateways: Toss Payments (card, easy pay, virtual accounts), KakaoPay and
//! PortOne V2; owns `payments`, `webhook_events` and the gateway side of `refunds`.
//!
//! Rules (DESIGN.md §3, §5):
//! - Every amount is checked against the order on the server, before the gateway is called
//!   and again in the gateway's answer. An order is `PAID` only when the gateway says so.
//! - A confirmation claims its order (`orders.payment_claimed_until`), so a second click or
//!   tab waits for the first and returns its result; the gateway call itself is idempotent
//!   (Toss `Idempotency-Key`). No connection is held across a gateway call.
//! - Webhooks are verified (PortOne's Standard Webhooks signature, a Toss virtual account's
//!   secret), stored by event id and handled once, and only ever act on what the gateway's
//!   API answers when asked again.
//! - Money that arrives for an order that cannot take it is cancelled at the gateway where
//!   it can be, and always kept in `deposits_after_expiry` for staff.
//!
//! Each gateway is a module with its client and its wire types exactly as documented
//! (`../shared/providers/payments.md`); production code knows only a base URL.

pub mod confirm;
mod gateway;
pub mod kakaopay;
pub mod portone;
pub mod refund;
pub mod session;
pub mod toss;
pub mod webhook;

use std::{fmt, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use gateway::{GatewayError, GatewayPayment, GatewayStatus, Gateways};

/// A gateway (the `provider` of a payment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Toss Payments: the payment window (card, easy pay) and virtual accounts.
    Toss,
    /// KakaoPay online single payment.
    KakaoPay,
    /// PortOne V2 (any PG it fronts: Inicis, KCP, NICE, …).
    PortOne,
}

impl Provider {
    /// Every gateway.
    pub const ALL: [Provider; 3] = [Provider::Toss, Provider::KakaoPay, Provider::PortOne];

    /// As stored and shown: `TOSS`, `KAKAOPAY`, `PORTONE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Toss => "TOSS",
            Provider::KakaoPay => "KAKAOPAY",
            Provider::PortOne => "PORTONE",
        }
    }

    /// From the stored form.
    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "TOSS" => Some(Provider::Toss),
            "KAKAOPAY" => Some(Provider::KakaoPay),
            "PORTONE" => Some(Provider::PortOne),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `payments.*` settings. Secrets never show in `Debug`.
#[derive(Clone, Debug, Deserialize)]
pub struct PaymentSettings {
    /// Minutes an unpaid gateway order (`PENDING_PAYMENT`) keeps its stock.
    pub pending_minutes: i64,
    /// Seconds one gateway call may take, connect to last byte.
    pub timeout_secs: u64,
    /// Hours a Toss virtual account waits for its deposit (Toss allows up to 720).
    pub virtual_account_hours: i64,
    /// Toss Payments.
    pub toss: TossSettings,
    /// KakaoPay.
    pub kakaopay: KakaoPaySettings,
    /// PortOne V2.
    pub portone: PortOneSettings,
}

impl PaymentSettings {
    /// One gateway call's time limit.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.clamp(1, 120))
    }
}

/// `payments.toss.*`.
#[derive(Clone, Debug, Deserialize)]
pub struct TossSettings {
    /// `https://api.tosspayments.com`.
    pub base_url: String,
    /// `test_sk_…` / `live_sk_…`: the API's Basic auth user.
    pub secret_key: Option<SecretString>,
    /// `test_ck_…` / `live_ck_…`: what the storefront's Toss SDK opens the window with.
    pub client_key: Option<String>,
    /// The bank code virtual accounts are issued at (`20` = 우리은행).
    pub virtual_account_bank: String,
}

impl TossSettings {
    /// Both keys are set.
    pub fn is_configured(&self) -> bool {
        is_set(self.secret_key.as_ref()) && self.client_key.as_deref().is_some_and(|k| !k.trim().is_empty())
    }
}

/// `payments.kakaopay.*`.
#[derive(Clone, Debug, Deserialize)]
pub struct KakaoPaySettings {
    /// `https://open-api.kakaopay.com`.
    pub base_url: String,
    /// The merchant's CID (`TC0ONETIME` for tests).
    pub cid: String,
    /// The secret key (`Authorization: SECRET_KEY …`).
    pub secret_key: Option<SecretString>,
}

impl KakaoPaySettings {
    /// The secret key is set.
    pub fn is_configured(&self) -> bool {
        is_set(self.secret_key.as_ref()) && !self.cid.trim().is_empty()
    }
}

/// `payments.portone.*`.
#[derive(Clone, Debug, Deserialize)]
pub struct PortOneSettings {
    /// `https://api.portone.io`.
    pub base_url: String,
    /// The V2 API secret (`Authorization: PortOne …`).
    pub api_secret: Option<SecretString>,
    /// The webhook secret (`whsec_…`).
    pub webhook_secret: Option<SecretString>,
    /// The store id (`store-…`) the browser SDK pays into.
    pub store_id: Option<String>,
    /// The channel key choosing the PG (Inicis, KCP, …).
    pub channel_key: Option<String>,
}

impl PortOneSettings {
    /// The API secret, webhook secret, store id and channel key are all set.
    pub fn is_configured(&self) -> bool {
        is_set(self.api_secret.as_ref())
            && is_set(self.webhook_secret.as_ref())
            && self.store_id.as_deref().is_some_and(|s| !s.trim().is_empty())
            && self.channel_key.as_deref().is_some_and(|s| !s.trim().is_empty())
    }
}

fn is_set(s: Option<&SecretString>) -> bool {
    s.is_some_and(|s| !s.expose_secret().trim().is_empty())
}

/// Frees the order's payment claim (`orders.payment_claimed_until`) after a gateway call
/// that changed nothing on our side.
pub(crate) async fn release_claim(pool: &sqlx::PgPool, order: crate::ids::OrderId) -> Result<(), crate::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query!(
        "UPDATE orders SET payment_claimed_until = NULL WHERE id = $1",
        order as crate::ids::OrderId
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// SHA-256 of a secret kept only as a hash (a virtual account's deposit-callback secret, a
/// KakaoPay `pg_token`).
pub(crate) fn digest(s: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).to_vec()
}

/// Hex SHA-256 of `parts` joined by NUL: idempotency keys that are stable for one operation
/// and say nothing about it.
pub(crate) fn idempotency_key(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0]);
        }
        h.update(p.as_bytes());
    }
    h.finalize().iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    })
}
