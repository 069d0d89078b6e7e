//! What is stored: the entities (one per table, no behaviour) and the one-second look-up cache
//! of listeners, API keys, macros and filters.

pub mod audit_trail;
pub mod cache;
pub mod entities;
pub mod lookups;
