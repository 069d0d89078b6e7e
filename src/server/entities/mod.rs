//! SeaORM entities, one per table, in the shape `sea-orm-cli generate entity` writes.
//! Behaviour lives in `crate::server::services`, never here.

pub mod admin_session;
pub mod api_key;
pub mod audit_log;
pub mod bulk_run;
pub mod comment;
pub mod community;
pub mod data_field;
pub mod data_group;
pub mod data_value;
pub mod external_source;
pub mod feedback_field;
pub mod feedback_status;
pub mod feedback_type;
pub mod feedback_type_team;
pub mod filter;
pub mod idempotency_key;
pub mod job;
pub mod listener;
pub mod listener_call;
pub mod macro_def;
pub mod macro_mark;
pub mod macro_run;
pub mod notification;
pub mod opt_out_event;
pub mod project;
pub mod role;
pub mod team;
pub mod team_membership;
pub mod ticket;
pub mod ticket_comment;
pub mod ticket_event;
pub mod ticket_follower;
pub mod user;
pub mod user_import;
