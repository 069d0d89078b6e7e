use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One inbound call to a listener, whatever its outcome. The API key is never stored.
#[derive(DeriveIden)]
pub enum ListenerCalls {
    Table,
    Id,
    ReceivedAt,
    /// NULL when the URL named no listener.
    ListenerId,
    ListenerKey,
    CallerIp,
    /// What `find` asked for; replaced by a keyed-hash label when that person is removed.
    Target,
    TargetUserId,
    Status,
    Code,
    RunId,
    DurationMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ListenerCalls::Table)
                    .col(
                        ColumnDef::new(ListenerCalls::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ListenerCalls::ReceivedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ListenerCalls::ListenerId).integer().null())
                    .col(
                        ColumnDef::new(ListenerCalls::ListenerKey)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListenerCalls::CallerIp)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListenerCalls::Target)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ListenerCalls::TargetUserId).integer().null())
                    .col(
                        ColumnDef::new(ListenerCalls::Status)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ListenerCalls::Code)
                            .string_len(60)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ListenerCalls::RunId).big_integer().null())
                    .col(
                        ColumnDef::new(ListenerCalls::DurationMs)
                            .integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_calls_listener")
                    .table(ListenerCalls::Table)
                    .col(ListenerCalls::ListenerId)
                    .col(ListenerCalls::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_calls_target")
                    .table(ListenerCalls::Table)
                    .col(ListenerCalls::TargetUserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ListenerCalls::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
