//! Customers: sign-up, login with throttling, sessions, profile and addresses (owns
//! `customers`, `customer_sessions`, `addresses`).

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};

use crate::{
    Error,
    address::PostalAddress,
    auth::{self, Scope},
    cart,
    ids::{AddressId, CustomerId},
    pagination::Page,
    settings::CustomerSettings,
    types::{Email, NewPassword, PhoneNumber},
};

/// A customer's profile.
#[derive(Clone, Debug)]
pub struct Customer {
    /// Their id.
    pub id: CustomerId,
    /// Sign-in e-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// Mobile, digits.
    pub mobile: String,
    /// Tier (`BASIC`, …).
    pub tier: String,
    /// Points balance.
    pub points: i64,
    /// Agreed to marketing e-mail, and when.
    pub marketing_email: Option<DateTime<Utc>>,
    /// Agreed to marketing SMS, and when.
    pub marketing_sms: Option<DateTime<Utc>>,
    /// Signed up at.
    pub created_at: DateTime<Utc>,
}

/// What sign-up needs, parsed.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)] // four separate consents, as the law asks
pub struct SignUp {
    /// E-mail.
    pub email: Email,
    /// Password meeting the policy.
    pub password: NewPassword,
    /// Name.
    pub name: String,
    /// Mobile.
    pub mobile: PhoneNumber,
    /// 이용약관 동의 (required).
    pub terms: bool,
    /// 개인정보 수집·이용 동의 (required).
    pub privacy: bool,
    /// Marketing e-mail consent.
    pub marketing_email: bool,
    /// Marketing SMS consent.
    pub marketing_sms: bool,
}

/// Creates a customer and, in the same transaction, enqueues their welcome e-mail
/// (`welcome`). Errors: `INVALID_INPUT` (required consents), `ALREADY_EXISTS` (e-mail).
pub async fn sign_up(pool: &PgPool, input: SignUp) -> Result<Customer, Error> {
    if !input.terms {
        return Err(Error::Invalid {
            field: "termsAccepted",
            reason: "the terms must be accepted".into(),
        });
    }
    if !input.privacy {
        return Err(Error::Invalid {
            field: "privacyAccepted",
            reason: "the privacy policy must be accepted".into(),
        });
    }
    let hash = auth::hash_password(input.password.expose().to_owned()).await?;
    let id = CustomerId::generate();
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    let r = sqlx::query!(
        "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at,
                                marketing_email, marketing_email_at, marketing_sms, marketing_sms_at)
         VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $6::timestamptz, $7, CASE WHEN $7 THEN $6::timestamptz END, $8,
                 CASE WHEN $8 THEN $6::timestamptz END)
         ON CONFLICT (email) DO NOTHING",
        id as CustomerId,
        input.email.as_str(),
        hash,
        input.name,
        input.mobile.as_str(),
        now,
        input.marketing_email,
        input.marketing_sms,
    )
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::AlreadyExists {
            what: "email",
            value: input.email.masked(),
        });
    }
    crate::notify::enqueue_email(
        &mut tx,
        "welcome",
        input.email.as_str(),
        Some(id),
        serde_json::json!({ "customer": { "name": input.name } }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(customer = %id, "customer signed up");
    get(pool, id).await
}

/// A customer by id. Errors: `NOT_FOUND`.
pub async fn get(pool: &PgPool, id: CustomerId) -> Result<Customer, Error> {
    sqlx::query_as!(
        Customer,
        r#"SELECT id AS "id: CustomerId", email, name, mobile, tier, points, marketing_email_at AS marketing_email,
                  marketing_sms_at AS marketing_sms, created_at
             FROM customers WHERE id = $1"#,
        id as CustomerId,
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound { what: "customer" })
}

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    /// The access token (`Authorization: Bearer …`).
    pub token: String,
    /// Who.
    pub customer: Customer,
    /// Their cart's token after merging the anonymous cart, if they have a cart.
    pub cart_token: Option<String>,
}

