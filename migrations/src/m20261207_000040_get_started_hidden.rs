use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `users.get_started_hidden`: the manager chose to hide the dashboard's "Get started"
/// checklist. Each manager's own choice (a project manager sees fewer steps than a community
/// manager), so one manager's hiding it leaves it in place for the others.
#[derive(DeriveIden)]
enum Users {
    Table,
    GetStartedHidden,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::GetStartedHidden)
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
                    .table(Users::Table)
                    .drop_column(Users::GetStartedHidden)
                    .to_owned(),
            )
            .await
    }
}
