//! What the inbound contract and the engine run on, one per process: the database, the
//! settings, the queue's signals, the look-up cache, group commit, batched target look-ups,
//! the per-key rate limit, refusal counting and the key file. The HTTP layer's `AppState`
//! holds one and derefs to it, so services take `&Runtime` and never see `AppState`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::server::cache::Lookups;
use crate::server::finder::Finder;
use crate::server::ingest::Ingest;
use crate::server::rate_limit::RateLimiter;
use crate::server::refusals::Refusals;
use crate::server::secrets::Sealer;
use crate::server::settings::Settings;
use crate::server::worker::Signals;

pub struct Runtime {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    /// Wakes the queue's workers and tells waiting requests when a job is done.
    pub signals: Signals,
    /// Short-lived copies of what listener calls read.
    pub lookups: Arc<Lookups>,
    /// Writes accepted listener calls in shared transactions (group commit).
    pub ingest: Ingest,
    /// Looks up listener targets in shared queries.
    pub finder: Finder,
    /// Per-API-key request budget of the `/api/v1` endpoints.
    pub limiter: Arc<RateLimiter>,
    /// Calls refused before their key was accepted: counted here, written once a minute.
    pub refusals: Arc<Refusals>,
    /// Opens and seals what is stored encrypted, and keys the hashes of what names a person.
    pub sealer: Arc<Sealer>,
    /// The calls answered per listener over the last hour (`health::judge_listeners`).
    pub call_rates: Arc<crate::server::engine::health::CallRates>,
}
