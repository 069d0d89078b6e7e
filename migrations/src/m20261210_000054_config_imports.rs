use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Configuration imports from the screen: the uploaded document waits here while the manager
/// reads its preview, and nothing of it is applied until they confirm. Once applied the
/// document is emptied and `outcome` says what the import did.
#[derive(DeriveIden)]
enum ConfigImports {
    Table,
    Id,
    FileName,
    Document,
    Status,
    Outcome,
    CreatedBy,
    CreatedAt,
    AppliedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConfigImports::Table)
                    .col(
                        ColumnDef::new(ConfigImports::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ConfigImports::FileName)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ConfigImports::Document).text().not_null())
                    // pending, applying, applied, failed
                    .col(
                        ColumnDef::new(ConfigImports::Status)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigImports::Outcome)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(ConfigImports::CreatedBy)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigImports::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConfigImports::AppliedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConfigImports::Table).to_owned())
            .await
    }
}
