//! The admin schema (`POST /admin/graphql`): staff login with TOTP, then the shop's
//! back office. Everything but the login steps needs a staff session with TOTP active.

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, Enum, ID, MergedObject, Object, Result, Schema, SchemaBuilder, SimpleObject,
};
use commerce::{Error, Settings, staff};
use sqlx::PgPool;

use crate::{
    error::{GqlResult, lang, to_gql},
    storefront::{Caller, UserError, split},
};

/// Admin queries.
#[derive(MergedObject, Default)]
pub struct Query(AdminQuery, back_office::BackOfficeQuery);

/// Admin mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(AdminMutation, back_office::BackOfficeMutation);

/// The admin schema type.
pub type AdminSchema = Schema<Query, Mutation, EmptySubscription>;

/// Complexity limit, each root field counting [`crate::limits::ROOT_FIELD_COST`].
const MAX_COMPLEXITY: usize = 5000;

// The complexity limit is set by `limits::Schemas::build`.
fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).limit_depth(12)
}

/// The schemas with their shared data: one for requests with one root field, one for
/// requests with several (`limits.rs`).
pub fn schema(pool: PgPool, settings: Arc<Settings>) -> crate::limits::Schemas<AdminSchema> {
    crate::limits::Schemas::build(MAX_COMPLEXITY, || builder().data(pool.clone()).data(settings.clone()))
}

/// The schema in SDL, as committed in `graphql/admin.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn caller<'a>(ctx: &'a Context<'_>) -> &'a Caller {
    static NOBODY: Caller = Caller { bearer: None, ip: None };
    ctx.data_opt::<Caller>().unwrap_or(&NOBODY)
}

fn settings<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Settings>> {
    ctx.data::<Arc<Settings>>()
}

/// The signed-in staff member, or a top-level `UNAUTHENTICATED` error.
pub async fn principal(ctx: &Context<'_>) -> Result<staff::Principal> {
    let pool = ctx.data::<PgPool>()?;
    let s = settings(ctx)?;
    let Some(token) = caller(ctx).bearer.as_deref() else {
        return Err(to_gql(&Error::Unauthenticated, lang(ctx)));
    };
    staff::authenticate(pool, &s.staff, token)
        .await
        .map_err(|e| to_gql(&e, lang(ctx)))
}

/// A staff role.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "commerce::staff::Role")]
pub enum StaffRole {
    /// Everything, staff management included.
    Owner,
    /// Catalog, orders, reports.
    Manager,
    /// Orders and customers.
    Cs,
    /// Read-only, masked personal data (the Slack bot).
    Bot,
}

/// A staff member.
#[derive(SimpleObject)]
pub struct StaffMember {
    /// Opaque id.
    id: ID,
    /// Sign-in e-mail.
    email: String,
    /// Name.
    name: String,
    /// Role.
    role: StaffRole,
    /// Two-factor login is set up.
    totp_enabled: bool,
}

impl From<staff::Staff> for StaffMember {
    fn from(s: staff::Staff) -> StaffMember {
        StaffMember {
            id: ID(s.id.to_string()),
            email: s.email,
            name: s.name,
            role: s.role.into(),
            totp_enabled: s.totp_enabled,
        }
    }
}

/// Staff login queries.
#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// The signed-in staff member.
    async fn staff_me(&self, ctx: &Context<'_>) -> Result<StaffMember> {
        let p = principal(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        Ok(staff::get(pool, p.id).await.gql(ctx)?.into())
    }
}

/// Step one of a staff login.
#[derive(SimpleObject)]
pub struct StaffLoginPayload {
    /// For step two (`staffVerifyTotp`, or enrollment); valid for a few minutes, once.
    challenge: Option<String>,
    /// No authenticator yet: `staffTotpEnroll`, then `staffTotpActivate`.
    enrollment_required: Option<bool>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// An authenticator to add.
#[derive(SimpleObject)]
pub struct StaffTotpEnrollPayload {
    /// `otpauth://totp/…?secret=…` for the authenticator app.
    otpauth_url: Option<String>,
    /// The same as a QR code, `data:image/png;base64,…`.
    qr_code_png: Option<String>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Two-factor login switched on.
#[derive(SimpleObject)]
pub struct StaffTotpActivatePayload {
    /// The session: `Authorization: Bearer …`.
    token: Option<String>,
    /// Ten one-time recovery codes, shown only now.
    recovery_codes: Option<Vec<String>>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Step two of a staff login.
#[derive(SimpleObject)]
pub struct StaffVerifyTotpPayload {
    /// The session: `Authorization: Bearer …`.
    token: Option<String>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of logout.
#[derive(SimpleObject)]
pub struct StaffLogoutPayload {
    /// The session is revoked.
    ok: bool,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Staff login mutations.
#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Step one: e-mail and password → a challenge.
    async fn staff_login(&self, ctx: &Context<'_>, email: String, password: String) -> Result<StaffLoginPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let r = staff::login(pool, &s.staff, &email, &password, caller(ctx).ip.as_deref()).await;
        let (c, user_errors) = split(ctx, r)?;
        Ok(StaffLoginPayload {
            enrollment_required: c.as_ref().map(|c| c.enrollment_required),
            challenge: c.map(|c| c.token),
            user_errors,
        })
    }

