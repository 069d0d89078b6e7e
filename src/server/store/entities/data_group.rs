use sea_orm::entity::prelude::*;

use crate::shared::vocab::DataScope;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub scope: DataScope,
    pub name: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
