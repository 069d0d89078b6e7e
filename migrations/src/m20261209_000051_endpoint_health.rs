use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A failing endpoint is noticed (`engine::health`):
/// - `webhooks.failure_streak`: failed attempts in a row (tests left out), `failing_since`:
///   when the streak began, `warned_at`: when managers were warned about it; all reset by a
///   success or a resume. `paused_reason`: why the product paused the webhook itself (a
///   streak long enough, for long enough); empty when a manager paused it or it runs.
/// - `alerts`: what the dashboard shows community managers until it is resolved: a webhook
///   failing or switched off, a listener refusing most of its calls.
#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    FailureStreak,
    FailingSince,
    WarnedAt,
    PausedReason,
}

#[derive(DeriveIden)]
enum Listeners {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    Kind,
    WebhookId,
    ListenerId,
    Message,
    CreatedAt,
    ResolvedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(Webhooks::FailureStreak)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Webhooks::FailingSince)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Webhooks::WarnedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Webhooks::PausedReason)
                .string_len(300)
                .not_null()
                .default("")
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhooks::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Alerts::Table)
                    .col(
                        ColumnDef::new(Alerts::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Alerts::Kind).string_len(40).not_null())
                    .col(ColumnDef::new(Alerts::WebhookId).integer().null())
                    .col(ColumnDef::new(Alerts::ListenerId).integer().null())
                    .col(ColumnDef::new(Alerts::Message).text().not_null())
                    .col(
                        ColumnDef::new(Alerts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Alerts::ResolvedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_webhook")
                            .from(Alerts::Table, Alerts::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alerts_listener")
                            .from(Alerts::Table, Alerts::ListenerId)
                            .to(Listeners::Table, Listeners::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The dashboard reads the open ones; a webhook's or listener's are resolved together.
        for (name, column) in [
            ("idx_alerts_webhook", Alerts::WebhookId),
            ("idx_alerts_listener", Alerts::ListenerId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alerts::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_alerts_open")
                    .table(Alerts::Table)
                    .col(Alerts::ResolvedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alerts::Table).to_owned())
            .await?;
        for column in [
            Webhooks::FailureStreak,
            Webhooks::FailingSince,
            Webhooks::WarnedAt,
            Webhooks::PausedReason,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhooks::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
