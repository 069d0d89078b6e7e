use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `webhooks.paused`: a paused webhook's deliveries wait (queued, none sent) until it is
/// resumed, then go out in the order they were made.
#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Paused,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Webhooks::Table)
                    .add_column(
                        ColumnDef::new(Webhooks::Paused)
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
                    .table(Webhooks::Table)
                    .drop_column(Webhooks::Paused)
                    .to_owned(),
            )
            .await
    }
}
