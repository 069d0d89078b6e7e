use sea_orm::entity::prelude::*;

use crate::shared::vocab::{DeliveryStatus, WebhookKind};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub webhook_id: Option<i32>,
    pub webhook_name: String,
    pub macro_id: Option<i32>,
    pub run_id: Option<i64>,
    pub target_user_id: Option<i32>,
    pub target_ticket_id: Option<i32>,
    pub target_label: String,
    pub kind: WebhookKind,
    pub method: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    #[sea_orm(column_type = "Text")]
    pub headers: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub msg_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub last_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub test: bool,
    pub resend_of: Option<i64>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The request names a removed person: `body` holds it encrypted (URL, headers, body)
    /// until it is sent or given up, `url` only where it goes.
    pub sealed: bool,
    /// When a sealed request was cut out after it was sent or given up.
    pub erased_at: Option<DateTimeUtc>,
    /// The bulk replay (*Resend all*) that made it, if one did.
    pub replay_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
