//! Typed settings: built-in defaults → optional `jangteo.toml` → `JANGTEO_*` environment.

use std::{fmt, net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use telemetry::logs::LogStringAsFilter;

/// All of the service's settings. Not `Serialize`: it holds secrets.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Where `jangteo serve` listens.
    pub listen: SocketAddr,
    /// Logs: a `tracing` filter (`info,sqlx=warn`) and text or JSON lines.
    pub log: telemetry::logs::LogSettings,
    /// Where the data lives.
    pub database: DatabaseSettings,
    /// What the storefront shows about the shop.
    pub shop: ShopSettings,
    /// Shipping fees.
    pub shipping: ShippingSettings,
    /// The account customers pay into by bank transfer (무통장입금).
    pub bank_transfer: BankTransferSettings,
    /// Customer sessions and login throttling.
    pub customers: CustomerSettings,
    /// Staff login: TOTP, sessions, throttling.
    pub staff: StaffSettings,
    /// The HTTP edge: which peers are proxies.
    pub http: HttpSettings,
    /// Rate limits of the operations that invite guessing.
    pub rate_limits: RateLimitSettings,
    /// What the storefront API shows.
    pub storefront: StorefrontSettings,
    /// HTTP caching of public catalog reads: headers for browsers and CDNs, the in-process
    /// cache, persisted queries.
    pub cache: CacheSettings,
    /// Product media: where pictures are stored and served, and the upload limits.
    pub media: crate::media::MediaSettings,
    /// Korean payment gateways (Toss Payments, KakaoPay, PortOne) and unpaid-order expiry.
    pub payments: crate::payment::PaymentSettings,
    /// E-mail: files, SMTP or Mandrill.
    pub mail: crate::notify::MailSettings,
    /// SMS/LMS: files or Solapi.
    pub sms: crate::notify::SmsSettings,
    /// KakaoTalk Alimtalk through Solapi.
    pub kakao: crate::notify::KakaoSettings,
    /// Marketing sends: the opt-out number, the night-time hold.
    pub marketing: crate::notify::MarketingSettings,
    /// Delivery tracking through Sweet Tracker.
    pub tracking: crate::shipping::tracking::TrackingSettings,
    /// Background jobs and their workers.
    pub jobs: crate::jobs::worker::JobSettings,
    /// Prometheus metrics: `GET /metrics` on a listener of its own.
    pub metrics: MetricsSettings,
    /// Demo mode (`jangteo serve --demo`): the built-in demo secrets may be used. Never read
    /// from files or the environment: only the command line turns it on.
    #[serde(skip)]
    pub demo: bool,
}

impl Settings {
    /// Whether customers may pay by bank transfer: not while the account is the built-in
    /// demo one, outside demo mode (their money would go nowhere).
    pub fn bank_transfer_available(&self) -> bool {
        self.demo || !self.bank_transfer.uses_demo_account()
    }
}

/// Prometheus metrics of `serve` and `worker`: `GET /metrics` in the text format, on a
/// listener of its own, never the public one.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MetricsSettings {
    /// Serve `/metrics` at all; `false`: no listener, nothing recorded.
    pub enabled: bool,
    /// Where `/metrics` is served (port 0: a free port, logged at start). A process that
    /// cannot listen there warns and runs on without metrics.
    pub listen: SocketAddr,
}

/// What the storefront API shows.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct StorefrontSettings {
    /// Show the exact `quantityAvailable` of variants and cart lines; when off it is null
    /// and shoppers see `stockStatus` only. Demo mode shows it whatever this says (see
    /// [`Settings::shows_exact_stock`]). Staff always see the number.
    pub show_exact_stock: bool,
}

impl Settings {
    /// Whether the storefront shows exact stock: `storefront.show_exact_stock`, or demo mode.
    pub fn shows_exact_stock(&self) -> bool {
        self.storefront.show_exact_stock || self.demo
    }
}

