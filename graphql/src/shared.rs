//! Types both schemas share: the `Won` scalar and the closed sets of values (DESIGN.md §4:
//! never strings). A client reads the same names in the storefront and the back office.

use async_graphql::{Enum, InputValueError, InputValueResult, Number, Scalar, ScalarType, SimpleObject, Value};
use chrono::{DateTime, FixedOffset};

use crate::storefront::catalog::seoul;

/// Korean won: an integer amount (the won has no minor unit), 64-bit, sent as a JSON number.
///
/// GraphQL's `Int` is 32-bit: a year's sales overflow it. Amounts of orders, lines and
/// payments are never negative; net figures of reports (sales minus refunds) may be.
/// Operations refuse a negative amount where one makes no sense with `INVALID_INPUT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Won(pub i64);

#[Scalar(name = "Won")]
impl ScalarType for Won {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // `as_i64` is `None` for fractions (`1.5`) and for numbers beyond 64 bits.
            Value::Number(n) => n
                .as_i64()
                .map(Won)
                .ok_or_else(|| InputValueError::custom("a whole number of won (64-bit)")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::Number(n) if n.is_i64())
    }

    fn to_value(&self) -> Value {
        Value::Number(Number::from(self.0))
    }
}

/// A calendar date in Seoul, `YYYY-MM-DD` (reports' `from`, `to`, `period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub chrono::NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // Exactly `YYYY-MM-DD`: no time, no offset, no week or ordinal forms.
            Value::String(s) if s.len() == 10 => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("a date as YYYY-MM-DD")),
            _ => Err(InputValueError::custom("a date as YYYY-MM-DD")),
        }
    }

    fn to_value(&self) -> Value {
        // NaiveDate's Display is `YYYY-MM-DD`, without parsing a format string per value.
        Value::String(self.0.to_string())
    }
}

impl From<commerce::Won> for Won {
    fn from(w: commerce::Won) -> Won {
        Won(w.get())
    }
}

impl Won {
    /// The amount as `commerce` takes it, or `INVALID_INPUT` on `field` when negative.
    pub fn non_negative(self, field: &'static str) -> Result<commerce::Won, commerce::Error> {
        commerce::Won::new(self.0).ok_or(commerce::Error::Invalid {
            field,
            reason: "≥ 0".into(),
        })
    }
}

/// Where a cart (and its order) comes from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SalesChannel {
    /// PC web.
    PcWeb,
    /// Mobile web.
    MobileWeb,
    /// The app.
    App,
    /// Another storefront or a marketplace (its name in `channelSource`).
    External,
}

impl SalesChannel {
    /// The database form.
    pub fn as_str(self) -> &'static str {
        match self {
            SalesChannel::PcWeb => "PC_WEB",
            SalesChannel::MobileWeb => "MOBILE_WEB",
            SalesChannel::App => "APP",
            SalesChannel::External => "EXTERNAL",
        }
    }

    /// From the database form; `None` for a value this build does not know.
    pub fn from_db(s: &str) -> Option<SalesChannel> {
        [Self::PcWeb, Self::MobileWeb, Self::App, Self::External]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// How an order is paid.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PaymentMethod {
    /// 무통장입금: the order waits for the deposit to the shop's account.
    BankTransfer,
    /// 가상계좌: a virtual account issued by Toss Payments for this order; the order waits
    /// for the deposit and is paid when Toss reports it.
    VirtualAccount,
    /// Card or easy pay in the Toss Payments window.
    Toss,
    /// KakaoPay.
    Kakaopay,
    /// PortOne V2 (the PG its channel fronts: Inicis, KCP, NICE, …).
    Portone,
}

impl PaymentMethod {
    /// The core's method.
    pub fn core(self) -> commerce::checkout::PaymentMethod {
        use commerce::checkout::PaymentMethod as M;
        match self {
            PaymentMethod::BankTransfer => M::BankTransfer,
            PaymentMethod::VirtualAccount => M::VirtualAccount,
            PaymentMethod::Toss => M::Toss,
            PaymentMethod::Kakaopay => M::KakaoPay,
            PaymentMethod::Portone => M::PortOne,
        }
    }

    /// From the core's method.
    pub fn from_core(m: commerce::checkout::PaymentMethod) -> PaymentMethod {
        use commerce::checkout::PaymentMethod as M;
        match m {
            M::BankTransfer => PaymentMethod::BankTransfer,
            M::VirtualAccount => PaymentMethod::VirtualAccount,
            M::Toss => PaymentMethod::Toss,
            M::KakaoPay => PaymentMethod::Kakaopay,
            M::PortOne => PaymentMethod::Portone,
        }
    }

