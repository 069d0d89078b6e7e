//! Feedback tickets: creation (admin screen and external sources), the project's list,
//! the ticket page, status/team/visibility changes, comments, followers and their
//! notifications, and each ticket's history.

use crate::server::domain::check_storable;
use crate::server::engine::external_values;
use crate::server::engine::matching;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::{Map, Value};

use super::{Actor, format_time, projects};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::{Email, parse_id};
use crate::server::engine::automation::{self, TicketEvent};
use crate::server::engine::writes::{
    Change, MAX_BODY, NewTicket, apply_change, coerce_text, comment_on_ticket, follow_in,
    insert_ticket, person_label,
};
use crate::server::entities::{
    notification, ticket, ticket_comment, ticket_event, ticket_follower, user,
};
use crate::server::store::lookups::find_ticket;
use crate::shared::vocab::DataScope;
use crate::types::{
    FeedbackField, NotificationView, TicketChangeForm, TicketCommentForm, TicketCommentView,
    TicketEventView, TicketForm, TicketListPage, TicketQuery, TicketRow, TicketView,
};

pub const PER_PAGE: u32 = 25;
use crate::server::store::lookups::recount_popularity;

/// A stored value as the ticket page shows it.
fn display_value(field: &FeedbackField, v: Option<&Value>) -> String {
    match (field.kind.as_str(), v) {
        (_, None | Some(Value::Null)) => String::new(),
        ("boolean", Some(Value::Bool(b))) => if *b { "Yes" } else { "No" }.to_string(),
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(Value::Number(n))) => n.to_string(),
        (_, Some(other)) => other.to_string(),
    }
}

fn check_title(errors: &mut FieldErrors, field: &str, raw: &str) -> String {
    let title = raw.trim();
    if title.is_empty() {
        errors.push(field, "is required");
    } else if title.chars().count() > 200 {
        errors.push(field, "must be at most 200 characters");
    }
    title.to_string()
}

/// Checks a ticket form from the admin screen.
pub async fn parse_ticket_form(
    db: &impl ConnectionTrait,
    form: &TicketForm,
) -> Result<NewTicket, AppError> {
    let type_id =
        parse_id(&form.feedback_type_id).map_err(|m| AppError::field("feedback_type_id", m))?;
    let feedback_type = crate::server::store::lookups::type_definition(db, type_id).await?;
    let mut errors = FieldErrors::new();
    let title = check_title(&mut errors, "title", &form.title);
    let description = form.description.trim().to_string();
    if let Err(m) = check_storable(&form.title) {
        errors.push("title", m);
    }
    if let Err(m) = check_storable(&description) {
        errors.push("description", m);
    }
    if description.chars().count() > MAX_BODY {
        errors.push(
            "description",
            format!("must be at most {MAX_BODY} characters"),
        );
    }
    let author = match Email::parse(&form.author) {
        Err(m) => {
            errors.push("author", m);
            None
        }
        Ok(email) => {
            let found = crate::server::store::lookups::find_user_by_email(db, &email).await?;
            if found.is_none() {
                errors.push("author", "no user has this email");
            }
            found
        }
    };
    let team_id = match form.team_id.trim() {
        "" => None,
        raw => match raw.parse::<i32>() {
            Ok(id) if feedback_type.teams.iter().any(|t| t.id == id) => Some(id),
            _ => {
                errors.push("team_id", "must be one of this feedback type's teams");
                None
            }
        },
    };
    let mut values = Map::new();
    for field in &feedback_type.fields {
        let raw = form
            .fields
            .get(&field.key)
            .map(String::as_str)
            .unwrap_or("");
        match coerce_text(field, raw) {
            Ok(Some(v)) => {
                values.insert(field.key.clone(), v);
            }
            Ok(None) => {}
            Err(m) => errors.push(&format!("fields.{}", field.key), m),
        }
    }
    let status_id = match feedback_type.statuses.first() {
        Some(s) => s.id,
        None => {
            errors.push("feedback_type_id", "this feedback type has no workflow");
            0
        }
    };
    errors.into_result()?;
    Ok(NewTicket {
        feedback_type,
        title,
        description,
        author: author.expect("checked"),
        team_id,
        status_id,
        values,
    })
}

