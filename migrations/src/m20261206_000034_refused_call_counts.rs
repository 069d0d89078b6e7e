use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Calls refused before their API key was accepted (unknown listener, no or a wrong key,
/// wrong method) are counted in memory and written as one row per listener key, reason and
/// minute: `repeats` says how many calls such a row stands for (1 for every other row).
#[derive(DeriveIden)]
enum ListenerCalls {
    Table,
    Repeats,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ListenerCalls::Table)
                    .add_column(
                        ColumnDef::new(ListenerCalls::Repeats)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ListenerCalls::Table)
                    .drop_column(ListenerCalls::Repeats)
                    .to_owned(),
            )
            .await
    }
}
