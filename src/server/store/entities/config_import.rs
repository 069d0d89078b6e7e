use sea_orm::entity::prelude::*;

/// A configuration document uploaded on the screen, waiting for its preview to be confirmed
/// (`admin::config_transfer`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "config_imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub file_name: String,
    /// The document as uploaded; emptied once it is applied.
    #[sea_orm(column_type = "Text")]
    pub document: String,
    /// pending, applying, applied or failed.
    pub status: String,
    /// What the import did (JSON of `ConfigOutcome`), once it ran.
    #[sea_orm(column_type = "Text")]
    pub outcome: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub applied_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