/// Logs in. Unknown e-mail and wrong password give the same `INVALID_CREDENTIALS` in the
/// same time; repeated failures of the e-mail from one address (or sustained ones from many,
/// or very many from one address) give `TOO_MANY_ATTEMPTS` (see [`auth::reserve`]). With
/// `cart_token`, the anonymous cart is merged into the customer's.
///
/// Holds one pooled connection at a time and none while the password is checked.
pub async fn login(
    pool: &PgPool,
    settings: &CustomerSettings,
    email: &str,
    password: &str,
    ip: Option<&str>,
    cart_token: Option<&str>,
) -> Result<LoggedIn, Error> {
    let key = email.trim().to_lowercase();
    let attempt = auth::reserve(pool, Scope::Customer, &key, ip, &settings.throttle).await?;
    let found = sqlx::query!(
        r#"SELECT id AS "id: CustomerId", password_hash FROM customers WHERE email = $1"#,
        key
    )
    .fetch_optional(pool)
    .await?;
    let (id, hash) = found.map_or((None, None), |r| (Some(r.id), Some(r.password_hash)));
    let (true, Some(id)) = (auth::verify_password(password.to_owned(), hash).await?, id) else {
        auth::failed(&mut *pool.acquire().await?, &attempt).await?;
        // The connection is back in the pool before the wait.
        tokio::time::sleep(attempt.delay()).await;
        return Err(Error::InvalidCredentials);
    };
    let (token, token_hash) = auth::new_token();
    let mut tx = pool.begin().await?;
    auth::succeeded(&mut tx, &attempt).await?;
    // Signing in wakes a dormant account (the dormant-account policy, `jobs::dormant`).
    sqlx::query!(
        "WITH s AS (INSERT INTO customer_sessions (token_hash, customer_id, expires_at) VALUES ($1, $2, $3))
         UPDATE customers SET dormant_at = NULL, updated_at = now() WHERE id = $2 AND dormant_at IS NOT NULL",
        token_hash,
        id as CustomerId,
        Utc::now() + Duration::days(settings.session_days),
    )
    .execute(&mut *tx)
    .await?;
    let cart_token = cart::attach_to_customer(&mut tx, cart_token, id).await?;
    tx.commit().await?;
    tracing::info!(customer = %id, "customer logged in");
    Ok(LoggedIn {
        token,
        customer: get(pool, id).await?,
        cart_token,
    })
}

/// The customer a token belongs to. Errors: `UNAUTHENTICATED` (unknown, expired, revoked).
pub async fn authenticate(conn: &mut PgConnection, token: &str) -> Result<CustomerId, Error> {
    sqlx::query_scalar!(
        r#"SELECT customer_id AS "id: CustomerId" FROM customer_sessions
            WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()"#,
        auth::token_hash(token),
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::Unauthenticated)
}

/// Revokes a token. Errors: `UNAUTHENTICATED` if it was not a live token.
pub async fn logout(pool: &PgPool, token: &str) -> Result<(), Error> {
    let r = sqlx::query!(
        "UPDATE customer_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
        auth::token_hash(token),
    )
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::Unauthenticated);
    }
    Ok(())
}

/// A saved address.
#[derive(Clone, Debug)]
pub struct Address {
    /// Its id.
    pub id: AddressId,
    /// The address and recipient.
    pub address: PostalAddress,
    /// The default address.
    pub is_default: bool,
}

/// A customer's addresses, the default first.
pub async fn addresses(pool: &PgPool, customer: CustomerId) -> Result<Vec<Address>, Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: AddressId", recipient, phone, zonecode, road_address, jibun_address,
                  building_name, detail_address, is_default
             FROM addresses WHERE customer_id = $1 ORDER BY is_default DESC, created_at"#,
        customer as CustomerId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Address {
            id: r.id,
            address: PostalAddress {
                recipient: r.recipient,
                phone: r.phone,
                zonecode: r.zonecode,
                road_address: r.road_address,
                jibun_address: r.jibun_address,
                building_name: r.building_name,
                detail_address: r.detail_address,
            },
            is_default: r.is_default,
        })
        .collect())
}

