//! The verified-token cache: skips signature checks for tokens seen recently.

use std::collections::HashSet;
use std::sync::Arc;

use aws_lc_rs::digest;
use quick_cache::sync::Cache;

use crate::authenticated::Authenticated;
use crate::keys::Fingerprint;

/// SHA-256 of a token; the only form in which a token is ever kept.
pub(crate) type TokenHash = [u8; 32];

/// Hashes a token for use as a cache key.
pub(crate) fn token_hash(token: &[u8]) -> TokenHash {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, token).as_ref());
    out
}

/// What a verification established, minus the token.
#[derive(Debug)]
pub(crate) struct CachedToken {
    /// Index of the provider that verified it.
    pub provider: usize,
    /// The mapped identity, with its context headers encoded.
    pub caller: Arc<Authenticated>,
    /// The token's `exp`; the entry is never served at or after it.
    pub exp: i64,
    /// The key that verified it.
    pub key: Fingerprint,
}

/// A bounded map from token hash to verification result.
#[derive(Debug)]
pub(crate) struct TokenCache {
    entries: Option<Cache<TokenHash, Arc<CachedToken>>>,
}

impl TokenCache {
    /// A cache of at most `capacity` entries; zero disables caching.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
        }
    }

    /// Whether entries are kept at all (a capacity of zero turns the cache off).
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The entry for `hash`, unless absent or expired at `now`.
    pub fn get(&self, hash: &TokenHash, now: i64) -> Option<Arc<CachedToken>> {
        let entries = self.entries.as_ref()?;
        let entry = entries.get(hash)?;
        if now >= entry.exp {
            entries.remove(hash);
            return None;
        }
        Some(entry)
    }

    /// Stores a verification result.
    pub fn insert(&self, hash: TokenHash, entry: CachedToken) {
        if let Some(entries) = &self.entries {
            entries.insert(hash, Arc::new(entry));
        }
    }

    /// Removes one entry.
    pub fn remove(&self, hash: &TokenHash) {
        if let Some(entries) = &self.entries {
            entries.remove(hash);
        }
    }

    /// Drops every entry verified by one of `keys`.
    pub fn drop_keys(&self, keys: &HashSet<Fingerprint>) {
        if let Some(entries) = &self.entries
            && !keys.is_empty()
        {
            entries.retain(|_, entry| !keys.contains(&entry.key));
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, Cache::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(exp: i64, key: u8) -> CachedToken {
        CachedToken {
            provider: 0,
            caller: Arc::new(Authenticated::new(gatehouse_context::Identity::default())),
            exp,
            key: [key; 32],
        }
    }

    #[test]
    fn entries_never_outlive_exp() {
        let cache = TokenCache::new(10);
        let h = token_hash(b"t");
        cache.insert(h, entry(100, 1));
        assert!(cache.get(&h, 99).is_some());
        assert!(cache.get(&h, 100).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn dropping_a_key_drops_only_its_entries() {
        let cache = TokenCache::new(10);
        cache.insert(token_hash(b"a"), entry(100, 1));
        cache.insert(token_hash(b"b"), entry(100, 2));
        cache.drop_keys(&HashSet::from([[1u8; 32]]));
        assert!(cache.get(&token_hash(b"a"), 0).is_none());
        assert!(cache.get(&token_hash(b"b"), 0).is_some());
    }

    #[test]
    fn capacity_is_bounded_and_zero_disables() {
        let cache = TokenCache::new(16);
        for i in 0..1000 {
            cache.insert(token_hash(i.to_string().as_bytes()), entry(100, 1));
        }
        assert!(cache.len() <= 32, "len {}", cache.len());
        let off = TokenCache::new(0);
        off.insert(token_hash(b"a"), entry(100, 1));
        assert!(off.get(&token_hash(b"a"), 0).is_none());
    }

    #[test]
    fn hashes_differ_per_token() {
        assert_ne!(token_hash(b"a.b.c"), token_hash(b"a.b.d"));
    }
}
