//! Product media end to end: uploads over HTTP (GraphQL multipart request spec), thumbnails,
//! the bytes `/media/…` serves, imports by URL, refusals, and the order the storefront
//! shows; on local disk and on a real S3-compatible server (s3s-fs on loopback).

use std::io::Cursor;

use commerce::staff::Role;
use image::{DynamicImage, GenericImageView, ImageFormat, ImageReader, Rgb, RgbImage};
use jangteo_tests::{Options, TestApp, data, product_with_stock, s3::S3Server, staff_session};
use serde_json::{Value, json};

const UPLOAD: &str = "mutation($f: Upload!, $alt: String) { mediaUpload(file: $f, alt: $alt) {
    media { id url small: url(width: 100) webp: url(width: 100, format: WEBP) w320: url(width: 320) alt width height contentType }
    userErrors { code field } } }";

struct Shop {
    app: TestApp,
    token: String,
    dir: tempfile::TempDir,
    _s3: Option<S3Server>,
}

async fn shop(on_s3: bool, allow_private: bool) -> Shop {
    let dir = tempfile::tempdir().expect("temp dir");
    let s3 = if on_s3 {
        Some(S3Server::start(dir.path(), "media").await)
    } else {
        None
    };
    let media_dir = dir.path().join("local");
    let endpoint = s3.as_ref().map(|s| s.endpoint.clone());
    let app = TestApp::spawn_with(Options {
        configure: Some(Box::new(move |s: &mut commerce::Settings| {
            s.media.dir = media_dir;
            s.media.max_bytes = 200_000;
            s.media.import_allow_private = allow_private;
            if let Some(endpoint) = endpoint {
                s.media.s3.bucket = Some("media".into());
                s.media.s3.endpoint = Some(endpoint);
                s.media.s3.region = Some("us-east-1".into());
                s.media.s3.access_key_id = Some(jangteo_tests::s3::ACCESS_KEY.into());
                s.media.s3.secret_access_key = Some(jangteo_tests::s3::SECRET_KEY.into());
            }
        })),
        ..Options::default()
    })
    .await;
    let token = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    Shop {
        app,
        token,
        dir,
        _s3: s3,
    }
}

