//! Product media: pictures staff upload (`mediaUpload`) or import by URL (`mediaImport`),
//! stored with their thumbnails on local disk or S3, or outside URLs (the images of
//! before, and `images: [{url, alt}]` on productCreate/productUpdate). Owns the `media` and
//! `product_media` tables and `variants.media_id`.
//!
//! Keys are `{hex id}/original.{jpg|png|webp}` with thumbnails beside the original
//! (`w320.webp`, `w320.jpg`): a key never changes content, so responses are immutable.

pub mod demo;
pub mod fetch;
pub mod pipeline;
pub mod store;

use std::{path::PathBuf, sync::Arc};

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool, types::Json};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::{
    Error,
    ids::{MediaId, ProductId, StaffId, VariantId},
    pagination::Page,
    staff::{Permission, Principal, audit},
};
pub use pipeline::WIDTHS;

/// `[media]` settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MediaSettings {
    /// The folder of the local store (`./var/media`), served at `/media/…`.
    pub dir: PathBuf,
    /// The largest upload or import, bytes.
    pub max_bytes: u64,
    /// The most pixels a side of a picture (a decompression bomb is refused before it is
    /// decoded).
    pub max_pixels: u32,
    /// A CDN or bucket URL that serves the keys (`https://cdn.example/media`); empty: the
    /// service's own `/media/…` paths.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Lets `mediaImport` fetch from loopback and private addresses (tests); never in
    /// production: staff URLs could reach inside the network.
    #[serde(default)]
    pub import_allow_private: bool,
    /// The S3 store, used when `bucket` is set.
    #[serde(default, skip_serializing)]
    pub s3: S3Settings,
}

/// `[media.s3]`: an S3 bucket, or any S3-compatible store with `endpoint`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct S3Settings {
    /// The bucket; unset: local disk.
    pub bucket: Option<String>,
    /// The region; unset: the AWS chain's, else `us-east-1`.
    pub region: Option<String>,
    /// An S3-compatible store's URL (path-style addressing).
    pub endpoint: Option<String>,
    /// With `secret_access_key`; unset: the usual AWS credential chain.
    pub access_key_id: Option<String>,
    /// The secret key (redacted in Debug).
    pub secret_access_key: Option<SecretString>,
}

impl MediaSettings {
    /// Where keys are served: `media.public_url`, or `/media`.
    pub fn base_url(&self) -> &str {
        self.public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            .filter(|u| !u.is_empty())
            .unwrap_or("/media")
    }
}

/// Where a picture lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Storage {
    /// `media.dir`.
    Local,
    /// `media.s3.bucket`.
    S3,
    /// An outside URL: no thumbnails.
    External,
}

impl Storage {
    fn as_str(self) -> &'static str {
        match self {
            Storage::Local => "LOCAL",
            Storage::S3 => "S3",
            Storage::External => "EXTERNAL",
        }
    }
}

/// The encodings of thumbnails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// WebP (lossless: image 0.25 has no lossy encoder).
    #[default]
    Webp,
    /// JPEG, quality 82.
    Jpeg,
}

