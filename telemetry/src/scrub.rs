//! Personal data and secrets masked in free text before an event leaves the process: our logs
//! name ids only (STYLE §7), but an error's text is not always ours: PostgreSQL quotes the
//! row it refused (`Key (email)=(kim@example.com) already exists`), a provider echoes what it
//! was sent, a panic message formats a value.
//!
//! Masked: e-mail addresses → `[email]`; Korean phone numbers (`010-1234-5678`,
//! `01012345678`, `+82 10-1234-5678`, `02-123-4567`) → `[phone]`; `Bearer …`/`Basic …`
//! credentials, `password=…`/`"token": "…"`-style pairs, Slack and payment gateway keys and
//! other long random-looking strings (upper and lower case and digits, 32 or more) →
//! `[token]`/`[redacted]`; Korean road and lot addresses (`서울특별시 강남구 테헤란로 123`,
//! `강남구 역삼동 123-45`, with `10층`, `101동 202호`) → `[address]`. Ids (`ord_0193…`, UUIDs, hex
//! digests) are lower case or hex and stay. And in key–value data (extra, tracing fields,
//! breadcrumb data), a value under a key such as `email`, `phone`, `address`, `password`,
//! `token` or `authorization` is dropped whatever it looks like.

use std::{borrow::Cow, sync::LazyLock};

use regex::{Captures, Regex};
use sentry::protocol::{Context, Event, Map, Value};

fn regex(pattern: &str) -> Regex {
    // The patterns are constants, tested below.
    Regex::new(pattern).unwrap_or_else(|e| panic!("scrub pattern {pattern}: {e}"))
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"));

/// Digit groups with single separators between them, optionally after `+`: a candidate phone
/// number, decided by [`is_korean_phone`].
static DIGITS: LazyLock<Regex> = LazyLock::new(|| regex(r"\+?[0-9]+(?:[-. ][0-9]+)*"));

static CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"));

static SECRET_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r#"(?i)\b((?:[a-z_]*_)?(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|authorization|signature|cookie))(["']?\s*[:=]\s*["']?)([^\s"'&,;}]+)"#,
    )
});

static KNOWN_KEY: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(?:xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}|(?:live|test)_g?[sc]k_[A-Za-z0-9]{10,}|sk_(?:live|test)_[A-Za-z0-9]{10,})",
    )
});

static LONG_RUN: LazyLock<Regex> = LazyLock::new(|| regex(r"[A-Za-z0-9_-]{32,}"));

/// A road (…로, …길) or lot (…동, …리, …가) with its number, after at least one administrative
/// unit (…시, …도, …군, …구: how the postcode widget writes them, and what keeps `기본으로 3개`
/// a sentence), and the building detail after it.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?:[가-힣]+(?:특별자치시|특별자치도|특별시|광역시|도|시|군|구)\s+)+[가-힣0-9·.]*[가-힣](?:로|길|동|리|가)\s*(?:산\s*)?[0-9]+(?:-[0-9]+)?(?:\s*번지)?(?:(?:,\s*|\s+)[0-9]+\s*(?:동|층|호)(?:\s+[0-9]+\s*(?:동|층|호))*)?",
    )
});

/// Whether `candidate` (digits, separators, maybe a leading `+`) is a Korean phone number:
/// a mobile `01[016789]` + 7–8 digits, a Seoul `02` + 7–8, an area `0[3-6][1-5]` or `070`
/// + 7–8, each also as `+82` without the leading 0.
fn is_korean_phone(candidate: &str) -> bool {
    let digits: String = candidate.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.strip_prefix("82") {
        Some(rest) if candidate.starts_with('+') => format!("0{}", rest.trim_start_matches('0')),
        _ if candidate.starts_with('+') => return false,
        _ => digits,
    };
    let b = national.as_bytes();
    let rest = |prefix: usize| (7..=8).contains(&(b.len() - prefix.min(b.len())));
    match b {
        [b'0', b'1', c, ..] if b"016789".contains(c) => rest(3),
        [b'0', b'2', ..] => rest(2),
        [b'0', b'7', b'0', ..] => rest(3),
        [b'0', a, c, ..] if (b'3'..=b'6').contains(a) && (b'1'..=b'5').contains(c) => rest(3),
        _ => false,
    }
}

/// One masking pass over `out`, which stays borrowed while nothing matches.
fn pass(out: &mut Cow<'_, str>, f: impl Fn(&str) -> Cow<'_, str>) {
    let next = match f(out) {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    };
    if let Some(s) = next {
        *out = Cow::Owned(s);
    }
}