/// Caching of public catalog reads (`shop`, `products`, `product`, `categories`,
/// `category`, `pages`, `page` without a token).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CacheSettings {
    /// `Cache-Control: max-age` for browsers, seconds.
    pub max_age: u32,
    /// `s-maxage` for shared caches (the CDN), seconds.
    pub s_maxage: u32,
    /// `stale-while-revalidate`, seconds: a CDN may answer from a stale copy this long while
    /// it fetches a fresh one.
    pub stale_while_revalidate: u32,
    /// Responses kept in memory per replica; 0 turns the in-process cache off.
    pub max_entries: u64,
    /// Bytes of responses kept in memory per replica, at most.
    pub max_bytes: u64,
    /// Catalog changes arriving within this many milliseconds of the last drop are dropped
    /// together at its end, so a flash sale's checkouts don't empty the cache on every order:
    /// the longest a replica shows a price or stock older than a change (plus the notice's
    /// trip, a few milliseconds).
    pub coalesce_ms: u64,
    /// Automatic persisted queries kept per replica.
    pub persisted_queries: u64,
}

/// The HTTP edge.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct HttpSettings {
    /// Peers whose `X-Forwarded-For` is believed (load balancers, reverse proxies), as
    /// CIDRs; empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve GraphiQL pages (GET with `Accept: text/html`) and admin introspection; off in
    /// production when nobody browses the API.
    pub graphiql: bool,
    /// Where customers reach this service (`https://api.shop.example`): the unsubscribe links
    /// in marketing messages point here.
    pub public_url: String,
    /// At SIGTERM, how long `serve` keeps serving with `/readyz` at 503 (and `Connection:
    /// close` on every answer) before it stops accepting, so load balancers take it out of
    /// rotation first. Ctrl-C doesn't wait.
    pub drain_ms: u64,
}

/// Per-client budgets of the operations that invite guessing (order numbers, coupon codes,
/// passwords, customers' names) or mass sign-ups. Clients are IPv4 addresses or IPv6 /64s.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RateLimitSettings {
    /// `orderByNumber`, per client.
    pub order_by_number: RateLimit,
    /// Guest `orderCancel` (with an e-mail), per client.
    pub order_cancel: RateLimit,
    /// `cartCouponApply`, per client.
    pub cart_coupon_apply: RateLimit,
    /// `cartCouponApply`, per cart.
    pub cart_coupon_apply_per_cart: RateLimit,
    /// `customerSignUp`, per client.
    pub customer_sign_up: RateLimit,
    /// `customerLogin`, per client.
    pub customer_login: RateLimit,
    /// `customerLogin`, per e-mail from one client.
    pub customer_login_per_email: RateLimit,
    /// Admin `staffLogin`, per client.
    pub staff_login: RateLimit,
    /// Admin `staffLogin`, per e-mail from one client.
    pub staff_login_per_email: RateLimit,
    /// Admin `orders` with a `search`, per caller (token, and the Slack user the bot acts
    /// for) from one client: whole names find orders even for roles that see them masked.
    pub admin_order_search: RateLimit,
    /// `paymentConfirm`, per client: order numbers are sequential, and a wrong amount
    /// answers with the order's total.
    pub payment_confirm: RateLimit,
    /// Guest `inquiryCreate` (with an e-mail), per client: order numbers with e-mails.
    pub inquiry_create: RateLimit,
    /// `customerPasswordResetRequest` and `customerPasswordReset`, per client: each request
    /// sends an e-mail, each reset tries a token and hashes a password.
    pub customer_password_reset: RateLimit,
}

impl RateLimitSettings {
    /// Every limit off.
    pub fn off() -> RateLimitSettings {
        let off = RateLimit::OFF;
        RateLimitSettings {
            order_by_number: off,
            order_cancel: off,
            cart_coupon_apply: off,
            cart_coupon_apply_per_cart: off,
            customer_sign_up: off,
            customer_login: off,
            customer_login_per_email: off,
            staff_login: off,
            staff_login_per_email: off,
            admin_order_search: off,
            payment_confirm: off,
            inquiry_create: off,
            customer_password_reset: off,
        }
    }
}

/// A token bucket: `burst` requests at once, then one more every `refill_secs` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct RateLimit {
    /// Requests allowed at once; `0` turns the limit off.
    pub burst: u32,
    /// Seconds until one more request is allowed; `0` turns the limit off.
    pub refill_secs: u64,
}