/// A picture. The statements that load it write it as a JSON array of these fields in this
/// order (`json_build_array`, which serde reads field by field): PostgreSQL writes arrays
/// much faster than objects with keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Media {
    /// Its id.
    pub id: MediaId,
    /// Where it lives.
    pub storage: Storage,
    /// The original's key; `None` for outside URLs.
    pub key: Option<String>,
    /// An outside URL's address.
    pub url: Option<String>,
    /// The original's MIME type (sniffed); `None` for outside URLs.
    pub content_type: Option<String>,
    /// Pixels, after orientation.
    pub width: Option<i32>,
    /// Pixels, after orientation.
    pub height: Option<i32>,
    /// The stored original's size.
    pub bytes: Option<i64>,
    /// Alternative text.
    pub alt: String,
    /// Thumbnail widths that exist, ascending.
    pub widths: Vec<i32>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl Media {
    /// The key of the rendition for `width` (nearest allowed width at or above it, capped
    /// by the thumbnails that exist: a wider ask gets the original) in `format`; the
    /// original without a width. `None` for outside URLs.
    pub fn key_for(&self, width: Option<i32>, format: Format) -> Option<String> {
        let key = self.key.as_deref()?;
        let Some(asked) = width else {
            return Some(key.to_owned());
        };
        let allowed = WIDTHS
            .iter()
            .filter_map(|w| i32::try_from(*w).ok())
            .find(|w| *w >= asked)
            .unwrap_or(1440);
        if !self.widths.contains(&allowed) {
            return Some(key.to_owned());
        }
        let folder = key.split_once('/').map_or(key, |(f, _)| f);
        let ext = match format {
            Format::Webp => "webp",
            Format::Jpeg => "jpg",
        };
        Some(format!("{folder}/w{allowed}.{ext}"))
    }

    /// Where a client loads it: `{base}/{key}` (see [`MediaSettings::base_url`]), or the
    /// outside URL.
    pub fn url_for(&self, base: &str, width: Option<i32>, format: Format) -> String {
        match self.key_for(width, format) {
            Some(key) => format!("{base}/{key}"),
            None => self.url.clone().unwrap_or_default(),
        }
    }

    /// Every stored key: the original and its thumbnails.
    fn keys(&self) -> Vec<String> {
        let Some(key) = self.key.as_deref() else {
            return Vec::new();
        };
        let folder = key.split_once('/').map_or(key, |(f, _)| f);
        let mut keys = vec![key.to_owned()];
        for w in &self.widths {
            keys.push(format!("{folder}/w{w}.webp"));
            keys.push(format!("{folder}/w{w}.jpg"));
        }
        keys
    }
}

/// Whether `key` is one of ours: `{32 hex}/original.{jpg|png|webp}` or
/// `{32 hex}/w{allowed width}.{webp|jpg}`. Anything else (`..`, slashes, other names) is not.
pub fn is_key(key: &str) -> bool {
    let Some((folder, file)) = key.split_once('/') else {
        return false;
    };
    let hex = folder.len() == 32 && folder.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let Some((stem, ext)) = file.split_once('.') else {
        return false;
    };
    let name = match stem {
        "original" => matches!(ext, "jpg" | "png" | "webp"),
        _ => {
            stem.strip_prefix('w')
                .and_then(|w| w.parse::<u32>().ok())
                .is_some_and(|w| WIDTHS.contains(&w) && stem == format!("w{w}"))
                && matches!(ext, "webp" | "jpg")
        }
    };
    hex && name
}

/// The store with the pipeline's limits: what `mediaUpload`, `mediaImport` and
/// `mediaDelete` need, shared by the process.
pub struct MediaService {
    /// Where files go.
    pub store: store::Store,
    /// `[media]`.
    pub settings: MediaSettings,
    // Decoding takes up to tens of MB per picture: two at a time keeps the service small.
    permits: Semaphore,
    http: reqwest::Client,
}

impl MediaService {
    /// The service for `settings`. Errors: `INTERNAL` (the import client).
    pub fn new(settings: &MediaSettings) -> Result<Arc<MediaService>, Error> {
        Ok(Arc::new(MediaService {
            store: store::Store::new(settings),
            settings: settings.clone(),
            permits: Semaphore::new(2),
            http: fetch::client(settings.import_allow_private)?,
        }))
    }

