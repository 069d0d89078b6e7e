use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `community.key_check`: a fingerprint of a fixed text under the key file the database is
/// keyed with (run-once marks, Idempotency-Keys and sealed values depend on it). Start-up
/// refuses a missing or different key file instead of silently making a new one, which would
/// leave every keyed row unmatched and every sealed one unreadable. Empty until the first
/// start after this migration records the key file in use.
#[derive(DeriveIden)]
enum Community {
    Table,
    KeyCheck,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Community::Table)
                    .add_column(
                        ColumnDef::new(Community::KeyCheck)
                            .string_len(64)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Community::Table)
                    .drop_column(Community::KeyCheck)
                    .to_owned(),
            )
            .await
    }
}
