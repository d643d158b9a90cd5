//! What a route or method requires of its caller, and the check against an identity.

use gatehouse_context::Identity;

use crate::Forbidden;

/// Whether every listed value is needed, or any one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every value (an empty list is satisfied by any authenticated caller).
    AllOf,
    /// At least one value (an empty list is never satisfied, failing closed).
    AnyOf,
}

impl Mode {
    /// The wire spelling used in 403 bodies: `all_of` or `any_of`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::AllOf => "all_of",
            Mode::AnyOf => "any_of",
        }
    }
}

/// A condition on the caller's permissions or roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Permissions, matched by [`gatehouse_context::permission_matches`] (exact or `prefix:*`).
    Permissions {
        /// All of them or any of them.
        mode: Mode,
        /// The required permissions.
        values: Vec<String>,
    },
    /// Roles, matched exactly.
    Roles {
        /// All of them or any of them.
        mode: Mode,
        /// The required roles.
        values: Vec<String>,
    },
    /// Every inner requirement.
    All(Vec<Requirement>),
}

/// Requires one permission.
pub fn require_permission(permission: impl Into<String>) -> Requirement {
    require_all_permissions([permission])
}

/// Requires at least one of the permissions.
pub fn require_any_permission<I: IntoIterator<Item = S>, S: Into<String>>(
    permissions: I,
) -> Requirement {
    leaf(Mode::AnyOf, permissions, true)
}

/// Requires every one of the permissions.
pub fn require_all_permissions<I: IntoIterator<Item = S>, S: Into<String>>(
    permissions: I,
) -> Requirement {
    leaf(Mode::AllOf, permissions, true)
}

/// Requires one role.
pub fn require_role(role: impl Into<String>) -> Requirement {
    require_all_roles([role])
}

/// Requires at least one of the roles.
pub fn require_any_role<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Requirement {
    leaf(Mode::AnyOf, roles, false)
}

/// Requires every one of the roles.
pub fn require_all_roles<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Requirement {
    leaf(Mode::AllOf, roles, false)
}

fn leaf<I: IntoIterator<Item = S>, S: Into<String>>(
    mode: Mode,
    values: I,
    permissions: bool,
) -> Requirement {
    let values = values.into_iter().map(Into::into).collect();
    if permissions {
        Requirement::Permissions { mode, values }
    } else {
        Requirement::Roles { mode, values }
    }
}

impl Requirement {
    /// This requirement and `other` together.
    #[must_use]
    pub fn and(self, other: Requirement) -> Requirement {
        match self {
            Requirement::All(mut all) => {
                all.push(other);
                Requirement::All(all)
            }
            first => Requirement::All(vec![first, other]),
        }
    }

    /// Whether `identity` satisfies this requirement.
    pub fn is_satisfied_by(&self, identity: &Identity) -> bool {
        self.first_unmet(identity).is_none()
    }

    /// `Ok` when `identity` satisfies this requirement, else the 403 naming the unmet part.
    pub fn check(&self, identity: &Identity) -> Result<(), Forbidden> {
        match self.first_unmet(identity) {
            None => Ok(()),
            Some(unmet) => Err(Forbidden::new(unmet.clone())),
        }
    }

    fn first_unmet(&self, identity: &Identity) -> Option<&Requirement> {
        let (mode, values, holds): (_, _, &dyn Fn(&str) -> bool) = match self {
            Requirement::Permissions { mode, values } => {
                (mode, values, &|p: &str| identity.has_permission(p))
            }
            Requirement::Roles { mode, values } => (mode, values, &|r: &str| identity.has_role(r)),
            Requirement::All(all) => return all.iter().find_map(|r| r.first_unmet(identity)),
        };
        let met = match mode {
            Mode::AllOf => values.iter().all(|v| holds(v)),
            Mode::AnyOf => values.iter().any(|v| holds(v)),
        };
        (!met).then_some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Identity {
        Identity::new("u", "iss")
            .with_roles(["editor"])
            .with_permissions(["orders:read", "invoices:*"])
    }

    #[test]
    fn all_of_and_any_of() {
        let id = caller();
        assert!(require_permission("orders:read").is_satisfied_by(&id));
        assert!(!require_permission("orders:create").is_satisfied_by(&id));
        assert!(require_any_permission(["orders:create", "orders:read"]).is_satisfied_by(&id));
        assert!(!require_all_permissions(["orders:create", "orders:read"]).is_satisfied_by(&id));
        assert!(require_all_permissions(["orders:read", "invoices:pay"]).is_satisfied_by(&id));
        assert!(require_role("editor").is_satisfied_by(&id));
        assert!(!require_role("Editor").is_satisfied_by(&id));
        assert!(!require_role("edit*").is_satisfied_by(&id));
        assert!(require_any_role(["admin", "editor"]).is_satisfied_by(&id));
        assert!(!require_all_roles(["admin", "editor"]).is_satisfied_by(&id));
    }

    #[test]
    fn empty_lists_fail_closed_only_for_any_of() {
        let id = caller();
        assert!(require_all_roles(Vec::<String>::new()).is_satisfied_by(&id));
        assert!(!require_any_role(Vec::<String>::new()).is_satisfied_by(&id));
    }

    #[test]
    fn and_reports_the_first_unmet_part() {
        let id = caller();
        let both = require_role("editor").and(require_permission("orders:delete"));
        let err = both.check(&id).unwrap_err();
        assert_eq!(err.requirement(), &require_permission("orders:delete"));
        assert!(
            require_role("editor")
                .and(require_permission("orders:read"))
                .check(&id)
                .is_ok()
        );
    }
}