    /// First login: a new authenticator secret for the challenge's staff member.
    async fn staff_totp_enroll(&self, ctx: &Context<'_>, challenge: String) -> Result<StaffTotpEnrollPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let (e, user_errors) = split(ctx, staff::totp_enroll(pool, &s.staff, &challenge).await)?;
        Ok(StaffTotpEnrollPayload {
            otpauth_url: e.as_ref().map(|e| e.otpauth_url.clone()),
            qr_code_png: e.map(|e| e.qr_code_png),
            user_errors,
        })
    }

    /// First login: a code from the new authenticator switches TOTP on.
    async fn staff_totp_activate(
        &self,
        ctx: &Context<'_>,
        challenge: String,
        code: String,
    ) -> Result<StaffTotpActivatePayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let r = staff::totp_activate(pool, &s.staff, &challenge, &code, caller(ctx).ip.as_deref()).await;
        let (g, user_errors) = split(ctx, r)?;
        Ok(StaffTotpActivatePayload {
            token: g.as_ref().map(|g| g.token.clone()),
            recovery_codes: g.map(|g| g.recovery_codes),
            user_errors,
        })
    }

    /// Step two: a 6-digit code or a recovery code → a session.
    async fn staff_verify_totp(
        &self,
        ctx: &Context<'_>,
        challenge: String,
        code: String,
    ) -> Result<StaffVerifyTotpPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let r = staff::verify(pool, &s.staff, &challenge, &code, caller(ctx).ip.as_deref()).await;
        let (token, user_errors) = split(ctx, r)?;
        Ok(StaffVerifyTotpPayload { token, user_errors })
    }

    /// Ends the session sent with this request.
    async fn staff_logout(&self, ctx: &Context<'_>) -> Result<StaffLogoutPayload> {
        let pool = ctx.data::<PgPool>()?;
        let r = match caller(ctx).bearer.as_deref() {
            Some(t) => staff::logout(pool, t, caller(ctx).ip.as_deref()).await,
            None => Err(Error::Unauthenticated),
        };
        let (ok, user_errors) = split(ctx, r)?;
        Ok(StaffLogoutPayload {
            ok: ok.is_some(),
            user_errors,
        })
    }
}

/// Admin orders, the bot token and the audit log.
pub mod back_office {
    use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
    use chrono::{DateTime, FixedOffset};
    use commerce::{
        Error, Won,
        ids::{OrderId, StaffId},
        order::{OrderKey, admin as orders},
        staff,
    };
    use sqlx::PgPool;

    use super::{caller, principal};
    use crate::{
        error::{GqlResult, lang, to_gql},
        storefront::{
            UserError,
            orders::{Order, OrderConnection, OrderPayload, OrderStatus},
            pages::{Page, PageKind},
            split,
        },
    };

    fn seoul(t: chrono::DateTime<chrono::Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&commerce::SHOP_TZ).fixed_offset()
    }

    /// Which orders to list.
    #[derive(InputObject, Default)]
    pub struct OrderFilterInput {
        /// Only in this state.
        status: Option<OrderStatus>,
        /// `PC_WEB`, `MOBILE_WEB`, `APP`, `EXTERNAL`.
        channel: Option<String>,
        /// Placed at or after.
        from: Option<DateTime<FixedOffset>>,
        /// Placed before.
        to: Option<DateTime<FixedOffset>>,
        /// Order number, orderer or recipient name, or phone (any part).
        search: Option<String>,
    }

    /// Which audit entries to list.
    #[derive(InputObject, Default)]
    pub struct AuditFilterInput {
        /// Only this staff member's.
        staff_id: Option<ID>,
        /// Actions starting with this, e.g. `staff.login` or `order.`.
        action: Option<String>,
        /// At or after.
        from: Option<DateTime<FixedOffset>>,
        /// Before.
        to: Option<DateTime<FixedOffset>>,
    }