/// `text` with what [the module](self) lists masked.
pub fn mask(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    pass(&mut out, |t| CREDENTIAL.replace_all(t, "$1 [token]"));
    pass(&mut out, |t| SECRET_PAIR.replace_all(t, "$1$2[redacted]"));
    pass(&mut out, |t| KNOWN_KEY.replace_all(t, "[token]"));
    pass(&mut out, |t| EMAIL.replace_all(t, "[email]"));
    pass(&mut out, |t| {
        LONG_RUN.replace_all(t, |c: &Captures<'_>| {
            let s = &c[0];
            let mixed = s.bytes().any(|b| b.is_ascii_uppercase())
                && s.bytes().any(|b| b.is_ascii_lowercase())
                && s.bytes().any(|b| b.is_ascii_digit());
            if mixed { "[token]".to_owned() } else { s.to_owned() }
        })
    });
    pass(&mut out, |t| {
        DIGITS.replace_all(t, |c: &Captures<'_>| {
            let m = c.get(0).map_or(0..0, |m| m.range());
            // Digits inside a word (`ord_0101…`, `v2`) are part of an id, not a number.
            let glued = t[..m.start]
                .chars()
                .next_back()
                .is_some_and(|p| p.is_ascii_alphanumeric() || p == '_')
                || t[m.end..]
                    .chars()
                    .next()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || n == '_');
            if glued { c[0].to_owned() } else { mask_phones(&c[0]) }
        })
    });
    pass(&mut out, |t| ADDRESS.replace_all(t, "[address]"));
    out
}

/// A run of digit groups with the phone numbers in it masked: the whole run, or up to four
/// space-separated groups of it (`2026-12-02 010-1234-5678` is a date and a phone).
fn mask_phones(run: &str) -> String {
    if is_korean_phone(run) {
        return "[phone]".to_owned();
    }
    let groups: Vec<&str> = run.split(' ').collect();
    let mut out = Vec::with_capacity(groups.len());
    let mut i = 0;
    while i < groups.len() {
        let phone = (i + 1..=groups.len().min(i + 4))
            .rev()
            .find(|&j| is_korean_phone(&groups[i..j].join(" ")));
        match phone {
            Some(j) => {
                out.push("[phone]");
                i = j;
            }
            None => {
                out.push(groups[i]);
                i += 1;
            }
        }
    }
    out.join(" ")
}

/// Keys whose values are personal or secret whatever they look like.
fn is_private_key(key: &str) -> bool {
    let key = key.rsplit(':').next().unwrap_or(key).to_ascii_lowercase();
    [
        "email",
        "e_mail",
        "phone",
        "mobile",
        "tel",
        "address",
        "zonecode",
        "recipient",
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "cookie",
        "card_number",
        "account_number",
    ]
    .iter()
    .any(|k| key == *k || key.ends_with(&format!("_{k}")) || key.starts_with(&format!("{k}_")))
}

fn mask_string(s: &mut String) {
    if let Cow::Owned(masked) = mask(s) {
        *s = masked;
    }
}

