use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A macro run on every user of a filter: one queued run per user, counted for the progress
/// bar through `macro_runs.bulk_run_id`.
#[derive(DeriveIden)]
pub enum BulkRuns {
    Table,
    Id,
    MacroId,
    /// Names as they were when the run started (the macro or filter may be renamed later).
    MacroName,
    FilterName,
    Total,
    StartedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MacroRuns {
    Table,
    BulkRunId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BulkRuns::Table)
                    .col(
                        ColumnDef::new(BulkRuns::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(BulkRuns::MacroId).integer().null())
                    .col(
                        ColumnDef::new(BulkRuns::MacroName)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BulkRuns::FilterName)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(BulkRuns::Total).integer().not_null())
                    .col(ColumnDef::new(BulkRuns::StartedBy).integer().null())
                    .col(
                        ColumnDef::new(BulkRuns::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MacroRuns::Table)
                    .add_column(ColumnDef::new(MacroRuns::BulkRunId).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_runs_bulk")
                    .table(MacroRuns::Table)
                    .col(MacroRuns::BulkRunId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_runs_bulk")
                    .table(MacroRuns::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MacroRuns::Table)
                    .drop_column(MacroRuns::BulkRunId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(BulkRuns::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
