//! Short-lived copies of the configuration a listener call reads (listener by key, API key by
//! hash, macro, filter definition), so a call under load reads the database only for its
//! target. An entry lives at most one second; any change this process makes to listeners, API
//! keys, macros or filters drops every entry at once (`changed`). Other server processes
//! sharing the database see a change within that second. Each cache is a bounded moka cache:
//! at most `MAX_ENTRIES`, the least useful evicted first, each entry gone after `TTL`.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::errors::AppError;
use crate::server::domain::macros::Macro;
use crate::server::entities::{api_key, listener};
use crate::shared::definitions::FilterDefinition;

/// How long an entry may be used.
pub const TTL: Duration = Duration::from_secs(1);
/// At most this many entries per cache. Look-ups by what a caller sent (listener keys, API-key
/// digests) keep only what exists, so unknown keys never take room.
const MAX_ENTRIES: u64 = 10_000;

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Listeners, API keys, macros or filters changed: forget every copy.
pub fn changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

struct Entry<V> {
    value: Arc<V>,
    generation: u64,
}

impl<V> Clone for Entry<V> {
    fn clone(&self) -> Self {
        Entry {
            value: Arc::clone(&self.value),
            generation: self.generation,
        }
    }
}

pub struct Cache<K, V> {
    map: moka::sync::Cache<K, Entry<V>>,
}

impl<K, V> Default for Cache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn default() -> Self {
        Cache {
            map: moka::sync::Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(TTL)
                .build(),
        }
    }
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// The fresh copy for `key`, or what `load` reads (then kept). Shared, not copied: a call
    /// under load reads the same listener, key, macro and filter as every other.
    pub async fn get_or_load<Fut>(
        &self,
        key: K,
        load: impl FnOnce() -> Fut,
    ) -> Result<Arc<V>, AppError>
    where
        Fut: Future<Output = Result<V, AppError>>,
    {
        self.get_or_load_if(key, load, |_| true).await
    }

    /// Like `get_or_load`, but what `load` reads is kept only when `keep` says so (a look-up
    /// by what a caller sent keeps only what exists: nobody fills the cache with made-up keys).
    pub async fn get_or_load_if<Fut>(
        &self,
        key: K,
        load: impl FnOnce() -> Fut,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<Arc<V>, AppError>
    where
        Fut: Future<Output = Result<V, AppError>>,
    {
        // Read before loading: a change during the load leaves the entry already stale.
        let generation = GENERATION.load(Ordering::SeqCst);
        if let Some(e) = self.map.get(&key)
            && e.generation == generation
        {
            return Ok(e.value);
        }
        let value = Arc::new(load().await?);
        if keep(&value) {
            self.map.insert(
                key,
                Entry {
                    value: Arc::clone(&value),
                    generation,
                },
            );
        }
        Ok(value)
    }

    #[cfg(test)]
    fn len(&self) -> u64 {
        self.map.run_pending_tasks();
        self.map.entry_count()
    }
}

/// The caches of one server.
#[derive(Default)]
pub struct Lookups {
    pub listeners: Cache<String, Option<listener::Model>>,
    pub api_keys: Cache<[u8; 32], Option<api_key::Model>>,
    pub macros: Cache<i32, Macro>,
    pub filters: Cache<i32, FilterDefinition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_reused_until_a_change() {
        let cache: Cache<u8, u32> = Cache::default();
        let mut loads = 0;
        for _ in 0..3 {
            cache
                .get_or_load(1, || {
                    loads += 1;
                    async { Ok(7) }
                })
                .await
                .unwrap();
        }
        assert_eq!(loads, 1);
        changed();
        let v = cache.get_or_load(1, || async { Ok(8) }).await.unwrap();
        assert_eq!(*v, 8, "a change forgets the copy");
    }

    #[tokio::test]
    async fn misses_can_be_left_out() {
        let cache: Cache<u8, Option<u32>> = Cache::default();
        for _ in 0..2 {
            cache
                .get_or_load_if(9, || async { Ok(None) }, Option::is_some)
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), 0, "nothing kept for an unknown key");
        cache
            .get_or_load_if(9, || async { Ok(Some(1)) }, Option::is_some)
            .await
            .unwrap();
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_bound() {
        let cache: Cache<u32, u32> = Cache::default();
        for k in 0..(MAX_ENTRIES as u32 + 5_000) {
            cache.get_or_load(k, || async move { Ok(k) }).await.unwrap();
        }
        assert!(cache.len() <= MAX_ENTRIES, "{}", cache.len());
    }
}
