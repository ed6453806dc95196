//! Staff two-factor login over `/admin/graphql`: enrollment → activation → login →
//! replay refused → recovery code once → lockout → audit rows; under load on a small pool;
//! throttling per (e-mail, address); recovery codes under a keyed hash; key faults.

use commerce::{
    staff::{self, Role},
    types::{Email, NewPassword},
};
use jangteo_tests::{Options, TestApp, data, staff_session};
use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::Totp;

const LOGIN: &str = "mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) {
    challenge enrollmentRequired userErrors { code message } } }";
const ENROLL: &str =
    "mutation($c: String!) { staffTotpEnroll(challenge: $c) { otpauthUrl qrCodePng userErrors { code } } }";
const ACTIVATE: &str = "mutation($c: String!, $code: String!) { staffTotpActivate(challenge: $c, code: $code) {
    token recoveryCodes userErrors { code } } }";
const VERIFY: &str = "mutation($c: String!, $code: String!) { staffVerifyTotp(challenge: $c, code: $code) {
    token userErrors { code } } }";
const ME: &str = "{ staffMe { email name role totpEnabled } }";

async fn admin(app: &TestApp, token: Option<&str>, query: &str, vars: Value) -> Value {
    let mut req = app
        .request(Method::POST, "/admin/graphql")
        .json(&json!({ "query": query, "variables": vars }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("send").json().await.expect("json")
}

async fn new_staff(app: &TestApp, email: &str, role: Role) {
    let email = Email::parse(email).expect("email");
    let password = NewPassword::parse("correct-horse-7").expect("password");
    staff::create(&app.pool, &email, "이영희", role, &password)
        .await
        .expect("create");
}

async fn challenge(app: &TestApp, email: &str) -> (String, bool) {
    let r = admin(app, None, LOGIN, json!({ "e": email, "p": "correct-horse-7" })).await;
    let p = &data(&r)["staffLogin"];
    assert_eq!(p["userErrors"], json!([]), "{r}");
    (
        p["challenge"].as_str().expect("challenge").to_owned(),
        p["enrollmentRequired"].as_bool().expect("bool"),
    )
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

/// Enrolls and activates; returns the authenticator and the recovery codes.
async fn enroll(app: &TestApp, email: &str) -> (Totp, Vec<String>, String) {
    let (c, enrollment_required) = challenge(app, email).await;
    assert!(enrollment_required);
    let r = admin(app, None, ENROLL, json!({ "c": c })).await;
    let e = &data(&r)["staffTotpEnroll"];
    let url = e["otpauthUrl"].as_str().expect("url");
    assert!(url.starts_with("otpauth://totp/") && url.contains("secret="), "{url}");
    let png = e["qrCodePng"]
        .as_str()
        .expect("qr")
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URI");
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png).expect("base64");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let authenticator = Totp::from_url(url).expect("an authenticator app reads it");
    // A code that is not the current one (nor its neighbours, which differ from it too).
    let current = authenticator.generate_current().to_string();
    let wrong = if current == "000000" { "111111" } else { "000000" };
    let r = admin(app, None, ACTIVATE, json!({ "c": c, "code": wrong })).await;
    assert_eq!(data(&r)["staffTotpActivate"]["userErrors"][0]["code"], "INVALID_TOTP");
    let r = admin(
        app,
        None,
        ACTIVATE,
        json!({ "c": c, "code": authenticator.generate_current().to_string() }),
    )
    .await;
    let a = &data(&r)["staffTotpActivate"];
    let codes: Vec<String> = serde_json::from_value(a["recoveryCodes"].clone()).expect("codes");
    (authenticator, codes, a["token"].as_str().expect("token").to_owned())
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story, told in order
async fn enrollment_login_replay_recovery_and_lockout() {
    let app = TestApp::spawn().await;
    new_staff(&app, "owner@jangteo.kr", Role::Owner).await;
    let r = admin(&app, None, ME, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let (authenticator, codes, token) = enroll(&app, "owner@jangteo.kr").await;
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);
    let r = admin(&app, Some(&token), ME, json!({})).await;
    assert_eq!(
        data(&r)["staffMe"],
        json!({ "email": "owner@jangteo.kr", "name": "이영희", "role": "OWNER", "totpEnabled": true })
    );
    // The secret is encrypted at rest.
    let raw = authenticator.secret().as_bytes().to_vec();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM staff")
        .fetch_one(&app.pool)
        .await
        .expect("secret");
    assert!(!stored.windows(raw.len()).any(|w| w == raw.as_slice()));
    let r = admin(&app, Some(&token), "mutation { staffLogout { ok } }", json!({})).await;
    assert_eq!(data(&r)["staffLogout"]["ok"], true);
    let r = admin(&app, Some(&token), ME, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    // The step the activation used is spent: the same code is refused (replay).
    let (c, enrollment_required) = challenge(&app, "owner@jangteo.kr").await;
    assert!(!enrollment_required);
    let now_step = chrono::Utc::now().timestamp() / 30;
    let last_step: i64 = sqlx::query_scalar("SELECT totp_last_step FROM staff")
        .fetch_one(&app.pool)
        .await
        .expect("step");
    if last_step >= now_step {
        let r = admin(
            &app,
            None,
            VERIFY,
            json!({ "c": c, "code": authenticator.generate_current().to_string() }),
        )
        .await;
        assert_eq!(
            data(&r)["staffVerifyTotp"]["userErrors"][0]["code"],
            "INVALID_TOTP",
            "replayed step"
        );
    }
    // A code from a step before the last accepted one is refused too.
    sqlx::query("UPDATE staff SET totp_last_step = $1")
        .bind(now_step + 1)
        .execute(&app.pool)
        .await
        .expect("step");
    let r = admin(
        &app,
        None,
        VERIFY,
        json!({ "c": c, "code": authenticator.generate_current().to_string() }),
    )
    .await;
    assert_eq!(data(&r)["staffVerifyTotp"]["userErrors"][0]["code"], "INVALID_TOTP");

    // A recovery code works once, whatever its case.
    let r = admin(&app, None, VERIFY, json!({ "c": c, "code": codes[0].to_lowercase() })).await;
    let token = data(&r)["staffVerifyTotp"]["token"].as_str().expect("token").to_owned();
    assert_eq!(
        data(&admin(&app, Some(&token), ME, json!({})).await)["staffMe"]["role"],
        "OWNER"
    );
    let r = admin(&app, None, VERIFY, json!({ "c": c, "code": codes[1] })).await;
    assert_eq!(
        data(&r)["staffVerifyTotp"]["userErrors"][0]["code"],
        "INVALID_CHALLENGE",
        "a challenge is single-use"
    );
    let (c, _) = challenge(&app, "owner@jangteo.kr").await;
    let r = admin(&app, None, VERIFY, json!({ "c": c, "code": codes[0] })).await;
    assert_eq!(
        data(&r)["staffVerifyTotp"]["userErrors"][0]["code"],
        "INVALID_TOTP",
        "recovery codes are single-use"
    );

    // Repeated failures lock the account, even for a good recovery code.
    for _ in 0..4 {
        let r = admin(&app, None, VERIFY, json!({ "c": c, "code": "12345" })).await;
        assert_eq!(data(&r)["staffVerifyTotp"]["userErrors"][0]["code"], "INVALID_TOTP");
    }
    let r = admin(&app, None, VERIFY, json!({ "c": c, "code": codes[2] })).await;
    assert_eq!(
        data(&r)["staffVerifyTotp"]["userErrors"][0]["code"],
        "TOO_MANY_ATTEMPTS"
    );
    let r = admin(
        &app,
        None,
        LOGIN,
        json!({ "e": "owner@jangteo.kr", "p": "correct-horse-7" }),
    )
    .await;
    assert_eq!(data(&r)["staffLogin"]["userErrors"][0]["code"], "TOO_MANY_ATTEMPTS");

    // Every step is in the audit log.
    assert_eq!(audit_count(&app, "staff.create").await, 1);
    assert_eq!(audit_count(&app, "staff.totp.enroll").await, 1);
    assert_eq!(audit_count(&app, "staff.totp.activate").await, 1);
    assert_eq!(audit_count(&app, "staff.totp.activate_failed").await, 1);
    assert_eq!(audit_count(&app, "staff.login").await, 1);
    assert!(audit_count(&app, "staff.login.code_failed").await >= 5);
    assert!(audit_count(&app, "staff.login.locked").await >= 1);
    assert_eq!(audit_count(&app, "staff.logout").await, 1);
    let ip: Option<String> = sqlx::query_scalar("SELECT ip FROM audit_log WHERE action = 'staff.login'")
        .fetch_one(&app.pool)
        .await
        .expect("ip");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_alike_and_challenges_expire() {
    let app = TestApp::spawn().await;
    new_staff(&app, "cs@jangteo.kr", Role::Cs).await;
    let unknown = admin(
        &app,
        None,
        LOGIN,
        json!({ "e": "nobody@jangteo.kr", "p": "correct-horse-7" }),
    )
    .await;
    let wrong = admin(&app, None, LOGIN, json!({ "e": "cs@jangteo.kr", "p": "wrong-horse-7" })).await;
    assert_eq!(data(&unknown)["staffLogin"], data(&wrong)["staffLogin"]);
    assert_eq!(
        data(&wrong)["staffLogin"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    let (c, _) = challenge(&app, "cs@jangteo.kr").await;
    sqlx::query("UPDATE staff_challenges SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .expect("expire");
    let r = admin(&app, None, ENROLL, json!({ "c": c })).await;
    assert_eq!(
        data(&r)["staffTotpEnroll"]["userErrors"][0]["code"],
        "INVALID_CHALLENGE"
    );
    // Without TOTP there is no session to be had: verify needs enrollment first.
    let (c, _) = challenge(&app, "cs@jangteo.kr").await;
    let r = admin(&app, None, VERIFY, json!({ "c": c, "code": "123456" })).await;
    assert_eq!(
        data(&r)["staffVerifyTotp"]["userErrors"][0]["code"],
        "ENROLLMENT_REQUIRED"
    );
}

#[tokio::test]
async fn sessions_end_when_idle() {
    let app = TestApp::spawn().await;
    new_staff(&app, "mgr@jangteo.kr", Role::Manager).await;
    let (_, _, token) = enroll(&app, "mgr@jangteo.kr").await;
    assert_eq!(
        data(&admin(&app, Some(&token), ME, json!({})).await)["staffMe"]["role"],
        "MANAGER"
    );
    sqlx::query("UPDATE staff_sessions SET last_seen_at = now() - interval '61 minutes'")
        .execute(&app.pool)
        .await
        .expect("idle");
    let r = admin(&app, Some(&token), ME, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

/// An admin request from `client`, as the trusted proxy in front (127.0.0.1, see
/// [`behind_a_proxy`]) reports it in `X-Forwarded-For`.
async fn admin_at(base: &str, client: &str, query: &str, vars: Value) -> Value {
    jangteo_tests::fakes::http_client()
        .post(format!("{base}/admin/graphql"))
        .header("x-forwarded-for", client)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

fn behind_a_proxy(s: &mut commerce::Settings) {
    s.http.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
}

fn login_code(r: &Value) -> String {
    let p = &data(r)["staffLogin"];
    if p["challenge"].is_string() {
        return "OK".into();
    }
    p["userErrors"][0]["code"].as_str().expect("a code").to_owned()
}

const UNRELATED: &str = "{ shop { name } products(first: 1) { totalCount } }";

/// Sends every `(query, variables)` to `/admin/graphql` at once while asking an unrelated
/// storefront query over and over: each of those must answer within 2 s.
async fn all_at_once_while_serving_others(app: &TestApp, requests: Vec<(&'static str, Value)>) -> Vec<Value> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(query, vars)| {
            let (base, barrier) = (app.base.clone(), barrier.clone());
            tokio::spawn(async move {
                let req = jangteo_tests::fakes::http_client()
                    .post(format!("{base}/admin/graphql"))
                    .json(&json!({ "query": query, "variables": vars }));
                barrier.wait().await;
                req.send().await.expect("send").json::<Value>().await.expect("json")
            })
        })
        .collect();
    let mut probes = 0;
    while !tasks.iter().all(tokio::task::JoinHandle::is_finished) {
        let r = tokio::time::timeout(std::time::Duration::from_secs(2), app.gql(UNRELATED, json!({})))
            .await
            .expect("an unrelated query answers within 2 s during the burst");
        assert!(data(&r)["shop"]["name"].is_string(), "{r}");
        probes += 1;
    }
    assert!(probes > 0, "the burst ended before any probe");
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn activations_and_code_checks_at_once_on_a_small_pool() {
    // Four connections: activation and verification held one while taking a second.
    let app = TestApp::spawn_with(Options {
        demo: true,
        pool_size: Some(4),
        ..Options::default()
    })
    .await;
    let emails: Vec<String> = (0..10).map(|i| format!("staff{i}@jangteo.kr")).collect();
    let mut enrolled = Vec::new();
    for email in &emails {
        new_staff(&app, email, Role::Cs).await;
        let (c, _) = challenge(&app, email).await;
        let r = admin(&app, None, ENROLL, json!({ "c": c })).await;
        let url = data(&r)["staffTotpEnroll"]["otpauthUrl"]
            .as_str()
            .expect("url")
            .to_owned();
        enrolled.push((c, Totp::from_url(&url).expect("authenticator")));
    }
    let requests = enrolled
        .iter()
        .map(|(c, a)| (ACTIVATE, json!({ "c": c, "code": a.generate_current().to_string() })))
        .collect();
    for r in all_at_once_while_serving_others(&app, requests).await {
        assert!(data(&r)["staffTotpActivate"]["token"].is_string(), "{r}");
    }
    // The activation spent the current step; a later login would use the next one.
    sqlx::query("UPDATE staff SET totp_last_step = NULL")
        .execute(&app.pool)
        .await
        .expect("step");
    let mut requests = Vec::new();
    for (email, (_, a)) in emails.iter().zip(&enrolled) {
        let (c, _) = challenge(&app, email).await;
        requests.push((VERIFY, json!({ "c": c, "code": a.generate_current().to_string() })));
    }
    for r in all_at_once_while_serving_others(&app, requests).await {
        assert!(data(&r)["staffVerifyTotp"]["token"].is_string(), "{r}");
    }
    // And the password step, forty at once.
    let requests = (0..40)
        .map(|i| (LOGIN, json!({ "e": emails[i % 10], "p": "correct-horse-7" })))
        .collect();
    for r in all_at_once_while_serving_others(&app, requests).await {
        assert_eq!(login_code(&r), "OK", "{r}");
    }
}

#[tokio::test]
async fn an_attacker_at_one_address_does_not_lock_the_owner_out_from_another() {
    let app = TestApp::spawn_with(Options {
        settings: Some(behind_a_proxy),
        ..Options::default()
    })
    .await;
    new_staff(&app, "owner@jangteo.kr", Role::Owner).await;
    let (authenticator, _, _) = enroll(&app, "owner@jangteo.kr").await;
    for _ in 0..5 {
        let r = admin_at(
            &app.base,
            "203.0.113.7",
            LOGIN,
            json!({ "e": "owner@jangteo.kr", "p": "guess-1" }),
        )
        .await;
        assert_eq!(login_code(&r), "INVALID_CREDENTIALS");
    }
    let r = admin_at(
        &app.base,
        "203.0.113.7",
        LOGIN,
        json!({ "e": "owner@jangteo.kr", "p": "correct-horse-7" }),
    )
    .await;
    assert_eq!(login_code(&r), "TOO_MANY_ATTEMPTS", "the attacker's address is locked");
    // The owner, from the office, logs in all the way.
    let r = admin_at(
        &app.base,
        "198.51.100.20",
        LOGIN,
        json!({ "e": "owner@jangteo.kr", "p": "correct-horse-7" }),
    )
    .await;
    assert_eq!(login_code(&r), "OK", "{r}");
    let c = data(&r)["staffLogin"]["challenge"].clone();
    sqlx::query("UPDATE staff SET totp_last_step = NULL")
        .execute(&app.pool)
        .await
        .expect("step");
    let code = authenticator.generate_current().to_string();
    let r = admin_at(&app.base, "198.51.100.20", VERIFY, json!({ "c": c, "code": code })).await;
    assert!(data(&r)["staffVerifyTotp"]["token"].is_string(), "{r}");
    let locked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'staff.login.locked' AND ip = '203.0.113.7'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(locked, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_wrong_passwords_at_once_from_one_address_run_five_checks() {
    let app = TestApp::spawn().await;
    new_staff(&app, "owner@jangteo.kr", Role::Owner).await;
    let requests = (0..40)
        .map(|i| (LOGIN, json!({ "e": "owner@jangteo.kr", "p": format!("guess-{i:04}") })))
        .collect();
    let answers = all_at_once_while_serving_others(&app, requests).await;
    let count = |code: &str| answers.iter().filter(|r| login_code(r) == code).count();
    assert_eq!(
        (count("INVALID_CREDENTIALS"), count("TOO_MANY_ATTEMPTS")),
        (5, 35),
        "{answers:?}"
    );
    assert_eq!(
        audit_count(&app, "staff.login.password_failed").await,
        5,
        "five checks ran"
    );
    assert_eq!(audit_count(&app, "staff.login.locked").await, 35);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_from_many_addresses_lock_the_account_everywhere() {
    let app = TestApp::spawn_with(Options {
        settings: Some(behind_a_proxy),
        ..Options::default()
    })
    .await;
    new_staff(&app, "owner@jangteo.kr", Role::Owner).await;
    // Six addresses, five guesses each, side by side: thirty failures.
    let bots: Vec<_> = (0..6)
        .map(|b| {
            let base = app.base.clone();
            tokio::spawn(async move {
                for g in 0..5 {
                    let vars = json!({ "e": "owner@jangteo.kr", "p": format!("guess-{g}") });
                    let r = admin_at(&base, &format!("203.0.113.{b}"), LOGIN, vars).await;
                    assert_eq!(login_code(&r), "INVALID_CREDENTIALS");
                }
            })
        })
        .collect();
    for b in bots {
        b.await.expect("bot");
    }
    let r = admin_at(
        &app.base,
        "198.51.100.20",
        LOGIN,
        json!({ "e": "owner@jangteo.kr", "p": "correct-horse-7" }),
    )
    .await;
    assert_eq!(login_code(&r), "TOO_MANY_ATTEMPTS");
}

#[tokio::test]
async fn recovery_codes_are_stored_under_a_keyed_hash_and_old_ones_still_work() {
    use commerce::auth::token_hash;
    let app = TestApp::spawn().await;
    new_staff(&app, "owner@jangteo.kr", Role::Owner).await;
    let (_, codes, _) = enroll(&app, "owner@jangteo.kr").await;
    let rows: Vec<(Vec<u8>, String)> = sqlx::query_as("SELECT code_hash, scheme FROM staff_recovery_codes")
        .fetch_all(&app.pool)
        .await
        .expect("codes");
    assert_eq!(rows.len(), 10);
    for code in &codes {
        let plain = token_hash(&code.replace('-', ""));
        assert!(
            rows.iter().all(|(h, scheme)| *h != plain && scheme == "hmac-sha256"),
            "a plain SHA-256 of a 50-bit code is guessed offline"
        );
    }
    // A code stored by the previous release (plain SHA-256) works once.
    sqlx::query(
        "INSERT INTO staff_recovery_codes (id, staff_id, code_hash) SELECT gen_random_uuid(), id, $1 FROM staff",
    )
    .bind(token_hash("OLD0000CODE"))
    .execute(&app.pool)
    .await
    .expect("old code");
    let (c, _) = challenge(&app, "owner@jangteo.kr").await;
    let r = admin(&app, None, VERIFY, json!({ "c": c, "code": "old00-00code" })).await;
    assert!(data(&r)["staffVerifyTotp"]["token"].is_string(), "{r}");
    let (c, _) = challenge(&app, "owner@jangteo.kr").await;
    let r = admin(&app, None, VERIFY, json!({ "c": c, "code": codes[3] })).await;
    assert!(data(&r)["staffVerifyTotp"]["token"].is_string(), "{r}");
}

#[tokio::test]
async fn a_bad_totp_key_is_an_internal_fault_not_the_callers() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| s.staff.totp_key = "not-a-key".to_owned().into()),
        ..Options::default()
    })
    .await;
    new_staff(&app, "owner@jangteo.kr", Role::Owner).await;
    let (c, _) = challenge(&app, "owner@jangteo.kr").await;
    let r = admin(&app, None, ENROLL, json!({ "c": c })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INTERNAL", "{r}");
    assert!(!r.to_string().contains("totp_key"), "details stay in the log: {r}");
}

#[tokio::test]
async fn a_request_looks_its_session_up_once_however_many_root_fields_ask() {
    // Every admin root field needs the signed-in staff member; each look-up is an UPDATE
    // of the session. Fifty aliased fields must not make fifty of them.
    let app = TestApp::spawn_with(Options {
        count_statements: true,
        ..Options::default()
    })
    .await;
    let counter = app.counter.clone().expect("counting");
    let token = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let cost = async |query: &str| {
        let before = counter.get();
        let r = app.admin(&token, query, json!({})).await;
        assert!(r.get("errors").is_none(), "{r}");
        counter.get() - before
    };
    let one = cost("{ staffMe { id } }").await;
    let three = cost("{ a: staffMe { id } b: staffMe { id } c: staffMe { id } }").await;
    // staffMe is the look-up plus one read; two more fields add two reads only.
    assert_eq!(three - one, 2, "one field: {one} statements, three: {three}");
    // An unknown token is looked up once too, and every field is refused.
    let before = counter.get();
    let r = app
        .admin(
            "not-a-session",
            "{ a: staffMe { id } b: staffMe { id } c: staffMe { id } }",
            json!({}),
        )
        .await;
    assert_eq!(counter.get() - before, 1);
    assert_eq!(r["errors"].as_array().map(Vec::len), Some(3), "{r}");
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_owner_lists_staff_with_roles_two_factor_and_last_sign_in() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    new_staff(&app, "new@jangteo.kr", Role::Manager).await;
    let q = "query($a: String) { staff(first: 2, after: $a) {
        totalCount nodes { email role totpEnabled active lastLoginAt } pageInfo { hasNextPage endCursor } } }";
    let r = app.admin(&owner, q, json!({})).await;
    let page = &data(&r)["staff"];
    assert_eq!(
        (&page["totalCount"], &page["pageInfo"]["hasNextPage"]),
        (&json!(3), &json!(true)),
        "{r}"
    );
    let first = &page["nodes"][0];
    assert_eq!(
        (&first["email"], &first["role"], &first["totpEnabled"], &first["active"]),
        (&json!("owner@jangteo.kr"), &json!("OWNER"), &json!(true), &json!(true)),
        "oldest first"
    );
    assert!(
        first["lastLoginAt"].as_str().is_some_and(|t| t.ends_with("+09:00")),
        "{first}"
    );
    assert_eq!(page["nodes"][1]["role"], "CS");
    let r = app
        .admin(&owner, q, json!({ "a": page["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(
        data(&r)["staff"]["nodes"],
        json!([{ "email": "new@jangteo.kr", "role": "MANAGER", "totpEnabled": false, "active": true, "lastLoginAt": null }])
    );
    let r = app.admin(&cs, q, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "OWNER only");
    let r = app
        .admin(&cs, "{ staffMe { email lastLoginAt active } }", json!({}))
        .await;
    let me = &data(&r)["staffMe"];
    assert_eq!((&me["email"], &me["active"]), (&json!("cs@jangteo.kr"), &json!(true)));
    assert!(me["lastLoginAt"].is_string(), "{me}");
}
