//! Public catalog reads, cacheable at every layer: automatic persisted queries (Apollo's APQ
//! protocol) so a CDN can key a GET by its URL, `Cache-Control` and `ETag` for browsers and
//! CDNs, and this replica's memory of the responses.
//!
//! A read is public when it is a query whose root fields are all catalog fields (`shop`,
//! `products`, `product`, `categories`, `category`, `pages`, `page`), sent without a token,
//! and answered without errors. Everything else (a token, a cart, a customer, a mutation,
//! an error) is `private, no-store` and never kept.
//!
//! Kept responses are dropped on every replica when the catalog changes: the tables the
//! storefront shows notify `jangteo_catalog` at commit (migration `catalog_notify`), and
//! [`ResponseCache::listen`] drops everything kept so far. Changes arriving within
//! `cache.coalesce_ms` of the last drop are dropped together at the end of that window, so
//! a flash sale's checkouts cost one recomputation per window, not one per order, and a
//! price or stock is never shown longer than that window (plus the notice's trip) after it
//! changed. While the listening connection is down nothing kept is served. Checkouts never
//! read this: they read the database.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use commerce::settings::CacheSettings;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, postgres::PgListener};

/// The channel the catalog tables notify.
pub const CHANNEL: &str = "jangteo_catalog";

/// `Cache-Control` of everything that is not a public read.
pub const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-store");

/// The storefront root fields whose answers are the same for every anonymous caller.
pub const PUBLIC_ROOTS: &[&str] = &[
    "shop",
    "products",
    "product",
    "categories",
    "category",
    "pages",
    "page",
    "__typename",
];

/// A SHA-256 digest.
pub type Digest32 = [u8; 32];

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

/// `digest` as 64 lowercase hex digits, as APQ clients send it.
pub fn hex(digest: &Digest32) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `hash` as 64 lowercase hex digits, if it is that.
pub fn parse_hex(hash: &str) -> Option<Digest32> {
    if hash.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hash.as_bytes().chunks(2).enumerate() {
        let hex = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        };
        out[i] = hex(pair[0])? << 4 | hex(pair[1])?;
    }
    Some(out)
}

/// Whether the operation `name` of `doc` (the only one without a name) is a query of
/// `roots` only, fragments at the root included. Operations that reach deeper than a few
/// nested fragments at the root are not public (validation refuses cycles later).
pub fn is_public(doc: &ExecutableDocument, name: Option<&str>, roots: &[&str]) -> bool {
    if roots.is_empty() {
        return false;
    }
    let op = match name {
        Some(n) => doc
            .operations
            .iter()
            .find(|(op_name, _)| op_name.map(async_graphql::Name::as_str) == Some(n)),
        None => doc.operations.iter().next(),
    };
    let Some((_, op)) = op else {
        return false;
    };
    op.node.ty == OperationType::Query && only_roots(doc, &op.node.selection_set.node, roots, 0)
}

fn only_roots(doc: &ExecutableDocument, set: &SelectionSet, roots: &[&str], depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    set.items.iter().all(|item| match &item.node {
        Selection::Field(f) => roots.contains(&f.node.name.node.as_str()),
        Selection::InlineFragment(f) => only_roots(doc, &f.node.selection_set.node, roots, depth + 1),
        Selection::FragmentSpread(s) => doc
            .fragments
            .get(&s.node.fragment_name.node)
            .is_some_and(|f| only_roots(doc, &f.node.selection_set.node, roots, depth + 1)),
    })
}

/// A strong `ETag` of a body: 128 bits of its SHA-256.
pub fn etag(body: &[u8]) -> HeaderValue {
    let digest = sha256(body);
    let tag = format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
    );
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\""))
}

/// Whether `If-None-Match` in `headers` names `tag` (weak comparison, as GET allows).
pub fn not_modified(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let Some(tag) = tag.to_str().ok() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

/// A response kept: its body and tag, and the catalog generation it was computed in.
pub struct Cached {
    generation: u64,
    /// The response body.
    pub body: axum::body::Bytes,
    /// Its `ETag`.
    pub etag: HeaderValue,
}

#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<Digest32, Arc<Cached>> for ByBytes {
    fn weight(&self, _key: &Digest32, val: &Arc<Cached>) -> u64 {
        // The body, its tag and the map's own share.
        val.body.len() as u64 + 160
    }
}

#[derive(Clone)]
struct ByLen;

impl quick_cache::Weighter<Digest32, Arc<str>> for ByLen {
    fn weight(&self, _key: &Digest32, val: &Arc<str>) -> u64 {
        val.len() as u64 + 64
    }
}

