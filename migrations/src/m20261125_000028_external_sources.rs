use sea_orm_migration::prelude::*;

use crate::m20261124_000006_projects::Projects;
use crate::m20261125_000025_feedback::FeedbackTypes;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An inbound endpoint that creates feedback in one project and type. The starting point is a
/// team and a status (or the status named by a body parameter); the submitter is a default
/// user (or the user whose email a body parameter holds); `field_map` is a JSON object from
/// body parameters to the form's field keys (`title` and `description` included).
#[derive(DeriveIden)]
pub enum ExternalSources {
    Table,
    Id,
    ProjectId,
    FeedbackTypeId,
    Name,
    Key,
    ApiKeyId,
    TeamId,
    StatusId,
    StatusParam,
    SubmitterUserId,
    SubmitterParam,
    FieldMap,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ListenerCalls {
    Table,
    SourceId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let fk = |name: &str, col: ExternalSources, table: DynIden, to: DynIden| {
            ForeignKey::create()
                .name(name)
                .from(ExternalSources::Table, col)
                .to(table, to)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(ExternalSources::Table)
                    .col(
                        ColumnDef::new(ExternalSources::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::ProjectId)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::FeedbackTypeId)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::Name)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::Key)
                            .string_len(60)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(ExternalSources::ApiKeyId).integer().null())
                    .col(ColumnDef::new(ExternalSources::TeamId).integer().null())
                    .col(ColumnDef::new(ExternalSources::StatusId).integer().null())
                    .col(
                        ColumnDef::new(ExternalSources::StatusParam)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::SubmitterUserId)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::SubmitterParam)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ExternalSources::FieldMap).text().not_null())
                    .col(
                        ColumnDef::new(ExternalSources::Enabled)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExternalSources::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(&mut fk(
                        "fk_external_sources_project",
                        ExternalSources::ProjectId,
                        Projects::Table.into_iden(),
                        Projects::Id.into_iden(),
                    ))
                    .foreign_key(&mut fk(
                        "fk_external_sources_type",
                        ExternalSources::FeedbackTypeId,
                        FeedbackTypes::Table.into_iden(),
                        FeedbackTypes::Id.into_iden(),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ListenerCalls::Table)
                    .add_column(ColumnDef::new(ListenerCalls::SourceId).integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ListenerCalls::Table)
                    .drop_column(ListenerCalls::SourceId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ExternalSources::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
