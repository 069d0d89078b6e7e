//! Teams: named groups of users (Customers, Testers, Administrators …).

use crate::server::store::audit_trail;
use chrono::Utc;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::Actor;
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::{TeamName, parse_id};
use crate::server::entities::{team, team_membership};
use crate::types::{TeamForm, TeamView};

#[derive(Debug, FromQueryResult)]
struct MemberCount {
    team_id: i32,
    members: i64,
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<TeamView>, AppError> {
    let teams = team::Entity::find()
        .order_by_asc(team::Column::Name)
        .all(db)
        .await?;
    let counts: Vec<MemberCount> = team_membership::Entity::find()
        .select_only()
        .column(team_membership::Column::TeamId)
        .column_as(
            Expr::expr(Func::count(Expr::col(team_membership::Column::UserId))),
            "members",
        )
        .group_by(team_membership::Column::TeamId)
        .into_model::<MemberCount>()
        .all(db)
        .await?;
    Ok(teams
        .into_iter()
        .map(|t| TeamView {
            member_count: counts
                .iter()
                .find(|c| c.team_id == t.id)
                .map(|c| c.members as u64)
                .unwrap_or(0),
            id: t.id,
            name: t.name,
            description: t.description,
        })
        .collect())
}

struct ParsedTeam {
    name: TeamName,
    description: String,
}

fn parse(form: &TeamForm) -> Result<ParsedTeam, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", TeamName::parse(&form.name));
    let description = form.description.trim().to_string();
    if description.chars().count() > 1000 {
        errors.push("description", "must be at most 1000 characters");
    }
    errors.into_result()?;
    Ok(ParsedTeam {
        name: name.expect("checked"),
        description,
    })
}

async fn name_taken(
    db: &impl ConnectionTrait,
    name: &TeamName,
    except: Option<i32>,
) -> Result<bool, AppError> {
    let mut q = team::Entity::find().filter(team::Column::Name.eq(name.as_str()));
    if let Some(id) = except {
        q = q.filter(team::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &TeamForm,
) -> Result<i32, AppError> {
    let p = parse(form)?;
    if name_taken(db, &p.name, None).await? {
        return Err(AppError::field(
            "name",
            "a team with this name already exists",
        ));
    }
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let created = team::ActiveModel {
        name: Set(p.name.as_str().to_string()),
        description: Set(p.description),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit_trail::record(&txn, actor, "team.created", &created.name, "").await?;
    txn.commit().await?;
    drop(gate);
    Ok(created.id)
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &TeamForm,
) -> Result<(), AppError> {
    let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    let p = parse(form)?;
    let existing = team::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("team {id}")))?;
    if name_taken(db, &p.name, Some(id)).await? {
        return Err(AppError::field(
            "name",
            "a team with this name already exists",
        ));
    }
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let old_name = existing.name.clone();
    let mut active = existing.into_active_model();
    active.name = Set(p.name.as_str().to_string());
    active.description = Set(p.description);
    active.update(&txn).await?;
    audit_trail::record(
        &txn,
        actor,
        "team.updated",
        p.name.as_str(),
        &format!("was {old_name}"),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    confirmed: bool,
) -> Result<(), AppError> {
    let id = super::confirmed_deletion(id_input, confirmed)?;
    let existing = team::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("team {id}")))?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    // Memberships go with the team (ON DELETE CASCADE); the users stay.
    team::Entity::delete_by_id(id).exec(&txn).await?;
    audit_trail::record(&txn, actor, "team.deleted", &existing.name, "").await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

/// Finds or creates a team by name (used by demo data).
pub async fn ensure(
    db: &impl ConnectionTrait,
    name: &str,
    description: &str,
) -> Result<i32, AppError> {
    if let Some(t) = team::Entity::find()
        .filter(team::Column::Name.eq(name))
        .one(db)
        .await?
    {
        return Ok(t.id);
    }
    let t = team::ActiveModel {
        name: Set(name.to_string()),
        description: Set(description.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(t.id)
}
