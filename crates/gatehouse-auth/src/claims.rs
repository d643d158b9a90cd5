//! Claim mapping: which claims of a verified token become the forwarded identity.

use std::collections::BTreeMap;

use gatehouse_context::Identity;
use serde::Deserialize;

use crate::claim_path::ClaimPath;
use crate::issue::ConfigIssue;
use crate::payload::{Claim, Claims};

/// Most roles or permissions kept from one token; a token is at most a few KiB anyway.
const MAX_VALUES: usize = 256;

/// Ready-made mappings for common identity providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimPreset {
    /// Keycloak: roles from `realm_access.roles`, permissions from `scope`.
    Keycloak,
    /// Auth0: permissions from `permissions` and `scope`; roles from a namespaced claim you name.
    Auth0,
    /// Okta: roles from `groups`, permissions from `scp`.
    Okta,
    /// Microsoft Entra ID: subject `oid`, roles from `roles`, permissions from `scp`, e-mail from
    /// `email` or else `preferred_username`, attribute `tenant` from `tid`.
    Entra,
}

/// How a provider's claims map to the identity; explicit fields override the preset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ClaimMappingConfig {
    /// Preset to start from.
    #[serde(default)]
    pub preset: Option<ClaimPreset>,
    /// Claim holding the subject id (default `sub`); a token without it is refused.
    #[serde(default)]
    pub subject: Option<ClaimPath>,
    /// Claims tried in order for the e-mail address (default `email`).
    #[serde(default)]
    pub email: Option<Vec<ClaimPath>>,
    /// Claims whose values are merged into the roles (arrays or space-delimited strings).
    #[serde(default)]
    pub roles: Option<Vec<ClaimPath>>,
    /// Claims whose values are merged into the permissions (arrays or space-delimited strings).
    #[serde(default)]
    pub permissions: Option<Vec<ClaimPath>>,
    /// Extra allow-listed claims: attribute name to claim path.
    #[serde(default)]
    pub attributes: BTreeMap<String, ClaimPath>,
}

impl ClaimMappingConfig {
    /// Every problem in this mapping, located under `path`.
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        for name in self.attributes.keys() {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid {
                issues.push(ConfigIssue::new(
                    format!("{path}.attributes.{name}"),
                    "attribute names are 1 to 64 characters of a-z, 0-9, `_` and `-`",
                ));
            }
        }
        issues
    }
}

/// A resolved claim mapping, preset and overrides merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    subject: ClaimPath,
    email: Vec<ClaimPath>,
    roles: Vec<ClaimPath>,
    permissions: Vec<ClaimPath>,
    attributes: BTreeMap<String, ClaimPath>,
}

