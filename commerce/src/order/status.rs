//! The order state machine (DESIGN.md §3). Every transition is a function naming its
//! sources; its UPDATE repeats them (`… AND status = ANY(sources)`) so one racer wins.

use std::fmt;

use crate::Error;

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Placed, waiting for a card or easy-pay confirmation.
    PendingPayment,
    /// Waiting for a bank transfer or virtual-account deposit.
    AwaitingDeposit,
    /// Paid.
    Paid,
    /// Not paid by the due time; stock released.
    Expired,
    /// Being packed.
    Preparing,
    /// Handed to the carrier.
    Shipped,
    /// Delivered.
    Delivered,
    /// Purchase confirmed (or 7 days after delivery).
    Completed,
    /// Cancelled before shipping; stock released, payment refunded.
    Cancelled,
    /// The customer asked to return it.
    ReturnRequested,
    /// Returned and refunded.
    Returned,
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition: its name and the states it may start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumIter)]
pub enum Transition {
    /// Card or easy pay confirmed: `PENDING_PAYMENT` → `PAID`.
    Pay,
    /// Bank transfer or virtual account issued: `PENDING_PAYMENT` → `AWAITING_DEPOSIT`.
    AwaitDeposit,
    /// Deposit confirmed: `AWAITING_DEPOSIT` → `PAID`.
    ConfirmDeposit,
    /// Due time passed: `PENDING_PAYMENT`/`AWAITING_DEPOSIT` → `EXPIRED`.
    Expire,
    /// Packing starts: `PAID` → `PREPARING`.
    Prepare,
    /// Handed to the carrier: `PREPARING` → `SHIPPED`.
    Ship,
    /// Delivered: `SHIPPED` → `DELIVERED`.
    Deliver,
    /// Purchase confirmed: `DELIVERED` → `COMPLETED`.
    Complete,
    /// Cancelled before shipping.
    Cancel,
    /// Return asked for after delivery: `DELIVERED` → `RETURN_REQUESTED`.
    RequestReturn,
    /// Return received: `RETURN_REQUESTED` → `RETURNED`.
    AcceptReturn,
    /// Return refused: `RETURN_REQUESTED` → `DELIVERED`.
    RejectReturn,
}

impl Transition {
    /// The states this transition may start from.
    pub fn sources(self) -> &'static [OrderStatus] {
        use OrderStatus::{AwaitingDeposit, Delivered, Paid, PendingPayment, Preparing, ReturnRequested, Shipped};
        match self {
            Transition::Pay | Transition::AwaitDeposit => &[PendingPayment],
            Transition::ConfirmDeposit => &[AwaitingDeposit],
            Transition::Expire => &[PendingPayment, AwaitingDeposit],
            Transition::Prepare => &[Paid],
            Transition::Ship => &[Preparing],
            Transition::Deliver => &[Shipped],
            Transition::Complete | Transition::RequestReturn => &[Delivered],
            Transition::Cancel => &[PendingPayment, AwaitingDeposit, Paid, Preparing],
            Transition::AcceptReturn | Transition::RejectReturn => &[ReturnRequested],
        }
    }

    /// Where it leads.
    pub fn target(self) -> OrderStatus {
        use OrderStatus::{
            AwaitingDeposit, Cancelled, Completed, Delivered, Expired, Paid, Preparing, ReturnRequested, Returned,
            Shipped,
        };
        match self {
            Transition::Pay | Transition::ConfirmDeposit => Paid,
            Transition::AwaitDeposit => AwaitingDeposit,
            Transition::Expire => Expired,
            Transition::Prepare => Preparing,
            Transition::Ship => Shipped,
            Transition::Deliver | Transition::RejectReturn => Delivered,
            Transition::Complete => Completed,
            Transition::Cancel => Cancelled,
            Transition::RequestReturn => ReturnRequested,
            Transition::AcceptReturn => Returned,
        }
    }

    /// Lower-case name for messages and history.
    pub fn name(self) -> &'static str {
        match self {
            Transition::Pay => "pay",
            Transition::AwaitDeposit => "await deposit",
            Transition::ConfirmDeposit => "confirm the deposit of",
            Transition::Expire => "expire",
            Transition::Prepare => "prepare",
            Transition::Ship => "ship",
            Transition::Deliver => "deliver",
            Transition::Complete => "complete",
            Transition::Cancel => "cancel",
            Transition::RequestReturn => "request a return of",
            Transition::AcceptReturn => "accept the return of",
            Transition::RejectReturn => "reject the return of",
        }
    }

    /// The sources in their database form, for `… AND status = ANY($n)`.
    pub fn source_names(self) -> Vec<String> {
        self.sources().iter().map(|s| s.as_str().to_owned()).collect()
    }
}

