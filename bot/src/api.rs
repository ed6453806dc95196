//! The admin GraphQL API as the bot uses it: one HTTP client with the bot token
//! (`Authorization: Bearer …`), acting for a Slack user with `X-Jangteo-Slack-User`, named
//! operations (`BotSales`, `BotOrder`, …), a timeout on every call, and errors mapped to
//! [`ApiError`] by their `extensions.code`. Never the database (DESIGN.md §1).

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use url::Url;

use crate::command::Period;

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

    /// Totals and rows of a period by `cut`, and the totals of the period it is compared
    /// with (`BotSales`).
    pub async fn sales(
        &self,
        period: &Period,
        previous: &Period,
        group_by: &str,
        granularity: Granularity,
    ) -> Result<SalesComparison, ApiError> {
        const Q: &str = "query BotSales($from: Date!, $to: Date!, $prevFrom: Date!, $prevTo: Date!, \
            $granularity: Granularity!, $groupBy: SalesGroupBy!) {
  current: salesReport(from: $from, to: $to, granularity: $granularity, groupBy: $groupBy) {
    totals { ...BotFigures }
    rows { period key label orders units netSales }
  }
  previous: salesReport(from: $prevFrom, to: $prevTo, granularity: $granularity) { totals { ...BotFigures } }
}
fragment BotFigures on SalesFigures { orders units grossSales discounts shippingFees refunds netSales }";
        #[derive(Deserialize)]
        struct Data {
            current: SalesReport,
            previous: Totals,
        }
        #[derive(Deserialize)]
        struct Totals {
            totals: Figures,
        }
        let vars = json!({
            "from": period.from, "to": period.to,
            "prevFrom": previous.from, "prevTo": previous.to,
            "granularity": granularity.as_str(), "groupBy": group_by,
        });
        let d: Data = self.run("BotSales", Q, vars).await?;
        Ok(SalesComparison {
            current: d.current,
            previous: d.previous.totals,
        })
    }

    /// A chart of a period as PNG bytes (`BotSalesChart`): `kind` is `LINE`, `CHANNEL_BARS`
    /// or `TOP_BARS`.
    pub async fn sales_chart(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        granularity: Granularity,
        group_by: &str,
        kind: &str,
    ) -> Result<Vec<u8>, ApiError> {
        const Q: &str = "query BotSalesChart($from: Date!, $to: Date!, $granularity: Granularity!, \
            $groupBy: SalesGroupBy!, $kind: ChartKind!) {
  salesChart(from: $from, to: $to, granularity: $granularity, groupBy: $groupBy, kind: $kind, width: 1200, height: 600) { png }
}";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            sales_chart: Png,
        }
        #[derive(Deserialize)]
        struct Png {
            png: String,
        }
        let vars = json!({
            "from": from, "to": to, "granularity": granularity.as_str(), "groupBy": group_by, "kind": kind,
        });
        let d: Data = self.run("BotSalesChart", Q, vars).await?;
        png_from_data_uri(&d.sales_chart.png).ok_or_else(|| ApiError::Other {
            code: "BAD_CHART".into(),
            message: "salesChart.png is not a base64 PNG data URI".into(),
        })
    }

    /// One order by its number (`BotOrder`); `None` when there is none.
    pub async fn order(&self, number: &str) -> Result<Option<Order>, ApiError> {
        #[derive(Deserialize)]
        struct Data {
            order: Option<Order>,
        }
        let q = format!("query BotOrder($number: String!) {{ order(number: $number) {{ {ORDER_FIELDS} }} }}");
        match self.run::<Data>("BotOrder", &q, json!({ "number": number })).await {
            Ok(d) => Ok(d.order),
            Err(ApiError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Orders whose number, names or phone contain `search`, newest first (`BotOrders`).
    pub async fn orders(&self, search: &str, first: u32) -> Result<OrderList, ApiError> {
        #[derive(Deserialize)]
        struct Data {
            orders: OrderList,
        }
        let q = format!(
            "query BotOrders($search: String!, $first: Int!) {{
  orders(first: $first, filter: {{ search: $search }}) {{ totalCount nodes {{ {ORDER_FIELDS} }} }}
}}"
        );
        let d: Data = self
            .run("BotOrders", &q, json!({ "search": search, "first": first }))
            .await?;
        Ok(d.orders)
    }

    /// Stock lines by SKU or name, or those at or below their threshold (`BotStock`).
    pub async fn stock(&self, search: Option<&str>, first: u32) -> Result<StockList, ApiError> {
        const Q: &str = "query BotStock($search: String, $low: Boolean, $first: Int!) {
  stock(first: $first, search: $search, belowThreshold: $low) {
    totalCount
    nodes { variantId productName variantName sku onHand allocated available lowStockThreshold lowStock published }
  }
}";
        #[derive(Deserialize)]
        struct Data {
            stock: StockList,
        }
        let low = search.is_none().then_some(true);
        let d: Data = self
            .run("BotStock", Q, json!({ "search": search, "low": low, "first": first }))
            .await?;
        Ok(d.stock)
    }

    /// Adds `delta` units to a variant's stock on hand (`BotStockAdjust`); the service checks
    /// the acting member's role. A user error comes back as [`ApiError::Other`].
    pub async fn stock_adjust(&self, variant_id: &str, delta: i64, reason: &str) -> Result<StockItem, ApiError> {
        const Q: &str = "mutation BotStockAdjust($variantId: ID!, $delta: Int!, $reason: String!) {
  stockAdjust(variantId: $variantId, delta: $delta, reason: $reason) {
    stockItem { variantId productName variantName sku onHand allocated available lowStockThreshold lowStock published }
    userErrors { code message }
  }
}";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            stock_adjust: Payload,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            stock_item: Option<StockItem>,
            user_errors: Vec<UserError>,
        }
        let vars = json!({ "variantId": variant_id, "delta": delta, "reason": reason });
        let d: Data = self.run("BotStockAdjust", Q, vars).await?;
        if let Some(e) = d.stock_adjust.user_errors.first() {
            return Err(ApiError::from_code(&e.code, &e.message));
        }
        d.stock_adjust.stock_item.ok_or(ApiError::NotFound)
    }

    /// The signed-in member (`BotMe`): who the bot acts as.
    pub async fn me(&self) -> Result<StaffMe, ApiError> {
        const Q: &str = "query BotMe { staffMe { id name role } }";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            staff_me: StaffMe,
        }
        let d: Data = self.run("BotMe", Q, json!({})).await?;
        Ok(d.staff_me)
    }

    /// Claims the run `name` for `period` (`BotRunClaim`): true for exactly one caller, so
    /// two replicas post a report or an alert once.
    pub async fn run_claim(&self, name: &str, period: &str) -> Result<bool, ApiError> {
        const Q: &str =
            "mutation BotRunClaim($name: String!, $period: String!) { botRunClaim(name: $name, period: $period) }";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            bot_run_claim: bool,
        }
        let d: Data = self
            .run("BotRunClaim", Q, json!({ "name": name, "period": period }))
            .await?;
        Ok(d.bot_run_claim)
    }

    /// The Slack message kept under `key` (`BotThread`), if any.
    pub async fn thread(&self, key: &str) -> Result<Option<BotThread>, ApiError> {
        const Q: &str = "query BotThread($key: String!) { botThread(key: $key) { key channel ts createdAt } }";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            bot_thread: Option<BotThread>,
        }
        match self.run::<Data>("BotThread", Q, json!({ "key": key })).await {
            Ok(d) => Ok(d.bot_thread),
            Err(ApiError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Keeps the Slack message `channel`/`ts` under `key` (`BotThreadSave`); the first one
    /// saved wins and is returned.
    pub async fn thread_save(&self, key: &str, channel: &str, ts: &str) -> Result<BotThread, ApiError> {
        const Q: &str = "mutation BotThreadSave($key: String!, $channel: String!, $ts: String!) {
  botThreadSave(key: $key, channel: $channel, ts: $ts) { key channel ts createdAt }
}";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            bot_thread_save: BotThread,
        }
        let d: Data = self
            .run("BotThreadSave", Q, json!({ "key": key, "channel": channel, "ts": ts }))
            .await?;
        Ok(d.bot_thread_save)
    }

    /// Alerts raised or cleared since `since` (all open ones without it) (`BotAlerts`).
    pub async fn alerts(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Alert>, ApiError> {
        const Q: &str = "query BotAlerts($since: DateTime) {
  alerts(since: $since) { id kind key severity title detail raisedAt clearedAt orderNumber variantId sku adminUrl }
}";
        #[derive(Deserialize)]
        struct Data {
            alerts: Vec<Alert>,
        }
        let d: Data = self.run("BotAlerts", Q, json!({ "since": since })).await?;
        Ok(d.alerts)
    }
}

