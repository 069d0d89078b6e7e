use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What a listener call brought, for the listener log and *Listen for a test call*:
/// - `listener_calls.request_headers`: the call's headers as a JSON list of [name, value]
///   pairs, secret values masked; `request_body`: its body as text, at most 64 KiB of it;
///   `request_bytes`: the body's whole size (more than the text kept: cut short). Empty for
///   refused calls and calls about nobody the community knows (an unknown address is not ours
///   to keep), and for rows written before this migration.
/// - `listeners.listening_until`: a manager asked the listener to keep its next call as a
///   test call (nothing runs) until then.
#[derive(DeriveIden)]
enum ListenerCalls {
    Table,
    RequestHeaders,
    RequestBody,
    RequestBytes,
}

#[derive(DeriveIden)]
enum Listeners {
    Table,
    ListeningUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            ColumnDef::new(ListenerCalls::RequestHeaders)
                .text()
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(ListenerCalls::RequestBody)
                .text()
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(ListenerCalls::RequestBytes)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ListenerCalls::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Listeners::Table)
                    .add_column(
                        ColumnDef::new(Listeners::ListeningUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ListenerCalls::RequestHeaders,
            ListenerCalls::RequestBody,
            ListenerCalls::RequestBytes,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ListenerCalls::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Listeners::Table)
                    .drop_column(Listeners::ListeningUntil)
                    .to_owned(),
            )
            .await
    }
}