    /// One audit log entry.
    #[derive(SimpleObject)]
    pub struct AuditEntry {
        /// Position (also the cursor).
        id: ID,
        /// Who.
        staff_id: Option<ID>,
        /// Their e-mail.
        staff_email: Option<String>,
        /// What, e.g. `order.refund`.
        action: String,
        /// On what.
        target: String,
        /// Before/after summary (JSON).
        summary: String,
        /// From where.
        ip: Option<String>,
        /// When.
        at: DateTime<FixedOffset>,
    }

    /// A page of audit entries, newest first.
    #[derive(SimpleObject)]
    pub struct AuditConnection {
        /// Entries.
        nodes: Vec<AuditEntry>,
        /// More follow `endCursor`.
        has_next_page: bool,
        /// Pass as `after`.
        end_cursor: Option<String>,
    }

    /// A carrier.
    #[derive(SimpleObject)]
    pub struct Carrier {
        /// Code, e.g. `CJ`.
        code: String,
        /// Name.
        name: String,
        /// Tracking page, `{n}` standing for the number.
        tracking_url_template: String,
    }

    /// A shipment.
    #[derive(SimpleObject)]
    pub struct Shipment {
        /// Carrier code.
        carrier: String,
        /// Carrier name.
        carrier_name: String,
        /// Digits.
        tracking_number: String,
        /// The carrier's tracking page.
        tracking_url: String,
    }

    /// The result of shipping an order.
    #[derive(SimpleObject)]
    pub struct ShipmentCreatePayload {
        /// The shipment.
        shipment: Option<Shipment>,
        /// The order, now `SHIPPED`.
        order: Option<Order>,
        /// The carrier's tracking page.
        tracking_url: Option<String>,
        /// What went wrong.
        user_errors: Vec<UserError>,
    }

    /// One row of a shipments import.
    #[derive(SimpleObject)]
    pub struct ShipmentImportRow {
        /// Line in the CSV (1-based).
        line: i32,
        /// The order number on it.
        order_number: String,
        /// Shipped.
        ok: bool,
        /// Why not.
        error: Option<UserError>,
    }

    /// The result of a shipments import.
    #[derive(SimpleObject)]
    pub struct ShipmentsImportPayload {
        /// Every row, in order.
        rows: Vec<ShipmentImportRow>,
        /// Rows shipped.
        shipped: i32,
        /// Rows refused.
        failed: i32,
        /// What went wrong for the whole import.
        user_errors: Vec<UserError>,
    }

    /// A page as entered; the body is sanitized on save.
    #[derive(InputObject)]
    pub struct PageInput {
        /// URL name (`a-z0-9-`).
        slug: String,
        /// Title.
        title: String,
        /// HTML from the editor.
        body: String,
        /// Shown in the storefront.
        published: bool,
        /// `PAGE` (default) or `NOTICE`.
        kind: Option<PageKind>,
    }

    impl PageInput {
        fn parse(&self) -> commerce::cms::PageInput {
            commerce::cms::PageInput {
                slug: self.slug.trim().to_owned(),
                kind: self.kind.unwrap_or(PageKind::Page).as_str().to_owned(),
                title: self.title.clone(),
                body: self.body.clone(),
                published: self.published,
            }
        }
    }

    /// The result of a page change.
    #[derive(SimpleObject)]
    pub struct PagePayload {
        /// The page after the change.
        page: Option<Page>,
        /// What went wrong.
        user_errors: Vec<UserError>,
    }

    /// The result of deleting a page.
    #[derive(SimpleObject)]
    pub struct PageDeletePayload {
        /// The deleted page's id.
        deleted_id: Option<ID>,
        /// What went wrong.
        user_errors: Vec<UserError>,
    }

    fn parse_page(id: &ID) -> Result<commerce::ids::PageId, Error> {
        id.parse()
    }

    /// A category as entered.
    #[derive(InputObject)]
    pub struct CategoryInput {
        /// URL name.
        slug: String,
        /// Name.
        name: String,
        /// One line.
        description: Option<String>,
        /// Parent category.
        parent_id: Option<ID>,
        /// Order among siblings.
        position: Option<i32>,
    }

    impl CategoryInput {
        fn parse(&self) -> Result<commerce::catalog_admin::CategoryInput, Error> {
            Ok(commerce::catalog_admin::CategoryInput {
                slug: self.slug.trim().to_owned(),
                name: self.name.clone(),
                description: self.description.clone().unwrap_or_default(),
                parent: self.parent_id.as_ref().map(|p| p.parse()).transpose()?,
                position: self.position.unwrap_or(0),
            })
        }
    }

    /// A product image as entered.
    #[derive(InputObject)]
    pub struct ImageInput {
        /// Where the picture is.
        url: String,
        /// Alternative text.
        alt: Option<String>,
    }

