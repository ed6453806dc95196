//! Hostile input: nesting bombs, fragment blow-ups, alias floods, huge and deep variables,
//! invalid UTF-8. Each ends by checking the server still answers.
//!
//! The server runs in this process on worker threads with a small stack
//! ([`on_small_stacks`]): any unbounded recursion a request reaches overflows there in the
//! debug build as it does with the release binary's 2 MiB tokio workers, and a stack
//! overflow aborts this test binary, which fails the run.
//!
//! Measured with async-graphql 7.2.1: its `parse_value` takes about 6 KiB of stack per
//! nesting level unoptimised and 1.3 KiB optimised; pest, which runs first, stops with a
//! syntax error ("stack limit reached") when less than 64 KiB remain, at about 2.6 KiB per
//! level unoptimised. So a release binary (2 MiB workers) aborts from about 1,550 nested
//! lists or 1,300 nested objects on, whatever the length; on a 1 MiB debug stack only
//! documents between about 180 and 360 levels overflow, deeper ones are syntax errors.
//! The bombs below include sizes in both windows.

use std::{future::Future, process::Command, time::Duration};

use commerce::settings::DatabaseSettings;
use jangteo_tests::{TestApp, TestDb, data};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const GQL_RESPONSE: &str = "application/graphql-response+json";
/// Worker stack of the in-process server (tokio's default is 2 MiB). The deepest document
/// the guard lets through (64 levels) needs about 400 KiB in a debug build.
const SMALL_STACK: usize = 1024 * 1024;

/// Runs `test` with the server's tasks on worker threads of [`SMALL_STACK`].
fn on_small_stacks(test: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(SMALL_STACK)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test);
}

/// A POST with `body` as JSON to `path`: status and body.
async fn post(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    post_raw(app, path, body.to_string().into_bytes()).await
}

async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .request(Method::POST, path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, GQL_RESPONSE)
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = app
        .request(Method::GET, path)
        .query(params)
        .header(header::ACCEPT, GQL_RESPONSE)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

/// The server is alive and answers an ordinary query on both endpoints.
async fn still_answers(app: &TestApp) {
    let r = app.gql("{ shop { name } }", json!({})).await;
    assert_eq!(data(&r)["shop"]["name"], "장터 뉴트리션");
    let (status, _) = post(app, "/admin/graphql", &json!({ "query": "{ __typename }" })).await;
    assert_eq!(status, StatusCode::OK);
}

fn list_bomb(n: usize) -> String {
    format!("{{ shop(a: {}1{}) {{ name }} }}", "[".repeat(n), "]".repeat(n))
}

fn object_bomb(n: usize) -> String {
    format!("{{ shop(a: {}1{}) {{ name }} }}", "{a: ".repeat(n), "}".repeat(n))
}

fn selection_bomb(n: usize) -> String {
    format!("{}{}", "{ a ".repeat(n), "}".repeat(n))
}

/// What the parser sees unguarded: a list nested `n` deep in an argument.
fn parser_bomb(n: usize) -> String {
    format!("{{ x(a: {}1{}) }}", "[".repeat(n), "]".repeat(n))
}

#[test]
fn the_unguarded_parser_overflows_a_small_stack_and_the_guarded_one_does_not() {
    const CHILD: &str = "JANGTEO_HOSTILE_UNGUARDED_PARSE";
    if std::env::var_os(CHILD).is_some() {
        // In the child process: what the server did before the guard. Aborts the process.
        let outcome = std::thread::Builder::new()
            .stack_size(SMALL_STACK)
            .spawn(|| async_graphql::parser::parse_query(parser_bomb(250)).is_ok())
            .expect("spawn")
            .join();
        println!("unguarded parse returned: {outcome:?}");
        return;
    }
    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "the_unguarded_parser_overflows_a_small_stack_and_the_guarded_one_does_not",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run child");
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        !child.status.success() && stderr.contains("overflow"),
        "the unguarded parse survived: {:?} {stderr}",
        child.status
    );
    // The same document, and worse, through the guarded entry point on the same stack.
    let refused = std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(|| {
            [
                parser_bomb(250),
                parser_bomb(2_000),
                parser_bomb(1_000_000),
                object_bomb(100_000),
                selection_bomb(100_000),
                format!(
                    "query($a: {}Int{}) {{ shop {{ name }} }}",
                    "[".repeat(50_000),
                    "]".repeat(50_000)
                ),
            ]
            .iter()
            .map(|q| graphql::limits::parse(q).err().map(|r| r.code))
            .collect::<Vec<_>>()
        })
        .expect("spawn")
        .join()
        .expect("no overflow");
    assert!(refused.iter().all(|c| *c == Some("NESTING_TOO_DEEP")), "{refused:?}");
    // The deepest document allowed parses on that stack.
    let deepest = std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(|| graphql::limits::parse(&parser_bomb(graphql::limits::MAX_NESTING - 2)).is_ok())
        .expect("spawn")
        .join()
        .expect("no overflow");
    assert!(deepest);
}

