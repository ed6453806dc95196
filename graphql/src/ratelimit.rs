//! Rate limits of the operations that invite guessing (order numbers with e-mails, coupon
//! codes, passwords, customers' names in the admin order search) or mass sign-ups (DESIGN
//! §6): keyed GCRA limiters from `governor`, per client (an IPv4 address or an IPv6 /64),
//! per e-mail from one client, per cart, and per caller (a token, and the Slack user a bot
//! acts for) from one client.
//!
//! A request is counted once it has parsed and before it runs: every root field of the
//! selected operation that is limited counts, through aliases, inline fragments and fragment
//! spreads (ten aliased `orderByNumber` are ten). Over any budget, the whole request is
//! refused with `RATE_LIMITED`. Catalog reads, carts and checkout are never counted.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Name, Value as ConstValue, Variables,
    parser::types::{ExecutableDocument, Field, OperationDefinition, OperationType, Selection, SelectionSet},
};
use commerce::{
    Error,
    settings::{RateLimit, RateLimitSettings},
};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::client_ip::limit_key;

/// Which API a request is for: the limited fields differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `/graphql`.
    Storefront,
    /// `/admin/graphql`.
    Admin,
}

/// What a limiter counts by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// A client.
    Client(IpAddr),
    /// Something (an e-mail) from one client, hashed: the limiter keeps no personal data.
    ClientAnd(IpAddr, u64),
    /// A cart, by its hashed token.
    Cart(u64),
}

/// The budgets, one per setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Which {
    OrderByNumber,
    OrderCancel,
    CouponApply,
    CouponApplyPerCart,
    SignUp,
    Login,
    LoginPerEmail,
    StaffLogin,
    StaffLoginPerEmail,
    AdminOrderSearch,
    PaymentConfirm,
    InquiryCreate,
    PasswordReset,
}

/// One budget: its settings and its keyed limiter. The limiter is replaced by a fresh one
/// when it holds too many keys (see [`RateLimits::MAX_KEYS`]).
struct Limit {
    quota: Quota,
    limit: RateLimit,
    limiter: RwLock<DefaultKeyedRateLimiter<Key>>,
}

impl Limit {
    fn new(limit: RateLimit) -> Option<Limit> {
        if !limit.is_on() {
            return None;
        }
        let quota =
            Quota::with_period(Duration::from_secs(limit.refill_secs))?.allow_burst(NonZeroU32::new(limit.burst)?);
        Some(Limit {
            quota,
            limit,
            limiter: RwLock::new(RateLimiter::keyed(quota)),
        })
    }

