//! What ops see of a request: its id in the response and in every log line, logs as JSON
//! lines without secrets.

use jangteo_tests::{TestApp, TestDb, binary};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-request-id")
        .expect("an X-Request-Id header")
        .to_str()
        .expect("ASCII")
        .to_owned()
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_echoes_a_plain_one() {
    let app = TestApp::spawn().await;
    let mut seen = std::collections::HashSet::new();
    for (method, path) in [
        (Method::GET, "/healthz"),
        (Method::GET, "/readyz"),
        (Method::POST, "/graphql"),
        (Method::GET, "/no-such-route"),
    ] {
        let resp = app
            .request(method.clone(), path)
            .json(&json!({ "query": "{ shop { name } }" }))
            .send()
            .await
            .expect("send");
        let id = request_id(&resp);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{method} {path}: {id}");
        assert!(seen.insert(id), "ids are not reused");
    }
    for given in [
        "3f2c8a9e-5b1d-4c7e-9a2b-6d8e0f1a2b3c",
        "Root=1-67891233-abcdef012345678912345678",
        "req_42",
    ] {
        let resp = app
            .request(Method::GET, "/healthz")
            .header("x-request-id", given)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(request_id(&resp), given);
    }
}

#[tokio::test]
async fn a_hostile_request_id_is_replaced() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(129);
    for given in [
        long.as_bytes(),
        b"abc\tdef",
        b"abc\" level=error msg=\"forged",
        "주문-1".as_bytes(),
        b"",
    ] {
        let resp = app
            .request(Method::GET, "/healthz")
            .header(
                "x-request-id",
                reqwest::header::HeaderValue::from_bytes(given).expect("a header value"),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        let id = request_id(&resp);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{given:?} came back as {id}");
    }
    // Two ids: which one would the log name? Neither.
    let resp = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "one")
        .header("x-request-id", "two")
        .send()
        .await
        .expect("send");
    let id = request_id(&resp);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}

/// `jangteo serve` as its own process, its stderr in a file; SIGTERM when dropped.
struct Serve {
    child: std::process::Child,
    base: String,
    stderr: tempfile::NamedTempFile,
}