#[test]
fn nesting_bombs_are_refused_by_post_and_get_on_both_endpoints() {
    on_small_stacks(async {
        let app = TestApp::demo().await;
        for path in ["/graphql", "/admin/graphql"] {
            // Near the 1 MiB body limit by POST; as long a URL as a server takes by GET.
            // Deep enough to overflow this debug build's stack unguarded, deep enough to
            // overflow the release binary's, and near the 1 MiB body limit.
            for (name, bomb) in [
                ("list", list_bomb(250)),
                ("object", object_bomb(175)),
                ("list", list_bomb(2_000)),
                ("object", object_bomb(1_500)),
                ("list", list_bomb(300_000)),
                ("object", object_bomb(200_000)),
                ("selection", selection_bomb(200_000)),
            ] {
                let (status, body) = post(&app, path, &json!({ "query": bomb })).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {name}: {body}");
                assert_eq!(code(&body), "NESTING_TOO_DEEP", "{path} {name}: {body}");
                assert!(body.get("data").is_none());
                // An <img src="/admin/graphql?query=…"> is enough to send these by GET.
                if bomb.len() < 20_000 {
                    let (status, body) = get(&app, path, &[("query", &bomb)]).await;
                    assert_eq!(status, StatusCode::BAD_REQUEST, "GET {path} {name}: {body}");
                    assert_eq!(code(&body), "NESTING_TOO_DEEP", "GET {path} {name}");
                }
            }
        }
        // The deepest value allowed reaches validation (a list is not a String).
        let deepest = format!(
            "{{ products(first: 1, filter: {{search: {}\"x\"{}}}) {{ totalCount }} }}",
            "[".repeat(graphql::limits::MAX_NESTING - 3),
            "]".repeat(graphql::limits::MAX_NESTING - 3)
        );
        let (status, body) = post(&app, "/graphql", &json!({ "query": deepest })).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "GRAPHQL_VALIDATION_FAILED"),
            "{body}"
        );
        // Brackets in strings, block strings and comments are not nesting.
        let quoted = "[".repeat(10_000);
        let q = format!(
            "# {quoted}\n{{ product(slug: \"{quoted}\") {{ id }} \
             category(slug: \"\"\"{quoted}\\\"\"\" {quoted}\"\"\") {{ id }} }}"
        );
        let (status, body) = post(&app, "/graphql", &json!({ "query": q })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
        still_answers(&app).await;
    });
}

#[test]
fn fragment_chains_trees_and_cycles_are_refused_quickly() {
    on_small_stacks(async {
        let app = TestApp::demo().await;
        // 5,000 fragments, each spreading the next: no brackets nest, validation would
        // recurse 5,000 deep.
        let mut chain: String = std::iter::once("{ ...F0 }\n".to_owned())
            .chain((0..5_000).map(|i| format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1)))
            .collect();
        chain += "fragment F5000 on Query { shop { name } }";
        // 30 fragments, each spreading the next twice: 2^30 selections once inlined.
        let mut tree: String = std::iter::once("{ ...T0 }\n".to_owned())
            .chain((0..30).map(|i| format!("fragment T{i} on Query {{ ...T{j} ...T{j} }}\n", j = i + 1)))
            .collect();
        tree += "fragment T30 on Query { shop { name } }";
        // A cycle that branches: async-graphql's depth check would walk 2^32 paths.
        let cycle = "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }".to_owned();
        for (doc, expected) in [
            (chain, "NESTING_TOO_DEEP"),
            (tree, "DOCUMENT_TOO_LARGE"),
            (cycle, "GRAPHQL_VALIDATION_FAILED"),
        ] {
            let started = std::time::Instant::now();
            let (status, body) = post(&app, "/graphql", &json!({ "query": doc })).await;
            assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, expected), "{body}");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{expected} took {:?}",
                started.elapsed()
            );
        }
        still_answers(&app).await;
    });
}

