//! CMS pages and notices (owns `pages`). Bodies are sanitized on save: the formatting a
//! WYSIWYG editor makes stays, anything executable goes.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::{
    Error,
    ids::PageId,
    staff::{Permission, Principal, audit},
};

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = [
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "div",
        "span",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "strike",
        "del",
        "ins",
        "mark",
        "small",
        "sub",
        "sup",
        "blockquote",
        "pre",
        "code",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "img",
        "a",
        "figure",
        "figcaption",
    ]
    .into();
    let mut attributes: HashMap<&str, HashSet<&str>> = HashMap::new();
    attributes.insert("a", ["href", "title", "target"].into());
    attributes.insert("img", ["src", "alt", "title", "width", "height"].into());
    attributes.insert("td", ["colspan", "rowspan"].into());
    attributes.insert("th", ["colspan", "rowspan", "scope"].into());
    attributes.insert("col", ["span"].into());
    attributes.insert("ol", ["start"].into());
    let mut b = ammonia::Builder::empty();
    b.tags(tags)
        .tag_attributes(attributes)
        .generic_attributes(["style"].into())
        // Only these CSS properties survive in `style`; url() and expression() go with the rest.
        .filter_style_properties(
            [
                "color",
                "background-color",
                "font-size",
                "font-weight",
                "font-style",
                "text-align",
                "text-decoration",
                "line-height",
                "width",
                "height",
                "margin",
                "padding",
                "border",
                "vertical-align",
            ]
            .into(),
        )
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            (_, "style") => Some(safe_style(value)).filter(|s| !s.is_empty()).map(Into::into),
            ("img", "src") => safe_image_source(value).then_some(value.into()),
            (_, "href") => (!protocol_relative(value)).then_some(value.into()),
            _ => Some(value.into()),
        })
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true);
    b
});

/// Drops style declarations whose value could run or fetch something (`expression()`,
/// `url()`, escapes), whatever property they are on: an allowed property is not enough;
/// and those that break the page around the content ([`breaks_layout`]).
fn safe_style(style: &str) -> String {
    style
        .split(';')
        .filter(|declaration| {
            let squashed: String = declaration
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_lowercase();
            !breaks_layout(&declaration.to_lowercase())
                && ![
                    "expression",
                    "url(",
                    "javascript",
                    "\\",
                    "/*",
                    "@import",
                    "behavior",
                    "-moz-binding",
                ]
                .iter()
                .any(|bad| squashed.contains(bad))
        })
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect::<Vec<_>>()
        .join(";")
}

/// The largest font size kept, in px (also 36pt, 3em, 3rem, 300%).
const MAX_FONT_PX: f64 = 48.0;

/// A declaration (lower case) that reaches outside its box: negative
/// lengths (`margin: -9999px` pulls content over the header), viewport units (`100vw`
/// sizes by the window, not the page), huge or computed font sizes, and positioning.
fn breaks_layout(declaration: &str) -> bool {
    let Some((property, value)) = declaration.split_once(':') else {
        return false;
    };
    let (property, value) = (property.trim(), value.trim());
    if matches!(
        property,
        "position" | "z-index" | "inset" | "top" | "left" | "right" | "bottom" | "transform"
    ) {
        return true;
    }
    let lengths = lengths(value);
    if lengths.iter().any(|&(n, unit)| n < 0.0 || is_viewport_unit(unit)) {
        return true;
    }
    if property == "font-size" {
        // Keywords (`large`, `xx-large`) are bounded; math (`calc()`, `max()`) is not checked.
        if value.contains('(') {
            return true;
        }
        return lengths.iter().any(|&(n, unit)| {
            let px = match unit {
                "px" | "" => n,
                "pt" => n * 4.0 / 3.0,
                "em" | "rem" => n * 16.0,
                "%" => n * 16.0 / 100.0,
                _ => f64::INFINITY, // cm, in, ex, ch…: not what an editor writes
            };
            px > MAX_FONT_PX
        });
    }
    false
}

/// The numbers of a CSS value with their units (`"0-20px"` → `[(0, ""), (-20, "px")]`).
fn lengths(value: &str) -> Vec<(f64, &str)> {
    let b = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_number = b[i].is_ascii_digit()
            || (matches!(b[i], b'-' | b'+' | b'.') && b.get(i + 1).is_some_and(|c| c.is_ascii_digit() || *c == b'.'));
        // A digit inside a word (`#f00`, `h1`) is not a number.
        let in_word = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'#' || b[i - 1] == b'_');
        if !starts_number || in_word {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let number = value[start..i].parse::<f64>().unwrap_or(f64::NAN);
        let unit_start = i;
        while i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'%') {
            i += 1;
        }
        out.push((number, &value[unit_start..i]));
    }
    out
}

