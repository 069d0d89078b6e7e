//! External listeners: inbound endpoints third parties call to act on a user. This module
//! holds the listener settings and the whole inbound contract of
//! `POST /api/v1/userMacroListeners/{key}` (DESIGN §2): the axum route only reads the HTTP
//! request and writes the reply.

use std::net::IpAddr;
use std::time::Instant;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::json;

use super::api_keys;
use super::macros::{self, Trigger};
use super::{Actor, audit, filters, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::{Email, parse_id};
use crate::server::entities::{api_key, filter, listener, listener_call, macro_def, user};
use crate::server::settings::{Secret, Settings};
use crate::types::{ListenerCallView, ListenerForm, ListenerFormOptions, ListenerView};

const SCOPE_USER: &str = "user";
const KIND_MACRO: &str = "macro";

pub fn endpoint(settings: &Settings, key: &str) -> String {
    format!(
        "{}/api/v1/userMacroListeners/{key}",
        settings.public_base_url.as_str().trim_end_matches('/')
    )
}

async fn names<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    name_col: E::Column,
) -> Result<Vec<(i32, String)>, AppError> {
    Ok(E::find()
        .select_only()
        .column(id_col)
        .column(name_col)
        .into_tuple()
        .all(db)
        .await?)
}

/// The names a listener refers to, loaded once per request.
struct Choices {
    filters: Vec<(i32, String)>,
    macros: Vec<(i32, String)>,
    api_keys: Vec<(i32, String)>,
}

async fn choices(db: &impl ConnectionTrait) -> Result<Choices, AppError> {
    Ok(Choices {
        filters: names::<filter::Entity>(db, filter::Column::Id, filter::Column::Name).await?,
        macros: names::<macro_def::Entity>(db, macro_def::Column::Id, macro_def::Column::Name)
            .await?,
        api_keys: names::<api_key::Entity>(db, api_key::Column::Id, api_key::Column::Name).await?,
    })
}

fn view(settings: &Settings, choices: &Choices, l: listener::Model) -> ListenerView {
    let pick = |list: &[(i32, String)], id: Option<i32>| {
        id.and_then(|id| list.iter().find(|(i, _)| *i == id).cloned())
    };
    ListenerView {
        endpoint: endpoint(settings, &l.key),
        filter: pick(&choices.filters, l.filter_id),
        macro_: pick(&choices.macros, l.macro_id),
        api_key: pick(&choices.api_keys, l.api_key_id),
        id: l.id,
        name: l.name,
        description: l.description,
        key: l.key,
        enabled: l.enabled,
    }
}

pub async fn list(
    db: &impl ConnectionTrait,
    settings: &Settings,
) -> Result<Vec<ListenerView>, AppError> {
    let choices = choices(db).await?;
    Ok(listener::Entity::find()
        .filter(listener::Column::Scope.eq(SCOPE_USER))
        .order_by_asc(listener::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|l| view(settings, &choices, l))
        .collect())
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<listener::Model, AppError> {
    listener::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("listener {id}")))
}

pub async fn form_options(
    db: &impl ConnectionTrait,
    settings: &Settings,
    id: Option<i32>,
) -> Result<ListenerFormOptions, AppError> {
    let choices = choices(db).await?;
    let listener = match id {
        Some(id) => Some(view(settings, &choices, find(db, id).await?)),
        None => None,
    };
    Ok(ListenerFormOptions {
        listener,
        filters: choices.filters,
        macros: choices.macros,
        api_keys: choices.api_keys,
    })
}

#[tracing::instrument(skip(db, actor, form), fields(actor = %actor.label))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &ListenerForm,
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
    let key = form.key.trim().to_ascii_lowercase();
    if key.is_empty()
        || key.len() > 60
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push("key", "must be 1 to 60 letters, digits, - or _");
    }
    let optional_id = |raw: &str| -> Result<Option<i32>, String> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            parse_id(raw).map(Some)
        }
    };
    let filter_id = errors
        .check("filter_id", optional_id(&form.filter_id))
        .flatten();
    let macro_id = errors.check(
        "macro_id",
        parse_id(&form.macro_id).map_err(|_| "choose the macro to run".to_string()),
    );
    let api_key_id = errors.check(
        "api_key_id",
        parse_id(&form.api_key_id)
            .map_err(|_| "choose the API key callers must present".to_string()),
    );
    if let Some(id) = filter_id {
        if filter::Entity::find_by_id(id).count(db).await? == 0 {
            errors.push("filter_id", "that filter does not exist");
        }
    }
    if let Some(id) = macro_id {
        if macro_def::Entity::find_by_id(id).count(db).await? == 0 {
            errors.push("macro_id", "that macro does not exist");
        }
    }
    if let Some(id) = api_key_id {
        if api_key::Entity::find_by_id(id).count(db).await? == 0 {
            errors.push("api_key_id", "that API key does not exist");
        }
    }
    let mut clash = listener::Entity::find()
        .filter(listener::Column::Scope.eq(SCOPE_USER))
        .filter(listener::Column::Kind.eq(KIND_MACRO))
        .filter(listener::Column::Key.eq(key.clone()));
    if let Some(l) = &existing {
        clash = clash.filter(listener::Column::Id.ne(l.id));
    }
    if !key.is_empty() && clash.count(db).await? > 0 {
        errors.push("key", "another user macro listener has this key");
    }
    errors.into_result()?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut active = match existing {
        Some(l) => l.into_active_model(),
        None => listener::ActiveModel {
            scope: Set(SCOPE_USER.into()),
            kind: Set(KIND_MACRO.into()),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.name = Set(name.to_string());
    active.description = Set(form.description.trim().to_string());
    active.key = Set(key.clone());
    active.filter_id = Set(filter_id);
    active.macro_id = Set(macro_id);
    active.api_key_id = Set(api_key_id);
    active.enabled = Set(form.enabled.is_some());
    active.updated_at = Set(now);
    let saved = active.save(&txn).await?;
    let id = match saved.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => id,
        _ => return Err(AppError::internal("saved listener has no id")),
    };
    audit::record(&txn, actor, "listener.saved", name, &key).await?;
    txn.commit().await?;
    Ok(id)
}

