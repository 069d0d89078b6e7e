use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Where a feedback macro or feedback listener belongs (seed 001: listeners live in a
/// project's or feedback type's automation): `place_project_id` and `place_type_id`, both
/// empty for every project; a type implies its project. A placed macro runs only on tickets of
/// its place; a placed listener finds only tickets of its place. Projects and feedback types
/// are never deleted, so the columns are plain ids like the other references added to these
/// tables.
#[derive(DeriveIden)]
enum Macros {
    Table,
    PlaceProjectId,
    PlaceTypeId,
}

#[derive(DeriveIden)]
enum Listeners {
    Table,
    PlaceProjectId,
    PlaceTypeId,
}

fn add(table: impl IntoIden, col: impl IntoIden) -> TableAlterStatement {
    Table::alter()
        .table(table)
        .add_column(ColumnDef::new(col).integer().null())
        .to_owned()
}

fn remove(table: impl IntoIden, col: impl IntoIden) -> TableAlterStatement {
    Table::alter().table(table).drop_column(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for change in [
            add(Macros::Table, Macros::PlaceProjectId),
            add(Macros::Table, Macros::PlaceTypeId),
            add(Listeners::Table, Listeners::PlaceProjectId),
            add(Listeners::Table, Listeners::PlaceTypeId),
        ] {
            manager.alter_table(change).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for change in [
            remove(Listeners::Table, Listeners::PlaceTypeId),
            remove(Listeners::Table, Listeners::PlaceProjectId),
            remove(Macros::Table, Macros::PlaceTypeId),
            remove(Macros::Table, Macros::PlaceProjectId),
        ] {
            manager.alter_table(change).await?;
        }
        Ok(())
    }
}
