//! SeaORM entities, one per table, in the shape `sea-orm-cli generate entity` writes.
//! Behaviour lives in `crate::server::services`, never here.

pub mod admin_session;
pub mod api_key;
pub mod audit_log;
pub mod bulk_run;
pub mod comment;
pub mod community;
pub mod filter;
pub mod idempotency_key;
pub mod job;
pub mod listener;
pub mod listener_call;
pub mod macro_def;
pub mod macro_mark;
pub mod macro_run;
pub mod opt_out_event;
pub mod project;
pub mod role;
pub mod team;
pub mod team_membership;
pub mod user;
pub mod user_import;