/// Bytes of persisted query text kept at most: anyone may register queries, so they are
/// bounded by size as well as by count.
const PERSISTED_BYTES: u64 = 4 * 1024 * 1024;

/// Hits and misses of the in-process cache since start.
#[derive(Default)]
pub struct CacheCounts {
    /// Answered from memory.
    pub hits: AtomicU64,
    /// Public reads computed (and kept).
    pub misses: AtomicU64,
    /// Times everything kept was dropped for a catalog change.
    pub drops: AtomicU64,
}

/// Public responses kept by this replica, and the persisted queries it knows.
pub struct ResponseCache {
    responses: Option<quick_cache::sync::Cache<Digest32, Arc<Cached>, ByBytes>>,
    /// Persisted query text by its SHA-256.
    queries: quick_cache::sync::Cache<Digest32, Arc<str>, ByLen>,
    /// Bumped on every drop: an entry computed in an older generation is never served,
    /// even if it was stored after the drop.
    generation: AtomicU64,
    /// The listener is connected: kept entries may be served.
    live: AtomicBool,
    /// `Cache-Control` of a public read.
    public: HeaderValue,
    /// Hits, misses, drops.
    pub counts: CacheCounts,
}

impl ResponseCache {
    /// A cache as `settings` say; it serves nothing until [`ResponseCache::listen`] runs.
    pub fn new(settings: &CacheSettings) -> ResponseCache {
        let responses = (settings.max_entries > 0 && settings.max_bytes > 0).then(|| {
            quick_cache::sync::Cache::with_weighter(
                usize::try_from(settings.max_entries).unwrap_or(usize::MAX),
                settings.max_bytes,
                ByBytes,
            )
        });
        let public = format!(
            "public, max-age={}, s-maxage={}, stale-while-revalidate={}",
            settings.max_age, settings.s_maxage, settings.stale_while_revalidate
        );
        ResponseCache {
            responses,
            queries: quick_cache::sync::Cache::with_weighter(
                usize::try_from(settings.persisted_queries.max(1)).unwrap_or(1),
                PERSISTED_BYTES,
                ByLen,
            ),
            generation: AtomicU64::new(0),
            live: AtomicBool::new(false),
            public: HeaderValue::from_str(&public).unwrap_or(PRIVATE),
            counts: CacheCounts::default(),
        }
    }

    /// `Cache-Control` of a public read.
    pub fn public_header(&self) -> HeaderValue {
        self.public.clone()
    }

    /// The persisted query with this hash, if this replica knows it.
    pub fn persisted(&self, hash: &Digest32) -> Option<Arc<str>> {
        self.queries.get(hash)
    }

    /// Keeps `query` under its hash (the caller checked the hash and the document).
    pub fn persist(&self, hash: Digest32, query: &str) {
        if self.queries.get(&hash).is_none() {
            self.queries.insert(hash, Arc::from(query));
        }
    }

