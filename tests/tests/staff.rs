//! Staff two-factor login over `/admin/graphql`: enrollment → activation → login →
//! replay refused → recovery code once → lockout → audit rows.

use commerce::{
    staff::{self, Role},
    types::{Email, NewPassword},
};
use jangteo_tests::{TestApp, data};
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
