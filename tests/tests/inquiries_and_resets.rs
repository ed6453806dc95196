//! Inquiries (1:1 문의), password reset and account e-mails over HTTP. The e-mails are
//! read back from the mail directory after the jobs ran (`worker::drain`): the answer of an
//! inquiry (its HTML escaped), the single-use reset link, the welcome at sign-up and the
//! staff lock notice.

use std::{path::Path, sync::Arc};

use commerce::{
    Settings,
    jobs::{handlers::Runner, worker},
    staff::Role,
};
use jangteo_tests::{CART_CREATE, CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, staff_session};
use mail_parser::MessageParser;
use serde_json::{Value, json};

const SIGN_UP: &str = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) {
    customer { id email } userErrors { field code message } } }";
const LOGIN: &str = "mutation($e: String!, $p: String!) { customerLogin(email: $e, password: $p) {
    accessToken userErrors { code } } }";
const ASK: &str = "mutation($i: InquiryCreateInput!) { inquiryCreate(input: $i) {
    inquiry { id category title body status answer answeredAt createdAt orderNumber }
    userErrors { field code message } } }";
const MY_INQUIRIES: &str = "query($after: String) { me { inquiries(first: 1, after: $after) {
    edges { cursor node { id title orderNumber status } } nodes { id } pageInfo { hasNextPage endCursor } } } }";
const ADMIN_LIST: &str = "query($s: InquiryStatus) { inquiries(first: 10, filter: {status: $s}) {
    totalCount nodes { id email name category title body status answer answeredAt orderNumber } } }";
const ANSWER: &str = "mutation($id: ID!, $b: String!) { inquiryAnswer(id: $id, body: $b) {
    inquiry { id status answer answeredAt email } userErrors { field code } } }";
const RESET_REQUEST: &str = "mutation($e: String!) { customerPasswordResetRequest(email: $e) {
    ok userErrors { field code message } } }";
const RESET: &str = "mutation($t: String!, $p: String!) { customerPasswordReset(token: $t, password: $p) {
    ok userErrors { field code message } } }";

/// The service, e-mailing into a directory of its own, and a job runner with its settings.
struct Shop {
    app: TestApp,
    runner: Runner,
    settings: Arc<Settings>,
    mail: tempfile::TempDir,
}

impl Shop {
    async fn open(limits: Option<fn(&mut Settings)>) -> Shop {
        let mail = tempfile::tempdir().expect("mail dir");
        let dir = mail.path().to_owned();
        let mut settings = Settings::defaults();
        settings.mail.dir.clone_from(&dir);
        let app = TestApp::spawn_with(Options {
            settings: limits,
            configure: Some(Box::new(move |s| s.mail.dir = dir)),
            ..Options::default()
        })
        .await;
        let settings = Arc::new(settings);
        let runner = Runner::new(app.pool.clone(), settings.clone()).expect("runner");
        Shop {
            app,
            runner,
            settings,
            mail,
        }
    }

    /// Runs every due job (the e-mails), as a worker would.
    async fn drain(&self) {
        worker::drain(&self.app.pool, &self.runner, &self.settings.jobs)
            .await
            .expect("drain jobs");
    }

    /// The e-mails sent so far to `to`, oldest first.
    fn mails_to(&self, to: &str) -> Vec<Mail> {
        mails(self.mail.path()).into_iter().filter(|m| m.to == to).collect()
    }

    /// A new member, signed in: their access token.
    async fn member(&self, email: &str, name: &str) -> String {
        let r = self
            .app
            .gql(
                SIGN_UP,
                json!({ "i": {
                    "email": email, "password": "jangteo1234!", "name": name, "mobile": "010-9876-5432",
                    "termsAccepted": true, "privacyAccepted": true,
                } }),
            )
            .await;
        assert_eq!(data(&r)["customerSignUp"]["userErrors"], json!([]), "{r}");
        self.login(email, "jangteo1234!").await.expect("the new member logs in")
    }