    /// A product as entered.
    #[derive(InputObject)]
    pub struct ProductInput {
        /// URL name.
        slug: String,
        /// Name.
        name: String,
        /// HTML (sanitized on save).
        description: Option<String>,
        /// Category.
        category_id: Option<ID>,
        /// VAT-exempt (면세).
        tax_free: Option<bool>,
        /// Listed.
        published: Option<bool>,
        /// Images in order.
        images: Option<Vec<ImageInput>>,
    }

    impl ProductInput {
        fn parse(&self) -> Result<commerce::catalog_admin::ProductInput, Error> {
            Ok(commerce::catalog_admin::ProductInput {
                slug: self.slug.trim().to_owned(),
                name: self.name.clone(),
                description: self.description.clone().unwrap_or_default(),
                category: self.category_id.as_ref().map(|c| c.parse()).transpose()?,
                tax_free: self.tax_free.unwrap_or(false),
                published: self.published.unwrap_or(false),
                images: self
                    .images
                    .iter()
                    .flatten()
                    .map(|i| (i.url.trim().to_owned(), i.alt.clone().unwrap_or_default()))
                    .collect(),
            })
        }
    }

    /// One option value.
    #[derive(InputObject)]
    pub struct OptionInput {
        /// The option, e.g. `맛`.
        name: String,
        /// The value, e.g. `초코`.
        value: String,
    }

    /// A variant as entered.
    #[derive(InputObject)]
    pub struct VariantInput {
        /// SKU, unique.
        sku: String,
        /// Display name (the option values when empty).
        name: Option<String>,
        /// Option values.
        options: Option<Vec<OptionInput>>,
        /// Price, won.
        price: i64,
        /// The "was" price, won, above the price.
        compare_at_price: Option<i64>,
    }

    impl VariantInput {
        fn parse(&self) -> Result<commerce::catalog_admin::VariantInput, Error> {
            Ok(commerce::catalog_admin::VariantInput {
                sku: self.sku.clone(),
                name: self.name.clone().unwrap_or_default(),
                options: self
                    .options
                    .iter()
                    .flatten()
                    .map(|o| commerce::catalog::OptionValue {
                        name: o.name.clone(),
                        value: o.value.clone(),
                    })
                    .collect(),
                price: Won::new(self.price).ok_or(Error::Invalid {
                    field: "price",
                    reason: "≥ 0".into(),
                })?,
                compare_at_price: self
                    .compare_at_price
                    .map(|c| {
                        Won::new(c).ok_or(Error::Invalid {
                            field: "compareAtPrice",
                            reason: "≥ 0".into(),
                        })
                    })
                    .transpose()?,
            })
        }
    }

    /// The result of a catalog change.
    #[derive(SimpleObject)]
    pub struct CatalogPayload {
        /// The id of what changed.
        id: Option<ID>,
        /// The product after the change (product and variant operations).
        product: Option<crate::storefront::catalog::Product>,
        /// What went wrong.
        user_errors: Vec<UserError>,
    }

    /// A stock line.
    #[derive(SimpleObject)]
    pub struct StockItem {
        /// The variant.
        variant_id: ID,
        /// Its product.
        product_id: ID,
        /// Product name.
        product_name: String,
        /// Variant name.
        variant_name: String,
        /// SKU.
        sku: String,
        /// In the warehouse.
        on_hand: i32,
        /// Held by placed orders.
        allocated: i32,
        /// Sellable now.
        available: i32,
        /// Listed.
        published: bool,
    }

    /// The result of a stock adjustment.
    #[derive(SimpleObject)]
    pub struct StockAdjustPayload {
        /// On hand after it.
        on_hand: Option<i32>,
        /// Sellable after it.
        available: Option<i32>,
        /// What went wrong.
        user_errors: Vec<UserError>,
    }

    async fn catalog_payload(
        ctx: &Context<'_>,
        r: Result<(String, Option<commerce::ids::ProductId>), Error>,
    ) -> Result<CatalogPayload> {
        let (done, user_errors) = split(ctx, r)?;
        let Some((id, product)) = done else {
            return Ok(CatalogPayload {
                id: None,
                product: None,
                user_errors,
            });
        };
        let product = match product {
            Some(p) => {
                let pool = ctx.data::<PgPool>()?;
                let mut conn = pool.acquire().await.gql(ctx)?;
                commerce::catalog::product_any(&mut conn, &commerce::catalog::ProductKey::Id(p), true)
                    .await
                    .gql(ctx)?
                    .map(crate::storefront::catalog::Product::new)
            }
            None => None,
        };
        Ok(CatalogPayload {
            id: Some(ID(id)),
            product,
            user_errors,
        })
    }