impl Serve {
    async fn start(db: &TestDb, env: &[(&str, &str)]) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let stderr = tempfile::NamedTempFile::new().expect("a temp file");
        let child = binary::jangteo()
            .args(["serve", "--no-migrate", "--listen", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", db.url())
            .env(
                "JANGTEO_STAFF__TOTP_KEY",
                "b2JzZXJ2YWJpbGl0eS10ZXN0LXRvdHAta2V5LTMyYiE=",
            )
            .env("JANGTEO_BANK_TRANSFER__ACCOUNT_NUMBER", "999901-01-000003")
            .env("JANGTEO_METRICS__LISTEN", "127.0.0.1:0")
            .env_remove("SENTRY_DSN")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(stderr.reopen().expect("reopen"))
            .spawn()
            .expect("spawn jangteo");
        let serve = Serve {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/readyz", serve.base)).await
                && r.status().is_success()
            {
                return serve;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "jangteo did not become ready: {}",
                serve.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Stops it with SIGTERM and returns what it wrote on stderr.
    fn stop(mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.log()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).expect("the log")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(client: &reqwest::Client, serve: &Serve, request_id: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = client
        .post(format!("{}/graphql", serve.base))
        .header("x-request-id", request_id)
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    assert_eq!(resp.headers()["x-request-id"], request_id);
    resp.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_name_the_request_and_hold_no_secrets() {
    let db = TestDb::create().await;
    // The old form of the filter (`JANGTEO_LOG=…`) beside the new `log.format`; `debug`, so
    // every crate's chatter is searched for secrets.
    let serve = Serve::start(&db, &[("JANGTEO_LOG", "debug"), ("JANGTEO_LOG__FORMAT", "json")]).await;
    let client = reqwest::Client::new();
    let password = "Obs3rvable-Pa55word!";
    let email = "log-watcher@example.com";
    let signed_up = post(
        &client,
        &serve,
        "obs-sign-up",
        None,
        json!({
            "query": "mutation SignUp($i: CustomerSignUpInput!) { customerSignUp(input: $i) { customer { id } userErrors { code } } }",
            "variables": { "i": {
                "email": email, "password": password, "name": "로그왓처", "mobile": "010-2468-1357",
                "termsAccepted": true, "privacyAccepted": true
            } }
        }),
    )
    .await;
    assert!(
        signed_up["data"]["customerSignUp"]["customer"]["id"].is_string(),
        "{signed_up}"
    );
    let login = post(
        &client,
        &serve,
        "obs-login",
        None,
        json!({
            "query": "mutation Login($e: String!, $p: String!) { customerLogin(email: $e, password: $p) { accessToken userErrors { code } } }",
            "variables": { "e": email, "p": password }
        }),
    )
    .await;
    let token = login["data"]["customerLogin"]["accessToken"]
        .as_str()
        .expect("a token")
        .to_owned();
    let me = post(
        &client,
        &serve,
        "obs-me",
        Some(&token),
        json!({ "query": "query Me { me { id } }" }),
    )
    .await;
    assert!(me["data"]["me"]["id"].is_string(), "{me}");
    let log = serve.stop();

    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.len() > 10, "{log}");
    for line in &lines {
        assert!(line["timestamp"].is_string() && line["level"].is_string(), "{line}");
    }
    // The request's lines carry its id and operation, from the span around them.
    let of = |id: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| {
                l["spans"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["request_id"] == id))
            })
            .collect()
    };
    let me_lines = of("obs-me");
    assert!(me_lines.len() >= 2, "at debug, at least its start and end: {log}");
    let finished = me_lines
        .iter()
        .find(|l| l["message"] == "finished processing request")
        .unwrap_or_else(|| panic!("no end line: {me_lines:#?}"));
    assert_eq!(finished["span"]["request_id"], "obs-me");
    assert_eq!(finished["span"]["operation"], "Me");
    assert_eq!(finished["span"]["path"], "/graphql");
    assert!(!of("obs-login").is_empty() && !of("obs-sign-up").is_empty());
    for secret in [password, token.as_str(), email, "010-2468-1357", "로그왓처"] {
        assert!(!log.contains(secret), "{secret} is in the log");
    }
}

/// PostgreSQL refuses new customers with a message that quotes the row, as its constraint
/// errors do (`Key (email)=(…) already exists`).
const REFUSE_CUSTOMERS: &str = r"
CREATE FUNCTION refuse_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'customer % (%) not kept: 서울특별시 강남구 테헤란로 123, 10층 is closed', NEW.email, NEW.mobile;
END $$;
CREATE TRIGGER refuse_customer BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION refuse_customer();
";

#[test]
fn a_resolver_fault_is_one_sentry_event_with_operation_and_request_id_and_no_personal_data() {
    use tracing_subscriber::layer::SubscriberExt as _;

    let options = sentry::apply_defaults(telemetry::client_options("jangteo@0.0.0", Some("test"), "serve"));
    let events = sentry::test::with_captured_events_options(
        || {
            // One thread: the server's tasks run where the test's Sentry hub is current.
            let _logs =
                tracing::subscriber::set_default(tracing_subscriber::registry().with(telemetry::sentry_layer()));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                let app = TestApp::spawn().await;
                sqlx::raw_sql(REFUSE_CUSTOMERS).execute(&app.pool).await.expect("trigger");
                let resp = app
                    .request(Method::POST, "/graphql")
                    .header("x-request-id", "req-sign-up-fault")
                    .json(&json!({
                        "query": "mutation SignUp($i: CustomerSignUpInput!) { customerSignUp(input: $i) { customer { id } userErrors { code } } }",
                        "variables": { "i": {
                            "email": "kim.minji@example.com", "password": "jangteo1234!", "name": "김민지",
                            "mobile": "010-9876-5432", "termsAccepted": true, "privacyAccepted": true
                        } }
                    }))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(request_id(&resp), "req-sign-up-fault");
                let body = resp.text().await.expect("a body");
                let v: Value = serde_json::from_str(&body).expect("JSON");
                assert_eq!(v["errors"][0]["extensions"]["code"], "INTERNAL", "{v}");
                assert!(!body.contains("kim.minji") && !body.contains("9876"), "the client sees no fault: {body}");
                // A request that goes well reports nothing.
                let fine = app.gql("query Shop { shop { name } }", json!({})).await;
                assert!(fine["data"]["shop"]["name"].is_string(), "{fine}");
                app.stop().await;
            });
        },
        options,
    );
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e.tags.get("request_id").map(String::as_str), Some("req-sign-up-fault"));
    assert_eq!(e.tags.get("operation").map(String::as_str), Some("SignUp"));
    assert_eq!(e.tags.get("component").map(String::as_str), Some("serve"));
    assert_eq!(e.release.as_deref(), Some("jangteo@0.0.0"));
    assert_eq!(e.transaction.as_deref(), Some("POST /graphql"));
    let all = format!("{e:?}");
    assert!(
        all.contains("customer [email] ([phone]) not kept: [address] is closed"),
        "the database's message, masked: {e:#?}"
    );
    for private in ["kim.minji", "example.com", "01098765432", "9876", "테헤란로", "김민지"] {
        assert!(!all.contains(private), "{private} was sent: {e:#?}");
    }
}