/// Saves an address; the first one, or one saved with `default`, becomes the default.
pub async fn add_address(
    pool: &PgPool,
    customer: CustomerId,
    a: PostalAddress,
    default: bool,
) -> Result<Address, Error> {
    let mut tx = pool.begin().await?;
    let id = AddressId::generate();
    let any = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM addresses WHERE customer_id = $1) AS "any!""#,
        customer as CustomerId
    )
    .fetch_one(&mut *tx)
    .await?;
    let default = default || !any;
    if default {
        clear_default(&mut tx, customer).await?;
    }
    sqlx::query!(
        "INSERT INTO addresses (id, customer_id, recipient, phone, zonecode, road_address, jibun_address,
                                building_name, detail_address, is_default)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id as AddressId,
        customer as CustomerId,
        a.recipient,
        a.phone,
        a.zonecode,
        a.road_address,
        a.jibun_address,
        a.building_name,
        a.detail_address,
        default,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    find_address(pool, customer, id).await
}

async fn clear_default(conn: &mut PgConnection, customer: CustomerId) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE addresses SET is_default = false WHERE customer_id = $1 AND is_default",
        customer as CustomerId
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn find_address(pool: &PgPool, customer: CustomerId, id: AddressId) -> Result<Address, Error> {
    addresses(pool, customer)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(Error::NotFound { what: "address" })
}

/// Replaces an address's fields. Errors: `NOT_FOUND` (not theirs).
pub async fn update_address(
    pool: &PgPool,
    customer: CustomerId,
    id: AddressId,
    a: PostalAddress,
) -> Result<Address, Error> {
    let r = sqlx::query!(
        "UPDATE addresses SET recipient = $3, phone = $4, zonecode = $5, road_address = $6, jibun_address = $7,
                              building_name = $8, detail_address = $9
          WHERE id = $1 AND customer_id = $2",
        id as AddressId,
        customer as CustomerId,
        a.recipient,
        a.phone,
        a.zonecode,
        a.road_address,
        a.jibun_address,
        a.building_name,
        a.detail_address,
    )
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::NotFound { what: "address" });
    }
    find_address(pool, customer, id).await
}

/// Makes an address the default. Errors: `NOT_FOUND`.
pub async fn set_default_address(pool: &PgPool, customer: CustomerId, id: AddressId) -> Result<Address, Error> {
    let mut tx = pool.begin().await?;
    clear_default(&mut tx, customer).await?;
    let r = sqlx::query!(
        "UPDATE addresses SET is_default = true WHERE id = $1 AND customer_id = $2",
        id as AddressId,
        customer as CustomerId,
    )
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::NotFound { what: "address" });
    }
    tx.commit().await?;
    find_address(pool, customer, id).await
}

/// Deletes an address; if it was the default, the oldest remaining one becomes it.
/// Errors: `NOT_FOUND`.
pub async fn delete_address(pool: &PgPool, customer: CustomerId, id: AddressId) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let was_default = sqlx::query_scalar!(
        "DELETE FROM addresses WHERE id = $1 AND customer_id = $2 RETURNING is_default",
        id as AddressId,
        customer as CustomerId,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "address" })?;
    if was_default {
        sqlx::query!(
            "UPDATE addresses SET is_default = true
              WHERE id = (SELECT id FROM addresses WHERE customer_id = $1 ORDER BY created_at LIMIT 1)",
            customer as CustomerId,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

impl Customer {
    /// The customer as the staff member `by` may see them: whole for the roles that see
    /// personal data, else 홍*동, ho***@example.com, 010-****-5678.
    #[must_use]
    pub fn seen_by(self, by: crate::staff::Principal) -> Customer {
        use crate::types::{mask_email, mask_name, mask_phone};
        if by.sees_personal_data() {
            return self;
        }
        Customer {
            email: mask_email(&self.email),
            name: mask_name(&self.name),
            mobile: mask_phone(&self.mobile),
            ..self
        }
    }
}

/// The customer fields masked for roles that don't see personal data, by their API names.
const MASKED_CUSTOMER_FIELDS: &[&str] = &["email", "name", "mobile", "addresses"];

/// The names of the customer fields `by` sees masked (e.g. `mobile`); empty when nothing is.
pub fn masked_fields(by: crate::staff::Principal) -> &'static [&'static str] {
    if by.sees_personal_data() {
        &[]
    } else {
        MASKED_CUSTOMER_FIELDS
    }
}

/// Which customers to list. Every given condition must hold.
#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    /// E-mail, name or mobile (any part).
    pub search: Option<String>,
    /// Only this tier (`BASIC`, `SILVER`, `GOLD`, `VIP`).
    pub tier: Option<String>,
    /// `true`: agreed to marketing by e-mail or SMS; `false`: to neither.
    pub marketing_consent: Option<bool>,
    /// Signed up at or after.
    pub signed_up_from: Option<DateTime<Utc>>,
    /// Signed up before.
    pub signed_up_to: Option<DateTime<Utc>>,
}

