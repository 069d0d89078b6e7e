use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `listeners.accepts_form`: the listener also takes `application/x-www-form-urlencoded`
/// bodies (each key's text, a repeated key's as a list), for senders that can send nothing
/// else; off, such a body is refused with 415 like any body that is not JSON.
#[derive(DeriveIden)]
enum Listeners {
    Table,
    AcceptsForm,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Listeners::Table)
                    .add_column(
                        ColumnDef::new(Listeners::AcceptsForm)
                            .boolean()
                            .not_null()
                            .default(false),
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
                    .drop_column(Listeners::AcceptsForm)
                    .to_owned(),
            )
            .await
    }
}
