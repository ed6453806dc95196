//! Pages of every list (Relay connections in both schemas): sizes (`first` ≤ 100) and the page itself.

use crate::Error;

/// The largest page a listing returns.
pub const MAX_PAGE: u32 = 100;
/// The page size when `first` is not given.
pub const DEFAULT_PAGE: u32 = 20;

/// Checks `first` (default [`DEFAULT_PAGE`]): `PAGE_SIZE_EXCEEDED` outside `1..=MAX_PAGE`.
pub fn page_size(first: Option<i64>) -> Result<u32, Error> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=i64::from(MAX_PAGE)).contains(&n) => Ok(u32::try_from(n).unwrap_or(MAX_PAGE)),
        Some(n) => Err(Error::PageSize {
            max: MAX_PAGE,
            requested: n,
        }),
    }
}

/// One page of a listing: the items with their cursors, whether more follow, and how many
/// match over all pages when that was asked for.
#[derive(Debug)]
pub struct Page<T> {
    /// Items with the cursor that points just after each.
    pub items: Vec<(T, String)>,
    /// Whether there are items after the last one.
    pub has_next: bool,
    /// How many items match over all pages, when asked for.
    pub total: Option<i64>,
}

/// The count over all pages of a listing whose rows carry it (`CASE WHEN $total THEN
/// (SELECT count(*) …) END` on every row): the first row's. A page past the end has no row
/// to carry it, so then `recount` counts. `first_row` is the first row's count (`None`: no
/// rows); `None` when the count was not `wanted`.
///
/// # Errors
/// What `recount` fails with.
pub async fn total<F, Fut, E>(wanted: bool, first_row: Option<Option<i64>>, recount: F) -> Result<Option<i64>, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<i64, E>>,
    Error: From<E>,
{
    match first_row {
        Some(count) => Ok(count),
        None if wanted => Ok(Some(recount().await?)),
        None => Ok(None),
    }
}

impl<T> Page<T> {
    /// A page from the `first` + 1 rows a listing fetched (the extra row only tells that
    /// more follow), each row made into its item and cursor by `item`.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        first: u32,
        total: Option<i64>,
        item: impl FnMut(R) -> (T, String),
    ) -> Page<T> {
        let has_next = rows.len() > first as usize;
        rows.truncate(first as usize);
        Page {
            items: rows.into_iter().map(item).collect(),
            has_next,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_drops_the_row_that_only_tells_more_follow() {
        let page = Page::from_rows(vec![1, 2, 3], 2, Some(3), |n| (n * 10, n.to_string()));
        assert_eq!(page.items, vec![(10, "1".to_owned()), (20, "2".to_owned())]);
        assert!(page.has_next);
        let last = Page::from_rows(vec![1, 2], 2, None, |n| (n, n.to_string()));
        assert!(!last.has_next && last.items.len() == 2);
    }

    #[tokio::test]
    async fn the_total_comes_off_the_rows_or_is_counted_past_the_end() {
        let never = || async { Err::<i64, Error>(Error::InvalidCursor) };
        assert_eq!(total(true, Some(Some(7)), never).await.ok(), Some(Some(7)));
        assert_eq!(total(false, None, never).await.ok(), Some(None));
        let counted = total(true, None, || async { Ok::<_, Error>(42) }).await;
        assert_eq!(counted.ok(), Some(Some(42)));
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(page_size(None).ok(), Some(DEFAULT_PAGE));
        assert_eq!(page_size(Some(100)).ok(), Some(100));
        assert!(matches!(
            page_size(Some(101)),
            Err(Error::PageSize {
                max: 100,
                requested: 101
            })
        ));
        assert!(matches!(page_size(Some(0)), Err(Error::PageSize { .. })));
        assert!(matches!(page_size(Some(-5)), Err(Error::PageSize { .. })));
    }
}
