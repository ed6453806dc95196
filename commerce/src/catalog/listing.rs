//! Product listings: the filter, sort and keyset cursors, search terms, and the one
//! statement of a page (with variants and the total when asked).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder, types::Json};

use super::{MAX_SEARCH_CHARS, Product, ProductView, VariantJson};
use crate::{Error, pagination::Page, types::contains_pattern};

/// Which products a listing shows.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    /// Only this category and its descendants.
    pub category_slug: Option<String>,
    /// Substring search over name and description (every word must appear).
    pub search: Option<String>,
    /// `Some(true)`: only products with a variant in stock; `Some(false)`: only sold-out ones.
    pub in_stock: Option<bool>,
}

/// The order of a product listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortField {
    /// By creation time.
    #[default]
    Newest,
    /// By the lowest variant price.
    Price,
    /// By name.
    Name,
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A listing order: field and direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductSort {
    /// What to sort by.
    pub field: SortField,
    /// Which way.
    pub direction: Direction,
}

impl ProductSort {
    /// The natural direction of a field: newest first, cheapest first, 가나다 order.
    pub fn natural(field: SortField) -> ProductSort {
        let direction = match field {
            SortField::Newest => Direction::Desc,
            SortField::Price | SortField::Name => Direction::Asc,
        };
        ProductSort { field, direction }
    }
}

impl Default for ProductSort {
    fn default() -> Self {
        ProductSort::natural(SortField::Newest)
    }
}

/// What a listing loads along with each product, in the same statement.
#[derive(Clone, Copy, Debug, Default)]
pub struct Include {
    /// Each product's variants.
    pub variants: bool,
    /// The total count over all pages.
    pub total: bool,
}

#[derive(sqlx::FromRow)]
struct ListingRow {
    #[sqlx(flatten)]
    product: Product,
    variants: Option<Json<Vec<VariantJson>>>,
    total: Option<i64>,
}

/// Where a page starts: the sort key and id of the last item seen. The storefront's and the
/// admin's product listings share it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// Sort field tag, so a cursor of one order is refused by another.
    s: char,
    /// Direction tag.
    d: char,
    /// The key: micros since the epoch, won, or a name.
    pub(crate) k: CursorKey,
    /// The product id.
    pub(crate) i: uuid::Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum CursorKey {
    Int(i64),
    Text(String),
}

fn tags(sort: ProductSort) -> (char, char) {
    let s = match sort.field {
        SortField::Newest => 'n',
        SortField::Price => 'p',
        SortField::Name => 'a',
    };
    let d = match sort.direction {
        Direction::Asc => 'a',
        Direction::Desc => 'd',
    };
    (s, d)
}

pub(crate) fn encode_cursor(sort: ProductSort, p: &Product) -> String {
    let (s, d) = tags(sort);
    let k = match sort.field {
        SortField::Newest => CursorKey::Int(p.created_at.timestamp_micros()),
        SortField::Price => CursorKey::Int(p.price_min.get()),
        SortField::Name => CursorKey::Text(p.name.clone()),
    };
    let json = serde_json::to_vec(&Cursor { s, d, k, i: p.id.0 }).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The cursor, `INVALID_CURSOR` if it is not one or was issued for another order.
pub(crate) fn decode_cursor(sort: ProductSort, cursor: &str) -> Result<Cursor, Error> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Error::InvalidCursor)?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| Error::InvalidCursor)?;
    let matches_sort = (c.s, c.d) == tags(sort)
        && matches!(
            (sort.field, &c.k),
            (SortField::Newest | SortField::Price, CursorKey::Int(_)) | (SortField::Name, CursorKey::Text(_))
        );
    matches_sort.then_some(c).ok_or(Error::InvalidCursor)
}

/// Search text as the database compares it: trimmed, lower-cased, LIKE wildcards escaped,
/// split into words. `INVALID_INPUT` when longer than [`MAX_SEARCH_CHARS`].
fn search_terms(search: Option<&str>) -> Result<Vec<String>, Error> {
    let Some(s) = search.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    if s.chars().count() > MAX_SEARCH_CHARS {
        return Err(Error::Invalid {
            field: "search",
            reason: format!("at most {MAX_SEARCH_CHARS} characters"),
        });
    }
    Ok(s.split_whitespace()
        .map(|w| contains_pattern(&w.to_lowercase()))
        .collect())
}

