use std::sync::Arc;

use crate::server::delivery::Outbox;
use crate::server::engine::runtime::Runtime;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

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

/// What an [`AppState`] holds: the engine's [`Runtime`] (reached through `Deref`:
/// `state.db`, `state.sealer` …) and what only the web side uses.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub runtime: Runtime,
    /// Failed sign-ins per account and address in this process (`auth::SignInGuard`).
    pub sign_ins: crate::server::admin::auth::SignInGuard,
    /// Sends queued webhook deliveries.
    pub outbox: Arc<Outbox>,
}

impl std::ops::Deref for Shared {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        &self.runtime
    }
}
