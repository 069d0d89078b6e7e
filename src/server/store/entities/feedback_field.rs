use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback_fields")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub feedback_type_id: i32,
    pub label: String,
    pub key: String,
    pub kind: String,
    pub required: bool,
    #[sea_orm(column_type = "Text")]
    pub choices: String,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