    /// Takes `n` requests from `key`'s budget, or says how long until they would fit.
    fn check(&self, key: &Key, n: u64) -> Result<(), Duration> {
        let limiter = self.limiter.read().unwrap_or_else(PoisonError::into_inner);
        let n = NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        match limiter.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
            // More at once than the burst: never fits; the wait for a full bucket is the
            // most honest hint there is.
            Err(_) => Err(Duration::from_secs(
                self.limit.refill_secs.saturating_mul(u64::from(self.limit.burst)),
            )),
        }
    }

    /// Forgets keys whose budget is full again; starts over if still too many remain.
    fn tidy(&self) {
        let too_many = {
            let limiter = self.limiter.read().unwrap_or_else(PoisonError::into_inner);
            limiter.retain_recent();
            limiter.shrink_to_fit();
            limiter.len() > RateLimits::MAX_KEYS
        };
        if too_many {
            tracing::warn!(
                keys = RateLimits::MAX_KEYS,
                "rate limiter full: starting it over (many clients at once)"
            );
            *self.limiter.write().unwrap_or_else(PoisonError::into_inner) = RateLimiter::keyed(self.quota);
        }
    }

    fn len(&self) -> usize {
        self.limiter.read().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// The service's rate limiters (`rate_limits.*`).
pub struct RateLimits {
    order_by_number: Option<Limit>,
    order_cancel: Option<Limit>,
    coupon_apply: Option<Limit>,
    coupon_apply_per_cart: Option<Limit>,
    sign_up: Option<Limit>,
    login: Option<Limit>,
    login_per_email: Option<Limit>,
    staff_login: Option<Limit>,
    staff_login_per_email: Option<Limit>,
    admin_order_search: Option<Limit>,
    payment_confirm: Option<Limit>,
    inquiry_create: Option<Limit>,
    password_reset: Option<Limit>,
    /// Keys e-mails and cart tokens with a per-process secret.
    hasher: RandomState,
    /// Counted requests, for housekeeping every [`Self::TIDY_EVERY`].
    counted: AtomicU64,
}

impl RateLimits {
    /// Most keys one limiter holds after housekeeping; beyond, it starts over. Keys of
    /// e-mails and carts are only made for clients within their own budget, so this bounds
    /// memory (a few MB per limiter) even when many addresses take part.
    pub const MAX_KEYS: usize = 65_536;
    /// Housekeeping (dropping keys whose budget is full again) after this many counted
    /// requests.
    pub const TIDY_EVERY: u64 = 1024;

    /// Limiters for `settings`; a budget of `burst = 0` is off.
    pub fn new(settings: &RateLimitSettings) -> RateLimits {
        RateLimits {
            order_by_number: Limit::new(settings.order_by_number),
            order_cancel: Limit::new(settings.order_cancel),
            coupon_apply: Limit::new(settings.cart_coupon_apply),
            coupon_apply_per_cart: Limit::new(settings.cart_coupon_apply_per_cart),
            sign_up: Limit::new(settings.customer_sign_up),
            login: Limit::new(settings.customer_login),
            login_per_email: Limit::new(settings.customer_login_per_email),
            staff_login: Limit::new(settings.staff_login),
            staff_login_per_email: Limit::new(settings.staff_login_per_email),
            admin_order_search: Limit::new(settings.admin_order_search),
            payment_confirm: Limit::new(settings.payment_confirm),
            inquiry_create: Limit::new(settings.inquiry_create),
            password_reset: Limit::new(settings.customer_password_reset),
            hasher: RandomState::new(),
            counted: AtomicU64::new(0),
        }
    }

    fn limit(&self, which: Which) -> Option<&Limit> {
        match which {
            Which::OrderByNumber => self.order_by_number.as_ref(),
            Which::OrderCancel => self.order_cancel.as_ref(),
            Which::CouponApply => self.coupon_apply.as_ref(),
            Which::CouponApplyPerCart => self.coupon_apply_per_cart.as_ref(),
            Which::SignUp => self.sign_up.as_ref(),
            Which::Login => self.login.as_ref(),
            Which::LoginPerEmail => self.login_per_email.as_ref(),
            Which::StaffLogin => self.staff_login.as_ref(),
            Which::StaffLoginPerEmail => self.staff_login_per_email.as_ref(),
            Which::AdminOrderSearch => self.admin_order_search.as_ref(),
            Which::PaymentConfirm => self.payment_confirm.as_ref(),
            Which::InquiryCreate => self.inquiry_create.as_ref(),
            Which::PasswordReset => self.password_reset.as_ref(),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Limit> {
        [
            &self.order_by_number,
            &self.order_cancel,
            &self.coupon_apply,
            &self.coupon_apply_per_cart,
            &self.sign_up,
            &self.login,
            &self.login_per_email,
            &self.staff_login,
            &self.staff_login_per_email,
            &self.admin_order_search,
            &self.payment_confirm,
            &self.inquiry_create,
            &self.password_reset,
        ]
        .into_iter()
        .filter_map(Option::as_ref)
    }

    /// Keys held by all limiters together (for tests of the memory bound).
    pub fn keys(&self) -> usize {
        self.all().map(Limit::len).sum()
    }

    /// Counts the parsed request of `client` against the budgets; `RATE_LIMITED` (with the
    /// seconds to wait) if any is spent. `who` is the caller's credentials, for the
    /// per-caller budgets (hashed; none: counted by client alone).
    pub fn admit(
        &self,
        api: Api,
        client: IpAddr,
        who: Option<&str>,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), Error> {
        if self.all().next().is_none() {
            return Ok(());
        }
        let Some(op) = operation(doc, operation_name) else {
            // Not runnable: execution answers with its own error.
            return Ok(());
        };
        let ctx = Fields {
            limits: self,
            api,
            client: limit_key(client),
            who: who.map(|w| self.hash("who", w)),
            op,
            variables,
        };
        let mut counts: Vec<((Which, Key), u64)> = ctx
            .count(doc)
            .into_iter()
            .filter(|((which, _), _)| self.limit(*which).is_some())
            .collect();
        if counts.is_empty() {
            return Ok(());
        }
        if self.counted.fetch_add(1, Ordering::Relaxed) % Self::TIDY_EVERY == Self::TIDY_EVERY - 1 {
            self.all().for_each(Limit::tidy);
        }
        // Per-client budgets first, and nothing else when one is spent: keys of e-mails and
        // carts are then only made within a client's budget, which keeps them few.
        counts.sort_by_key(|((_, key), _)| !matches!(key, Key::Client(_)));
        for ((which, key), n) in counts {
            let Some(limit) = self.limit(which) else { continue };
            if let Err(wait) = limit.check(&key, n) {
                let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err(Error::RateLimited {
                    retry_after_secs: retry_after_secs.max(1),
                });
            }
        }
        Ok(())
    }

    fn hash(&self, what: &str, value: &str) -> u64 {
        self.hasher.hash_one((what, value))
    }
}

/// The operation that will run: the named one, or the only one.
fn operation<'a>(doc: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a OperationDefinition> {
    let mut ops = doc.operations.iter();
    let found = match name {
        Some(name) => ops.find(|(n, _)| n.map(Name::as_str) == Some(name)),
        None => ops.next().filter(|_| doc.operations.iter().nth(1).is_none()),
    };
    found.map(|(_, op)| &op.node)
}

/// The fields and fragment spreads of a selection set, looking into inline fragments
/// (without recursion: no document can exhaust the stack here).
fn selections(set: &SelectionSet) -> (Vec<&Field>, Vec<&Name>) {
    let (mut fields, mut spreads) = (Vec::new(), Vec::new());
    let mut sets = vec![set];
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => fields.push(&f.node),
                Selection::FragmentSpread(s) => spreads.push(&s.node.fragment_name.node),
                Selection::InlineFragment(i) => sets.push(&i.node.selection_set.node),
            }
        }
    }
    (fields, spreads)
}

