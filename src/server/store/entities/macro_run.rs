use sea_orm::entity::prelude::*;

use crate::shared::vocab::{RunStatus, Trigger};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "macro_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub macro_id: Option<i32>,
    pub trigger: Trigger,
    pub target_user_id: Option<i32>,
    pub status: RunStatus,
    #[sea_orm(column_type = "Text")]
    pub outcome: String,
    pub started_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub bulk_run_id: Option<i32>,
    pub target_ticket_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