/// Sends one file as `variables.f` in a multipart request.
async fn upload(shop: &Shop, query: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let boundary = "jangteo-boundary-7d1f";
    let ops = json!({ "query": query, "variables": { "f": null, "alt": "빨강과 파랑" } });
    let mut body = Vec::new();
    for (part, value) in [
        ("operations", ops.to_string()),
        ("map", json!({ "0": ["variables.f"] }).to_string()),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = shop
        .app
        .request(reqwest::Method::POST, "/admin/graphql")
        .bearer_auth(&shop.token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("send");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

/// A 400×200 JPEG, red on the left and blue on the right, that says (EXIF) it must be
/// turned 90° clockwise to stand upright, with a GPS block.
fn jpeg_with_exif() -> Vec<u8> {
    let img = RgbImage::from_fn(400, 200, |x, _| {
        if x < 200 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .expect("jpeg");
    // TIFF, little-endian: IFD0 {Orientation = 6, GPS IFD pointer}, GPS IFD {LatitudeRef "N"}.
    let mut tiff: Vec<u8> = vec![0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 2, 0];
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = u16::try_from(app1.len() + 2).expect("short");
    let mut out = vec![0xff, 0xd8, 0xff, 0xe1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_pixel(w, h, Rgb([30, 160, 60]));
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("png");
    out
}

/// GETs a media path; status, headers and bytes.
async fn fetch(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = app.request(reqwest::Method::GET, path).send().await.expect("get");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.expect("bytes").to_vec())
}

fn decode(bytes: &[u8]) -> (ImageFormat, DynamicImage) {
    let r = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .expect("format");
    let f = r.format().expect("known format");
    (f, r.decode().expect("decodes"))
}

async fn media_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM media")
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

async fn upload_turns_upright_strips_exif_and_makes_thumbnails(on_s3: bool) {
    let shop = shop(on_s3, false).await;
    let (status, r) = upload(&shop, UPLOAD, "holiday.png", &jpeg_with_exif()).await;
    assert_eq!(status, 200, "{r}");
    let m = &data(&r)["mediaUpload"]["media"];
    assert_eq!(data(&r)["mediaUpload"]["userErrors"], json!([]));
    // The name and the client said PNG; the bytes say JPEG. Upright: 200 wide, 400 high.
    assert_eq!(
        (m["contentType"].as_str(), m["width"].as_i64(), m["height"].as_i64()),
        (Some("image/jpeg"), Some(200), Some(400))
    );
    assert_eq!(m["alt"], "빨강과 파랑");
    let original = m["url"].as_str().expect("url");
    assert!(
        original.starts_with("/media/") && original.ends_with("/original.jpg"),
        "{original}"
    );
    // 320 is wider than the picture: the original, never an upscale.
    assert_eq!(m["w320"], m["url"]);
    // A photo's thumbnails are JPEG unless WebP is asked for.
    assert!(m["small"].as_str().is_some_and(|u| u.ends_with("/w160.jpg")), "{m}");
    assert!(m["webp"].as_str().is_some_and(|u| u.ends_with("/w160.webp")), "{m}");

    let (status, headers, bytes) = fetch(&shop.app, original).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .is_ok_and(|c| c.contains("default-src 'none'"))
    );
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF must be gone");
    let (format, img) = decode(&bytes);
    assert_eq!((format, img.width(), img.height()), (ImageFormat::Jpeg, 200, 400));
    // Turned clockwise: the red left half is now on top.
    let (top, bottom) = (img.get_pixel(100, 50).0, img.get_pixel(100, 350).0);
    assert!(
        top[0] > 150 && top[2] < 100 && bottom[2] > 150 && bottom[0] < 100,
        "{top:?} {bottom:?}"
    );

    for (path, want) in [(&m["small"], ImageFormat::Jpeg), (&m["webp"], ImageFormat::WebP)] {
        let (status, headers, bytes) = fetch(&shop.app, path.as_str().expect("path")).await;
        assert_eq!(status, 200);
        let (format, img) = decode(&bytes);
        assert_eq!((format, img.width(), img.height()), (want, 160, 320), "{path}");
        assert!(headers["content-type"].to_str().is_ok_and(|c| c.starts_with("image/")));
    }
    let folder = original
        .trim_start_matches("/media/")
        .split('/')
        .next()
        .expect("folder")
        .to_owned();
    for bad in [
        format!("/media/{folder}/w100.jpg"),
        format!("/media/{folder}/original.jpg%2F..%2F..%2Fx"),
        "/media/..%2F..%2Fetc%2Fpasswd".to_owned(),
        format!("/media/{folder}/w320.webp"),
    ] {
        assert_eq!(fetch(&shop.app, &bad).await.0, 404, "{bad}");
    }

    // Refusals store nothing.
    let rows = media_rows(&shop.app).await;
    let (_, r) = upload(&shop, UPLOAD, "notes.png", b"just some text, not a picture").await;
    assert_eq!(
        data(&r)["mediaUpload"]["userErrors"],
        json!([{ "code": "UNSUPPORTED_MEDIA", "field": ["file"] }])
    );
    let mut big = png(10, 10);
    big.resize(200_001, 0);
    let (_, r) = upload(&shop, UPLOAD, "big.png", &big).await;
    assert_eq!(data(&r)["mediaUpload"]["userErrors"][0]["code"], "TOO_LARGE");
    big.resize(300_000, 0);
    let (status, r) = upload(&shop, UPLOAD, "bigger.png", &big).await;
    assert_eq!(
        (status, &r["errors"][0]["extensions"]["code"]),
        (413, &json!("TOO_LARGE"))
    );
    assert_eq!(media_rows(&shop.app).await, rows);
    let files = walk(shop.dir.path());
    assert_eq!(files, 3, "the original, w160.webp and w160.jpg, nothing else");
}

/// Files under `root`, recursively (s3s-fs keeps a metadata file or not: counted by
/// picture extensions only).
fn walk(root: &std::path::Path) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jpg" || x == "webp" || x == "png") {
                n += 1;
            }
        }
    }
    n
}