#[test]
fn alias_floods_are_refused_and_root_fields_cost() {
    on_small_stacks(async {
        let app = TestApp::demo().await;
        let named = |prefix: &str, n: usize, field: &str| {
            (0..n)
                .map(|i| format!("{prefix}{i}: {field}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let aliases = |n: usize, field: &str| named("a", n, field);
        let search = "products(first: 1, filter: {search: \"x\"}) { totalCount }";
        let slug = "product(slug: \"nope\") { id }";
        for flood in [aliases(1_500, search), aliases(2_000, slug), aliases(51, slug)] {
            let (status, body) = post(&app, "/graphql", &json!({ "query": format!("{{ {flood} }}") })).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::BAD_REQUEST, "TOO_MANY_ROOT_FIELDS"),
                "{body}"
            );
        }
        // Fragments and inline fragments count too.
        let q = format!(
            "{{ ...F ... on Query {{ {} }} }} fragment F on Query {{ {} }}",
            aliases(25, "shop { name }"),
            named("b", 26, "categories { name }")
        );
        let (status, body) = post(&app, "/graphql", &json!({ "query": q })).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "TOO_MANY_ROOT_FIELDS"),
            "{body}"
        );
        // And by GET, on the admin API.
        let (status, body) = get(
            &app,
            "/admin/graphql",
            &[("query", &format!("{{ {} }}", aliases(60, "__typename")))],
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "TOO_MANY_ROOT_FIELDS"),
            "{body}"
        );
        // Fifty are allowed.
        let r = app
            .gql(&format!("{{ {} }}", aliases(50, "categories { name }")), json!({}))
            .await;
        assert!(data(&r)["a49"].is_array());

        // Each root field costs 50 on top of its selection: seven pages of 100 products
        // (601 each) fit in 5,000; eight (4,808 + 400) do not.
        let page = "products(first: 100) { edges { node { id name slug priceFrom } } }";
        let r = app.gql(&format!("{{ {} }}", aliases(7, page)), json!({})).await;
        assert!(data(&r)["a6"]["edges"].is_array());
        let (status, body) = post(
            &app,
            "/graphql",
            &json!({ "query": format!("{{ {} }}", aliases(8, page)) }),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errors"][0]["message"], "Query is too complex.");
        still_answers(&app).await;
    });
}

#[test]
fn one_request_takes_at_most_four_connections() {
    on_small_stacks(async {
        let app = TestApp::demo().await;
        // Every products statement waits behind this lock while holding its connection.
        let mut lock = app.pool.begin().await.expect("begin");
        sqlx::raw_sql("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *lock)
            .await
            .expect("lock");
        let flood = (0..50)
            .map(|i| format!("a{i}: products(first: 1) {{ totalCount }}"))
            .collect::<Vec<_>>()
            .join(" ");
        let base = app.base.clone();
        let flood = tokio::spawn(async move {
            jangteo_tests::fakes::http_client()
                .post(format!("{base}/graphql"))
                .json(&json!({ "query": format!("{{ {flood} }}") }))
                .send()
                .await
                .expect("send")
                .json::<Value>()
                .await
                .expect("json")
        });
        // Wait until the flood's statements are stuck on the lock.
        let waiting = || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&app.pool)
            .await
            .expect("count")
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while waiting().await < 4 {
            assert!(
                std::time::Instant::now() < deadline,
                "the flood never reached the database"
            );
            tokio::task::yield_now().await;
        }
        // The service's pool has 8 connections: with the flood holding 4, another client's
        // query gets one at once (it would wait for the lock's end if the flood held all 8).
        let other = tokio::time::timeout(Duration::from_secs(5), app.gql("{ categories { name } }", json!({})))
            .await
            .expect("an unrelated query is not starved by one request");
        assert!(data(&other)["categories"].is_array());
        assert_eq!(waiting().await, 4, "one request holds at most four connections");
        lock.rollback().await.expect("unlock");
        let flood = flood.await.expect("flood");
        assert_eq!(data(&flood)["a49"]["totalCount"], data(&flood)["a0"]["totalCount"]);
        still_answers(&app).await;
    });
}

