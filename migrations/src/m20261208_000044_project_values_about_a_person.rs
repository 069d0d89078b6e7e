use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `data_values.about_user_id`: the person a project value was written about, when a user
/// listener or a user macro's captured answer stored it on a project. The value stays the
/// project's (`project_id`), but it came from a call about that person, so it goes with them:
/// the column references the user with ON DELETE CASCADE, and erasing the person deletes it.
/// A value written by anything else (a feedback listener, an admin) has none.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Written by hand: SQLite cannot add a foreign key through sea-query's ALTER TABLE,
        // but it accepts a REFERENCES clause on a new column whose default is NULL, as
        // PostgreSQL does.
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE data_values ADD COLUMN about_user_id INTEGER NULL \
             REFERENCES users (id) ON DELETE CASCADE",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_data_values_about_user ON data_values (about_user_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_data_values_about_user")
            .await?;
        db.execute_unprepared("ALTER TABLE data_values DROP COLUMN about_user_id")
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
