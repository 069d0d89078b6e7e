//! Projects and their feedback types: each type has a form (custom fields), a workflow
//! (statuses in order) and the teams its tickets can be given to.

use crate::server::store::audit_trail;
use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{Actor, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::{parse_id, parse_key};
use crate::server::entities::{
    feedback_field, feedback_status, feedback_type, feedback_type_team, project, ticket,
};
use crate::server::store::lookups::{definition_of, find_project as find, find_type};
use crate::types::{
    FIELD_KINDS, FeedbackFieldForm, FeedbackTypeDefinition, FeedbackTypeForm, FeedbackTypeView,
    NewFeedbackTypeForm, ProjectForm, ProjectSummary, ProjectView, TeamRef,
};

/// The workflow a new feedback type starts with.
pub const DEFAULT_WORKFLOW: [&str; 4] = ["New", "Open", "In Progress", "Closed"];

#[derive(Debug, FromQueryResult)]
struct Count {
    owner: i32,
    n: i64,
}

async fn counts_by(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<impl EntityTrait>,
    owner: impl sea_orm::ColumnTrait,
) -> Result<BTreeMap<i32, u64>, AppError> {
    Ok(query
        .select_only()
        .column_as(owner, "owner")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(owner)
        .into_model::<Count>()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.owner, c.n as u64))
        .collect())
}

fn summary(p: project::Model, type_count: u64, ticket_count: u64) -> ProjectSummary {
    ProjectSummary {
        id: p.id,
        name: p.name,
        key: p.key,
        description: p.description,
        created_at: format_time(&p.created_at),
        type_count,
        ticket_count,
    }
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ProjectSummary>, AppError> {
    let types = counts_by(
        db,
        feedback_type::Entity::find(),
        feedback_type::Column::ProjectId,
    )
    .await?;
    let tickets = counts_by(db, ticket::Entity::find(), ticket::Column::ProjectId).await?;
    Ok(project::Entity::find()
        .order_by_asc(project::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|p| {
            let (t, n) = (
                types.get(&p.id).copied().unwrap_or(0),
                tickets.get(&p.id).copied().unwrap_or(0),
            );
            summary(p, t, n)
        })
        .collect())
}

pub async fn get_summary(db: &impl ConnectionTrait, id: i32) -> Result<ProjectSummary, AppError> {
    let p = find(db, id).await?;
    let types = feedback_type::Entity::find()
        .filter(feedback_type::Column::ProjectId.eq(id))
        .count(db)
        .await?;
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::ProjectId.eq(id))
        .count(db)
        .await?;
    Ok(summary(p, types, tickets))
}

pub async fn view(
    db: &impl ConnectionTrait,
    settings: &crate::server::settings::Settings,
    id: i32,
) -> Result<ProjectView, AppError> {
    Ok(ProjectView {
        project: get_summary(db, id).await?,
        types: types_of(db, id).await?,
        sources: super::external_sources::of_project(db, settings, id).await?,
    })
}

struct ParsedProject {
    name: String,
    key: String,
    description: String,
}

fn parse_project(form: &ProjectForm) -> Result<ParsedProject, AppError> {
    let mut errors = FieldErrors::new();
    let name = form.name.trim().to_string();
    if name.is_empty() {
        errors.push("name", "is required");
    } else if name.chars().count() > 200 {
        errors.push("name", "must be at most 200 characters");
    }
    let key = errors.check("key", parse_key(&form.key));
    let description = form.description.trim().to_string();
    if description.chars().count() > 2000 {
        errors.push("description", "must be at most 2000 characters");
    }
    errors.into_result()?;
    Ok(ParsedProject {
        name,
        key: key.expect("checked"),
        description,
    })
}

/// Creates the project when `form.id` is empty, updates it otherwise. Returns its id.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &ProjectForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let p = parse_project(form)?;
    let mut clash = project::Entity::find().filter(project::Column::Key.eq(p.key.clone()));
    if let Some(e) = &existing {
        clash = clash.filter(project::Column::Id.ne(e.id));
    }
    if clash.count(db).await? > 0 {
        return Err(AppError::field("key", "another project has this key"));
    }
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let mut active = match existing {
        Some(e) => e.into_active_model(),
        None => project::ActiveModel {
            created_at: Set(Utc::now()),
            ..Default::default()
        },
    };
    active.name = Set(p.name.clone());
    active.key = Set(p.key.clone());
    active.description = Set(p.description);
    let saved = active.save(&txn).await?;
    let id = saved.id.unwrap();
    audit_trail::record(&txn, actor, "project.saved", &p.name, &p.key).await?;
    txn.commit().await?;
    drop(gate);
    Ok(id)
}