    /// The database form.
    pub fn as_str(self) -> &'static str {
        self.core().as_str()
    }

    /// From the database form; `None` for a value this build does not know.
    pub fn from_db(s: &str) -> Option<PaymentMethod> {
        commerce::checkout::PaymentMethod::parse(s).map(PaymentMethod::from_core)
    }
}

/// The two kinds of cash receipt.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CashReceiptType {
    /// 소득공제: for a person's income deduction.
    IncomeDeduction,
    /// 지출증빙: a business's proof of expense.
    ExpenditureProof,
}

impl CashReceiptType {
    /// From the database form.
    pub fn from_db(s: &str) -> Option<CashReceiptType> {
        match commerce::checkout::CashReceiptKind::parse(s)? {
            commerce::checkout::CashReceiptKind::IncomeDeduction => Some(CashReceiptType::IncomeDeduction),
            commerce::checkout::CashReceiptKind::ExpenditureProof => Some(CashReceiptType::ExpenditureProof),
        }
    }
}

/// Who processed a payment.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PaymentProvider {
    /// The shop's own bank account (무통장입금), confirmed by staff.
    BankTransfer,
    /// Toss Payments (the window, and virtual accounts).
    Toss,
    /// KakaoPay.
    Kakaopay,
    /// PortOne V2.
    Portone,
}

impl PaymentProvider {
    /// The core's gateway; `None` for bank transfer.
    pub fn gateway(self) -> Option<commerce::payment::Provider> {
        use commerce::payment::Provider as P;
        match self {
            PaymentProvider::BankTransfer => None,
            PaymentProvider::Toss => Some(P::Toss),
            PaymentProvider::Kakaopay => Some(P::KakaoPay),
            PaymentProvider::Portone => Some(P::PortOne),
        }
    }

    /// From the database form.
    pub fn from_db(s: &str) -> Option<PaymentProvider> {
        use commerce::payment::Provider as P;
        match commerce::payment::Provider::parse(s) {
            Some(P::Toss) => Some(PaymentProvider::Toss),
            Some(P::KakaoPay) => Some(PaymentProvider::Kakaopay),
            Some(P::PortOne) => Some(PaymentProvider::Portone),
            None if s == "BANK_TRANSFER" => Some(PaymentProvider::BankTransfer),
            None => None,
        }
    }
}

/// Where a payment attempt is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PaymentStatus {
    /// Opened at the gateway, not paid yet.
    Ready,
    /// A virtual account waits for its deposit.
    WaitingForDeposit,
    /// Paid.
    Paid,
    /// Paid, part of it refunded.
    PartialCancelled,
    /// Refunded or closed in full.
    Cancelled,
    /// Declined, failed or abandoned: no money moved.
    Failed,
}

impl PaymentStatus {
    /// From the database form.
    pub fn from_db(s: &str) -> Option<PaymentStatus> {
        Some(match s {
            "READY" => PaymentStatus::Ready,
            "WAITING_FOR_DEPOSIT" => PaymentStatus::WaitingForDeposit,
            "PAID" => PaymentStatus::Paid,
            "PARTIAL_CANCELLED" => PaymentStatus::PartialCancelled,
            "CANCELLED" => PaymentStatus::Cancelled,
            "FAILED" => PaymentStatus::Failed,
            _ => return None,
        })
    }
}

/// A payment attempt of an order.
#[derive(SimpleObject)]
pub struct Payment {
    /// Who processed it.
    pub provider: PaymentProvider,
    /// The order's method.
    pub method: PaymentMethod,
    /// How much.
    pub amount: Won,
    /// Where it is.
    pub status: PaymentStatus,
    /// When the money arrived (null unless paid).
    pub paid_at: Option<DateTime<FixedOffset>>,
    /// The gateway's receipt page (card slip, cash receipt), when it gives one.
    pub receipt_url: Option<String>,
    /// When the attempt began.
    pub created_at: DateTime<FixedOffset>,
}

impl TryFrom<commerce::order::admin::Payment> for Payment {
    type Error = commerce::Error;

