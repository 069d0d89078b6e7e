use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A removal, recorded without personal data for the opt-out dashboard.
#[derive(DeriveIden)]
pub enum OptOutEvents {
    Table,
    Id,
    OccurredAt,
    MacroId,
    MacroName,
    /// "manual" or "listener".
    Source,
    /// Names of the teams the person was in, comma-separated.
    Teams,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OptOutEvents::Table)
                    .col(
                        ColumnDef::new(OptOutEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OptOutEvents::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OptOutEvents::MacroId).integer().null())
                    .col(
                        ColumnDef::new(OptOutEvents::MacroName)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OptOutEvents::Source)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OptOutEvents::Teams).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_opt_out_time")
                    .table(OptOutEvents::Table)
                    .col(OptOutEvents::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OptOutEvents::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
