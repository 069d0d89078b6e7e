use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Bulk replay from the webhook log (*Resend all*): `replays` records one (what it matched, how
/// many it sent again, who asked), and each delivery it made names it in
/// `webhook_deliveries.replay_id`, so its page can show how far the sending has got.
#[derive(DeriveIden)]
enum Replays {
    Table,
    Id,
    Description,
    Total,
    CreatedBy,
    CreatedAt,
    Token,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    ReplayId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Replays::Table)
                    .col(
                        ColumnDef::new(Replays::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Replays::Description).text().not_null())
                    .col(ColumnDef::new(Replays::Total).integer().not_null())
                    .col(
                        ColumnDef::new(Replays::CreatedBy)
                            .string_len(200)
                            .not_null(),
                    )
                    // The form's one-time token: the same form sent twice is one replay.
                    .col(
                        ColumnDef::new(Replays::Token)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Replays::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .add_column(ColumnDef::new(WebhookDeliveries::ReplayId).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_replay")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::ReplayId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_deliveries_replay")
                    .table(WebhookDeliveries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .drop_column(WebhookDeliveries::ReplayId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Replays::Table).to_owned())
            .await
    }
}