/// What a customer list is sorted by (the id breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CustomerSortField {
    /// When they signed up.
    #[default]
    CreatedAt,
    /// Their name (가나다 order).
    Name,
}

/// A customer list's sort: field and direction (default: newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomerSort {
    /// What to sort by.
    pub field: CustomerSortField,
    /// Which way.
    pub direction: crate::catalog::Direction,
}

impl Default for CustomerSort {
    fn default() -> CustomerSort {
        CustomerSort {
            field: CustomerSortField::CreatedAt,
            direction: crate::catalog::Direction::Desc,
        }
    }
}

/// A keyset cursor of the customer list: its sort, the key of the last customer seen
/// (micros since the epoch, or the name, as text) and the id. Opaque (base64url JSON).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StaffCursor {
    s: String,
    k: String,
    i: uuid::Uuid,
}

fn sort_tag(sort: CustomerSort) -> String {
    let f = match sort.field {
        CustomerSortField::CreatedAt => 'c',
        CustomerSortField::Name => 'n',
    };
    let d = match sort.direction {
        crate::catalog::Direction::Asc => 'a',
        crate::catalog::Direction::Desc => 'd',
    };
    format!("{f}{d}")
}

fn encode_cursor(sort: CustomerSort, c: &Customer) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let k = match sort.field {
        CustomerSortField::CreatedAt => c.created_at.timestamp_micros().to_string(),
        CustomerSortField::Name => c.name.clone(),
    };
    let cursor = StaffCursor {
        s: sort_tag(sort),
        k,
        i: c.id.0,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode_cursor(sort: CustomerSort, cursor: &str) -> Result<(String, uuid::Uuid), Error> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Error::InvalidCursor)?;
    let c: StaffCursor = serde_json::from_slice(&bytes).map_err(|_| Error::InvalidCursor)?;
    let key_ok = sort.field == CustomerSortField::Name || c.k.parse::<i64>().is_ok();
    (c.s == sort_tag(sort) && key_ok)
        .then_some((c.k, c.i))
        .ok_or(Error::InvalidCursor)
}

