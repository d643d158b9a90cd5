//! Per-route authentication policy: whether a token is needed, from whom, and a coarse check.

use gatehouse_context::Identity;
use serde::Deserialize;

use crate::issue::ConfigIssue;

/// Whether a route needs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// No token is looked at; the request passes anonymously.
    Public,
    /// A valid token adds identity, an invalid one is refused, none passes anonymously.
    Optional,
    /// A valid token is required.
    Required,
}

/// Authentication policy of one route.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RoutePolicy {
    /// Whether a token is needed.
    pub mode: AuthMode,
    /// Names of the providers whose tokens this route accepts (any of them).
    #[serde(default)]
    pub providers: Vec<String>,
    /// Coarse edge check answered with 403; fine-grained authorization stays in the services.
    #[serde(default)]
    pub require: Option<Requirement>,
}

impl RoutePolicy {
    /// A public route.
    pub fn public() -> Self {
        Self {
            mode: AuthMode::Public,
            providers: Vec::new(),
            require: None,
        }
    }

    /// A route requiring a token from one of `providers`.
    pub fn required<S: Into<String>>(providers: impl IntoIterator<Item = S>) -> Self {
        Self {
            mode: AuthMode::Required,
            providers: providers.into_iter().map(Into::into).collect(),
            require: None,
        }
    }

    /// A route where a token from one of `providers` is optional.
    pub fn optional<S: Into<String>>(providers: impl IntoIterator<Item = S>) -> Self {
        Self {
            mode: AuthMode::Optional,
            ..Self::required(providers)
        }
    }

    /// Adds a coarse requirement.
    #[must_use]
    pub fn with_requirement(mut self, require: Requirement) -> Self {
        self.require = Some(require);
        self
    }

    /// Every problem in this policy, given the names of the configured providers.
    pub fn validate(&self, path: &str, known_providers: &[&str]) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        match self.mode {
            AuthMode::Public => {
                if !self.providers.is_empty() || self.require.is_some() {
                    issues.push(ConfigIssue::new(
                        path,
                        "a public route looks at no token; remove `providers` and `require`, or use mode `optional`",
                    ));
                }
            }
            AuthMode::Optional | AuthMode::Required => {
                if self.providers.is_empty() {
                    issues.push(ConfigIssue::new(
                        format!("{path}.providers"),
                        "name at least one provider whose tokens this route accepts",
                    ));
                }
            }
        }
        for (i, name) in self.providers.iter().enumerate() {
            if !known_providers.contains(&name.as_str()) {
                issues.push(ConfigIssue::new(
                    format!("{path}.providers[{i}]"),
                    format!(
                        "unknown provider \"{name}\"; configured: {}",
                        known_providers.join(", ")
                    ),
                ));
            }
        }
        if let Some(require) = &self.require
            && require.any_of.is_none()
            && require.all_of.is_none()
        {
            issues.push(ConfigIssue::new(
                format!("{path}.require"),
                "set `any_of`, `all_of` or both",
            ));
        }
        issues
    }

    /// Whether the route accepts tokens of the named provider.
    pub fn accepts_provider(&self, name: &str) -> bool {
        self.providers.iter().any(|p| p == name)
    }

    /// Whether the identity passes the coarse requirement (always, when there is none).
    pub fn permits(&self, identity: &Identity) -> bool {
        self.require.as_ref().is_none_or(|r| r.is_met_by(identity))
    }
}

/// Roles and permissions (scopes) to look for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Grants {
    /// Permission or scope names.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A coarse check: `any_of` passes with one listed grant, `all_of` needs every one; both must hold
/// when both are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Requirement {
    /// At least one of these permissions or roles.
    #[serde(default)]
    pub any_of: Option<Grants>,
    /// Every one of these permissions and roles.
    #[serde(default)]
    pub all_of: Option<Grants>,
}

impl Requirement {
    /// Whether the identity meets the requirement.
    pub fn is_met_by(&self, identity: &Identity) -> bool {
        // The same matching rule services apply (`orders:*` grants `orders:create`), so the edge
        // never refuses what the service would allow.
        let has_perm = |p: &String| identity.has_permission(p);
        let has_role = |r: &String| identity.has_role(r);
        let any = self
            .any_of
            .as_ref()
            .is_none_or(|g| g.permissions.iter().any(has_perm) || g.roles.iter().any(has_role));
        let all = self
            .all_of
            .as_ref()
            .is_none_or(|g| g.permissions.iter().all(has_perm) && g.roles.iter().all(has_role));
        any && all
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn identity(roles: &[&str], permissions: &[&str]) -> Identity {
        Identity {
            subject: "u".into(),
            roles: roles.iter().map(|s| (*s).to_owned()).collect(),
            permissions: permissions.iter().map(|s| (*s).to_owned()).collect(),
            ..Identity::default()
        }
    }

    fn requirement(value: serde_json::Value) -> Requirement {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn any_of_needs_one_grant_of_either_kind() {
        let r = requirement(
            json!({ "any_of": { "permissions": ["orders:read"], "roles": ["admin"] } }),
        );
        assert!(r.is_met_by(&identity(&["admin"], &[])));
        assert!(r.is_met_by(&identity(&[], &["orders:read"])));
        assert!(!r.is_met_by(&identity(&["user"], &["orders:write"])));
    }

    #[test]
    fn permission_wildcards_match_like_the_contract() {
        let req =
            requirement(serde_json::json!({ "any_of": { "permissions": ["orders:create"] } }));
        assert!(req.is_met_by(&identity(&[], &["orders:*"])));
        assert!(!req.is_met_by(&identity(&[], &["*"])));
        assert!(!req.is_met_by(&identity(&[], &["orders"])));
        let all = requirement(
            serde_json::json!({ "all_of": { "permissions": ["orders:read", "users:read"] } }),
        );
        assert!(!all.is_met_by(&identity(&[], &["orders:*"])));
        assert!(all.is_met_by(&identity(&[], &["orders:*", "users:*"])));
    }

    #[test]
    fn all_of_needs_every_grant_and_combines_with_any_of() {
        let r = requirement(json!({
            "all_of": { "permissions": ["a", "b"] },
            "any_of": { "roles": ["x", "y"] },
        }));
        assert!(r.is_met_by(&identity(&["y"], &["b", "a"])));
        assert!(!r.is_met_by(&identity(&["y"], &["a"])));
        assert!(!r.is_met_by(&identity(&["z"], &["a", "b"])));
    }

    #[test]
    fn validation_reports_unknown_providers_and_empty_lists() {
        let policy: RoutePolicy = serde_json::from_value(json!({
            "mode": "required", "providers": ["kc", "okat"], "require": {},
        }))
        .unwrap();
        let issues = policy.validate("routes[2].auth", &["kc", "okta"]);
        let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            ["routes[2].auth.providers[1]", "routes[2].auth.require"]
        );
        assert!(
            RoutePolicy::required(Vec::<String>::new())
                .validate("r", &[])
                .len()
                == 1
        );
        assert!(RoutePolicy::public().validate("r", &[]).is_empty());
    }

    #[test]
    fn mode_names_are_snake_case() {
        let p: RoutePolicy =
            serde_json::from_value(json!({ "mode": "optional", "providers": ["a"] })).unwrap();
        assert_eq!(p.mode, AuthMode::Optional);
        assert!(serde_json::from_value::<RoutePolicy>(json!({ "mode": "Required" })).is_err());
    }
}