const ORDER_FIELDS: &str = "number status channel createdAt paidAt ordererName phone email \
    subtotal discount shippingFee total refunded paymentMethod depositorName maskedFields \
    bankTransfer { bank amount depositorName dueAt } \
    payments { method provider amount status createdAt } \
    lines { productName variantName sku unitPrice quantity lineTotal isGift } \
    shipments { carrier { code name } trackingNumber trackingUrl shippedAt deliveredAt } \
    shippingAddress { recipient phone }";

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

/// The bytes of a `data:image/png;base64,…` URI.
pub fn png_from_data_uri(uri: &str) -> Option<Vec<u8>> {
    let b64 = uri.strip_prefix("data:image/png;base64,")?;
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()
}

/// Report periods: days, weeks (from Monday) or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// `DAY`.
    Day,
    /// `WEEK`.
    Week,
    /// `MONTH`.
    Month,
}

impl Granularity {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "DAY",
            Granularity::Week => "WEEK",
            Granularity::Month => "MONTH",
        }
    }

    /// Days up to two months, weeks up to a year, months beyond: at most a few dozen points.
    pub fn for_days(days: i64) -> Granularity {
        match days {
            ..=62 => Granularity::Day,
            63..=366 => Granularity::Week,
            _ => Granularity::Month,
        }
    }
}

