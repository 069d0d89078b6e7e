//! The inbound contract of external sources (docs/listener-api.md, "External sources"): a
//! call to `/api/v1/externalSources/{key}` becomes a ticket of the source's feedback type, its
//! body mapped onto the type's fields and checked against its form. The source settings are
//! `admin::external_sources`.

use crate::server::domain::body_path::lookup_in;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Instant;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde_json::{Map, Value, json};

use super::idempotency::{self, replay};
use super::listeners;
use super::{Refusal, Reply};
use crate::errors::AppError;
use crate::server::domain::Actor;
use crate::server::domain::printable;
use crate::server::domain::{Email, parse_key};
use crate::server::engine::keys;
use crate::server::engine::runtime::Runtime;
use crate::server::engine::writes::NewTicket;
use crate::server::entities::{external_source, listener_call, user};
use crate::server::refusals::{Refused, SOURCE};
use crate::server::settings::Secret;
use crate::shared::definitions::FeedbackField;

/// An inbound call as the HTTP layer read it.
pub struct InboundSource {
    pub key: String,
    pub api_key: Option<Secret<String>>,
    pub caller: IpAddr,
    pub idempotency_key: Option<String>,
    pub body: Option<Value>,
    /// The body as it came and the headers: what a signed call's signature is checked against.
    pub raw_body: bytes::Bytes,
    pub headers: http::HeaderMap,
}

pub(crate) fn refuse(why: Refusal, message: String) -> Reply {
    Reply::refused(why, &message)
}

