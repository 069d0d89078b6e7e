use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The listener (by name) that asked for a removal, for the opt-out dashboard's totals.
#[derive(DeriveIden)]
enum OptOutEvents {
    Table,
    ListenerName,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OptOutEvents::Table)
                    .add_column(
                        ColumnDef::new(OptOutEvents::ListenerName)
                            .string_len(100)
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OptOutEvents::Table)
                    .drop_column(OptOutEvents::ListenerName)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
