use std::collections::BTreeMap;

/// A verified user context, as the gateway established it from a token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// Subject id (the token's `sub`, or the mapped id claim).
    pub subject: String,
    /// E-mail address, when the provider asserted one.
    pub email: Option<String>,
    /// Roles, in the order the provider listed them.
    pub roles: Vec<String>,
    /// Permissions (scopes), in the order the provider listed them.
    pub permissions: Vec<String>,
    /// The issuer (`iss`) the identity was verified against.
    pub issuer: String,
    /// Extra allow-listed attributes mapped from claims.
    pub attributes: BTreeMap<String, String>,
}

impl Identity {
    /// An identity with a subject and an issuer and nothing else.
    pub fn new(subject: impl Into<String>, issuer: impl Into<String>) -> Self {
        Identity {
            subject: subject.into(),
            issuer: issuer.into(),
            ..Identity::default()
        }
    }

    /// This identity with an e-mail address.
    #[must_use]
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// This identity with its roles replaced.
    #[must_use]
    pub fn with_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// This identity with its permissions replaced.
    #[must_use]
    pub fn with_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = permissions.into_iter().map(Into::into).collect();
        self
    }

    /// This identity with one more attribute (replacing any with the same key).
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Whether the identity holds exactly this role (case-sensitive, no wildcards).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }

    /// Whether any held permission grants `required`, by [`crate::permission_matches`].
    pub fn has_permission(&self, required: &str) -> bool {
        self.permissions
            .iter()
            .any(|held| crate::permission_matches(held, required))
    }
}