    async fn login(&self, email: &str, password: &str) -> Option<String> {
        let r = self.app.gql(LOGIN, json!({ "e": email, "p": password })).await;
        data(&r)["customerLogin"]["accessToken"].as_str().map(str::to_owned)
    }

    /// An order placed by a guest (`token` None) or a member; its number.
    async fn order(&self, variant: &str, email: &str, token: Option<&str>) -> String {
        let lines = json!({ "lines": [{ "variantId": variant, "quantity": 1 }] });
        let vars = |cart: &str| json!({ "t": cart, "i": checkout_input(email) });
        let r = match token {
            Some(t) => {
                let r = self.app.gql_as(t, CART_CREATE, lines).await;
                let cart = data(&r)["cartCreate"]["cart"]["token"]
                    .as_str()
                    .expect("cart")
                    .to_owned();
                self.app.gql_as(t, CHECKOUT, vars(&cart)).await
            }
            None => {
                let cart = self.app.cart(&[(variant, 1)]).await;
                self.app.gql(CHECKOUT, vars(&cart)).await
            }
        };
        data(&r)["checkoutComplete"]["order"]["number"]
            .as_str()
            .expect("order number")
            .to_owned()
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.app.pool)
            .await
            .expect("count")
    }
}

/// One e-mail read back from its `.eml` file.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    text: String,
    html: String,
}

/// The `.eml` files in `dir`, oldest first (their names start with the time).
fn mails(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).expect("read .eml");
            let m = MessageParser::default().parse(&raw).expect("a MIME message");
            Mail {
                to: m
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_owned(),
                subject: m.subject().unwrap_or_default().to_owned(),
                text: m.body_text(0).map(std::borrow::Cow::into_owned).unwrap_or_default(),
                html: m.body_html(0).map(std::borrow::Cow::into_owned).unwrap_or_default(),
            }
        })
        .collect()
}

fn ask(order_number: Option<&str>, email: Option<&str>, title: &str, body: &str) -> Value {
    json!({ "i": {
        "orderNumber": order_number, "email": email, "category": "DELIVERY", "title": title, "body": body,
    } })
}

/// A bot token (the Slack bot's), made by an owner.
async fn bot_token(app: &TestApp) -> String {
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let r = app
        .admin(
            &owner,
            "mutation { botTokenCreate(name: \"slack\") { token userErrors { code } } }",
            json!({}),
        )
        .await;
    data(&r)["botTokenCreate"]["token"]
        .as_str()
        .expect("bot token")
        .to_owned()
}

/// The token of the reset link in a mail's text part.
fn link_token(text: &str) -> String {
    let at = text.find("/account/reset-password?token=").expect("a reset link");
    text[at..]
        .split_once("token=")
        .map(|(_, t)| t.split_whitespace().next().unwrap_or_default().to_owned())
        .expect("token")
}

