//! The payment tests' shop: the real service with every gateway pointed at its fake
//! (`fakes::toss`, `fakes::kakaopay`, `fakes::portone`), one product in stock, and
//! helpers to check out, confirm and read an order back.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{
    CHECKOUT_WITH_SESSION, Options, TestApp, checkout_input, data,
    fakes::{kakaopay::FakeKakaoPay, portone::FakePortOne, toss::FakeToss},
    product_with_stock, staff_session,
};

/// Toss's published test secret key (payments.md §1.1).
pub const TOSS_SECRET: &str = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R";
/// A Toss test client key.
pub const TOSS_CLIENT: &str = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq";
/// A KakaoPay dev secret key.
pub const KAKAO_SECRET: &str = crate::fakes::kakaopay::TEST_SECRET_KEY;
/// PortOne's API secret for the fake.
pub const PORTONE_SECRET: &str = crate::fakes::portone::TEST_API_SECRET;
/// The storefront address the gateways send customers back to.
pub const STOREFRONT: &str = "https://shop.jangteo.test";
/// Each variant's price in the payment shop.
pub const PRICE: i64 = 15_000;

/// The service with the three fake gateways.
pub struct PayShop {
    /// The service.
    pub app: TestApp,
    /// Toss Payments.
    pub toss: FakeToss,
    /// KakaoPay.
    pub kakao: FakeKakaoPay,
    /// PortOne.
    pub portone: FakePortOne,
    /// A taxable variant (₩15,000, 20 in stock) and a tax-free one (₩15,000, 20).
    pub variants: Vec<String>,
    /// A tax-free variant (₩10,000, 20 in stock).
    pub tax_free: String,
}

impl PayShop {
    /// Starts the fakes and the service (gateway calls time out after `timeout_secs`).
    pub async fn start() -> PayShop {
        Self::start_with(5).await
    }

    /// As [`PayShop::start`], with another gateway time limit.
    pub async fn start_with(timeout_secs: u64) -> PayShop {
        let toss = FakeToss::start(TOSS_SECRET).await;
        let kakao = FakeKakaoPay::start(KAKAO_SECRET).await;
        let portone = FakePortOne::start(PORTONE_SECRET, crate::fakes::portone::TEST_WEBHOOK_SECRET).await;
        let (t, k, p) = (toss.base_url(), kakao.base_url(), portone.base_url());
        let app = TestApp::spawn_with(Options {
            configure: Some(Box::new(move |s: &mut commerce::Settings| {
                s.shop.storefront_url = STOREFRONT.into();
                let pay = &mut s.payments;
                pay.timeout_secs = timeout_secs;
                pay.toss.base_url = t;
                pay.toss.secret_key = Some(TOSS_SECRET.to_owned().into());
                pay.toss.client_key = Some(TOSS_CLIENT.into());
                pay.kakaopay.base_url = k;
                pay.kakaopay.secret_key = Some(KAKAO_SECRET.to_owned().into());
                pay.portone.base_url = p;
                pay.portone.api_secret = Some(PORTONE_SECRET.to_owned().into());
                pay.portone.webhook_secret = Some(crate::fakes::portone::TEST_WEBHOOK_SECRET.to_owned().into());
                pay.portone.store_id = Some(crate::fakes::portone::STORE_ID.into());
                pay.portone.channel_key = Some(crate::fakes::portone::CHANNEL_KEY.into());
            })),
            ..Options::default()
        })
        .await;
        let variants = product_with_stock(&app.pool, "shake", &[(PRICE, 20)], false).await;
        let tax_free = product_with_stock(&app.pool, "rice", &[(10_000, 20)], true).await;
        PayShop {
            app,
            toss,
            kakao,
            portone,
            variants,
            tax_free: tax_free[0].clone(),
        }
    }

    /// The service's pool.
    pub fn pool(&self) -> &PgPool {
        &self.app.pool
    }

    /// Checks out `qty` of the taxable variant with `method`; returns the payload.
    pub async fn checkout(&self, method: &str, qty: i32) -> Value {
        self.checkout_lines(method, &[(self.variants[0].as_str(), qty)], json!({}))
            .await
    }

    /// Checks out `lines` with `method` and extra input fields; returns the payload.
    pub async fn checkout_lines(&self, method: &str, lines: &[(&str, i32)], extra: Value) -> Value {
        let token = self.app.cart(lines).await;
        self.checkout_cart(&token, method, extra).await
    }

