//! External sources: `POST /api/v1/externalSources/{key}` creates a feedback ticket in the
//! source's project and type from the JSON body (Salesforce, a support form …). The starting
//! point (team, status), the submitter and the mapping from body parameters to the form come
//! from the source; the ticket is then an ordinary ticket.

use crate::server::store::audit_trail;
use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{Actor, projects};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::{Email, parse_id, parse_key};
use crate::server::entities::{api_key, external_source, user};
use crate::server::settings::Settings;
use crate::types::{
    ExternalSourceEditor, ExternalSourceForm, ExternalSourceView, FeedbackTypeDefinition,
};

pub fn endpoint(settings: &Settings, key: &str) -> String {
    format!(
        "{}/api/v1/externalSources/{key}",
        settings.public_base_url.as_str().trim_end_matches('/')
    )
}

/// The default submitter's email (empty: none, or gone).
async fn submitter_email(db: &impl ConnectionTrait, id: Option<i32>) -> Result<String, AppError> {
    Ok(match id {
        Some(id) => user::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|u| u.email)
            .unwrap_or_default(),
        None => String::new(),
    })
}

/// `title` and `description` are mapped like the form's own fields.
const OWN_FIELDS: [&str; 2] = ["title", "description"];

fn mapping_text(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(param, field)| format!("{param} = {field}"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn view(
    db: &impl ConnectionTrait,
    settings: &Settings,
    s: external_source::Model,
) -> Result<ExternalSourceView, AppError> {
    let t = crate::server::store::lookups::find_type(db, s.feedback_type_id).await?;
    let submitter = submitter_email(db, s.submitter_user_id).await?;
    let map: BTreeMap<String, String> = serde_json::from_str(&s.field_map).unwrap_or_default();
    Ok(ExternalSourceView {
        endpoint: endpoint(settings, &s.key),
        id: s.id,
        project_id: s.project_id,
        feedback_type_id: s.feedback_type_id,
        type_name: t.name,
        name: s.name,
        key: s.key,
        api_key_id: s.api_key_id,
        team_id: s.team_id,
        status_id: s.status_id,
        status_param: s.status_param,
        submitter,
        submitter_param: s.submitter_param,
        mapping: mapping_text(&map),
        enabled: s.enabled,
        signature_label: crate::server::domain::inbound_signature::Scheme::parse(
            &s.signature_scheme,
        )
        .map(|x| x.label().to_string())
        .unwrap_or_default(),
        signature_scheme: s.signature_scheme,
        old_secret_until: s
            .old_secret_until
            .filter(|until| *until > Utc::now())
            .as_ref()
            .map(crate::server::domain::format_time),
    })
}

pub async fn of_project(
    db: &impl ConnectionTrait,
    settings: &Settings,
    project_id: i32,
) -> Result<Vec<ExternalSourceView>, AppError> {
    let rows = external_source::Entity::find()
        .filter(external_source::Column::ProjectId.eq(project_id))
        .order_by_asc(external_source::Column::Name)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(rows.len());
    for s in rows {
        views.push(view(db, settings, s).await?);
    }
    Ok(views)
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<external_source::Model, AppError> {
    external_source::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("external source {id}")))
}

/// The editor: the source (when editing) and the project's types and the API keys to choose.
pub async fn editor(
    db: &impl ConnectionTrait,
    settings: &Settings,
    project_id: Option<i32>,
    id: Option<i32>,
) -> Result<ExternalSourceEditor, AppError> {
    let source = match id {
        Some(id) => Some(view(db, settings, find(db, id).await?).await?),
        None => None,
    };
    let project_id = source
        .as_ref()
        .map(|s| s.project_id)
        .or(project_id)
        .ok_or_else(|| AppError::NotFound("project".into()))?;
    Ok(ExternalSourceEditor {
        source,
        project: projects::get_summary(db, project_id).await?,
        types: projects::definitions_of(db, project_id).await?,
        api_keys: api_key::Entity::find()
            .select_only()
            .column(api_key::Column::Id)
            .column(api_key::Column::Name)
            .order_by_asc(api_key::Column::Name)
            .into_tuple()
            .all(db)
            .await?,
    })
}

/// An optional body parameter: a key of the body or a path into it (`body_path`).
fn body_param(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    crate::server::domain::body_path::BodyPath::parse(raw).map(|p| p.as_str().to_string())
}

/// `param = field` lines into a map; every field must be the type's (or title/description),
/// and title must be mapped.
fn parse_mapping(
    text: &str,
    t: &FeedbackTypeDefinition,
) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((param, field)) = line.split_once('=') else {
            return Err(format!("line {} must read `parameter = field`", n + 1));
        };
        let (param, field) = (body_param(param)?, field.trim().to_ascii_lowercase());
        if param.is_empty() {
            return Err(format!("line {} has no parameter", n + 1));
        }
        if !OWN_FIELDS.contains(&field.as_str()) && !t.fields.iter().any(|f| f.key == field) {
            return Err(format!(
                "line {}: {} has no field \"{field}\" (its keys: {})",
                n + 1,
                t.name,
                OWN_FIELDS
                    .iter()
                    .map(|s| s.to_string())
                    .chain(t.fields.iter().map(|f| f.key.clone()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if map.values().any(|f| *f == field) {
            return Err(format!("the field \"{field}\" is mapped twice"));
        }
        map.insert(param, field);
    }
    if !map.values().any(|f| f == "title") {
        return Err("map a parameter to title (e.g. `subject = title`)".into());
    }
    Ok(map)
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &ExternalSourceForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let mut errors = FieldErrors::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("name", "is required (at most 100 characters)");
    }
    let key = errors.check("key", parse_key(&form.key));
    let feedback_type = match parse_id(&form.feedback_type_id) {
        Ok(id) => match crate::server::store::lookups::type_definition(db, id).await {
            Ok(t) => Some(t),
            Err(AppError::NotFound(_)) => {
                errors.push("feedback_type_id", "that feedback type does not exist");
                None
            }
            Err(e) => return Err(e),
        },
        Err(_) => {
            errors.push("feedback_type_id", "choose the feedback type to create");
            None
        }
    };
    let api_key_id = errors.check(
        "api_key_id",
        parse_id(&form.api_key_id)
            .map_err(|_| "choose the API key callers must present".to_string()),
    );
    if let Some(id) = api_key_id
        && api_key::Entity::find_by_id(id).count(db).await? == 0
    {
        errors.push("api_key_id", "that API key does not exist");
    }
    let status_param = errors
        .check("status_param", body_param(&form.status_param))
        .unwrap_or_default();
    let submitter_param = errors
        .check("submitter_param", body_param(&form.submitter_param))
        .unwrap_or_default();
    let submitter = match form.submitter.trim() {
        "" => None,
        raw => match Email::parse(raw) {
            Ok(email) => match crate::server::store::lookups::find_user_by_email(db, &email).await?
            {
                Some(u) => Some(u.id),
                None => {
                    errors.push("submitter", "no user has this email");
                    None
                }
            },
            Err(m) => {
                errors.push("submitter", m);
                None
            }
        },
    };
    if form.submitter.trim().is_empty() && submitter_param.is_empty() {
        errors.push(
            "submitter",
            "give a default submitter, or the parameter that holds the submitter's email",
        );
    }
    let (mut team_id, mut status_id, mut map) = (None, None, BTreeMap::new());
    if let Some(t) = &feedback_type {
        team_id = match form.team_id.trim() {
            "" => None,
            raw => match raw.parse::<i32>() {
                Ok(id) if t.teams.iter().any(|x| x.id == id) => Some(id),
                _ => {
                    errors.push("team_id", "must be one of the feedback type's teams");
                    None
                }
            },
        };
        status_id = match form.status_id.trim() {
            "" => None,
            raw => match raw.parse::<i32>() {
                Ok(id) if t.statuses.iter().any(|x| x.id == id) => Some(id),
                _ => {
                    errors.push(
                        "status_id",
                        "must be a status of the feedback type's workflow",
                    );
                    None
                }
            },
        };
        match parse_mapping(&form.mapping, t) {
            Ok(m) => map = m,
            Err(m) => errors.push("mapping", m),
        }
    }
    errors.into_result()?;
    let key = key.expect("checked");
    let feedback_type = feedback_type.expect("checked");
    let mut clash =
        external_source::Entity::find().filter(external_source::Column::Key.eq(key.clone()));
    if let Some(e) = &existing {
        clash = clash.filter(external_source::Column::Id.ne(e.id));
    }
    if clash.count(db).await? > 0 {
        return Err(AppError::field(
            "key",
            "another external source has this key",
        ));
    }
    let now = Utc::now();
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let mut active = match existing {
        Some(e) => e.into_active_model(),
        None => external_source::ActiveModel {
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.project_id = Set(feedback_type.project_id);
    active.feedback_type_id = Set(feedback_type.id);
    active.name = Set(name.to_string());
    active.key = Set(key.clone());
    active.api_key_id = Set(api_key_id);
    active.team_id = Set(team_id);
    active.status_id = Set(status_id);
    active.status_param = Set(status_param);
    active.submitter_user_id = Set(submitter);
    active.submitter_param = Set(submitter_param);
    active.field_map = Set(serde_json::to_string(&map).map_err(|e| AppError::internal(e))?);
    active.enabled = Set(form.enabled.is_some());
    active.updated_at = Set(now);
    let saved = active.save(&txn).await?;
    let id = saved.id.unwrap();
    audit_trail::record(&txn, actor, "external_source.saved", name, &key).await?;
    txn.commit().await?;
    drop(gate);
    Ok(id)
}

/// What a source's body path can fill (*Listen for a test call*): each field of the ticket
/// (`field:<key>`, title and description first), the submitter's and the status's parameter;
/// (setting, label, current path).
pub(crate) async fn fillable(
    db: &impl ConnectionTrait,
    s: &external_source::Model,
) -> Result<Vec<(String, String, String)>, AppError> {
    let t = crate::server::store::lookups::type_definition(db, s.feedback_type_id).await?;
    let map: BTreeMap<String, String> = serde_json::from_str(&s.field_map).unwrap_or_default();
    let now = |field: &str| {
        map.iter()
            .find(|(_, f)| f.as_str() == field)
            .map(|(p, _)| p.clone())
            .unwrap_or_default()
    };
    let mut out = vec![
        ("field:title".to_string(), "Title".to_string(), now("title")),
        (
            "field:description".to_string(),
            "Description".to_string(),
            now("description"),
        ),
    ];
    for f in &t.fields {
        out.push((format!("field:{}", f.key), f.label.clone(), now(&f.key)));
    }
    out.push((
        "submitter_param".into(),
        "Submitter's email".into(),
        s.submitter_param.clone(),
    ));
    out.push((
        "status_param".into(),
        "Status (its name)".into(),
        s.status_param.clone(),
    ));
    Ok(out)
}

/// Fills one of a source's settings (`fillable`) with a body path, saved through `save` like
/// the editor saves it: a field's mapping line is replaced (the path maps to that field only).
pub(crate) async fn fill_from_path(
    db: &DatabaseConnection,
    actor: &Actor,
    s: &external_source::Model,
    setting: &str,
    path: &str,
) -> Result<i32, AppError> {
    let mut map: BTreeMap<String, String> = serde_json::from_str(&s.field_map).unwrap_or_default();
    let submitter = submitter_email(db, s.submitter_user_id).await?;
    let id = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut form = ExternalSourceForm {
        id: s.id.to_string(),
        project_id: s.project_id.to_string(),
        feedback_type_id: s.feedback_type_id.to_string(),
        name: s.name.clone(),
        key: s.key.clone(),
        api_key_id: id(s.api_key_id),
        team_id: id(s.team_id),
        status_id: id(s.status_id),
        status_param: s.status_param.clone(),
        submitter,
        submitter_param: s.submitter_param.clone(),
        mapping: String::new(),
        enabled: s.enabled.then(|| "on".to_string()),
    };
    match setting {
        "submitter_param" => form.submitter_param = path.to_string(),
        "status_param" => form.status_param = path.to_string(),
        _ => {
            let field = setting.strip_prefix("field:").unwrap_or(setting);
            map.retain(|param, f| f != field && param != path);
            map.insert(path.to_string(), field.to_string());
        }
    }
    form.mapping = mapping_text(&map);
    save(db, actor, &form).await
}

/// Sets how a source's calls are signed (the source page's *Signed calls*), by the same rule
/// as a listener's (`listeners::Signed`): read in the write transaction (locked on
/// PostgreSQL), so two rotations at once lose no secret.
#[tracing::instrument(skip(db, sealer, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save_signing(
    db: &DatabaseConnection,
    sealer: &crate::server::secrets::Sealer,
    actor: &Actor,
    form: &crate::types::ListenerSigningForm,
) -> Result<(), AppError> {
    let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let existing = external_source::Entity::find_by_id(id)
        .lock(sea_orm::sea_query::LockType::Update)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("external source {id}")))?;
    let now = Utc::now();
    let current = super::listeners::Signed::from(
        &crate::server::engine::inbound::signing::Signing::of_source(&existing),
    );
    let (next, what) = current.change(sealer, form, now)?;
    let mut active = existing.clone().into_active_model();
    active.signature_scheme = Set(next.scheme);
    active.signing_secret = Set(next.secret);
    active.old_signing_secret = Set(next.old_secret);
    active.old_secret_until = Set(next.old_until);
    active.updated_at = Set(now);
    active.update(&txn).await?;
    audit_trail::record(
        &txn,
        actor,
        "external_source.signing_set",
        &existing.name,
        &what,
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FeedbackField, StatusRef};

    fn bug_report() -> FeedbackTypeDefinition {
        FeedbackTypeDefinition {
            id: 1,
            project_id: 1,
            project_name: "Aurora".into(),
            name: "Bug Report".into(),
            fields: vec![FeedbackField {
                id: 1,
                label: "Severity".into(),
                key: "severity".into(),
                kind: "choice".into(),
                required: true,
                choices: vec!["Low".into(), "High".into()],
            }],
            statuses: vec![StatusRef {
                id: 1,
                name: "New".into(),
            }],
            teams: Vec::new(),
        }
    }

    #[test]
    fn mappings_name_existing_fields_and_need_a_title() {
        let t = bug_report();
        let m = parse_mapping("Subject = title\n\nPriority__c = severity\n", &t).unwrap();
        assert_eq!(m["Subject"], "title");
        assert_eq!(m["Priority__c"], "severity");
        assert!(
            parse_mapping("Priority__c = severity", &t)
                .unwrap_err()
                .contains("title")
        );
        assert!(
            parse_mapping("Subject = title\nx = colour", &t)
                .unwrap_err()
                .contains("no field \"colour\"")
        );
        assert!(
            parse_mapping("Subject title", &t)
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            parse_mapping("a = title\nb = title", &t)
                .unwrap_err()
                .contains("twice")
        );
    }
}
