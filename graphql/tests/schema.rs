//! The committed SDL is the contract storefronts code against: it must match the schema.

#[test]
fn committed_schema_matches() {
    let committed = include_str!("../schema.graphql");
    let current = graphql::storefront::sdl();
    assert!(
        current == committed,
        "the storefront schema changed: run `cargo run -p jangteo-graphql --bin jangteo -- schema > graphql/schema.graphql` and review the diff"
    );
}

#[test]
fn contract_names_are_present() {
    let sdl = graphql::storefront::sdl();
    for name in [
        "shop: Shop!",
        "products(first: Int, after: String, filter: ProductFilterInput, sort: ProductSortInput): ProductConnection!",
        "product(slug: String, id: ID): Product",
        "categories: [Category!]!",
        "category(slug: String!): Category",
        "totalCount: Int!",
        "scalar Won",
        "price: Won!",
        "compareAtPrice: Won",
        "stockStatus: StockStatus!",
        "quantityAvailable: Int",
        "options: [ProductOption!]!",
        "variantBySelectedOptions(selectedOptions: [SelectedOptionInput!]!): Variant",
        "me: Customer\n",
        "coupon: AppliedCoupon",
        "giftProgress: [GiftProgress!]!",
        "channel: SalesChannel!",
        "paymentMethod: PaymentMethod!",
        "shipments: [OrderShipment!]!",
        "timeline: [TimelineEntry!]!",
        "orderReturnRequest(input: OrderReturnRequestInput!): OrderPayload!",
        "customerTokenRenew: CustomerTokenRenewPayload!",
        "business: Business!",
    ] {
        assert!(sdl.contains(name), "missing from the schema: {name}");
    }
}

#[test]
fn committed_admin_schema_matches() {
    let committed = include_str!("../admin.graphql");
    assert!(
        graphql::admin::sdl() == committed,
        "the admin schema changed: run `cargo run -p jangteo-graphql --bin jangteo -- schema --admin > graphql/admin.graphql` and review the diff"
    );
    for name in [
        "staffLogin(email: String!, password: String!): StaffLoginPayload!",
        "staffTotpEnroll(challenge: String!): StaffTotpEnrollPayload!",
        "staffTotpActivate(challenge: String!, code: String!): StaffTotpActivatePayload!",
        "staffVerifyTotp(challenge: String!, code: String!): StaffVerifyTotpPayload!",
        "staffLogout: StaffLogoutPayload!",
        "orders(first: Int, after: String, filter: OrderFilterInput, sort: OrderSortInput): OrderConnection!",
        "orderCounts: [OrderStatusCount!]!",
        "customers(first: Int, after: String, filter: CustomerFilterInput, sort: CustomerSortInput): CustomerConnection!",
        "customer(id: ID!): CustomerRecord",
        "auditLog(first: Int, after: String, filter: AuditFilterInput): AuditConnection!",
        "botTokens(first: Int, after: String): BotTokenConnection!",
        "botTokenCreate(name: String!, expiresInDays: Int): BotTokenCreatePayload!",
        "botTokenRevoke(id: ID!): BotTokenRevokePayload!",
        "edges: [OrderEdge!]!",
        "pageInfo: PageInfo!",
        "totalCount: Int!",
        // Statistics (issue 10): the bot and the admin UI call these names.
        "salesReport(from: Date!, to: Date!, granularity: Granularity!, groupBy: SalesGroupBy! = NONE, channel: SalesChannel): SalesReport!",
        "salesSummary(date: Date): SalesSummary!",
        "memberReport(from: Date!, to: Date!, granularity: Granularity!): MemberReport!",
        "customerStats: CustomerStats!",
        "salesChart(from: Date!, to: Date!, granularity: Granularity!, groupBy: SalesGroupBy! = NONE, channel: SalesChannel, kind: ChartKind!, width: Int! = 1200, height: Int! = 600): SalesChart!",
        "rows: [SalesReportRow!]!",
        "netSales: Won!",
        "averageOrderValue: Won!",
        "topProducts: [TopProduct!]!",
        "repeatRate: Float!",
        "byTier: [TierCount!]!",
        "scalar Date",
        // The Slack bot (issue 11).
        "staffSlackLink(staffId: ID!, slackUserId: String): StaffSlackLinkPayload!",
        "slackUserId: String",
        "botRunClaim(name: String!, period: String!): Boolean!",
        "botThread(key: String!): BotThread",
        "botThreadSave(key: String!, channel: String!, ts: String!): BotThread!",
        "alerts(since: DateTime): [Alert!]!",
        "enum AlertKind {",
        "enum AlertSeverity {",
        "SLACK_USER_NOT_LINKED",
        "viaBot: String",
    ] {
        assert!(committed.contains(name), "missing from the admin schema: {name}");
    }
}
