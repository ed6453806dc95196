//! Money: Korean won, which has no minor unit.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of Korean won (no minor unit), never negative.
///
/// There is no `Add`: sums go through `checked_*` so an overflow is an error, not a wrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct Won(i64);

impl Won {
    /// Zero won.
    pub const ZERO: Won = Won(0);

    /// An amount, or `None` if negative.
    pub fn new(won: i64) -> Option<Won> {
        (won >= 0).then_some(Won(won))
    }

    /// The amount in won.
    pub fn get(self) -> i64 {
        self.0
    }

    /// `self + o`, `None` on overflow.
    pub fn checked_add(self, o: Won) -> Option<Won> {
        self.0.checked_add(o.0).map(Won)
    }

    /// `self - o`, `None` if it would go below zero.
    pub fn checked_sub(self, o: Won) -> Option<Won> {
        self.0.checked_sub(o.0).and_then(Won::new)
    }

    /// `self × n`, `None` on overflow.
    pub fn checked_mul(self, n: i64) -> Option<Won> {
        self.0.checked_mul(n).and_then(Won::new)
    }

    /// VAT inside a VAT-included amount: `round(x / 11)`.
    #[must_use]
    pub fn vat_included(self) -> Won {
        Won(self.0 / 11 + i64::from(self.0 % 11 >= 6))
    }
}

impl fmt::Display for Won {
    /// `₩12,900`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        write!(f, "₩{out}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_with_thousands_separators() {
        assert_eq!(Won(0).to_string(), "₩0");
        assert_eq!(Won(3000).to_string(), "₩3,000");
        assert_eq!(Won(1_234_567).to_string(), "₩1,234,567");
    }

    #[test]
    fn vat_rounds_half_up() {
        assert_eq!(Won(11_000).vat_included(), Won(1000));
        assert_eq!(Won(16).vat_included(), Won(1)); // 1.45
        assert_eq!(Won(17).vat_included(), Won(2)); // 1.54
        assert_eq!(Won::new(-1), None);
    }

    proptest! {
        #[test]
        fn vat_is_the_rounded_eleventh(x in 0i64..=i64::MAX / 2) {
            let vat = Won(x).vat_included().get();
            // |vat - x/11| ≤ 0.5, in integers: |11·vat − x| ≤ 5.5
            let diff = (i128::from(vat) * 11 - i128::from(x)).abs();
            prop_assert!(diff <= 5, "x={x} vat={vat}");
        }

        #[test]
        fn checked_arithmetic_never_goes_negative_or_wraps(a in 0i64.., b in 0i64.., n in -3i64..1000) {
            let (a, b) = (Won(a), Won(b));
            if let Some(s) = a.checked_add(b) { prop_assert!(s >= a && s >= b); }
            match a.checked_sub(b) {
                Some(d) => prop_assert_eq!(d.get(), a.get() - b.get()),
                None => prop_assert!(b > a),
            }
            if let Some(m) = a.checked_mul(n) { prop_assert!(m.get() >= 0 && n >= 0); }
        }
    }
}
