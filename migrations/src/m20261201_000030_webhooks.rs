use sea_orm_migration::prelude::*;

use crate::m20261124_000014_macros::Macros;
use crate::m20261125_000026_external_data::DataGroups;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An outgoing request (or email) that a macro sends on every run: `kind` "http" or
/// "email". Templates hold dynamic tags. Signing secrets are stored encrypted (the
/// previous one stays valid until `old_secret_until`, for rotation). A 410 answer switches
/// the webhook off (`enabled` false, with the reason).
#[derive(DeriveIden)]
pub enum Webhooks {
    Table,
    Id,
    MacroId,
    Kind,
    Name,
    Method,
    Url,
    Headers,
    ContentType,
    Body,
    EmailTo,
    EmailSubject,
    SigningSecret,
    OldSigningSecret,
    OldSecretUntil,
    CaptureGroupId,
    Enabled,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

/// One request of one run, rendered when the run happened and queued in its transaction.
/// `status`: queued, sending (leased), succeeded, failed (attempts used up, or refused),
/// cancelled (the person it was about was removed). The log keeps a delivery after its
/// webhook or macro is deleted, by name.
#[derive(DeriveIden)]
pub enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    WebhookName,
    MacroId,
    RunId,
    TargetUserId,
    TargetTicketId,
    TargetLabel,
    Kind,
    Method,
    Url,
    /// JSON list of [name, value], as sent (the log masks secret values).
    Headers,
    Body,
    MsgId,
    Status,
    Attempts,
    NextAttemptAt,
    LockedBy,
    LockedUntil,
    LastStatus,
    LastError,
    /// A delivery made by "send test" or "resend" (resend: the delivery it repeats).
    Test,
    ResendOf,
    CreatedAt,
    FinishedAt,
}

/// Every attempt of a delivery: what was sent (secrets masked), what came back (the body
/// capped at 64 KiB after decompression), how long it took, and what happens next.
#[derive(DeriveIden)]
pub enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    Attempt,
    StartedAt,
    DurationMs,
    RequestHeaders,
    ResponseStatus,
    ResponseHeaders,
    ResponseBody,
    Error,
    CaptureNote,
    NextRetryAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(
                        ColumnDef::new(Webhooks::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Webhooks::MacroId).integer().not_null())
                    .col(ColumnDef::new(Webhooks::Kind).string_len(10).not_null())
                    .col(ColumnDef::new(Webhooks::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Webhooks::Method).string_len(10).not_null())
                    .col(ColumnDef::new(Webhooks::Url).text().not_null())
                    .col(ColumnDef::new(Webhooks::Headers).text().not_null())
                    .col(
                        ColumnDef::new(Webhooks::ContentType)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Webhooks::Body).text().not_null())
                    .col(ColumnDef::new(Webhooks::EmailTo).string_len(320).not_null())
                    .col(ColumnDef::new(Webhooks::EmailSubject).text().not_null())
                    .col(ColumnDef::new(Webhooks::SigningSecret).text().null())
                    .col(ColumnDef::new(Webhooks::OldSigningSecret).text().null())
                    .col(
                        ColumnDef::new(Webhooks::OldSecretUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Webhooks::CaptureGroupId).integer().null())
                    .col(ColumnDef::new(Webhooks::Enabled).boolean().not_null())
                    .col(ColumnDef::new(Webhooks::DisabledReason).text().not_null())
                    .col(
                        ColumnDef::new(Webhooks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Webhooks::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhooks_macro")
                            .from(Webhooks::Table, Webhooks::MacroId)
                            .to(Macros::Table, Macros::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhooks_capture_group")
                            .from(Webhooks::Table, Webhooks::CaptureGroupId)
                            .to(DataGroups::Table, DataGroups::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhooks_macro")
                    .table(Webhooks::Table)
                    .col(Webhooks::MacroId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(
                        ColumnDef::new(WebhookDeliveries::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::WebhookId)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::WebhookName)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::MacroId).integer().null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::RunId)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::TargetUserId)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::TargetTicketId)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::TargetLabel)
                            .string_len(400)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Kind)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Method)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::Url).text().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Headers).text().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Body).text().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::MsgId)
                            .string_len(40)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Status)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LockedBy)
                            .string_len(100)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastStatus)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                    .col(ColumnDef::new(WebhookDeliveries::Test).boolean().not_null())
                    .col(
                        ColumnDef::new(WebhookDeliveries::ResendOf)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deliveries_webhook")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deliveries_macro")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::MacroId)
                            .to(Macros::Table, Macros::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_deliveries_claim",
                vec![WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt],
            ),
            (
                "idx_deliveries_webhook",
                vec![WebhookDeliveries::WebhookId, WebhookDeliveries::Id],
            ),
            (
                "idx_deliveries_macro",
                vec![WebhookDeliveries::MacroId, WebhookDeliveries::Id],
            ),
            ("idx_deliveries_user", vec![WebhookDeliveries::TargetUserId]),
            (
                "idx_deliveries_ticket",
                vec![WebhookDeliveries::TargetTicketId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(WebhookDeliveries::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(
                        ColumnDef::new(WebhookAttempts::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::DeliveryId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::Attempt)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::DurationMs)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::RequestHeaders)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::ResponseStatus)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::ResponseHeaders)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::ResponseBody)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WebhookAttempts::Error).text().null())
                    .col(
                        ColumnDef::new(WebhookAttempts::CaptureNote)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::NextRetryAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attempts_delivery")
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attempts_delivery")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
