//! CMS pages over both APIs: what staff save is sanitized, editor formatting survives,
//! nothing executable does (OWASP XSS cheat-sheet payloads), drafts stay hidden.

use commerce::staff::Role;
use jangteo_tests::{TestApp, data, staff_session};
use serde_json::json;

const CREATE: &str =
    "mutation($i: PageInput!) { pageCreate(input: $i) { page { id slug body published } userErrors { code field } } }";

const PAYLOADS: &[&str] = &[
    "<script>alert('xss')</script>",
    "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"javascript:alert('XSS');\">",
    "<img src=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<a href=\"JaVaScRiPt:alert(1)\">click</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data</a>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<body onload=alert('XSS')>",
    "<div style=\"background-image: url(javascript:alert('XSS'))\">bg</div>",
    "<div style=\"width: expression(alert('XSS'));\">ie</div>",
    "<style>@import 'https://evil.example/x.css';</style>",
    "<object data=\"https://evil.example/x.swf\"></object>",
    "<embed src=\"https://evil.example/x.swf\">",
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<math><mi xlink:href=\"javascript:alert(1)\">m</mi></math>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<p onclick=\"alert(1)\" onmouseover=\"alert(2)\">hover</p>",
    "\"><script>alert(document.cookie)</script>",
    "<<SCRIPT>alert(\"XSS\");//<</SCRIPT>",
    "<table background=\"javascript:alert(1)\"><tr><td>t</td></tr></table>",
    "<base href=\"javascript:alert(1)//\">",
    "<link rel=stylesheet href=\"javascript:alert(1)\">",
];

const FORBIDDEN: &[&str] = &[
    "<script",
    "javascript:",
    "onerror",
    "onload",
    "onclick",
    "onmouseover",
    "onfocus",
    "ontoggle",
    "<iframe",
    "<svg",
    "<style",
    "<object",
    "<embed",
    "<form",
    "<meta",
    "<base",
    "<link",
    "<input",
    "expression(",
    "data:text/html",
    "xlink:href",
    "background=",
];

#[tokio::test]
async fn nothing_executable_survives_and_formatting_does() {
    let app = TestApp::spawn().await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let body = format!("<h2>안내 {i}</h2><p style=\"color: red; position: fixed\">본문</p>{payload}");
        let r = app
            .admin(
                &mgr,
                CREATE,
                json!({ "i": { "slug": format!("xss-{i}"), "title": "테스트", "body": body, "published": true } }),
            )
            .await;
        let saved = data(&r)["pageCreate"]["page"]["body"]
            .as_str()
            .expect("body")
            .to_lowercase();
        for bad in FORBIDDEN {
            assert!(!saved.contains(bad), "payload {i} left {bad:?}: {saved}");
        }
        assert!(
            saved.contains("<h2>") && saved.contains("style=\"color:red\""),
            "formatting kept: {saved}"
        );
        assert!(!saved.contains("position"), "{saved}");
        // The storefront serves exactly what was saved.
        let r = app
            .gql(
                "query($s: String!) { page(slug: $s) { body } }",
                json!({ "s": format!("xss-{i}") }),
            )
            .await;
        assert_eq!(data(&r)["page"]["body"].as_str().map(str::to_lowercase), Some(saved));
    }
}

#[tokio::test]
async fn drafts_slugs_roles_and_updates() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let r = app
        .admin(
            &owner,
            CREATE,
            json!({ "i": { "slug": "shipping", "title": "배송 안내", "body": "<p>준비 중</p>", "published": false } }),
        )
        .await;
    let id = data(&r)["pageCreate"]["page"]["id"].clone();
    let r = app.gql("{ page(slug: \"shipping\") { title } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "drafts are hidden");
    let update = "mutation($id: ID!, $i: PageInput!) { pageUpdate(id: $id, input: $i) { page { published } userErrors { code } } }";
    let r = app.admin(&owner, update, json!({ "id": id, "i": { "slug": "shipping", "title": "배송 안내", "body": "<p>평일 2시 마감</p>", "published": true } })).await;
    assert_eq!(data(&r)["pageUpdate"]["page"]["published"], true);
    let r = app
        .gql(
            "{ pages(kind: PAGE) { slug title body } page(slug: \"shipping\") { title body } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&r)["page"],
        json!({ "title": "배송 안내", "body": "<p>평일 2시 마감</p>" })
    );
    assert_eq!(data(&r)["pages"].as_array().expect("pages").len(), 1);
    let r = app
        .admin(
            &owner,
            CREATE,
            json!({ "i": { "slug": "shipping", "title": "x", "body": "", "published": true } }),
        )
        .await;
    assert_eq!(data(&r)["pageCreate"]["userErrors"][0]["code"], "ALREADY_EXISTS");
    let r = app
        .admin(
            &owner,
            CREATE,
            json!({ "i": { "slug": "Bad Slug", "title": "x", "body": "", "published": true } }),
        )
        .await;
    assert_eq!(data(&r)["pageCreate"]["userErrors"][0]["field"], json!(["slug"]));
    let r = app
        .admin(
            &cs,
            CREATE,
            json!({ "i": { "slug": "cs-page", "title": "x", "body": "", "published": true } }),
        )
        .await;
    assert_eq!(
        data(&r)["pageCreate"]["userErrors"][0]["code"],
        "FORBIDDEN",
        "CS does not edit content"
    );
    let del = "mutation($id: ID!) { pageDelete(id: $id) { deletedId userErrors { code } } }";
    let r = app.admin(&owner, del, json!({ "id": id })).await;
    assert_eq!(data(&r)["pageDelete"]["deletedId"], id);
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'page.%' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(actions, ["page.create", "page.update", "page.delete"]);
}

