//! The look-ups every area repeats: a project, feedback type, ticket or macro by id (a 404
//! naming it when it is gone), a feedback type's whole definition, the list of teams.

use crate::errors::AppError;
use crate::server::domain::Email;
use crate::server::domain::macros::Macro;
use crate::server::domain::place::{self, Place};
use crate::server::entities::{
    community, feedback_field, feedback_status, feedback_type, feedback_type_team, macro_def,
    project, team, ticket, ticket_comment, ticket_follower, user,
};
use crate::shared::definitions::{FeedbackField, FeedbackTypeDefinition, StatusRef, TeamRef};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::collections::HashSet;

pub async fn find_project(db: &impl ConnectionTrait, id: i32) -> Result<project::Model, AppError> {
    project::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("project {id}")))
}

pub async fn find_type(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<feedback_type::Model, AppError> {
    feedback_type::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("feedback type {id}")))
}

/// A type's form, workflow and teams (its tickets are not counted): what creating or changing
/// one ticket needs, at a cost that does not grow with the tickets.
pub async fn type_definition(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<FeedbackTypeDefinition, AppError> {
    let t = find_type(db, id).await?;
    definition_of(db, t).await
}

pub(crate) async fn definition_of(
    db: &impl ConnectionTrait,
    t: feedback_type::Model,
) -> Result<FeedbackTypeDefinition, AppError> {
    let project = find_project(db, t.project_id).await?;
    let fields = feedback_field::Entity::find()
        .filter(feedback_field::Column::FeedbackTypeId.eq(t.id))
        .order_by_asc(feedback_field::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(field_of)
        .collect();
    let statuses = feedback_status::Entity::find()
        .filter(feedback_status::Column::FeedbackTypeId.eq(t.id))
        .order_by_asc(feedback_status::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|s| StatusRef {
            id: s.id,
            name: s.name,
        })
        .collect();
    let team_ids: HashSet<i32> = feedback_type_team::Entity::find()
        .filter(feedback_type_team::Column::FeedbackTypeId.eq(t.id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.team_id)
        .collect();
    let teams: Vec<TeamRef> = team_refs(db)
        .await?
        .into_iter()
        .filter(|r| team_ids.contains(&r.id))
        .collect();
    Ok(FeedbackTypeDefinition {
        id: t.id,
        project_id: t.project_id,
        project_name: project.name,
        name: t.name,
        fields,
        statuses,
        teams,
    })
}

pub fn field_of(f: feedback_field::Model) -> FeedbackField {
    FeedbackField {
        id: f.id,
        label: f.label,
        key: f.key,
        kind: f.kind,
        required: f.required,
        choices: f
            .choices
            .lines()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect(),
    }
}

pub async fn team_refs(db: &impl ConnectionTrait) -> Result<Vec<TeamRef>, AppError> {
    Ok(team::Entity::find()
        .order_by_asc(team::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|t| TeamRef {
            id: t.id,
            name: t.name,
        })
        .collect())
}

/// A ticket's popularity is its followers plus its comments, counted again after each change.
pub(crate) async fn recount_popularity(
    db: &impl ConnectionTrait,
    ticket_id: i32,
) -> Result<(), AppError> {
    let followers = ticket_follower::Entity::find()
        .filter(ticket_follower::Column::TicketId.eq(ticket_id))
        .count(db)
        .await?;
    let comments = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(ticket_id))
        .count(db)
        .await?;
    let popularity = i32::try_from(followers + comments).unwrap_or(i32::MAX);
    ticket::Entity::update_many()
        .col_expr(ticket::Column::Popularity, Expr::value(popularity))
        .filter(ticket::Column::Id.eq(ticket_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find_ticket(db: &impl ConnectionTrait, id: i32) -> Result<ticket::Model, AppError> {
    ticket::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("ticket {id}")))
}

/// A macro as a run needs it.
pub async fn find_macro(db: &impl ConnectionTrait, id: i32) -> Result<Macro, AppError> {
    let m = macro_def::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("macro {id}")))?;
    macro_of(&m)
}

/// The runnable part of a macro's row.
pub fn macro_of(m: &macro_def::Model) -> Result<Macro, AppError> {
    Ok(Macro {
        place: Place::new(m.place_project_id, m.place_type_id),
        id: m.id,
        name: m.name.clone(),
        scope: m.scope,
        actions: serde_json::from_str(&m.actions).map_err(|e| AppError::internal(e))?,
        options: crate::shared::definitions::MacroOptions {
            include_on_dashboard: m.include_on_dashboard,
            show_in_user_actions: m.show_in_user_actions,
            run_once_per_user: m.run_once_per_user,
            suppress_confirmation: m.suppress_confirmation,
        },
    })
}

/// The key that marks written before the key file keyed them were made with, while such
/// marks remain (`ensure_community` drops it at start-up once none does; new installations
/// never have one).
pub async fn legacy_hash_key(db: &impl ConnectionTrait) -> Result<Option<Vec<u8>>, AppError> {
    let c = community::Entity::find()
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("community row missing"))?;
    if c.hash_key.is_empty() {
        return Ok(None);
    }
    hex::decode(&c.hash_key)
        .map(Some)
        .map_err(|e| AppError::internal(e))
}

/// The user with this (normalised) email, if any.
pub async fn find_user_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<user::Model>, AppError> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?)
}

/// A place in words, its project and type named as they are now ("Beta App › Bug Report").
pub async fn place_label(db: &impl ConnectionTrait, at: &Place) -> Result<String, AppError> {
    let project = match at.project_id {
        Some(id) => Some(find_project(db, id).await?.name),
        None => None,
    };
    let feedback_type = match at.type_id {
        Some(id) => Some(find_type(db, id).await?.name),
        None => None,
    };
    Ok(place::label(project.as_deref(), feedback_type.as_deref()))
}
