use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Where user listeners and captures put what is about a project.
/// `listeners.target_project_id`: the project a user Add Comment listener's comments are about
/// (none: community-level) and a user External Data listener stores project data on.
/// `listeners.project_param`: the body key whose value names the project (its key or id)
/// instead, per call. `webhooks.capture_project_id`: the project a user macro's webhook
/// captures into when its group is a project group.
#[derive(DeriveIden)]
enum Listeners {
    Table,
    TargetProjectId,
    ProjectParam,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    CaptureProjectId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Listeners::Table)
                    .add_column(ColumnDef::new(Listeners::TargetProjectId).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Listeners::Table)
                    .add_column(
                        ColumnDef::new(Listeners::ProjectParam)
                            .string_len(100)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Webhooks::Table)
                    .add_column(ColumnDef::new(Webhooks::CaptureProjectId).integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Listeners::TargetProjectId, Listeners::ProjectParam] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Listeners::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Webhooks::Table)
                    .drop_column(Webhooks::CaptureProjectId)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
