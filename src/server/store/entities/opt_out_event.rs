use sea_orm::entity::prelude::*;

use crate::shared::vocab::Trigger;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "opt_out_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    pub macro_id: Option<i32>,
    pub macro_name: String,
    pub source: Trigger,
    #[sea_orm(column_type = "Text")]
    pub teams: String,
    pub listener_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
