//! Every kind of id, in one registry.
//!
//! Ids are UUID v7 (time-ordered) in the database. Clients see them as opaque strings with
//! a kind prefix (`prd_0193…`), so an id of one kind is never taken for another.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type, Serialize, Deserialize)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The prefix of this kind's opaque form.
            pub const PREFIX: &'static str = $prefix;

            /// A new, time-ordered id (UUID v7).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// Parses the opaque form; `INVALID_ID` otherwise.
            fn from_str(s: &str) -> Result<Self, Error> {
                s.strip_prefix(concat!($prefix, "_"))
                    .filter(|hex| hex.len() == 32)
                    .and_then(|hex| Uuid::try_parse(hex).ok())
                    .map(Self)
                    .ok_or_else(|| Error::InvalidId(s.chars().take(64).collect()))
            }
        }
    };
}

id!(/// A category.
    CategoryId, "cat");
id!(/// A product.
    ProductId, "prd");
id!(/// A product variant (what is bought: one SKU).
    VariantId, "var");
id!(/// A product image.
    ImageId, "img");
id!(/// A picture: uploaded, imported or an outside URL (product media).
    MediaId, "med");
id!(/// A customer.
    CustomerId, "cus");
id!(/// A customer's saved address.
    AddressId, "adr");
id!(/// A cart.
    CartId, "crt");
id!(/// A line of a cart.
    CartLineId, "cln");
id!(/// A gift-with-purchase rule.
    GiftRuleId, "gft");
id!(/// A coupon.
    CouponId, "cpn");
id!(/// An order.
    OrderId, "ord");
id!(/// A line of an order.
    OrderLineId, "oln");
id!(/// A payment or deposit.
    PaymentId, "pay");
id!(/// A refund.
    RefundId, "rfd");
id!(/// A staff member.
    StaffId, "stf");
id!(/// A CMS page or notice.
    PageId, "pge");
id!(/// A bot token (the secret itself is never stored or shown again).
    BotTokenId, "btk");
id!(/// A shipment: one parcel of an order with its carrier and tracking number.
    ShipmentId, "shp");
id!(/// A customer's return request (청약철회) of delivered order lines.
    ReturnRequestId, "rtn");
id!(/// A background job (an e-mail to send, a schedule's run).
    JobId, "job");
id!(/// A message sent (an e-mail, SMS or Alimtalk).
    MessageId, "msg");
id!(/// A proactive alert for the Slack bot: one condition from when it held until it cleared.
    AlertId, "alr");
id!(/// A customer inquiry (1:1 문의).
    InquiryId, "inq");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_form_round_trips_and_keeps_kinds_apart() {
        let id = ProductId::generate();
        let s = id.to_string();
        assert!(s.starts_with("prd_") && s.len() == 36, "{s}");
        assert_eq!(s.parse::<ProductId>().ok(), Some(id));
        assert!(s.parse::<VariantId>().is_err());
        assert!("prd_xyz".parse::<ProductId>().is_err());
        assert!(format!("{}", id.0).parse::<ProductId>().is_err());
    }
}
