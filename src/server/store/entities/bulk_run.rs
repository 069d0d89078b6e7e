use sea_orm::entity::prelude::*;

use crate::shared::vocab::Scope;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub macro_id: Option<i32>,
    pub macro_name: String,
    pub filter_name: String,
    pub total: i32,
    pub started_by: Option<i32>,
    pub created_at: DateTimeUtc,
    pub scope: Scope,
    /// Started from a list's Actions; `filter_name` says what was chosen.
    pub from_list: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
