use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "community")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub created_at: DateTimeUtc,
    pub hash_key: String,
    /// Secret header values stored before they were sealed at rest have been sealed
    /// (`engine::outbox::seal_stored_secret_headers`).
    pub secrets_sealed: bool,
    /// `Sealer::key_check` of the key file this database is keyed with; empty until the
    /// first start records it.
    pub key_check: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
