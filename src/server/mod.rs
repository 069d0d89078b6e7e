//! Server-only code: settings, state, database, entities, domain types, services, the HTTP
//! layer, start-up and the queue worker.

pub mod api;
pub mod cache;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod entities;
pub mod finder;
pub mod ingest;
pub mod lease;
pub mod lite;
pub mod openapi;
pub mod outgoing;
pub mod rate_limit;
pub mod refusals;
pub mod retry;
pub mod secrets;
pub mod services;
pub mod settings;
pub mod signing;
pub mod startup;
pub mod state;
pub mod web;
pub mod worker;