/// A ticket from the admin screen.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &TicketForm,
) -> Result<i32, AppError> {
    let new = parse_ticket_form(db, form).await?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let id = insert_ticket(&txn, actor, new).await?;
    txn.commit().await?;
    Ok(id)
}

/// A project's feedback, newest first, narrowed by type, status, team and words of the title.
/// The tickets the feedback list shows for `q` (project, type, status, team and words).
fn search(q: &TicketQuery) -> sea_orm::Select<ticket::Entity> {
    let mut find = ticket::Entity::find().filter(ticket::Column::ProjectId.eq(q.project_id));
    if let Some(t) = q.feedback_type {
        find = find.filter(ticket::Column::FeedbackTypeId.eq(t));
    }
    if let Some(s) = q.status {
        find = find.filter(ticket::Column::StatusId.eq(s));
    }
    if let Some(t) = q.team {
        find = find.filter(ticket::Column::TeamId.eq(t));
    }
    let words = q.q.trim();
    if !words.is_empty() {
        find = find.filter(matching::contains_ignoring_case(
            ticket::Column::Title,
            words,
        ));
    }
    find
}

/// Every ticket matching the list's filters (not only one page), by id.
pub async fn matching_ids(
    db: &impl ConnectionTrait,
    q: &TicketQuery,
) -> Result<Vec<i32>, AppError> {
    Ok(search(q)
        .select_only()
        .column(ticket::Column::Id)
        .order_by_asc(ticket::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn list(db: &impl ConnectionTrait, q: &TicketQuery) -> Result<TicketListPage, AppError> {
    let project = projects::get_summary(db, q.project_id).await?;
    let types = projects::definitions_of(db, q.project_id).await?;
    let find = search(q);
    let total = find.clone().count(db).await?;
    let page = q.page;
    let tickets = find
        .order_by_desc(ticket::Column::Id)
        .offset(u64::from(page) * u64::from(PER_PAGE))
        .limit(u64::from(PER_PAGE))
        .all(db)
        .await?;
    let team_names = crate::server::store::lookups::team_refs(db).await?;
    // The chosen external-data columns: one query for the page's values.
    let columns =
        super::external_data::list_columns(db, DataScope::Feedback, q.cols.as_deref()).await?;
    let ids: Vec<i32> = tickets.iter().map(|t| t.id).collect();
    let mut extra =
        super::external_data::column_values(db, DataScope::Feedback, &ids, &columns.shown).await?;
    let rows = tickets
        .into_iter()
        .map(|t| {
            let id = t.id;
            let (type_name, status) = names_in(&types, &t);
            let mut r = row_of(t, type_name, status, &team_names);
            r.extra = extra
                .remove(&id)
                .unwrap_or_else(|| vec![String::new(); columns.shown.len()]);
            r
        })
        .collect();
    Ok(TicketListPage {
        project,
        types,
        rows,
        total,
        page,
        per_page: PER_PAGE,
        columns,
    })
}

/// A ticket's type and status names, from its project's definitions.
fn names_in(types: &[crate::types::FeedbackTypeDefinition], t: &ticket::Model) -> (String, String) {
    let ty = types.iter().find(|ty| ty.id == t.feedback_type_id);
    let type_name = ty.map(|ty| ty.name.clone()).unwrap_or_default();
    let status = ty
        .and_then(|ty| ty.statuses.iter().find(|s| s.id == t.status_id))
        .map(|s| s.name.clone())
        .unwrap_or_default();
    (type_name, status)
}

/// Every ticket of the feedback list's project matching its type, status, team and search, as
/// CSV with the list's columns and its chosen external-data columns: id, title, type, status,
/// team, submitter, popularity, updated, then one column per field ("Group · Label"). Text a
/// spreadsheet would run as a formula is kept as text.
#[tracing::instrument(skip(db, q))]
pub async fn csv(db: &impl ConnectionTrait, q: &TicketQuery) -> Result<String, AppError> {
    projects::get_summary(db, q.project_id).await?;
    let types = projects::definitions_of(db, q.project_id).await?;
    let tickets = search(q).order_by_desc(ticket::Column::Id).all(db).await?;
    let team_names = crate::server::store::lookups::team_refs(db).await?;
    let columns =
        super::external_data::list_columns(db, DataScope::Feedback, q.cols.as_deref()).await?;
    let mut out = ::csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "id",
        "title",
        "type",
        "status",
        "team",
        "submitter",
        "popularity",
        "updated",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    header.extend(columns.shown.iter().map(|c| super::csv_cell(&c.label)));
    out.write_record(&header)
        .map_err(|e| AppError::internal(e))?;
    for chunk in tickets.chunks(500) {
        let ids: Vec<i32> = chunk.iter().map(|t| t.id).collect();
        let mut extra =
            super::external_data::column_values(db, DataScope::Feedback, &ids, &columns.shown)
                .await?;
        for t in chunk {
            let (type_name, status) = names_in(&types, t);
            let r = row_of(t.clone(), type_name, status, &team_names);
            let mut record = vec![
                r.id.to_string(),
                super::csv_cell(&r.title),
                super::csv_cell(&r.type_name),
                super::csv_cell(&r.status),
                super::csv_cell(r.team.as_deref().unwrap_or_default()),
                super::csv_cell(&r.author),
                r.popularity.to_string(),
                r.updated_at,
            ];
            match extra.remove(&t.id) {
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

/// How many tickets pass `cond`, and the first `limit` of them, newest first, as list rows
/// (of any project).
pub async fn rows_where(
    db: &impl ConnectionTrait,
    cond: sea_orm::Condition,
    limit: u32,
) -> Result<(u64, Vec<TicketRow>), AppError> {
    use crate::server::entities::{feedback_status, feedback_type};
    let find = ticket::Entity::find().filter(cond);
    let total = find.clone().count(db).await?;
    let tickets = find
        .order_by_desc(ticket::Column::Id)
        .limit(u64::from(limit))
        .all(db)
        .await?;
    let type_ids: Vec<i32> = tickets.iter().map(|t| t.feedback_type_id).collect();
    let types: Vec<(i32, String)> = feedback_type::Entity::find()
        .select_only()
        .column(feedback_type::Column::Id)
        .column(feedback_type::Column::Name)
        .filter(feedback_type::Column::Id.is_in(type_ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let statuses: Vec<(i32, String)> = feedback_status::Entity::find()
        .select_only()
        .column(feedback_status::Column::Id)
        .column(feedback_status::Column::Name)
        .filter(feedback_status::Column::FeedbackTypeId.is_in(type_ids))
        .into_tuple()
        .all(db)
        .await?;
    let team_names = crate::server::store::lookups::team_refs(db).await?;
    let name = |list: &[(i32, String)], id: i32| {
        list.iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let rows = tickets
        .into_iter()
        .map(|t| {
            let (type_name, status) = (
                name(&types, t.feedback_type_id),
                name(&statuses, t.status_id),
            );
            row_of(t, type_name, status, &team_names)
        })
        .collect();
    Ok((total, rows))
}

/// A ticket as a list shows it.
fn row_of(
    t: ticket::Model,
    type_name: String,
    status: String,
    team_names: &[crate::types::TeamRef],
) -> TicketRow {
    TicketRow {
        id: t.id,
        title: t.title,
        type_name,
        status,
        team: t
            .team_id
            .and_then(|id| team_names.iter().find(|r| r.id == id))
            .map(|r| r.name.clone()),
        author: t.author_label,
        popularity: t.popularity,
        updated_at: format_time(&t.updated_at),
        extra: Vec::new(),
    }
}

/// The ticket page: everything about one ticket, as `viewer` sees it.
pub async fn get(
    db: &impl ConnectionTrait,
    id: i32,
    viewer: Option<i32>,
) -> Result<TicketView, AppError> {
    let t = find_ticket(db, id).await?;
    let feedback_type =
        crate::server::store::lookups::type_definition(db, t.feedback_type_id).await?;
    let values: Map<String, Value> = serde_json::from_str(&t.field_values).unwrap_or_default();
    let fields = feedback_type
        .fields
        .iter()
        .map(|f| (f.label.clone(), display_value(f, values.get(&f.key))))
        .collect();
    let status = feedback_type
        .statuses
        .iter()
        .find(|s| s.id == t.status_id)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let team = match t.team_id {
        Some(id) => crate::server::store::lookups::team_refs(db)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| r.name),
        None => None,
    };
    let follower_rows = ticket_follower::Entity::find()
        .filter(ticket_follower::Column::TicketId.eq(id))
        .all(db)
        .await?;
    let following = viewer.is_some_and(|v| follower_rows.iter().any(|f| f.user_id == v));
    let follower_ids: Vec<i32> = follower_rows.iter().map(|f| f.user_id).collect();
    let mut followers: Vec<String> = user::Entity::find()
        .filter(user::Column::Id.is_in(follower_ids))
        .all(db)
        .await?
        .iter()
        .map(person_label)
        .collect();
    followers.sort();
    let comments = ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.eq(id))
        .order_by_asc(ticket_comment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| TicketCommentView {
            id: c.id,
            author: c.author_label,
            body: c.body,
            created_at: format_time(&c.created_at),
        })
        .collect();
    let history = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(id))
        .order_by_asc(ticket_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|e| TicketEventView {
            actor: e.actor_label,
            change: e.change,
            created_at: format_time(&e.created_at),
        })
        .collect();
    Ok(TicketView {
        id: t.id,
        project_id: t.project_id,
        project_name: feedback_type.project_name.clone(),
        title: t.title,
        description: t.description,
        status_id: t.status_id,
        status,
        team_id: t.team_id,
        team,
        author: t.author_label,
        author_user_id: t.author_user_id,
        fields,
        visibility: t.visibility,
        popularity: t.popularity,
        created_at: format_time(&t.created_at),
        updated_at: format_time(&t.updated_at),
        followers,
        following,
        comments,
        history,
        external_data: super::external_data::values_of(db, external_values::Subject::Ticket(id))
            .await?,
        macros: super::macros::list(db, matching::SCOPE_FEEDBACK)
            .await?
            .into_iter()
            .filter(|m| m.options.show_in_user_actions)
            // Only the macros that run on this ticket's project and type.
            .filter(|m| super::places::holds(&m.place, t.project_id, t.feedback_type_id))
            .map(|m| (m.id, m.name, !m.options.suppress_confirmation))
            .collect(),
        runs: super::macros::runs_for_ticket(db, id).await?,
        feedback_type,
    })
}

/// Moves a ticket to another status of its workflow, gives it to another of its type's teams
/// (or none), or makes it public or private; each change goes into its history, and the
/// feedback macros automated on modified tickets are queued with it.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn change(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &TicketChangeForm,
) -> Result<(), AppError> {
    let id = parse_id(&form.ticket_id).map_err(|m| AppError::field("ticket_id", m))?;
    let t = find_ticket(db, id).await?;
    let feedback_type =
        crate::server::store::lookups::type_definition(db, t.feedback_type_id).await?;
    let value = form.value.trim();
    let change = match form.what.as_str() {
        "status" => Change::Status(
            value
                .parse::<i32>()
                .ok()
                .filter(|s| feedback_type.statuses.iter().any(|x| x.id == *s))
                .ok_or_else(|| AppError::field("value", "must be a status of this workflow"))?,
        ),
        "team" => Change::Team(match value {
            "" => None,
            raw => Some(
                raw.parse::<i32>()
                    .ok()
                    .filter(|s| feedback_type.teams.iter().any(|x| x.id == *s))
                    .ok_or_else(|| {
                        AppError::field("value", "must be one of this feedback type's teams")
                    })?,
            ),
        }),
        "visibility" => {
            if value != "public" && value != "private" {
                return Err(AppError::field("value", "must be public or private"));
            }
            Change::Visibility(value.to_string())
        }
        _ => {
            return Err(AppError::field(
                "what",
                "must be status, team or visibility",
            ));
        }
    };
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    if apply_change(&txn, actor, &t, &feedback_type, change)
        .await?
        .is_some()
    {
        automation::ticket_event(&txn, actor, id, TicketEvent::Modified).await?;
    }
    txn.commit().await?;
    Ok(())
}

pub fn check_comment(body: &str) -> Result<String, String> {
    let body = body.trim();
    if body.is_empty() {
        return Err("is required".into());
    }
    check_storable(body)?;
    if body.chars().count() > MAX_BODY {
        return Err(format!("must be at most {MAX_BODY} characters"));
    }
    Ok(body.to_string())
}

/// A comment by the signed-in manager.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn add_comment(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &TicketCommentForm,
) -> Result<i32, AppError> {
    let id = parse_id(&form.ticket_id).map_err(|m| AppError::field("ticket_id", m))?;
    let body = check_comment(&form.body).map_err(|m| AppError::field("body", m))?;
    let t = find_ticket(db, id).await?;
    let author_id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let author = user::Entity::find_by_id(author_id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let comment = comment_on_ticket(&txn, &t, Some(&author), &body, actor).await?;
    automation::ticket_event(&txn, actor, id, TicketEvent::Modified).await?;
    txn.commit().await?;
    Ok(comment)
}

/// Starts or stops following a ticket (a follower counts toward its popularity).
pub async fn set_following(
    db: &DatabaseConnection,
    actor: &Actor,
    ticket_id: &str,
    follow: bool,
) -> Result<(), AppError> {
    let id = parse_id(ticket_id).map_err(|m| AppError::field("ticket_id", m))?;
    find_ticket(db, id).await?;
    let user_id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    if follow {
        follow_in(&txn, id, user_id).await?;
    } else {
        ticket_follower::Entity::delete_many()
            .filter(ticket_follower::Column::TicketId.eq(id))
            .filter(ticket_follower::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
    }
    recount_popularity(&txn, id).await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

/// The user's notifications, newest first (the latest 100).
pub async fn notifications(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<NotificationView>, AppError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .order_by_desc(notification::Column::Id)
        .limit(100)
        .all(db)
        .await?
        .into_iter()
        .map(|n| NotificationView {
            id: n.id,
            body: n.body,
            ticket_id: n.ticket_id,
            created_at: format_time(&n.created_at),
            read: n.read_at.is_some(),
        })
        .collect())
}

pub async fn mark_all_read(db: &DatabaseConnection, user_id: i32) -> Result<(), AppError> {
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: &str, required: bool) -> FeedbackField {
        FeedbackField {
            id: 1,
            label: "F".into(),
            key: "f".into(),
            kind: kind.into(),
            required,
            choices: vec!["Low".into(), "High".into()],
        }
    }

    #[test]
    fn values_take_their_field_type() {
        assert_eq!(
            coerce_text(&field("number", false), " 2.5 ").unwrap(),
            Some(serde_json::json!(2.5))
        );
        assert!(coerce_text(&field("number", false), "two").is_err());
        assert!(coerce_text(&field("number", false), "NaN").is_err());
        assert_eq!(
            coerce_text(&field("date", false), "2026-11-25").unwrap(),
            Some(serde_json::json!("2026-11-25"))
        );
        assert!(coerce_text(&field("date", false), "25/11/2026").is_err());
        assert_eq!(
            coerce_text(&field("boolean", false), "on").unwrap(),
            Some(serde_json::json!(true))
        );
        assert_eq!(
            coerce_text(&field("choice", false), "high").unwrap(),
            Some(serde_json::json!("High")),
            "a choice is stored as the form spells it"
        );
        assert!(coerce_text(&field("choice", false), "Urgent").is_err());
        assert_eq!(coerce_text(&field("text", false), "  ").unwrap(), None);
        assert_eq!(
            coerce_text(&field("text", true), "  ").unwrap_err(),
            "is required"
        );
        assert_eq!(
            coerce_text(&field("boolean", true), "").unwrap(),
            None,
            "an unticked required box is simply no"
        );
    }

    #[test]
    fn comments_need_text_within_the_limit() {
        assert!(check_comment("  ").is_err());
        assert!(check_comment(&"x".repeat(MAX_BODY + 1)).is_err());
        assert_eq!(check_comment(" Thanks! ").unwrap(), "Thanks!");
    }
}