    /// A customer as staff see them.
    #[derive(SimpleObject)]
    pub struct CustomerRecord {
        /// Opaque id.
        id: ID,
        /// E-mail.
        email: String,
        /// Name.
        name: String,
        /// Mobile, `010-1234-5678`.
        mobile: String,
        /// Tier.
        tier: String,
        /// Points.
        points: i64,
        /// Marketing e-mail consent.
        marketing_email: bool,
        /// Marketing SMS consent.
        marketing_sms: bool,
        /// Signed up at.
        created_at: DateTime<FixedOffset>,
    }

    /// A page of customers, newest first.
    #[derive(SimpleObject)]
    pub struct CustomerConnection {
        /// Customers.
        nodes: Vec<CustomerRecord>,
        /// More follow `endCursor`.
        has_next_page: bool,
        /// Pass as `after`.
        end_cursor: Option<String>,
    }

    /// A new bot token.
    #[derive(SimpleObject)]
    pub struct BotTokenCreatePayload {
        /// `Authorization: Bearer …` for the bot; shown only now.
        token: Option<String>,
        /// What went wrong.
        user_errors: Vec<UserError>,
    }

    fn parse_order(id: &ID) -> Result<OrderId, Error> {
        id.parse::<OrderId>()
    }

    fn won(amount: i64) -> Result<Won, Error> {
        Won::new(amount).ok_or(Error::Invalid {
            field: "amount",
            reason: "≥ 0".into(),
        })
    }

    /// Admin queries about orders and staff.
    #[derive(Default)]
    pub struct BackOfficeQuery;

    #[Object]
    impl BackOfficeQuery {
        /// Orders, newest first (personal data masked for roles that don't need it).
        async fn orders(
            &self,
            ctx: &Context<'_>,
            first: Option<i64>,
            after: Option<ID>,
            filter: Option<OrderFilterInput>,
        ) -> Result<OrderConnection> {
            let by = principal(ctx).await?;
            let first = commerce::catalog::page_size(first).gql(ctx)?;
            let after = after.as_ref().map(parse_order).transpose().gql(ctx)?;
            let f = filter.unwrap_or_default();
            let status = f.status.map(commerce::order::OrderStatus::from);
            let filter = orders::OrderFilter {
                status,
                channel: f.channel,
                from: f.from.map(|t| t.to_utc()),
                to: f.to.map(|t| t.to_utc()),
                search: f.search,
            };
            let pool = ctx.data::<PgPool>()?;
            let (nodes, has_next) = orders::list(pool, by, &filter, first, after).await.gql(ctx)?;
            Ok(OrderConnection::new(nodes, has_next))
        }

        /// One order by `id` or `number`, with its history.
        async fn order(&self, ctx: &Context<'_>, id: Option<ID>, number: Option<String>) -> Result<Option<Order>> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let parsed = id.as_ref().map(parse_order).transpose().gql(ctx)?;
            let key = match (&parsed, &number) {
                (Some(id), None) => OrderKey::Id(*id),
                (None, Some(n)) => OrderKey::Number(n.trim()),
                _ => {
                    let e = Error::Invalid {
                        field: "id",
                        reason: "give exactly one of id and number".into(),
                    };
                    return Err(to_gql(&e, lang(ctx)));
                }
            };
            match orders::find(pool, by, &key).await {
                Ok(o) => Ok(Some(Order(o))),
                Err(e) => Err(to_gql(&e, lang(ctx))),
            }
        }

        /// A product by id or slug, drafts included.
        async fn product(
            &self,
            ctx: &Context<'_>,
            id: Option<ID>,
            slug: Option<String>,
        ) -> Result<Option<crate::storefront::catalog::Product>> {
            principal(ctx).await?;
            let key = match (id, slug) {
                (Some(id), None) => commerce::catalog::ProductKey::Id(id.parse::<commerce::ids::ProductId>().gql(ctx)?),
                (None, Some(slug)) => commerce::catalog::ProductKey::Slug(slug),
                _ => {
                    let e = Error::Invalid {
                        field: "id",
                        reason: "give exactly one of id and slug".into(),
                    };
                    return Err(to_gql(&e, lang(ctx)));
                }
            };
            let pool = ctx.data::<PgPool>()?;
            let mut conn = pool.acquire().await.gql(ctx)?;
            let p = commerce::catalog::product_any(&mut conn, &key, true).await.gql(ctx)?;
            Ok(p.map(crate::storefront::catalog::Product::new))
        }

