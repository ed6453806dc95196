//! Signed one-click unsubscribe links: `{http.public_url}/unsubscribe?t={token}`, the token
//! being the customer, the channel and an HMAC under a key derived from `staff.totp_key`.
//! No sign-in, no expiry (a link in an old e-mail must still work), nothing to guess.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sqlx::PgPool;
use uuid::Uuid;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Error, Settings, ids::CustomerId, staff::totp};

const LABEL: &[u8] = b"jangteo/marketing/unsubscribe/v1";

/// Which consent a link withdraws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Marketing e-mail.
    Email,
    /// Marketing SMS.
    Sms,
}

impl Channel {
    fn byte(self) -> u8 {
        match self {
            Channel::Email => b'e',
            Channel::Sms => b's',
        }
    }
}

fn hmac(settings: &Settings, customer: CustomerId, channel: Channel) -> Result<Hmac<Sha256>, Error> {
    let key = totp::derived_key(&settings.staff, LABEL)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| Error::Fault {
        what: "unsubscribe key",
        reason: e.to_string(),
    })?;
    mac.update(customer.0.as_bytes());
    mac.update(&[channel.byte()]);
    Ok(mac)
}

fn mac(settings: &Settings, customer: CustomerId, channel: Channel) -> Result<Vec<u8>, Error> {
    let mut m = hmac(settings, customer, channel)?.finalize().into_bytes().to_vec();
    m.truncate(16);
    Ok(m)
}

/// The token of `customer`'s link for `channel`. Errors: `INTERNAL` (bad server key).
pub fn token(settings: &Settings, customer: CustomerId, channel: Channel) -> Result<String, Error> {
    let mut raw = customer.0.as_bytes().to_vec();
    raw.push(channel.byte());
    raw.extend(mac(settings, customer, channel)?);
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// The whole link.
pub fn url(settings: &Settings, customer: CustomerId, channel: Channel) -> Result<String, Error> {
    Ok(format!(
        "{}/unsubscribe?t={}",
        settings.http.public_url.trim_end_matches('/'),
        token(settings, customer, channel)?
    ))
}

/// Checks a token. Errors: `INVALID_INPUT` (malformed or forged).
pub fn verify(settings: &Settings, token: &str) -> Result<(CustomerId, Channel), Error> {
    let bad = || Error::Invalid {
        field: "t",
        reason: "not a valid unsubscribe link".into(),
    };
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| bad())?;
    if raw.len() != 16 + 1 + 16 {
        return Err(bad());
    }
    let customer = CustomerId(Uuid::from_slice(&raw[..16]).map_err(|_| bad())?);
    let channel = match raw[16] {
        b'e' => Channel::Email,
        b's' => Channel::Sms,
        _ => return Err(bad()),
    };
    // Constant time: the truncated tag is compared by the hmac crate.
    hmac(settings, customer, channel)?
        .verify_truncated_left(&raw[17..])
        .map_err(|_| bad())?;
    Ok((customer, channel))
}

/// Withdraws the consent a valid token names (idempotent: a second click changes nothing).
/// Errors: `INVALID_INPUT` (bad token).
pub async fn apply(pool: &PgPool, settings: &Settings, token: &str) -> Result<Channel, Error> {
    let (customer, channel) = verify(settings, token)?;
    sqlx::query!(
        "UPDATE customers SET
                marketing_email = CASE WHEN $2 THEN false ELSE marketing_email END,
                marketing_email_at = CASE WHEN $2 AND marketing_email THEN now() ELSE marketing_email_at END,
                marketing_sms = CASE WHEN $2 THEN marketing_sms ELSE false END,
                marketing_sms_at = CASE WHEN NOT $2 AND marketing_sms THEN now() ELSE marketing_sms_at END,
                updated_at = now()
          WHERE id = $1",
        customer as CustomerId,
        channel == Channel::Email,
    )
    .execute(pool)
    .await?;
    tracing::info!(customer = %customer, ?channel, "marketing consent withdrawn by link");
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_and_a_changed_one_does_not() {
        let s = Settings::defaults();
        let c = CustomerId::generate();
        let t = token(&s, c, Channel::Email).expect("token");
        assert_eq!(verify(&s, &t).ok(), Some((c, Channel::Email)));
        // Same customer, other channel: the MAC covers the channel.
        let mut raw = URL_SAFE_NO_PAD.decode(&t).expect("b64");
        raw[16] = b's';
        assert!(verify(&s, &URL_SAFE_NO_PAD.encode(&raw)).is_err());
        assert!(verify(&s, "garbage").is_err());
        assert!(verify(&s, "").is_err());
    }
}