impl RateLimit {
    /// No limit.
    pub const OFF: RateLimit = RateLimit {
        burst: 0,
        refill_secs: 0,
    };

    /// Whether this limits anything.
    pub fn is_on(self) -> bool {
        self.burst > 0 && self.refill_secs > 0
    }
}

/// Staff login settings.
#[derive(Clone, Debug, Deserialize)]
pub struct StaffSettings {
    /// Base64 of the 32-byte key that encrypts TOTP secrets at rest.
    pub totp_key: SecretString,
    /// The issuer shown in authenticator apps.
    pub issuer: String,
    /// How long a login challenge lives.
    pub challenge_minutes: i64,
    /// A session ends after this long without use.
    pub session_idle_minutes: i64,
    /// A session ends this long after login, used or not.
    pub session_absolute_hours: i64,
    /// Login throttling.
    pub throttle: ThrottleSettings,
}

impl StaffSettings {
    /// The built-in demo key, which production must replace.
    pub const DEMO_KEY: &'static str = "amFuZ3Rlby1kZW1vLW9ubHktdG90cC1rZXktMzJieXQ=";
}

impl StaffSettings {
    /// The TOTP key is still the built-in demo key.
    pub fn uses_demo_key(&self) -> bool {
        self.totp_key.expose_secret().trim() == Self::DEMO_KEY
    }
}

/// Shipping fees: flat, free over a threshold, extra for remote areas.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ShippingSettings {
    /// Fee per order, in won.
    pub flat_fee: i64,
    /// Products subtotal from which shipping is free, in won.
    pub free_over: i64,
    /// Extra fees by zonecode range (제주, 도서산간).
    pub remote_areas: Vec<RemoteArea>,
}

/// An extra shipping fee for a zonecode range.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RemoteArea {
    /// What it is, e.g. `제주`.
    pub name: String,
    /// First zonecode (inclusive).
    pub from: u32,
    /// Last zonecode (inclusive).
    pub to: u32,
    /// Extra fee, in won.
    pub fee: i64,
}

/// Where bank-transfer payments go, and how long the customer has.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct BankTransferSettings {
    /// Bank name.
    pub bank: String,
    /// Account number.
    pub account_number: String,
    /// Account holder (예금주).
    pub holder: String,
    /// Days until an unpaid order expires.
    pub due_days: i64,
}

impl BankTransferSettings {
    /// The account number of the built-in demo account, which production must replace.
    pub const DEMO_ACCOUNT_NUMBER: &'static str = "123401-04-567890";

    /// The account is still the built-in demo one.
    pub fn uses_demo_account(&self) -> bool {
        self.account_number.trim() == Self::DEMO_ACCOUNT_NUMBER
    }
}

/// Customer sessions and login throttling.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CustomerSettings {
    /// How long an access token lives.
    pub session_days: i64,
    /// Login throttling.
    pub throttle: ThrottleSettings,
    /// Member tiers, lowest first: the monthly evaluation gives each member the highest tier
    /// whose threshold their paid amount over the last `tier_months` reaches.
    pub tiers: Vec<TierSettings>,
    /// Months of paid orders the tier evaluation looks at.
    pub tier_months: u32,
    /// Days after delivery that the review request goes out (0: never).
    pub review_request_days: i64,
    /// Hours a cart sits idle before its reminder (once per cart).
    pub abandoned_cart_hours: i64,
    /// The dormant-account policy (휴면계정; the legal duty ended in 2023): off by default.
    pub dormant: DormantSettings,
}

/// One member tier.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TierSettings {
    /// Its code, e.g. `GOLD` (stored on the customer).
    pub code: String,
    /// Its name as customers read it, e.g. `골드`.
    pub name: String,
    /// Paid amount (₩) over the evaluation window that reaches it.
    pub threshold: i64,
    /// Points earned per ₩100 paid, in percent of the amount (e.g. 1 = 1 %).
    pub points_rate: i64,
}

/// The dormant-account policy: members who have not signed in for `after_days` get a notice,
/// and `notice_days` later their sessions end and they must sign in again to reactivate.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DormantSettings {
    /// Whether the daily job runs at all.
    pub enabled: bool,
    /// Days without a sign-in.
    pub after_days: i64,
}

