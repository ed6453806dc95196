//! The one error type of the core and its stable codes.

use std::fmt;

use crate::{Won, ids::VariantId, order::OrderStatus};

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
    /// Unknown e-mail or wrong password: the same answer for both (`INVALID_CREDENTIALS`).
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    /// Too many failed logins for the account or the IP (`TOO_MANY_ATTEMPTS`).
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    TooManyAttempts {
        /// Seconds until the lock lifts.
        retry_after_secs: i64,
    },
    /// Too many requests of a guessable kind from one client, e-mail or cart (`RATE_LIMITED`).
    #[error("too many requests; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request may succeed.
        retry_after_secs: u64,
    },
    /// No valid access token for an operation that needs one (`UNAUTHENTICATED`).
    #[error("sign in first")]
    Unauthenticated,
    /// Not enough stock for a line (`OUT_OF_STOCK`).
    #[error("not enough stock for {sku}: {available} available")]
    OutOfStock {
        /// The variant.
        variant: VariantId,
        /// Its SKU.
        sku: String,
        /// The cart line, when the error is about one.
        line: Option<String>,
        /// Units that can be bought now.
        available: i32,
    },
    /// A price changed since the customer saw it (`PRICE_CHANGED`); the cart now shows the new one.
    #[error("the price of {sku} changed from {was} to {now}")]
    PriceChanged {
        /// The cart line.
        line: String,
        /// Its SKU.
        sku: String,
        /// What the customer saw.
        was: Won,
        /// The price now.
        now: Won,
    },
    /// A coupon that can't be used for this cart (`COUPON_INVALID`).
    #[error("coupon cannot be used: {0}")]
    CouponInvalid(CouponProblem),
    /// Checkout of an empty cart (`CART_EMPTY`).
    #[error("the cart is empty")]
    CartEmpty,
    /// An idempotency key already used by another cart or customer (`IDEMPOTENCY_KEY_REUSED`):
    /// nothing about that order is told.
    #[error("this idempotency key was already used for another checkout; send a new key")]
    IdempotencyKeyReused,
    /// An order transition from a state that doesn't allow it (`INVALID_STATE`).
    #[error("cannot {action} an order in state {from}")]
    InvalidState {
        /// The order's state.
        from: OrderStatus,
        /// What was tried.
        action: &'static str,
    },
    /// A payment amount that differs from the order's (`AMOUNT_MISMATCH`).
    #[error("amount {got} does not match the order total {expected}")]
    AmountMismatch {
        /// The order's total.
        expected: Won,
        /// What was paid.
        got: Won,
    },
    /// A wrong, reused or expired TOTP or recovery code (`INVALID_TOTP`).
    #[error("wrong or already used code")]
    InvalidTotp,
    /// A login challenge that is unknown, used or expired (`INVALID_CHALLENGE`).
    #[error("the login has expired; start again")]
    InvalidChallenge,
    /// A password reset link that is unknown, expired or already used (`INVALID_TOKEN`).
    #[error("the link is invalid, expired or already used; ask for a new one")]
    InvalidToken,
    /// Two-factor enrollment must come first (`ENROLLMENT_REQUIRED`), or is already done.
    #[error("{0}")]
    Enrollment(&'static str),
    /// The staff member's role does not allow this (`FORBIDDEN`).
    #[error("not allowed: {action}")]
    Forbidden {
        /// What was tried.
        action: &'static str,
    },
    /// A payment method that is switched off or not set up (`PAYMENT_METHOD_UNAVAILABLE`),
    /// e.g. bank transfer while the account is still the demo one.
    #[error("payment method {method} is not available")]
    PaymentMethodUnavailable {
        /// The method, as the API names it (`BANK_TRANSFER`).
        method: &'static str,
    },
    /// A return asked for after the withdrawal period (청약철회 기간, 7 days from delivery)
    /// has ended (`RETURN_PERIOD_OVER`).
    #[error("the return period ended at {until}")]
    ReturnPeriodOver {
        /// When it ended.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// A request of the Slack bot for a Slack user no active staff member is linked to
    /// (`SLACK_USER_NOT_LINKED`): the bot answers with a polite refusal.
    #[error("this Slack user is not linked to a staff member")]
    SlackUserNotLinked,
    /// The gateway declined the payment (`PAYMENT_DECLINED`): a card company's refusal, a
    /// limit. The order stays payable; the customer may try again.
    #[error("{provider} declined the payment: {message} ({code})")]
    PaymentDeclined {
        /// `TOSS`, `KAKAOPAY`, `PORTONE`.
        provider: &'static str,
        /// The gateway's own code, e.g. `REJECT_CARD_COMPANY`.
        code: String,
        /// The gateway's message, for the customer.
        message: String,
    },
    /// The gateway could not be reached or failed (`PAYMENT_FAILED`): an error, a timeout,
    /// an answer that does not match the order (then cancelled at the gateway). Nothing was
    /// paid on our side; the customer may try again.
    #[error("{provider} payment failed: {message} ({code})")]
    PaymentFailed {
        /// `TOSS`, `KAKAOPAY`, `PORTONE`.
        provider: &'static str,
        /// The gateway's code, or ours (`TIMEOUT`, `UNREACHABLE`, `AMOUNT_MISMATCH`, …).
        code: String,
        /// The gateway's message, or ours.
        message: String,
    },
    /// The order cannot take a payment in its state (`ORDER_NOT_PAYABLE`): expired,
    /// cancelled, paid another way, or not a payment of this gateway.
    #[error("order in state {status} cannot be paid this way")]
    OrderNotPayable {
        /// Its state.
        status: OrderStatus,
    },
    /// An upload or import that is not a JPEG, PNG or WebP picture, or a broken one
    /// (`UNSUPPORTED_MEDIA`): sniffed from the bytes, never from the name.
    #[error("unsupported media: {reason}")]
    UnsupportedMedia {
        /// Why, in English.
        reason: String,
    },
    /// An upload or import beyond a limit (`TOO_LARGE`): `bytes` (`media.max_bytes`),
    /// `pixels` a side (`media.max_pixels`) or decoding `memory`.
    #[error("too large: more than {limit} {what}")]
    TooLarge {
        /// `bytes`, `pixels` or `memory`.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A picture still shown on a product or variant can't be deleted (`MEDIA_IN_USE`).
    #[error("the picture is used by {products} product(s) and {variants} variant(s)")]
    MediaInUse {
        /// Products showing it.
        products: i64,
        /// Variants showing it.
        variants: i64,
    },
    /// A fault of the server, not of the caller (`INTERNAL`): a bad key in settings, the
    /// random number generator, a cipher, QR drawing, password hashing or a lost blocking task.
    #[error("internal fault in {what}: {reason}")]
    Fault {
        /// What failed, e.g. `staff.totp_key`.
        what: &'static str,
        /// Details for the log, never shown to callers.
        reason: String,
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
    /// See [`Error::InvalidCredentials`].
    InvalidCredentials,
    /// See [`Error::TooManyAttempts`].
    TooManyAttempts,
    /// See [`Error::RateLimited`].
    RateLimited,
    /// See [`Error::Unauthenticated`].
    Unauthenticated,
    /// See [`Error::OutOfStock`].
    OutOfStock,
    /// See [`Error::PriceChanged`].
    PriceChanged,
    /// See [`Error::CouponInvalid`].
    CouponInvalid,
    /// See [`Error::CartEmpty`].
    CartEmpty,
    /// See [`Error::IdempotencyKeyReused`].
    IdempotencyKeyReused,
    /// See [`Error::InvalidState`].
    InvalidState,
    /// See [`Error::AmountMismatch`].
    AmountMismatch,
    /// See [`Error::InvalidTotp`].
    InvalidTotp,
    /// See [`Error::InvalidChallenge`].
    InvalidChallenge,
    /// See [`Error::Enrollment`].
    EnrollmentRequired,
    /// See [`Error::InvalidToken`].
    InvalidToken,
    /// See [`Error::Forbidden`].
    Forbidden,
    /// See [`Error::PaymentMethodUnavailable`].
    PaymentMethodUnavailable,
    /// See [`Error::ReturnPeriodOver`].
    ReturnPeriodOver,
    /// See [`Error::SlackUserNotLinked`].
    SlackUserNotLinked,
    /// See [`Error::PaymentDeclined`].
    PaymentDeclined,
    /// See [`Error::PaymentFailed`].
    PaymentFailed,
    /// See [`Error::OrderNotPayable`].
    OrderNotPayable,
    /// See [`Error::UnsupportedMedia`].
    UnsupportedMedia,
    /// See [`Error::TooLarge`].
    TooLarge,
    /// See [`Error::MediaInUse`].
    MediaInUse,
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

/// Why a coupon can't be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponProblem {
    /// No such code.
    Unknown,
    /// Switched off.
    Inactive,
    /// Its window hasn't opened.
    NotStarted,
    /// Its window has closed.
    Expired,
    /// The products subtotal is below the minimum.
    MinSubtotal(Won),
    /// Its total usage limit is reached.
    UsedUp,
    /// This customer has used it as often as allowed.
    PerCustomerLimit,
    /// A members-only coupon on a guest's cart: signing in makes it apply.
    LoginRequired,
}

impl fmt::Display for CouponProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CouponProblem::Unknown => f.write_str("no such coupon"),
            CouponProblem::Inactive => f.write_str("the coupon is not active"),
            CouponProblem::NotStarted => f.write_str("the coupon is not valid yet"),
            CouponProblem::Expired => f.write_str("the coupon has expired"),
            CouponProblem::MinSubtotal(min) => write!(f, "needs a products subtotal of at least {min}"),
            CouponProblem::UsedUp => f.write_str("the coupon has been used up"),
            CouponProblem::PerCustomerLimit => f.write_str("you have already used this coupon"),
            CouponProblem::LoginRequired => f.write_str("sign in to use this coupon"),
        }
    }
}

