use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A run belongs to a bulk run or acts on a ticket only now and then; most runs (those of
/// listener calls on users above all) have neither. The indexes by bulk run and by ticket
/// keep only the runs that do, so a queued run adds no entry to them, and every query by
/// either column (`= ?`, which implies NOT NULL) still uses them.
#[derive(DeriveIden, Clone, Copy)]
enum MacroRuns {
    Table,
    BulkRunId,
    TargetTicketId,
}

const INDEXES: [(&str, MacroRuns); 2] = [
    ("idx_runs_bulk", MacroRuns::BulkRunId),
    ("idx_runs_ticket", MacroRuns::TargetTicketId),
];

async fn rebuild(manager: &SchemaManager<'_>, partial: bool) -> Result<(), DbErr> {
    for (name, column) in INDEXES {
        manager
            .drop_index(Index::drop().name(name).table(MacroRuns::Table).to_owned())
            .await?;
        let mut index = Index::create()
            .name(name)
            .table(MacroRuns::Table)
            .col(column)
            .to_owned();
        if partial {
            index.and_where(Expr::col(column).is_not_null());
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
