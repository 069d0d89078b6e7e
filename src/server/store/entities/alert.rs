use sea_orm::entity::prelude::*;

/// Something community managers should look at, on the dashboard until it is resolved
/// (`engine::health`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `webhook_failing`, `webhook_paused` or `listener_refusing`.
    pub kind: String,
    pub webhook_id: Option<i32>,
    pub listener_id: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
