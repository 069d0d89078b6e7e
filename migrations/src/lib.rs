//! Schema migrations, one change per file, each with `up` and `down`.
//! The same files run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_community;
mod m20261124_000002_roles;
mod m20261124_000003_teams;
mod m20261124_000004_users;
mod m20261124_000005_team_memberships;
mod m20261124_000006_projects;
mod m20261124_000007_admin_sessions;
mod m20261124_000008_audit_log;
mod m20261124_000009_user_imports;
mod m20261124_000010_api_keys;
mod m20261124_000011_filters;
mod m20261124_000012_audit_redaction;
mod m20261124_000013_comments;
mod m20261124_000014_macros;
mod m20261124_000015_macro_runs;
mod m20261124_000016_macro_marks;
mod m20261124_000017_opt_out_events;
mod m20261124_000018_community_hash_key;
mod m20261124_000019_listeners;
mod m20261124_000020_listener_calls;
mod m20261125_000021_jobs;
mod m20261125_000022_idempotency_keys;
mod m20261125_000023_opt_out_listener;
mod m20261125_000024_bulk_runs;
mod m20261125_000025_feedback;
mod m20261125_000026_external_data;
mod m20261125_000027_listener_types;
mod m20261125_000028_external_sources;
mod m20261125_000029_feedback_macros;
mod m20261201_000030_webhooks;
mod m20261201_000031_calls_by_run;
mod m20261206_000032_partial_run_indexes;
mod m20261206_000033_erasure;
mod m20261206_000034_refused_call_counts;
mod m20261206_000035_audit_redaction_again;
mod m20261206_000036_erasure_receipts;
mod m20261207_000037_key_check;
mod m20261207_000038_trigger_webhooks;
mod m20261207_000039_bulk_run_from_list;
mod m20261207_000040_get_started_hidden;
mod m20261207_000041_project_targets;
mod m20261207_000042_automation_places;
mod m20261207_000043_user_event_automation;
mod m20261208_000044_project_values_about_a_person;
mod m20261208_000045_listener_find_path;
mod m20261208_000046_listener_form_bodies;
mod m20261208_000047_listener_signatures;
mod m20261208_000048_webhook_retry_schedule;
mod m20261208_000049_webhook_pause;
mod m20261209_000050_call_bodies;
mod m20261209_000051_endpoint_health;
mod m20261209_000052_replays;
mod m20261209_000053_source_signatures;
mod m20261210_000054_config_imports;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_community::Migration),
            Box::new(m20261124_000002_roles::Migration),
            Box::new(m20261124_000003_teams::Migration),
            Box::new(m20261124_000004_users::Migration),
            Box::new(m20261124_000005_team_memberships::Migration),
            Box::new(m20261124_000006_projects::Migration),
            Box::new(m20261124_000007_admin_sessions::Migration),
            Box::new(m20261124_000008_audit_log::Migration),
            Box::new(m20261124_000009_user_imports::Migration),
            Box::new(m20261124_000010_api_keys::Migration),
            Box::new(m20261124_000011_filters::Migration),
            Box::new(m20261124_000012_audit_redaction::Migration),
            Box::new(m20261124_000013_comments::Migration),
            Box::new(m20261124_000014_macros::Migration),
            Box::new(m20261124_000015_macro_runs::Migration),
            Box::new(m20261124_000016_macro_marks::Migration),
            Box::new(m20261124_000017_opt_out_events::Migration),
            Box::new(m20261124_000018_community_hash_key::Migration),
            Box::new(m20261124_000019_listeners::Migration),
            Box::new(m20261124_000020_listener_calls::Migration),
            Box::new(m20261125_000021_jobs::Migration),
            Box::new(m20261125_000022_idempotency_keys::Migration),
            Box::new(m20261125_000023_opt_out_listener::Migration),
            Box::new(m20261125_000024_bulk_runs::Migration),
            Box::new(m20261125_000025_feedback::Migration),
            Box::new(m20261125_000026_external_data::Migration),
            Box::new(m20261125_000027_listener_types::Migration),
            Box::new(m20261125_000028_external_sources::Migration),
            Box::new(m20261125_000029_feedback_macros::Migration),
            Box::new(m20261201_000030_webhooks::Migration),
            Box::new(m20261201_000031_calls_by_run::Migration),
            Box::new(m20261206_000032_partial_run_indexes::Migration),
            Box::new(m20261206_000033_erasure::Migration),
            Box::new(m20261206_000034_refused_call_counts::Migration),
            Box::new(m20261206_000035_audit_redaction_again::Migration),
            Box::new(m20261206_000036_erasure_receipts::Migration),
            Box::new(m20261207_000037_key_check::Migration),
            Box::new(m20261207_000038_trigger_webhooks::Migration),
            Box::new(m20261207_000039_bulk_run_from_list::Migration),
            Box::new(m20261207_000040_get_started_hidden::Migration),
            Box::new(m20261207_000041_project_targets::Migration),
            Box::new(m20261207_000042_automation_places::Migration),
            Box::new(m20261207_000043_user_event_automation::Migration),
            Box::new(m20261208_000044_project_values_about_a_person::Migration),
            Box::new(m20261208_000045_listener_find_path::Migration),
            Box::new(m20261208_000046_listener_form_bodies::Migration),
            Box::new(m20261208_000047_listener_signatures::Migration),
            Box::new(m20261208_000048_webhook_retry_schedule::Migration),
            Box::new(m20261208_000049_webhook_pause::Migration),
            Box::new(m20261209_000050_call_bodies::Migration),
            Box::new(m20261209_000051_endpoint_health::Migration),
            Box::new(m20261209_000052_replays::Migration),
            Box::new(m20261209_000053_source_signatures::Migration),
            Box::new(m20261210_000054_config_imports::Migration),
        ]
    }
}
