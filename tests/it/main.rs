//! Switchyard's integration tests: one test binary with a module per area, so a change to the
//! crate links one test executable instead of one per file. Every test runs the real server
//! (port 0, a fresh database), most on SQLite and on PostgreSQL (`on_both_backends!`).

#[macro_use]
mod common;

mod cli;
mod config_transfer;
mod feedback;
mod get_started;
mod integration;
mod listener_queue;
mod listener_types;
mod payloads;
mod places;
mod processes;
mod project_data;
mod schemathesis;
mod user_events;
mod webhooks;
