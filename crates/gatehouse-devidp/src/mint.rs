//! Token minting: a signed RS256 JWT for a demo user.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::{AUDIENCE, DemoUser, DevIdpError, SigningKey, demo_user};

/// How long a minted token is valid: a working day, so the tokens the demo prints outlive it.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// Mints tokens for one issuer with one key.
#[derive(Debug, Clone)]
pub struct Minter {
    key: SigningKey,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl Minter {
    /// Tokens from `issuer`, for [`AUDIENCE`], signed by `key`, valid [`DEFAULT_LIFETIME`].
    pub fn new(key: SigningKey, issuer: impl Into<String>) -> Self {
        Minter {
            key,
            issuer: issuer.into(),
            audience: AUDIENCE.to_owned(),
            lifetime: DEFAULT_LIFETIME,
        }
    }

    /// This minter with another token lifetime.
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The issuer (`iss`) of the minted tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// How long minted tokens are valid.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A token for the demo user called `name`.
    pub fn mint_for(&self, name: &str) -> Result<String, DevIdpError> {
        let user = demo_user(name).ok_or_else(|| DevIdpError::UnknownUser(name.to_owned()))?;
        self.mint(user)
    }

    /// A token for `user`.
    pub fn mint(&self, user: &DemoUser) -> Result<String, DevIdpError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| DevIdpError::Crypto("the system clock is before 1970"))?
            .as_secs();
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": self.key.kid() });
        let claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user.name,
            "email": user.email,
            "roles": user.roles,
            "permissions": user.permissions,
            // The same permissions the OAuth way, for gateways that read `scope` by default.
            "scope": user.permissions.join(" "),
            "iat": now,
            "exp": now.saturating_add(self.lifetime.as_secs()),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(signing_input.as_bytes())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn segment(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn a_token_carries_the_users_claims_and_the_key_id() {
        let minter = Minter::new(SigningKey::generate().unwrap(), "http://127.0.0.1:1/x");
        let token = minter.mint_for("carol").unwrap();
        let header = segment(&token, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], minter.key().kid());
        let claims = segment(&token, 1);
        assert_eq!(claims["iss"], "http://127.0.0.1:1/x");
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["sub"], "carol");
        assert_eq!(claims["email"], "carol@example.com");
        assert_eq!(claims["roles"], json!(["admin"]));
        assert_eq!(claims["permissions"], json!(["orders:*"]));
        let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
        assert_eq!(lifetime, DEFAULT_LIFETIME.as_secs());
    }

    #[test]
    fn unknown_users_get_no_token() {
        let minter = Minter::new(SigningKey::generate().unwrap(), "http://127.0.0.1:1/x");
        assert!(matches!(
            minter.mint_for("mallory"),
            Err(DevIdpError::UnknownUser(_))
        ));
    }
}
