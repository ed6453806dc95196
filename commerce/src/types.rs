//! Input types parsed once at the edge: e-mail, Korean phone numbers, zonecodes, passwords.
//! Below the edge, functions take these types, never raw strings.

use std::fmt;

use crate::Error;

/// An e-mail address, trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an address: `INVALID_INPUT` unless it looks like `local@domain.tld`.
    pub fn parse(s: &str) -> Result<Email, Error> {
        let s = s.trim().to_lowercase();
        let invalid = || Error::Invalid {
            field: "email",
            reason: "not an e-mail address".into(),
        };
        if s.len() > 254 || s.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        ok.then_some(Email(s)).ok_or_else(invalid)
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `ho***@example.com`, for logs and staff who don't need it.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let keep: String = local.chars().take(2).collect();
        format!("{keep}***@{domain}")
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

/// A Korean phone number, stored as digits (`01012345678`), shown with dashes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a mobile number (`01[016789]` + 7–8 digits): `010-1234-5678`, `01012345678`,
    /// `010 1234 5678` and `+82 10-1234-5678` all give `01012345678`.
    pub fn parse_mobile(s: &str) -> Result<PhoneNumber, Error> {
        let digits = Self::digits(s);
        let ok = digits.len() >= 10
            && digits.len() <= 11
            && digits.starts_with("01")
            && matches!(digits.as_bytes()[2], b'0' | b'1' | b'6' | b'7' | b'8' | b'9')
            && (digits.len() == 11 || !digits.starts_with("010"));
        ok.then_some(PhoneNumber(digits)).ok_or(Error::Invalid {
            field: "mobile",
            reason: "not a Korean mobile number (010-1234-5678)".into(),
        })
    }

    /// Parses a mobile or landline number (`02-123-4567`, `031-123-4567`, `070-1234-5678`).
    pub fn parse(s: &str, field: &'static str) -> Result<PhoneNumber, Error> {
        if let Ok(m) = Self::parse_mobile(s) {
            return Ok(m);
        }
        let d = Self::digits(s);
        let landline = (d.starts_with("02") && (9..=10).contains(&d.len()))
            || (d.starts_with('0') && !d.starts_with("01") && (10..=11).contains(&d.len()))
            || (d.starts_with('1') && d.len() == 8); // 1588-1234
        landline.then_some(PhoneNumber(d)).ok_or(Error::Invalid {
            field,
            reason: "not a Korean phone number".into(),
        })
    }

    fn digits(s: &str) -> String {
        let d: String = s.chars().filter(char::is_ascii_digit).collect();
        let t = s.trim_start();
        match d.strip_prefix("82") {
            Some(rest) if t.starts_with('+') || t.starts_with("82") => format!("0{}", rest.trim_start_matches('0')),
            _ => d,
        }
    }

    /// The digits, `01012345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// With dashes: `010-1234-5678`, `02-123-4567`.
    pub fn formatted(&self) -> String {
        let d = &self.0;
        let (a, rest) = if d.starts_with("02") {
            d.split_at(2)
        } else if d.len() == 8 {
            d.split_at(4)
        } else {
            d.split_at(3)
        };
        if rest.len() <= 4 {
            return format!("{a}-{rest}");
        }
        let (b, c) = rest.split_at(rest.len() - 4);
        format!("{a}-{b}-{c}")
    }

    /// `010-****-5678`
    pub fn masked(&self) -> String {
        let f = self.formatted();
        let parts: Vec<&str> = f.split('-').collect();
        match parts.as_slice() {
            [a, b, c] => format!("{a}-{}-{c}", "*".repeat(b.len())),
            _ => f,
        }
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// `**********4567`: an account, card or registration number with all but its last four
/// characters hidden.
pub fn mask_digits(number: &str) -> String {
    let keep = number.len().saturating_sub(4);
    format!("{}{}", "*".repeat(keep), number.get(keep..).unwrap_or(""))
}

/// `홍*동`, `김*`, `남궁**`: the first and last characters of a name, the rest hidden.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Stored digits shown with dashes (`010-1234-5678`); anything unparseable as it is.
pub fn format_phone(digits: &str) -> String {
    PhoneNumber::parse(digits, "phone").map_or_else(|_| digits.to_owned(), |p| p.formatted())
}

/// A phone number (digits) masked: `010-****-5678`; anything else is hidden whole.
pub fn mask_phone(digits: &str) -> String {
    PhoneNumber::parse(digits, "phone").map_or_else(|_| "***".into(), |p| p.masked())
}

/// An e-mail masked: `ho***@example.com`.
pub fn mask_email(email: &str) -> String {
    Email::parse(email).map_or_else(|_| "***".into(), |e| e.masked())
}

/// A 우편번호: 5 digits, as the Daum/Kakao postcode widget returns it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Zonecode(String);

impl Zonecode {
    /// Parses 5 ASCII digits.
    pub fn parse(s: &str) -> Result<Zonecode, Error> {
        let s = s.trim();
        let ok = s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Zonecode(s.to_owned())).ok_or(Error::Invalid {
            field: "zonecode",
            reason: "5 digits".into(),
        })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code as a number, for range checks.
    pub fn number(&self) -> u32 {
        self.0.parse().unwrap_or(0)
    }
}

/// A new password that meets the policy: 8–64 characters with at least two of letters,
/// digits and symbols (the common 영문/숫자/특수문자 조합 rule).
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the policy: `INVALID_INPUT` on `password` otherwise.
    pub fn parse(s: &str) -> Result<NewPassword, Error> {
        let n = s.chars().count();
        let kinds = [
            s.chars().any(char::is_alphabetic),
            s.chars().any(|c| c.is_ascii_digit()),
            s.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
        ]
        .iter()
        .filter(|k| **k)
        .count();
        if !(8..=64).contains(&n) || kinds < 2 {
            return Err(Error::Invalid {
                field: "password",
                reason: "8–64 characters with at least two of letters, digits and symbols".into(),
            });
        }
        Ok(NewPassword(s.to_owned()))
    }

    /// The password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// A LIKE pattern matching `text` anywhere, its wildcards (`%`, `_`, `\`) taken literally.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// Checks a display name: 1–50 characters after trimming.
pub fn parse_name(s: &str, field: &'static str) -> Result<String, Error> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 50 {
        return Err(Error::Invalid {
            field,
            reason: "1–50 characters".into(),
        });
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_normalise_both_ways() {
        for s in [
            "010-1234-5678",
            "01012345678",
            "010 1234 5678",
            "+82 10-1234-5678",
            "+821012345678",
        ] {
            let p = PhoneNumber::parse_mobile(s).expect(s);
            assert_eq!(p.as_str(), "01012345678", "{s}");
            assert_eq!(p.formatted(), "010-1234-5678");
            assert_eq!(p.masked(), "010-****-5678");
        }
        assert_eq!(
            PhoneNumber::parse_mobile("011-123-4567").map(|p| p.formatted()).ok(),
            Some("011-123-4567".into())
        );
        for bad in [
            "010-123-4567",
            "02-123-4567",
            "0101234567890",
            "abc",
            "",
            "012-1234-5678",
        ] {
            assert!(PhoneNumber::parse_mobile(bad).is_err(), "{bad}");
        }
        assert!(!format!("{:?}", PhoneNumber::parse_mobile("01012345678").expect("ok")).contains("1234"));
    }

    #[test]
    fn landlines_are_phone_numbers_but_not_mobiles() {
        assert_eq!(
            PhoneNumber::parse("02-123-4567", "phone").map(|p| p.formatted()).ok(),
            Some("02-123-4567".into())
        );
        assert_eq!(
            PhoneNumber::parse("031-1234-5678", "phone").map(|p| p.formatted()).ok(),
            Some("031-1234-5678".into())
        );
        assert!(PhoneNumber::parse("12", "phone").is_err());
    }

    #[test]
    fn emails_and_zonecodes() {
        assert_eq!(
            Email::parse(" Hong@Example.COM ").map(|e| e.as_str().to_owned()).ok(),
            Some("hong@example.com".into())
        );
        for bad in ["", "a", "a@b", "a@@b.com", "a b@c.com", "@x.com", "a@.com", "a@b..com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse("hong@example.com").map(|e| e.masked()).ok(),
            Some("ho***@example.com".into())
        );
        assert!(Zonecode::parse("06236").is_ok());
        for bad in ["6236", "062366", "0623a", "０６２３６"] {
            assert!(Zonecode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masking() {
        assert_eq!(mask_name("홍길동"), "홍*동");
        assert_eq!(mask_name("김민"), "김*");
        assert_eq!(mask_name("남궁민수"), "남**수");
        assert_eq!(mask_phone("01012345678"), "010-****-5678");
        assert_eq!(mask_email("hong@example.com"), "ho***@example.com");
    }

    #[test]
    fn password_policy() {
        assert!(NewPassword::parse("abcd1234").is_ok());
        assert!(NewPassword::parse("비밀번호!!1234").is_ok());
        for bad in ["abcdefgh", "12345678", "ab1", &"a1".repeat(40)] {
            assert!(NewPassword::parse(bad).is_err(), "{bad}");
        }
    }
}
