use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "data_values")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub field_id: i32,
    pub user_id: Option<i32>,
    pub ticket_id: Option<i32>,
    pub project_id: Option<i32>,
    /// The person a project value was written about (a user listener's call or a user
    /// macro's captured answer); the value is erased with them.
    pub about_user_id: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub value_string: Option<String>,
    pub value_integer: Option<i64>,
    pub value_boolean: Option<bool>,
    pub value_datetime: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