#[tracing::instrument(skip(db, actor), fields(actor = %actor.label))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    confirmed: bool,
) -> Result<(), AppError> {
    let id = super::confirmed_deletion(id_input, confirmed)?;
    let existing = find(db, id).await?;
    let txn = db.begin().await?;
    listener::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "listener.deleted",
        &existing.name,
        &existing.key,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// An inbound call as the HTTP layer read it.
pub struct InboundCall {
    pub key: String,
    pub api_key: Option<Secret<String>>,
    pub caller: IpAddr,
    pub find: Option<String>,
}

/// The answer to send: status and JSON body (DESIGN §2).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply {
            status,
            body: json!({ "error": { "code": code, "message": message } }),
        }
    }

    pub fn code(&self) -> String {
        self.body["error"]["code"]
            .as_str()
            .or_else(|| self.body["status"].as_str())
            .unwrap_or("")
            .to_string()
    }
}

struct Logged {
    listener: Option<listener::Model>,
    target: String,
    target_user_id: Option<i32>,
    run_id: Option<i64>,
}

/// `POST /api/v1/userMacroListeners/{key}`: finds the user by email and runs the listener's
/// macro on them. Every call is logged, whatever its outcome.
#[tracing::instrument(skip_all, fields(listener = %call.key, caller = %call.caller))]
pub async fn call_user_macro(
    db: &DatabaseConnection,
    call: InboundCall,
) -> Result<Reply, AppError> {
    let started = Instant::now();
    let mut logged = Logged {
        listener: None,
        // Until `find` resolves to a member, only a masked form is kept: the address of
        // someone we do not know (or no longer know) is not ours to store.
        target: mask(call.find.as_deref().unwrap_or_default()),
        target_user_id: None,
        run_id: None,
    };
    let reply = answer(db, &call, &mut logged).await?;
    insert_call(
        db,
        &call.key,
        call.caller,
        &reply,
        logged,
        started.elapsed().as_millis(),
    )
    .await?;
    Ok(reply)
}

