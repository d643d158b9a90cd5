//! The named demo users and what they may do.

/// A demo user: the claims a token for them carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoUser {
    /// The name used to ask for a token; also the subject (`sub`).
    pub name: &'static str,
    /// What the user stands for in the walkthrough.
    pub description: &'static str,
    /// The `email` claim.
    pub email: &'static str,
    /// The `roles` claim.
    pub roles: &'static [&'static str],
    /// The `permissions` claim (also written space-separated as `scope`).
    pub permissions: &'static [&'static str],
}

// Three users cover the walkthrough: one who may order, one who may only look, one who sees all.
const USERS: [DemoUser; 3] = [
    DemoUser {
        name: "alice",
        description: "customer: places orders and sees her own",
        email: "alice@example.com",
        roles: &["customer"],
        permissions: &["orders:create", "orders:read"],
    },
    DemoUser {
        name: "bob",
        description: "read-only user: may look at his orders, not place any",
        email: "bob@example.com",
        roles: &["customer"],
        permissions: &["orders:read"],
    },
    DemoUser {
        name: "carol",
        description: "admin: sees every order and every profile",
        email: "carol@example.com",
        roles: &["admin"],
        permissions: &["orders:*"],
    },
];

/// Every demo user.
pub fn demo_users() -> &'static [DemoUser] {
    &USERS
}

/// The demo user called `name`.
pub fn demo_user(name: &str) -> Option<&'static DemoUser> {
    USERS.iter().find(|user| user.name == name)
}
