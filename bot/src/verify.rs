//! Slack request signing (messaging.md §1a): `X-Slack-Signature: v0=hex(HMAC-SHA256(secret,
//! "v0:{timestamp}:{raw body}"))`, with `X-Slack-Request-Timestamp` within five minutes of
//! now. Checked over the raw bytes before anything parses them.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from our clock.
pub const WINDOW_SECS: i64 = 300;

/// Why a request was refused (all of them answer 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A header is missing or unreadable.
    #[error("missing or malformed signature headers")]
    Malformed,
    /// The timestamp is more than five minutes away from now.
    #[error("stale request timestamp")]
    Stale,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
}

/// Checks a Slack request: `timestamp` and `signature` are the header values, `body` the
/// raw bytes, `now` Unix seconds. The comparison is constant-time.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(VerifyError::Malformed);
    };
    let ts_num: i64 = ts.trim().parse().map_err(|_| VerifyError::Malformed)?;
    if (now - ts_num).abs() > WINDOW_SECS {
        return Err(VerifyError::Stale);
    }
    let given = sig
        .trim()
        .strip_prefix("v0=")
        .and_then(hex_decode)
        .ok_or(VerifyError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| VerifyError::Malformed)?;
    mac.update(b"v0:");
    mac.update(ts.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| VerifyError::BadSignature)
}

/// `v0=…` for `body` at `timestamp`: what Slack would send (tests and the fake use it).
///
/// # Panics
/// Never: HMAC takes keys of any length.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    bytes.iter().fold(String::from("v0="), |mut out, b| {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Lower- or upper-case hex to bytes; `None` for odd lengths or other characters.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's official vector (messaging.md §1a).
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_official_vector_verifies() {
        let now = 1_531_420_618 + 10;
        assert_eq!(verify(SECRET, Some(TS), Some(SIG), BODY.as_bytes(), now), Ok(()));
        assert_eq!(sign(SECRET, 1_531_420_618, BODY.as_bytes()), SIG);
    }

    #[test]
    fn a_changed_body_or_secret_fails() {
        let now = 1_531_420_618;
        let mut body = BODY.as_bytes().to_vec();
        body.push(b'x');
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), &body, now),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(b"another", Some(TS), Some(SIG), BODY.as_bytes(), now),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn timestamps_older_or_newer_than_five_minutes_are_stale() {
        let ts = 1_531_420_618;
        let ok = |now| verify(SECRET, Some(TS), Some(SIG), BODY.as_bytes(), now);
        assert_eq!(ok(ts + 300), Ok(()));
        assert_eq!(ok(ts + 301), Err(VerifyError::Stale));
        assert_eq!(ok(ts - 301), Err(VerifyError::Stale));
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        let now = 1_531_420_618;
        let b = BODY.as_bytes();
        assert_eq!(verify(SECRET, None, Some(SIG), b, now), Err(VerifyError::Malformed));
        assert_eq!(verify(SECRET, Some(TS), None, b, now), Err(VerifyError::Malformed));
        assert_eq!(
            verify(SECRET, Some("soon"), Some(SIG), b, now),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v1=00"), b, now),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v0=zz"), b, now),
            Err(VerifyError::Malformed)
        );
    }
}
