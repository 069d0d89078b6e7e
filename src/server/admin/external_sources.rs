//! External sources: `POST /api/v1/externalSources/{key}` creates a feedback ticket in the
//! source's project and type from the JSON body (Salesforce, a support form …). The starting
//! point (team, status), the submitter and the mapping from body parameters to the form come
//! from the source; the ticket is then an ordinary ticket.

use crate::server::store::audit_trail;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Instant;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, Value, json};

use super::feedback;
use super::listeners::{self, Reply, replay};
use super::{Actor, projects};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::printable;
use crate::server::domain::{Email, parse_id, parse_key};
use crate::server::engine::keys;
use crate::server::engine::runtime::Runtime;
use crate::server::engine::writes::NewTicket;
use crate::server::entities::{api_key, external_source, listener_call, user};
use crate::server::refusals::{Refused, SOURCE};
use crate::server::settings::{Secret, Settings};
use crate::types::{
    ExternalSourceEditor, ExternalSourceForm, ExternalSourceView, FeedbackFieldView,
    FeedbackTypeView,
};

pub fn endpoint(settings: &Settings, key: &str) -> String {
    format!(
        "{}/api/v1/externalSources/{key}",
        settings.public_base_url.as_str().trim_end_matches('/')
    )
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
    let submitter = match s.submitter_user_id {
        Some(id) => user::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|u| u.email)
            .unwrap_or_default(),
        None => String::new(),
    };
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
        types: projects::types_of(db, project_id).await?,
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

fn body_param(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.chars().count() > 100 || !v.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be a body parameter: up to 100 visible characters".into());
    }
    Ok(v.to_string())
}

