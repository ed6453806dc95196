//! What ops see of a request: its id in the response and in every log line.

use jangteo_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

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