/// `vw`, `vh`, `vmin`, `vmax` and their `d`/`s`/`l` variants, `vi`, `vb`, and container units.
fn is_viewport_unit(unit: &str) -> bool {
    let u = unit.trim_start_matches(['d', 's', 'l']);
    matches!(u, "vw" | "vh" | "vi" | "vb" | "vmin" | "vmax") || unit.starts_with("cq")
}

/// A URL that browsers read as `//host/…`: two slashes or backslashes in any mix, also with
/// tabs or line breaks between them (browsers drop those from URLs).
fn protocol_relative(url: &str) -> bool {
    let mut slashes = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'));
    matches!(slashes.next(), Some('/' | '\\')) && matches!(slashes.next(), Some('/' | '\\'))
}

/// An image source the shop's pages may load: `https:` or a path on the shop's own host;
/// not plain `http:` (mixed content) and not protocol-relative (`//evil.example/x.png`).
fn safe_image_source(url: &str) -> bool {
    let trimmed = url.trim_start_matches(|c: char| c <= ' ');
    if protocol_relative(trimmed) {
        return false;
    }
    let end = trimmed.find(['/', '?', '#']).unwrap_or(trimmed.len());
    match trimmed[..end].split_once(':') {
        Some((scheme, _)) => scheme.eq_ignore_ascii_case("https"),
        None => true,
    }
}

/// Deepest element nesting a body may have. html5ever's tree builder takes time with the
/// square of the depth (100,000 nested `<div>` took minutes), and no page needs more.
pub const MAX_HTML_NESTING: usize = 256;

/// Elements that never hold others (void) or whose end tag is optional: they are not
/// counted, so unclosed `<li>`/`<p>`/`<td>` in a long list or table are not "deep".
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "li", "p",
    "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot", "colgroup", "caption",
];

/// The deepest element nesting in `html`, counted from its tags in one pass (an estimate
/// that only errs high for unclosed elements that aren't in [`NOT_NESTING`]).
fn html_nesting(html: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let closing = rest.starts_with('/');
        let name_start = usize::from(closing);
        let name_len = rest[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len() - name_start);
        if name_len == 0 || !rest.as_bytes()[name_start].is_ascii_alphabetic() {
            continue; // `<!--`, `<!DOCTYPE`, a stray `<`
        }
        let name = rest[name_start..name_start + name_len].to_ascii_lowercase();
        if NOT_NESTING.contains(&name.as_str()) {
            continue;
        }
        let tag_end = rest.find('>').unwrap_or(rest.len());
        if closing {
            depth = depth.saturating_sub(1);
        } else if !rest[..tag_end].ends_with('/') {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// HTML as a WYSIWYG editor makes it, with everything executable removed. `INVALID_INPUT`
/// on `field` when elements nest deeper than [`MAX_HTML_NESTING`].
pub fn sanitize(html: &str, field: &'static str) -> Result<String, Error> {
    if html_nesting(html) > MAX_HTML_NESTING {
        return Err(Error::Invalid {
            field,
            reason: format!("elements nest deeper than {MAX_HTML_NESTING}"),
        });
    }
    Ok(SANITIZER.clean(html).to_string())
}

/// A page or notice.
#[derive(Clone, Debug)]
pub struct Page {
    /// Its id.
    pub id: PageId,
    /// URL name.
    pub slug: String,
    /// `PAGE` or `NOTICE`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Sanitized HTML.
    pub body: String,
    /// Shown in the storefront.
    pub published: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A page as entered.
#[derive(Clone, Debug)]
pub struct PageInput {
    /// URL name (`a-z0-9-`).
    pub slug: String,
    /// `PAGE` or `NOTICE`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// HTML (sanitized on save).
    pub body: String,
    /// Shown in the storefront.
    pub published: bool,
}

fn check(input: &PageInput) -> Result<(), Error> {
    crate::catalog_admin::check_slug(&input.slug)?;
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::Invalid {
            field: "title",
            reason: "1–200 characters".into(),
        });
    }
    if input.body.len() > 512 * 1024 {
        return Err(Error::Invalid {
            field: "body",
            reason: "at most 512 KiB".into(),
        });
    }
    if !matches!(input.kind.as_str(), "PAGE" | "NOTICE") {
        return Err(Error::Invalid {
            field: "kind",
            reason: "PAGE or NOTICE".into(),
        });
    }
    Ok(())
}

/// Creates a page. Errors: `FORBIDDEN`, `INVALID_INPUT`, `ALREADY_EXISTS`.
pub async fn create(pool: &PgPool, by: Principal, input: &PageInput, ip: Option<&str>) -> Result<Page, Error> {
    by.require(Permission::WriteCatalog, "edit pages")?;
    check(input)?;
    let body = sanitize(&input.body, "body")?;
    let id = PageId::generate();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO pages (id, slug, kind, title, body, published) VALUES ($1, $2, $3, $4, $5, $6)",
        id as PageId,
        input.slug,
        input.kind,
        input.title.trim(),
        body,
        input.published,
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| Error::unique(e, "slug", &input.slug))?;
    audit(
        &mut tx,
        by,
        "page.create",
        &input.slug,
        json!({ "published": input.published }),
        ip,
    )
    .await?;
    tx.commit().await?;
    get(pool, id).await
}

