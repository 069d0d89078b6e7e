//! Server-only code: settings, state, database, entities, domain types, services, the HTTP
//! layer and start-up.

pub mod api;
pub mod db;
pub mod domain;
pub mod entities;
pub mod services;
pub mod settings;
pub mod startup;
pub mod state;
pub mod web;