/// The parameters of one page of [`list_for_staff`], named for [`staff_page`].
struct StaffArgs {
    after: Option<uuid::Uuid>,
    after_key: String,
    pattern: Option<String>,
    digits: String,
    limit: i64,
    count: bool,
    tier: Option<String>,
    consent: Option<bool>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// One page of customers in one sort (`first` + 1 rows to see whether more follow): the
/// filter is written once (`m`) for the page and the count; the one-row `t` carries the
/// count even when the page is empty. Each sort is its own static statement.
macro_rules! staff_page {
    ($conn:expr, $a:ident, $key:tt, $cursor_key:tt, $cmp:tt, $dir:tt) => {
        sqlx::query!(
            r#"WITH m AS NOT MATERIALIZED (
                   SELECT * FROM customers
                    WHERE ($2::text IS NULL OR email LIKE lower($2) OR name LIKE $2
                           OR ($3 <> '' AND mobile LIKE '%' || $3 || '%'))
                      AND ($7::text IS NULL OR tier = $7)
                      AND ($8::bool IS NULL OR (marketing_email OR marketing_sms) = $8)
                      AND ($9::timestamptz IS NULL OR created_at >= $9)
                      AND ($10::timestamptz IS NULL OR created_at < $10))
               SELECT p.id AS "id?: CustomerId", p.email AS "email?", p.name AS "name?", p.mobile AS "mobile?",
                      p.tier AS "tier?", p.points AS "points?", p.marketing_email_at AS marketing_email,
                      p.marketing_sms_at AS marketing_sms, p.created_at AS "created_at?", t.n AS "count"
                 FROM (SELECT CASE WHEN $5 THEN (SELECT count(*) FROM m) END AS n) t
                 LEFT JOIN LATERAL (
                      SELECT * FROM m
                       WHERE $1::uuid IS NULL OR (m."#
                + $key
                + ", m.id) "
                + $cmp
                + " ("
                + $cursor_key
                + ", $1) ORDER BY m."
                + $key
                + " "
                + $dir
                + ", m.id "
                + $dir
                + " LIMIT $4) p ON true ORDER BY p."
                + $key
                + " "
                + $dir
                + ", p.id "
                + $dir,
            $a.after,
            $a.pattern,
            $a.digits,
            $a.limit,
            $a.count,
            $a.after_key,
            $a.tier,
            $a.consent,
            $a.from,
            $a.to,
        )
        .fetch_all(&mut *$conn)
        .await?
        .into_iter()
        .map(|r| {
            let c = match (r.id, r.email, r.name, r.mobile, r.tier, r.points, r.created_at) {
                (Some(id), Some(email), Some(name), Some(mobile), Some(tier), Some(points), Some(created_at)) => {
                    Some(Customer {
                        id,
                        email,
                        name,
                        mobile,
                        tier,
                        points,
                        marketing_email: r.marketing_email,
                        marketing_sms: r.marketing_sms,
                        created_at,
                    })
                }
                _ => None,
            };
            (c, r.count)
        })
        .collect::<Vec<(Option<Customer>, Option<i64>)>>()
    };
}

/// Customers for staff a page at a time in `sort` (default newest first; `after`: the
/// cursor of the last one seen), filtered, with the count over all pages when `total`, in
/// one statement. Needs full personal data (OWNER, MANAGER, CS).
/// Errors: `FORBIDDEN`, `INVALID_CURSOR` (not one of ours, or of another sort).
pub async fn list_for_staff(
    pool: &PgPool,
    by: crate::staff::Principal,
    filter: &CustomerFilter,
    sort: CustomerSort,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<Customer>, Error> {
    use crate::catalog::Direction::{Asc, Desc};
    by.require(crate::staff::Permission::ReadPersonalData, "read customers")?;
    let after = after.map(|c| decode_cursor(sort, c)).transpose()?;
    let search = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let a = StaffArgs {
        after: after.as_ref().map(|(_, id)| *id),
        after_key: after.map(|(k, _)| k).unwrap_or_default(),
        pattern: search.map(crate::types::contains_pattern),
        digits: search
            .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
            .unwrap_or_default(),
        limit: i64::from(first) + 1,
        count: total,
        tier: filter.tier.clone(),
        consent: filter.marketing_consent,
        from: filter.signed_up_from,
        to: filter.signed_up_to,
    };
    let mut conn = pool.acquire().await?;
    let rows = match (sort.field, sort.direction) {
        (CustomerSortField::CreatedAt, Desc) => staff_page!(
            conn,
            a,
            "created_at",
            "'epoch'::timestamptz + $6::text::int8 * interval '1 microsecond'",
            "<",
            "DESC"
        ),
        (CustomerSortField::CreatedAt, Asc) => staff_page!(
            conn,
            a,
            "created_at",
            "'epoch'::timestamptz + $6::text::int8 * interval '1 microsecond'",
            ">",
            "ASC"
        ),
        (CustomerSortField::Name, Desc) => staff_page!(conn, a, "name", "$6::text", "<", "DESC"),
        (CustomerSortField::Name, Asc) => staff_page!(conn, a, "name", "$6::text", ">", "ASC"),
    };
    let count = rows.first().and_then(|r| r.1);
    let customers: Vec<Customer> = rows.into_iter().filter_map(|r| r.0).collect();
    Ok(Page::from_rows(customers, first, count, |c| {
        let cursor = encode_cursor(sort, &c);
        (c, cursor)
    }))
}

/// One customer for staff, with full personal data (OWNER, MANAGER, CS).
/// Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn find_for_staff(pool: &PgPool, by: crate::staff::Principal, id: CustomerId) -> Result<Customer, Error> {
    by.require(crate::staff::Permission::ReadPersonalData, "read customers")?;
    get(pool, id).await
}

/// Customers by id, in one statement (the customers of a page of orders); ids without a
/// customer are left out. Unmasked: staff callers pass each through [`Customer::seen_by`].
/// Errors: none but faults (`INTERNAL`).
pub async fn by_ids(conn: &mut PgConnection, ids: &[CustomerId]) -> Result<Vec<Customer>, Error> {
    let raw: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    Ok(sqlx::query_as!(
        Customer,
        r#"SELECT id AS "id: CustomerId", email, name, mobile, tier, points, marketing_email_at AS marketing_email,
                  marketing_sms_at AS marketing_sms, created_at
             FROM customers WHERE id = ANY($1)"#,
        &raw,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The saved addresses of many customers, each customer's default first, in one statement.
/// Unmasked: staff callers mask them for roles that don't see personal data.
/// Errors: none but faults (`INTERNAL`).
pub async fn addresses_of(conn: &mut PgConnection, ids: &[CustomerId]) -> Result<Vec<(CustomerId, Address)>, Error> {
    let raw: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    let rows = sqlx::query!(
        r#"SELECT customer_id AS "customer_id: CustomerId", id AS "id: AddressId", recipient, phone, zonecode,
                  road_address, jibun_address, building_name, detail_address, is_default
             FROM addresses WHERE customer_id = ANY($1) ORDER BY customer_id, is_default DESC, created_at"#,
        &raw,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let a = Address {
                id: r.id,
                address: PostalAddress {
                    recipient: r.recipient,
                    phone: r.phone,
                    zonecode: r.zonecode,
                    road_address: r.road_address,
                    jibun_address: r.jibun_address,
                    building_name: r.building_name,
                    detail_address: r.detail_address,
                },
                is_default: r.is_default,
            };
            (r.customer_id, a)
        })
        .collect())
}

/// What a customer ordered, for staff.
#[derive(Clone, Copy, Debug)]
pub struct CustomerStats {
    /// Who.
    pub id: CustomerId,
    /// Orders placed, in any state.
    pub orders_count: i64,
    /// Paid orders' totals minus what was refunded on them (pending refunds included:
    /// they are owed).
    pub total_spent: crate::Won,
}

/// The order counts and net spending of many customers, in one statement; every id gets
/// a row (zeros for a customer without orders). Errors: none but faults (`INTERNAL`).
pub async fn stats_of(conn: &mut PgConnection, ids: &[CustomerId]) -> Result<Vec<CustomerStats>, Error> {
    let raw: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    let rows = sqlx::query!(
        r#"SELECT k.id AS "id!: CustomerId",
                  count(o.id) AS "orders!",
                  (COALESCE(sum(o.total) FILTER (WHERE o.paid_at IS NOT NULL), 0)
                   - COALESCE(sum(f.refunded) FILTER (WHERE o.paid_at IS NOT NULL), 0))::int8 AS "spent!"
             FROM unnest($1::uuid[]) AS k(id)
             LEFT JOIN orders o ON o.customer_id = k.id
             LEFT JOIN LATERAL (SELECT sum(amount) AS refunded FROM refunds
                                 WHERE order_id = o.id AND status <> 'FAILED') f ON true
            GROUP BY k.id"#,
        &raw,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CustomerStats {
            id: r.id,
            orders_count: r.orders,
            total_spent: crate::Won::new(r.spent).unwrap_or(crate::Won::ZERO),
        })
        .collect())
}