/// Replaces a page. Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_INPUT`, `ALREADY_EXISTS`.
pub async fn update(
    pool: &PgPool,
    by: Principal,
    id: PageId,
    input: &PageInput,
    ip: Option<&str>,
) -> Result<Page, Error> {
    by.require(Permission::WriteCatalog, "edit pages")?;
    check(input)?;
    let body = sanitize(&input.body, "body")?;
    let mut tx = pool.begin().await?;
    let r = sqlx::query!(
        "UPDATE pages SET slug = $2, kind = $3, title = $4, body = $5, published = $6, updated_at = now() WHERE id = $1",
        id as PageId,
        input.slug,
        input.kind,
        input.title.trim(),
        body,
        input.published,
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| Error::unique(e, "slug", &input.slug))?;
    if r.rows_affected() == 0 {
        return Err(Error::NotFound { what: "page" });
    }
    audit(
        &mut tx,
        by,
        "page.update",
        &input.slug,
        json!({ "published": input.published }),
        ip,
    )
    .await?;
    tx.commit().await?;
    get(pool, id).await
}

/// Deletes a page. Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn delete(pool: &PgPool, by: Principal, id: PageId, ip: Option<&str>) -> Result<(), Error> {
    by.require(Permission::WriteCatalog, "edit pages")?;
    let mut tx = pool.begin().await?;
    let slug = sqlx::query_scalar!("DELETE FROM pages WHERE id = $1 RETURNING slug", id as PageId)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound { what: "page" })?;
    audit(&mut tx, by, "page.delete", &slug, json!({}), ip).await?;
    tx.commit().await?;
    Ok(())
}

/// A page by id (drafts included). Errors: `NOT_FOUND`.
pub async fn get(pool: &PgPool, id: PageId) -> Result<Page, Error> {
    sqlx::query_as!(
        Page,
        r#"SELECT id AS "id: PageId", slug, kind, title, body, published, created_at, updated_at FROM pages WHERE id = $1"#,
        id as PageId
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound { what: "page" })
}

/// A published page by slug, `None` if there is none.
pub async fn published(pool: &PgPool, slug: &str) -> Result<Option<Page>, Error> {
    Ok(sqlx::query_as!(
        Page,
        r#"SELECT id AS "id: PageId", slug, kind, title, body, published, created_at, updated_at
             FROM pages WHERE slug = $1 AND published"#,
        slug
    )
    .fetch_optional(pool)
    .await?)
}

/// Pages, newest change first: published ones of `kind` for the storefront, or all.
pub async fn list(pool: &PgPool, kind: Option<&str>, published_only: bool) -> Result<Vec<Page>, Error> {
    Ok(sqlx::query_as!(
        Page,
        r#"SELECT id AS "id: PageId", slug, kind, title, body, published, created_at, updated_at FROM pages
            WHERE ($1::text IS NULL OR kind = $1) AND (published OR NOT $2)
            ORDER BY updated_at DESC, id DESC LIMIT 200"#,
        kind,
        published_only,
    )
    .fetch_all(pool)
    .await?)
}