/// A body value as text for a field (what a form would have sent).
pub(crate) fn as_text(v: &Value) -> Option<String> {
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
        match lookup_in(body, param) {
            None => Ok(String::new()),
            Some(v) => as_text(v).ok_or_else(|| {
                refuse(
                    Refusal::InvalidField,
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
            Refusal::MissingField,
            format!("the body has no \"{title_param}\" (the ticket's title)"),
        )));
    }
    if title.chars().count() > 200 {
        return Ok(Err(refuse(
            Refusal::InvalidField,
            format!("\"{title_param}\" must be at most 200 characters"),
        )));
    }
    if let Err(m) = crate::server::domain::check_storable(&title) {
        return Ok(Err(refuse(
            Refusal::InvalidField,
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
            return Ok(Err(refuse(Refusal::InvalidField, format!("\"{p}\" {m}"))));
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
        match crate::server::engine::writes::coerce_text(field, &raw) {
            Ok(Some(v)) => {
                values.insert(field.key.clone(), v);
            }
            Ok(None) => {}
            Err(m) => {
                let name = param.unwrap_or_else(|| unmapped(field));
                let why = if raw.trim().is_empty() {
                    Refusal::MissingField
                } else {
                    Refusal::InvalidField
                };
                return Ok(Err(refuse(why, format!("\"{name}\" {m}"))));
            }
        }
    }
    let author = if s.submitter_param.is_empty() {
        None
    } else {
        match lookup_in(body, &s.submitter_param).and_then(Value::as_str) {
            Some(raw) => match Email::parse(raw) {
                Ok(email) => match crate::server::store::lookups::find_user_by_email(db, &email)
                    .await?
                {
                    Some(u) => Some(u),
                    None => {
                        return Ok(Err(refuse(
                            Refusal::InvalidSubmitter,
                            format!("\"{}\" names no member of the community", s.submitter_param),
                        )));
                    }
                },
                Err(_) => {
                    return Ok(Err(refuse(
                        Refusal::InvalidSubmitter,
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
                    Refusal::SourceNotConfigured,
                    "the source's default submitter no longer exists".into(),
                )));
            }
        },
        (None, None) => {
            return Ok(Err(refuse(
                Refusal::MissingField,
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
        match lookup_in(body, &s.status_param).and_then(Value::as_str) {
            Some(name) => match t
                .statuses
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(name.trim()))
            {
                Some(x) => Some(x.id),
                None => {
                    return Ok(Err(refuse(
                        Refusal::InvalidField,
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
        return Ok(Err(refuse(Refusal::SourceNotConfigured,
            "the source's starting team or status is no longer part of the feedback type; save the source again".into(),
        )));
    }
    let Some(status_id) = status_id
        .or(s.status_id)
        .or_else(|| t.statuses.first().map(|x| x.id))
    else {
        return Ok(Err(refuse(
            Refusal::SourceNotConfigured,
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

fn unmapped(field: &FeedbackField) -> String {
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
    // A call without an API key may still be a signed call: its source says (as at a listener).
    let presented = match keys::digest_of(call.api_key.as_ref()) {
        None => None,
        Some(_) => {
            match listeners::verified_key(state, call.api_key.as_ref(), call.caller).await? {
                Ok(id) => Some(id),
                Err(reply) => return refused(reply),
            }
        }
    };
    let found = if parse_key(&call.key).is_ok_and(|k| k == call.key.to_ascii_lowercase()) {
        external_source::Entity::find()
            .filter(external_source::Column::Key.eq(call.key.to_ascii_lowercase()))
            .one(db)
            .await?
    } else {
        None
    };
    // Listening for a test call: the call is kept, whatever key or signature it has (or not).
    if let Some(s) = found.as_ref()
        && s.listening_until.is_some_and(|until| until > Utc::now())
        && call.idempotency_key.is_none()
        && let Some(reply) = keep_test_call(state, &call, s, started).await?
    {
        return Ok(reply);
    }
    let signed = found
        .as_ref()
        .is_some_and(|s| !s.signature_scheme.is_empty());
    if presented.is_none() && !signed {
        let r = keys::KeyRejection::Missing;
        return refused(Reply::refused(r.refusal(), r.message()));
    }
    let Some(s) = found else {
        return refused(refuse(
            Refusal::SourceNotFound,
            "no external source has this key".into(),
        ));
    };
    let source_id = Some(s.id);
    // A signed source: every call carries a valid signature, and counts as a call with the
    // source's own API key unless it brought one.
    let key_id = if signed {
        let signing = super::signing::Signing::of_source(&s);
        if let Err(reply) = super::signing::check(
            state,
            &signing,
            &call.headers,
            &call.raw_body,
            "source",
            s.id,
        ) {
            return refused(reply);
        }
        match presented {
            Some(id) => id,
            None => match super::signing::key_of(state, s.api_key_id, call.caller, "source").await?
            {
                Ok(id) => id,
                Err(reply) => return refused(reply),
            },
        }
    } else {
        match presented {
            Some(id) => id,
            None => {
                let r = keys::KeyRejection::Missing;
                return refused(Reply::refused(r.refusal(), r.message()));
            }
        }
    };
    let admitted = listeners::admit_key(state, key_id, s.api_key_id, "source").and_then(|id| {
        if s.enabled {
            Ok(id)
        } else {
            Err(refuse(
                Refusal::SourceDisabled,
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
        idempotency::Fingerprint::of(&state.sealer, &message)
    };
    // Without an Idempotency-Key, a signed call is keyed by the sender's own delivery id; a
    // call that proves itself by its signature alone is keyed by it whatever Idempotency-Key
    // it brings (the header is not signed: a new one would let a recorded call run again).
    let by_signature = signed && presented.is_none();
    let delivery = match call.idempotency_key {
        Some(_) if !by_signature => None,
        _ if signed => {
            super::signing::delivery_id(&s.signature_scheme, &call.headers, call.body.as_ref())
        }
        _ => None,
    };
    let chosen = if by_signature {
        delivery.as_deref()
    } else {
        call.idempotency_key.as_deref().or(delivery.as_deref())
    };
    let idem = match idempotency::idempotency_key_of(&state.sealer, chosen) {
        Ok(idem) => idem,
        // A sender's id we cannot use as a key: the call goes on without one.
        Err(_) if delivery.is_some() => None,
        Err(reply) => {
            log(db, &call, source_id, &reply, Some(key_id), started).await?;
            return Ok(reply);
        }
    };
    if let Some(idem) = &idem {
        // Claimed before anything is read, so concurrent calls with the key create one
        // ticket (`idempotency::claim`).
        let token =
            match idempotency::claim(db, key_id, idem, &fingerprint, std::time::Duration::ZERO)
                .await?
            {
                idempotency::Claim::Owned(token) => token,
                idempotency::Claim::Answer(first) => {
                    let code = if first.status < 300 { "replayed" } else { "" };
                    log_alone(db, &call, source_id, &first, code, Some(key_id), started).await?;
                    return Ok(first);
                }
            };
        let held = idempotency::Held {
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
            && let Err(e) = idempotency::release(db, key_id, held).await
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

/// While a manager listens for a test call on source `s`, the first call to come is kept for
/// them (as at a listener: `listeners::keep_test_call`) and answered 200; no ticket is made.
/// None when another call took it first.
async fn keep_test_call(
    state: &Runtime,
    call: &InboundSource,
    s: &external_source::Model,
    started: Instant,
) -> Result<Option<Reply>, AppError> {
    let (txn, gate) = crate::server::db::begin_write(&state.db).await?;
    let taken = listeners::take_listening::<external_source::Entity>(
        &txn,
        external_source::Column::Id,
        external_source::Column::ListeningUntil,
        s.id,
    )
    .await?;
    if !taken {
        txn.rollback().await?;
        return Ok(None);
    }
    let reply = Reply::done(json!({
        "status": listeners::TEST_CALL,
        "message": "kept as a test call on the source's page; no ticket was created",
    }));
    log_as(&txn, call, Some(s.id), &reply, "", None, started).await?;
    txn.commit().await?;
    drop(gate);
    Ok(Some(reply))
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
    idem: Option<idempotency::Held<'_>>,
    fingerprint: &idempotency::Fingerprint,
    started: Instant,
) -> Result<Reply, AppError> {
    let Some(body) = call.body.as_ref().and_then(Value::as_object) else {
        let reply = refuse(
            Refusal::InvalidBody,
            "the body must be a JSON object".into(),
        );
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
        role: None,
    };
    let ticket_id = crate::server::engine::writes::insert_ticket(&txn, &actor, new).await?;
    let reply = Reply {
        status: Reply::CREATED,
        body: json!({ "status": "created", "ticket_id": ticket_id.to_string() }),
        retry_after: None,
    };
    if let Some(idem) = idem
        && !idempotency::remember_answer(&txn, key_id, idem, fingerprint, &reply).await?
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
pub(crate) async fn log(
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
    // A call that created its ticket keeps what it brought (as a listener call does).
    let kept = (reply.status == Reply::CREATED && code != "replayed")
        || reply.code() == listeners::TEST_CALL;
    let (request_headers, request_body, request_bytes) = if kept {
        listeners::kept_request(&call.headers, &call.raw_body, call.body.as_ref())
    } else {
        (String::new(), String::new(), 0)
    };
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
        request_headers: Set(request_headers),
        request_body: Set(request_body),
        request_bytes: Set(request_bytes),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