    /// Runs the pipeline on `bytes` and writes the files; returns the new (unsaved) media.
    async fn make(&self, bytes: Vec<u8>, alt: &str) -> Result<Media, Error> {
        if bytes.len() as u64 > self.settings.max_bytes {
            return Err(Error::TooLarge {
                what: "bytes",
                limit: self.settings.max_bytes,
            });
        }
        let max_side = self.settings.max_pixels;
        let processed = {
            let _permit = self.permits.acquire().await.map_err(|e| Error::Fault {
                what: "media.permits",
                reason: e.to_string(),
            })?;
            tokio::task::spawn_blocking(move || pipeline::process(&bytes, max_side))
                .await
                .map_err(|e| Error::Fault {
                    what: "media.pipeline",
                    reason: e.to_string(),
                })??
        };
        let id = MediaId::generate();
        let folder = id.0.simple().to_string();
        let original_len = processed.files.first().map_or(0, |f| f.bytes.len());
        let media = Media {
            id,
            storage: self.store.storage(),
            key: Some(format!("{folder}/original.{}", processed.kind.ext())),
            url: None,
            content_type: Some(processed.kind.content_type().to_owned()),
            width: i32::try_from(processed.width).ok(),
            height: i32::try_from(processed.height).ok(),
            bytes: i64::try_from(original_len).ok(),
            alt: alt.trim().to_owned(),
            widths: processed.widths.iter().filter_map(|w| i32::try_from(*w).ok()).collect(),
            created_at: Utc::now(),
        };
        // Thumbnails first, the original last: a file list that stops half-way leaves
        // no row, and `mediaDelete` has nothing to miss.
        for f in processed.files.into_iter().rev() {
            let key = format!("{folder}/{}", f.name);
            if let Err(e) = self.store.put(&key, f.bytes, f.content_type).await {
                let _ = self.store.delete(&media.keys()).await;
                return Err(e);
            }
        }
        Ok(media)
    }
}

fn check_alt(alt: Option<&str>) -> Result<&str, Error> {
    let alt = alt.unwrap_or("").trim();
    if alt.chars().count() > 500 {
        return Err(Error::Invalid {
            field: "alt",
            reason: "at most 500 characters".into(),
        });
    }
    Ok(alt)
}