/// `param = field` lines into a map; every field must be the type's (or title/description),
/// and title must be mapped.
fn parse_mapping(text: &str, t: &FeedbackTypeView) -> Result<BTreeMap<String, String>, String> {
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
            Ok(email) => match super::users::find_by_email(db, &email).await? {
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

/// An inbound call as the HTTP layer read it.
pub struct InboundSource {
    pub key: String,
    pub api_key: Option<Secret<String>>,
    pub caller: IpAddr,
    pub idempotency_key: Option<String>,
    pub body: Option<Value>,
}

fn refuse(status: u16, code: &str, message: String) -> Reply {
    Reply::error(status, code, &message)
}

/// A body value as text for a field (what a form would have sent).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// The ticket the body describes, or the 400 that says which parameter is wrong.
async fn ticket_of(
    db: &impl ConnectionTrait,
    s: &external_source::Model,
    body: &Map<String, Value>,
) -> Result<Result<NewTicket, Reply>, AppError> {
    let t = crate::server::store::lookups::type_definition(db, s.feedback_type_id).await?;
    let map: BTreeMap<String, String> =
        serde_json::from_str(&s.field_map).map_err(|e| AppError::internal(e))?;
    let param_of = |field: &str| {
        map.iter()
            .find(|(_, f)| f.as_str() == field)
            .map(|(p, _)| p.clone())
    };
    let text_of = |param: &str| -> Result<String, Reply> {
        match body.get(param) {
            None => Ok(String::new()),
            Some(v) => as_text(v).ok_or_else(|| {
                refuse(
                    400,
                    "invalid_field",
                    format!("\"{param}\" must be text, a number or true/false"),
                )
            }),
        }
    };
    let title_param = param_of("title").unwrap_or_else(|| "title".into());
    let title = match text_of(&title_param) {
        Ok(v) => v.trim().to_string(),
        Err(r) => return Ok(Err(r)),
    };
    if title.is_empty() {
        return Ok(Err(refuse(
            400,
            "missing_field",
            format!("the body has no \"{title_param}\" (the ticket's title)"),
        )));
    }
    if title.chars().count() > 200 {
        return Ok(Err(refuse(
            400,
            "invalid_field",
            format!("\"{title_param}\" must be at most 200 characters"),
        )));
    }
    if let Err(m) = crate::server::domain::check_storable(&title) {
        return Ok(Err(refuse(
            400,
            "invalid_field",
            format!("\"{title_param}\" {m}"),
        )));
    }
    let description = match param_of("description").map(|p| text_of(&p)) {
        Some(Ok(v)) => v.trim().to_string(),
        Some(Err(r)) => return Ok(Err(r)),
        None => String::new(),
    };
    if let Some(p) = param_of("description") {
        let checked = crate::server::domain::check_storable(&description).and_then(|()| {
            if description.chars().count() > 10_000 {
                Err("must be at most 10000 characters".to_string())
            } else {
                Ok(())
            }
        });
        if let Err(m) = checked {
            return Ok(Err(refuse(400, "invalid_field", format!("\"{p}\" {m}"))));
        }
    }
    let mut values = Map::new();
    for field in &t.fields {
        let param = param_of(&field.key);
        let raw = match &param {
            Some(p) => match text_of(p) {
                Ok(v) => v,
                Err(r) => return Ok(Err(r)),
            },
            None => String::new(),
        };
        match feedback::coerce_text(field, &raw) {
            Ok(Some(v)) => {
                values.insert(field.key.clone(), v);
            }
            Ok(None) => {}
            Err(m) => {
                let name = param.unwrap_or_else(|| unmapped(field));
                let code = if raw.trim().is_empty() {
                    "missing_field"
                } else {
                    "invalid_field"
                };
                return Ok(Err(refuse(400, code, format!("\"{name}\" {m}"))));
            }
        }
    }
    let author = if s.submitter_param.is_empty() {
        None
    } else {
        match body.get(&s.submitter_param).and_then(Value::as_str) {
            Some(raw) => match Email::parse(raw) {
                Ok(email) => match super::users::find_by_email(db, &email).await? {
                    Some(u) => Some(u),
                    None => {
                        return Ok(Err(refuse(
                            400,
                            "invalid_submitter",
                            format!("\"{}\" names no member of the community", s.submitter_param),
                        )));
                    }
                },
                Err(_) => {
                    return Ok(Err(refuse(
                        400,
                        "invalid_submitter",
                        format!("\"{}\" must be an email address", s.submitter_param),
                    )));
                }
            },
            None => None,
        }
    };
    let author = match (author, s.submitter_user_id) {
        (Some(u), _) => u,
        (None, Some(id)) => match user::Entity::find_by_id(id).one(db).await? {
            Some(u) => u,
            None => {
                return Ok(Err(refuse(
                    409,
                    "source_not_configured",
                    "the source's default submitter no longer exists".into(),
                )));
            }
        },
        (None, None) => {
            return Ok(Err(refuse(
                400,
                "missing_field",
                format!(
                    "the body has no \"{}\" (the submitter's email)",
                    s.submitter_param
                ),
            )));
        }
    };
    let status_id = if s.status_param.is_empty() {
        None
    } else {
        match body.get(&s.status_param).and_then(Value::as_str) {
            Some(name) => match t
                .statuses
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(name.trim()))
            {
                Some(x) => Some(x.id),
                None => {
                    return Ok(Err(refuse(
                        400,
                        "invalid_field",
                        format!(
                            "\"{}\" must be one of {}",
                            s.status_param,
                            t.statuses
                                .iter()
                                .map(|x| x.name.clone())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )));
                }
            },
            None => None,
        }
    };
    // The source's own starting point may have left the type since it was saved.
    let stale = s
        .status_id
        .is_some_and(|id| !t.statuses.iter().any(|x| x.id == id))
        || s.team_id
            .is_some_and(|id| !t.teams.iter().any(|x| x.id == id));
    if stale {
        return Ok(Err(refuse(
            409,
            "source_not_configured",
            "the source's starting team or status is no longer part of the feedback type; save the source again".into(),
        )));
    }
    let Some(status_id) = status_id
        .or(s.status_id)
        .or_else(|| t.statuses.first().map(|x| x.id))
    else {
        return Ok(Err(refuse(
            409,
            "source_not_configured",
            "the feedback type has no workflow".into(),
        )));
    };
    Ok(Ok(NewTicket {
        title,
        description,
        author,
        team_id: s.team_id,
        status_id,
        values,
        feedback_type: t,
    }))
}

fn unmapped(field: &FeedbackFieldView) -> String {
    format!("{} (not mapped)", field.key)
}

/// `POST /api/v1/externalSources/{key}`: checks the key like a listener does, then creates the
/// ticket, its log row, the key's use and the `Idempotency-Key` answer in one transaction and
/// answers 201. Every call is logged.
#[tracing::instrument(skip_all, fields(source = %call.key, caller = %call.caller))]
pub async fn create_ticket(state: &Runtime, call: InboundSource) -> Result<Reply, AppError> {
    let started = Instant::now();
    let db = &state.db;
    // The key is checked before the source is looked up (`listeners::verified_key`); calls
    // refused before their key was accepted are counted, not written one by one.
    let refused = |reply: Reply| {
        state.refusals.count(Refused {
            scope: SOURCE,
            kind: SOURCE,
            key: &call.key,
            caller: call.caller,
            status: reply.status,
            code: &reply.code(),
        });
        Ok(reply)
    };
    let key_id = match listeners::verified_key(state, call.api_key.as_ref(), call.caller).await? {
        Ok(id) => id,
        Err(reply) => return refused(reply),
    };
    let found = if parse_key(&call.key).is_ok_and(|k| k == call.key.to_ascii_lowercase()) {
        external_source::Entity::find()
            .filter(external_source::Column::Key.eq(call.key.to_ascii_lowercase()))
            .one(db)
            .await?
    } else {
        None
    };
    let Some(s) = found else {
        return refused(refuse(
            404,
            "source_not_found",
            "no external source has this key".into(),
        ));
    };
    let source_id = Some(s.id);
    let admitted = listeners::admit_key(state, key_id, s.api_key_id, "source").and_then(|id| {
        if s.enabled {
            Ok(id)
        } else {
            Err(refuse(
                403,
                "source_disabled",
                "this external source is disabled".into(),
            ))
        }
    });
    let key_id = match admitted {
        Ok(id) => id,
        Err(reply) => return refused(reply),
    };
    let fingerprint = {
        let mut message = b"source\0".to_vec();
        message.extend(s.key.as_bytes());
        message.push(0);
        let body = call
            .body
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_default();
        message.extend(body.as_bytes());
        listeners::Fingerprint::of(&state.sealer, &message)
    };
    let idem = match listeners::idempotency_key_of(&state.sealer, call.idempotency_key.as_deref()) {
        Ok(idem) => idem,
        Err(reply) => {
            log(db, &call, source_id, &reply, Some(key_id), started).await?;
            return Ok(reply);
        }
    };
    if let Some(idem) = &idem {
        // Claimed before anything is read, so concurrent calls with the key create one
        // ticket (`listeners::claim`).
        let token =
            match listeners::claim(db, key_id, idem, &fingerprint, std::time::Duration::ZERO)
                .await?
            {
                listeners::Claim::Owned(token) => token,
                listeners::Claim::Answer(first) => {
                    let code = if first.status < 300 { "replayed" } else { "" };
                    log_alone(db, &call, source_id, &first, code, Some(key_id), started).await?;
                    return Ok(first);
                }
            };
        let held = listeners::Held {
            key: &idem.stored,
            token: &token,
        };
        let created = create_claimed(
            db,
            &s,
            &call,
            source_id,
            key_id,
            Some(held),
            &fingerprint,
            started,
        )
        .await;
        // A refusal or an error keeps no answer: the key is free again.
        if !matches!(&created, Ok(reply) if reply.status < 300)
            && let Err(e) = listeners::release(db, key_id, held).await
        {
            tracing::warn!(error = %e, "cannot free an Idempotency-Key; it frees itself later");
        }
        return created;
    }
    create_claimed(
        db,
        &s,
        &call,
        source_id,
        key_id,
        None,
        &fingerprint,
        started,
    )
    .await
}

/// The ticket of a call whose source and API key checked out, its `Idempotency-Key` (if any)
/// being this call's own.
#[allow(clippy::too_many_arguments)]
async fn create_claimed(
    db: &DatabaseConnection,
    s: &external_source::Model,
    call: &InboundSource,
    source_id: Option<i32>,
    key_id: i32,
    idem: Option<listeners::Held<'_>>,
    fingerprint: &listeners::Fingerprint,
    started: Instant,
) -> Result<Reply, AppError> {
    let Some(body) = call.body.as_ref().and_then(Value::as_object) else {
        let reply = refuse(400, "invalid_body", "the body must be a JSON object".into());
        log(db, call, source_id, &reply, Some(key_id), started).await?;
        return Ok(reply);
    };
    let new = match ticket_of(db, s, body).await? {
        Ok(t) => t,
        Err(reply) => {
            log(db, call, source_id, &reply, Some(key_id), started).await?;
            return Ok(reply);
        }
    };
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let actor = Actor {
        user_id: None,
        label: format!("external source {}", s.name),
        ip: call.caller.to_string(),
        session: None,
    };
    let ticket_id = crate::server::engine::writes::insert_ticket(&txn, &actor, new).await?;
    let reply = Reply {
        status: 201,
        body: json!({ "status": "created", "ticket_id": ticket_id.to_string() }),
        retry_after: None,
    };
    if let Some(idem) = idem
        && !listeners::remember_answer(&txn, key_id, idem, fingerprint, &reply).await?
    {
        txn.rollback().await?;
        drop(gate);
        let first = replay(db, key_id, idem.key, fingerprint, std::time::Duration::ZERO)
            .await?
            .ok_or_else(|| AppError::internal("idempotency record vanished"))?;
        log_alone(
            db,
            call,
            source_id,
            &first,
            "replayed",
            Some(key_id),
            started,
        )
        .await?;
        return Ok(first);
    }
    log_as(&txn, call, source_id, &reply, "", Some(key_id), started).await?;
    txn.commit().await?;
    Ok(reply)
}

/// Logs a call that wrote nothing else: its log row and the key's use, in one write
/// transaction of their own.
async fn log(
    db: &DatabaseConnection,
    call: &InboundSource,
    source_id: Option<i32>,
    reply: &Reply,
    key_id: Option<i32>,
    started: Instant,
) -> Result<(), AppError> {
    log_alone(db, call, source_id, reply, &reply.code(), key_id, started).await
}

async fn log_alone(
    db: &DatabaseConnection,
    call: &InboundSource,
    source_id: Option<i32>,
    reply: &Reply,
    code: &str,
    key_id: Option<i32>,
    started: Instant,
) -> Result<(), AppError> {
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    log_as(&txn, call, source_id, reply, code, key_id, started).await?;
    txn.commit().await?;
    Ok(())
}

/// One row of the listener log for a source call (the target is the ticket it created).
async fn log_as(
    db: &impl ConnectionTrait,
    call: &InboundSource,
    source_id: Option<i32>,
    reply: &Reply,
    code: &str,
    key_id: Option<i32>,
    started: Instant,
) -> Result<(), AppError> {
    if let Some(id) = key_id {
        keys::record_use(db, id).await?;
    }
    let target = reply.body["ticket_id"]
        .as_str()
        .map(|id| format!("ticket #{id}"))
        .unwrap_or_default();
    listener_call::ActiveModel {
        received_at: Set(Utc::now()),
        listener_id: Set(None),
        source_id: Set(source_id),
        listener_key: Set(printable(&call.key, 100)),
        caller_ip: Set(call.caller.to_string()),
        target: Set(target),
        target_user_id: Set(None),
        status: Set(reply.status as i16),
        code: Set(if code.is_empty() {
            reply.code()
        } else {
            code.to_string()
        }),
        run_id: Set(None),
        duration_ms: Set(started.elapsed().as_millis().min(i32::MAX as u128) as i32),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StatusRef;

    fn bug_report() -> FeedbackTypeView {
        FeedbackTypeView {
            id: 1,
            project_id: 1,
            project_name: "Aurora".into(),
            name: "Bug Report".into(),
            fields: vec![FeedbackFieldView {
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
            ticket_count: 0,
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
