use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Inbound endpoints third parties call: `/api/v1/userMacroListeners/{key}` and the like.
#[derive(DeriveIden)]
pub enum Listeners {
    Table,
    Id,
    Name,
    Description,
    /// Unique per scope and kind: it is the last segment of the URL.
    Key,
    /// "user" (feedback listeners come later).
    Scope,
    /// "macro" (comment and data listeners come later).
    Kind,
    FilterId,
    MacroId,
    ApiKeyId,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use crate::m20261124_000010_api_keys::ApiKeys;
        use crate::m20261124_000011_filters::Filters;
        use crate::m20261124_000014_macros::Macros;
        manager
            .create_table(
                Table::create()
                    .table(Listeners::Table)
                    .col(
                        ColumnDef::new(Listeners::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Listeners::Name).string_len(100).not_null())
                    .col(
                        ColumnDef::new(Listeners::Description)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .col(ColumnDef::new(Listeners::Key).string_len(60).not_null())
                    .col(ColumnDef::new(Listeners::Scope).string_len(20).not_null())
                    .col(ColumnDef::new(Listeners::Kind).string_len(20).not_null())
                    .col(ColumnDef::new(Listeners::FilterId).integer().null())
                    .col(ColumnDef::new(Listeners::MacroId).integer().null())
                    .col(ColumnDef::new(Listeners::ApiKeyId).integer().null())
                    .col(
                        ColumnDef::new(Listeners::Enabled)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Listeners::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Listeners::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_listener_filter")
                            .from(Listeners::Table, Listeners::FilterId)
                            .to(Filters::Table, Filters::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_listener_macro")
                            .from(Listeners::Table, Listeners::MacroId)
                            .to(Macros::Table, Macros::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_listener_key")
                            .from(Listeners::Table, Listeners::ApiKeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_listeners_path")
                    .table(Listeners::Table)
                    .col(Listeners::Scope)
                    .col(Listeners::Kind)
                    .col(Listeners::Key)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Listeners::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
