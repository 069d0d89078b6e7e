//! The writes that macro runs, listener calls, external sources and the screens share: a new
//! ticket, a change to a ticket's workflow place or visibility, a comment on a ticket (with its
//! history line, followers, notifications and popularity), and a user's comments and score.
//! Each writes in the caller's transaction.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::{Map, Value};

use crate::errors::AppError;
use crate::server::domain::{Actor, check_storable};
use crate::server::engine::automation;
use crate::server::entities::{
    comment, notification, ticket, ticket_comment, ticket_event, ticket_follower, user,
};
use crate::server::store::lookups::recount_popularity;
use crate::shared::definitions::{FeedbackField, FeedbackTypeDefinition};

/// A person's name as tickets and comments show it ("Ada Lovelace", or the email when the
/// account has no name).
pub fn person_label(u: &user::Model) -> String {
    let name = format!("{} {}", u.first_name.trim(), u.last_name.trim());
    match name.trim() {
        "" => u.email.clone(),
        n => n.to_string(),
    }
}

/// A ticket to create, already checked.
pub struct NewTicket {
    pub feedback_type: FeedbackTypeDefinition,
    pub title: String,
    pub description: String,
    pub author: user::Model,
    pub team_id: Option<i32>,
    pub status_id: i32,
    pub values: Map<String, Value>,
}

