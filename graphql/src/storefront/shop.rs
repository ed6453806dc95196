//! Storefront `shop`: the shop's name, shipping terms, how customers can pay, and the business
//! details Korean law asks every online shop to show (전자상거래법 §10: 상호, 대표자,
//! 사업자등록번호, 통신판매업 신고번호, 주소, 전화, 전자우편, 개인정보관리책임자), all
//! from settings: no database round trip, so a layout query's `shop` is free.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject};
use commerce::{Settings, settings::BusinessSettings};

use crate::shared::{PaymentMethod, Won};

/// The storefront's `shop` query.
#[derive(Default)]
pub struct ShopQuery;

#[Object]
impl ShopQuery {
    /// The shop itself: what every page's header and footer show.
    #[allow(clippy::unused_async)] // async-graphql resolvers with a context must be async
    async fn shop(&self, ctx: &Context<'_>) -> Result<Shop> {
        Ok(Shop(ctx.data::<Arc<Settings>>()?.clone()))
    }
}

/// The shop.
pub struct Shop(Arc<Settings>);

/// An extra shipping fee for a region (제주, 도서산간), charged even when shipping is free.
#[derive(SimpleObject)]
pub struct RemoteArea {
    /// The region, e.g. `제주`.
    name: String,
    /// Extra fee per order.
    fee: Won,
}

/// The seller, as the footer must show it.
#[derive(SimpleObject)]
pub struct Business {
    /// 상호.
    company_name: String,
    /// 대표자.
    ceo: String,
    /// 사업자등록번호.
    registration_number: String,
    /// 통신판매업 신고번호.
    mail_order_number: String,
    /// 사업장 소재지.
    address: String,
    /// 고객센터 전화.
    phone: String,
    /// 전자우편.
    email: String,
    /// 개인정보관리책임자.
    privacy_officer: String,
}

impl From<&BusinessSettings> for Business {
    fn from(b: &BusinessSettings) -> Business {
        Business {
            company_name: b.company_name.clone(),
            ceo: b.ceo.clone(),
            registration_number: b.registration_number.clone(),
            mail_order_number: b.mail_order_number.clone(),
            address: b.address.clone(),
            phone: b.phone.clone(),
            email: b.email.clone(),
            privacy_officer: b.privacy_officer.clone(),
        }
    }
}

#[Object]
impl Shop {
    /// The shop's name.
    async fn name(&self) -> &str {
        &self.0.shop.name
    }
    /// One line about the shop.
    async fn description(&self) -> &str {
        &self.0.shop.description
    }
    /// Always `KRW`; money fields are integer won.
    async fn currency(&self) -> &'static str {
        "KRW"
    }
    /// Shipping fee per order below `freeShippingOver`.
    async fn shipping_fee(&self) -> Won {
        Won(self.0.shipping.flat_fee)
    }
    /// Products subtotal from which shipping is free.
    async fn free_shipping_over(&self) -> Won {
        Won(self.0.shipping.free_over)
    }
    /// Extra fees by region, charged even when shipping is free.
    async fn remote_areas(&self) -> Vec<RemoteArea> {
        self.0
            .shipping
            .remote_areas
            .iter()
            .map(|a| RemoteArea {
                name: a.name.clone(),
                fee: Won(a.fee),
            })
            .collect()
    }
    /// Days a bank-transfer order waits for the deposit before it expires.
    async fn bank_transfer_due_days(&self) -> i32 {
        i32::try_from(self.0.bank_transfer.due_days).unwrap_or(i32::MAX)
    }
    /// How customers can pay right now (checkout refuses the others with
    /// `PAYMENT_METHOD_UNAVAILABLE`).
    #[allow(clippy::unused_async)] // a resolver with a context is async in async-graphql
    async fn payment_methods(&self, ctx: &Context<'_>) -> Result<Vec<PaymentMethod>> {
        let gateways = ctx.data::<std::sync::Arc<commerce::payment::Gateways>>()?;
        Ok(commerce::checkout::PaymentMethod::ALL
            .into_iter()
            .filter(|m| m.is_available(&self.0, gateways))
            .map(PaymentMethod::from_core)
            .collect())
    }
    /// The seller's details for the footer (전자상거래법 §10).
    async fn business(&self) -> Business {
        Business::from(&self.0.shop.business)
    }
}