const PRODUCT_COLUMNS: &str = "p.id, p.slug, p.name, p.description, p.category_id, p.published, \
     p.tax_free, p.price_min, p.created_at, p.updated_at, \
     (SELECT COALESCE(json_agg(json_build_array(m.id, m.storage, m.key, m.url, \
        m.content_type, m.width, m.height, m.bytes, m.alt, \
        m.widths, m.created_at) ORDER BY pm.position), '[]') FROM product_media pm JOIN media m ON m.id = pm.media_id WHERE pm.product_id = p.id) AS images";

/// A product's variants as one JSON array (the detail queries spell it out alike).
const VARIANTS_JSON: &str = "(SELECT COALESCE(json_agg(json_build_array(v.id, v.sku, v.name, v.options, v.price, \
     v.compare_at_price, v.on_hand, v.allocated, \
     v.low_stock_threshold, v.media_id) ORDER BY v.position, v.sku), '[]') FROM variants v WHERE v.product_id = p.id)";

/// Appends the WHERE clause of a storefront listing (published products matching `filter`).
fn push_filter(q: &mut QueryBuilder<Postgres>, filter: &ProductFilter, terms: Vec<String>) {
    q.push(" WHERE p.published");
    if let Some(slug) = &filter.category_slug {
        q.push(
            " AND p.category_id IN (WITH RECURSIVE tree AS (\
               SELECT id FROM categories WHERE slug = ",
        );
        q.push_bind(slug.clone());
        q.push(
            " UNION ALL SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id) \
             SELECT id FROM tree)",
        );
    }
    for term in terms {
        q.push(" AND p.search_text LIKE ");
        q.push_bind(term);
    }
    match filter.in_stock {
        Some(true) => {
            q.push(" AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.on_hand > v.allocated)");
        }
        Some(false) => {
            q.push(" AND NOT EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.on_hand > v.allocated)");
        }
        None => {}
    }
}

/// Appends a statement counting the published products matching `filter`: the whole
/// catalog's count is kept by triggers (`product_counts`), one row to read; a filtered one is
/// counted.
fn push_count(q: &mut QueryBuilder<Postgres>, filter: &ProductFilter, terms: Vec<String>) {
    let unfiltered = filter.category_slug.is_none() && terms.is_empty() && filter.in_stock.is_none();
    if unfiltered {
        q.push("SELECT published FROM product_counts");
    } else {
        q.push("SELECT count(*) FROM products p");
        push_filter(q, filter, terms);
    }
}

/// The one statement of a listing page, every value bound.
fn listing_query(
    filter: &ProductFilter,
    sort: ProductSort,
    first: u32,
    after: Option<&str>,
    include: Include,
) -> Result<QueryBuilder<Postgres>, Error> {
    let terms = search_terms(filter.search.as_deref())?;
    let after = after.map(|c| decode_cursor(sort, c)).transpose()?;
    // The SQL is assembled only from the fixed fragments below; every value is bound.
    let mut q = QueryBuilder::new("SELECT ");
    q.push(PRODUCT_COLUMNS);
    if include.variants {
        q.push(", ").push(VARIANTS_JSON).push(" AS variants");
    } else {
        q.push(", NULL::json AS variants");
    }
    if include.total {
        // Uncorrelated: PostgreSQL runs it once for the statement.
        q.push(", (");
        push_count(&mut q, filter, terms.clone());
        q.push(") AS total");
    } else {
        q.push(", NULL::int8 AS total");
    }
    q.push(" FROM products p");
    push_filter(&mut q, filter, terms);
    let key = match sort.field {
        SortField::Newest => "p.created_at",
        SortField::Price => "p.price_min",
        SortField::Name => "p.name",
    };
    let (cmp, dir) = match sort.direction {
        Direction::Asc => (">", "ASC"),
        Direction::Desc => ("<", "DESC"),
    };
    if let Some(c) = after {
        q.push(format_args!(" AND ({key}, p.id) {cmp} ("));
        match c.k {
            CursorKey::Int(micros) if sort.field == SortField::Newest => {
                let at = DateTime::from_timestamp_micros(micros).ok_or(Error::InvalidCursor)?;
                q.push_bind(at);
            }
            CursorKey::Int(won) => {
                q.push_bind(won);
            }
            CursorKey::Text(name) => {
                q.push_bind(name);
            }
        }
        q.push(", ").push_bind(c.i).push(")");
    }
    // The page size is written into the text, not bound: with the limit a parameter,
    // PostgreSQL plans the statement again at every execution (a custom plan for the known
    // limit estimates far cheaper than a generic one), which cost a third of the listing's
    // time. Without parameters the unfiltered listing is planned once per connection. Few
    // page sizes are in use, so the prepared-statement cache holds them all.
    q.push(format_args!(
        " ORDER BY {key} {dir}, p.id {dir} LIMIT {}",
        u64::from(first) + 1
    ));
    Ok(q)
}