#[tokio::test]
async fn a_member_asks_with_or_without_their_order_and_lists_only_their_own() {
    let shop = Shop::open(None).await;
    let v = product_with_stock(&shop.app.pool, "ask", &[(12000, 10)], false).await;
    let minji = shop.member("minji@example.com", "김민지").await;
    let other = shop.member("other@example.com", "이서준").await;
    let hers = shop.order(&v[0], "minji@example.com", Some(&minji)).await;
    let strangers = shop.order(&v[0], "guest@example.com", None).await;

    // Without an order; an `email` given by a member is ignored: answers go to the account.
    let r = shop
        .app
        .gql_as(
            &minji,
            ASK,
            ask(None, Some("elsewhere@example.com"), "  배송 문의  ", "언제 오나요?"),
        )
        .await;
    let first = &data(&r)["inquiryCreate"];
    assert_eq!(first["userErrors"], json!([]), "{r}");
    let i = &first["inquiry"];
    assert!(i["id"].as_str().is_some_and(|id| id.starts_with("inq_")), "{i}");
    assert_eq!(
        (i["title"].clone(), i["status"].clone(), i["category"].clone()),
        (json!("배송 문의"), json!("OPEN"), json!("DELIVERY")),
        "trimmed"
    );
    assert!(i["orderNumber"].is_null() && i["answer"].is_null() && i["answeredAt"].is_null());

    // About her order.
    let r = shop
        .app
        .gql_as(
            &minji,
            ASK,
            ask(Some(&hers), None, "주문 문의", "옵션을 바꿀 수 있나요?"),
        )
        .await;
    assert_eq!(data(&r)["inquiryCreate"]["inquiry"]["orderNumber"], hers.as_str());

    // Someone else's order is not found, and nothing is kept.
    let r = shop
        .app
        .gql_as(&minji, ASK, ask(Some(&strangers), None, "남의 주문", "?"))
        .await;
    let e = &data(&r)["inquiryCreate"]["userErrors"][0];
    assert_eq!(e["code"], "NOT_FOUND", "{r}");
    assert!(data(&r)["inquiryCreate"]["inquiry"].is_null());
    assert_eq!(shop.count("SELECT count(*) FROM inquiries").await, 2);
    assert_eq!(
        shop.count("SELECT count(*) FROM inquiries WHERE email = 'minji@example.com' AND name = '김민지'")
            .await,
        2,
        "answers go to the account e-mail"
    );

    // Bad input names its field.
    for (field, vars) in [
        ("title", ask(None, None, " ", "본문")),
        ("title", ask(None, None, &"가".repeat(101), "본문")),
        ("body", ask(None, None, "제목", "")),
        ("body", ask(None, None, "제목", &"a".repeat(5001))),
    ] {
        let r = shop.app.gql_as(&minji, ASK, vars).await;
        let e = &data(&r)["inquiryCreate"]["userErrors"][0];
        assert_eq!(
            (e["code"].clone(), e["field"].clone()),
            (json!("INVALID_INPUT"), json!([field]))
        );
    }

    // Hers, newest first, a page at a time.
    let r = shop.app.gql_as(&minji, MY_INQUIRIES, json!({})).await;
    let page = &data(&r)["me"]["inquiries"];
    assert_eq!(page["edges"][0]["node"]["title"], "주문 문의", "{r}");
    assert_eq!(page["edges"][0]["node"]["orderNumber"], hers.as_str());
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let r = shop
        .app
        .gql_as(&minji, MY_INQUIRIES, json!({ "after": page["pageInfo"]["endCursor"] }))
        .await;
    let page = &data(&r)["me"]["inquiries"];
    assert_eq!(page["edges"][0]["node"]["title"], "배송 문의");
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    let r = shop
        .app
        .gql_as(&minji, MY_INQUIRIES, json!({ "after": "ord_nonsense" }))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_CURSOR", "{r}");
    // Nobody else's.
    let r = shop.app.gql_as(&other, MY_INQUIRIES, json!({})).await;
    assert_eq!(data(&r)["me"]["inquiries"]["nodes"], json!([]));
    shop.drain().await;
}

#[tokio::test]
async fn a_guest_asks_by_order_number_and_email_and_a_wrong_one_is_not_found_alike() {
    let shop = Shop::open(None).await;
    let variants = product_with_stock(&shop.app.pool, "guest", &[(12000, 10)], false).await;
    let number = shop.order(&variants[0], "guest@example.com", None).await;

    let r = shop
        .app
        .gql(
            ASK,
            ask(Some(&number), Some(" Guest@Example.com "), "배송", "언제 오나요?"),
        )
        .await;
    let p = &data(&r)["inquiryCreate"];
    assert_eq!(p["userErrors"], json!([]), "{r}");
    assert_eq!(p["inquiry"]["orderNumber"], number.as_str());

    // A wrong e-mail and a wrong number get the same answer, and nothing is kept.
    let wrong_email = shop
        .app
        .gql(ASK, ask(Some(&number), Some("someone@example.com"), "배송", "?"))
        .await;
    let wrong_number = shop
        .app
        .gql(
            ASK,
            ask(Some("20991231-999999"), Some("guest@example.com"), "배송", "?"),
        )
        .await;
    let (by_email, by_number) = (
        &data(&wrong_email)["inquiryCreate"],
        &data(&wrong_number)["inquiryCreate"],
    );
    assert_eq!(by_email["userErrors"][0]["code"], "NOT_FOUND", "{wrong_email}");
    assert_eq!(by_email, by_number, "no telling which was wrong");
    // A guest must name both.
    for (field, vars) in [
        ("orderNumber", ask(None, Some("guest@example.com"), "배송", "?")),
        ("email", ask(Some(&number), None, "배송", "?")),
    ] {
        let r = shop.app.gql(ASK, vars).await;
        let e = &data(&r)["inquiryCreate"]["userErrors"][0];
        assert_eq!(
            (e["code"].clone(), e["field"].clone()),
            (json!("INVALID_INPUT"), json!([field]))
        );
    }
    assert_eq!(shop.count("SELECT count(*) FROM inquiries").await, 1);
    assert_eq!(
        shop.count("SELECT count(*) FROM inquiries WHERE customer_id IS NULL AND email = 'guest@example.com' AND name = '홍길동'")
            .await,
        1,
        "the answer goes to the order's e-mail, to its orderer"
    );
    shop.drain().await;
}