impl ClaimMapping {
    /// Resolves the configuration against its preset.
    pub fn from_config(config: &ClaimMappingConfig) -> Self {
        let mut base = match config.preset {
            None => Self::plain(),
            Some(preset) => Self::preset(preset),
        };
        if let Some(subject) = &config.subject {
            base.subject = subject.clone();
        }
        if let Some(email) = &config.email {
            base.email = email.clone();
        }
        if let Some(roles) = &config.roles {
            base.roles = roles.clone();
        }
        if let Some(permissions) = &config.permissions {
            base.permissions = permissions.clone();
        }
        base.attributes.extend(
            config
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        base
    }

    fn plain() -> Self {
        Self {
            subject: ClaimPath::claim("sub"),
            email: vec![ClaimPath::claim("email")],
            roles: vec![ClaimPath::claim("roles")],
            permissions: vec![ClaimPath::claim("scope")],
            attributes: BTreeMap::new(),
        }
    }

    fn preset(preset: ClaimPreset) -> Self {
        let plain = Self::plain();
        match preset {
            ClaimPreset::Keycloak => Self {
                roles: vec![ClaimPath::nested(&["realm_access", "roles"])],
                permissions: vec![ClaimPath::claim("scope")],
                ..plain
            },
            ClaimPreset::Auth0 => Self {
                // Auth0 only emits roles through a namespaced claim the tenant chooses, so the
                // preset has none until `roles` names it.
                roles: Vec::new(),
                permissions: vec![ClaimPath::claim("permissions"), ClaimPath::claim("scope")],
                ..plain
            },
            ClaimPreset::Okta => Self {
                roles: vec![ClaimPath::claim("groups")],
                permissions: vec![ClaimPath::claim("scp")],
                ..plain
            },
            ClaimPreset::Entra => Self {
                // `sub` is pairwise per application in Entra; `oid` is the user's stable id.
                subject: ClaimPath::claim("oid"),
                email: vec![
                    ClaimPath::claim("email"),
                    ClaimPath::claim("preferred_username"),
                ],
                roles: vec![ClaimPath::claim("roles")],
                permissions: vec![ClaimPath::claim("scp")],
                attributes: BTreeMap::from([("tenant".to_owned(), ClaimPath::claim("tid"))]),
            },
        }
    }

    /// Builds the identity; `None` when the subject claim is missing or not a non-empty string.
    pub fn identity(&self, issuer: &str, claims: &Claims<'_>) -> Option<Identity> {
        let subject = match self.subject.lookup(claims)? {
            Claim::String(s) if !s.is_empty() => s.to_string(),
            Claim::Number(n) => n.to_string(),
            _ => return None,
        };
        let email = self
            .email
            .iter()
            .find_map(|path| {
                path.lookup(claims)
                    .and_then(Claim::as_str)
                    .filter(|s| !s.is_empty())
            })
            .map(str::to_owned);
        let attributes = self
            .attributes
            .iter()
            .filter_map(|(name, path)| Some((name.clone(), scalar_text(path.lookup(claims)?)?)))
            .collect();
        Some(Identity {
            subject,
            email,
            roles: collect_values(&self.roles, claims),
            permissions: collect_values(&self.permissions, claims),
            issuer: issuer.to_owned(),
            attributes,
        })
    }
}

/// Values of every path, from arrays of strings or space-delimited strings, de-duplicated in order.
/// Collection stops one past `MAX_VALUES`: that bounds the work, and the surplus value makes the
/// context contract refuse the identity instead of silently forwarding a truncated list.
fn collect_values(paths: &[ClaimPath], claims: &Claims<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |value: &str| {
        if !value.is_empty() && out.len() <= MAX_VALUES && !out.iter().any(|v| v == value) {
            out.push(value.to_owned());
        }
    };
    for path in paths {
        match path.lookup(claims) {
            Some(Claim::String(s)) => s.split_ascii_whitespace().for_each(&mut push),
            Some(Claim::Array(items)) => items.iter().filter_map(Claim::as_str).for_each(&mut push),
            _ => {}
        }
    }
    out
}

/// A scalar claim as text; arrays of scalars are joined with `,`; objects are not mapped.
fn scalar_text(value: &Claim<'_>) -> Option<String> {
    match value {
        Claim::String(s) => Some(s.to_string()),
        Claim::Number(n) => Some(n.to_string()),
        Claim::Bool(b) => Some(b.to_string()),
        Claim::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|item| match item {
                    Claim::Array(_) | Claim::Object(_) => None,
                    other => scalar_text(other),
                })
                .collect();
            parts.map(|p| p.join(","))
        }
        Claim::Null | Claim::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// Maps `claims` as a token's payload carrying them would be mapped.
    fn map(m: &ClaimMapping, issuer: &str, claims: &Value) -> Option<Identity> {
        let text = claims.to_string();
        m.identity(issuer, &Claims::parse(text.as_bytes()).unwrap())
    }

    fn mapping(yaml_like: Value) -> ClaimMapping {
        let config: ClaimMappingConfig = serde_json::from_value(yaml_like).unwrap();
        ClaimMapping::from_config(&config)
    }

