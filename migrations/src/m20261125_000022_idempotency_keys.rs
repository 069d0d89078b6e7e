use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The first answer to an accepted call that carried an `Idempotency-Key`, per API key, so a
/// repeated call gets the same answer without running again.
#[derive(DeriveIden)]
pub enum IdempotencyKeys {
    Table,
    Id,
    ApiKeyId,
    /// The header's value (at most 255 characters).
    IdemKey,
    /// SHA-256 of what the call asked for (path and find), to refuse a reused key.
    RequestHash,
    Status,
    /// The JSON body that was answered.
    Body,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(
                        ColumnDef::new(IdempotencyKeys::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::ApiKeyId)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::IdemKey)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::RequestHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::Status)
                            .small_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IdempotencyKeys::Body).text().not_null())
                    .col(
                        ColumnDef::new(IdempotencyKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_api_key")
                            .from(IdempotencyKeys::Table, IdempotencyKeys::ApiKeyId)
                            .to(
                                crate::m20261124_000010_api_keys::ApiKeys::Table,
                                crate::m20261124_000010_api_keys::ApiKeys::Id,
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_unique")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ApiKeyId)
                    .col(IdempotencyKeys::IdemKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
