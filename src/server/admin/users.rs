//! Community members: list with search, team filter and paging; create, edit, delete.
//! The form rules (`parse_user_form`) are the same for the admin screens and the CSV import.

use crate::server::engine::automation::{self, UserEvent};
use crate::server::engine::external_values;
use crate::server::engine::matching;
use crate::server::store::audit_trail;
use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{Actor, audit, auth, format_time, macros};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::{Email, NewPassword, PersonName, parse_id, parse_role, parse_score};
use crate::server::entities::{comment, team_membership, user};
use crate::shared::vocab::DataScope;
use crate::types::{
    CommentView, Role, TeamRef, UserDetail, UserForm, UserListPage, UserQuery, UserRow,
};

pub const PER_PAGE: u32 = 50;

/// A user form that passed every rule.
#[derive(Debug)]
pub struct ParsedUser {
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub role: Role,
    pub score: i32,
    pub team_ids: Vec<i32>,
    pub password: Option<NewPassword>,
}

/// Applies every field rule and reports every bad field at once. `existing` is the user being
/// edited (None when creating); `known_teams` are the teams that exist.
pub fn parse_user_form(
    form: &UserForm,
    existing: Option<&user::Model>,
    known_teams: &[TeamRef],
) -> Result<ParsedUser, AppError> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&form.email));
    let first_name = errors.check("first_name", PersonName::parse(&form.first_name));
    let last_name = errors.check("last_name", PersonName::parse(&form.last_name));
    let role = errors.check("role", parse_role(&form.role));
    let score = errors.check("score", parse_score(&form.score));
    let mut team_ids = Vec::new();
    for raw in form.team_ids.iter().filter(|t| !t.trim().is_empty()) {
        match parse_id(raw) {
            Ok(id) if known_teams.iter().any(|t| t.id == id) => {
                if !team_ids.contains(&id) {
                    team_ids.push(id)
                }
            }
            _ => errors.push("team_ids", format!("team {raw} does not exist")),
        }
    }
    let password = if form.password.is_empty() {
        None
    } else {
        errors.check("password", NewPassword::parse(&form.password))
    };
    if let Some(role) = role {
        let has_hash = existing.is_some_and(|u| u.password_hash.is_some());
        if role.can_sign_in() && password.is_none() && !has_hash && form.password.is_empty() {
            errors.push(
                "password",
                format!(
                    "a {} needs a password to sign in (at least {} characters)",
                    role.label().to_lowercase(),
                    NewPassword::MIN_CHARS
                ),
            );
        }
        if !role.can_sign_in() && !form.password.is_empty() {
            errors.push(
                "password",
                "participants do not sign in to the admin screens; leave it empty",
            );
        }
    }
    errors.into_result()?;
    Ok(ParsedUser {
        email: email.expect("checked"),
        first_name: first_name.expect("checked"),
        last_name: last_name.expect("checked"),
        role: role.expect("checked"),
        score: score.expect("checked"),
        team_ids,
        password,
    })
}

fn search_text(email: &str, first: &str, last: &str) -> String {
    format!("{email} {first} {last}").to_lowercase()
}

fn row(u: &user::Model, teams: Vec<TeamRef>) -> UserRow {
    UserRow {
        id: u.id,
        email: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        role: Role::parse(&u.role).unwrap_or(Role::Participant),
        score: u.score,
        teams,
        created_at: format_time(&u.created_at),
        extra: Vec::new(),
    }
}