impl CouponProblem {
    fn ko(self) -> String {
        match self {
            CouponProblem::Unknown => "없는 쿠폰입니다".into(),
            CouponProblem::Inactive => "사용할 수 없는 쿠폰입니다".into(),
            CouponProblem::NotStarted => "아직 사용 기간이 아닙니다".into(),
            CouponProblem::Expired => "사용 기간이 지난 쿠폰입니다".into(),
            CouponProblem::MinSubtotal(min) => format!("상품 금액 {min} 이상 구매 시 사용할 수 있습니다"),
            CouponProblem::UsedUp => "선착순 수량이 모두 소진되었습니다".into(),
            CouponProblem::PerCustomerLimit => "이미 사용한 쿠폰입니다".into(),
            CouponProblem::LoginRequired => "회원 전용 쿠폰입니다. 로그인 후 사용해 주세요".into(),
        }
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
    /// A unique violation (23505) as `ALREADY_EXISTS` on `what`; any other database error
    /// stays a fault.
    pub(crate) fn unique(e: sqlx::Error, what: &'static str, value: &str) -> Error {
        match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => Error::AlreadyExists {
                what,
                value: value.to_owned(),
            },
            _ => Error::Db(e),
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> Code {
        match self {
            Error::NotFound { .. } => Code::NotFound,
            Error::Invalid { .. } => Code::InvalidInput,
            Error::InvalidId(_) => Code::InvalidId,
            Error::InvalidCursor => Code::InvalidCursor,
            Error::PageSize { .. } => Code::PageSizeExceeded,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::InvalidCredentials => Code::InvalidCredentials,
            Error::TooManyAttempts { .. } => Code::TooManyAttempts,
            Error::RateLimited { .. } => Code::RateLimited,
            Error::Unauthenticated => Code::Unauthenticated,
            Error::OutOfStock { .. } => Code::OutOfStock,
            Error::PriceChanged { .. } => Code::PriceChanged,
            Error::CouponInvalid(_) => Code::CouponInvalid,
            Error::CartEmpty => Code::CartEmpty,
            Error::IdempotencyKeyReused => Code::IdempotencyKeyReused,
            Error::InvalidState { .. } => Code::InvalidState,
            Error::AmountMismatch { .. } => Code::AmountMismatch,
            Error::InvalidTotp => Code::InvalidTotp,
            Error::InvalidChallenge => Code::InvalidChallenge,
            Error::Enrollment(_) => Code::EnrollmentRequired,
            Error::InvalidToken => Code::InvalidToken,
            Error::Forbidden { .. } => Code::Forbidden,
            Error::PaymentMethodUnavailable { .. } => Code::PaymentMethodUnavailable,
            Error::ReturnPeriodOver { .. } => Code::ReturnPeriodOver,
            Error::SlackUserNotLinked => Code::SlackUserNotLinked,
            Error::PaymentDeclined { .. } => Code::PaymentDeclined,
            Error::PaymentFailed { .. } => Code::PaymentFailed,
            Error::OrderNotPayable { .. } => Code::OrderNotPayable,
            Error::UnsupportedMedia { .. } => Code::UnsupportedMedia,
            Error::TooLarge { .. } => Code::TooLarge,
            Error::MediaInUse { .. } => Code::MediaInUse,
            Error::Fault { .. } | Error::Db(_) | Error::Migrate(_) => Code::Internal,
        }
    }

    /// Whether this is a fault (to log, and hide behind `INTERNAL`) rather than bad input.
    pub fn is_fault(&self) -> bool {
        self.code() == Code::Internal
    }

    /// The input field this error is about, as a path (`["lines", "<line id>"]`); empty if none.
    pub fn field(&self) -> Vec<String> {
        match self {
            Error::Invalid { field, .. } => field.split('.').map(str::to_owned).collect(),
            Error::InvalidCursor => vec!["after".into()],
            Error::PageSize { .. } => vec!["first".into()],
            Error::AlreadyExists { what, .. } => vec![(*what).to_owned()],
            Error::OutOfStock { line: Some(line), .. } | Error::PriceChanged { line, .. } => {
                vec!["lines".into(), line.clone()]
            }
            Error::OutOfStock { variant, .. } => vec!["variantId".into(), variant.to_string()],
            Error::CouponInvalid(_) => vec!["code".into()],
            Error::NotFound { what: "carrier" } => vec!["carrier".into()],
            Error::AmountMismatch { .. } => vec!["amount".into()],
            Error::PaymentMethodUnavailable { .. } => vec!["paymentMethod".into()],
            Error::InvalidToken => vec!["token".into()],
            Error::UnsupportedMedia { .. } | Error::TooLarge { .. } => vec!["file".into()],
            _ => Vec::new(),
        }
    }

    /// A message for people, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match (lang, self) {
            (Lang::En, Error::Fault { .. } | Error::Db(_) | Error::Migrate(_)) => "internal error".into(),
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
            (Lang::Ko, Error::InvalidCredentials) => "이메일 또는 비밀번호가 올바르지 않습니다".into(),
            (Lang::Ko, Error::TooManyAttempts { retry_after_secs }) => {
                format!(
                    "로그인 시도가 너무 많습니다. {}분 후에 다시 시도해 주세요",
                    (retry_after_secs + 59) / 60
                )
            }
            (Lang::Ko, Error::RateLimited { retry_after_secs }) => {
                format!("요청이 너무 많습니다. {retry_after_secs}초 후에 다시 시도해 주세요")
            }
            (Lang::Ko, Error::Unauthenticated) => "로그인이 필요합니다".into(),
            (Lang::Ko, Error::OutOfStock { sku, available, .. }) => {
                format!("재고가 부족합니다 ({sku}: 구매 가능 {available}개)")
            }
            (Lang::Ko, Error::PriceChanged { sku, was, now, .. }) => {
                format!("가격이 변경되었습니다 ({sku}: {was} → {now}). 확인 후 다시 주문해 주세요")
            }
            (Lang::Ko, Error::CouponInvalid(p)) => p.ko(),
            (Lang::Ko, Error::CartEmpty) => "장바구니가 비어 있습니다".into(),
            (Lang::Ko, Error::IdempotencyKeyReused) => {
                "이미 다른 주문에 사용된 요청 키입니다. 새 키로 다시 시도해 주세요".into()
            }
            (Lang::Ko, Error::InvalidState { from, action }) => {
                format!("현재 주문 상태({from})에서는 할 수 없는 작업입니다: {action}")
            }
            (Lang::Ko, Error::AmountMismatch { expected, got }) => {
                format!("입금액 {got}이 주문 금액 {expected}과 다릅니다")
            }
            (Lang::Ko, Error::InvalidTotp) => "인증 코드가 올바르지 않거나 이미 사용되었습니다".into(),
            (Lang::Ko, Error::InvalidChallenge) => "로그인 시간이 지났습니다. 처음부터 다시 로그인해 주세요".into(),
            (Lang::Ko, Error::InvalidToken) => {
                "링크가 올바르지 않거나 만료되었거나 이미 사용되었습니다. 비밀번호 재설정을 다시 요청해 주세요".into()
            }
            (Lang::Ko, Error::Enrollment(_)) => "2단계 인증(OTP) 등록 상태를 확인해 주세요".into(),
            (Lang::Ko, Error::Forbidden { .. }) => "권한이 없습니다".into(),
            (Lang::Ko, Error::PaymentMethodUnavailable { .. }) => "지금은 사용할 수 없는 결제 수단입니다".into(),
            (Lang::Ko, Error::ReturnPeriodOver { until }) => format!(
                "반품 신청 기간(배송 완료 후 7일, {})이 지났습니다",
                until.with_timezone(&crate::SHOP_TZ).format("%Y-%m-%d %H:%M")
            ),
            (Lang::Ko, Error::PaymentDeclined { code, message, .. }) => {
                format!("결제가 거절되었습니다: {message} ({code}). 다른 카드나 결제 수단으로 다시 시도해 주세요")
            }
            (Lang::Ko, Error::PaymentFailed { code, message, .. }) => {
                format!("결제를 완료하지 못했습니다: {message} ({code}). 잠시 후 다시 시도해 주세요")
            }
            (Lang::Ko, Error::OrderNotPayable { status }) => {
                format!("결제할 수 없는 주문입니다 (주문 상태: {status})")
            }
            (Lang::Ko, Error::UnsupportedMedia { .. }) => "JPEG, PNG, WebP 이미지만 올릴 수 있습니다".into(),
            (Lang::Ko, Error::TooLarge { what: "bytes", limit }) => {
                format!("파일이 너무 큽니다 (최대 {} MB)", limit / (1024 * 1024))
            }
            (Lang::Ko, Error::TooLarge { what: "pixels", limit }) => {
                format!("이미지가 너무 큽니다 (한 변 최대 {limit}px)")
            }
            (Lang::Ko, Error::TooLarge { .. }) => "이미지가 너무 큽니다".into(),
            (Lang::Ko, Error::MediaInUse { products, variants }) => {
                format!(
                    "상품 {products}개, 옵션 상품 {variants}개에서 쓰고 있는 이미지입니다. 먼저 연결을 해제해 주세요"
                )
            }
            (Lang::Ko, Error::SlackUserNotLinked) => "Slack 사용자가 직원 계정에 연결되어 있지 않습니다".into(),
            (Lang::Ko, Error::Fault { .. } | Error::Db(_) | Error::Migrate(_)) => "내부 오류가 발생했습니다".into(),
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
        "email" => "이메일",
        "cart" => "장바구니",
        "order" => "주문",
        "cart line" => "장바구니 상품",
        "address" => "배송지",
        "carrier" => "택배사",
        "staff" => "직원",
        "order line" => "주문 상품",
        "inquiry" => "문의",
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
