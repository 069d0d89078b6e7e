use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback_type_teams")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub feedback_type_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub team_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
