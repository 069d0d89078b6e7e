use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Erasure fan-out, receipts, and secret header values sealed at rest:
/// - `webhook_deliveries.sealed`: the request names a removed person (a removal macro telling
///   a downstream system to erase the same person). Its URL, headers and body are kept
///   encrypted in `body` until it is sent or given up, then cut (`erased_at` says when).
/// - `erasure_receipts`: what each removal did, without saying who was removed: when, which
///   macro, listener or manager, how many rows of each kind were removed or scrubbed. Its
///   downstream notifications are the deliveries of its run.
/// - `community.secrets_sealed`: whether the secret header values of webhooks and deliveries
///   stored in the clear before have been sealed (the app does it once at start: only it
///   holds the key).
/// - `idempotency_keys.claim_token`: random per claim, so a call whose claim was abandoned
///   and taken over can neither store its answer under the key nor free it.
#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Sealed,
    ErasedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    ClaimToken,
}

#[derive(DeriveIden)]
enum Community {
    Table,
    SecretsSealed,
}

#[derive(DeriveIden)]
enum ErasureReceipts {
    Table,
    Id,
    OccurredAt,
    RunId,
    MacroId,
    MacroName,
    Trigger,
    ListenerName,
    ActorLabel,
    SubjectLabel,
    Counts,
}

#[derive(DeriveIden)]
enum Macros {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .add_column(
                        ColumnDef::new(WebhookDeliveries::Sealed)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .add_column(
                        ColumnDef::new(WebhookDeliveries::ErasedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(
                        ColumnDef::new(IdempotencyKeys::ClaimToken)
                            .string_len(32)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Community::Table)
                    .add_column(
                        ColumnDef::new(Community::SecretsSealed)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ErasureReceipts::Table)
                    .col(
                        ColumnDef::new(ErasureReceipts::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ErasureReceipts::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ErasureReceipts::RunId).big_integer().null())
                    .col(ColumnDef::new(ErasureReceipts::MacroId).integer().null())
                    .col(ColumnDef::new(ErasureReceipts::MacroName).text().not_null())
                    .col(
                        ColumnDef::new(ErasureReceipts::Trigger)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ErasureReceipts::ListenerName).text().null())
                    .col(
                        ColumnDef::new(ErasureReceipts::ActorLabel)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ErasureReceipts::SubjectLabel)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ErasureReceipts::Counts).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_receipts_macro")
                            .from(ErasureReceipts::Table, ErasureReceipts::MacroId)
                            .to(Macros::Table, Macros::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_receipts_occurred")
                    .table(ErasureReceipts::Table)
                    .col(ErasureReceipts::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_receipts_run")
                    .table(ErasureReceipts::Table)
                    .col(ErasureReceipts::RunId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ErasureReceipts::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .drop_column(IdempotencyKeys::ClaimToken)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Community::Table)
                    .drop_column(Community::SecretsSealed)
                    .to_owned(),
            )
            .await?;
        for column in [WebhookDeliveries::ErasedAt, WebhookDeliveries::Sealed] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookDeliveries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