        /// Stock by exact `sku`, by `search` (SKU or names), or at or below `lowStock`
        /// available units, lowest first.
        async fn stock(
            &self,
            ctx: &Context<'_>,
            sku: Option<String>,
            search: Option<String>,
            low_stock: Option<i32>,
        ) -> Result<Vec<StockItem>> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let items = commerce::catalog_admin::stock(pool, by, sku.as_deref(), search.as_deref(), low_stock)
                .await
                .gql(ctx)?;
            Ok(items
                .into_iter()
                .map(|i| StockItem {
                    variant_id: ID(i.variant_id.to_string()),
                    product_id: ID(i.product_id.to_string()),
                    product_name: i.product_name,
                    variant_name: i.variant_name,
                    sku: i.sku,
                    on_hand: i.on_hand,
                    allocated: i.allocated,
                    available: i.available,
                    published: i.published,
                })
                .collect())
        }

        /// Customers, newest first, searched by e-mail, name or mobile (OWNER, MANAGER, CS).
        async fn customers(
            &self,
            ctx: &Context<'_>,
            first: Option<i64>,
            after: Option<ID>,
            search: Option<String>,
        ) -> Result<CustomerConnection> {
            let by = principal(ctx).await?;
            let first = commerce::catalog::page_size(first).gql(ctx)?;
            let after = after
                .as_ref()
                .map(|a| a.parse::<commerce::ids::CustomerId>())
                .transpose()
                .gql(ctx)?;
            let pool = ctx.data::<PgPool>()?;
            let (list, has_next) = commerce::customer::list_for_staff(pool, by, search.as_deref(), first, after)
                .await
                .gql(ctx)?;
            let end_cursor = list.last().map(|c| c.id.to_string());
            let nodes = list
                .into_iter()
                .map(|c| CustomerRecord {
                    id: ID(c.id.to_string()),
                    mobile: commerce::types::format_phone(&c.mobile),
                    email: c.email,
                    name: c.name,
                    tier: c.tier,
                    points: c.points,
                    marketing_email: c.marketing_email.is_some(),
                    marketing_sms: c.marketing_sms.is_some(),
                    created_at: seoul(c.created_at),
                })
                .collect();
            Ok(CustomerConnection {
                nodes,
                has_next_page: has_next,
                end_cursor,
            })
        }

        /// Every page and notice, drafts included.
        async fn pages(&self, ctx: &Context<'_>) -> Result<Vec<Page>> {
            principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            Ok(commerce::cms::list(pool, None, false)
                .await
                .gql(ctx)?
                .into_iter()
                .map(Page::from)
                .collect())
        }

        /// Carriers for `shipmentCreate`.
        async fn carriers(&self, ctx: &Context<'_>) -> Result<Vec<Carrier>> {
            principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let list = commerce::shipping::carriers(pool).await.gql(ctx)?;
            Ok(list
                .into_iter()
                .map(|c| Carrier {
                    code: c.code,
                    name: c.name,
                    tracking_url_template: c.tracking_url_template,
                })
                .collect())
        }

        /// The audit log, newest first (OWNER).
        async fn audit_log(
            &self,
            ctx: &Context<'_>,
            first: Option<i64>,
            after: Option<String>,
            filter: Option<AuditFilterInput>,
        ) -> Result<AuditConnection> {
            let by = principal(ctx).await?;
            let first = commerce::catalog::page_size(first).gql(ctx)?;
            let before = match after {
                None => None,
                Some(a) => Some(a.parse::<i64>().map_err(|_| Error::InvalidCursor).gql(ctx)?),
            };
            let f = filter.unwrap_or_default();
            let staff_id = f.staff_id.as_ref().map(|s| s.parse::<StaffId>()).transpose().gql(ctx)?;
            let filter = staff::AuditFilter {
                staff: staff_id,
                action_prefix: f.action,
                from: f.from.map(|t| t.to_utc()),
                to: f.to.map(|t| t.to_utc()),
            };
            let pool = ctx.data::<PgPool>()?;
            let (entries, has_next) = staff::audit_log(pool, by, &filter, first, before).await.gql(ctx)?;
            let end_cursor = entries.last().map(|e| e.id.to_string());
            let nodes = entries
                .into_iter()
                .map(|e| AuditEntry {
                    id: ID(e.id.to_string()),
                    staff_id: e.staff_id.map(|s| ID(s.to_string())),
                    staff_email: e.staff_email,
                    action: e.action,
                    target: e.target,
                    summary: e.summary.to_string(),
                    ip: e.ip,
                    at: seoul(e.created_at),
                })
                .collect();
            Ok(AuditConnection {
                nodes,
                has_next_page: has_next,
                end_cursor,
            })
        }
    }

    /// Admin mutations on orders and staff.
    #[derive(Default)]
    pub struct BackOfficeMutation;

    #[Object]
    impl BackOfficeMutation {
        /// A bank transfer arrived: the amount must be the order's total to the won.
        async fn order_mark_deposited(&self, ctx: &Context<'_>, order_id: ID, amount: i64) -> Result<OrderPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async { orders::mark_deposited(pool, by, parse_order(&order_id)?, won(amount)?, ip).await }.await;
            OrderPayload::from(ctx, r)
        }

