//! Staff roles and what each may do (checked in the core).

use crate::{Error, ids::StaffId};

/// What a staff member may do (checked in the core).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Everything, staff management included.
    Owner,
    /// Catalog, orders, reports.
    Manager,
    /// Orders and customers with full personal data; no reports.
    Cs,
    /// Read-only: reports, stock, orders with masked personal data (the Slack bot).
    Bot,
}

impl Role {
    /// The database and wire form.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What an admin operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumIter)]
pub enum Permission {
    /// Create, edit, publish products and categories; CMS pages.
    WriteCatalog,
    /// See stock levels.
    ReadStock,
    /// Adjust stock.
    WriteStock,
    /// See orders.
    ReadOrders,
    /// Change orders: deposits, cancels, refunds, status, shipments.
    WriteOrders,
    /// See customers' personal data unmasked.
    ReadPersonalData,
    /// Sales and member reports.
    ReadReports,
    /// Staff accounts, bot tokens, the audit log.
    ManageStaff,
    /// Create, edit and delete coupons and gift rules.
    WritePromotions,
    /// The Slack bot's own bookkeeping: run claims and Slack threads.
    BotState,
    /// Messages to many customers (`messageSend`).
    SendMessages,
    /// Customer inquiries: read and answer them.
    AnswerInquiries,
    /// Background jobs: list and retry them.
    ManageJobs,
}

impl Role {
    /// The role table of the admin API (issue #5): checked in the core.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::{
            AnswerInquiries, BotState, ManageJobs, ReadOrders, ReadPersonalData, ReadReports, ReadStock, SendMessages,
            WriteCatalog, WriteOrders, WritePromotions, WriteStock,
        };
        match self {
            Role::Owner => true,
            Role::Manager => matches!(
                p,
                WriteCatalog
                    | ReadStock
                    | WriteStock
                    | ReadOrders
                    | WriteOrders
                    | ReadPersonalData
                    | ReadReports
                    | WritePromotions
                    | SendMessages
                    | AnswerInquiries
                    | ManageJobs
            ),
            Role::Cs => matches!(
                p,
                ReadStock | ReadOrders | WriteOrders | ReadPersonalData | AnswerInquiries
            ),
            Role::Bot => matches!(p, ReadStock | ReadOrders | ReadReports | BotState),
        }
    }
}

impl Principal {
    /// A staff member acting on their own (a session or a bot token).
    pub fn new(id: StaffId, role: Role) -> Principal {
        Principal {
            id,
            role,
            via_bot: None,
        }
    }

    /// Whether this principal may do what `p` covers: what the role allows, except that a
    /// staff member acting through the Slack bot never reads personal data unmasked (the
    /// bot never sees it, DESIGN §6).
    pub fn allows(self, p: Permission) -> bool {
        self.role.allows(p) && !(self.via_bot.is_some() && p == Permission::ReadPersonalData)
    }

    /// `FORBIDDEN` unless [`Principal::allows`] `p`.
    pub fn require(self, p: Permission, action: &'static str) -> Result<(), Error> {
        if self.allows(p) {
            Ok(())
        } else {
            Err(Error::Forbidden { action })
        }
    }

    /// Whether personal data is shown unmasked to this staff member.
    pub fn sees_personal_data(self) -> bool {
        self.allows(Permission::ReadPersonalData)
    }
}

/// A signed-in staff member, as the admin API sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Who: the staff member whose role applies and whom the audit log names.
    pub id: StaffId,
    /// What they may do.
    pub role: Role,
    /// The bot account this staff member acts through (a bot token's request carrying
    /// their Slack user, `X-Jangteo-Slack-User`); `None` when they act on their own.
    pub via_bot: Option<StaffId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table() {
        use Permission::*;
        use strum::IntoEnumIterator;
        for p in Permission::iter() {
            assert!(Role::Owner.allows(p));
        }
        assert!(Role::Manager.allows(WriteCatalog) && Role::Manager.allows(ReadReports));
        assert!(!Role::Manager.allows(ManageStaff) && Role::Manager.allows(WritePromotions));
        assert!(!Role::Cs.allows(WritePromotions));
        assert!(Role::Cs.allows(WriteOrders) && Role::Cs.allows(ReadPersonalData));
        assert!(!Role::Cs.allows(ReadReports) && !Role::Cs.allows(WriteCatalog));
        for p in [
            WriteCatalog,
            WriteStock,
            WriteOrders,
            ReadPersonalData,
            ManageStaff,
            WritePromotions,
        ] {
            assert!(
                !Role::Bot.allows(p),
                "the bot is read-only and never sees personal data: {p:?}"
            );
        }
        assert!(Role::Bot.allows(ReadReports) && Role::Bot.allows(ReadStock) && Role::Bot.allows(ReadOrders));
        assert!(Role::Bot.allows(BotState) && !Role::Manager.allows(BotState) && !Role::Cs.allows(BotState));
    }

    #[test]
    fn staff_acting_through_the_bot_keep_their_role_but_never_see_personal_data() {
        use Permission::*;
        use strum::IntoEnumIterator;
        let (me, bot) = (StaffId::generate(), StaffId::generate());
        for role in Role::iter() {
            let own = Principal::new(me, role);
            let via = Principal {
                via_bot: Some(bot),
                ..own
            };
            for p in Permission::iter().filter(|p| *p != ReadPersonalData) {
                assert_eq!(own.allows(p), via.allows(p), "{role:?} {p:?}");
            }
            assert!(!via.sees_personal_data() && !via.allows(ReadPersonalData));
            assert!(matches!(
                via.require(ReadPersonalData, "read customers"),
                Err(Error::Forbidden { .. })
            ));
        }
        assert!(Principal::new(me, Role::Cs).sees_personal_data());
    }
}
