use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `listeners.find_path`: where in the body a call names its target (the user's email, the
/// ticket's id or external-data value) when the sender cannot put it in the URL's `find`, as
/// a key or a path (`issue.fields.reporter.emailAddress`); empty: only `find`.
#[derive(DeriveIden)]
enum Listeners {
    Table,
    FindPath,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Listeners::Table)
                    .add_column(
                        ColumnDef::new(Listeners::FindPath)
                            .string_len(100)
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
                    .table(Listeners::Table)
                    .drop_column(Listeners::FindPath)
                    .to_owned(),
            )
            .await
    }
}