    /// Checks out the cart `token`; returns the payload.
    pub async fn checkout_cart(&self, token: &str, method: &str, extra: Value) -> Value {
        let mut input = checkout_input("buyer@example.com");
        input["paymentMethod"] = method.into();
        if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
            i.extend(e.clone());
        }
        let r = self
            .app
            .gql(CHECKOUT_WITH_SESSION, json!({ "t": token, "i": input }))
            .await;
        data(&r)["checkoutComplete"].clone()
    }

    /// `paymentConfirm` with `input`; returns the payload.
    pub async fn confirm(&self, input: Value) -> Value {
        let r = self.app.gql(PAYMENT_CONFIRM, json!({ "i": input })).await;
        data(&r)["paymentConfirm"].clone()
    }

    /// A Toss confirmation of `number` for `amount` with `payment_key`.
    pub async fn confirm_toss(&self, number: &str, payment_key: &str, amount: i64) -> Value {
        self.confirm(json!({ "provider": "TOSS", "orderNumber": number, "paymentKey": payment_key, "amount": amount }))
            .await
    }

    /// The order as a guest reads it back (status, payments, refunds, bankTransfer).
    pub async fn order(&self, number: &str) -> Value {
        let r = self
            .app
            .gql(ORDER_BY_NUMBER, json!({ "n": number, "e": "buyer@example.com" }))
            .await;
        data(&r)["orderByNumber"].clone()
    }

    /// Stock still available of the taxable variant.
    pub async fn available(&self) -> i64 {
        sqlx::query_scalar::<_, i32>("SELECT on_hand - allocated FROM variants WHERE id = $1")
            .bind(crate::uuid_of(&self.variants[0]))
            .fetch_one(&self.app.pool)
            .await
            .expect("variant")
            .into()
    }

    /// A signed-in owner's admin token.
    pub async fn owner(&self) -> String {
        staff_session(&self.app.pool, "owner@jangteo.test", commerce::staff::Role::Owner).await
    }

    /// POSTs `body` to `/webhooks/toss` as Toss does.
    pub async fn toss_webhook(&self, body: &Value) -> crate::fakes::Reply {
        self.toss
            .send_webhook(&format!("{}/webhooks/toss", self.app.base), body)
            .await
    }

    /// Expires what is unpaid as if `after` had passed.
    pub async fn expire_after(&self, after: Duration) -> Vec<String> {
        let later = chrono::Utc::now() + chrono::Duration::from_std(after).expect("duration");
        commerce::order::expire_unpaid(&self.app.pool, later, 30)
            .await
            .expect("expire")
    }

    /// Rows kept for staff: money an order could not take, as (provider, reason, amount,
    /// refunded).
    pub async fn kept_money(&self) -> Vec<(String, String, i64, bool)> {
        sqlx::query_as("SELECT provider, reason, amount, refunded FROM deposits_after_expiry ORDER BY id")
            .fetch_all(&self.app.pool)
            .await
            .expect("kept money")
    }
}

/// `paymentConfirm`.
pub const PAYMENT_CONFIRM: &str = "mutation($i: PaymentConfirmInput!) { paymentConfirm(input: $i) {
    order { number status total paidAt payments { provider method amount status paidAt receiptUrl } }
    userErrors { field code message } } }";

/// `orderByNumber` with what payment tests read.
pub const ORDER_BY_NUMBER: &str = "query($n: String!, $e: String!) { orderByNumber(number: $n, email: $e) {
    number status total refunded paidAt
    bankTransfer { bank accountNumber holder amount dueAt }
    payments { provider method amount status paidAt receiptUrl }
    refunds { amount status } } }";

/// Admin `orderRefund`.
pub const ORDER_REFUND: &str = "mutation($n: String!, $a: Won!, $acc: RefundAccountInput) {
    orderRefund(orderNumber: $n, amount: $a, reason: \"부분 환불\", refundAccount: $acc) {
      order { status refunded } userErrors { field code message } } }";

/// Admin `orderCancel`.
pub const ORDER_CANCEL: &str = "mutation($n: String!, $acc: RefundAccountInput) {
    orderCancel(orderNumber: $n, reason: \"재고 문제\", refundAccount: $acc) {
      order { status refunded } userErrors { field code message } } }";