type Counts = HashMap<(Which, Key), u64>;

fn add(total: &mut Counts, hit: (Which, Key), n: u64) {
    let c = total.entry(hit).or_insert(0);
    *c = c.saturating_add(n);
}

/// The limited root fields of one request and what they count against.
struct Fields<'a> {
    limits: &'a RateLimits,
    api: Api,
    client: IpAddr,
    /// The caller's hashed credentials.
    who: Option<u64>,
    op: &'a OperationDefinition,
    variables: &'a Variables,
}

impl Fields<'_> {
    /// How often each (budget, key) is hit by the operation's root fields. Fragments are
    /// summed once each, bottom-up, and their counts multiplied by how often they are spread
    /// (a chain of fragments spreading the next twice stays cheap to count); a cycle counts
    /// nothing (validation refuses it).
    fn count(&self, doc: &ExecutableDocument) -> Counts {
        let (fields, spreads) = selections(&self.op.selection_set.node);
        // `None` while a fragment's spreads are being summed.
        let mut memo: HashMap<&Name, Option<Counts>> = HashMap::new();
        let mut stack: Vec<(&Name, bool)> = spreads.iter().map(|s| (*s, false)).collect();
        while let Some((name, children_done)) = stack.pop() {
            let Some(def) = doc.fragments.get(name) else { continue };
            let (f, s) = selections(&def.node.selection_set.node);
            if children_done {
                let total = self.sum(&f, &s, &memo);
                memo.insert(name, Some(total));
            } else if !memo.contains_key(name) {
                memo.insert(name, None);
                stack.push((name, true));
                stack.extend(s.into_iter().filter(|s| !memo.contains_key(s)).map(|s| (s, false)));
            }
        }
        self.sum(&fields, &spreads, &memo)
    }

    fn sum(&self, fields: &[&Field], spreads: &[&Name], memo: &HashMap<&Name, Option<Counts>>) -> Counts {
        let mut total = Counts::new();
        for f in fields {
            for hit in self.hits(f) {
                add(&mut total, hit, 1);
            }
        }
        for s in spreads {
            if let Some(Some(counts)) = memo.get(s) {
                for (hit, n) in counts {
                    add(&mut total, hit.clone(), *n);
                }
            }
        }
        total
    }

    /// The budgets one root field counts against.
    fn hits(&self, f: &Field) -> Vec<(Which, Key)> {
        let client = Key::Client(self.client);
        let hashed = |what: &str, arg: Option<String>| arg.map(|v| self.limits.hash(what, &v));
        let email = |arg: Option<String>| {
            hashed("email", arg.map(|e| e.trim().to_lowercase())).map(|h| Key::ClientAnd(self.client, h))
        };
        let mut hits = Vec::new();
        match (self.api, self.op.ty, f.name.node.as_str()) {
            (Api::Storefront, OperationType::Query, "orderByNumber") => hits.push((Which::OrderByNumber, client)),
            // Order numbers are sequential: a guesser learns totals from AMOUNT_MISMATCH.
            (Api::Storefront, OperationType::Mutation, "paymentConfirm") => hits.push((Which::PaymentConfirm, client)),
            // Guests name the order's e-mail; owners cancel by number alone, signed in. A
            // return request probes number and e-mail alike, so it shares the budget.
            (Api::Storefront, OperationType::Mutation, "orderCancel" | "orderReturnRequest")
                if self.string(f, "input", Some("email")).is_some() =>
            {
                hits.push((Which::OrderCancel, client));
            }
            (Api::Storefront, OperationType::Mutation, "cartCouponApply") => {
                hits.push((Which::CouponApply, client));
                if let Some(cart) = hashed("cart", self.string(f, "token", None)) {
                    hits.push((Which::CouponApplyPerCart, Key::Cart(cart)));
                }
            }
            (Api::Storefront, OperationType::Mutation, "customerSignUp") => hits.push((Which::SignUp, client)),
            // Guests name an order by number and e-mail, as a guest's cancel does.
            (Api::Storefront, OperationType::Mutation, "inquiryCreate")
                if self.string(f, "input", Some("email")).is_some() =>
            {
                hits.push((Which::InquiryCreate, client));
            }
            // Requests send e-mails; resets try tokens and hash passwords.
            (Api::Storefront, OperationType::Mutation, "customerPasswordResetRequest" | "customerPasswordReset") => {
                hits.push((Which::PasswordReset, client));
            }
            (Api::Storefront, OperationType::Mutation, "customerLogin") => {
                hits.push((Which::Login, client));
                if let Some(key) = email(self.string(f, "email", None)) {
                    hits.push((Which::LoginPerEmail, key));
                }
            }
            (Api::Admin, OperationType::Mutation, "staffLogin") => {
                hits.push((Which::StaffLogin, client));
                if let Some(key) = email(self.string(f, "email", None)) {
                    hits.push((Which::StaffLoginPerEmail, key));
                }
            }
            // Whole names and phones' last digits find orders even for roles that see them
            // masked (the Slack bot's `/order`): a guess per search, so searches count.
            (Api::Admin, OperationType::Query, "orders")
                if self
                    .string(f, "filter", Some("search"))
                    .is_some_and(|s| !s.trim().is_empty()) =>
            {
                let key = self.who.map_or(client, |w| Key::ClientAnd(self.client, w));
                hits.push((Which::AdminOrderSearch, key));
            }
            _ => {}
        }
        hits
    }

    /// A string argument (or a field of an input-object argument), from a literal, a
    /// variable or the variable's default.
    fn string(&self, f: &Field, arg: &str, field: Option<&str>) -> Option<String> {
        let value = f
            .get_argument(arg)?
            .node
            .clone()
            .into_const_with(|name| {
                Ok::<_, std::convert::Infallible>(self.variable(&name).cloned().unwrap_or_default())
            })
            .ok()?;
        let value = match (field, value) {
            (None, v) => v,
            (Some(field), ConstValue::Object(mut o)) => o.swap_remove(field)?,
            _ => return None,
        };
        match value {
            ConstValue::String(s) => Some(s),
            _ => None,
        }
    }

    fn variable(&self, name: &Name) -> Option<&ConstValue> {
        self.variables.get(name).or_else(|| {
            self.op
                .variable_definitions
                .iter()
                .find(|d| d.node.name.node == *name)
                .and_then(|d| d.node.default_value.as_ref())
                .map(|d| &d.node)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use serde_json::json;

    fn limits(burst: u32) -> RateLimits {
        let mut s = RateLimitSettings::off();
        let on = RateLimit { burst, refill_secs: 60 };
        s.order_by_number = on;
        s.order_cancel = on;
        s.cart_coupon_apply = on;
        s.cart_coupon_apply_per_cart = on;
        s.customer_login = on;
        s.customer_login_per_email = on;
        s.staff_login = on;
        s.admin_order_search = on;
        s.payment_confirm = on;
        RateLimits::new(&s)
    }

    fn counts(api: Api, query: &str, vars: serde_json::Value) -> Vec<(Which, u64)> {
        let l = limits(10);
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        let vars = Variables::from_json(vars);
        let op = operation(&doc, None).expect("one operation");
        let fields = Fields {
            limits: &l,
            api,
            client: "192.0.2.1".parse().expect("ip"),
            who: Some(7),
            op,
            variables: &vars,
        };
        let mut c: Vec<(Which, u64)> = fields.count(&doc).into_iter().map(|((w, _), n)| (w, n)).collect();
        c.sort_by_key(|(w, _)| format!("{w:?}"));
        c
    }

    #[test]
    fn aliases_fragments_and_spreads_at_the_root_all_count() {
        let q = "query { a: orderByNumber(number: \"1\", email: \"x\") { number }
                 b: orderByNumber(number: \"2\", email: \"x\") { number }
                 ... on Query { c: orderByNumber(number: \"3\", email: \"x\") { number } }
                 ...F ...F products(first: 1) { totalCount } }
                 fragment F on Query { d: orderByNumber(number: \"4\", email: \"x\") { number } ...G }
                 fragment G on Query { e: orderByNumber(number: \"5\", email: \"x\") { number } }";
        assert_eq!(counts(Api::Storefront, q, json!({})), vec![(Which::OrderByNumber, 7)]);
        // A catalog read counts nothing; nor does a limited name on the other API or type.
        assert_eq!(
            counts(Api::Storefront, "{ products(first: 5) { totalCount } }", json!({})),
            vec![]
        );
        assert_eq!(
            counts(
                Api::Admin,
                "{ orderByNumber(number: \"1\", email: \"x\") { number } }",
                json!({})
            ),
            vec![]
        );
    }

    #[test]
    fn fragment_chains_and_cycles_are_counted_without_blowing_up() {
        // Each fragment spreads the next twice: 2^40 root fields, counted in a moment.
        let mut q = String::from("{ ...F0 }\n");
        for i in 0..40 {
            writeln!(q, "fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = i + 1).expect("to a String");
        }
        q.push_str("fragment F40 on Query { orderByNumber(number: \"1\", email: \"x\") { number } }");
        assert_eq!(
            counts(Api::Storefront, &q, json!({})),
            vec![(Which::OrderByNumber, 1 << 40)]
        );
        let cycle = "{ ...A } fragment A on Query { orderByNumber(number: \"1\", email: \"x\") { number } ...B }
                     fragment B on Query { ...A }";
        assert_eq!(
            counts(Api::Storefront, cycle, json!({})),
            vec![(Which::OrderByNumber, 1)]
        );
    }

    #[test]
    fn admin_order_searches_count_and_plain_lists_do_not() {
        let q = "query($s: String) { a: orders(filter: {search: $s}) { totalCount }
                 b: orders(filter: {search: \"홍길동\"}) { totalCount }
                 c: orders(filter: {search: \"  \"}) { totalCount } d: orders(first: 5) { totalCount } }";
        assert_eq!(
            counts(Api::Admin, q, json!({ "s": "5678" })),
            vec![(Which::AdminOrderSearch, 2)]
        );
        assert_eq!(counts(Api::Admin, q, json!({})), vec![(Which::AdminOrderSearch, 1)]);
        assert_eq!(counts(Api::Storefront, q, json!({ "s": "5678" })), vec![]);
    }

    #[test]
    fn payment_confirmations_count_per_client() {
        let q = "mutation { a: paymentConfirm(input: {provider: TOSS, orderNumber: \"20261203-000001\"}) { order { number } }
                 b: paymentConfirm(input: {provider: TOSS, orderNumber: \"20261203-000002\"}) { order { number } } }";
        assert_eq!(counts(Api::Storefront, q, json!({})), vec![(Which::PaymentConfirm, 2)]);
    }

    #[test]
    fn keys_come_from_literals_variables_and_defaults() {
        let q = "mutation($t: String!, $e: String = \"A@x.kr\") {
                 a: cartCouponApply(token: $t, code: \"X\") { cart { total } }
                 b: cartCouponApply(token: \"other\", code: \"Y\") { cart { total } }
                 customerLogin(email: $e, password: \"p\") { accessToken } }";
        let c = counts(Api::Storefront, q, json!({ "t": "cart-1" }));
        assert_eq!(
            c,
            vec![
                (Which::CouponApply, 2),
                (Which::CouponApplyPerCart, 1),
                (Which::CouponApplyPerCart, 1),
                (Which::Login, 1),
                (Which::LoginPerEmail, 1),
            ]
        );
        // Guests' cancels (with an e-mail, literal or in a variable) count; owners' don't.
        let q = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { order { number } } }";
        assert_eq!(
            counts(Api::Storefront, q, json!({ "i": { "number": "1", "email": "a@x.kr" } })),
            vec![(Which::OrderCancel, 1)]
        );
        assert_eq!(counts(Api::Storefront, q, json!({ "i": { "number": "1" } })), vec![]);
        let q = "mutation { orderCancel(input: {number: \"1\", email: \"a@x.kr\"}) { order { number } } }";
        assert_eq!(counts(Api::Storefront, q, json!({})), vec![(Which::OrderCancel, 1)]);
    }

    #[test]
    fn e_mails_count_case_blind_per_client() {
        let l = limits(2);
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let login = |email: &str| {
            async_graphql::parser::parse_query(format!(
                "mutation {{ customerLogin(email: \"{email}\", password: \"p\") {{ accessToken }} }}"
            ))
            .expect("parses")
        };
        let vars = Variables::default();
        let admit = |who: &str, email: &str| l.admit(Api::Storefront, ip(who), None, &login(email), None, &vars);
        assert!(admit("192.0.2.1", "a@x.kr").is_ok());
        assert!(admit("192.0.2.1", " A@X.kr").is_ok());
        let e = admit("192.0.2.1", "a@x.kr").expect_err("third try");
        assert!(matches!(e, Error::RateLimited { retry_after_secs } if (1..=60).contains(&retry_after_secs)));
        // Another client's budget for the same e-mail is its own.
        assert!(admit("192.0.2.2", "a@x.kr").is_ok());
    }

    #[test]
    fn memory_stays_bounded_under_many_clients() {
        let l = limits(5);
        let doc = async_graphql::parser::parse_query("{ orderByNumber(number: \"1\", email: \"x\") { number } }")
            .expect("parses");
        let vars = Variables::default();
        let n = u32::try_from(RateLimits::MAX_KEYS).expect("fits")
            + 3 * u32::try_from(RateLimits::TIDY_EVERY).expect("fits");
        for i in 0..n {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from_bits(0x0a00_0000 + i));
            assert!(l.admit(Api::Storefront, ip, None, &doc, None, &vars).is_ok());
        }
        assert!(l.keys() <= RateLimits::MAX_KEYS + usize::try_from(RateLimits::TIDY_EVERY).expect("fits"));
    }
}