#[tokio::test]
async fn cs_answers_and_the_answer_is_mailed_with_the_html_escaped() {
    let shop = Shop::open(None).await;
    let app = &shop.app;
    let v = product_with_stock(&app.pool, "answer", &[(12000, 10)], false).await;
    let number = shop.order(&v[0], "guest@example.com", None).await;
    let hostile = "<script>alert('문의')</script> 언제 오나요?";
    let r = app
        .gql(
            ASK,
            ask(Some(&number), Some("guest@example.com"), "<b>배송</b>", hostile),
        )
        .await;
    let asked = data(&r)["inquiryCreate"]["inquiry"]["id"].clone();
    assert_eq!(data(&r)["inquiryCreate"]["inquiry"]["body"], hostile, "stored as given");
    let minji = shop.member("minji@example.com", "김민지").await;
    let r = shop
        .app
        .gql_as(&minji, ASK, ask(None, None, "회원 문의", "등급은 언제 바뀌나요?"))
        .await;
    let member_inquiry = data(&r)["inquiryCreate"]["inquiry"]["id"].clone();

    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let bot = bot_token(app).await;

    // The Slack bot may neither read nor answer inquiries.
    let r = app.admin(&bot, ADMIN_LIST, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    let r = app.admin(&bot, ANSWER, json!({ "id": asked, "b": "봇 답변" })).await;
    assert_eq!(data(&r)["inquiryAnswer"]["userErrors"][0]["code"], "FORBIDDEN", "{r}");

    // CS sees both open, with where the answers go.
    let r = app.admin(&cs, ADMIN_LIST, json!({ "s": "OPEN" })).await;
    let list = &data(&r)["inquiries"];
    assert_eq!(list["totalCount"], 2, "{r}");
    let guest = &list["nodes"][1];
    assert_eq!(
        (
            guest["email"].clone(),
            guest["name"].clone(),
            guest["orderNumber"].clone()
        ),
        (json!("guest@example.com"), json!("홍길동"), json!(number))
    );
    assert_eq!(guest["body"], hostile);

    for (id, body, field) in [(&asked, " ", "body"), (&json!("inq_0"), "답변", "")] {
        let r = app.admin(&cs, ANSWER, json!({ "id": id, "b": body })).await;
        let e = &data(&r)["inquiryAnswer"]["userErrors"][0];
        assert!(
            matches!(e["code"].as_str(), Some("INVALID_INPUT" | "INVALID_ID")),
            "{r}"
        );
        if !field.is_empty() {
            assert_eq!(e["field"], json!([field]));
        }
    }

    let answer = "주문하신 상품은 내일 출고됩니다. <script>alert('답변')</script>";
    let r = app.admin(&cs, ANSWER, json!({ "id": asked, "b": answer })).await;
    let p = &data(&r)["inquiryAnswer"];
    assert_eq!(p["userErrors"], json!([]), "{r}");
    assert_eq!(
        (p["inquiry"]["status"].clone(), p["inquiry"]["answer"].clone()),
        (json!("ANSWERED"), json!(answer))
    );
    assert!(p["inquiry"]["answeredAt"].is_string());
    assert_eq!(
        shop.count("SELECT count(*) FROM audit_log WHERE action = 'inquiry.answer'")
            .await,
        1
    );

    // The filter splits them.
    for (status, expected) in [("OPEN", &member_inquiry), ("ANSWERED", &asked)] {
        let r = app.admin(&cs, ADMIN_LIST, json!({ "s": status })).await;
        let list = &data(&r)["inquiries"];
        assert_eq!(list["totalCount"], 1, "{status}: {r}");
        assert_eq!(&list["nodes"][0]["id"], expected, "{status}");
    }
    let r = app.admin(&cs, ADMIN_LIST, json!({})).await;
    assert_eq!(data(&r)["inquiries"]["totalCount"], 2);

    // The answer is mailed to the guest: the text as written, the HTML escaped.
    shop.drain().await;
    let mails = shop.mails_to("guest@example.com");
    let answered: Vec<&Mail> = mails.iter().filter(|m| m.subject.contains("답변")).collect();
    assert_eq!(answered.len(), 1, "{mails:#?}");
    let m = answered[0];
    assert_eq!(m.subject, "[장터 뉴트리션] 문의하신 내용에 답변드립니다");
    assert!(m.text.contains("주문하신 상품은 내일 출고됩니다."), "{}", m.text);
    assert!(m.text.contains(&number), "{}", m.text);
    assert!(!m.html.contains("<script>"), "{}", m.html);
    assert!(
        m.html.contains("&lt;script&gt;") && m.html.contains("&lt;b&gt;배송&lt;/b&gt;"),
        "{}",
        m.html
    );

    // Answered again: the answer is replaced and mailed again.
    let r = app
        .admin(&cs, ANSWER, json!({ "id": asked, "b": "정정합니다. 모레 출고됩니다." }))
        .await;
    assert_eq!(
        data(&r)["inquiryAnswer"]["inquiry"]["answer"],
        "정정합니다. 모레 출고됩니다."
    );
    shop.drain().await;
    let again: Vec<Mail> = shop
        .mails_to("guest@example.com")
        .into_iter()
        .filter(|m| m.subject.contains("답변"))
        .collect();
    assert_eq!(again.len(), 2);
    assert!(again[1].text.contains("모레 출고됩니다"), "{}", again[1].text);
}

#[tokio::test]
async fn a_reset_request_answers_alike_and_mails_only_a_known_account() {
    let shop = Shop::open(None).await;
    shop.member("known@example.com", "김민지").await;
    shop.drain().await;
    let known = shop.app.gql(RESET_REQUEST, json!({ "e": "Known@Example.com" })).await;
    let unknown = shop.app.gql(RESET_REQUEST, json!({ "e": "nobody@example.com" })).await;
    assert_eq!(known, unknown, "no telling who has an account");
    assert_eq!(data(&known)["customerPasswordResetRequest"]["ok"], true);
    let r = shop.app.gql(RESET_REQUEST, json!({ "e": "not an address" })).await;
    assert_eq!(
        data(&r)["customerPasswordResetRequest"]["userErrors"][0]["code"],
        "INVALID_INPUT"
    );
    shop.drain().await;
    let resets: Vec<Mail> = mails(shop.mail.path())
        .into_iter()
        .filter(|m| m.subject.contains("비밀번호"))
        .collect();
    assert_eq!(resets.len(), 1, "{resets:#?}");
    assert_eq!(resets[0].to, "known@example.com");
    assert_eq!(resets[0].subject, "[장터 뉴트리션] 비밀번호 재설정 안내");
    assert!(resets[0].text.contains("김민지님"), "{}", resets[0].text);
    assert!(
        resets[0]
            .text
            .contains("http://localhost:3000/account/reset-password?token="),
        "{}",
        resets[0].text
    );
    assert_eq!(shop.count("SELECT count(*) FROM password_resets").await, 1);
}

#[tokio::test]
async fn a_reset_link_works_once_and_ends_every_session() {
    let shop = Shop::open(None).await;
    let first = shop.member("reset@example.com", "김민지").await;
    let second = shop
        .login("reset@example.com", "jangteo1234!")
        .await
        .expect("second session");
    let r = shop.app.gql(RESET_REQUEST, json!({ "e": "reset@example.com" })).await;
    assert_eq!(data(&r)["customerPasswordResetRequest"]["ok"], true);
    shop.drain().await;
    let mail = shop
        .mails_to("reset@example.com")
        .into_iter()
        .find(|m| m.subject.contains("비밀번호"))
        .expect("the reset mail");
    let token = link_token(&mail.text);
    assert!(mail.html.contains(&token), "the button has the link too");
    // Only its hash is stored, and the sent job no longer holds it.
    assert_eq!(
        shop.count(&format!(
            "SELECT count(*) FROM jobs WHERE payload::text LIKE '%{token}%'"
        ))
        .await,
        0
    );

    // A weak password is refused without using the link up.
    let r = shop.app.gql(RESET, json!({ "t": token, "p": "short" })).await;
    let e = &data(&r)["customerPasswordReset"]["userErrors"][0];
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("INVALID_INPUT"), json!(["password"]))
    );

    let r = shop.app.gql(RESET, json!({ "t": token, "p": "new-horse-42" })).await;
    assert_eq!(
        data(&r)["customerPasswordReset"],
        json!({ "ok": true, "userErrors": [] }),
        "{r}"
    );
    // Once only.
    let r = shop.app.gql(RESET, json!({ "t": token, "p": "other-horse-42" })).await;
    let e = &data(&r)["customerPasswordReset"]["userErrors"][0];
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("INVALID_TOKEN"), json!(["token"]))
    );
    assert_eq!(data(&r)["customerPasswordReset"]["ok"], false);

    assert!(
        shop.login("reset@example.com", "jangteo1234!").await.is_none(),
        "old password"
    );
    let fresh = shop
        .login("reset@example.com", "new-horse-42")
        .await
        .expect("the new password logs in");
    for old in [&first, &second] {
        let r = shop.app.gql_as(old, "{ me { email } }", json!({})).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{r}");
    }
    let r = shop.app.gql_as(&fresh, "{ me { email } }", json!({})).await;
    assert_eq!(data(&r)["me"]["email"], "reset@example.com");
}

