use sea_orm_migration::prelude::*;

use crate::m20261124_000003_teams::Teams;
use crate::m20261124_000004_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum TeamMemberships {
    Table,
    UserId,
    TeamId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TeamMemberships::Table)
                    .col(ColumnDef::new(TeamMemberships::UserId).integer().not_null())
                    .col(ColumnDef::new(TeamMemberships::TeamId).integer().not_null())
                    .col(
                        ColumnDef::new(TeamMemberships::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(TeamMemberships::UserId)
                            .col(TeamMemberships::TeamId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_user")
                            .from(TeamMemberships::Table, TeamMemberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_team")
                            .from(TeamMemberships::Table, TeamMemberships::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_team")
                    .table(TeamMemberships::Table)
                    .col(TeamMemberships::TeamId)
                    .col(TeamMemberships::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TeamMemberships::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
