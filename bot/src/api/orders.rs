//! `/order` against the admin API: one order by its number (`BotOrder`) or a search by
//! number, name or phone (`BotOrders`), with personal data as masked for the caller's role.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Api, ApiError};

impl Api {
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
}

const ORDER_FIELDS: &str = "number status channel createdAt paidAt ordererName phone email \
    subtotal discount shippingFee total refunded paymentMethod depositorName maskedFields \
    bankTransfer { bank amount depositorName dueAt } \
    payments { method provider amount status createdAt } \
    lines { productName variantName sku unitPrice quantity lineTotal isGift } \
    shipments { carrier { code name } trackingNumber trackingUrl shippedAt deliveredAt } \
    shippingAddress { recipient phone }";

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
