//! Page sizes for every list (Relay connections in both schemas): `first` ≤ 100.

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

#[cfg(test)]
mod tests {
    use super::*;

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