/// Login throttling (customers and staff alike). Failures count per (account, client
/// address): one address guessing can't lock the owner out from another. Only many
/// addresses together lock the account itself, and one address only at a high bound (a
/// shared proxy or office NAT carries many people).
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
pub struct ThrottleSettings {
    /// Failed logins of one account from one address within the window that lock that
    /// pair until the window ends; each failure also delays its answer a little more.
    pub max_failures_per_account_and_ip: i32,
    /// Failed logins of one account within the window that lock it from every address,
    /// when they came from at least `account_lock_addresses` addresses.
    pub account_lock_failures: i64,
    /// How many distinct addresses a sustained attack must come from to lock the account.
    pub account_lock_addresses: i64,
    /// Failed logins from one address within the window, over all accounts, that lock the
    /// address (a high bound).
    pub max_failures_per_ip: i64,
    /// The window, in minutes: how long failures count and a lock lasts.
    pub window_minutes: i32,
}

/// How to find PostgreSQL (DESIGN.md §2).
#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseSettings {
    /// An explicit server; wins over everything else.
    pub url: Option<DatabaseUrl>,
    /// Try the local server (socket, then 127.0.0.1:5432) when no `url` is set.
    pub local: bool,
    /// Where a private cluster is made when no server is found.
    pub private_dir: PathBuf,
    /// The database to use (created if missing) on a local server or private cluster.
    pub name: String,
    /// Pool size.
    pub max_connections: u32,
    /// PostgreSQL `statement_timeout` of every pooled connection, in milliseconds (0: none).
    pub statement_timeout_ms: u64,
    /// A read replica (or any server with the same data) the statistics and reports read
    /// from; none: they read from the main pool. Never written to.
    pub read_url: Option<DatabaseUrl>,
    /// Pool size on `read_url`.
    pub read_max_connections: u32,
}