/// The figures of a report's totals (`SalesFigures`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Orders paid.
    pub orders: i64,
    /// Units sold.
    pub units: i64,
    /// Goods before discounts.
    pub gross_sales: i64,
    /// Discounts.
    pub discounts: i64,
    /// Shipping fees charged.
    pub shipping_fees: i64,
    /// Refunds made.
    pub refunds: i64,
    /// Gross less discounts and refunds.
    pub net_sales: i64,
}

impl Figures {
    /// What an order was worth on average: goods after discounts, to the won (as the
    /// service's `averageOrderValue`).
    pub fn average_order_value(&self) -> i64 {
        crate::format::average(self.gross_sales - self.discounts, self.orders)
    }
}

/// One row of a report: a period and, when cut, a key.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    /// The period's first day.
    pub period: NaiveDate,
    /// The cut's key (product id, SKU, channel…), none when not cut.
    pub key: Option<String>,
    /// What people call the key.
    pub label: Option<String>,
    /// Orders.
    pub orders: i64,
    /// Units.
    pub units: i64,
    /// Net sales.
    pub net_sales: i64,
}

/// A report: rows per period (and key) and totals.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SalesReport {
    /// Rows per period and key.
    pub rows: Vec<ReportRow>,
    /// The whole range.
    pub totals: Figures,
}

/// A report and the totals of the period before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesComparison {
    /// The period asked about.
    pub current: SalesReport,
    /// The period it is compared with.
    pub previous: Figures,
}

/// A cut's key over the whole range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopRow {
    /// What people call it.
    pub label: String,
    /// Orders (summed over periods; an order of two keys counts in both).
    pub orders: i64,
    /// Units.
    pub units: i64,
    /// Net sales.
    pub net_sales: i64,
}

impl SalesReport {
    /// The cut's keys over the whole range, best net sales first (then label).
    pub fn top(&self) -> Vec<TopRow> {
        let mut by_key: Vec<(String, TopRow)> = Vec::new();
        for r in &self.rows {
            let Some(key) = &r.key else { continue };
            let label = r.label.clone().unwrap_or_else(|| key.clone());
            match by_key.iter_mut().find(|(k, _)| k == key) {
                Some((_, t)) => {
                    t.orders += r.orders;
                    t.units += r.units;
                    t.net_sales += r.net_sales;
                }
                None => by_key.push((
                    key.clone(),
                    TopRow {
                        label,
                        orders: r.orders,
                        units: r.units,
                        net_sales: r.net_sales,
                    },
                )),
            }
        }
        let mut top: Vec<TopRow> = by_key.into_iter().map(|(_, t)| t).collect();
        top.sort_by(|a, b| b.net_sales.cmp(&a.net_sales).then_with(|| a.label.cmp(&b.label)));
        top
    }
}

