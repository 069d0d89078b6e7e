use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Roles {
    Table,
    Key,
    Name,
    CanSignIn,
    Rank,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(
                        ColumnDef::new(Roles::Key)
                            .string_len(40)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Roles::Name).string_len(80).not_null())
                    .col(ColumnDef::new(Roles::CanSignIn).boolean().not_null())
                    .col(ColumnDef::new(Roles::Rank).integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Roles::Table)
                    .columns([Roles::Key, Roles::Name, Roles::CanSignIn, Roles::Rank])
                    .values_panic([
                        "participant".into(),
                        "Participant".into(),
                        false.into(),
                        1.into(),
                    ])
                    .values_panic([
                        "project_manager".into(),
                        "Project manager".into(),
                        true.into(),
                        2.into(),
                    ])
                    .values_panic([
                        "community_manager".into(),
                        "Community manager".into(),
                        true.into(),
                        3.into(),
                    ])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Roles::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
