use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "external_sources")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub project_id: i32,
    pub feedback_type_id: i32,
    pub name: String,
    #[sea_orm(unique)]
    pub key: String,
    pub api_key_id: Option<i32>,
    pub team_id: Option<i32>,
    pub status_id: Option<i32>,
    pub status_param: String,
    pub submitter_user_id: Option<i32>,
    pub submitter_param: String,
    #[sea_orm(column_type = "Text")]
    pub field_map: String,
    pub enabled: bool,
    /// Signed calls, as on a listener (`engine::inbound::signing`): the scheme (empty: none),
    /// the sealed secret, and during a rotation the one it replaced, until when.
    pub signature_scheme: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub signing_secret: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub old_signing_secret: Option<String>,
    pub old_secret_until: Option<DateTimeUtc>,
    /// *Listen for a test call*: until then, the next call is kept and nothing is created.
    pub listening_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