    /// A value this build does not know is a fault (`INTERNAL`), not a string to guess at.
    fn try_from(p: commerce::order::admin::Payment) -> Result<Payment, commerce::Error> {
        let unknown = |what: &'static str, v: &str| commerce::Error::Fault {
            what,
            reason: format!("unknown value {v}"),
        };
        Ok(Payment {
            provider: PaymentProvider::from_db(&p.provider).ok_or_else(|| unknown("payments.provider", &p.provider))?,
            method: PaymentMethod::from_db(&p.method).ok_or_else(|| unknown("payments.method", &p.method))?,
            amount: p.amount.into(),
            status: PaymentStatus::from_db(&p.status).ok_or_else(|| unknown("payments.status", &p.status))?,
            paid_at: p.paid_at.map(seoul),
            receipt_url: p.receipt_url,
            created_at: seoul(p.created_at),
        })
    }
}

/// Where an order is (DESIGN.md §3).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "commerce::order::OrderStatus")]
pub enum OrderStatus {
    /// Waiting for a card or easy-pay confirmation.
    PendingPayment,
    /// Waiting for the bank transfer.
    AwaitingDeposit,
    /// Paid.
    Paid,
    /// Not paid in time.
    Expired,
    /// Being packed.
    Preparing,
    /// With the carrier.
    Shipped,
    /// Delivered.
    Delivered,
    /// Purchase confirmed.
    Completed,
    /// Cancelled.
    Cancelled,
    /// Return requested.
    ReturnRequested,
    /// Returned.
    Returned,
}

/// A page or a notice.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PageKind {
    /// A standing page (회사 소개, 배송 안내).
    Page,
    /// A dated notice (공지사항).
    Notice,
}

impl PageKind {
    /// The database form.
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::Page => "PAGE",
            PageKind::Notice => "NOTICE",
        }
    }

    /// From the database form; `None` for a value this build does not know.
    pub fn from_db(s: &str) -> Option<PageKind> {
        [Self::Page, Self::Notice].into_iter().find(|k| k.as_str() == s)
    }
}

/// A customer's membership tier (회원 등급), evaluated monthly from the last three months'
/// paid amount (thresholds in settings).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CustomerTier {
    /// 일반: every new member.
    Basic,
    /// 실버.
    Silver,
    /// 골드.
    Gold,
    /// VIP.
    Vip,
}

impl CustomerTier {
    /// The database form.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerTier::Basic => "BASIC",
            CustomerTier::Silver => "SILVER",
            CustomerTier::Gold => "GOLD",
            CustomerTier::Vip => "VIP",
        }
    }

    /// From the database form; an unknown value reads as `BASIC`.
    pub fn from_db(s: &str) -> CustomerTier {
        [Self::Silver, Self::Gold, Self::Vip]
            .into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or(CustomerTier::Basic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_reads_64_bit_integers_and_refuses_fractions_and_strings() {
        let big = 9_000_000_000_000i64;
        assert_eq!(
            <Won as ScalarType>::parse(Value::Number(big.into())).ok(),
            Some(Won(big))
        );
        assert_eq!(
            <Won as ScalarType>::parse(Value::Number((-5i64).into())).ok(),
            Some(Won(-5))
        );
        let half = Number::from_f64(1.5).map(Value::Number);
        assert!(half.is_some_and(|v| <Won as ScalarType>::parse(v).is_err()));
        assert!(<Won as ScalarType>::parse(Value::String("3000".into())).is_err());
        assert_eq!(Won(big).to_value(), Value::Number(big.into()));
    }

    #[test]
    fn dates_are_exactly_year_month_day() {
        let ok = <Date as ScalarType>::parse(Value::String("2026-02-28".into()));
        assert_eq!(ok.ok().map(|d| d.0.to_string()), Some("2026-02-28".to_owned()));
        for bad in ["2026-02-30", "2026-2-28", "2026-02-28T00:00:00", "20260228", ""] {
            assert!(<Date as ScalarType>::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(<Date as ScalarType>::parse(Value::Number(20_260_228.into())).is_err());
    }

    #[test]
    fn enums_round_trip_their_database_form() {
        for c in [
            SalesChannel::PcWeb,
            SalesChannel::MobileWeb,
            SalesChannel::App,
            SalesChannel::External,
        ] {
            assert_eq!(SalesChannel::from_db(c.as_str()), Some(c));
        }
        for t in [
            CustomerTier::Basic,
            CustomerTier::Silver,
            CustomerTier::Gold,
            CustomerTier::Vip,
        ] {
            assert_eq!(CustomerTier::from_db(t.as_str()), t);
        }
        assert_eq!(PageKind::from_db("NOTICE"), Some(PageKind::Notice));
        assert_eq!(
            PaymentMethod::from_db("BANK_TRANSFER"),
            Some(PaymentMethod::BankTransfer)
        );
    }
}