async fn insert(conn: &mut PgConnection, m: &Media, by: Option<StaffId>) -> Result<(), Error> {
    sqlx::query!(
        "INSERT INTO media (id, storage, key, url, content_type, width, height, bytes, alt, widths, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        m.id as MediaId,
        m.storage.as_str(),
        m.key,
        m.url,
        m.content_type,
        m.width,
        m.height,
        m.bytes,
        m.alt,
        &m.widths,
        by.map(|s| s.0),
        m.created_at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores an uploaded picture and its thumbnails (`mediaUpload`).
/// Errors: `FORBIDDEN`, `UNSUPPORTED_MEDIA`, `TOO_LARGE`, `INVALID_INPUT` (`alt`).
pub async fn upload(
    pool: &PgPool,
    svc: &MediaService,
    by: Principal,
    bytes: Vec<u8>,
    alt: Option<&str>,
    ip: Option<&str>,
) -> Result<Media, Error> {
    by.require(Permission::WriteCatalog, "upload media")?;
    let alt = check_alt(alt)?;
    let media = svc.make(bytes, alt).await?;
    save(pool, svc, by, media, "media.upload", json!({}), ip).await
}

/// Fetches a picture from `url` (http/https, 10 s, `media.max_bytes`, no internal
/// addresses unless `media.import_allow_private`) and stores it like an upload
/// (`mediaImport`). Errors: `FORBIDDEN`, `INVALID_INPUT` (`url`, `alt`),
/// `UNSUPPORTED_MEDIA`, `TOO_LARGE`.
pub async fn import(
    pool: &PgPool,
    svc: &MediaService,
    by: Principal,
    url: &str,
    alt: Option<&str>,
    ip: Option<&str>,
) -> Result<Media, Error> {
    by.require(Permission::WriteCatalog, "import media")?;
    let alt = check_alt(alt)?;
    let bytes = fetch::fetch(
        &svc.http,
        url,
        svc.settings.max_bytes,
        svc.settings.import_allow_private,
    )
    .await?;
    let media = svc.make(bytes, alt).await?;
    // The host only: a URL's path and query may carry tokens.
    let host = reqwest::Url::parse(url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    save(pool, svc, by, media, "media.import", json!({ "host": host }), ip).await
}

async fn save(
    pool: &PgPool,
    svc: &MediaService,
    by: Principal,
    media: Media,
    action: &str,
    summary: serde_json::Value,
    ip: Option<&str>,
) -> Result<Media, Error> {
    let r = async {
        let mut tx = pool.begin().await?;
        insert(&mut tx, &media, Some(by.id)).await?;
        audit(&mut tx, by, action, &media.id.to_string(), summary, ip).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = r {
        let _ = svc.store.delete(&media.keys()).await;
        return Err(e);
    }
    Ok(media)
}

/// Uploaded and imported media, newest first (`media(first, after)`).
/// Errors: `FORBIDDEN`, `INVALID_CURSOR`.
pub async fn list(pool: &PgPool, by: Principal, first: u32, after: Option<&str>) -> Result<Page<Media>, Error> {
    by.require(Permission::WriteCatalog, "list media")?;
    let after = after
        .map(|a| a.parse::<MediaId>().map_err(|_| Error::InvalidCursor))
        .transpose()?;
    let mut conn = pool.acquire().await?;
    // Ids are UUID v7: their order is their creation order.
    let rows = sqlx::query!(
        r#"SELECT json_build_array(m.id, m.storage, m.key, m.url,
                  m.content_type, m.width, m.height, m.bytes,
                  m.alt, m.widths, m.created_at) AS "m!: Json<Media>"
             FROM media m
            WHERE m.storage <> 'EXTERNAL' AND ($1::uuid IS NULL OR m.id < $1)
            ORDER BY m.id DESC LIMIT $2"#,
        after.map(|a| a.0) as Option<Uuid>,
        i64::from(first) + 1,
    )
    .fetch_all(&mut *conn)
    .await?;
    let has_next = rows.len() > first as usize;
    let items = rows
        .into_iter()
        .take(first as usize)
        .map(|r| {
            let m = r.m.0;
            let cursor = m.id.to_string();
            (m, cursor)
        })
        .collect();
    Ok(Page {
        items,
        has_next,
        total: None,
    })
}

/// Media by id, in one statement (order not guaranteed).
pub async fn by_ids(conn: &mut PgConnection, ids: &[MediaId]) -> Result<Vec<Media>, Error> {
    let ids: Vec<Uuid> = ids.iter().map(|m| m.0).collect();
    let rows = sqlx::query_scalar!(
        r#"SELECT json_build_array(m.id, m.storage, m.key, m.url,
                  m.content_type, m.width, m.height, m.bytes,
                  m.alt, m.widths, m.created_at) AS "m!: Json<Media>"
             FROM media m WHERE m.id = ANY($1)"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|m| m.0).collect())
}

/// Replaces a product's pictures with `media`, in that order (`productMediaSet`); outside
/// pictures nothing shows any more are deleted.
/// Errors: `FORBIDDEN`, `NOT_FOUND` (product, media), `INVALID_INPUT` (`mediaIds`: a repeat
/// or more than 50).
pub async fn set_product_media(
    pool: &PgPool,
    by: Principal,
    product: ProductId,
    media: &[MediaId],
    ip: Option<&str>,
) -> Result<(), Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    let ids: Vec<Uuid> = media.iter().map(|m| m.0).collect();
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    if distinct.len() != ids.len() || ids.len() > 50 {
        return Err(Error::Invalid {
            field: "mediaIds",
            reason: "at most 50, each once".into(),
        });
    }
    let mut tx = pool.begin().await?;
    let slug = sqlx::query_scalar!(
        "UPDATE products SET updated_at = now() WHERE id = $1 RETURNING slug",
        product as ProductId
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "product" })?;
    let old: Vec<Uuid> = sqlx::query_scalar!(
        "DELETE FROM product_media WHERE product_id = $1 RETURNING media_id",
        product as ProductId
    )
    .fetch_all(&mut *tx)
    .await?;
    let inserted = sqlx::query!(
        "INSERT INTO product_media (product_id, media_id, position)
         SELECT $1, m.id, a.pos::int - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS a(id, pos)
           JOIN media m ON m.id = a.id",
        product as ProductId,
        &ids
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != ids.len() as u64 {
        return Err(Error::NotFound { what: "media" });
    }
    drop_unused_outside(&mut tx, &old).await?;
    let summary = json!({ "media": media.iter().map(ToString::to_string).collect::<Vec<_>>() });
    audit(&mut tx, by, "product.media", &slug, summary, ip).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets (or with `None` clears) a variant's own picture (`variantMediaSet`); returns its
/// product. Errors: `FORBIDDEN`, `NOT_FOUND` (variant, media).
pub async fn set_variant_media(
    pool: &PgPool,
    by: Principal,
    variant: VariantId,
    media: Option<MediaId>,
    ip: Option<&str>,
) -> Result<ProductId, Error> {
    by.require(Permission::WriteCatalog, "edit the catalog")?;
    let mut tx = pool.begin().await?;
    if let Some(m) = media {
        let found = sqlx::query_scalar!("SELECT 1 AS one FROM media WHERE id = $1", m as MediaId)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(Error::NotFound { what: "media" });
        }
    }
    let r = sqlx::query!(
        r#"UPDATE variants SET media_id = $2 WHERE id = $1 RETURNING sku, product_id AS "product_id: ProductId""#,
        variant as VariantId,
        media as Option<MediaId>,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "variant" })?;
    audit(
        &mut tx,
        by,
        "variant.media",
        &r.sku,
        json!({ "media": media.map(|m| m.to_string()) }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(r.product_id)
}

/// Deletes a picture no product or variant shows, and its files (`mediaDelete`): a
/// picture in use is refused rather than silently taken off the shop's pages.
/// Errors: `FORBIDDEN`, `NOT_FOUND`, `MEDIA_IN_USE`.
pub async fn delete(
    pool: &PgPool,
    svc: &MediaService,
    by: Principal,
    id: MediaId,
    ip: Option<&str>,
) -> Result<(), Error> {
    by.require(Permission::WriteCatalog, "delete media")?;
    let mut tx = pool.begin().await?;
    let used = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM product_media WHERE media_id = $1) AS "products!",
                  (SELECT count(*) FROM variants WHERE media_id = $1) AS "variants!""#,
        id as MediaId
    )
    .fetch_one(&mut *tx)
    .await?;
    if used.products > 0 || used.variants > 0 {
        return Err(Error::MediaInUse {
            products: used.products,
            variants: used.variants,
        });
    }
    let gone = sqlx::query_scalar!(
        r#"DELETE FROM media m WHERE id = $1
           RETURNING json_build_array(m.id, m.storage, m.key, m.url,
                  m.content_type, m.width, m.height, m.bytes,
                  m.alt, m.widths, m.created_at) AS "m!: Json<Media>""#,
        id as MediaId
    )
    .fetch_optional(&mut *tx)
    .await
    // A product or variant attached it since the count: the foreign key says so.
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23503") => Error::MediaInUse {
            products: 1,
            variants: 0,
        },
        _ => Error::Db(e),
    })?
    .ok_or(Error::NotFound { what: "media" })?;
    audit(&mut tx, by, "media.delete", &id.to_string(), json!({}), ip).await?;
    tx.commit().await?;
    // After the commit: a file left behind by a failure here is only waste, a row without
    // its files would be a broken picture.
    if let Err(e) = svc.store.delete(&gone.0.keys()).await {
        tracing::warn!(media = %id, error = %e, "media files not deleted");
    }
    Ok(())
}

