//! Tokens already verified in this Lambda environment. A warm function sees
//! the same caller's token on request after request, and checking an ES256
//! signature (the default of new Supabase projects) costs some 26 times an
//! HS256 MAC: a verified token is kept, keyed by the whole token (a token
//! differing in any byte is another token), until it expires, for at most
//! the JWKS cache's lifetime, so a key the project withdraws stops working
//! here no later than it would uncached. Bounded in number of entries.

use super::VerifiedUser;
use std::collections::HashMap;
use std::sync::Mutex;

/// Distinct tokens kept; a warm environment serves far fewer callers.
const CAPACITY: usize = 1024;

pub(crate) struct VerifiedTokens {
    max_age_secs: i64,
    entries: Mutex<HashMap<Box<str>, Entry>>,
}

struct Entry {
    user: VerifiedUser,
    /// Unix seconds: the earlier of the token's `exp` and the end of trust.
    valid_until: i64,
}

impl VerifiedTokens {
    pub(crate) fn new(max_age: std::time::Duration) -> Self {
        let max_age_secs = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        VerifiedTokens { max_age_secs, entries: Mutex::new(HashMap::new()) }
    }

    /// The caller of a token verified earlier and still valid at `now`.
    pub(crate) fn get(&self, token: &str, now: i64) -> Option<VerifiedUser> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(token).filter(|entry| now < entry.valid_until).map(|entry| entry.user.clone())
    }

    /// Keeps a token just verified at `now`, which expires at `exp`.
    pub(crate) fn insert(&self, token: &str, user: &VerifiedUser, exp: i64, now: i64) {
        let valid_until = exp.min(now.saturating_add(self.max_age_secs));
        if valid_until <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| now < entry.valid_until);
            if entries.len() >= CAPACITY {
                // Still full of live tokens: start over rather than track
                // recency on every hit; the next requests verify again.
                entries.clear();
            }
        }
        entries.insert(token.into(), Entry { user: user.clone(), valid_until });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|entries| entries.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> VerifiedUser {
        let claims = json!({"role": "authenticated", "sub": uuid::Uuid::new_v4().to_string()});
        VerifiedUser::from_verified_claims(claims.as_object().unwrap()).unwrap()
    }

    #[test]
    fn a_token_is_kept_until_it_expires_or_trust_ends() {
        let cache = VerifiedTokens::new(std::time::Duration::from_secs(300));
        let alice = user();
        cache.insert("token-a", &alice, 1_000, 900);
        assert_eq!(cache.get("token-a", 999).map(|u| u.user_id()), Some(alice.user_id()));
        assert!(cache.get("token-a", 1_000).is_none(), "expired at exp");
        assert!(cache.get("token-A", 950).is_none(), "another token");
        cache.insert("token-b", &alice, 10_000, 1_000);
        assert!(cache.get("token-b", 1_299).is_some());
        assert!(cache.get("token-b", 1_300).is_none(), "trusted for max_age at most");
        cache.insert("token-c", &alice, 500, 1_000);
        assert!(cache.get("token-c", 1_000).is_none(), "an expired token is not kept");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = VerifiedTokens::new(std::time::Duration::from_secs(300));
        let alice = user();
        for n in 0..(CAPACITY * 3) {
            cache.insert(&format!("token-{n}"), &alice, 2_000, 1_000);
            assert!(cache.len() <= CAPACITY);
        }
        assert!(cache.get(&format!("token-{}", CAPACITY * 3 - 1), 1_001).is_some(), "the newest is kept");
    }
}
