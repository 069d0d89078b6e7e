//! Standard Webhooks signatures: `webhook-id`, `webhook-timestamp` and `webhook-signature`
//! (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the bytes of a
//! `whsec_` secret). During a rotation the request carries one signature per secret, space
//! separated, so receivers holding either secret accept it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A signing secret: `whsec_` and the base64 of its key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    /// Reads `whsec_…`; the key must be 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<SigningSecret, String> {
        let body = text
            .trim()
            .strip_prefix("whsec_")
            .ok_or_else(|| "a signing secret starts with whsec_".to_string())?;
        let key = STANDARD
            .decode(body)
            .map_err(|_| "a signing secret is whsec_ and base64".to_string())?;
        if !(24..=64).contains(&key.len()) {
            return Err("a signing secret holds 24 to 64 bytes".into());
        }
        Ok(SigningSecret(key))
    }

    /// A new random secret of 32 bytes.
    pub fn generate() -> SigningSecret {
        use rand::RngCore;
        let mut key = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        SigningSecret(key)
    }

    pub fn to_text(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 signature>` of one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The three headers of a signed message: one signature per secret (the new one first).
pub fn headers(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect();
    [
        ("webhook-id", msg_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signatures.join(" ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_test_vector_is_reproduced() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn rotation_signs_with_every_secret_and_secrets_round_trip() {
        let old = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let new = SigningSecret::generate();
        assert_eq!(SigningSecret::parse(&new.to_text()).unwrap(), new);
        let [id, ts, sig] = headers(&[new.clone(), old.clone()], "msg_1", 1700000000, b"{}");
        assert_eq!((id.1.as_str(), ts.1.as_str()), ("msg_1", "1700000000"));
        let parts: Vec<&str> = sig.1.split(' ').collect();
        assert_eq!(
            parts,
            vec![
                new.sign("msg_1", 1700000000, b"{}"),
                old.sign("msg_1", 1700000000, b"{}")
            ]
        );
        assert!(SigningSecret::parse("nope").is_err());
        assert!(SigningSecret::parse("whsec_!!!").is_err());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err(), "too short");
        assert_eq!(format!("{new:?}"), "SigningSecret(…)");
    }
}
