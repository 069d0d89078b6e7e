//! The audit log stays append-only, with one exception: erasing a removed person's data may
//! redact an entry (flip `redacted` on and replace the personal text) — nothing else.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261124_000008_audit_log::AuditLog;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Audit {
    Redacted,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
                    .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update")
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .add_column(
                        ColumnDef::new(Audit::Redacted)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ \
                     BEGIN \
                       IF TG_OP = 'UPDATE' AND NEW.redacted AND NOT OLD.redacted AND NEW.id = OLD.id \
                          AND NEW.created_at = OLD.created_at AND NEW.action = OLD.action THEN RETURN NEW; END IF; \
                       RAISE EXCEPTION 'audit_log is append-only'; \
                     END; $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
                     WHEN NOT (NEW.redacted = 1 AND OLD.redacted = 0 AND NEW.id = OLD.id \
                               AND NEW.created_at = OLD.created_at AND NEW.action = OLD.action) \
                     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
                    .await?;
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update")
                    .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .drop_column(Audit::Redacted)
                    .to_owned(),
            )
            .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
                     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