#[test]
fn concurrent_floods_leave_room_for_a_normal_query() {
    on_small_stacks(async {
        let app = TestApp::demo().await;
        let flood = (0..50)
            .map(|i| format!("a{i}: products(first: 1, filter: {{search: \"비타민{i}\"}}) {{ totalCount }}"))
            .collect::<Vec<_>>()
            .join(" ");
        let floods: Vec<_> = (0..12)
            .map(|_| {
                let (base, q) = (app.base.clone(), format!("{{ {flood} }}"));
                tokio::spawn(async move {
                    let client = jangteo_tests::fakes::http_client();
                    for _ in 0..3 {
                        let r: Value = client
                            .post(format!("{base}/graphql"))
                            .json(&json!({ "query": q }))
                            .send()
                            .await
                            .expect("send")
                            .json()
                            .await
                            .expect("json");
                        assert!(r.get("errors").is_none(), "{r}");
                    }
                })
            })
            .collect();
        let started = std::time::Instant::now();
        let r = app
            .gql(
                "{ products(first: 20) { edges { node { slug variants { price } } } } }",
                json!({}),
            )
            .await;
        assert!(!data(&r)["products"]["edges"].as_array().expect("edges").is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        for f in floods {
            f.await.expect("flood answered");
        }
        still_answers(&app).await;
    });
}

#[test]
fn huge_deep_and_invalid_inputs_are_request_errors() {
    on_small_stacks(async {
        let app = TestApp::demo().await;
        // 100,000 variables: unused, harmless.
        let vars: serde_json::Map<String, Value> = (0..100_000u32).map(|i| (format!("{i:x}"), json!(0))).collect();
        let (status, body) = post(
            &app,
            "/graphql",
            &json!({ "query": "{ shop { name } }", "variables": vars }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // A string of almost 1 MiB as an argument.
        let long = "가".repeat(340_000);
        let (status, body) = post(
            &app,
            "/graphql",
            &json!({ "query": "query($s: String!) { products(first: 1, filter: {search: $s}) { totalCount } }",
                     "variables": { "s": long } }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Over the body limit.
        let (status, _) = post(
            &app,
            "/graphql",
            &json!({ "query": "{ shop { name } }", "variables": { "s": "a".repeat(1 << 20) } }),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        // Variables nested 10,000 deep, by POST and GET: refused by the JSON reader.
        let deep = format!("{{\"v\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let body = format!("{{\"query\":\"{{ shop {{ name }} }}\",\"variables\":{deep}}}");
        let (status, r) = post_raw(&app, "/graphql", body.into_bytes()).await;
        assert_eq!((status, code(&r)), (StatusCode::BAD_REQUEST, "BAD_REQUEST"), "{r}");
        let (status, r) = get(
            &app,
            "/graphql",
            &[("query", "{ shop { name } }"), ("variables", &deep)],
        )
        .await;
        assert_eq!((status, code(&r)), (StatusCode::BAD_REQUEST, "BAD_REQUEST"), "{r}");
        // As deep as the JSON reader allows, into an input: coerced without trouble.
        let nested = format!("{}\"x\"{}", "[".repeat(120), "]".repeat(120));
        let body = format!(
            "{{\"query\":\"query($s: String) {{ products(first: 1, filter: {{search: $s}}) {{ totalCount }} }}\",\"variables\":{{\"s\":{nested}}}}}"
        );
        let (status, r) = post_raw(&app, "/graphql", body.into_bytes()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
        // Invalid UTF-8 in the body and in the query string.
        let mut bad = br#"{"query":"{ shop { name } }","operationName":""#.to_vec();
        bad.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
        let (status, r) = post_raw(&app, "/graphql", bad).await;
        assert_eq!((status, code(&r)), (StatusCode::BAD_REQUEST, "BAD_REQUEST"), "{r}");
        let resp = app
            .request(Method::GET, "/graphql?query=%7B%20shop%20%7B%20na%FFme%20%7D%20%7D")
            .header(header::ACCEPT, GQL_RESPONSE)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        still_answers(&app).await;
    });
}

#[tokio::test]
async fn pooled_connections_have_a_statement_timeout() {
    let db = TestDb::create().await;
    let settings = DatabaseSettings {
        url: Some(serde_json::from_value(json!(db.url())).expect("url")),
        local: false,
        private_dir: "./var/unused".into(),
        name: db.name.clone(),
        max_connections: 2,
        statement_timeout_ms: 300,
        // The reports' pool (a read replica's in production) has the same timeout.
        read_url: Some(serde_json::from_value(json!(db.url())).expect("url")),
        read_max_connections: 1,
    };
    let database = commerce::db::Database::open(&settings).await.expect("open");
    let shown: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&database.reports)
        .await
        .expect("show");
    assert_eq!(shown, "300ms", "the reports' pool");
    // Migrating runs without the timeout and leaves the pool's connections as they were.
    commerce::db::migrate(&database.pool).await.expect("migrate");
    let shown: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&database.pool)
        .await
        .expect("show");
    assert_eq!(shown, "300ms");
    let started = std::time::Instant::now();
    let err = sqlx::query("SELECT pg_sleep(10)")
        .execute(&database.pool)
        .await
        .expect_err("cancelled");
    assert!(started.elapsed() < Duration::from_secs(5));
    let code = err
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .map(std::borrow::Cow::into_owned);
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled: {err}");
    database.close().await;
}