/// Every feedback type of a project, in order, with form, workflow and teams.
pub async fn definitions_of(
    db: &impl ConnectionTrait,
    project_id: i32,
) -> Result<Vec<FeedbackTypeDefinition>, AppError> {
    let types = feedback_type::Entity::find()
        .filter(feedback_type::Column::ProjectId.eq(project_id))
        .order_by_asc(feedback_type::Column::Position)
        .order_by_asc(feedback_type::Column::Id)
        .all(db)
        .await?;
    let mut definitions = Vec::with_capacity(types.len());
    for t in types {
        definitions.push(definition_of(db, t).await?);
    }
    Ok(definitions)
}

/// Every feedback type of a project with its count of tickets, as the project's page lists them.
pub async fn types_of(
    db: &impl ConnectionTrait,
    project_id: i32,
) -> Result<Vec<FeedbackTypeView>, AppError> {
    let mut views = Vec::new();
    for definition in definitions_of(db, project_id).await? {
        let ticket_count = ticket::Entity::find()
            .filter(ticket::Column::FeedbackTypeId.eq(definition.id))
            .count(db)
            .await?;
        views.push(FeedbackTypeView {
            definition,
            ticket_count,
        });
    }
    Ok(views)
}

fn parse_type_name(input: &str) -> Result<String, String> {
    crate::server::domain::parse_name(input, 100)
}

