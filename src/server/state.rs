use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use super::cache::Lookups;
use super::delivery::Outbox;
use super::finder::Finder;
use super::ingest::Ingest;
use super::rate_limit::RateLimiter;
use super::secrets::Sealer;
use super::settings::Settings;
use super::worker::Signals;

/// Everything a handler or server function needs; one per process, cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
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
    /// Opens and seals the secrets stored encrypted (webhook signing secrets).
    pub sealer: Arc<Sealer>,
    /// Sends queued webhook deliveries.
    pub outbox: Arc<Outbox>,
}
