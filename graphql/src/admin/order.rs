//! The admin `Order`: every field of the storefront's order, plus what only staff read
//! (`updatedAt`, `customer`, `payments`, `allowedTransitions`, `staffMemo`, `depositorName`,
//! `maskedFields`), and the admin `OrderPayload`.
//!
//! Both schemas call their order type `Order`: each merges the shared
//! [`OrderFields`](crate::storefront::orders::OrderFields), so the storefront's `Order`
//! itself never enters the admin schema (two types named `Order` would panic the build).

use async_graphql::{Context, MergedObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{Error, order::admin::StaffOrder};

use super::{context::Cx, customers::CustomerRecord, seoul};
use crate::{
    error::{lang, to_gql},
    shared::{CashReceiptType, OrderStatus},
    storefront::{UserError, orders::OrderFields, split},
};

/// An order as staff see it.
#[derive(MergedObject)]
#[graphql(name = "Order")]
pub struct AdminOrder(OrderFields, AdminOrderFields);

impl From<StaffOrder> for AdminOrder {
    fn from(o: StaffOrder) -> AdminOrder {
        let fields = AdminOrderFields {
            customer_id: o.order.customer_id,
            updated_at: o.updated_at,
            staff_memo: o.staff_memo,
            cash_receipt: o.cash_receipt,
            depositor_name: o.order.depositor_name.clone(),
            masked_fields: o.masked_fields,
            allowed_transitions: o.allowed_transitions,
        };
        AdminOrder(OrderFields(o.order), fields)
    }
}

/// A cash receipt to issue.
#[derive(async_graphql::SimpleObject)]
pub struct CashReceipt {
    /// `INCOME_DEDUCTION` (소득공제) or `EXPENDITURE_PROOF` (지출증빙).
    #[graphql(name = "type")]
    kind: CashReceiptType,
    /// Phone, business registration or cash-receipt card number.
    number: String,
}

/// What only staff read of an order.
pub struct AdminOrderFields {
    customer_id: Option<commerce::ids::CustomerId>,
    updated_at: chrono::DateTime<chrono::Utc>,
    staff_memo: Option<String>,
    cash_receipt: Option<(String, String)>,
    depositor_name: Option<String>,
    masked_fields: &'static [&'static str],
    allowed_transitions: Vec<commerce::order::OrderStatus>,
}

#[Object]
impl AdminOrderFields {
    /// When it last changed (state, memo).
    async fn updated_at(&self) -> DateTime<FixedOffset> {
        seoul(self.updated_at)
    }

    /// The member who ordered, or null for a guest (masked like the order).
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<CustomerRecord>> {
        let Some(id) = self.customer_id else {
            return Ok(None);
        };
        let cx = Cx::staff(ctx).await?;
        let found = cx
            .loaders(ctx)?
            .customer
            .load_one(id)
            .await
            .map_err(|e| to_gql(&e, lang(ctx)))?;
        Ok(found.map(|c| CustomerRecord::new(c, cx.principal)))
    }

    /// The states the caller can move it to now, each by its own operation
    /// (`orderMarkDeposited`, `orderSetStatus`, `shipmentCreate`, `orderCancel`); empty for
    /// roles that can't change orders.
    async fn allowed_transitions(&self) -> Vec<OrderStatus> {
        self.allowed_transitions.iter().map(|s| (*s).into()).collect()
    }

    /// 직원 메모: an internal note (`orderMemoSet`), never shown to the customer.
    async fn staff_memo(&self) -> Option<&str> {
        self.staff_memo.as_deref()
    }

    /// The cash receipt (현금영수증) asked for at checkout: `INCOME_DEDUCTION` or
    /// `EXPENDITURE_PROOF`, and the number to issue it to (masked but for the last four
    /// digits for roles that don't see personal data). A virtual account's was sent to
    /// Toss, which issues it on deposit; a bank transfer's staff issue themselves.
    async fn cash_receipt(&self) -> Option<CashReceipt> {
        let (kind, number) = self.cash_receipt.as_ref()?;
        Some(CashReceipt {
            kind: CashReceiptType::from_db(kind)?,
            number: number.clone(),
        })
    }

    /// 입금자명: the name the bank transfer is expected under.
    async fn depositor_name(&self) -> Option<&str> {
        self.depositor_name.as_deref()
    }

    /// The fields shown masked to the caller (e.g. `phone`: `010-****-5678` is not a
    /// number); empty when nothing is.
    async fn masked_fields(&self) -> Vec<&'static str> {
        self.masked_fields.to_vec()
    }
}

/// The result of an admin order mutation.
#[derive(SimpleObject)]
#[graphql(name = "OrderPayload")]
pub struct AdminOrderPayload {
    /// The order after the change.
    order: Option<AdminOrder>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

impl AdminOrderPayload {
    /// Wraps a core result: the order, a user error, or (a fault) a top-level error.
    pub fn from(ctx: &Context<'_>, r: Result<StaffOrder, Error>) -> Result<AdminOrderPayload> {
        let (order, user_errors) = split(ctx, r)?;
        Ok(AdminOrderPayload {
            order: order.map(AdminOrder::from),
            user_errors,
        })
    }
}