/// The SQL text of a listing page as [`list_products`] sends it (values as `$n`), for
/// measuring PostgreSQL's own ceiling for the same statement. Errors as [`list_products`].
pub fn listing_sql(filter: &ProductFilter, sort: ProductSort, first: u32, include: Include) -> Result<String, Error> {
    Ok(listing_query(filter, sort, first, None, include)?
        .sql()
        .as_str()
        .to_owned())
}

/// One page of published products with keyset pagination, in one SQL statement that also
/// carries what `include` asks for (variants, total count).
///
/// Errors: `PAGE_SIZE_EXCEEDED` (via [`crate::pagination::page_size`]), `INVALID_CURSOR`, `INVALID_INPUT` (search).
pub async fn list_products(
    conn: &mut PgConnection,
    filter: &ProductFilter,
    sort: ProductSort,
    first: u32,
    after: Option<&str>,
    include: Include,
) -> Result<Page<ProductView>, Error> {
    let mut q = listing_query(filter, sort, first, after, include)?;
    let rows: Vec<ListingRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    let total = match (include.total, rows.first()) {
        (false, _) => None,
        (true, Some(row)) => row.total,
        // An empty page carries no count: ask separately.
        (true, None) => Some(count_products(conn, filter).await?),
    };
    Ok(Page::from_rows(rows, first, total, |row| {
        let cursor = encode_cursor(sort, &row.product);
        let id = row.product.id;
        let variants = row.variants.map(|v| v.0.into_iter().map(|v| v.of(id)).collect());
        (
            ProductView {
                product: row.product,
                variants,
            },
            cursor,
        )
    }))
}

/// How many published products match `filter`. Errors: `INVALID_INPUT` (search).
pub async fn count_products(conn: &mut PgConnection, filter: &ProductFilter) -> Result<i64, Error> {
    let terms = search_terms(filter.search.as_deref())?;
    let mut q = QueryBuilder::new("");
    push_count(&mut q, filter, terms);
    Ok(q.build_query_scalar().fetch_one(&mut *conn).await?)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{Won, ids::ProductId};

    #[test]
    fn search_escapes_wildcards_and_splits_words() {
        assert_eq!(
            search_terms(Some("  단백질  쉐이크 ")).ok(),
            Some(vec!["%단백질%".into(), "%쉐이크%".into()])
        );
        assert_eq!(
            search_terms(Some("100%_a\\")).ok(),
            Some(vec!["%100\\%\\_a\\\\%".into()])
        );
        assert_eq!(search_terms(Some("   ")).ok(), Some(vec![]));
        assert!(search_terms(Some(&"가".repeat(101))).is_err());
    }

    #[test]
    fn cursor_of_one_order_is_refused_by_another() {
        let p = Product {
            id: ProductId::generate(),
            slug: "a".into(),
            name: "가".into(),
            description: String::new(),
            category_id: None,
            published: true,
            tax_free: false,
            price_min: Won::new(1000).unwrap_or_default(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            images: Json(vec![]),
        };
        let by_price = ProductSort::natural(SortField::Price);
        let c = encode_cursor(by_price, &p);
        assert!(decode_cursor(by_price, &c).is_ok());
        assert!(decode_cursor(ProductSort::natural(SortField::Name), &c).is_err());
        assert!(
            decode_cursor(
                ProductSort {
                    field: SortField::Price,
                    direction: Direction::Desc
                },
                &c
            )
            .is_err()
        );
        assert!(decode_cursor(by_price, "not-a-cursor").is_err());
    }
}
