use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `macros.trigger_webhooks`: whether a run sends the macro's webhooks (the editor's
/// *Trigger webhooks* box). Unticked, the webhooks are kept with their settings and logs and
/// nothing is sent. Macros made before this migration sent theirs, so it starts ticked.
#[derive(DeriveIden)]
enum Macros {
    Table,
    TriggerWebhooks,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Macros::Table)
                    .add_column(
                        ColumnDef::new(Macros::TriggerWebhooks)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Macros::Table)
                    .drop_column(Macros::TriggerWebhooks)
                    .to_owned(),
            )
            .await
    }
}
