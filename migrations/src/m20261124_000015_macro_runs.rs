use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum MacroRuns {
    Table,
    Id,
    MacroId,
    /// "manual" (more triggers come with listeners, bulk runs and schedules).
    Trigger,
    /// NULL once the target was removed.
    TargetUserId,
    /// "completed", "skipped" or "failed".
    Status,
    /// What happened, without personal data.
    Outcome,
    StartedBy,
    CreatedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MacroRuns::Table)
                    .col(
                        ColumnDef::new(MacroRuns::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MacroRuns::MacroId).integer().null())
                    .col(ColumnDef::new(MacroRuns::Trigger).string_len(20).not_null())
                    .col(ColumnDef::new(MacroRuns::TargetUserId).integer().null())
                    .col(ColumnDef::new(MacroRuns::Status).string_len(20).not_null())
                    .col(ColumnDef::new(MacroRuns::Outcome).text().not_null())
                    .col(ColumnDef::new(MacroRuns::StartedBy).integer().null())
                    .col(
                        ColumnDef::new(MacroRuns::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MacroRuns::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_runs_macro")
                            .from(MacroRuns::Table, MacroRuns::MacroId)
                            .to(
                                crate::m20261124_000014_macros::Macros::Table,
                                crate::m20261124_000014_macros::Macros::Id,
                            )
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_runs_target")
                            .from(MacroRuns::Table, MacroRuns::TargetUserId)
                            .to(
                                crate::m20261124_000004_users::Users::Table,
                                crate::m20261124_000004_users::Users::Id,
                            )
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_runs_target")
                    .table(MacroRuns::Table)
                    .col(MacroRuns::TargetUserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MacroRuns::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
