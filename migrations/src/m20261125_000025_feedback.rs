use sea_orm_migration::prelude::*;

use crate::m20261124_000003_teams::Teams;
use crate::m20261124_000004_users::Users;
use crate::m20261124_000006_projects::Projects;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Per project: Bug Report, Feature Request, … Each has a form (fields), a workflow
/// (statuses, in order) and the teams a ticket of the type can be given to.
#[derive(DeriveIden)]
pub enum FeedbackTypes {
    Table,
    Id,
    ProjectId,
    Name,
    Position,
    CreatedAt,
}

/// A custom field of a feedback type's form. `key` names it in JSON (external sources, tags);
/// `kind` is text, long_text, choice, number, date or boolean; `choices` one per line.
#[derive(DeriveIden)]
pub enum FeedbackFields {
    Table,
    Id,
    FeedbackTypeId,
    Label,
    Key,
    Kind,
    Required,
    Choices,
    Position,
}

#[derive(DeriveIden)]
pub enum FeedbackStatuses {
    Table,
    Id,
    FeedbackTypeId,
    Name,
    Position,
}

#[derive(DeriveIden)]
pub enum FeedbackTypeTeams {
    Table,
    FeedbackTypeId,
    TeamId,
}

/// A feedback ticket. `field_values` is a JSON object of the type's field keys; the author's
/// label stays readable in lists and becomes "Removed user" when the author is removed.
#[derive(DeriveIden)]
pub enum Tickets {
    Table,
    Id,
    ProjectId,
    FeedbackTypeId,
    Title,
    Description,
    StatusId,
    TeamId,
    AuthorUserId,
    AuthorLabel,
    FieldValues,
    Visibility,
    Popularity,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum TicketFollowers {
    Table,
    TicketId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum TicketComments {
    Table,
    Id,
    TicketId,
    AuthorUserId,
    AuthorLabel,
    Body,
    CreatedAt,
}

/// A ticket's history: created, status and team changes, comments.
#[derive(DeriveIden)]
pub enum TicketEvents {
    Table,
    Id,
    TicketId,
    ActorUserId,
    ActorLabel,
    Change,
    CreatedAt,
}

/// In-app notifications (a comment on a ticket the user follows).
#[derive(DeriveIden)]
pub enum Notifications {
    Table,
    Id,
    UserId,
    TicketId,
    Body,
    CreatedAt,
    ReadAt,
}

fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn int<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

fn time<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create().name(name).table(table).to_owned();
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i
}

use ForeignKeyAction::{Cascade, SetNull};

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FeedbackTypes::Table)
                    .col(id(FeedbackTypes::Id))
                    .col(int(FeedbackTypes::ProjectId))
                    .col(
                        ColumnDef::new(FeedbackTypes::Name)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(int(FeedbackTypes::Position))
                    .col(time(FeedbackTypes::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_feedback_types_project",
                        (FeedbackTypes::Table, FeedbackTypes::ProjectId),
                        (Projects::Table, Projects::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_feedback_types_name",
                FeedbackTypes::Table,
                &["project_id", "name"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FeedbackFields::Table)
                    .col(id(FeedbackFields::Id))
                    .col(int(FeedbackFields::FeedbackTypeId))
                    .col(
                        ColumnDef::new(FeedbackFields::Label)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FeedbackFields::Key)
                            .string_len(60)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FeedbackFields::Kind)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FeedbackFields::Required)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FeedbackFields::Choices).text().not_null())
                    .col(int(FeedbackFields::Position))
                    .foreign_key(&mut fk(
                        "fk_feedback_fields_type",
                        (FeedbackFields::Table, FeedbackFields::FeedbackTypeId),
                        (FeedbackTypes::Table, FeedbackTypes::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_feedback_fields_key",
                FeedbackFields::Table,
                &["feedback_type_id", "key"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FeedbackStatuses::Table)
                    .col(id(FeedbackStatuses::Id))
                    .col(int(FeedbackStatuses::FeedbackTypeId))
                    .col(
                        ColumnDef::new(FeedbackStatuses::Name)
                            .string_len(60)
                            .not_null(),
                    )
                    .col(int(FeedbackStatuses::Position))
                    .foreign_key(&mut fk(
                        "fk_feedback_statuses_type",
                        (FeedbackStatuses::Table, FeedbackStatuses::FeedbackTypeId),
                        (FeedbackTypes::Table, FeedbackTypes::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_feedback_statuses_name",
                FeedbackStatuses::Table,
                &["feedback_type_id", "name"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FeedbackTypeTeams::Table)
                    .col(int(FeedbackTypeTeams::FeedbackTypeId))
                    .col(int(FeedbackTypeTeams::TeamId))
                    .primary_key(
                        Index::create()
                            .col(FeedbackTypeTeams::FeedbackTypeId)
                            .col(FeedbackTypeTeams::TeamId),
                    )
                    .foreign_key(&mut fk(
                        "fk_feedback_type_teams_type",
                        (FeedbackTypeTeams::Table, FeedbackTypeTeams::FeedbackTypeId),
                        (FeedbackTypes::Table, FeedbackTypes::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_feedback_type_teams_team",
                        (FeedbackTypeTeams::Table, FeedbackTypeTeams::TeamId),
                        (Teams::Table, Teams::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(id(Tickets::Id))
                    .col(int(Tickets::ProjectId))
                    .col(int(Tickets::FeedbackTypeId))
                    .col(ColumnDef::new(Tickets::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Tickets::Description).text().not_null())
                    .col(int(Tickets::StatusId))
                    .col(ColumnDef::new(Tickets::TeamId).integer().null())
                    .col(ColumnDef::new(Tickets::AuthorUserId).integer().null())
                    .col(
                        ColumnDef::new(Tickets::AuthorLabel)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Tickets::FieldValues).text().not_null())
                    .col(
                        ColumnDef::new(Tickets::Visibility)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(int(Tickets::Popularity))
                    .col(time(Tickets::CreatedAt))
                    .col(time(Tickets::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_tickets_project",
                        (Tickets::Table, Tickets::ProjectId),
                        (Projects::Table, Projects::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_tickets_type",
                        (Tickets::Table, Tickets::FeedbackTypeId),
                        (FeedbackTypes::Table, FeedbackTypes::Id),
                        Cascade,
                    ))
                    // A status in use cannot go (the service says which tickets hold it);
                    // checked at the end of the statement, so deleting a whole type works.
                    .foreign_key(&mut fk(
                        "fk_tickets_status",
                        (Tickets::Table, Tickets::StatusId),
                        (FeedbackStatuses::Table, FeedbackStatuses::Id),
                        ForeignKeyAction::NoAction,
                    ))
                    .foreign_key(&mut fk(
                        "fk_tickets_team",
                        (Tickets::Table, Tickets::TeamId),
                        (Teams::Table, Teams::Id),
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_tickets_author",
                        (Tickets::Table, Tickets::AuthorUserId),
                        (Users::Table, Users::Id),
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_tickets_type", &["feedback_type_id", "id"][..]),
            ("idx_tickets_status", &["status_id"][..]),
            ("idx_tickets_author", &["author_user_id"][..]),
        ] {
            manager
                .create_index(index(name, Tickets::Table, cols, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(TicketFollowers::Table)
                    .col(int(TicketFollowers::TicketId))
                    .col(int(TicketFollowers::UserId))
                    .col(time(TicketFollowers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TicketFollowers::TicketId)
                            .col(TicketFollowers::UserId),
                    )
                    .foreign_key(&mut fk(
                        "fk_ticket_followers_ticket",
                        (TicketFollowers::Table, TicketFollowers::TicketId),
                        (Tickets::Table, Tickets::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_ticket_followers_user",
                        (TicketFollowers::Table, TicketFollowers::UserId),
                        (Users::Table, Users::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_ticket_followers_user",
                TicketFollowers::Table,
                &["user_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TicketComments::Table)
                    .col(id(TicketComments::Id))
                    .col(int(TicketComments::TicketId))
                    .col(
                        ColumnDef::new(TicketComments::AuthorUserId)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(TicketComments::AuthorLabel)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(TicketComments::Body).text().not_null())
                    .col(time(TicketComments::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_ticket_comments_ticket",
                        (TicketComments::Table, TicketComments::TicketId),
                        (Tickets::Table, Tickets::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_ticket_comments_author",
                        (TicketComments::Table, TicketComments::AuthorUserId),
                        (Users::Table, Users::Id),
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_ticket_comments_ticket", &["ticket_id"][..]),
            ("idx_ticket_comments_author", &["author_user_id"][..]),
        ] {
            manager
                .create_index(index(name, TicketComments::Table, cols, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(TicketEvents::Table)
                    .col(id(TicketEvents::Id))
                    .col(int(TicketEvents::TicketId))
                    .col(ColumnDef::new(TicketEvents::ActorUserId).integer().null())
                    .col(
                        ColumnDef::new(TicketEvents::ActorLabel)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(TicketEvents::Change).text().not_null())
                    .col(time(TicketEvents::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_ticket_events_ticket",
                        (TicketEvents::Table, TicketEvents::TicketId),
                        (Tickets::Table, Tickets::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_ticket_events_actor",
                        (TicketEvents::Table, TicketEvents::ActorUserId),
                        (Users::Table, Users::Id),
                        SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_ticket_events_ticket", &["ticket_id"][..]),
            ("idx_ticket_events_actor", &["actor_user_id"][..]),
        ] {
            manager
                .create_index(index(name, TicketEvents::Table, cols, false))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(id(Notifications::Id))
                    .col(int(Notifications::UserId))
                    .col(ColumnDef::new(Notifications::TicketId).integer().null())
                    .col(ColumnDef::new(Notifications::Body).text().not_null())
                    .col(time(Notifications::CreatedAt))
                    .col(
                        ColumnDef::new(Notifications::ReadAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(&mut fk(
                        "fk_notifications_user",
                        (Notifications::Table, Notifications::UserId),
                        (Users::Table, Users::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_notifications_ticket",
                        (Notifications::Table, Notifications::TicketId),
                        (Tickets::Table, Tickets::Id),
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_notifications_user",
                Notifications::Table,
                &["user_id", "id"],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notifications::Table.into_iden(),
            TicketEvents::Table.into_iden(),
            TicketComments::Table.into_iden(),
            TicketFollowers::Table.into_iden(),
            Tickets::Table.into_iden(),
            FeedbackTypeTeams::Table.into_iden(),
            FeedbackStatuses::Table.into_iden(),
            FeedbackFields::Table.into_iden(),
            FeedbackTypes::Table.into_iden(),
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
