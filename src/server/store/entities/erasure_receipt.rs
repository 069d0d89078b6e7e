use sea_orm::entity::prelude::*;

use crate::shared::vocab::Trigger;

/// What one removal did, without saying who was removed (`engine::erasure::Receipt`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "erasure_receipts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    pub run_id: Option<i64>,
    pub macro_id: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub macro_name: String,
    /// manual, listener, bulk, automation, schedule, or delete (a plain "Delete user").
    pub trigger: Trigger,
    #[sea_orm(column_type = "Text", nullable)]
    pub listener_name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub actor_label: String,
    /// The keyed-hash label that stands for the removed person in every log.
    #[sea_orm(column_type = "Text")]
    pub subject_label: String,
    /// JSON: `[[kind, count], …]`.
    #[sea_orm(column_type = "Text")]
    pub counts: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
