use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum UserImports {
    Table,
    Id,
    CreatedAt,
    CreatedBy,
    FileName,
    TotalRows,
    Imported,
    Failed,
    /// JSON array of per-row errors.
    Report,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserImports::Table)
                    .col(
                        ColumnDef::new(UserImports::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(UserImports::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(UserImports::CreatedBy).integer().null())
                    .col(
                        ColumnDef::new(UserImports::FileName)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UserImports::TotalRows)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UserImports::Imported)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(UserImports::Failed).big_integer().not_null())
                    .col(ColumnDef::new(UserImports::Report).text().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserImports::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
