use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `bulk_runs.from_list`: the bulk run was started from a list's *Actions* (ticked rows, or
/// every row matching the list's search) rather than from a saved filter; its `filter_name`
/// then says what was chosen ("2 ticked users").
#[derive(DeriveIden)]
enum BulkRuns {
    Table,
    FromList,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(BulkRuns::Table)
                    .add_column(
                        ColumnDef::new(BulkRuns::FromList)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(BulkRuns::Table)
                    .drop_column(BulkRuns::FromList)
                    .to_owned(),
            )
            .await
    }
}
