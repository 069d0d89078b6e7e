//! The audit log stays append-only, but a redacted entry may be redacted further: erasing a
//! second person named in an entry (a manager who signed in, then was removed; a failed
//! sign-in that typed a member's email, by and about the same person) changes an entry that is
//! already redacted. Still nothing else: the id, time and action never change, a redacted
//! entry never becomes unredacted, and entries are never deleted (PostgreSQL).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG_FUNCTION: &str = "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ \
     BEGIN \
       IF TG_OP = 'UPDATE' AND NEW.redacted AND NEW.id = OLD.id \
          AND NEW.created_at = OLD.created_at AND NEW.action = OLD.action THEN RETURN NEW; END IF; \
       RAISE EXCEPTION 'audit_log is append-only'; \
     END; $$ LANGUAGE plpgsql";
const PG_FUNCTION_BEFORE: &str = "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ \
     BEGIN \
       IF TG_OP = 'UPDATE' AND NEW.redacted AND NOT OLD.redacted AND NEW.id = OLD.id \
          AND NEW.created_at = OLD.created_at AND NEW.action = OLD.action THEN RETURN NEW; END IF; \
       RAISE EXCEPTION 'audit_log is append-only'; \
     END; $$ LANGUAGE plpgsql";
const SQLITE_TRIGGER: &str = "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     WHEN NOT (NEW.redacted = 1 AND NEW.id = OLD.id \
               AND NEW.created_at = OLD.created_at AND NEW.action = OLD.action) \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END";
const SQLITE_TRIGGER_BEFORE: &str = "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     WHEN NOT (NEW.redacted = 1 AND OLD.redacted = 0 AND NEW.id = OLD.id \
               AND NEW.created_at = OLD.created_at AND NEW.action = OLD.action) \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END";

async fn install(manager: &SchemaManager<'_>, pg: &str, sqlite: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(pg).await?;
        }
        _ => {
            // One call, so both statements run on one connection of the pool (another one
            // may still read the schema as it was before the drop).
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS audit_log_no_update; {sqlite}"
            ))
            .await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        install(manager, PG_FUNCTION, SQLITE_TRIGGER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        install(manager, PG_FUNCTION_BEFORE, SQLITE_TRIGGER_BEFORE).await
    }
}
