//! The edge: `/api/v1` routes and their OpenAPI document, the web layer (sessions, security
//! headers, probes, CSV downloads), start-up and the shared `AppState`.

pub mod api;
pub mod openapi;
pub mod startup;
pub mod state;
pub mod web;
