use crate::shared::vocab::{ContentType, WebhookKind};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub macro_id: i32,
    pub kind: WebhookKind,
    pub name: String,
    pub method: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    #[sea_orm(column_type = "Text")]
    pub headers: String,
    pub content_type: ContentType,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub email_to: String,
    #[sea_orm(column_type = "Text")]
    pub email_subject: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub signing_secret: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub old_signing_secret: Option<String>,
    pub old_secret_until: Option<DateTimeUtc>,
    pub capture_group_id: Option<i32>,
    /// A user macro's webhook capturing into a project group: the project it stores on.
    pub capture_project_id: Option<i32>,
    pub enabled: bool,
    #[sea_orm(column_type = "Text")]
    pub disabled_reason: String,
    /// The webhook's own delays between retries (`domain::retry::parse_schedule`); empty:
    /// the installation's `outgoing.retry_schedule`.
    pub retry_schedule: String,
    /// Paused: its deliveries wait, queued (`outbox::PAUSED_UNTIL`), until it is resumed.
    pub paused: bool,
    /// Failed attempts in a row (`engine::health`), since when, and when managers were warned.
    pub failure_streak: i32,
    pub failing_since: Option<DateTimeUtc>,
    pub warned_at: Option<DateTimeUtc>,
    /// Why the product paused it itself (a long failure streak); empty otherwise.
    pub paused_reason: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