    /// The generation now: take it before computing a response to keep.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The response kept under `key`, if it is of this generation and the listener is up.
    pub fn get(&self, key: &Digest32) -> Option<Arc<Cached>> {
        let responses = self.responses.as_ref()?;
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let hit = responses
            .get(key)
            .filter(|c| c.generation == self.generation.load(Ordering::Acquire));
        if hit.is_some() {
            self.counts.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Keeps `body` under `key`, computed in `generation`.
    pub fn put(&self, key: Digest32, generation: u64, body: axum::body::Bytes, etag: HeaderValue) {
        let Some(responses) = &self.responses else {
            return;
        };
        self.counts.misses.fetch_add(1, Ordering::Relaxed);
        if generation == self.generation.load(Ordering::Acquire) {
            responses.insert(key, Arc::new(Cached { generation, body, etag }));
        }
    }

    /// Drops everything kept.
    pub fn drop_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.counts.drops.fetch_add(1, Ordering::Relaxed);
        if let Some(responses) = &self.responses {
            responses.clear();
        }
    }

    /// Bytes kept now.
    pub fn weight(&self) -> u64 {
        self.responses.as_ref().map_or(0, quick_cache::sync::Cache::weight)
    }

    /// Listens for catalog changes for as long as the process runs: drops what is kept on
    /// each (coalesced over `coalesce`), serves nothing while disconnected, and starts over
    /// empty after reconnecting (notices sent meanwhile are lost).
    pub async fn listen(self: Arc<Self>, pool: PgPool, coalesce: Duration) {
        if self.responses.is_none() {
            return;
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            let lost = self.listen_once(&pool, coalesce).await;
            self.live.store(false, Ordering::Release);
            self.drop_all();
            // The service is stopping.
            if pool.is_closed() {
                return;
            }
            match lost {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, "catalog cache: listening failed; serving uncached meanwhile");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// One connection's life: returns when it is lost.
    async fn listen_once(&self, pool: &PgPool, coalesce: Duration) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        // Whatever changed before we listened is in nothing kept from now on.
        self.drop_all();
        self.live.store(true, Ordering::Release);
        let mut last_drop = tokio::time::Instant::now();
        let mut pending = false;
        loop {
            let due = last_drop + coalesce;
            tokio::select! {
                n = listener.try_recv() => match n? {
                    Some(_) => {
                        if tokio::time::Instant::now() >= due {
                            self.drop_all();
                            last_drop = tokio::time::Instant::now();
                            pending = false;
                        } else {
                            pending = true;
                        }
                    }
                    // The connection was lost: notices may have been missed.
                    None => return Ok(()),
                },
                () = tokio::time::sleep_until(due), if pending => {
                    self.drop_all();
                    last_drop = tokio::time::Instant::now();
                    pending = false;
                }
            }
        }
    }
}

/// The key of a public read: the endpoint, the document's hash, the operation, the
/// variables as sent and the language of messages.
pub fn key(
    path: &str,
    query_hash: &Digest32,
    operation: Option<&str>,
    variables: &str,
    lang: commerce::Lang,
) -> Digest32 {
    let mut h = Sha256::new();
    for part in [
        path.as_bytes(),
        query_hash,
        operation.unwrap_or("").as_bytes(),
        variables.as_bytes(),
        match lang {
            commerce::Lang::Ko => b"ko".as_slice(),
            commerce::Lang::En => b"en".as_slice(),
        },
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).expect("parses")
    }

    #[test]
    fn only_catalog_queries_are_public() {
        let roots = PUBLIC_ROOTS;
        assert!(is_public(
            &doc("{ products(first: 2) { edges { cursor } } shop { name } }"),
            None,
            roots
        ));
        assert!(is_public(
            &doc("query A { ...F } fragment F on Query { product(slug: \"a\") { id } }"),
            Some("A"),
            roots
        ));
        assert!(!is_public(&doc("{ products { totalCount } me { id } }"), None, roots));
        assert!(!is_public(&doc("{ cart(token: \"x\") { id } }"), None, roots));
        assert!(!is_public(
            &doc("mutation { cartCreate(input: {}) { cart { token } } }"),
            None,
            roots
        ));
        assert!(!is_public(
            &doc("query A { ...F } fragment F on Query { me { id } }"),
            Some("A"),
            roots
        ));
        assert!(!is_public(&doc("query A { shop { name } }"), Some("B"), roots));
        assert!(!is_public(&doc("{ shop { name } }"), None, &[]));
    }

    #[test]
    fn hashes_and_tags() {
        let h = sha256(b"{ shop { name } }");
        let hex = hex(&h);
        assert_eq!(parse_hex(&hex), Some(h));
        assert_eq!(parse_hex(&hex.to_uppercase()), Some(h));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex(&"g".repeat(64)), None);
        let tag = etag(b"body");
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!not_modified(&headers, &tag));
        let both = format!("\"other\", W/{}", tag.to_str().unwrap_or_default());
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&both).expect("header"));
        assert!(not_modified(&headers, &tag));
    }

    #[test]
    fn an_entry_of_an_older_generation_is_never_served() {
        let settings = CacheSettings {
            max_age: 1,
            s_maxage: 1,
            stale_while_revalidate: 1,
            max_entries: 10,
            max_bytes: 1 << 20,
            coalesce_ms: 0,
            persisted_queries: 10,
        };
        let cache = ResponseCache::new(&settings);
        cache.live.store(true, Ordering::Release);
        let k = key("/graphql", &sha256(b"q"), None, "{}", commerce::Lang::default());
        let before = cache.generation();
        cache.drop_all();
        cache.put(k, before, "stale".into(), etag(b"stale"));
        assert!(cache.get(&k).is_none(), "computed before the drop");
        cache.put(k, cache.generation(), "fresh".into(), etag(b"fresh"));
        assert_eq!(cache.get(&k).map(|c| c.body.clone()), Some("fresh".into()));
        cache.live.store(false, Ordering::Release);
        assert!(cache.get(&k).is_none(), "not while disconnected");
    }
}
