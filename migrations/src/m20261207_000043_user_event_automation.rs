use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Automation of user macros on user events: `on_user_created`, `on_team_join`,
/// `on_team_leave` (guarded, like feedback automation, by `automation_filter_id`, here a user
/// filter), and `event_team_id`, the one team whose joining or leaving counts (none: any team).
/// No foreign key: a deleted team leaves the macro waiting on a team nobody can join.
#[derive(DeriveIden)]
enum Macros {
    Table,
    OnUserCreated,
    OnTeamJoin,
    OnTeamLeave,
    EventTeamId,
}

fn flag(col: Macros) -> ColumnDef {
    ColumnDef::new(col)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for col in [
            flag(Macros::OnUserCreated),
            flag(Macros::OnTeamJoin),
            flag(Macros::OnTeamLeave),
            ColumnDef::new(Macros::EventTeamId)
                .integer()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Macros::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Macros::OnUserCreated,
            Macros::OnTeamJoin,
            Macros::OnTeamLeave,
            Macros::EventTeamId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Macros::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