/// Replaces a product's pictures with outside URLs (`images: [{url, alt}]` of
/// productCreate/productUpdate). A URL that is one of our own (`{base}/{key}`, as
/// `Product.images` gave it) keeps its stored media; others become `EXTERNAL` media, and
/// outside media no product uses any more are deleted. Errors: none beyond faults.
pub(crate) async fn replace_with_urls(
    conn: &mut PgConnection,
    product: ProductId,
    images: &[(String, String)],
    by: Option<StaffId>,
) -> Result<(), Error> {
    let old: Vec<Uuid> = sqlx::query_scalar!(
        "DELETE FROM product_media WHERE product_id = $1 RETURNING media_id",
        product as ProductId
    )
    .fetch_all(&mut *conn)
    .await?;
    for (pos, (url, alt)) in images.iter().enumerate() {
        let own = own_key(url);
        let existing = match own {
            Some(folder) => {
                sqlx::query_scalar!(
                    r#"SELECT id AS "id: MediaId" FROM media WHERE key LIKE $1 || '/original.%'"#,
                    folder
                )
                .fetch_optional(&mut *conn)
                .await?
            }
            None => None,
        };
        let id = match existing {
            Some(id) => id,
            None => {
                let m = Media {
                    id: MediaId::generate(),
                    storage: Storage::External,
                    key: None,
                    url: Some(url.clone()),
                    content_type: None,
                    width: None,
                    height: None,
                    bytes: None,
                    alt: alt.clone(),
                    widths: Vec::new(),
                    created_at: Utc::now(),
                };
                insert(conn, &m, by).await?;
                m.id
            }
        };
        sqlx::query!(
            "INSERT INTO product_media (product_id, media_id, position) VALUES ($1, $2, $3)
             ON CONFLICT (product_id, media_id) DO NOTHING",
            product as ProductId,
            id as MediaId,
            i32::try_from(pos).unwrap_or(i32::MAX),
        )
        .execute(&mut *conn)
        .await?;
    }
    drop_unused_outside(conn, &old).await
}