/// Pages and notices for staff, drafts included, last changed first (cursor: that time and
/// the id), filtered by `kind` (`PAGE`, `NOTICE`) and `published`, with the count over all
/// pages when `total`. Any staff role. Errors: `INVALID_CURSOR`.
pub async fn pages(
    pool: &PgPool,
    _by: Principal,
    kind: Option<&str>,
    published: Option<bool>,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<crate::pagination::Page<Page>, Error> {
    let after = after.map(decode_cursor).transpose()?;
    let rows = sqlx::query!(
        r#"WITH m AS NOT MATERIALIZED (
               SELECT * FROM pages WHERE ($1::text IS NULL OR kind = $1) AND ($2::bool IS NULL OR published = $2))
           SELECT id AS "id!: PageId", slug AS "slug!", kind AS "kind!", title AS "title!", body AS "body!",
                  published AS "published!", created_at AS "created_at!", updated_at AS "updated_at!",
                  CASE WHEN $6 THEN (SELECT count(*) FROM m) END AS total
             FROM m
            WHERE $3::timestamptz IS NULL OR (updated_at, id) < ($3, $4)
            ORDER BY updated_at DESC, id DESC LIMIT $5"#,
        kind,
        published,
        after.map(|a| a.0),
        after.map(|a| a.1),
        i64::from(first) + 1,
        total,
    )
    .fetch_all(pool)
    .await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.total), || {
        sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM pages WHERE ($1::text IS NULL OR kind = $1) AND ($2::bool IS NULL OR published = $2)"#,
            kind,
            published,
        )
        .fetch_one(pool)
    })
    .await?;
    Ok(crate::pagination::Page::from_rows(rows, first, count, |r| {
        let cursor = format!("{}.{}", r.updated_at.timestamp_micros(), r.id.0.simple());
        let page = Page {
            id: r.id,
            slug: r.slug,
            kind: r.kind,
            title: r.title,
            body: r.body,
            published: r.published,
            created_at: r.created_at,
            updated_at: r.updated_at,
        };
        (page, cursor)
    }))
}

/// `<micros>.<uuid hex>` as [`pages`] writes it.
fn decode_cursor(c: &str) -> Result<(DateTime<Utc>, uuid::Uuid), Error> {
    let (micros, id) = c.split_once('.').ok_or(Error::InvalidCursor)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or(Error::InvalidCursor)?;
    let id = uuid::Uuid::try_parse(id).map_err(|_| Error::InvalidCursor)?;
    Ok((at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_formatting_survives() {
        let html = r#"<h2>배송 안내</h2><p style="color: #333; text-align: center; position: fixed">평일 <strong>오후 2시</strong> 이전 주문은 당일 출고</p>
<ul><li>제주 +3,000원</li></ul><table><tr><th colspan="2">구분</th></tr><tr><td>일반</td><td>3,000원</td></tr></table>
<img src="https://cdn.jangteo.kr/a.png" alt="안내"><a href="https://jangteo.kr/faq" target="_blank">FAQ</a>"#;
        let out = sanitize(html, "body").expect("shallow");
        for kept in [
            "<h2>",
            "<strong>",
            "<ul>",
            "<table>",
            "colspan=\"2\"",
            "src=\"https://cdn.jangteo.kr/a.png\"",
            "href=\"https://jangteo.kr/faq\"",
            "color:",
            "text-align:",
        ] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        assert!(!out.contains("position"), "{out}");
        assert!(out.contains("rel=\"noopener noreferrer nofollow\""));
    }

    #[test]
    fn deep_nesting_is_refused_before_the_html_parser_sees_it() {
        let deep = format!("{}x{}", "<div>".repeat(300), "</div>".repeat(300));
        assert!(matches!(
            sanitize(&deep, "body"),
            Err(Error::Invalid { field: "body", .. })
        ));
        let ok = format!("{}x{}", "<div>".repeat(200), "</div>".repeat(200));
        assert!(sanitize(&ok, "body").is_ok());
        // Long lists and tables with optional end tags, images and line breaks are flat.
        let list = format!(
            "<ul>{}</ul><table>{}</table>",
            "<li>항목<br><img src=\"/a.png\">".repeat(2000),
            "<tr><td>1<td>2".repeat(2000)
        );
        assert_eq!(html_nesting(&list), 1);
        assert_eq!(html_nesting("<div/><br><p>a</p>"), 0);
    }
}
