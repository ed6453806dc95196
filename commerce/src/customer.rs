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

/// Creates a customer. Errors: `INVALID_INPUT` (required consents), `ALREADY_EXISTS` (e-mail).
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
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::AlreadyExists {
            what: "email",
            value: input.email.masked(),
        });
    }
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
    sqlx::query!(
        "INSERT INTO customer_sessions (token_hash, customer_id, expires_at) VALUES ($1, $2, $3)",
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

/// Customers for staff, newest first (cursor: the customer id), searched by e-mail, name or
/// mobile (any part), with the count over all pages when `total`. Needs full personal data
/// (OWNER, MANAGER, CS). Errors: `FORBIDDEN`.
pub async fn list_for_staff(
    pool: &PgPool,
    by: crate::staff::Principal,
    search: Option<&str>,
    first: u32,
    after: Option<CustomerId>,
    total: bool,
) -> Result<Page<Customer>, Error> {
    by.require(crate::staff::Permission::ReadPersonalData, "read customers")?;
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let pattern = search.map(crate::types::contains_pattern);
    let digits = search
        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
        .unwrap_or_default();
    let mut conn = pool.acquire().await?;
    let rows = staff_page(&mut conn, pattern.as_deref(), &digits, first, after, total).await?;
    let mut count = rows.first().and_then(|r| r.total);
    if total && rows.is_empty() {
        // Past the last page: the first row of the first page carries the count.
        let head = staff_page(&mut conn, pattern.as_deref(), &digits, 1, None, true).await?;
        count = Some(head.first().and_then(|r| r.total).unwrap_or(0));
    }
    Ok(Page::from_rows(rows, first, count, |r| {
        let c = Customer {
            id: r.id,
            email: r.email,
            name: r.name,
            mobile: r.mobile,
            tier: r.tier,
            points: r.points,
            marketing_email: r.marketing_email,
            marketing_sms: r.marketing_sms,
            created_at: r.created_at,
        };
        let cursor = c.id.to_string();
        (c, cursor)
    }))
}

/// A row of [`list_for_staff`]: a customer and, when asked for, the count over all pages.
struct StaffRow {
    id: CustomerId,
    email: String,
    name: String,
    mobile: String,
    tier: String,
    points: i64,
    marketing_email: Option<DateTime<Utc>>,
    marketing_sms: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    total: Option<i64>,
}

/// One page of [`list_for_staff`] (`first` + 1 rows to see whether more follow); the filter
/// is written once, in `m`, for the page and for the count.
async fn staff_page(
    conn: &mut PgConnection,
    pattern: Option<&str>,
    digits: &str,
    first: u32,
    after: Option<CustomerId>,
    total: bool,
) -> Result<Vec<StaffRow>, Error> {
    Ok(sqlx::query_as!(
        StaffRow,
        r#"WITH m AS NOT MATERIALIZED (
               SELECT * FROM customers
                WHERE $2::text IS NULL OR email LIKE lower($2) OR name LIKE $2
                   OR ($3 <> '' AND mobile LIKE '%' || $3 || '%'))
           SELECT id AS "id!: CustomerId", email AS "email!", name AS "name!", mobile AS "mobile!",
                  tier AS "tier!", points AS "points!", marketing_email_at AS marketing_email,
                  marketing_sms_at AS marketing_sms, created_at AS "created_at!",
                  CASE WHEN $5 THEN (SELECT count(*) FROM m) END AS total
             FROM m
            WHERE $1::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM customers WHERE id = $1)
            ORDER BY created_at DESC, id DESC LIMIT $4"#,
        after.map(|a| a.0),
        pattern,
        digits,
        i64::from(first) + 1,
        total,
    )
    .fetch_all(&mut *conn)
    .await?)
}
