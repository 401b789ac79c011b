//! The webhook signing secret and the Standard Webhooks signature.

use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use ak_core::{RandomError, RandomSource};

/// The text every secret starts with, as in the Standard Webhooks specification.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret: 32 (256 bits).
pub const SECRET_BYTES: usize = 32;

/// A webhook's signing secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks'
/// format, which its verification libraries accept as is).
///
/// Shown once, when the webhook is added, like an access key's cleartext; the store holds it only
/// sealed under the master key. No `Serialize`; `Debug` and `Display` print `[redacted]`; zeroized
/// on drop; the text is reachable only through [`expose_secret`](Self::expose_secret).
pub struct WebhookSecret {
    key: Zeroizing<[u8; SECRET_BYTES]>,
    text: Zeroizing<String>,
}

impl WebhookSecret {
    /// A new random secret.
    pub fn generate(random: &dyn RandomSource) -> Result<Self, RandomError> {
        let mut key = Zeroizing::new([0u8; SECRET_BYTES]);
        random.fill_bytes(key.as_mut())?;
        Ok(Self::from_key(key))
    }

    /// The secret of these key bytes.
    pub(crate) fn from_key(key: Zeroizing<[u8; SECRET_BYTES]>) -> Self {
        let mut text = Zeroizing::new(String::with_capacity(SECRET_PREFIX.len() + 44));
        text.push_str(SECRET_PREFIX);
        BASE64.encode_append(key.as_slice(), &mut text);
        Self { key, text }
    }

    /// The secret from raw bytes as unsealed; `None` unless exactly [`SECRET_BYTES`] long.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; SECRET_BYTES]);
        if bytes.len() != SECRET_BYTES {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(Self::from_key(key))
    }

    /// The secret's text, `whsec_...`. Give it to the receiver once; never log it.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }

    /// The HMAC key: the 32 bytes behind the base64.
    pub(crate) fn key(&self) -> &[u8; SECRET_BYTES] {
        &self.key
    }

    /// The `webhook-signature` header value for one delivery attempt: `v1,` and the base64 of
    /// `HMAC-SHA256(key, "{id}.{timestamp}.{body}")`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        sign_with(self.key(), id, timestamp, body)
    }
}

/// `v1,<base64(HMAC-SHA256(key, id.timestamp.body))>`, as Standard Webhooks defines it.
pub(crate) fn sign_with(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(&mac.finalize().into_bytes()))
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl std::fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ak_core::SeededRandom;

    #[test]
    fn format_redaction_and_the_specification_vector() {
        let secret = WebhookSecret::generate(&SeededRandom::new(7)).unwrap();
        let text = secret.expose_secret();
        assert!(text.starts_with(SECRET_PREFIX));
        assert_eq!(
            BASE64.decode(&text.as_bytes()[SECRET_PREFIX.len()..]).unwrap(),
            secret.key().to_vec()
        );
        assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
        assert_eq!(secret.to_string(), "[redacted]");
        // The example of the Standard Webhooks specification.
        let key = BASE64.decode(b"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign_with(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
