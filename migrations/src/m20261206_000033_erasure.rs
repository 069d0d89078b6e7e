use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What erasure needs to find everything a person left:
/// - `audit_log.subject_user_id`: the user an entry is about (created, edited, signed in…), so
///   that removing them redacts every such entry, whatever email or name it was written with;
/// - `person_aliases`: the emails and names a user had before the current ones (an edit that
///   changed them keeps the old value here), so that erasure also looks for the earlier forms.
///   The rows go with the user (ON DELETE CASCADE).
#[derive(DeriveIden)]
enum AuditLog {
    Table,
    SubjectUserId,
}

#[derive(DeriveIden)]
enum PersonAliases {
    Table,
    Id,
    UserId,
    Kind,
    Value,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .add_column(ColumnDef::new(AuditLog::SubjectUserId).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_subject_user")
                    .table(AuditLog::Table)
                    .col(AuditLog::SubjectUserId)
                    .and_where(Expr::col(AuditLog::SubjectUserId).is_not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PersonAliases::Table)
                    .col(
                        ColumnDef::new(PersonAliases::Id)
                            .integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PersonAliases::UserId).integer().not_null())
                    .col(
                        ColumnDef::new(PersonAliases::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PersonAliases::Value).text().not_null())
                    .col(
                        ColumnDef::new(PersonAliases::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_aliases_user")
                            .from(PersonAliases::Table, PersonAliases::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_aliases_user")
                    .table(PersonAliases::Table)
                    .col(PersonAliases::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PersonAliases::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_audit_subject_user")
                    .table(AuditLog::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .drop_column(AuditLog::SubjectUserId)
                    .to_owned(),
            )
            .await
    }
}