impl OrderStatus {
    /// The wire and database form, e.g. `AWAITING_DEPOSIT`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the database form.
    pub fn parse(s: &str) -> Result<OrderStatus, Error> {
        s.parse().map_err(|_| Error::Invalid {
            field: "status",
            reason: format!("unknown status {s}"),
        })
    }

    /// Applies `t`: its target, or `INVALID_STATE` from a state it doesn't start from.
    pub fn apply(self, t: Transition) -> Result<OrderStatus, Error> {
        if t.sources().contains(&self) {
            Ok(t.target())
        } else {
            Err(Error::InvalidState {
                from: self,
                action: t.name(),
            })
        }
    }

    /// Whether the order has left with the carrier (now or earlier): its tracking page is
    /// shown from here on, and it can no longer be cancelled (only returned).
    pub fn has_shipped(self) -> bool {
        matches!(
            self,
            OrderStatus::Shipped
                | OrderStatus::Delivered
                | OrderStatus::Completed
                | OrderStatus::ReturnRequested
                | OrderStatus::Returned
        )
    }

    /// Whether stock is still allocated to an order in this state.
    pub fn holds_allocation(self) -> bool {
        matches!(
            self,
            OrderStatus::PendingPayment | OrderStatus::AwaitingDeposit | OrderStatus::Paid | OrderStatus::Preparing
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use strum::IntoEnumIterator;

    #[test]
    fn the_happy_paths() {
        use OrderStatus::*;
        let s = PendingPayment
            .apply(Transition::AwaitDeposit)
            .and_then(|s| s.apply(Transition::ConfirmDeposit));
        assert_eq!(s.ok(), Some(Paid));
        let path = [
            Transition::Prepare,
            Transition::Ship,
            Transition::Deliver,
            Transition::Complete,
        ];
        assert_eq!(path.iter().try_fold(Paid, |s, t| s.apply(*t)).ok(), Some(Completed));
        assert!(matches!(
            Shipped.apply(Transition::Cancel),
            Err(Error::InvalidState { from: Shipped, .. })
        ));
        assert_eq!(OrderStatus::parse("AWAITING_DEPOSIT").ok(), Some(AwaitingDeposit));
        for s in OrderStatus::iter() {
            assert_eq!(OrderStatus::parse(s.as_str()).ok(), Some(s));
        }
    }

    #[test]
    fn a_shipped_order_is_never_cancelled_and_only_shipping_leads_there() {
        for s in OrderStatus::iter() {
            if s.has_shipped() {
                assert!(s.apply(Transition::Cancel).is_err(), "{s}");
                assert!(!s.holds_allocation(), "{s}");
            }
            for t in Transition::iter() {
                if let Ok(next) = s.apply(t) {
                    // Nothing enters the shipped states except by shipping.
                    assert!(
                        !next.has_shipped() || s.has_shipped() || t == Transition::Ship,
                        "{s} → {next}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_sequence_follows_the_rules(steps in proptest::collection::vec(0usize..12, 0..30)) {
            use OrderStatus::*;
            let all: Vec<Transition> = Transition::iter().collect();
            let mut s = PendingPayment;
            let mut shipped = false;
            for i in steps {
                let t = all[i % all.len()];
                match s.apply(t) {
                    Ok(next) => {
                        prop_assert!(t.sources().contains(&s));
                        if t == Transition::Cancel { prop_assert!(!shipped, "cancelled after shipping"); }
                        shipped |= next == Shipped;
                        s = next;
                    }
                    Err(Error::InvalidState { from, .. }) => {
                        prop_assert_eq!(from, s);
                        prop_assert!(!t.sources().contains(&s));
                    }
                    Err(e) => prop_assert!(false, "unexpected {}", e),
                }
                // Terminal states take no transition.
                if matches!(s, Expired | Completed | Cancelled | Returned) {
                    for t in &all { prop_assert!(s.apply(*t).is_err()); }
                }
            }
        }
    }
}
