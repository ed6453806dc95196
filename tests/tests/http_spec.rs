//! The GraphQL-over-HTTP rules: media type by Accept, 4xx for request errors with no
//! `data` entry, GET for queries only; plus health, readiness and limits.

use jangteo_tests::TestApp;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const GQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

async fn post(
    app: &TestApp,
    accept: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, String, Value) {
    let mut req = app
        .request(Method::POST, "/graphql")
        .header(header::CONTENT_TYPE, content_type)
        .body(body);
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, ct, body)
}

async fn post_query(app: &TestApp, accept: Option<&str>, body: Value) -> (StatusCode, String, Value) {
    post(app, accept, JSON, body.to_string()).await
}

#[tokio::test]
async fn response_media_type_follows_accept() {
    let app = TestApp::demo().await;
    let q = json!({ "query": "{ shop { name } }" });
    for (accept, expected) in [
        (Some(GQL_RESPONSE), GQL_RESPONSE),
        (Some(JSON), JSON),
        (None, JSON),
        (Some("*/*"), JSON),
        (
            Some("application/json;q=0.5, application/graphql-response+json"),
            GQL_RESPONSE,
        ),
        (Some("application/graphql-response+json;q=0.1, application/json"), JSON),
    ] {
        let (status, ct, body) = post_query(&app, accept, q.clone()).await;
        assert_eq!(status, StatusCode::OK, "{accept:?}");
        assert_eq!(ct, expected, "{accept:?}");
        assert_eq!(body["data"]["shop"]["name"], "장터 뉴트리션");
    }
    let (status, _, _) = post_query(&app, Some("text/html"), q).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn request_errors_are_4xx_without_data_under_graphql_response_json() {
    let app = TestApp::demo().await;
    let cases: Vec<(&str, String, &str)> = vec![
        ("unparseable JSON", "{ not json".into(), "BAD_REQUEST"),
        ("missing query", json!({ "variables": {} }).to_string(), "BAD_REQUEST"),
        ("query not a string", json!({ "query": 1 }).to_string(), "BAD_REQUEST"),
        ("variables not an object", json!({ "query": "{ shop { name } }", "variables": [1] }).to_string(), "BAD_REQUEST"),
        ("document does not parse", json!({ "query": "{ products(first: " }).to_string(), "GRAPHQL_PARSE_FAILED"),
        ("unknown field", json!({ "query": "{ nope }" }).to_string(), "GRAPHQL_VALIDATION_FAILED"),
        (
            "unknown operation",
            json!({ "query": "query A { shop { name } }", "operationName": "B" }).to_string(),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "variable coercion",
            json!({ "query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": { "n": "ten" } })
                .to_string(),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "too deep",
            json!({ "query": "{ categories { children { children { children { children { children { children { children { children { children { slug } } } } } } } } } } }" }).to_string(),
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (what, body, code) in cases {
        let (status, ct, resp) = post(&app, Some(GQL_RESPONSE), JSON, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {resp}");
        assert_eq!(ct, GQL_RESPONSE, "{what}");
        assert!(
            resp.get("data").is_none(),
            "{what}: request errors have no data entry: {resp}"
        );
        assert_eq!(resp["errors"][0]["extensions"]["code"], code, "{what}: {resp}");
        assert!(!resp["errors"][0]["message"].as_str().unwrap_or("").is_empty());

        // application/json: 200 for a well-formed HTTP request, 400 for a malformed one.
        let (status, ct, resp) = post(&app, Some(JSON), JSON, body).await;
        let malformed = code == "BAD_REQUEST";
        let expected = if malformed {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "{what} as application/json");
        assert_eq!(ct, JSON);
        assert!(resp.get("data").is_none(), "{what}: {resp}");
    }
}

#[tokio::test]
async fn syntax_errors_say_where() {
    let app = TestApp::demo().await;
    let (status, _, resp) = post_query(&app, Some(GQL_RESPONSE), json!({ "query": "{ products(first: " })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        resp["errors"][0]["message"],
        "syntax error at line 1, column 19: expected value"
    );
    assert_eq!(resp["errors"][0]["locations"], json!([{ "line": 1, "column": 19 }]));
}

#[tokio::test]
async fn field_errors_are_200_with_data() {
    let app = TestApp::demo().await;
    let body = json!({ "query": r#"{ shop { name } product(slug: "nope") { name } }"# });
    let (status, _, resp) = post_query(&app, Some(GQL_RESPONSE), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resp["data"]["shop"]["name"], "장터 뉴트리션");
    assert_eq!(resp["data"]["product"], Value::Null);
    assert_eq!(resp["errors"][0]["path"], json!(["product"]));
}

#[tokio::test]
async fn post_needs_a_json_body() {
    let app = TestApp::demo().await;
    let (status, _, resp) = post(&app, Some(GQL_RESPONSE), "text/plain", "{ shop { name } }").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(resp["errors"][0]["extensions"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    let (status, _, resp) = post(
        &app,
        None,
        "application/json; charset=utf-8",
        json!({ "query": "{ shop { name } }" }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let big = format!(
        "{{\"query\": \"{{ shop {{ name }} }}\", \"x\": \"{}\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (status, _, _) = post(&app, None, JSON, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// Writes `head` and `body` on `stream` (concurrently with reading, as a client streaming an
/// upload does) and reads one response: whether all of the body could be written, the status
/// line's code, the headers (lower-case names) and the body.
async fn exchange(
    stream: &mut tokio::net::TcpStream,
    head: String,
    body: Vec<u8>,
) -> (bool, u16, Vec<(String, String)>, Value) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.split();
    let upload = async move { write.write_all(head.as_bytes()).await.is_ok() && write.write_all(&body).await.is_ok() };
    let receive = async move {
        let mut reader = BufReader::new(read);
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("status line");
        let code: u16 = line.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status");
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).await.expect("header");
            let Some((name, value)) = line.trim_end().split_once(':') else {
                break;
            };
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .expect("content-length");
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.expect("body");
        (code, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
    };
    let (uploaded, (code, headers, answer)) = tokio::join!(upload, receive);
    (uploaded, code, headers, answer)
}

fn post_head(length: usize) -> String {
    format!(
        "POST /graphql HTTP/1.1\r\nhost: shop\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    )
}

/// An upload over the limit gets its 413 rather than a connection reset: the body is read
/// (up to a bound) before the answer, and the connection serves the next request. Past the
/// bound the 413 comes at once with `Connection: close`; a chunked body is cut at the limit
/// with the same answer.
#[tokio::test]
async fn an_oversized_body_is_read_and_answered_413() {
    let app = TestApp::demo().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    // 4 MiB: more than loopback's socket buffers hold, so an unread body cannot hide there.
    let body = vec![b' '; 4 * 1024 * 1024];
    let (sent, code, headers, resp) = exchange(&mut stream, post_head(body.len()), body).await;
    assert!(sent, "the whole body was read");
    assert_eq!(code, 413);
    assert_eq!(resp["errors"][0]["extensions"]["code"], "TOO_LARGE", "{resp}");
    assert!(
        !headers.iter().any(|(n, v)| n == "connection" && v == "close"),
        "{headers:?}"
    );
    // The same connection answers the next request.
    let query = json!({ "query": "{ shop { name } }" }).to_string().into_bytes();
    let (sent, code, _, resp) = exchange(&mut stream, post_head(query.len()), query).await;
    assert!(sent);
    assert_eq!(
        (code, &resp["data"]["shop"]["name"]),
        (200, &json!("장터 뉴트리션")),
        "{resp}"
    );

    // Declared far past the bound: answered without waiting for the body, and closed.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let (_, code, headers, resp) = exchange(&mut stream, post_head(1 << 30), Vec::new()).await;
    assert_eq!(code, 413);
    assert_eq!(resp["errors"][0]["extensions"]["code"], "TOO_LARGE", "{resp}");
    assert!(
        headers.iter().any(|(n, v)| n == "connection" && v == "close"),
        "{headers:?}"
    );

    // A chunked body (no declared length) past the limit: cut there, the same 413.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let chunk = vec![b' '; 64 * 1024];
    let mut body = Vec::new();
    for _ in 0..17 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head = "POST /graphql HTTP/1.1\r\nhost: shop\r\ncontent-type: application/json\r\n\
                transfer-encoding: chunked\r\n\r\n";
    let (_, code, _, resp) = exchange(&mut stream, head.to_owned(), body).await;
    assert_eq!(code, 413);
    assert_eq!(resp["errors"][0]["extensions"]["code"], "TOO_LARGE", "{resp}");
}

#[tokio::test]
async fn get_runs_queries_but_not_mutations() {
    let app = TestApp::demo().await;
    let resp = app
        .request(Method::GET, "/graphql")
        .header(header::ACCEPT, GQL_RESPONSE)
        .query(&[
            ("query", "query($n: Int) { products(first: $n) { totalCount } }"),
            ("variables", r#"{"n": 2}"#),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert!(body["data"]["products"]["totalCount"].as_i64().expect("count") > 0);

    let resp = app
        .request(Method::GET, "/graphql")
        .header(header::ACCEPT, GQL_RESPONSE)
        .query(&[("query", "mutation { __typename }")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        resp.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()),
        Some("POST")
    );

    let resp = app
        .request(Method::GET, "/graphql")
        .header(header::ACCEPT, GQL_RESPONSE)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "GET without a query");

    let resp = app.request(Method::PUT, "/graphql").send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);

    let resp = app
        .request(Method::GET, "/graphql")
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.expect("html").to_lowercase().contains("graphiql"));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let resp = app.request(Method::GET, "/healthz").send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.request(Method::GET, "/readyz").send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    // Readiness follows the database: a service whose database is gone answers 503.
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy_with(
            sqlx::postgres::PgConnectOptions::new()
                .host("127.0.0.1")
                .port(dead_port),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = graphql::app::AppState::new(pool, std::sync::Arc::new(commerce::Settings::defaults()));
    tokio::spawn(graphql::app::serve(listener, state, std::future::pending()));
    let resp = reqwest::get(format!("http://{addr}/readyz")).await.expect("send");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let resp = reqwest::get(format!("http://{addr}/healthz")).await.expect("send");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the process is up even when the database is not"
    );
}

/// `GET path` with `Accept: text/html`, as a browser asks: status and body.
async fn browse(base: &str, path: &str) -> (StatusCode, String) {
    let resp = jangteo_tests::fakes::http_client()
        .get(format!("{base}{path}"))
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("send");
    (resp.status(), resp.text().await.expect("body"))
}

#[tokio::test]
async fn graphiql_assets_are_pinned_with_integrity_hashes() {
    let app = TestApp::spawn().await;
    for path in ["/graphql", "/admin/graphql"] {
        let (status, html) = browse(&app.base, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("GraphiQL"), "{html}");
        assert!(html.contains(&format!("\"{path}\"")), "endpoint {path}: {html}");
        // Every external script and stylesheet names an exact version and its hash.
        let tags: Vec<&str> = html
            .split('<')
            .filter(|t| t.starts_with("script src=") || t.starts_with("link rel=\"stylesheet\""))
            .collect();
        assert_eq!(tags.len(), 4, "{html}");
        for tag in tags {
            assert!(tag.contains("integrity=\"sha384-"), "no integrity: {tag}");
            assert!(tag.contains("crossorigin=\"anonymous\""), "{tag}");
            let url = tag
                .split_once(" src=\"")
                .or_else(|| tag.split_once(" href=\""))
                .and_then(|(_, rest)| rest.split('"').next())
                .unwrap_or("");
            assert!(url.starts_with("https://"), "{tag}");
            let version = url.split('@').nth(1).and_then(|v| v.split('/').next()).unwrap_or("");
            assert!(
                version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
                "unpinned version in {url}"
            );
        }
    }
}

#[tokio::test]
async fn graphiql_off_hides_the_pages_and_admin_introspection() {
    let db = jangteo_tests::TestDb::create().await;
    let mut settings = commerce::Settings::defaults();
    settings.http.graphiql = false;
    let state = graphql::app::AppState::new(db.pool(4).await, std::sync::Arc::new(settings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(graphql::app::serve(listener, state, std::future::pending()));

    for path in ["/graphql", "/admin/graphql"] {
        let (status, body) = browse(&base, path).await;
        assert_ne!(status, StatusCode::OK, "{path}");
        assert!(!body.contains("GraphiQL"), "{path}: {body}");
    }
    let introspect = |path: &'static str| {
        let base = base.clone();
        async move {
            jangteo_tests::fakes::http_client()
                .post(format!("{base}{path}"))
                .json(&json!({ "query": "{ __schema { types { name } } }" }))
                .send()
                .await
                .expect("send")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    // async-graphql answers disabled introspection with null, not an error.
    let admin = introspect("/admin/graphql").await;
    assert!(admin["data"]["__schema"].is_null(), "{admin}");
    assert!(!admin.to_string().contains("StaffRole"), "{admin}");
    // The storefront's schema is public: its introspection stays.
    let storefront = introspect("/graphql").await;
    assert!(storefront["data"]["__schema"]["types"].is_array(), "{storefront}");
    server.abort();
}
