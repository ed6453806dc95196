//! The one error type of the core and its stable codes.

use std::fmt;

/// Everything that can go wrong in the core.
///
/// Expected failures carry what the caller needs to explain them; faults (`Db`,
/// `Migrate`) are logged by the edge and shown only as `INTERNAL`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A thing looked up by id, slug or SKU does not exist (`NOT_FOUND`).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `product`.
        what: &'static str,
    },
    /// Input failed validation (`INVALID_INPUT`).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The input field, in the caller's naming.
        field: &'static str,
        /// Why, in English.
        reason: String,
    },
    /// An id string that is not one of ours (`INVALID_ID`).
    #[error("invalid id {0:?}")]
    InvalidId(String),
    /// A pagination cursor that was not issued for this listing (`INVALID_CURSOR`).
    #[error("invalid cursor")]
    InvalidCursor,
    /// `first` outside `1..=max` (`PAGE_SIZE_EXCEEDED`).
    #[error("first must be between 1 and {max}, got {requested}")]
    PageSize {
        /// The largest page allowed.
        max: u32,
        /// What was asked for.
        requested: i64,
    },
    /// A unique slug or SKU is already taken (`ALREADY_EXISTS`).
    #[error("{what} {value:?} already exists")]
    AlreadyExists {
        /// `slug`, `sku`…
        what: &'static str,
        /// The taken value.
        value: String,
    },
    /// A database fault (`INTERNAL`).
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A migration fault (`INTERNAL`).
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The field-less, stable code of an [`Error`]: a contract with clients, never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::Invalid`].
    InvalidInput,
    /// See [`Error::InvalidId`].
    InvalidId,
    /// See [`Error::InvalidCursor`].
    InvalidCursor,
    /// See [`Error::PageSize`].
    PageSizeExceeded,
    /// See [`Error::AlreadyExists`].
    AlreadyExists,
    /// A fault; details are logged, never shown.
    Internal,
}

impl Code {
    /// The wire form, e.g. `NOT_FOUND`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The language of messages shown to people (`Accept-Language`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// 한국어, the default.
    #[default]
    Ko,
    /// English.
    En,
}

impl Lang {
    /// Picks the first supported language of an `Accept-Language` header, by weight.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.trim().split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = if tag.starts_with("ko") {
                Lang::Ko
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> Code {
        match self {
            Error::NotFound { .. } => Code::NotFound,
            Error::Invalid { .. } => Code::InvalidInput,
            Error::InvalidId(_) => Code::InvalidId,
            Error::InvalidCursor => Code::InvalidCursor,
            Error::PageSize { .. } => Code::PageSizeExceeded,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::Db(_) | Error::Migrate(_) => Code::Internal,
        }
    }

    /// Whether this is a fault (to log, and hide behind `INTERNAL`) rather than bad input.
    pub fn is_fault(&self) -> bool {
        self.code() == Code::Internal
    }

    /// The input field this error is about, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            Error::InvalidCursor => Some("after"),
            Error::PageSize { .. } => Some("first"),
            _ => None,
        }
    }

    /// A message for people, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, Error::Db(_) | Error::Migrate(_)) => "internal error".into(),
            (Lang::En, e) => e.to_string(),
            (Lang::Ko, Error::NotFound { what }) => {
                format!("{}을(를) 찾을 수 없습니다", ko_noun(what))
            }
            (Lang::Ko, Error::Invalid { field, reason }) => {
                format!("{field} 값이 올바르지 않습니다: {reason}")
            }
            (Lang::Ko, Error::InvalidId(id)) => format!("올바르지 않은 ID입니다: {id:?}"),
            (Lang::Ko, Error::InvalidCursor) => "이 목록의 커서가 아닙니다".into(),
            (Lang::Ko, Error::PageSize { max, requested }) => {
                format!("first는 1부터 {max}까지입니다 (요청: {requested})")
            }
            (Lang::Ko, Error::AlreadyExists { what, value }) => {
                format!("이미 있는 {}입니다: {value:?}", ko_noun(what))
            }
            (Lang::Ko, Error::Db(_) | Error::Migrate(_)) => "내부 오류가 발생했습니다".into(),
        }
    }
}

fn ko_noun(what: &str) -> &str {
    match what {
        "product" => "상품",
        "variant" => "옵션 상품",
        "category" => "카테고리",
        "slug" => "슬러그",
        "sku" => "SKU",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use strum::IntoEnumIterator;

    #[test]
    fn codes_are_unique_and_screaming_snake() {
        let all: Vec<_> = Code::iter().map(Code::as_str).collect();
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
        assert!(
            all.iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_'))
        );
        assert_eq!(Code::PageSizeExceeded.as_str(), "PAGE_SIZE_EXCEEDED");
    }

    #[test]
    fn accept_language_picks_weighted_supported_tag() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,ko;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr, ko-KR;q=0.5, en;q=0.4"), Lang::Ko);
        assert_eq!(Lang::from_accept_language("de"), Lang::Ko);
        assert_eq!(Lang::from_accept_language("en;q=0"), Lang::Ko);
    }

    #[test]
    fn faults_hide_details() {
        let e = Error::Db(sqlx::Error::PoolTimedOut);
        assert!(e.is_fault());
        assert_eq!(e.message(Lang::En), "internal error");
    }
}