/// A PostgreSQL URL, which may carry a password: kept as a secret, shown parsed with the
/// password (and any `password=` query parameter) replaced.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// The URL itself, for connecting.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with its password masked; `<unparseable url>` if it isn't one.
    pub fn redacted(&self) -> String {
        let Ok(mut url) = url::Url::parse(self.expose()) else {
            return "<unparseable url>".to_owned();
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> DatabaseUrl {
        DatabaseUrl(SecretString::from(url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The shop as the storefront presents it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ShopSettings {
    /// The storefront's address (`https://shop.example`): the gateways send customers back
    /// to pages under it (`/payments/toss/success`, `/payments/kakaopay/approve`, …).
    pub storefront_url: String,
    /// 상호, shown in the storefront.
    pub name: String,
    /// One line about the shop.
    pub description: String,
    /// The business details the storefront footer must show (전자상거래법 §10).
    pub business: BusinessSettings,
}

/// The seller's details Korean law asks every online shop to show (상호, 대표자,
/// 사업자등록번호, 통신판매업 신고번호, 사업장 주소, 전화, 전자우편, 개인정보관리책임자).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct BusinessSettings {
    /// 상호 (the registered company name).
    pub company_name: String,
    /// 대표자.
    pub ceo: String,
    /// 사업자등록번호, `123-45-67890`.
    pub registration_number: String,
    /// 통신판매업 신고번호, e.g. `제2026-서울강남-01234호`.
    pub mail_order_number: String,
    /// 사업장 소재지.
    pub address: String,
    /// 고객센터 전화.
    pub phone: String,
    /// 전자우편.
    pub email: String,
    /// 개인정보관리책임자.
    pub privacy_officer: String,
}

impl BusinessSettings {
    /// The registration number of the built-in demo business, which a real shop replaces.
    pub const DEMO_REGISTRATION_NUMBER: &'static str = "000-00-00000";

    /// The details are still the built-in demo ones.
    pub fn uses_demo_details(&self) -> bool {
        self.registration_number.trim() == Self::DEMO_REGISTRATION_NUMBER
    }
}

const DEFAULTS: &str = include_str!("defaults.toml");

impl Settings {
    /// The layers in order; later ones win. `config` replaces `./jangteo.toml` when given.
    pub fn figment(config: Option<&std::path::Path>) -> Figment {
        // `log = "…"` (a filter alone) still reads, as `log.filter`.
        let mut fig = Figment::new().merge(Toml::string(DEFAULTS));
        fig = match config {
            Some(path) => fig.merge(LogStringAsFilter(Toml::file_exact(path))),
            None => fig.merge(LogStringAsFilter(Toml::file("jangteo.toml"))),
        };
        // The conventional variable, below our own prefixed one.
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.is_empty()
        {
            fig = fig.merge(Serialized::default("database.url", url));
        }
        fig.merge(telemetry::logs::env("JANGTEO_"))
    }

    /// Loads settings from all layers.
    pub fn load(config: Option<&std::path::Path>) -> Result<Settings, Box<figment::Error>> {
        Self::figment(config).extract().map_err(Box::new)
    }

    /// The built-in defaults alone (tests start from these).
    ///
    /// # Panics
    /// Never: `defaults.toml` is compiled in and tested.
    pub fn defaults() -> Settings {
        Figment::new()
            .merge(Toml::string(DEFAULTS))
            .extract()
            .expect("built-in defaults.toml is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_demo_setup() {
        let s = Settings::defaults();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(s.database.url.is_none() && s.database.local);
        assert_eq!(s.database.private_dir, PathBuf::from("./var/postgres"));
        assert!(s.http.trusted_proxies.is_empty());
        assert!(s.metrics.enabled && s.metrics.listen.to_string() == "127.0.0.1:9090");
        assert!(s.rate_limits.cart_coupon_apply_per_cart.is_on());
        // The built-in secrets are the demo ones, recognised as such outside demo mode.
        assert!(s.staff.uses_demo_key() && s.bank_transfer.uses_demo_account());
        assert!(s.shop.business.uses_demo_details());
        assert!(!s.demo && !s.bank_transfer_available());
        assert!(!s.shows_exact_stock(), "exact stock is private outside the demo");
        assert!(Settings { demo: true, ..s }.bank_transfer_available());
        let demo = Settings {
            demo: true,
            ..Settings::defaults()
        };
        assert!(demo.shows_exact_stock());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type
    fn env_overrides_file_overrides_defaults_and_url_stays_secret() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("jangteo.toml", "listen = \"127.0.0.1:9000\"\n[shop]\nname = \"파일\"\n")?;
            jail.set_env("JANGTEO_SHOP__NAME", "환경");
            jail.set_env("DATABASE_URL", "postgres://u:hunter2@db/x");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.listen.port(), 9000);
            assert_eq!(s.shop.name, "환경");
            assert_eq!(
                s.database.url.as_ref().map(DatabaseUrl::expose),
                Some("postgres://u:hunter2@db/x")
            );
            let shown = format!("{s:?}");
            assert!(
                !shown.contains("hunter2") && shown.contains("postgres://u:***@db/x"),
                "{shown}"
            );
            jail.set_env(
                "JANGTEO_STAFF__TOTP_KEY",
                "c2VjcmV0LXRvdHAta2V5LWZvci10aGUtdGVzdC0zMmI=",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(
                !format!("{s:?}").contains("c2VjcmV0"),
                "the TOTP key stays out of Debug"
            );
            assert!(!s.staff.uses_demo_key());
            jail.set_env("JANGTEO_HTTP__TRUSTED_PROXIES", "[10.0.0.0/8, \"fd00::/8\"]");
            jail.set_env("JANGTEO_RATE_LIMITS__CUSTOMER_LOGIN__BURST", "7");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.http.trusted_proxies.len(), 2);
            assert!(s.http.trusted_proxies[1].contains(&"fd00::1".parse::<std::net::IpAddr>().expect("ip")));
            assert_eq!(
                s.rate_limits.customer_login,
                RateLimit {
                    burst: 7,
                    refill_secs: 2
                }
            );
            jail.set_env("JANGTEO_DATABASE__URL", "postgres://other/y");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.database.url.as_ref().map(DatabaseUrl::expose),
                Some("postgres://other/y")
            );
            jail.set_env("JANGTEO_DATABASE__URL", "postgres://db/z?user=u&password=hunter3");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(!format!("{s:?}").contains("hunter3"));
            Ok(())
        });
    }
}
