//! Mutation payloads: expected failures become `userErrors { field code message }`, faults
//! a top-level `INTERNAL` error.

use async_graphql::{Context, Enum, SimpleObject};
#[cfg(test)]
use commerce::Code;
use commerce::Error;

use crate::error::{lang, to_gql};

/// Stable error codes (the contract; mirrors `commerce::Code`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "commerce::Code")]
pub enum ErrorCode {
    /// Not found.
    NotFound,
    /// Input failed validation.
    InvalidInput,
    /// Not one of our ids.
    InvalidId,
    /// A cursor of another listing.
    InvalidCursor,
    /// `first` out of range.
    PageSizeExceeded,
    /// Already taken.
    AlreadyExists,
    /// Wrong e-mail or password.
    InvalidCredentials,
    /// Too many failed attempts.
    TooManyAttempts,
    /// Too many requests of a guessable kind; try again later.
    RateLimited,
    /// Sign in first.
    Unauthenticated,
    /// Not enough stock.
    OutOfStock,
    /// A price changed since the customer saw it.
    PriceChanged,
    /// The coupon can't be used.
    CouponInvalid,
    /// The cart is empty.
    CartEmpty,
    /// The idempotency key was already used by another cart or customer.
    IdempotencyKeyReused,
    /// Not allowed in the order's state.
    InvalidState,
    /// The amount doesn't match the order.
    AmountMismatch,
    /// A wrong or reused one-time code.
    InvalidTotp,
    /// The login challenge is unknown, used or expired.
    InvalidChallenge,
    /// Two-factor enrollment must come first (or is done already).
    EnrollmentRequired,
    /// A password reset link that is unknown, expired or already used.
    InvalidToken,
    /// The role does not allow it.
    Forbidden,
    /// The payment method is not offered now (bank transfer without a real account).
    PaymentMethodUnavailable,
    /// The withdrawal period (7 days after delivery) for a return is over.
    ReturnPeriodOver,
    /// The Slack bot asked for a Slack user no staff member is linked to.
    SlackUserNotLinked,
    /// The gateway declined the payment (card refused, limit); try another card or method.
    PaymentDeclined,
    /// The gateway failed or its answer did not match the order; nothing was paid.
    PaymentFailed,
    /// The order cannot take this payment in its state (expired, cancelled, paid).
    OrderNotPayable,
    /// Not a JPEG, PNG or WebP picture (sniffed from the bytes), or a broken one.
    UnsupportedMedia,
    /// Beyond a limit: bytes (`media.max_bytes`), pixels a side or decoding memory.
    TooLarge,
    /// The picture is still shown on a product or variant.
    MediaInUse,
    /// A fault on our side.
    Internal,
}

/// An expected failure of a mutation.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path to the input field, e.g. `["lines", "cln_…"]`.
    pub field: Vec<String>,
    /// Stable code.
    pub code: ErrorCode,
    /// For people, in the request's language.
    pub message: String,
}

/// Splits a core result: a value, user errors, or (for faults) a top-level error.
pub fn split<T>(ctx: &Context<'_>, r: Result<T, Error>) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match r {
        Ok(v) => Ok((Some(v), Vec::new())),
        Err(e) if e.is_fault() => Err(to_gql(&e, lang(ctx))),
        Err(e) => Ok((None, vec![user_error(ctx, &e)])),
    }
}

/// One user error from a core error.
pub fn user_error(ctx: &Context<'_>, e: &Error) -> UserError {
    UserError {
        field: e.field(),
        code: e.code().into(),
        message: e.message(lang(ctx)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::InputType;
    use strum::IntoEnumIterator;

    #[test]
    fn every_core_code_has_a_graphql_twin_with_the_same_name() {
        for code in Code::iter() {
            let twin: ErrorCode = code.into();
            assert_eq!(twin.to_value().to_string(), code.as_str(), "{code:?}");
        }
    }
}