async fn record_event(
    db: &impl ConnectionTrait,
    ticket_id: i32,
    actor: &Actor,
    change: &str,
) -> Result<(), AppError> {
    let label = match actor.user_id {
        Some(id) => match user::Entity::find_by_id(id).one(db).await? {
            Some(u) => person_label(&u),
            None => actor.label.clone(),
        },
        None => actor.label.clone(),
    };
    ticket_event::ActiveModel {
        ticket_id: Set(ticket_id),
        actor_user_id: Set(actor.user_id),
        actor_label: Set(label),
        change: Set(change.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn follow_in(
    db: &impl ConnectionTrait,
    ticket_id: i32,
    user_id: i32,
) -> Result<bool, AppError> {
    let added = ticket_follower::Entity::insert(ticket_follower::ActiveModel {
        ticket_id: Set(ticket_id),
        user_id: Set(user_id),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    Ok(matches!(added, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

/// Writes a checked ticket in the caller's transaction: the ticket, its author as its first
/// follower, and the first line of its history. Returns the ticket's id.
pub async fn insert_ticket(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    t: NewTicket,
) -> Result<i32, AppError> {
    let now = Utc::now();
    let created = ticket::ActiveModel {
        project_id: Set(t.feedback_type.project_id),
        feedback_type_id: Set(t.feedback_type.id),
        title: Set(t.title),
        description: Set(t.description),
        status_id: Set(t.status_id),
        team_id: Set(t.team_id),
        author_user_id: Set(Some(t.author.id)),
        author_label: Set(person_label(&t.author)),
        field_values: Set(Value::Object(t.values).to_string()),
        visibility: Set("public".into()),
        popularity: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    follow_in(txn, created.id, t.author.id).await?;
    recount_popularity(txn, created.id).await?;
    let status = t
        .feedback_type
        .statuses
        .iter()
        .find(|s| s.id == t.status_id)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    record_event(
        txn,
        created.id,
        actor,
        &format!("Submitted as {} in status {status}", t.feedback_type.name),
    )
    .await?;
    automation::ticket_event(txn, actor, created.id, automation::TicketEvent::Submitted).await?;
    Ok(created.id)
}

/// One change to a ticket's workflow place or visibility.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A status of the ticket's workflow.
    Status(i32),
    /// One of the type's teams, or none.
    Team(Option<i32>),
    /// "public" or "private".
    Visibility(String),
}

/// Applies a checked change in the caller's transaction, with its line in the history; returns
/// that line, or None when the ticket was already so.
pub async fn apply_change(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    t: &ticket::Model,
    feedback_type: &FeedbackTypeDefinition,
    change: Change,
) -> Result<Option<String>, AppError> {
    let mut update = ticket::Entity::update_many()
        .col_expr(ticket::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(ticket::Column::Id.eq(t.id));
    let line = match change {
        Change::Status(to) => {
            if to == t.status_id {
                return Ok(None);
            }
            let name = |id: i32| {
                feedback_type
                    .statuses
                    .iter()
                    .find(|s| s.id == id)
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| "?".into())
            };
            update = update.col_expr(ticket::Column::StatusId, Expr::value(to));
            format!("Status: {} → {}", name(t.status_id), name(to))
        }
        Change::Team(to) => {
            if to == t.team_id {
                return Ok(None);
            }
            update = update.col_expr(ticket::Column::TeamId, Expr::value(to));
            let name = to
                .and_then(|id| feedback_type.teams.iter().find(|x| x.id == id))
                .map(|x| x.name.clone())
                .unwrap_or_else(|| "no team".into());
            format!("Team: {name}")
        }
        Change::Visibility(v) => {
            if v == t.visibility {
                return Ok(None);
            }
            update = update.col_expr(ticket::Column::Visibility, Expr::value(v.clone()));
            format!("Visibility: {v}")
        }
    };
    update.exec(txn).await?;
    record_event(txn, t.id, actor, &line).await?;
    Ok(Some(line))
}

/// Adds a comment by `author` (None: by the actor, an automation or a listener without a
/// person) in the caller's transaction: the author follows the ticket from then on, every
/// other follower is notified, and the ticket's popularity goes up by one.
pub async fn comment_on_ticket(
    txn: &impl ConnectionTrait,
    t: &ticket::Model,
    author: Option<&user::Model>,
    body: &str,
    actor: &Actor,
) -> Result<i32, AppError> {
    let now = Utc::now();
    let c = ticket_comment::ActiveModel {
        ticket_id: Set(t.id),
        author_user_id: Set(author.map(|a| a.id)),
        author_label: Set(author
            .map(person_label)
            .unwrap_or_else(|| actor.label.clone())),
        body: Set(body.to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let followers: Vec<i32> = ticket_follower::Entity::find()
        .select_only()
        .column(ticket_follower::Column::UserId)
        .filter(ticket_follower::Column::TicketId.eq(t.id))
        .filter(ticket_follower::Column::UserId.ne(author.map(|a| a.id).unwrap_or(0)))
        .into_tuple()
        .all(txn)
        .await?;
    if !followers.is_empty() {
        // No names in the text: a notification outlives a removed author.
        let text = format!("New comment on #{}: {}", t.id, t.title);
        notification::Entity::insert_many(followers.into_iter().map(|user_id| {
            notification::ActiveModel {
                user_id: Set(user_id),
                ticket_id: Set(Some(t.id)),
                body: Set(text.clone()),
                created_at: Set(now),
                read_at: Set(None),
                ..Default::default()
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    if let Some(author) = author {
        follow_in(txn, t.id, author.id).await?;
    }
    recount_popularity(txn, t.id).await?;
    ticket::Entity::update_many()
        .col_expr(ticket::Column::UpdatedAt, Expr::value(now))
        .filter(ticket::Column::Id.eq(t.id))
        .exec(txn)
        .await?;
    record_event(txn, t.id, actor, "Comment added").await?;
    Ok(c.id)
}

/// Writes a comment about a user in the caller's transaction, under the author's name as
/// shown (a member's, or an actor's label such as a listener's); community-level, or about
/// one project. Every way a user comment is made goes through here.
pub async fn comment_on_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    (author_user_id, author_label): (Option<i32>, String),
    body: &str,
    project_id: Option<i32>,
) -> Result<i32, AppError> {
    use sea_orm::ActiveModelTrait;
    Ok(comment::ActiveModel {
        user_id: sea_orm::Set(user_id),
        author_user_id: sea_orm::Set(author_user_id),
        author_label: sea_orm::Set(author_label),
        body: sea_orm::Set(body.to_string()),
        created_at: sea_orm::Set(chrono::Utc::now()),
        project_id: sea_orm::Set(project_id),
        ..Default::default()
    }
    .insert(db)
    .await?
    .id)
}

/// Adds `delta` (may be negative) to a user's score, in the caller's transaction.
pub async fn adjust_score(
    db: &impl ConnectionTrait,
    user_id: i32,
    delta: i32,
) -> Result<(), AppError> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    user::Entity::update_many()
        .col_expr(
            user::Column::Score,
            Expr::col(user::Column::Score).add(delta),
        )
        .col_expr(user::Column::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The longest comment, description or long-text value, in characters.
pub const MAX_BODY: usize = 10_000;

/// A custom field's value from text (a form, a JSON string) in the field's type, or why not.
pub fn coerce_text(field: &FeedbackField, raw: &str) -> Result<Option<Value>, String> {
    let v = raw.trim();
    if v.is_empty() {
        return if field.required && field.kind != "boolean" {
            Err("is required".into())
        } else {
            Ok(None)
        };
    }
    check_storable(v)?;
    Ok(Some(match field.kind.as_str() {
        "number" => {
            let n: f64 = v
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| format!("must be a number, not “{v}”"))?;
            // Whole numbers stay whole (412, not 412.0).
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::from(n as i64)
            } else {
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| format!("must be a number, not “{v}”"))?
            }
        }
        "date" => {
            let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| format!("must be a date as YYYY-MM-DD, not “{v}”"))?;
            Value::String(d.format("%Y-%m-%d").to_string())
        }
        "boolean" => match v.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Value::Bool(true),
            "false" | "off" | "no" | "0" => Value::Bool(false),
            _ => return Err(format!("must be true or false, not “{v}”")),
        },
        "choice" => match field.choices.iter().find(|c| c.eq_ignore_ascii_case(v)) {
            Some(c) => Value::String(c.clone()),
            None => {
                return Err(format!(
                    "must be one of {}, not “{v}”",
                    field.choices.join(", ")
                ));
            }
        },
        "long_text" if v.chars().count() > MAX_BODY => {
            return Err(format!("must be at most {MAX_BODY} characters"));
        }
        "text" if v.chars().count() > 500 => {
            return Err("must be at most 500 characters".into());
        }
        _ => Value::String(v.to_string()),
    }))
}
