//! What a successful authentication yields: the caller's identity, with its context headers
//! encoded once so that every later request with the same token only copies them.

use std::sync::Arc;

use gatehouse_context::{ContextError, EncodedContext, Identity};

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The identity the token's claims mapped to.
    pub identity: Identity,
    // Shared, so a request can carry its context to the upstream writer without copying it.
    context: Result<Arc<EncodedContext>, ContextError>,
}

impl Authenticated {
    /// Wraps an identity, encoding its context headers now.
    pub fn new(identity: Identity) -> Self {
        let context = EncodedContext::new(&identity).map(Arc::new);
        Authenticated { identity, context }
    }

    /// The identity's context headers, or why the contract cannot carry this identity (too many
    /// roles, a limit exceeded): such a caller is refused, never forwarded with a partial context.
    pub fn context(&self) -> Result<&Arc<EncodedContext>, &ContextError> {
        self.context.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn identity(roles: usize) -> Identity {
        Identity {
            subject: "alice".into(),
            issuer: "https://idp.example".into(),
            roles: (0..roles).map(|i| format!("r{i}")).collect(),
            ..Identity::default()
        }
    }

    #[test]
    fn the_encoded_context_is_what_write_headers_writes() {
        let caller = Authenticated::new(identity(3));
        let mut cached = HeaderMap::new();
        cached.insert("x-user-id", "mallory".parse().unwrap());
        caller.context().unwrap().write(&mut cached);
        let mut direct = HeaderMap::new();
        gatehouse_context::write_headers(&caller.identity, &mut direct).unwrap();
        assert_eq!(cached, direct);
        assert_eq!(cached.get("x-user-id").unwrap(), "alice");
    }

    #[test]
    fn an_identity_the_contract_cannot_carry_has_no_context() {
        let caller = Authenticated::new(identity(300));
        assert!(matches!(
            caller.context(),
            Err(ContextError::TooManyItems { .. })
        ));
    }
}
