use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Listener types beyond Macro Execution: Add Comment names the body's author and comment
/// keys; External Data names the data group its parameters belong to.
#[derive(DeriveIden)]
enum Listeners {
    Table,
    AuthorField,
    CommentField,
    DataGroupId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for col in [
            ColumnDef::new(Listeners::AuthorField)
                .string_len(100)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(Listeners::CommentField)
                .string_len(100)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(Listeners::DataGroupId)
                .integer()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Listeners::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Listeners::AuthorField,
            Listeners::CommentField,
            Listeners::DataGroupId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Listeners::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
