use sea_orm_migration::prelude::*;

use crate::m20261124_000004_users::Users;
use crate::m20261124_000006_projects::Projects;
use crate::m20261125_000025_feedback::Tickets;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A group of typed fields that third parties fill in (listeners, captured webhook answers),
/// stored against users, feedback tickets or projects (`scope`).
#[derive(DeriveIden)]
pub enum DataGroups {
    Table,
    Id,
    Scope,
    Name,
    CreatedAt,
}

/// `parameter` is the key the third party sends; `kind` boolean, datetime, integer or string;
/// favourites are shown on top of the user summary and the ticket's admin view.
#[derive(DeriveIden)]
pub enum DataFields {
    Table,
    Id,
    GroupId,
    Label,
    Parameter,
    Kind,
    Favorite,
    Position,
}

/// One value: exactly one of user, ticket or project is set (the group's scope), and the
/// column of the field's kind holds it. Values go with their subject (ON DELETE CASCADE),
/// so removing a user removes their external data.
#[derive(DeriveIden)]
pub enum DataValues {
    Table,
    Id,
    FieldId,
    UserId,
    TicketId,
    ProjectId,
    ValueString,
    ValueInteger,
    ValueBoolean,
    ValueDatetime,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DataGroups::Table)
                    .col(
                        ColumnDef::new(DataGroups::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataGroups::Scope).string_len(10).not_null())
                    .col(ColumnDef::new(DataGroups::Name).string_len(100).not_null())
                    .col(
                        ColumnDef::new(DataGroups::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_groups_name")
                    .table(DataGroups::Table)
                    .col(DataGroups::Scope)
                    .col(DataGroups::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataFields::Table)
                    .col(
                        ColumnDef::new(DataFields::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataFields::GroupId).integer().not_null())
                    .col(ColumnDef::new(DataFields::Label).string_len(100).not_null())
                    .col(
                        ColumnDef::new(DataFields::Parameter)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DataFields::Kind).string_len(10).not_null())
                    .col(ColumnDef::new(DataFields::Favorite).boolean().not_null())
                    .col(ColumnDef::new(DataFields::Position).integer().not_null())
                    .foreign_key(&mut fk(
                        "fk_data_fields_group",
                        (DataFields::Table, DataFields::GroupId),
                        (DataGroups::Table, DataGroups::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_fields_parameter")
                    .table(DataFields::Table)
                    .col(DataFields::GroupId)
                    .col(DataFields::Parameter)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DataValues::Table)
                    .col(
                        ColumnDef::new(DataValues::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DataValues::FieldId).integer().not_null())
                    .col(ColumnDef::new(DataValues::UserId).integer().null())
                    .col(ColumnDef::new(DataValues::TicketId).integer().null())
                    .col(ColumnDef::new(DataValues::ProjectId).integer().null())
                    .col(ColumnDef::new(DataValues::ValueString).text().null())
                    .col(
                        ColumnDef::new(DataValues::ValueInteger)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(DataValues::ValueBoolean).boolean().null())
                    .col(
                        ColumnDef::new(DataValues::ValueDatetime)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(DataValues::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .check(Expr::cust(
                        "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) \
                         + (CASE WHEN ticket_id IS NULL THEN 0 ELSE 1 END) \
                         + (CASE WHEN project_id IS NULL THEN 0 ELSE 1 END) = 1",
                    ))
                    .foreign_key(&mut fk(
                        "fk_data_values_field",
                        (DataValues::Table, DataValues::FieldId),
                        (DataFields::Table, DataFields::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_data_values_user",
                        (DataValues::Table, DataValues::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_data_values_ticket",
                        (DataValues::Table, DataValues::TicketId),
                        (Tickets::Table, Tickets::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_data_values_project",
                        (DataValues::Table, DataValues::ProjectId),
                        (Projects::Table, Projects::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One value per field and subject (NULLs are distinct, so each index serves one scope).
        for (name, col) in [
            ("idx_data_values_user", DataValues::UserId),
            ("idx_data_values_ticket", DataValues::TicketId),
            ("idx_data_values_project", DataValues::ProjectId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DataValues::Table)
                        .col(col)
                        .col(DataValues::FieldId)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DataValues::Table.into_iden(),
            DataFields::Table.into_iden(),
            DataGroups::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
