use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Macros {
    Table,
    Id,
    Name,
    Description,
    /// A slug, unique, used in URLs and logs.
    Key,
    /// "user" (feedback macros come later).
    Scope,
    /// JSON array of actions, run in order.
    Actions,
    IncludeOnDashboard,
    ShowInUserActions,
    RunOncePerUser,
    SuppressConfirmation,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Macros::Table)
                    .col(
                        ColumnDef::new(Macros::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Macros::Name).string_len(100).not_null())
                    .col(
                        ColumnDef::new(Macros::Description)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(Macros::Key)
                            .string_len(60)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Macros::Scope).string_len(20).not_null())
                    .col(ColumnDef::new(Macros::Actions).text().not_null())
                    .col(
                        ColumnDef::new(Macros::IncludeOnDashboard)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Macros::ShowInUserActions)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Macros::RunOncePerUser)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Macros::SuppressConfirmation)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Macros::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Macros::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Macros::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