#[tokio::test]
async fn a_superseded_or_expired_link_fails() {
    let shop = Shop::open(None).await;
    shop.member("late@example.com", "김민지").await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        shop.app.gql(RESET_REQUEST, json!({ "e": "late@example.com" })).await;
        shop.drain().await;
        let mail = shop
            .mails_to("late@example.com")
            .into_iter()
            .rfind(|m| m.subject.contains("비밀번호"))
            .expect("a reset mail");
        tokens.push(link_token(&mail.text));
    }
    assert_ne!(tokens[0], tokens[1]);
    let invalid = |r: &Value| data(r)["customerPasswordReset"]["userErrors"][0]["code"].clone();
    // A new request voids the earlier link.
    let r = shop
        .app
        .gql(RESET, json!({ "t": tokens[0], "p": "new-horse-42" }))
        .await;
    assert_eq!(invalid(&r), "INVALID_TOKEN", "{r}");
    // Past its 30 minutes, the latest fails too.
    sqlx::query("UPDATE password_resets SET expires_at = now() - interval '1 second'")
        .execute(&shop.app.pool)
        .await
        .expect("expire");
    let r = shop
        .app
        .gql(RESET, json!({ "t": tokens[1], "p": "new-horse-42" }))
        .await;
    assert_eq!(invalid(&r), "INVALID_TOKEN", "{r}");
    let r = shop
        .app
        .gql(RESET, json!({ "t": "made-up", "p": "new-horse-42" }))
        .await;
    assert_eq!(invalid(&r), "INVALID_TOKEN");
    assert!(
        shop.login("late@example.com", "jangteo1234!").await.is_some(),
        "unchanged"
    );
}