/// Deletes the outside pictures among `ids` that nothing shows any more: they are not
/// listed in `media` and have no files, so nobody could find them again.
pub(crate) async fn drop_unused_outside(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), Error> {
    sqlx::query!(
        "DELETE FROM media m WHERE m.id = ANY($1) AND m.storage = 'EXTERNAL'
           AND NOT EXISTS (SELECT 1 FROM product_media pm WHERE pm.media_id = m.id)
           AND NOT EXISTS (SELECT 1 FROM variants v WHERE v.media_id = m.id)",
        ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The folder of one of our own media URLs (`…/media/{hex}/original.png`, `…/{hex}/w320.webp`).
fn own_key(url: &str) -> Option<&str> {
    let mut parts = url.rsplitn(3, '/');
    let file = parts.next()?;
    let folder = parts.next()?;
    let key_len = folder.len() + 1 + file.len();
    is_key(&url[url.len() - key_len..]).then_some(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(widths: &[i32]) -> Media {
        Media {
            id: MediaId::generate(),
            storage: Storage::Local,
            key: Some("0123456789abcdef0123456789abcdef/original.png".into()),
            url: None,
            content_type: Some("image/png".into()),
            width: Some(1000),
            height: Some(500),
            bytes: Some(1),
            alt: String::new(),
            widths: widths.to_vec(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn urls_pick_the_nearest_existing_width() {
        let m = media(&[160, 320, 480, 960]);
        let k = |w, f| m.key_for(w, f).unwrap_or_default();
        assert_eq!(k(None, Format::Webp), "0123456789abcdef0123456789abcdef/original.png");
        assert_eq!(k(Some(300), Format::Webp), "0123456789abcdef0123456789abcdef/w320.webp");
        assert_eq!(k(Some(320), Format::Jpeg), "0123456789abcdef0123456789abcdef/w320.jpg");
        assert_eq!(k(Some(1), Format::Webp), "0123456789abcdef0123456789abcdef/w160.webp");
        // 1440 does not exist (the original is 1000 wide): the original it is.
        assert_eq!(
            k(Some(1200), Format::Webp),
            "0123456789abcdef0123456789abcdef/original.png"
        );
        assert_eq!(
            m.url_for("https://cdn.example/m", Some(480), Format::Webp),
            "https://cdn.example/m/0123456789abcdef0123456789abcdef/w480.webp"
        );
    }

    #[test]
    fn only_our_key_grammar_is_a_key() {
        assert!(is_key("0123456789abcdef0123456789abcdef/original.jpg"));
        assert!(is_key("0123456789abcdef0123456789abcdef/w1440.jpg"));
        for bad in [
            "../etc/passwd",
            "0123456789abcdef0123456789abcdef/../original.jpg",
            "0123456789abcdef0123456789abcdef/w100.jpg",
            "0123456789abcdef0123456789abcdef/w0320.jpg",
            "0123456789ABCDEF0123456789abcdef/original.jpg",
            "0123456789abcdef0123456789abcdef/original.gif",
            "0123456789abcdef0123456789abcdef/w320.png",
            "0123456789abcdef0123456789abcdef/original.jpg/x",
            "",
        ] {
            assert!(!is_key(bad), "{bad}");
        }
        assert_eq!(
            own_key("/media/0123456789abcdef0123456789abcdef/w320.webp"),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(own_key("https://picsum.photos/seed/x/800/800"), None);
    }
}