/// Teams of each of the given users, in one query.
async fn teams_of(
    db: &impl ConnectionTrait,
    user_ids: &[i32],
    all_teams: &[TeamRef],
) -> Result<HashMap<i32, Vec<TeamRef>>, AppError> {
    let names: HashMap<i32, &TeamRef> = all_teams.iter().map(|t| (t.id, t)).collect();
    let mut out: HashMap<i32, Vec<TeamRef>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let memberships = team_membership::Entity::find()
        .filter(team_membership::Column::UserId.is_in(user_ids.iter().copied()))
        .all(db)
        .await?;
    for m in memberships {
        if let Some(t) = names.get(&m.team_id) {
            out.entry(m.user_id).or_default().push((*t).clone());
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(out)
}

#[tracing::instrument(skip(db, query))]
pub async fn list(db: &impl ConnectionTrait, query: &UserQuery) -> Result<UserListPage, AppError> {
    page_where(db, None, query, PER_PAGE).await
}

/// The users the list shows for `query` (its search and team), narrowed by `extra`.
fn search(extra: Option<sea_orm::Condition>, query: &UserQuery) -> sea_orm::Select<user::Entity> {
    let mut q = user::Entity::find();
    if let Some(cond) = extra {
        q = q.filter(cond);
    }
    let needle = query.q.trim().to_lowercase();
    if !needle.is_empty() {
        q = q.filter(user::Column::SearchText.contains(&needle));
    }
    if let Some(team) = query.team {
        q = q.filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(team_membership::Column::UserId)
                    .from(team_membership::Entity)
                    .and_where(team_membership::Column::TeamId.eq(team))
                    .to_owned(),
            ),
        );
    }
    q
}

