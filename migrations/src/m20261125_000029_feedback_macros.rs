use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Feedback macros and what drives them: a run's target may be a ticket; a macro may run by
/// itself on submitted or modified tickets that pass a filter, and on a schedule (once, hourly,
/// daily, weekly, monthly between a start and an optional end) over a filter's users or
/// tickets. Feedback listeners may find their ticket by an external-data field's value. A user
/// comment may belong to a project. A bulk run remembers what it ran on.
#[derive(DeriveIden)]
enum MacroRuns {
    Table,
    TargetTicketId,
}

#[derive(DeriveIden)]
enum Macros {
    Table,
    OnSubmit,
    OnModify,
    AutomationFilterId,
    ScheduleFrequency,
    ScheduleFilterId,
    ScheduleStartsAt,
    ScheduleEndsAt,
    ScheduleEnabled,
    NextRunAt,
    LastRunAt,
}

#[derive(DeriveIden)]
enum Listeners {
    Table,
    FindFieldId,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    ProjectId,
}

#[derive(DeriveIden)]
enum BulkRuns {
    Table,
    Scope,
}

fn add(table: impl IntoIden, col: &mut ColumnDef) -> TableAlterStatement {
    Table::alter().table(table).add_column(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        let changes = vec![
            add(
                MacroRuns::Table,
                ColumnDef::new(MacroRuns::TargetTicketId).integer().null(),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::OnSubmit)
                    .boolean()
                    .not_null()
                    .default(false),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::OnModify)
                    .boolean()
                    .not_null()
                    .default(false),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::AutomationFilterId).integer().null(),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::ScheduleFrequency)
                    .string_len(10)
                    .not_null()
                    .default(""),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::ScheduleFilterId).integer().null(),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::ScheduleStartsAt)
                    .timestamp_with_time_zone()
                    .null(),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::ScheduleEndsAt)
                    .timestamp_with_time_zone()
                    .null(),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::ScheduleEnabled)
                    .boolean()
                    .not_null()
                    .default(false),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::NextRunAt)
                    .timestamp_with_time_zone()
                    .null(),
            ),
            add(
                Macros::Table,
                ColumnDef::new(Macros::LastRunAt)
                    .timestamp_with_time_zone()
                    .null(),
            ),
            add(
                Listeners::Table,
                ColumnDef::new(Listeners::FindFieldId).integer().null(),
            ),
            add(
                Comments::Table,
                ColumnDef::new(Comments::ProjectId).integer().null(),
            ),
            add(
                BulkRuns::Table,
                ColumnDef::new(BulkRuns::Scope)
                    .string_len(20)
                    .not_null()
                    .default("user"),
            ),
        ];
        for change in changes {
            manager.alter_table(change).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_runs_ticket")
                    .table(MacroRuns::Table)
                    .col(MacroRuns::TargetTicketId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_macros_next_run")
                    .table(Macros::Table)
                    .col(Macros::NextRunAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_runs_ticket", MacroRuns::Table.into_iden()),
            ("idx_macros_next_run", Macros::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        let drops: Vec<(DynIden, DynIden)> = vec![
            (
                MacroRuns::Table.into_iden(),
                MacroRuns::TargetTicketId.into_iden(),
            ),
            (Macros::Table.into_iden(), Macros::OnSubmit.into_iden()),
            (Macros::Table.into_iden(), Macros::OnModify.into_iden()),
            (
                Macros::Table.into_iden(),
                Macros::AutomationFilterId.into_iden(),
            ),
            (
                Macros::Table.into_iden(),
                Macros::ScheduleFrequency.into_iden(),
            ),
            (
                Macros::Table.into_iden(),
                Macros::ScheduleFilterId.into_iden(),
            ),
            (
                Macros::Table.into_iden(),
                Macros::ScheduleStartsAt.into_iden(),
            ),
            (
                Macros::Table.into_iden(),
                Macros::ScheduleEndsAt.into_iden(),
            ),
            (
                Macros::Table.into_iden(),
                Macros::ScheduleEnabled.into_iden(),
            ),
            (Macros::Table.into_iden(), Macros::NextRunAt.into_iden()),
            (Macros::Table.into_iden(), Macros::LastRunAt.into_iden()),
            (
                Listeners::Table.into_iden(),
                Listeners::FindFieldId.into_iden(),
            ),
            (Comments::Table.into_iden(), Comments::ProjectId.into_iden()),
            (BulkRuns::Table.into_iden(), BulkRuns::Scope.into_iden()),
        ];
        for (table, col) in drops {
            manager
                .alter_table(Table::alter().table(table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
