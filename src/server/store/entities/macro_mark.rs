use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "macro_marks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub macro_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject_hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
