use sea_orm::entity::prelude::*;

/// A bulk replay from the webhook log: the deliveries it made name it (`replay_id`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "replays")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// What it matched, in words ("failed deliveries of Slack escalation, last 24 hours").
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// How many deliveries it sent again.
    pub total: i32,
    pub created_by: String,
    /// The form's one-time token (the same form sent twice makes one replay).
    pub token: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