fn mask_value(v: &mut Value) {
    match v {
        Value::String(s) => mask_string(s),
        Value::Array(items) => items.iter_mut().for_each(mask_value),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_private_key(k) {
                    *v = Value::String("[redacted]".to_owned());
                } else {
                    mask_value(v);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn mask_map(map: &mut Map<String, Value>) {
    for (k, v) in map.iter_mut() {
        if is_private_key(k) {
            *v = Value::String("[redacted]".to_owned());
        } else {
            mask_value(v);
        }
    }
}

/// Masks every free text of `event`: message, log entry, exceptions, breadcrumbs, extra,
/// tags, the tracing fields (`contexts`) and the transaction name.
pub fn event(event: &mut Event<'static>) {
    if let Some(m) = event.message.as_mut() {
        mask_string(m);
    }
    if let Some(entry) = event.logentry.as_mut() {
        mask_string(&mut entry.message);
        entry.params.iter_mut().for_each(mask_value);
    }
    if let Some(t) = event.transaction.as_mut() {
        mask_string(t);
    }
    if let Some(c) = event.culprit.as_mut() {
        mask_string(c);
    }
    for ex in &mut event.exception.values {
        if let Some(v) = ex.value.as_mut() {
            mask_string(v);
        }
    }
    for crumb in &mut event.breadcrumbs.values {
        if let Some(m) = crumb.message.as_mut() {
            mask_string(m);
        }
        mask_map(&mut crumb.data);
    }
    mask_map(&mut event.extra);
    for (k, v) in &mut event.tags {
        if is_private_key(k) {
            "[redacted]".clone_into(v);
        } else {
            mask_string(v);
        }
    }
    for context in event.contexts.values_mut() {
        if let Context::Other(map) = context {
            mask_map(map);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn masked(text: &str, expected: &str) {
        assert_eq!(mask(text), expected, "{text}");
    }

    #[test]
    fn e_mail_addresses() {
        masked(
            "duplicate key value violates unique constraint: Key (email)=(kim.minji+shop@example.co.kr) already exists",
            "duplicate key value violates unique constraint: Key (email)=([email]) already exists",
        );
        masked("owner@example.com, cs@shop.example", "[email], [email]");
    }

    #[test]
    fn korean_phone_numbers() {
        for phone in [
            "010-1234-5678",
            "01012345678",
            "010 1234 5678",
            "010.1234.5678",
            "011-123-4567",
            "+82 10-1234-5678",
            "+821012345678",
            "+82-10-1234-5678",
            "+82 010 1234 5678",
            "02-123-4567",
            "02-1234-5678",
            "031-123-4567",
            "070-1234-5678",
        ] {
            masked(&format!("SMS to {phone} failed"), "SMS to [phone] failed");
            masked(&format!("전화{phone}번"), "전화[phone]번");
        }
        masked("2026-12-02 010-1234-5678 1 2", "2026-12-02 [phone] 1 2");
        // Not phones: order numbers, amounts, ids, dates, a business number.
        for kept in [
            "order 20261202-000001",
            "total 1012345678 won",
            "ord_0101234567890abcdef0123456789ab",
            "2026-12-02 10:00",
            "1588-0000",
            "+1 415 555 0100",
            "id 01012345678a",
        ] {
            masked(kept, kept);
        }
    }

    #[test]
    fn tokens_and_keys() {
        masked("Bearer 9fK2mQ7xLp0aZ3vB8nW1", "Bearer [token]");
        masked(
            "Authorization: Bearer 9fK2mQ7xLp0aZ3vB8nW1",
            "Authorization: [redacted] [token]",
        );
        masked("header Basic dGVzdF9za186", "header Basic [token]");
        masked(
            r#"{"password":"hunter2!","email_token": "abc", token=XYZ123&x=1}"#,
            r#"{"password":"[redacted]","email_token": "[redacted]", token=[redacted]&x=1}"#,
        );
        masked(
            "slack said invalid_auth for xoxb-1234567890-abcdefghij",
            "slack said invalid_auth for [token]",
        );
        masked("toss key test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", "toss key [token]");
        masked("session Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0", "session [token]");
        // Ids, UUIDs and digests stay: they locate the fault and identify nobody.
        for kept in [
            "ord_0193f3c2a1b27c8e9d0f1a2b3c4d5e6f",
            "01a23c9d-4203-7509-a5ad-4f5d80b2259c",
            "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ] {
            masked(kept, kept);
        }
    }

    #[test]
    fn korean_addresses() {
        masked(
            "배송지 서울특별시 강남구 테헤란로 123 확인 실패",
            "배송지 [address] 확인 실패",
        );
        masked("서울시 강남구 테헤란로 1, 10층", "[address]");
        masked("서울시 강남구 테헤란로 1, 10층 is closed", "[address] is closed");
        masked("경기도 성남시 분당구 판교역로 235 101동 202호", "[address]");
        masked("서울 강남구 역삼동 123-45", "서울 [address]");
        masked("제주특별자치도 제주시 첨단로 242", "[address]");
        masked("부산광역시 해운대구 우동 1408", "[address]");
        for kept in [
            "no stock for 3 lines",
            "수량을 기본으로 3개",
            "재고가 3개 남음",
            "자동 처리 2건",
            "테헤란로 1",
        ] {
            masked(kept, kept);
        }
    }

    #[test]
    fn private_keys_lose_their_values() {
        let mut map = Map::new();
        map.insert("customer_email".to_owned(), Value::from("x"));
        map.insert("request:phone".to_owned(), Value::from("x"));
        map.insert("order".to_owned(), Value::from("ord_0193f3c2a1b27c8e9d0f1a2b3c4d5e6f"));
        map.insert(
            "error".to_owned(),
            Value::from("error returned from database: no customer kim@example.com at 010-1234-5678"),
        );
        map.insert(
            "nested".to_owned(),
            serde_json::json!({ "road_address": "테헤란로 1", "list": ["a@b.co"] }),
        );
        mask_map(&mut map);
        assert_eq!(map["customer_email"], "[redacted]");
        assert_eq!(map["request:phone"], "[redacted]");
        assert_eq!(map["order"], "ord_0193f3c2a1b27c8e9d0f1a2b3c4d5e6f");
        assert_eq!(
            map["error"],
            "error returned from database: no customer [email] at [phone]"
        );
        assert_eq!(map["nested"]["road_address"], "[redacted]");
        assert_eq!(map["nested"]["list"][0], "[email]");
    }
}
