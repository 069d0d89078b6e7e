use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `webhooks.retry_schedule`: the webhook's own delays between retries (`0s, 1m, 10m`, as
/// `outgoing.retry_schedule` is written); empty: the installation's schedule.
#[derive(DeriveIden)]
enum Webhooks {
    Table,
    RetrySchedule,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Webhooks::Table)
                    .add_column(
                        ColumnDef::new(Webhooks::RetrySchedule)
                            .string_len(200)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Webhooks::Table)
                    .drop_column(Webhooks::RetrySchedule)
                    .to_owned(),
            )
            .await
    }
}