        /// Cancels an order before it ships.
        async fn order_cancel(&self, ctx: &Context<'_>, order_id: ID, reason: Option<String>) -> Result<OrderPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let reason = reason.unwrap_or_else(|| "cancelled by staff".into());
            let r = async { orders::cancel_by_staff(pool, by, parse_order(&order_id)?, &reason, ip).await }.await;
            OrderPayload::from(ctx, r)
        }

        /// Records a refund paid back (at most what was paid and not yet refunded).
        async fn order_refund(
            &self,
            ctx: &Context<'_>,
            order_id: ID,
            amount: i64,
            reason: String,
        ) -> Result<OrderPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async { orders::refund(pool, by, parse_order(&order_id)?, won(amount)?, &reason, ip).await }.await;
            OrderPayload::from(ctx, r)
        }

        /// Moves an order along the state machine (PREPARING, DELIVERED, COMPLETED,
        /// RETURN_REQUESTED, RETURNED).
        async fn order_set_status(
            &self,
            ctx: &Context<'_>,
            order_id: ID,
            status: OrderStatus,
            note: Option<String>,
        ) -> Result<OrderPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let note = note.unwrap_or_default();
            let r =
                async { orders::set_status(pool, by, parse_order(&order_id)?, status.into(), &note, ip).await }.await;
            OrderPayload::from(ctx, r)
        }

        /// Ships an order (PAID or PREPARING → SHIPPED) with a carrier code and tracking number.
        async fn shipment_create(
            &self,
            ctx: &Context<'_>,
            order_id: ID,
            carrier: String,
            tracking_number: String,
        ) -> Result<ShipmentCreatePayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                commerce::shipping::create_shipment(pool, by, parse_order(&order_id)?, &carrier, &tracking_number, ip)
                    .await
            }
            .await;
            let (shipped, user_errors) = split(ctx, r)?;
            Ok(match shipped {
                Some(s) => ShipmentCreatePayload {
                    tracking_url: Some(s.tracking_url.clone()),
                    shipment: Some(Shipment {
                        carrier: s.carrier.code,
                        carrier_name: s.carrier.name,
                        tracking_number: s.tracking_number,
                        tracking_url: s.tracking_url,
                    }),
                    order: Some(Order(if by.sees_personal_data() {
                        s.order
                    } else {
                        s.order.masked()
                    })),
                    user_errors,
                },
                None => ShipmentCreatePayload {
                    shipment: None,
                    order: None,
                    tracking_url: None,
                    user_errors,
                },
            })
        }

        /// Ships many orders from CSV text (order number, carrier, tracking number per
        /// line); bad rows are reported, good rows go through.
        async fn shipments_import(&self, ctx: &Context<'_>, csv: String) -> Result<ShipmentsImportPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let r = commerce::shipping::import_shipments(pool, by, &csv, caller(ctx).ip.as_deref()).await;
            let (rows, user_errors) = split(ctx, r)?;
            let rows: Vec<ShipmentImportRow> = rows
                .unwrap_or_default()
                .into_iter()
                .map(|row| ShipmentImportRow {
                    line: i32::try_from(row.line).unwrap_or(i32::MAX),
                    order_number: row.number,
                    ok: row.error.is_none(),
                    error: row.error.as_ref().map(|e| crate::storefront::user_error(ctx, e)),
                })
                .collect();
            let shipped = i32::try_from(rows.iter().filter(|r| r.ok).count()).unwrap_or(i32::MAX);
            let failed = i32::try_from(rows.len()).unwrap_or(i32::MAX) - shipped;
            Ok(ShipmentsImportPayload {
                rows,
                shipped,
                failed,
                user_errors,
            })
        }

        /// Creates a category.
        async fn category_create(&self, ctx: &Context<'_>, input: CategoryInput) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let id = commerce::catalog_admin::save_category(pool, by, None, &input.parse()?, ip).await?;
                Ok((id.to_string(), None))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Replaces a category.
        async fn category_update(&self, ctx: &Context<'_>, id: ID, input: CategoryInput) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let id =
                    commerce::catalog_admin::save_category(pool, by, Some(id.parse()?), &input.parse()?, ip).await?;
                Ok((id.to_string(), None))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Deletes a category without subcategories.
        async fn category_delete(&self, ctx: &Context<'_>, id: ID) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                commerce::catalog_admin::delete_category(pool, by, id.parse()?, ip).await?;
                Ok((id.to_string(), None))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Creates a product (add variants with `variantCreate`).
        async fn product_create(&self, ctx: &Context<'_>, input: ProductInput) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let id = commerce::catalog_admin::save_product(pool, by, None, &input.parse()?, ip).await?;
                Ok((id.to_string(), Some(id)))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Replaces a product's fields and images.
        async fn product_update(&self, ctx: &Context<'_>, id: ID, input: ProductInput) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let id =
                    commerce::catalog_admin::save_product(pool, by, Some(id.parse()?), &input.parse()?, ip).await?;
                Ok((id.to_string(), Some(id)))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Publishes or unpublishes a product.
        async fn product_publish(&self, ctx: &Context<'_>, id: ID, published: bool) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let pid = id.parse()?;
                commerce::catalog_admin::set_published(pool, by, pid, published, ip).await?;
                Ok((id.to_string(), Some(pid)))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Deletes a product (past orders keep their snapshots).
        async fn product_delete(&self, ctx: &Context<'_>, id: ID) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                commerce::catalog_admin::delete_product(pool, by, id.parse()?, ip).await?;
                Ok((id.to_string(), None))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Deletes a variant no placed order holds stock of.
        async fn variant_delete(&self, ctx: &Context<'_>, id: ID) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let product = commerce::catalog_admin::delete_variant(pool, by, id.parse()?, ip).await?;
                Ok((id.to_string(), Some(product)))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Adds a variant with its opening stock.
        async fn variant_create(
            &self,
            ctx: &Context<'_>,
            product_id: ID,
            input: VariantInput,
            on_hand: Option<i32>,
        ) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let pid = product_id.parse()?;
                let v =
                    commerce::catalog_admin::create_variant(pool, by, pid, &input.parse()?, on_hand.unwrap_or(0), ip)
                        .await?;
                Ok((v.to_string(), Some(pid)))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Replaces a variant's SKU, name, options and prices (stock: `stockAdjust`).
        async fn variant_update(&self, ctx: &Context<'_>, id: ID, input: VariantInput) -> Result<CatalogPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                let vid: commerce::ids::VariantId = id.parse()?;
                commerce::catalog_admin::update_variant(pool, by, vid, &input.parse()?, ip).await?;
                Ok((id.to_string(), None))
            }
            .await;
            catalog_payload(ctx, r).await
        }

        /// Adjusts stock on hand by `delta` with a reason; never below what orders hold.
        async fn stock_adjust(
            &self,
            ctx: &Context<'_>,
            variant_id: ID,
            delta: i32,
            reason: String,
        ) -> Result<StockAdjustPayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async {
                commerce::catalog_admin::adjust_stock(pool, by, variant_id.parse()?, delta, &reason, ip).await
            }
            .await;
            let (after, user_errors) = split(ctx, r)?;
            Ok(StockAdjustPayload {
                on_hand: after.map(|(on_hand, _)| on_hand),
                available: after.map(|(on_hand, allocated)| on_hand - allocated),
                user_errors,
            })
        }

        /// Creates a page or notice (HTML sanitized on save).
        async fn page_create(&self, ctx: &Context<'_>, input: PageInput) -> Result<PagePayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let r = commerce::cms::create(pool, by, &input.parse(), caller(ctx).ip.as_deref()).await;
            let (page, user_errors) = split(ctx, r)?;
            Ok(PagePayload {
                page: page.map(Page::from),
                user_errors,
            })
        }

        /// Replaces a page (HTML sanitized on save).
        async fn page_update(&self, ctx: &Context<'_>, id: ID, input: PageInput) -> Result<PagePayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async { commerce::cms::update(pool, by, parse_page(&id)?, &input.parse(), ip).await }.await;
            let (page, user_errors) = split(ctx, r)?;
            Ok(PagePayload {
                page: page.map(Page::from),
                user_errors,
            })
        }

        /// Deletes a page.
        async fn page_delete(&self, ctx: &Context<'_>, id: ID) -> Result<PageDeletePayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let ip = caller(ctx).ip.as_deref();
            let r = async { commerce::cms::delete(pool, by, parse_page(&id)?, ip).await }.await;
            let (done, user_errors) = split(ctx, r)?;
            Ok(PageDeletePayload {
                deleted_id: done.map(|()| id),
                user_errors,
            })
        }

        /// A long-lived token for the Slack bot (role BOT). OWNER only.
        async fn bot_token_create(&self, ctx: &Context<'_>, name: String) -> Result<BotTokenCreatePayload> {
            let by = principal(ctx).await?;
            let pool = ctx.data::<PgPool>()?;
            let r = staff::bot_token_create(pool, by, &name, caller(ctx).ip.as_deref()).await;
            let (token, user_errors) = split(ctx, r)?;
            Ok(BotTokenCreatePayload { token, user_errors })
        }
    }
}
