use sea_orm::entity::prelude::*;

use crate::shared::vocab::Scope;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "macros")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(unique)]
    pub key: String,
    pub scope: Scope,
    #[sea_orm(column_type = "Text")]
    pub actions: String,
    pub include_on_dashboard: bool,
    pub show_in_user_actions: bool,
    pub run_once_per_user: bool,
    pub suppress_confirmation: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub on_submit: bool,
    pub on_modify: bool,
    pub automation_filter_id: Option<i32>,
    pub schedule_frequency: String,
    pub schedule_filter_id: Option<i32>,
    pub schedule_starts_at: Option<DateTimeUtc>,
    pub schedule_ends_at: Option<DateTimeUtc>,
    pub schedule_enabled: bool,
    pub next_run_at: Option<DateTimeUtc>,
    pub last_run_at: Option<DateTimeUtc>,
    /// Runs send the macro's webhooks (unticked: kept, not sent).
    pub trigger_webhooks: bool,
    /// User macros: run when a user is created, joins a team, leaves a team (passing
    /// `automation_filter_id`); `event_team_id`: only joining or leaving this team counts.
    pub on_user_created: bool,
    pub on_team_join: bool,
    pub on_team_leave: bool,
    pub event_team_id: Option<i32>,
    /// Feedback scope: the project it belongs to (None with `place_type_id` None: every
    /// project), and the feedback type within it (`domain::place::Place`).
    pub place_project_id: Option<i32>,
    pub place_type_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