/// An order as the bot shows it (personal data as masked for the caller's role).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Order {
    pub number: String,
    pub status: String,
    pub channel: String,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub orderer_name: String,
    pub phone: String,
    pub email: String,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping_fee: i64,
    pub total: i64,
    pub refunded: i64,
    pub payment_method: String,
    pub depositor_name: Option<String>,
    #[serde(default)]
    pub masked_fields: Vec<String>,
    pub bank_transfer: Option<BankTransfer>,
    #[serde(default)]
    pub payments: Vec<Payment>,
    pub lines: Vec<OrderLine>,
    #[serde(default)]
    pub shipments: Vec<Shipment>,
    pub shipping_address: Option<Recipient>,
}

/// A bank transfer's account and due time.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BankTransfer {
    pub bank: String,
    pub amount: i64,
    pub depositor_name: Option<String>,
    pub due_at: DateTime<Utc>,
}

/// A payment attempt.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Payment {
    pub method: String,
    pub provider: String,
    pub amount: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// An order line.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct OrderLine {
    pub product_name: String,
    pub variant_name: String,
    pub sku: String,
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
    pub is_gift: bool,
}

/// A parcel handed to a carrier.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Shipment {
    pub carrier: Carrier,
    pub tracking_number: String,
    pub tracking_url: String,
    pub shipped_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A carrier.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Carrier {
    pub code: String,
    pub name: String,
}

/// Who receives the parcel.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Recipient {
    pub recipient: String,
    pub phone: String,
}

/// A page of orders.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderList {
    /// How many match in all.
    pub total_count: i64,
    /// The newest of them.
    pub nodes: Vec<Order>,
}

/// A variant's stock.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct StockItem {
    pub variant_id: String,
    pub product_name: String,
    pub variant_name: String,
    pub sku: String,
    pub on_hand: i64,
    pub allocated: i64,
    pub available: i64,
    pub low_stock_threshold: i64,
    pub low_stock: bool,
    pub published: bool,
}

/// A page of stock lines.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StockList {
    /// How many match in all.
    pub total_count: i64,
    /// Fewest available first.
    pub nodes: Vec<StockItem>,
}

#[derive(Debug, Clone, Deserialize)]
struct UserError {
    code: String,
    message: String,
}

/// Who the bot acts as.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct StaffMe {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// A Slack message kept for a key (a Sentry issue, an alert).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BotThread {
    pub key: String,
    pub channel: String,
    pub ts: String,
    pub created_at: DateTime<Utc>,
}

/// A condition the shop should know about, from `alerts(since)`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Alert {
    pub id: String,
    /// `LOW_STOCK`, `SOLD_OUT`, `PAYMENT_FAILURES`, `ORDERS_BELOW_USUAL`,
    /// `DEPOSIT_AFTER_EXPIRY`, `STAFF_LOCKED`.
    pub kind: String,
    /// The condition's key: one alert per key until it clears.
    pub key: String,
    pub severity: String,
    pub title: String,
    pub detail: Option<String>,
    pub raised_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub order_number: Option<String>,
    pub variant_id: Option<String>,
    pub sku: Option<String>,
    pub admin_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn charts_decode_from_data_uris() {
        assert_eq!(
            png_from_data_uri("data:image/png;base64,iVBORw0K"),
            Some(vec![0x89, b'P', b'N', b'G', 13, 10])
        );
        assert_eq!(png_from_data_uri("data:image/svg+xml;base64,AAAA"), None);
        assert_eq!(png_from_data_uri("data:image/png;base64,@@"), None);
    }

    #[test]
    fn top_rows_sum_over_periods() {
        let row = |p: &str, k: &str, net| ReportRow {
            period: p.parse().expect("a date"),
            key: Some(k.into()),
            label: Some(format!("L{k}")),
            orders: 1,
            units: 2,
            net_sales: net,
        };
        let r = SalesReport {
            rows: vec![
                row("2026-12-01", "a", 100),
                row("2026-12-01", "b", 300),
                row("2026-12-02", "a", 250),
            ],
            totals: Figures::default(),
        };
        let top = r.top();
        assert_eq!(top[0].label, "La");
        assert_eq!((top[0].orders, top[0].units, top[0].net_sales), (2, 4, 350));
        assert_eq!(top[1].label, "Lb");
    }

    #[test]
    fn granularity_keeps_charts_readable() {
        assert_eq!(Granularity::for_days(1), Granularity::Day);
        assert_eq!(Granularity::for_days(62), Granularity::Day);
        assert_eq!(Granularity::for_days(63), Granularity::Week);
        assert_eq!(Granularity::for_days(400), Granularity::Month);
    }
}