#[tokio::test]
async fn signing_up_mails_a_welcome() {
    let shop = Shop::open(None).await;
    shop.member("welcome@example.com", "김민지").await;
    assert_eq!(
        shop.count("SELECT count(*) FROM jobs WHERE payload->>'notice' = 'welcome'")
            .await,
        1,
        "enqueued with the sign-up"
    );
    shop.drain().await;
    let mails = shop.mails_to("welcome@example.com");
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0].subject, "[장터 뉴트리션] 회원이 되신 것을 환영합니다");
    assert!(mails[0].text.contains("김민지님"), "{}", mails[0].text);
    // A refused sign-up (the e-mail is taken) mails nothing.
    let r = shop
        .app
        .gql(
            SIGN_UP,
            json!({ "i": {
                "email": "welcome@example.com", "password": "jangteo1234!", "name": "다른 사람",
                "mobile": "010-1111-2222", "termsAccepted": true, "privacyAccepted": true,
            } }),
        )
        .await;
    assert_eq!(data(&r)["customerSignUp"]["userErrors"][0]["code"], "ALREADY_EXISTS");
    assert_eq!(
        shop.count("SELECT count(*) FROM jobs WHERE payload->>'notice' = 'welcome'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_locked_staff_member_is_mailed_once_per_lock() {
    let shop = Shop::open(None).await;
    let app = &shop.app;
    staff_session(&app.pool, "locked@jangteo.kr", Role::Cs).await;
    let login = "mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) { userErrors { code } } }";
    let mut refused = 0;
    for _ in 0..9 {
        let r = app
            .gql_at(
                "/admin/graphql",
                login,
                json!({ "e": "locked@jangteo.kr", "p": "wrong-horse-1" }),
            )
            .await;
        if data(&r)["staffLogin"]["userErrors"][0]["code"] == "TOO_MANY_ATTEMPTS" {
            refused += 1;
        }
    }
    assert!(refused >= 3, "locked after five failures, refused {refused} times");
    // An unknown e-mail's lock mails nobody.
    for _ in 0..6 {
        app.gql_at(
            "/admin/graphql",
            login,
            json!({ "e": "ghost@jangteo.kr", "p": "wrong-horse-1" }),
        )
        .await;
    }
    shop.drain().await;
    let mails = mails(shop.mail.path());
    assert_eq!(mails.len(), 1, "once per lock: {mails:#?}");
    assert_eq!(mails[0].to, "locked@jangteo.kr");
    assert_eq!(mails[0].subject, "[장터 뉴트리션 관리자] 로그인이 잠시 잠겼습니다");
    assert!(mails[0].text.contains("까지 로그인이 잠겼습니다"), "{}", mails[0].text);
}

#[tokio::test]
async fn guest_inquiries_and_password_resets_are_rate_limited_per_client() {
    let shop = Shop::open(Some(|s: &mut Settings| {
        s.rate_limits.inquiry_create = commerce::settings::RateLimit {
            burst: 2,
            refill_secs: 3600,
        };
        s.rate_limits.customer_password_reset = commerce::settings::RateLimit {
            burst: 2,
            refill_secs: 3600,
        };
    }))
    .await;
    let code = |r: &Value| r["errors"][0]["extensions"]["code"].clone();
    for i in 0..3 {
        let r = shop
            .app
            .gql(ASK, ask(Some("20991231-000001"), Some("g@example.com"), "배송", "?"))
            .await;
        assert_eq!(code(&r) == "RATE_LIMITED", i == 2, "{i}: {r}");
    }
    for i in 0..3 {
        let r = if i % 2 == 0 {
            shop.app.gql(RESET_REQUEST, json!({ "e": "a@example.com" })).await
        } else {
            shop.app.gql(RESET, json!({ "t": "x", "p": "new-horse-42" })).await
        };
        assert_eq!(code(&r) == "RATE_LIMITED", i == 2, "{i}: {r}");
    }
}