#[tokio::test]
async fn an_upload_on_local_disk_is_upright_stripped_and_thumbnailed() {
    upload_turns_upright_strips_exif_and_makes_thumbnails(false).await;
}

#[tokio::test]
async fn an_upload_on_s3_is_upright_stripped_and_thumbnailed() {
    upload_turns_upright_strips_exif_and_makes_thumbnails(true).await;
}

/// A loopback server with one picture.
async fn picture_server() -> String {
    let bytes = png(500, 300);
    let app = axum::Router::new().route(
        "/pic.png",
        axum::routing::get(move || {
            let b = bytes.clone();
            async move { b }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/pic.png")
}

const IMPORT: &str = "mutation($u: String!) { mediaImport(url: $u, alt: \"초록\") { media { id url width } userErrors { code field } } }";

async fn imported_media_shows_in_the_order_set(on_s3: bool) {
    let shop = shop(on_s3, true).await;
    let url = picture_server().await;
    let r = shop.app.admin(&shop.token, IMPORT, json!({ "u": url })).await;
    let green = data(&r)["mediaImport"]["media"].clone();
    assert_eq!(green["width"], 500, "{r}");
    let (_, r) = upload(&shop, UPLOAD, "a.jpg", &jpeg_with_exif()).await;
    let tall = data(&r)["mediaUpload"]["media"].clone();
    let variants = product_with_stock(&shop.app.pool, "pictured", &[(1000, 5)], false).await;
    let pid: String = sqlx::query_scalar("SELECT 'prd_' || replace(id::text, '-', '') FROM products")
        .fetch_one(&shop.app.pool)
        .await
        .expect("product");
    let set = "mutation($p: ID!, $m: [ID!]!) { productMediaSet(productId: $p, mediaIds: $m) { userErrors { code } } }";
    let r = shop
        .app
        .admin(&shop.token, set, json!({ "p": pid, "m": [green["id"], tall["id"]] }))
        .await;
    assert_eq!(data(&r)["productMediaSet"]["userErrors"], json!([]));
    let q = "{ product(slug: \"pictured\") { images { url(width: 320) } variants { image { url } } } }";
    let r = shop.app.gql(q, json!({})).await;
    let images = &data(&r)["product"]["images"];
    let first = images[0]["url"].as_str().expect("url");
    assert!(
        first.starts_with("/media/") && first.ends_with("/w320.webp"),
        "{images}"
    );
    assert_eq!(images[1]["url"], tall["url"], "200 wide: the original");
    assert_eq!(data(&r)["product"]["variants"][0]["image"]["url"], green["url"]);
    let (status, _, bytes) = fetch(&shop.app, first).await;
    assert_eq!(status, 200);
    assert_eq!(decode(&bytes).1.dimensions(), (320, 192));

    // The variant gets its own; the one in use can't be deleted.
    let vset = "mutation($v: ID!, $m: ID) { variantMediaSet(variantId: $v, mediaId: $m) { userErrors { code } } }";
    let r = shop
        .app
        .admin(&shop.token, vset, json!({ "v": variants[0], "m": tall["id"] }))
        .await;
    assert_eq!(data(&r)["variantMediaSet"]["userErrors"], json!([]));
    let r = shop.app.gql(q, json!({})).await;
    assert_eq!(data(&r)["product"]["variants"][0]["image"]["url"], tall["url"]);
    let del = "mutation($id: ID!) { mediaDelete(id: $id) { deletedId userErrors { code } } }";
    let r = shop.app.admin(&shop.token, del, json!({ "id": tall["id"] })).await;
    assert_eq!(data(&r)["mediaDelete"]["userErrors"][0]["code"], "MEDIA_IN_USE");
    // Off the product, still the variant's own (looked up on its own), still in use.
    let r = shop
        .app
        .admin(&shop.token, set, json!({ "p": pid, "m": [green["id"]] }))
        .await;
    assert_eq!(data(&r)["productMediaSet"]["userErrors"], json!([]));
    let r = shop.app.gql(q, json!({})).await;
    assert_eq!(data(&r)["product"]["variants"][0]["image"]["url"], tall["url"]);
    let r = shop.app.admin(&shop.token, del, json!({ "id": tall["id"] })).await;
    assert_eq!(data(&r)["mediaDelete"]["userErrors"][0]["code"], "MEDIA_IN_USE");
    let r = shop
        .app
        .admin(&shop.token, vset, json!({ "v": variants[0], "m": null }))
        .await;
    assert_eq!(data(&r)["variantMediaSet"]["userErrors"], json!([]));
    let r = shop.app.admin(&shop.token, del, json!({ "id": tall["id"] })).await;
    assert_eq!(data(&r)["mediaDelete"]["deletedId"], tall["id"]);
    assert_eq!(fetch(&shop.app, tall["url"].as_str().expect("url")).await.0, 404);
    let r = shop
        .app
        .admin(&shop.token, "{ media(first: 10) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(data(&r)["media"]["edges"], json!([{ "node": { "id": green["id"] } }]));
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE '%media%' ORDER BY id")
            .fetch_all(&shop.app.pool)
            .await
            .expect("audit");
    assert!(
        actions.starts_with(&[
            "media.import".to_owned(),
            "media.upload".to_owned(),
            "product.media".to_owned()
        ]),
        "{actions:?}"
    );
    assert!(actions.contains(&"media.delete".to_owned()) && actions.contains(&"variant.media".to_owned()));
}

#[tokio::test]
async fn imported_and_uploaded_media_show_in_the_order_set_on_local_disk() {
    imported_media_shows_in_the_order_set(false).await;
}

#[tokio::test]
async fn imported_and_uploaded_media_show_in_the_order_set_on_s3() {
    imported_media_shows_in_the_order_set(true).await;
}

#[tokio::test]
async fn imports_from_inside_the_network_and_other_roles_are_refused() {
    let shop = shop(false, false).await;
    let url = picture_server().await;
    for u in [
        url.as_str(),
        "http://localhost:9/x.png",
        "file:///etc/passwd",
        "http://[::1]/x.png",
        "http://169.254.169.254/latest",
    ] {
        let r = shop.app.admin(&shop.token, IMPORT, json!({ "u": u })).await;
        assert_eq!(
            data(&r)["mediaImport"]["userErrors"],
            json!([{ "code": "INVALID_INPUT", "field": ["url"] }]),
            "{u}"
        );
    }
    let cs = staff_session(&shop.app.pool, "cs@jangteo.kr", Role::Cs).await;
    let r = shop.app.admin(&cs, IMPORT, json!({ "u": url })).await;
    assert_eq!(data(&r)["mediaImport"]["userErrors"][0]["code"], "FORBIDDEN");
    // A multipart request without a bearer token is not read (no CSRF through forms).
    let resp = shop
        .app
        .request(reqwest::Method::POST, "/admin/graphql")
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--\r\n")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(media_rows(&shop.app).await, 0);
}

/// A PNG whose header claims `side` × `side` pixels, with the pixel data of a 1 × 1 one.
fn png_claiming(side: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffff_u32;
        for b in bytes {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut p = png(1, 1);
    // Signature (8), IHDR length (4), "IHDR" (4), then width and height; the CRC after the 13 data bytes.
    p[16..20].copy_from_slice(&side.to_be_bytes());
    p[20..24].copy_from_slice(&side.to_be_bytes());
    let crc = crc32(&p[12..29]);
    p[29..33].copy_from_slice(&crc.to_be_bytes());
    p
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_and_product_urls_keep_their_media() {
    let shop = shop(false, false).await;
    let (_, r) = upload(&shop, UPLOAD, "bomb.png", &png_claiming(60_000)).await;
    assert_eq!(
        data(&r)["mediaUpload"]["userErrors"],
        json!([{ "code": "TOO_LARGE", "field": ["file"] }])
    );
    assert_eq!(media_rows(&shop.app).await, 0);

    // productUpdate's `images: [{url, alt}]` with the URLs `Product.images` gave keeps the
    // stored media (and their thumbnails); other URLs are outside pictures.
    let (_, r) = upload(&shop, UPLOAD, "p.png", &png(500, 300)).await;
    let stored = data(&r)["mediaUpload"]["media"].clone();
    let create = "mutation($i: ProductInput!) { productCreate(input: $i) { id userErrors { code } } }";
    let input = json!({ "slug": "kept", "name": "그대로", "description": "", "published": true,
        "images": [{ "url": "https://img.example/outside.jpg", "alt": "밖" }] });
    let r = shop.app.admin(&shop.token, create, json!({ "i": input })).await;
    let pid = data(&r)["productCreate"]["id"].clone();
    let set = "mutation($p: ID!, $m: [ID!]!) { productMediaSet(productId: $p, mediaIds: $m) { product { images { id url } } } }";
    let r = shop
        .app
        .admin(&shop.token, set, json!({ "p": pid, "m": [stored["id"]] }))
        .await;
    let url = data(&r)["productMediaSet"]["product"]["images"][0]["url"].clone();
    let update = "mutation($id: ID!, $i: ProductInput!) { productUpdate(id: $id, input: $i) {
        product { images { id url(width: 160) alt } } userErrors { code } } }";
    let input = json!({ "slug": "kept", "name": "그대로", "description": "", "published": true,
        "images": [{ "url": "https://img.example/new.jpg", "alt": "새" }, { "url": url, "alt": "" }] });
    let r = shop
        .app
        .admin(&shop.token, update, json!({ "id": pid, "i": input }))
        .await;
    let images = &data(&r)["productUpdate"]["product"]["images"];
    assert_eq!(images[0]["url"], "https://img.example/new.jpg", "{images}");
    assert_eq!(images[1]["id"], stored["id"]);
    assert!(
        images[1]["url"].as_str().is_some_and(|u| u.ends_with("/w160.webp")),
        "{images}"
    );
    let outside: i64 = sqlx::query_scalar("SELECT count(*) FROM media WHERE storage = 'EXTERNAL'")
        .fetch_one(&shop.app.pool)
        .await
        .expect("count");
    assert_eq!(outside, 1, "the replaced outside picture is gone");
}

/// `serve --demo` draws stored pictures in place of the demo products' outside placeholders,
/// and leaves alone a product with no pictures at all (a bulk catalog's, or one staff made):
/// a thousand-product catalog used to get a thousand drawn pictures before the service
/// listened.
#[tokio::test]
async fn demo_pictures_replace_placeholders_only() {
    let db = jangteo_tests::TestDb::create().await;
    let pool = db.pool(2).await;
    commerce::demo::seed_demo(&pool).await.expect("demo catalog");
    product_with_stock(&pool, "staff-made", &[(10_000, 5)], false).await;
    let placeholders: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT pm.product_id) FROM product_media pm JOIN media m ON m.id = pm.media_id \
          WHERE m.storage = 'EXTERNAL'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert!(placeholders > 0);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = commerce::Settings::defaults().media;
    settings.dir = dir.path().to_path_buf();
    let svc = commerce::media::MediaService::new(&settings).expect("media");
    let changed = commerce::media::demo::seed(&pool, &svc).await.expect("seed");
    assert_eq!(i64::try_from(changed).ok(), Some(placeholders));
    let (outside, stored, staff_made): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE m.storage = 'EXTERNAL'), count(*) FILTER (WHERE m.storage = 'LOCAL'),
                (SELECT count(*) FROM product_media pm JOIN products p ON p.id = pm.product_id WHERE p.slug = 'staff-made')
           FROM product_media pm JOIN media m ON m.id = pm.media_id",
    )
    .fetch_one(&pool)
    .await
    .expect("media");
    assert_eq!((outside, staff_made), (0, 0));
    assert!(stored >= placeholders);
    // Once done, nothing more to do.
    assert_eq!(commerce::media::demo::seed(&pool, &svc).await.expect("again"), 0);
}
