use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "listener_calls")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub received_at: DateTimeUtc,
    pub listener_id: Option<i32>,
    pub listener_key: String,
    pub caller_ip: String,
    pub target: String,
    pub target_user_id: Option<i32>,
    pub status: i16,
    pub code: String,
    pub run_id: Option<i64>,
    pub source_id: Option<i32>,
    pub duration_ms: i32,
    /// How many calls the row stands for (refused calls are counted per minute).
    pub repeats: i32,
    /// The call's headers, JSON [[name, value], …], secret values masked ("" when not kept).
    #[sea_orm(column_type = "Text")]
    pub request_headers: String,
    /// The call's body as text, at most `listeners::KEPT_BODY` bytes of it.
    #[sea_orm(column_type = "Text")]
    pub request_body: String,
    /// The body's whole size in bytes (more than `request_body` holds: it was cut short).
    pub request_bytes: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
