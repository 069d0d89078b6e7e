use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::server::cache::Lookups;
use crate::server::delivery::Outbox;
use crate::server::finder::Finder;
use crate::server::ingest::Ingest;
use crate::server::rate_limit::RateLimiter;
use crate::server::refusals::Refusals;
use crate::server::secrets::Sealer;
use crate::server::settings::Settings;
use crate::server::worker::Signals;

/// Everything a handler or server function needs; one per process. Extractors clone it for
/// every request, so it is one shared pointer (`State<AppState>` costs a reference count).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The page renderer's options, for leptos_axum's handlers (page requests only).
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

/// What an [`AppState`] holds.
pub struct Shared {
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
    /// Failed sign-ins per account and address in this process (`auth::SignInGuard`).
    pub sign_ins: crate::server::services::auth::SignInGuard,
    /// Calls refused before their key was accepted: counted here, written once a minute.
    pub refusals: Arc<Refusals>,
    /// Opens and seals the secrets stored encrypted (webhook signing secrets).
    pub sealer: Arc<Sealer>,
    /// Sends queued webhook deliveries.
    pub outbox: Arc<Outbox>,
}
