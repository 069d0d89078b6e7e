use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// "Only run once per user": a keyed hash of the email, so the mark outlives the user
/// (who may be removed and rejoin) without keeping the email.
#[derive(DeriveIden)]
pub enum MacroMarks {
    Table,
    MacroId,
    SubjectHash,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MacroMarks::Table)
                    .col(ColumnDef::new(MacroMarks::MacroId).integer().not_null())
                    .col(
                        ColumnDef::new(MacroMarks::SubjectHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MacroMarks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(MacroMarks::MacroId)
                            .col(MacroMarks::SubjectHash),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_marks_macro")
                            .from(MacroMarks::Table, MacroMarks::MacroId)
                            .to(
                                crate::m20261124_000014_macros::Macros::Table,
                                crate::m20261124_000014_macros::Macros::Id,
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MacroMarks::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
