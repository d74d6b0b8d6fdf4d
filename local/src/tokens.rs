//! The demo users' tokens: what the CRM's identity provider issues on AWS. Each is shaped as
//! a JWT (header, claims, signature; base64url) so the page reads its `exp` and `sub` as it
//! reads a real one; the runner recognises its own tokens by lookup, never by the signature.
//! Tokens expire (`DEMO_TOKEN_TTL_SECONDS`, 12 hours by default): an expired one is refused
//! as API Gateway's JWT authorizer refuses it (401), and `POST /local/token` is the CRM's
//! refresh — a valid token gets a fresh one for the same user.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use chrono::Utc;

use crate::gateway::Claims;

/// How long a demo token lives unless `DEMO_TOKEN_TTL_SECONDS` says otherwise.
pub const DEFAULT_TTL_SECONDS: i64 = 12 * 3600;

/// The claims of a user, besides the lifetime the book adds.
pub type Identity = Vec<(String, String)>;

#[derive(Clone)]
pub struct TokenBook {
    issued: Arc<RwLock<HashMap<String, Claims>>>,
    ttl_seconds: i64,
}

impl TokenBook {
    pub fn new(ttl_seconds: i64) -> Self {
        Self {
            issued: Arc::default(),
            ttl_seconds: ttl_seconds.max(1),
        }
    }

    /// A new token for `identity` (its claims), valid for the book's lifetime from now.
    pub fn issue(&self, identity: &Identity) -> String {
        let now = Utc::now().timestamp();
        let mut claims: Claims = identity.iter().cloned().collect();
        claims.insert("iat".into(), now.to_string());
        claims.insert("exp".into(), (now + self.ttl_seconds).to_string());
        claims.insert("token_use".into(), "id".into());
        let encode = |json: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
        };
        // Numbers where a JWT has numbers; API Gateway hands every claim over as a string.
        let mut payload = serde_json::Map::new();
        for (name, value) in &claims {
            let value = match (name.as_str(), value.parse::<i64>()) {
                ("iat" | "exp", Ok(n)) => serde_json::Value::from(n),
                _ => serde_json::Value::from(value.clone()),
            };
            payload.insert(name.clone(), value);
        }
        let token = format!(
            "{}.{}.{}",
            encode(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": "local-demo"})),
            encode(&serde_json::Value::Object(payload)),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ulid::Ulid::new().to_bytes()),
        );
        let mut issued = self.issued.write().unwrap_or_else(|e| e.into_inner());
        // Expired tokens are forgotten as new ones are issued.
        issued.retain(|_, c| !expired(c, now));
        issued.insert(token.clone(), claims);
        token
    }

    /// The claims of a token this book issued and that has not expired.
    pub fn claims(&self, token: &str) -> Option<Claims> {
        let issued = self.issued.read().unwrap_or_else(|e| e.into_inner());
        issued
            .get(token)
            .filter(|c| !expired(c, Utc::now().timestamp()))
            .cloned()
    }

    /// When a valid token expires (epoch seconds).
    pub fn expires_at(&self, token: &str) -> Option<i64> {
        self.claims(token)?.get("exp")?.parse().ok()
    }

    /// The CRM's refresh: a fresh token for the user of a valid one; None once it expired
    /// (the user signs in again).
    pub fn refresh(&self, token: &str) -> Option<String> {
        let claims = self.claims(token)?;
        let identity: Identity = claims
            .into_iter()
            .filter(|(name, _)| !matches!(name.as_str(), "iat" | "exp" | "token_use"))
            .collect();
        Some(self.issue(&identity))
    }
}

fn expired(claims: &Claims, now: i64) -> bool {
    claims
        .get("exp")
        .and_then(|exp| exp.parse::<i64>().ok())
        .is_none_or(|exp| exp <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana() -> Identity {
        vec![
            ("sub".into(), "u-ana".into()),
            ("custom:organization_id".into(), "acme".into()),
        ]
    }

    #[test]
    fn a_token_reads_as_a_jwt_with_its_claims_and_lifetime() {
        let book = TokenBook::new(600);
        let token = book.issue(&ana());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[1])
                .unwrap(),
        )
        .unwrap();
        assert_eq!(payload["sub"], "u-ana");
        let exp = payload["exp"].as_i64().unwrap();
        assert_eq!(exp - payload["iat"].as_i64().unwrap(), 600);
        let claims = book.claims(&token).unwrap();
        assert_eq!(claims["custom:organization_id"], "acme");
        assert_eq!(claims["exp"], exp.to_string());
        assert_eq!(book.expires_at(&token), Some(exp));
        assert!(book.claims("forged.token.here").is_none());
    }

    #[test]
    fn an_expired_token_is_refused_and_cannot_be_refreshed() {
        let book = TokenBook::new(600);
        let token = book.issue(&ana());
        let fresh = book.refresh(&token).unwrap();
        assert_ne!(fresh, token);
        assert_eq!(book.claims(&fresh).unwrap()["sub"], "u-ana");
        // Expire the first.
        book.issued
            .write()
            .unwrap()
            .get_mut(&token)
            .unwrap()
            .insert("exp".into(), (Utc::now().timestamp() - 1).to_string());
        assert!(book.claims(&token).is_none());
        assert!(book.refresh(&token).is_none());
        assert!(book.claims(&fresh).is_some(), "the fresh one lives on");
    }
}