async fn find_by_key(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<listener::Model>, AppError> {
    Ok(listener::Entity::find()
        .filter(listener::Column::Scope.eq(SCOPE_USER))
        .filter(listener::Column::Kind.eq(KIND_MACRO))
        .filter(listener::Column::Key.eq(key.to_ascii_lowercase()))
        .one(db)
        .await?)
}

/// Appends one row to the listener log.
async fn insert_call(
    db: &impl ConnectionTrait,
    key: &str,
    caller: IpAddr,
    reply: &Reply,
    logged: Logged,
    duration_ms: u128,
) -> Result<(), AppError> {
    listener_call::ActiveModel {
        received_at: Set(Utc::now()),
        listener_id: Set(logged.listener.as_ref().map(|l| l.id)),
        listener_key: Set(key.chars().take(100).collect()),
        caller_ip: Set(caller.to_string()),
        target: Set(logged.target),
        target_user_id: Set(logged.target_user_id),
        status: Set(reply.status as i16),
        code: Set(reply.code()),
        run_id: Set(logged.run_id),
        duration_ms: Set(duration_ms.min(i32::MAX as u128) as i32),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Logs a call the HTTP layer refused before it reached the listener (body too large or not
/// JSON).
pub async fn log_refused(
    db: &DatabaseConnection,
    key: &str,
    caller: IpAddr,
    status: u16,
    code: &str,
) -> Result<(), AppError> {
    let logged = Logged {
        listener: find_by_key(db, key).await?,
        target: String::new(),
        target_user_id: None,
        run_id: None,
    };
    insert_call(db, key, caller, &Reply::error(status, code, ""), logged, 0).await
}

async fn answer(
    db: &DatabaseConnection,
    call: &InboundCall,
    logged: &mut Logged,
) -> Result<Reply, AppError> {
    let Some(l) = find_by_key(db, &call.key).await? else {
        return Ok(Reply::error(
            404,
            "listener_not_found",
            "no user macro listener has this key",
        ));
    };
    logged.listener = Some(l.clone());
    let key = match api_keys::authenticate(db, call.api_key.as_ref(), call.caller).await? {
        Ok(k) => k,
        Err(r) => return Ok(Reply::error(r.status(), r.code(), r.message())),
    };
    if l.api_key_id != Some(key.id) {
        return Ok(Reply::error(
            403,
            "api_key_not_allowed",
            "this API key is not the one this listener accepts",
        ));
    }
    if !l.enabled {
        return Ok(Reply::error(
            403,
            "listener_disabled",
            "this listener is disabled",
        ));
    }
    let find = call.find.as_deref().map(str::trim).unwrap_or("");
    if find.is_empty() {
        return Ok(Reply::error(
            400,
            "missing_find",
            "the find query parameter (the user's email) is required",
        ));
    }
    let Ok(email) = Email::parse(find) else {
        return Ok(Reply::error(
            400,
            "invalid_find",
            "find must be an email address",
        ));
    };
    let Some(target) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
    else {
        return Ok(Reply::error(
            404,
            "target_not_found",
            "no user has this email",
        ));
    };
    logged.target_user_id = Some(target.id);
    logged.target = target.email.clone();
    if let Some(filter_id) = l.filter_id {
        if !filters::user_matches(db, filter_id, target.id).await? {
            return Ok(Reply::error(
                404,
                "target_not_in_filter",
                "the user is outside this listener's filter",
            ));
        }
    }
    let Some(macro_id) = l.macro_id else {
        return Ok(Reply::error(
            409,
            "listener_not_configured",
            "this listener has no macro to run",
        ));
    };
    let actor = Actor {
        user_id: None,
        label: format!("listener {}", l.key),
        ip: call.caller.to_string(),
    };
    match macros::execute(db, &actor, macro_id, target.id, Trigger::Listener).await {
        Ok(outcome) => {
            logged.run_id = Some(outcome.run_id);
            if let Some(label) = outcome.removed_as {
                logged.target = label;
                logged.target_user_id = None;
            }
            Ok(Reply {
                status: 200,
                body: json!({ "status": outcome.status, "run_id": outcome.run_id.to_string() }),
            })
        }
        Err(AppError::Forbidden(message)) => Ok(Reply::error(403, "target_protected", &message)),
        Err(e) => Err(e),
    }
}

/// `jim@example.com` → `j…@example.com`; anything else is cut to its first character.
fn mask(find: &str) -> String {
    let find = find.trim();
    match find.split_once('@') {
        Some((local, domain)) => format!(
            "{}…@{}",
            local.chars().next().unwrap_or('?'),
            domain.chars().take(200).collect::<String>()
        ),
        None => find
            .chars()
            .next()
            .map(|c| format!("{c}…"))
            .unwrap_or_default(),
    }
}

/// The newest calls, optionally of one listener.
pub async fn calls(
    db: &impl ConnectionTrait,
    listener_id: Option<i32>,
    limit: u64,
) -> Result<Vec<ListenerCallView>, AppError> {
    let mut q = listener_call::Entity::find()
        .order_by_desc(listener_call::Column::Id)
        .limit(limit);
    if let Some(id) = listener_id {
        q = q.filter(listener_call::Column::ListenerId.eq(id));
    }
    let rows = q.all(db).await?;
    let listeners =
        names::<listener::Entity>(db, listener::Column::Id, listener::Column::Name).await?;
    Ok(rows
        .into_iter()
        .map(|c| ListenerCallView {
            id: c.id,
            received_at: format_time(&c.received_at),
            listener: c
                .listener_id
                .and_then(|id| {
                    listeners
                        .iter()
                        .find(|(i, _)| *i == id)
                        .map(|(_, n)| n.clone())
                })
                .unwrap_or_else(|| format!("unknown key \"{}\"", c.listener_key)),
            caller_ip: c.caller_ip,
            target: c.target,
            status: c.status as u16,
            code: c.code,
            run_id: c.run_id,
            duration_ms: c.duration_ms,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn unmatched_targets_are_masked() {
        assert_eq!(super::mask("jim@example.com"), "j…@example.com");
        assert_eq!(super::mask("nonsense"), "n…");
        assert_eq!(super::mask(""), "");
    }

    #[test]
    fn endpoint_urls_use_the_public_base() {
        let mut s = crate::server::settings::Settings::for_database("sqlite::memory:");
        s.public_base_url = url::Url::parse("https://beta.example.com/").unwrap();
        assert_eq!(
            super::endpoint(&s, "deleteuser"),
            "https://beta.example.com/api/v1/userMacroListeners/deleteuser"
        );
    }
}
