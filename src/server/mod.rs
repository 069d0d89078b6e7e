//! Server-only code, in layers that point one way (docs/architecture.md, sections 4 and 5):
//!
//! - `domain`: pure rules (parsed inputs, retry schedule, signing, where requests may go);
//! - `infra`: settings, the database and its write gate, the SQLite lane, the key file, rate
//!   limits;
//! - `store`: the entities, the look-up cache, the audit log's writes and shared look-ups;
//! - `engine`: what runs without a screen: the macro runs, the inbound contract (listeners and
//!   external sources), the lease queue, the worker, the sender, group commit, target
//!   look-ups, refusal counting, key checks, the filter compiler, the webhook outbox,
//!   external-data values, tags and erasure;
//! - `admin`: each area's screens and rules: forms, lists, previews and view models;
//! - `http`: `/api/v1`, the OpenAPI document, the web layer, start-up and `AppState`.
//!
//! The old flat paths (`crate::server::db`, …) stay valid through the re-exports below.

pub mod admin;
pub mod domain;
pub mod engine;
pub mod http;
pub mod infra;
pub mod store;

pub use domain::{outgoing, retry, signing};
pub use engine::{delivery, finder, ingest, lease, refusals, worker};
pub use http::{api, openapi, startup, state, web};
pub use infra::{db, lite, rate_limit, secrets, settings};
pub use store::{cache, entities};

#[cfg(test)]
mod layers;
