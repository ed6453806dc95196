//! The Slack bot's tokens: made with an optional expiry, listed without their secret,
//! revoked with an audit row; a revoked or expired token is refused on its next request.

use commerce::staff::Role;
use jangteo_tests::{TestApp, data, staff_session};
use serde_json::{Value, json};

const CREATE: &str = "mutation($n: String!, $d: Int) { botTokenCreate(name: $n, expiresInDays: $d) {
    token botToken { id name expiresAt revokedAt } userErrors { code field } } }";
const LIST: &str = "{ botTokens(first: 10) { totalCount
    edges { cursor node { id name createdBy createdAt lastUsedAt expiresAt revokedAt } }
    nodes { id } pageInfo { hasNextPage } } }";
const REVOKE: &str = "mutation($id: ID!) { botTokenRevoke(id: $id) { botToken { id revokedAt } userErrors { code } } }";
const ME: &str = "{ staffMe { role } }";

fn code(r: &Value) -> Value {
    r["errors"][0]["extensions"]["code"].clone()
}

async fn make(app: &TestApp, owner: &str, name: &str, days: Option<i32>) -> (String, Value) {
    let r = app.admin(owner, CREATE, json!({ "n": name, "d": days })).await;
    let p = &data(&r)["botTokenCreate"];
    assert_eq!(p["userErrors"], json!([]), "{r}");
    (
        p["token"].as_str().expect("token").to_owned(),
        p["botToken"]["id"].clone(),
    )
}

#[tokio::test]
async fn the_owner_lists_and_revokes_bot_tokens() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let (slack, slack_id) = make(&app, &owner, "slack", None).await;
    let (ci, ci_id) = make(&app, &owner, "ci", Some(30)).await;
    let r = app.admin(&slack, ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "BOT");

    let r = app.admin(&owner, LIST, json!({})).await;
    let text = r.to_string();
    assert!(
        !text.contains(&slack) && !text.contains(&ci),
        "a secret is listed: {text}"
    );
    let c = &data(&r)["botTokens"];
    assert_eq!(c["totalCount"], 2);
    let nodes: Vec<&Value> = c["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"])
        .collect();
    assert_eq!(
        nodes.iter().map(|n| n["id"].clone()).collect::<Vec<_>>(),
        [ci_id.clone(), slack_id.clone()],
        "newest first"
    );
    let (ci_node, slack_node) = (nodes[0], nodes[1]);
    assert_eq!(
        (&ci_node["name"], &ci_node["createdBy"]),
        (&json!("ci"), &json!("owner@jangteo.kr"))
    );
    assert!(ci_node["expiresAt"].is_string() && ci_node["lastUsedAt"].is_null());
    assert!(slack_node["expiresAt"].is_null() && slack_node["revokedAt"].is_null());
    assert!(slack_node["lastUsedAt"].is_string(), "slack was used: {slack_node}");

    let r = app.admin(&owner, REVOKE, json!({ "id": slack_id })).await;
    assert!(data(&r)["botTokenRevoke"]["botToken"]["revokedAt"].is_string(), "{r}");
    let r = app.admin(&slack, ME, json!({})).await;
    assert_eq!(code(&r), "UNAUTHENTICATED");
    let r = app.admin(&ci, ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "BOT", "the other token still works");
    // Revoking again changes nothing; an unknown id is NOT_FOUND.
    let r = app.admin(&owner, REVOKE, json!({ "id": slack_id })).await;
    assert_eq!(data(&r)["botTokenRevoke"]["userErrors"], json!([]));
    let unknown = commerce::ids::BotTokenId::generate().to_string();
    let r = app.admin(&owner, REVOKE, json!({ "id": unknown })).await;
    assert_eq!(data(&r)["botTokenRevoke"]["userErrors"][0]["code"], "NOT_FOUND");
    let revokes: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'staff.bot_token.revoke'")
        .fetch_one(&app.pool)
        .await
        .expect("audit");
    assert_eq!(revokes, 1);
}

#[tokio::test]
async fn an_expired_bot_token_is_refused() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let r = app.admin(&owner, CREATE, json!({ "n": "old", "d": 0 })).await;
    let e = &data(&r)["botTokenCreate"]["userErrors"][0];
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("INVALID_INPUT"), json!(["expiresInDays"]))
    );
    let (token, id) = make(&app, &owner, "old", Some(1)).await;
    let r = app.admin(&token, ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "BOT");
    // A day later.
    sqlx::query("UPDATE staff_sessions SET absolute_expires_at = now() - interval '1 minute' WHERE kind = 'BOT'")
        .execute(&app.pool)
        .await
        .expect("expire");
    let r = app.admin(&token, ME, json!({})).await;
    assert_eq!(code(&r), "UNAUTHENTICATED");
    let r = app.admin(&owner, LIST, json!({})).await;
    assert_eq!(data(&r)["botTokens"]["nodes"], json!([{ "id": id }]), "still listed");
}

#[tokio::test]
async fn only_the_owner_sees_or_revokes_bot_tokens() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let (token, id) = make(&app, &owner, "slack", None).await;
    let r = app.admin(&manager, LIST, json!({})).await;
    assert_eq!(code(&r), "FORBIDDEN");
    let r = app.admin(&manager, REVOKE, json!({ "id": id })).await;
    assert_eq!(data(&r)["botTokenRevoke"]["userErrors"][0]["code"], "FORBIDDEN");
    let r = app.admin(&token, LIST, json!({})).await;
    assert_eq!(code(&r), "FORBIDDEN", "nor does the bot itself");
    let r = app.admin(&token, ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "BOT", "not revoked");
}