    #[test]
    fn keycloak_preset_reads_realm_roles_and_scope() {
        let m = mapping(json!({ "preset": "keycloak" }));
        let claims = json!({
            "sub": "u1", "email": "u@x.io",
            "realm_access": { "roles": ["admin", "user"] },
            "scope": "openid orders:read  orders:write",
        });
        let id = map(&m, "https://kc", &claims).unwrap();
        assert_eq!(id.subject, "u1");
        assert_eq!(id.email.as_deref(), Some("u@x.io"));
        assert_eq!(id.roles, ["admin", "user"]);
        assert_eq!(id.permissions, ["openid", "orders:read", "orders:write"]);
        assert_eq!(id.issuer, "https://kc");
    }

    #[test]
    fn auth0_preset_with_namespaced_roles_claim() {
        let m = mapping(json!({
            "preset": "auth0",
            "roles": [["https://example.com/roles"]],
            "attributes": { "org": "org_id" },
        }));
        let claims = json!({
            "sub": "auth0|1",
            "https://example.com/roles": ["editor"],
            "permissions": ["read:a", "write:a"],
            "scope": "read:a openid",
            "org_id": "org_9",
        });
        let id = map(&m, "https://t.auth0.com/", &claims).unwrap();
        assert_eq!(id.roles, ["editor"]);
        assert_eq!(id.permissions, ["read:a", "write:a", "openid"]);
        assert_eq!(id.attributes.get("org").map(String::as_str), Some("org_9"));
    }

    #[test]
    fn okta_and_entra_presets() {
        let okta = mapping(json!({ "preset": "okta" }));
        let id = map(
            &okta,
            "o",
            &json!({ "sub": "s", "groups": ["g1"], "scp": ["a", "b"] }),
        )
        .unwrap();
        assert_eq!(
            (id.roles, id.permissions),
            (vec!["g1".to_owned()], vec!["a".into(), "b".into()])
        );

        let entra = mapping(json!({ "preset": "entra" }));
        let claims = json!({
            "sub": "pairwise", "oid": "0000-1111", "tid": "tenant-1",
            "preferred_username": "user@contoso.com", "roles": ["Reader"], "scp": "User.Read",
        });
        let id = map(&entra, "e", &claims).unwrap();
        assert_eq!(id.subject, "0000-1111");
        assert_eq!(id.email.as_deref(), Some("user@contoso.com"));
        assert_eq!(id.roles, ["Reader"]);
        assert_eq!(id.permissions, ["User.Read"]);
        assert_eq!(
            id.attributes.get("tenant").map(String::as_str),
            Some("tenant-1")
        );
    }

    #[test]
    fn missing_optional_claims_are_empty_and_missing_subject_is_none() {
        let m = mapping(json!({ "preset": "keycloak", "attributes": { "team": "team" } }));
        let id = map(&m, "i", &json!({ "sub": "u", "realm_access": "weird" })).unwrap();
        assert!(id.roles.is_empty() && id.permissions.is_empty() && id.attributes.is_empty());
        assert_eq!(id.email, None);
        assert!(map(&m, "i", &json!({ "email": "x" })).is_none());
        assert!(map(&m, "i", &json!({ "sub": "" })).is_none());
        assert!(map(&m, "i", &json!({ "sub": { "nested": 1 } })).is_none());
    }

    #[test]
    fn overrides_replace_preset_fields_and_values_are_deduplicated() {
        let m = mapping(json!({
            "preset": "okta",
            "subject": "uid",
            "roles": ["groups", "extra.roles"],
        }));
        let claims = json!({ "uid": 42, "groups": ["a", "b"], "extra": { "roles": "b c" } });
        let id = map(&m, "i", &claims).unwrap();
        assert_eq!(id.subject, "42");
        assert_eq!(id.roles, ["a", "b", "c"]);
    }

    #[test]
    fn attribute_names_are_validated() {
        let config: ClaimMappingConfig =
            serde_json::from_value(json!({ "attributes": { "Bad Name": "x", "ok": "y" } }))
                .unwrap();
        let issues = config.validate("providers[0].claims");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "providers[0].claims.attributes.Bad Name");
    }
}