async fn type_name_taken(
    db: &impl ConnectionTrait,
    project_id: i32,
    name: &str,
    except: Option<i32>,
) -> Result<bool, AppError> {
    let mut q = feedback_type::Entity::find()
        .filter(feedback_type::Column::ProjectId.eq(project_id))
        .filter(feedback_type::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(feedback_type::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// Adds a feedback type to a project, with the default workflow and an empty form.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn create_type(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &NewFeedbackTypeForm,
) -> Result<i32, AppError> {
    let project_id = parse_id(&form.project_id).map_err(|m| AppError::field("project_id", m))?;
    let project = find(db, project_id).await?;
    let name = parse_type_name(&form.name).map_err(|m| AppError::field("name", m))?;
    if type_name_taken(db, project_id, &name, None).await? {
        return Err(AppError::field(
            "name",
            "this project already has a feedback type with this name",
        ));
    }
    let position = feedback_type::Entity::find()
        .filter(feedback_type::Column::ProjectId.eq(project_id))
        .count(db)
        .await? as i32;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let created = feedback_type::ActiveModel {
        project_id: Set(project_id),
        name: Set(name.clone()),
        position: Set(position),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for (i, status) in DEFAULT_WORKFLOW.iter().enumerate() {
        feedback_status::ActiveModel {
            feedback_type_id: Set(created.id),
            name: Set(status.to_string()),
            position: Set(i as i32),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    audit_trail::record(
        &txn,
        actor,
        "feedback_type.created",
        &name,
        &format!("in project {}", project.name),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    Ok(created.id)
}

/// `Steps to reproduce` → `steps_to_reproduce`, for a field saved without a key.
fn key_from_label(label: &str) -> String {
    let mut key = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').chars().take(60).collect()
}

struct ParsedField {
    label: String,
    key: String,
    kind: String,
    required: bool,
    choices: Vec<String>,
}

struct ParsedType {
    name: String,
    statuses: Vec<String>,
    team_ids: Vec<i32>,
    fields: Vec<ParsedField>,
}

fn parse_type_form(form: &FeedbackTypeForm, teams: &[TeamRef]) -> Result<ParsedType, AppError> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_type_name(&form.name));

    let statuses: Vec<String> = form
        .statuses
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let mut seen = HashSet::new();
    if statuses.is_empty() {
        errors.push("statuses", "needs at least one status");
    } else if statuses.len() > 30 {
        errors.push("statuses", "may have at most 30 statuses");
    } else if let Some(long) = statuses.iter().find(|s| s.chars().count() > 60) {
        errors.push("statuses", format!("“{long}” is longer than 60 characters"));
    } else if let Some(twice) = statuses.iter().find(|s| !seen.insert(s.to_lowercase())) {
        errors.push("statuses", format!("“{twice}” is listed twice"));
    }

    let mut team_ids = Vec::new();
    for raw in &form.teams {
        match raw.trim().parse::<i32>() {
            Ok(id) if teams.iter().any(|t| t.id == id) => team_ids.push(id),
            _ => errors.push("teams", "names a team that does not exist"),
        }
    }
    team_ids.sort_unstable();
    team_ids.dedup();

    let mut fields = Vec::new();
    let mut keys = HashSet::new();
    let mut rows: Vec<(usize, &FeedbackFieldForm)> = form
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.slot.trim().parse().unwrap_or(i), f))
        .collect();
    rows.sort_by_key(|(slot, _)| *slot);
    for (i, f) in rows {
        let label = f.label.trim();
        if label.is_empty() {
            continue;
        }
        let at = |what: &str| format!("fields.{i}.{what}");
        if label.chars().count() > 100 {
            errors.push(&at("label"), "must be at most 100 characters");
        }
        let key = if f.key.trim().is_empty() {
            Ok(key_from_label(label)).and_then(|k| parse_key(&k))
        } else {
            parse_key(&f.key)
        };
        let key = match key {
            Ok(k) if !keys.insert(k.clone()) => {
                errors.push(&at("key"), format!("“{k}” is the key of another field"));
                None
            }
            Ok(k) => Some(k),
            Err(m) => {
                errors.push(&at("key"), m);
                None
            }
        };
        let kind = f.kind.trim();
        if !FIELD_KINDS.iter().any(|(k, _)| *k == kind) {
            errors.push(&at("kind"), "must be one of the listed kinds");
        }
        let choices: Vec<String> = f
            .choices
            .lines()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect();
        if kind == "choice" && choices.is_empty() {
            errors.push(
                &at("choices"),
                "a choice field needs its choices, one per line",
            );
        }
        if let Some(key) = key {
            fields.push(ParsedField {
                label: label.to_string(),
                key,
                kind: kind.to_string(),
                required: f.required.is_some(),
                choices: if kind == "choice" {
                    choices
                } else {
                    Vec::new()
                },
            });
        }
    }
    if fields.len() > 50 {
        errors.push("fields", "a form may have at most 50 fields");
    }
    errors.into_result()?;
    Ok(ParsedType {
        name: name.expect("checked"),
        statuses,
        team_ids,
        fields,
    })
}

/// Saves a feedback type's name, workflow, teams and form. Statuses are matched by name, so
/// renaming one is removing it and adding another; a status that tickets are in cannot be
/// removed. Fields are matched by key; values of removed fields stay on the tickets.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save_type(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &FeedbackTypeForm,
) -> Result<(), AppError> {
    let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    let existing = find_type(db, id).await?;
    let p = parse_type_form(form, &crate::server::store::lookups::team_refs(db).await?)?;
    if type_name_taken(db, existing.project_id, &p.name, Some(id)).await? {
        return Err(AppError::field(
            "name",
            "this project already has a feedback type with this name",
        ));
    }
    // Reads what it then changes: on SQLite the write lock is taken first.
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let old_statuses = feedback_status::Entity::find()
        .filter(feedback_status::Column::FeedbackTypeId.eq(id))
        .all(&txn)
        .await?;
    for old in &old_statuses {
        if p.statuses.contains(&old.name) {
            continue;
        }
        let in_use = ticket::Entity::find()
            .filter(ticket::Column::StatusId.eq(old.id))
            .count(&txn)
            .await?;
        if in_use > 0 {
            return Err(AppError::field(
                "statuses",
                format!(
                    "“{}” is the status of {in_use} ticket{}; move {} to another status first",
                    old.name,
                    if in_use == 1 { "" } else { "s" },
                    if in_use == 1 { "it" } else { "them" }
                ),
            ));
        }
        feedback_status::Entity::delete_by_id(old.id)
            .exec(&txn)
            .await?;
    }
    for (i, name) in p.statuses.iter().enumerate() {
        match old_statuses.iter().find(|s| s.name == *name) {
            Some(old) => {
                feedback_status::Entity::update_many()
                    .col_expr(feedback_status::Column::Position, Expr::value(i as i32))
                    .filter(feedback_status::Column::Id.eq(old.id))
                    .exec(&txn)
                    .await?;
            }
            None => {
                feedback_status::ActiveModel {
                    feedback_type_id: Set(id),
                    name: Set(name.clone()),
                    position: Set(i as i32),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
    }

    feedback_type_team::Entity::delete_many()
        .filter(feedback_type_team::Column::FeedbackTypeId.eq(id))
        .exec(&txn)
        .await?;
    for team_id in &p.team_ids {
        feedback_type_team::ActiveModel {
            feedback_type_id: Set(id),
            team_id: Set(*team_id),
        }
        .insert(&txn)
        .await?;
    }

    let old_fields = feedback_field::Entity::find()
        .filter(feedback_field::Column::FeedbackTypeId.eq(id))
        .all(&txn)
        .await?;
    for old in &old_fields {
        if !p.fields.iter().any(|f| f.key == old.key) {
            feedback_field::Entity::delete_by_id(old.id)
                .exec(&txn)
                .await?;
        }
    }
    for (i, f) in p.fields.iter().enumerate() {
        let mut active = match old_fields.iter().find(|o| o.key == f.key) {
            Some(old) => old.clone().into_active_model(),
            None => feedback_field::ActiveModel {
                feedback_type_id: Set(id),
                key: Set(f.key.clone()),
                ..Default::default()
            },
        };
        active.label = Set(f.label.clone());
        active.kind = Set(f.kind.clone());
        active.required = Set(f.required);
        active.choices = Set(f.choices.join("\n"));
        active.position = Set(i as i32);
        active.save(&txn).await?;
    }

    let mut t = existing.into_active_model();
    t.name = Set(p.name.clone());
    t.update(&txn).await?;
    audit_trail::record(
        &txn,
        actor,
        "feedback_type.saved",
        &p.name,
        &format!(
            "workflow {}; {} field{}",
            p.statuses.join(" → "),
            p.fields.len(),
            if p.fields.len() == 1 { "" } else { "s" }
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Demo data: a Bug Report (severity, build, date found; team Testers) and a Feature Request
/// (importance), each with the default workflow.
pub async fn add_demo_types(
    db: &impl ConnectionTrait,
    project_id: i32,
    testers: i32,
) -> Result<(), AppError> {
    // A field: (key, label, kind, required, options).
    type Field<'a> = (&'a str, &'a str, &'a str, bool, &'a str);
    let types: [(&str, &[Field]); 2] = [
        (
            "Bug Report",
            &[
                (
                    "Severity",
                    "severity",
                    "choice",
                    true,
                    "Low\nMedium\nHigh\nCritical",
                ),
                ("Build", "build", "text", false, ""),
                ("Found on", "found_on", "date", false, ""),
            ],
        ),
        (
            "Feature Request",
            &[(
                "Importance",
                "importance",
                "choice",
                false,
                "Nice to have\nImportant\nMust have",
            )],
        ),
    ];
    for (position, (name, fields)) in types.iter().enumerate() {
        let t = feedback_type::ActiveModel {
            project_id: Set(project_id),
            name: Set(name.to_string()),
            position: Set(position as i32),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await?;
        for (i, status) in DEFAULT_WORKFLOW.iter().enumerate() {
            feedback_status::ActiveModel {
                feedback_type_id: Set(t.id),
                name: Set(status.to_string()),
                position: Set(i as i32),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
        for (i, (label, key, kind, required, choices)) in fields.iter().enumerate() {
            feedback_field::ActiveModel {
                feedback_type_id: Set(t.id),
                label: Set(label.to_string()),
                key: Set(key.to_string()),
                kind: Set(kind.to_string()),
                required: Set(*required),
                choices: Set(choices.to_string()),
                position: Set(i as i32),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
        feedback_type_team::ActiveModel {
            feedback_type_id: Set(t.id),
            team_id: Set(testers),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn teams() -> Vec<TeamRef> {
        vec![TeamRef {
            id: 3,
            name: "Testers".into(),
        }]
    }

    #[test]
    fn keys_come_from_labels() {
        assert_eq!(key_from_label("Steps to reproduce"), "steps_to_reproduce");
        assert_eq!(key_from_label("  OS / version!"), "os_version");
    }

    #[test]
    fn the_type_form_names_each_bad_field() {
        let form = FeedbackTypeForm {
            id: "1".into(),
            name: " ".into(),
            statuses: "New\nnew".into(),
            teams: vec!["3".into(), "9".into()],
            fields: vec![
                FeedbackFieldForm {
                    label: "Severity".into(),
                    kind: "choice".into(),
                    ..Default::default()
                },
                FeedbackFieldForm {
                    label: "Build".into(),
                    key: "severity".into(),
                    kind: "colour".into(),
                    ..Default::default()
                },
                FeedbackFieldForm::default(),
            ],
        };
        let Err(AppError::Validation(errors)) = parse_type_form(&form, &teams()) else {
            panic!("accepted a bad form");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "statuses",
                "teams",
                "fields.0.choices",
                "fields.1.key",
                "fields.1.kind"
            ]
        );
    }

    #[test]
    fn a_good_type_form_keeps_order_and_skips_blank_rows() {
        let form = FeedbackTypeForm {
            id: "1".into(),
            name: "Bug Report".into(),
            statuses: "New\n\nTriaged\nClosed\n".into(),
            teams: vec!["3".into()],
            fields: vec![
                FeedbackFieldForm::default(),
                FeedbackFieldForm {
                    label: "Severity".into(),
                    kind: "choice".into(),
                    required: Some("on".into()),
                    choices: "Low\nHigh\n".into(),
                    ..Default::default()
                },
            ],
        };
        let p = parse_type_form(&form, &teams()).unwrap();
        assert_eq!(p.statuses, ["New", "Triaged", "Closed"]);
        assert_eq!(p.team_ids, [3]);
        assert_eq!(p.fields.len(), 1);
        assert_eq!(p.fields[0].key, "severity");
        assert!(p.fields[0].required);
        assert_eq!(p.fields[0].choices, ["Low", "High"]);
    }
}
