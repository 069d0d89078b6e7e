use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub prefix: String,
    pub hint: String,
    #[sea_orm(unique)]
    pub key_hash: String,
    #[sea_orm(column_type = "Text")]
    pub allowed_ips: String,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
    pub created_by: Option<i32>,
    pub last_used_at: Option<DateTimeUtc>,
    pub use_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
