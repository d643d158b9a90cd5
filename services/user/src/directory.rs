//! The profiles the service has seen, as the gateway verified them.

use std::collections::HashMap;

use gatehouse_sdk::Identity;
use serde::Serialize;
use tokio::sync::RwLock;

/// Most profiles remembered; beyond it new callers are answered but not remembered.
const MAX_PROFILES: usize = 10_000;

/// A user's profile: the verified identity context, nothing the client could add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The subject.
    pub id: String,
    /// The e-mail address, if the provider asserted one.
    pub email: Option<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// Permissions.
    pub permissions: Vec<String>,
    /// Who verified it.
    pub issuer: String,
}

impl From<&Identity> for Profile {
    fn from(identity: &Identity) -> Self {
        Profile {
            id: identity.subject.clone(),
            email: identity.email.clone(),
            roles: identity.roles.clone(),
            permissions: identity.permissions.clone(),
            issuer: identity.issuer.clone(),
        }
    }
}

/// Last-seen profiles by subject.
#[derive(Debug, Default)]
pub struct Directory {
    profiles: RwLock<HashMap<String, Profile>>,
}

impl Directory {
    /// Remembers `profile` (replacing an older one of the same user).
    pub async fn record(&self, profile: Profile) {
        let mut profiles = self.profiles.write().await;
        if profiles.len() < MAX_PROFILES || profiles.contains_key(&profile.id) {
            profiles.insert(profile.id.clone(), profile);
        }
    }

    /// The last-seen profile of `id`.
    pub async fn get(&self, id: &str) -> Option<Profile> {
        self.profiles.read().await.get(id).cloned()
    }
}