#[tokio::test]
async fn staff_page_through_pages_and_notices_drafts_included() {
    let app = TestApp::spawn().await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    for (slug, kind, published) in [
        ("about", "PAGE", true),
        ("notice-1", "NOTICE", true),
        ("notice-2", "NOTICE", false),
        ("returns", "PAGE", false),
        ("notice-3", "NOTICE", true),
    ] {
        let r = app
            .admin(
                &mgr,
                CREATE,
                json!({ "i": { "slug": slug, "title": slug, "body": "<p>본문</p>", "published": published, "kind": kind } }),
            )
            .await;
        assert_eq!(data(&r)["pageCreate"]["userErrors"], json!([]), "{r}");
    }
    let q = "query($a: String, $k: PageKind, $p: Boolean) { pages(first: 2, after: $a, kind: $k, published: $p) {
        totalCount edges { node { slug kind published } } pageInfo { hasNextPage endCursor } } }";
    let walk = async |vars: serde_json::Value| {
        let mut vars = vars;
        let mut slugs = Vec::new();
        loop {
            let r = app.admin(&bot, q, vars.clone()).await;
            let page = &data(&r)["pages"];
            for e in page["edges"].as_array().expect("edges") {
                slugs.push(e["node"]["slug"].as_str().expect("slug").to_owned());
            }
            if page["pageInfo"]["hasNextPage"] != true {
                return (slugs, page["totalCount"].clone());
            }
            vars["a"] = page["pageInfo"]["endCursor"].clone();
        }
    };
    let (slugs, total) = walk(json!({})).await;
    assert_eq!(
        slugs,
        ["notice-3", "returns", "notice-2", "notice-1", "about"],
        "last changed first"
    );
    assert_eq!(total, 5);
    let (slugs, total) = walk(json!({ "k": "NOTICE", "p": true })).await;
    assert_eq!(
        (slugs, total),
        (vec!["notice-3".to_owned(), "notice-1".to_owned()], json!(2))
    );
    let (slugs, _) = walk(json!({ "p": false })).await;
    assert_eq!(slugs, ["returns", "notice-2"]);
    let r = app
        .admin(&bot, "{ pages(after: \"nope\") { nodes { slug } } }", json!({}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_CURSOR");
}

#[tokio::test]
async fn layout_breaking_styles_and_unsafe_image_sources_are_dropped() {
    let app = TestApp::spawn().await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let body = r#"<p style="margin: 0 auto; font-size: 18px; width: 50%; color: #123456">kept</p>
<p style="margin: 0 -9999px">negative margin</p>
<p style="width: 100vw">viewport width</p>
<p style="height: 100dvh">dynamic viewport height</p>
<p style="line-height: 40vmax">largest side</p>
<p style="font-size: 200px">huge px</p>
<p style="font-size: 10em">huge em</p>
<p style="font-size: 300pt">huge pt</p>
<p style="font-size: calc(40px + 10vw)">computed</p>
<p style="position: fixed; z-index: 99999; top: 0">overlay</p>
<img src="https://cdn.jangteo.kr/ok.png" alt="https">
<img src="/media/local.png" alt="local">
<img src="http://cdn.jangteo.kr/mixed.png" alt="plain http">
<img src="//evil.example/track.png" alt="protocol-relative">
<img src="/\evil.example/track.png" alt="backslash">
<img src=" /	/evil.example/tab.png" alt="tab">
<a href="//evil.example/phish">off-site</a>
<a href="https://jangteo.kr/faq">faq</a>"#;
    let r = app
        .admin(
            &mgr,
            CREATE,
            json!({ "i": { "slug": "layout", "title": "레이아웃", "body": body, "published": true } }),
        )
        .await;
    let saved = data(&r)["pageCreate"]["page"]["body"]
        .as_str()
        .expect("body")
        .to_owned();
    for kept in [
        "font-size:18px",
        "margin:0 auto",
        "width:50%",
        "src=\"https://cdn.jangteo.kr/ok.png\"",
        "src=\"/media/local.png\"",
        "href=\"https://jangteo.kr/faq\"",
    ] {
        assert!(saved.contains(kept), "{kept} lost: {saved}");
    }
    for dropped in [
        "-9999", "vw", "dvh", "vmax", "200px", "10em", "300pt", "calc", "position", "z-index", "top:", "http://",
        "//evil", "\\evil", "tab.png",
    ] {
        assert!(!saved.contains(dropped), "{dropped} kept: {saved}");
    }
    // The text of every element stays; only the attributes go.
    for text in ["negative margin", "overlay", "plain http", "off-site"] {
        assert!(saved.contains(text), "{text} lost: {saved}");
    }
}

#[test]
fn sanitizer_refuses_deep_nesting_and_sanitizes_the_allowed_depth_on_a_small_stack() {
    // html5ever's scope checks make deep nesting quadratic (100,000 nested `<div>` took
    // minutes), so a body nesting deeper than MAX_HTML_NESTING is refused by a linear scan
    // before the parser sees it. Up to that depth html5ever and ammonia walk the tree with
    // explicit stacks: this runs on a 256 KiB thread (a recursive walk would overflow it).
    let max = commerce::cms::MAX_HTML_NESTING;
    let (refused, kept) = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let bomb = format!("{}deep{}", "<div>".repeat(100_000), "</div>".repeat(100_000));
            let refused = commerce::cms::sanitize(&bomb, "body").is_err();
            let deepest = format!("{}deep{}", "<div>".repeat(max), "</div>".repeat(max));
            (refused, commerce::cms::sanitize(&deepest, "body"))
        })
        .expect("spawn")
        .join()
        .expect("no overflow");
    assert!(refused, "100,000 nested elements must be refused");
    assert!(kept.expect("the allowed depth is kept").contains("deep"));
}