/// Every user matching the list's search and team (not only one page), by id.
pub async fn matching_ids(
    db: &impl ConnectionTrait,
    query: &UserQuery,
) -> Result<Vec<i32>, AppError> {
    Ok(search(None, query)
        .select_only()
        .column(user::Column::Id)
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// The users list, narrowed further by `extra` (a saved filter's condition) when given.
pub async fn page_where(
    db: &impl ConnectionTrait,
    extra: Option<sea_orm::Condition>,
    query: &UserQuery,
    per_page: u32,
) -> Result<UserListPage, AppError> {
    let all_teams = crate::server::store::lookups::team_refs(db).await?;
    let q = search(extra, query);
    let total = q.clone().count(db).await?;
    let users = q
        .order_by_asc(user::Column::LastName)
        .order_by_asc(user::Column::FirstName)
        .order_by_asc(user::Column::Id)
        .offset(query.page as u64 * per_page as u64)
        .limit(per_page as u64)
        .all(db)
        .await?;
    let ids: Vec<i32> = users.iter().map(|u| u.id).collect();
    let mut teams = teams_of(db, &ids, &all_teams).await?;
    // The chosen external-data columns: one query for the page's values.
    let columns =
        super::external_data::list_columns(db, DataScope::User, query.cols.as_deref()).await?;
    let mut extra =
        super::external_data::column_values(db, DataScope::User, &ids, &columns.shown).await?;
    let rows = users
        .iter()
        .map(|u| {
            let mut r = row(u, teams.remove(&u.id).unwrap_or_default());
            r.extra = extra
                .remove(&u.id)
                .unwrap_or_else(|| vec![String::new(); columns.shown.len()]);
            r
        })
        .collect();
    Ok(UserListPage {
        rows,
        total,
        page: query.page,
        per_page,
        teams: all_teams,
        columns,
    })
}

/// Every user matching the list's search and team, as CSV with the list's columns and its
/// chosen external-data columns: email, first_name, last_name, role, teams, score, joined,
/// then one column per field (its "Group · Label"). Text a spreadsheet would run as a formula
/// is kept as text.
#[tracing::instrument(skip(db, query))]
pub async fn csv(db: &impl ConnectionTrait, query: &UserQuery) -> Result<String, AppError> {
    let all_teams = crate::server::store::lookups::team_refs(db).await?;
    let users = search(None, query)
        .order_by_asc(user::Column::LastName)
        .order_by_asc(user::Column::FirstName)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    let columns =
        super::external_data::list_columns(db, DataScope::User, query.cols.as_deref()).await?;
    let mut out = ::csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "email",
        "first_name",
        "last_name",
        "role",
        "teams",
        "score",
        "joined",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    header.extend(columns.shown.iter().map(|c| super::csv_cell(&c.label)));
    out.write_record(&header)
        .map_err(|e| AppError::internal(e))?;
    for chunk in users.chunks(500) {
        let ids: Vec<i32> = chunk.iter().map(|u| u.id).collect();
        let mut teams = teams_of(db, &ids, &all_teams).await?;
        let mut extra =
            super::external_data::column_values(db, DataScope::User, &ids, &columns.shown).await?;
        for u in chunk {
            let mut record = vec![
                super::csv_cell(&u.email),
                super::csv_cell(&u.first_name),
                super::csv_cell(&u.last_name),
                u.role.clone(),
                super::csv_cell(
                    &teams
                        .remove(&u.id)
                        .unwrap_or_default()
                        .iter()
                        .map(|t| t.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                u.score.to_string(),
                format_time(&u.created_at),
            ];
            match extra.remove(&u.id) {
                Some(values) => record.extend(values.iter().map(|v| super::csv_cell(v))),
                None => record.extend(columns.shown.iter().map(|_| String::new())),
            }
            out.write_record(&record)
                .map_err(|e| AppError::internal(e))?;
        }
    }
    let bytes = out.into_inner().map_err(|e| AppError::internal(e))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(e))
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<user::Model, AppError> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {id}")))
}

pub async fn get_row(db: &impl ConnectionTrait, id: i32) -> Result<UserRow, AppError> {
    let u = find(db, id).await?;
    let all_teams = crate::server::store::lookups::team_refs(db).await?;
    let mut teams = teams_of(db, &[id], &all_teams).await?;
    Ok(row(&u, teams.remove(&id).unwrap_or_default()))
}

/// A user's page as `viewer` sees it. `community_manager`: whether the viewer may read the
/// audit log and see anyone's sessions; otherwise there is no activity list, and sessions
/// only on their own page.
pub async fn detail(
    db: &impl ConnectionTrait,
    id: i32,
    viewer: &Actor,
    community_manager: bool,
) -> Result<UserDetail, AppError> {
    let with_audit = community_manager;
    let u = find(db, id).await?;
    let all_teams = crate::server::store::lookups::team_refs(db).await?;
    let mut teams = teams_of(db, &[id], &all_teams).await?;
    let activity = if with_audit {
        Some(audit::for_user(db, id, &u.email, 20).await?)
    } else {
        None
    };
    let projects: Vec<(i32, String)> = crate::server::entities::project::Entity::find()
        .select_only()
        .column(crate::server::entities::project::Column::Id)
        .column(crate::server::entities::project::Column::Name)
        .order_by_asc(crate::server::entities::project::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    let comments = comment::Entity::find()
        .filter(comment::Column::UserId.eq(id))
        .order_by_desc(comment::Column::Id)
        .limit(50)
        .all(db)
        .await?
        .into_iter()
        .map(|c| CommentView {
            project: c
                .project_id
                .and_then(|p| projects.iter().find(|(id, _)| *id == p))
                .map(|(_, n)| n.clone()),
            author: c.author_label,
            body: c.body,
            created_at: format_time(&c.created_at),
        })
        .collect();
    let macros = macros::offered_to(db, viewer, matching::SCOPE_USER)
        .await?
        .into_iter()
        .filter(|m| m.options.show_in_user_actions)
        .map(|m| (m.id, m.name, !m.options.suppress_confirmation))
        .collect();
    Ok(UserDetail {
        external_data: super::external_data::values_of(db, external_values::Subject::User(id))
            .await?,
        comments,
        projects,
        runs: macros::runs_for_user(db, id).await?,
        macros,
        can_sign_in: u.password_hash.is_some() && Role::parse(&u.role).is_ok_and(Role::can_sign_in),
        updated_at: format_time(&u.updated_at),
        user: row(&u, teams.remove(&id).unwrap_or_default()),
        activity,
        sessions: if u.password_hash.is_some() && (community_manager || viewer.user_id == Some(id))
        {
            Some(auth::sessions_of(db, id, viewer.session.as_deref()).await?)
        } else {
            None
        },
    })
}

/// The form rules plus the ones that need the database (the email is free), all reported
/// together.
async fn validate(
    db: &impl ConnectionTrait,
    form: &UserForm,
    existing: Option<&user::Model>,
) -> Result<ParsedUser, AppError> {
    let known = crate::server::store::lookups::team_refs(db).await?;
    let parsed = parse_user_form(form, existing, &known);
    let taken = match Email::parse(&form.email) {
        Ok(email) => email_taken(db, &email, existing.map(|u| u.id)).await?,
        Err(_) => false,
    };
    let taken_error =
        || crate::errors::FieldError::new("email", "a user with this email already exists");
    match (parsed, taken) {
        (Ok(p), false) => Ok(p),
        (Ok(_), true) => Err(AppError::Validation(vec![taken_error()])),
        (Err(AppError::Validation(mut fields)), true) => {
            fields.push(taken_error());
            Err(AppError::Validation(fields))
        }
        (Err(e), _) => Err(e),
    }
}

async fn email_taken(
    db: &impl ConnectionTrait,
    email: &Email,
    except: Option<i32>,
) -> Result<bool, AppError> {
    let mut q = user::Entity::find().filter(user::Column::Email.eq(email.as_str()));
    if let Some(id) = except {
        q = q.filter(user::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// The hash of a parsed user's new password, if they have one. Hashing is slow and waits for
/// a permit: do it before opening the write transaction, never while holding the write gate.
pub async fn password_hash_of(p: &ParsedUser) -> Result<Option<String>, AppError> {
    match &p.password {
        Some(pw) => Ok(Some(auth::hash_password(pw).await?)),
        None => Ok(None),
    }
}

/// Inserts a parsed user (with the hash of their password, `password_hash_of`) and their
/// memberships on `db` (the caller's transaction), and queues there the user macros automated
/// on a user's creation and on joining those teams.
pub async fn insert_parsed(
    db: &impl ConnectionTrait,
    actor: &Actor,
    p: &ParsedUser,
    password_hash: Option<String>,
) -> Result<user::Model, AppError> {
    let now = Utc::now();
    let created = user::ActiveModel {
        email: Set(p.email.to_string()),
        first_name: Set(p.first_name.as_str().to_string()),
        last_name: Set(p.last_name.as_str().to_string()),
        role: Set(p.role.key().to_string()),
        score: Set(p.score),
        password_hash: Set(password_hash),
        search_text: Set(search_text(
            p.email.as_str(),
            p.first_name.as_str(),
            p.last_name.as_str(),
        )),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    set_memberships(db, created.id, &p.team_ids).await?;
    automation::user_event(db, actor, created.id, UserEvent::Created).await?;
    automation::teams_changed(db, actor, created.id, &[], &p.team_ids).await?;
    Ok(created)
}

/// Makes `team_ids` the user's teams: memberships of other teams go, new ones are added (the
/// ones kept keep their date). Returns the teams they were in before.
async fn set_memberships(
    db: &impl ConnectionTrait,
    user_id: i32,
    team_ids: &[i32],
) -> Result<Vec<i32>, AppError> {
    let before: Vec<i32> = team_membership::Entity::find()
        .select_only()
        .column(team_membership::Column::TeamId)
        .filter(team_membership::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let left: Vec<i32> = before
        .iter()
        .copied()
        .filter(|t| !team_ids.contains(t))
        .collect();
    if !left.is_empty() {
        team_membership::Entity::delete_many()
            .filter(team_membership::Column::UserId.eq(user_id))
            .filter(team_membership::Column::TeamId.is_in(left))
            .exec(db)
            .await?;
    }
    let joined: Vec<i32> = team_ids
        .iter()
        .copied()
        .filter(|t| !before.contains(t))
        .collect();
    if joined.is_empty() {
        return Ok(before);
    }
    let now = Utc::now();
    team_membership::Entity::insert_many(joined.iter().map(|&team_id| {
        team_membership::ActiveModel {
            user_id: Set(user_id),
            team_id: Set(team_id),
            created_at: Set(now),
        }
    }))
    .exec(db)
    .await?;
    Ok(before)
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &UserForm,
) -> Result<i32, AppError> {
    let parsed = validate(db, form, None).await?;
    let password_hash = password_hash_of(&parsed).await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let created = insert_parsed(&txn, actor, &parsed, password_hash).await?;
    audit_trail::record_about(
        &txn,
        actor,
        "user.created",
        Some(created.id),
        &created.email,
        &format!("role {}", parsed.role.key()),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    Ok(created.id)
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &UserForm,
) -> Result<i32, AppError> {
    let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    let existing = find(db, id).await?;
    let parsed = validate(db, form, Some(&existing)).await?;
    let was_cm = existing.role == Role::CommunityManager.key();
    if was_cm && parsed.role != Role::CommunityManager {
        if actor.user_id == Some(id) {
            return Err(AppError::field(
                "role",
                "you cannot remove your own community-manager role",
            ));
        }
        ensure_another_community_manager(db, id).await?;
    }
    let new_hash = password_hash_of(&parsed).await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let mut changes = Vec::new();
    if existing.email != parsed.email.as_str() {
        changes.push(format!("email {} → {}", existing.email, parsed.email));
    }
    // The earlier email and name stay known until the person is erased (`erasure`).
    let old_name = format!("{} {}", existing.first_name, existing.last_name);
    let new_name = format!(
        "{} {}",
        parsed.first_name.as_str(),
        parsed.last_name.as_str()
    );
    crate::server::engine::erasure::remember_aliases(
        &txn,
        id,
        (existing.email != parsed.email.as_str()).then_some(existing.email.as_str()),
        (old_name != new_name).then_some(old_name.as_str()),
    )
    .await?;
    if existing.role != parsed.role.key() {
        changes.push(format!("role {} → {}", existing.role, parsed.role.key()));
    }
    let mut active = existing.clone().into_active_model();
    active.email = Set(parsed.email.to_string());
    active.first_name = Set(parsed.first_name.as_str().to_string());
    active.last_name = Set(parsed.last_name.as_str().to_string());
    active.role = Set(parsed.role.key().to_string());
    active.score = Set(parsed.score);
    active.search_text = Set(search_text(
        parsed.email.as_str(),
        parsed.first_name.as_str(),
        parsed.last_name.as_str(),
    ));
    active.updated_at = Set(Utc::now());
    let credentials_changed = parsed.password.is_some() || !parsed.role.can_sign_in();
    if let Some(hash) = new_hash {
        active.password_hash = Set(Some(hash));
        changes.push("password changed".into());
    } else if !parsed.role.can_sign_in() {
        active.password_hash = Set(None);
    }
    active.update(&txn).await?;
    let before = set_memberships(&txn, id, &parsed.team_ids).await?;
    // Joining and leaving teams set off the user macros automated on it, judged on the user
    // as this edit leaves them (the new email, role and teams).
    automation::teams_changed(&txn, actor, id, &before, &parsed.team_ids).await?;
    if credentials_changed {
        // Every other session of the account ends; a manager changing their own password
        // keeps the session they did it from.
        let keep = (actor.user_id == Some(id))
            .then_some(actor.session.as_deref())
            .flatten();
        auth::end_sessions_except(&txn, id, keep).await?;
    }
    audit_trail::record_about(
        &txn,
        actor,
        "user.updated",
        Some(id),
        parsed.email.as_str(),
        &changes.join("; "),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    Ok(id)
}

async fn ensure_another_community_manager(
    db: &impl ConnectionTrait,
    except: i32,
) -> Result<(), AppError> {
    let others = user::Entity::find()
        .filter(user::Column::Role.eq(Role::CommunityManager.key()))
        .filter(user::Column::Id.ne(except))
        .count(db)
        .await?;
    if others == 0 {
        return Err(AppError::Conflict(
            "the community needs at least one community manager".into(),
        ));
    }
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
    let existing = find(db, id).await?;
    if actor.user_id == Some(id) {
        return Err(AppError::field(
            "confirm",
            "you cannot delete your own account",
        ));
    }
    if existing.role == Role::CommunityManager.key() {
        ensure_another_community_manager(db, id).await?;
    }
    // A deleted person is erased as completely as one a removal macro removes; the log
    // names them by a label drawn for this removal.
    let label = crate::server::engine::runs::removed_label();
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let erased = crate::server::engine::erasure::erase(&txn, &existing, &label).await?;
    // Memberships, sessions and aliases go with the row (ON DELETE CASCADE).
    user::Entity::delete_by_id(id).exec(&txn).await?;
    audit_trail::record(&txn, actor, "user.deleted", &label, "").await?;
    crate::server::engine::erasure::record_receipt(
        &txn,
        &erased,
        &crate::server::engine::erasure::Requested {
            run_id: None,
            macro_id: None,
            macro_name: String::new(),
            trigger: crate::shared::vocab::Trigger::Delete,
            listener_name: None,
            actor_label: actor.label.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    crate::server::engine::erasure::settle(db, &erased).await;
    Ok(())
}

pub async fn count(db: &impl ConnectionTrait, role: Option<Role>) -> Result<u64, AppError> {
    let mut q = user::Entity::find();
    if let Some(r) = role {
        q = q.filter(user::Column::Role.eq(r.key()));
    }
    Ok(q.count(db).await?)
}

/// A comment about a user by the signed-in manager: community-level, or about their part in
/// one project.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn add_comment(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &crate::types::UserCommentForm,
) -> Result<i32, AppError> {
    let mut errors = crate::errors::FieldErrors::new();
    let user_id = errors.check("user_id", crate::server::domain::parse_id(&form.user_id));
    let body = errors.check("body", super::feedback::check_comment(&form.body));
    let project_id = match form.project_id.trim() {
        "" => None,
        raw => errors.check("project_id", crate::server::domain::parse_id(raw)),
    };
    errors.into_result()?;
    let user_id = user_id.expect("checked");
    find(db, user_id).await?;
    if let Some(p) = project_id
        && crate::server::entities::project::Entity::find_by_id(p)
            .one(db)
            .await?
            .is_none()
    {
        return Err(AppError::field("project_id", "that project does not exist"));
    }
    let author_id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let author = find(db, author_id).await?;
    crate::server::engine::writes::comment_on_user(
        db,
        user_id,
        (
            Some(author.id),
            crate::server::engine::writes::person_label(&author),
        ),
        &body.expect("checked"),
        project_id,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> UserForm {
        UserForm {
            email: "Ada@Example.com".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            role: "participant".into(),
            score: "3".into(),
            team_ids: vec!["1".into()],
            ..Default::default()
        }
    }

    fn teams() -> Vec<TeamRef> {
        vec![TeamRef {
            id: 1,
            name: "Customers".into(),
        }]
    }

    #[test]
    fn a_good_form_parses() {
        let p = parse_user_form(&form(), None, &teams()).unwrap();
        assert_eq!(p.email.as_str(), "ada@example.com");
        assert_eq!(p.team_ids, vec![1]);
        assert_eq!(p.score, 3);
    }

    #[test]
    fn every_bad_field_is_named() {
        let f = UserForm {
            email: "nope".into(),
            first_name: "".into(),
            score: "lots".into(),
            team_ids: vec!["9".into()],
            role: "community_manager".into(),
            ..form()
        };
        let err = parse_user_form(&f, None, &teams()).unwrap_err();
        for field in ["email", "first_name", "score", "team_ids", "password"] {
            assert!(
                err.field_message(field).is_some(),
                "{field} missing from {err:?}"
            );
        }
        assert!(err.field_message("last_name").is_none());
    }
}
