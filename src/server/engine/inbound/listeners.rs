//! The inbound contract of the user and feedback listeners (docs/listener-api.md):
//! `…MacroListeners` (run a macro: queued durably, 200 or 202), `…CommentListeners` (add a
//! comment) and `…DataListeners` (store external data), the last two done within the request.
//! A user is found by email; a ticket by its id, or by the value of the external-data field
//! the listener names. The axum routes only read the HTTP request and write the reply; the
//! listener settings and the dry run of the listener page are `admin::listeners`.

use super::idempotency::{
    Claim, Fingerprint, Held, PROVISIONAL, claim, idempotency_key_of, release, remember_answer,
    remember_answer_as, replay, request_fingerprint, reused, stored_reply,
};
use super::{Refusal, Reply};
use crate::server::domain::body_path::lookup_in;
use crate::server::domain::place::Place;
use crate::server::domain::printable;
use crate::server::engine::external_values;
use crate::server::engine::matching;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use crate::errors::AppError;
use crate::server::cache::Lookups;
use crate::server::domain::Actor;
use crate::server::domain::Email;
use crate::server::engine::external_values::Subject;
use crate::server::engine::keys;
use crate::server::engine::matching::{Placed, SCOPE_FEEDBACK};
use crate::server::engine::runs;
use crate::server::engine::runtime::Runtime;
use crate::server::entities::{
    data_field, data_group, data_value, idempotency_key, listener, listener_call, macro_run,
    ticket, user,
};
use crate::server::finder::Finder;
use crate::server::ingest::{Accept, Outcome, Written};
use crate::server::refusals::Refused;
use crate::server::settings::Secret;
use crate::server::worker::{self, MacroRunJob};
use crate::shared::vocab::Trigger;
use crate::shared::vocab::{DataScope, ListenerKind, Scope};

/// An inbound call as the HTTP layer read it.
pub struct InboundCall {
    /// Which listener URL was called: user or feedback, and macro, comment or data.
    pub scope: &'static str,
    pub kind: ListenerKind,
    pub key: String,
    pub api_key: Option<Secret<String>>,
    pub caller: IpAddr,
    pub find: Option<String>,
    /// The `Idempotency-Key` header, when there was one.
    pub idempotency_key: Option<String>,
    /// The JSON body, when there was one (already checked to be JSON), or a form-encoded
    /// body read as an object of texts (`form`).
    pub body: Option<serde_json::Value>,
    /// The body came form-encoded: only a listener that takes such bodies reads it.
    pub form: bool,
    /// The body as it came, byte for byte, and the headers: what a signed call's signature
    /// is checked against (`inbound_signature`).
    pub raw_body: bytes::Bytes,
    pub headers: http::HeaderMap,
}

/// What the call log will say about a call, filled in as the call is answered.
pub(crate) struct Logged {
    pub(crate) listener_id: Option<i32>,
    pub(crate) target: String,
    pub(crate) target_user_id: Option<i32>,
    pub(crate) run_id: Option<i64>,
    /// The log row written with the queued run (accepted calls), updated at the end.
    pub(crate) call_id: Option<i64>,
    /// The accepted row needs no update: the answer is the 202 it was written with.
    pub(crate) final_row_written: bool,
    /// The key that passed the check: its use is counted with the log row.
    pub(crate) api_key_id: Option<i32>,
    /// The answer was replayed for a repeated `Idempotency-Key`.
    pub(crate) replay: bool,
    /// The row may keep the call's headers and body (a successful call about someone still
    /// there): false once the target turned out erased meanwhile.
    pub(crate) keep_request: bool,
    pub(crate) started: Instant,
}

/// `POST /api/v1/{user,feedback}{Macro,Comment,Data}Listeners/{key}`: finds the user by email
/// (or the ticket by id or external-data value) and does what the listener does. Every call is
/// logged, whatever its outcome.
#[tracing::instrument(skip_all, fields(scope = call.scope, kind = %call.kind, listener = %call.key, caller = %call.caller))]
pub async fn call_listener(state: &Runtime, call: InboundCall) -> Result<Reply, AppError> {
    // Until `find` resolves to a member, only a masked form is kept: the address of someone
    // we do not know (or no longer know) is not ours to store.
    let mut logged = Logged::new(mask(call.find.as_deref().unwrap_or_default()));
    let reply = answer(state, &call, &mut logged).await?;
    // Only calls whose key (or signature) checked out count: nobody without one can make a
    // listener look as if it refused its calls.
    if let (Some(id), Some(_)) = (logged.listener_id, logged.api_key_id) {
        state.call_rates.note(id, reply.is_success());
    }
    if logged.final_row_written {
        return Ok(reply);
    }
    if logged.api_key_id.is_none() {
        // Refused before its key was accepted: counted, not written one by one.
        state.refusals.count(Refused {
            scope: call.scope,
            kind: call.kind.as_str(),
            key: &call.key,
            caller: call.caller,
            status: reply.status,
            code: &reply.code(),
        });
        return Ok(reply);
    }
    let duration_ms = logged.duration_ms();
    if let Some(id) = logged.call_id {
        // The row was written with the run (the target may have been erased since); the run
        // is queued, so a failure to update the row must not turn the answer into an error.
        if let Err(e) = update_call(&state.db, id, &reply, duration_ms).await {
            tracing::warn!(call = id, error = %e, "cannot update the listener-log row");
        }
        return Ok(reply);
    }
    let (txn, _gate) = crate::server::db::begin_write(&state.db).await?;
    if let Some(user_id) = logged.target_user_id {
        // Erased since it was looked up (a removal committed in between): the row keeps
        // only the masked form of what the call named.
        if !runs::still_there(&txn, runs::RunTarget::User(user_id)).await? {
            logged.target = mask(call.find.as_deref().unwrap_or_default());
            logged.target_user_id = None;
            logged.keep_request = false;
        }
    }
    if let Some(key_id) = logged.api_key_id {
        keys::record_use(&txn, key_id).await?;
    }
    insert_call(&txn, &call, &reply, &logged, duration_ms).await?;
    txn.commit().await?;
    Ok(reply)
}

/// What a call that queued a run finally answered, on its log row.
async fn update_call(
    db: &DatabaseConnection,
    id: i64,
    reply: &Reply,
    duration_ms: i32,
) -> Result<(), AppError> {
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    listener_call::Entity::update_many()
        .col_expr(
            listener_call::Column::Status,
            Expr::value(reply.status as i16),
        )
        .col_expr(listener_call::Column::Code, Expr::value(reply.code()))
        .col_expr(listener_call::Column::DurationMs, Expr::value(duration_ms))
        .filter(listener_call::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

async fn find_by_key(
    db: &impl ConnectionTrait,
    scope: &str,
    kind: ListenerKind,
    key: &str,
) -> Result<Option<listener::Model>, AppError> {
    // Keys are 1 to 60 letters, digits, - or _: anything else names no listener.
    if key.is_empty()
        || key.len() > 60
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(None);
    }
    Ok(listener::Entity::find()
        .filter(listener::Column::Scope.eq(scope))
        .filter(listener::Column::Kind.eq(kind))
        .filter(listener::Column::Key.eq(key.to_ascii_lowercase()))
        .one(db)
        .await?)
}

/// Appends one row to the listener log.
async fn insert_call(
    db: &impl ConnectionTrait,
    call: &InboundCall,
    reply: &Reply,
    logged: &Logged,
    duration_ms: i32,
) -> Result<i64, AppError> {
    Ok(call_row(call, reply, logged, duration_ms)
        .insert(db)
        .await?
        .id)
}

/// The log code (and answer status) of a call kept as a test call (*Listen for a test call*).
pub const TEST_CALL: &str = "test_call";

/// While a manager listens for a test call on `l`, the first call to come is kept for them to
/// look at (headers masked, body capped, whatever its key or signature: finding out what the
/// sender brings is the point) and answered 200; nothing runs. None when this call is not it
/// (another took it first, on this node or another).
async fn keep_test_call(
    state: &Runtime,
    call: &InboundCall,
    l: &listener::Model,
    logged: &mut Logged,
) -> Result<Option<Reply>, AppError> {
    let (txn, gate) = crate::server::db::begin_write(&state.db).await?;
    let taken = take_listening::<listener::Entity>(
        &txn,
        listener::Column::Id,
        listener::Column::ListeningUntil,
        l.id,
    )
    .await?;
    if !taken {
        txn.rollback().await?;
        return Ok(None);
    }
    let reply = Reply::done(json!({
        "status": TEST_CALL,
        "message": "kept as a test call on the listener's page; nothing ran",
    }));
    insert_call(&txn, call, &reply, logged, logged.duration_ms()).await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    logged.final_row_written = true;
    Ok(Some(reply))
}

/// Ends a listener's or source's listening window (`until`) for the call that finds it open:
/// true for exactly one call however many arrive at once, on any node.
pub(crate) async fn take_listening<E: EntityTrait>(
    txn: &impl ConnectionTrait,
    id_column: E::Column,
    until: E::Column,
    id: i32,
) -> Result<bool, AppError> {
    Ok(E::update_many()
        .col_expr(until, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .filter(id_column.eq(id))
        .filter(until.gt(Utc::now()))
        .exec(txn)
        .await?
        .rows_affected
        == 1)
}

/// How much of a call's body the listener log keeps.
pub const KEPT_BODY: usize = 64 * 1024;

/// What the log keeps of the request: its headers (secret values masked, as JSON pairs), its
/// body as text (at most `KEPT_BODY` bytes, cut at a character boundary) and the body's whole
/// size.
pub(crate) fn kept_request(
    headers: &http::HeaderMap,
    raw_body: &[u8],
    parsed: Option<&serde_json::Value>,
) -> (String, String, i32) {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                printable(&String::from_utf8_lossy(v.as_bytes()), 2000),
            )
        })
        .collect();
    let headers = crate::server::engine::outbox::mask_headers(&headers);
    let raw = &raw_body[..raw_body.len().min(KEPT_BODY)];
    let mut body = String::from_utf8_lossy(raw).into_owned();
    if raw_body.len() > KEPT_BODY {
        // A character cut in two at the cap is dropped, not shown as a replacement mark.
        while body.ends_with('\u{FFFD}') {
            body.pop();
        }
    }
    // NUL cannot be stored in a PostgreSQL text.
    let body = mask_body(&body.replace('\0', ""), is_form(&headers), parsed);
    (
        serde_json::to_string(&headers).unwrap_or_default(),
        body,
        raw_body.len().min(i32::MAX as usize) as i32,
    )
}

fn is_form(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-type")
            && v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
    })
}

/// A body key whose value is a secret (`client_secret`, `token`, `apiKey`, `password`, a
/// Slack `response_url` …): masked in what the log keeps. Jira's `key` is no secret.
pub(crate) fn is_secret_key(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    [
        "secret",
        "password",
        "passwd",
        "token",
        "apikey",
        "credential",
        "signature",
        "authorization",
        "cookie",
        "responseurl",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// The body as the log keeps it: the values of secret keys (`is_secret_key`) masked, in a JSON
/// body at any depth or in a form body; anything else as it came. `parsed` is the body as the
/// call already read it (JSON, or a form as an object of texts): it is not read again, and
/// only a body that holds a secret key is written out anew.
pub(crate) fn mask_body(body: &str, form: bool, parsed: Option<&serde_json::Value>) -> String {
    use crate::shared::definitions::MASK;
    use serde_json::Value;
    fn holds_secret(v: &Value) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, child)| (is_secret_key(k) && !child.is_null()) || holds_secret(child)),
            Value::Array(a) => a.iter().any(holds_secret),
            _ => false,
        }
    }
    fn mask(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if is_secret_key(k) && !child.is_null() {
                        *child = Value::String(MASK.to_string());
                    } else {
                        mask(child);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let Some(parsed) = parsed.filter(|v| holds_secret(v)) else {
        return body.to_string();
    };
    if form {
        let pairs = url::form_urlencoded::parse(body.as_bytes()).map(|(k, v)| {
            let v = if is_secret_key(&k) { MASK.into() } else { v };
            (k, v)
        });
        return url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
    }
    let mut v = parsed.clone();
    mask(&mut v);
    v.to_string()
}

/// The listener-log row of a call. A successful call about someone still there keeps what it
/// brought (headers masked, body capped); a refused one keeps none of it, since it may name
/// someone the community does not know.
fn call_row(
    call: &InboundCall,
    reply: &Reply,
    logged: &Logged,
    duration_ms: i32,
) -> listener_call::ActiveModel {
    let (request_headers, request_body, request_bytes) =
        if reply.is_success() && logged.keep_request && !logged.replay {
            kept_request(&call.headers, &call.raw_body, call.body.as_ref())
        } else {
            (String::new(), String::new(), 0)
        };
    listener_call::ActiveModel {
        received_at: Set(Utc::now()),
        listener_id: Set(logged.listener_id),
        listener_key: Set(printable(&call.key, 100)),
        caller_ip: Set(call.caller.to_string()),
        target: Set(printable(&logged.target, 254)),
        target_user_id: Set(logged.target_user_id),
        status: Set(reply.status as i16),
        code: Set(if logged.replay {
            "replayed".to_string()
        } else {
            reply.code()
        }),
        run_id: Set(logged.run_id),
        duration_ms: Set(duration_ms),
        request_headers: Set(request_headers),
        request_body: Set(request_body),
        request_bytes: Set(request_bytes),
        ..Default::default()
    }
}

/// Writes an accepted call that carries an `Idempotency-Key` (claimed by this call, see
/// `claim`), with its answer, in a transaction of its own. `Gone` when the target was deleted
/// after it was looked up (nothing is written).
async fn accept_once(
    db: &DatabaseConnection,
    accept: Accept,
    idem: Held<'_>,
    fingerprint: &Fingerprint,
    wait: Duration,
) -> Result<Result<Outcome, Reply>, AppError> {
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let target = match (&accept.run.target_user_id, &accept.run.target_ticket_id) {
        (_, sea_orm::ActiveValue::Set(Some(id))) => Some(runs::RunTarget::Ticket(*id)),
        (sea_orm::ActiveValue::Set(Some(id)), _) => Some(runs::RunTarget::User(*id)),
        _ => None,
    };
    if let Some(target) = target
        && !runs::still_there(&txn, target).await?
    {
        txn.rollback().await?;
        return Ok(Ok(Outcome::Gone));
    }
    let run_id = accept.run.insert(&txn).await?.id;
    let mut job = accept.job;
    job.run_id = run_id;
    let job_id = worker::enqueue(&txn, crate::shared::vocab::JobKind::MacroRun, &job).await?;
    let mut row = accept.call;
    row.run_id = Set(Some(run_id));
    let call_id = row.insert(&txn).await?.id;
    keys::record_use(&txn, accept.api_key_id).await?;
    let accepted = Reply::accepted(run_id);
    // While the call waits for its run, the 202 is provisional (`PROVISIONAL`).
    let stored = if wait.is_zero() {
        Reply::ACCEPTED as i16
    } else {
        PROVISIONAL
    };
    if !remember_answer_as(
        &txn,
        accept.api_key_id,
        idem,
        fingerprint,
        &accepted,
        stored,
    )
    .await?
    {
        txn.rollback().await?;
        drop(gate);
        return match replay(db, accept.api_key_id, idem.key, fingerprint, wait).await? {
            Some(reply) => Ok(Err(reply)),
            None => Err(AppError::internal("idempotency record vanished")),
        };
    }
    txn.commit().await?;
    Ok(Ok(Outcome::Written(Written {
        run_id,
        job_id,
        call_id,
    })))
}

/// The answer to a call whose target was deleted after it was looked up (a removal ran in
/// between): the same 404 as if it had come a moment later. The log keeps only a masked form
/// of what the call named.
pub(crate) fn gone(call: &InboundCall, target: runs::RunTarget, logged: &mut Logged) -> Reply {
    logged.target_user_id = None;
    logged.keep_request = false;
    match target {
        runs::RunTarget::User(_) => {
            logged.target = mask(call.find.as_deref().unwrap_or_default());
            Reply::refused(Refusal::TargetNotFound, "no user has this email")
        }
        runs::RunTarget::Ticket(id) => {
            logged.target = format!("ticket #{id}");
            Reply::refused(Refusal::TargetNotFound, "no ticket matches find")
        }
    }
}

/// What a call acts on.
pub(crate) enum Target {
    User(user::Model),
    Ticket(ticket::Model),
}

/// Where a listener call stands once the listener, key and target have been checked.
pub(crate) enum Resolved {
    /// Answer this now (a refusal).
    Refused(Reply),
    /// Run `macro_` on `target`.
    Run {
        listener: listener::Model,
        macro_: Arc<crate::server::domain::macros::Macro>,
        target: Target,
    },
    /// Add a comment to or store data on `target` (Add Comment and External Data listeners).
    Act {
        listener: listener::Model,
        target: Target,
    },
}

/// The ticket a feedback listener's `find` names: its id, or the value of the listener's
/// external-data field (the newest ticket holding it), inside the listener's filter.
pub(crate) async fn find_ticket(
    db: &impl ConnectionTrait,
    lookups: &Lookups,
    l: &listener::Model,
    find: &str,
    logged: &mut Logged,
) -> Result<Result<ticket::Model, Reply>, AppError> {
    let refuse = |why, message: &str| Ok(Err(Reply::refused(why, message)));
    let found = match l.find_field_id {
        None => {
            let Ok(id) = find.trim_start_matches('#').parse::<i32>() else {
                return refuse(
                    Refusal::InvalidFind,
                    "find must be the ticket's id (a number)",
                );
            };
            ticket::Entity::find_by_id(id).one(db).await?
        }
        Some(field_id) => {
            let Some(field) = data_field::Entity::find_by_id(field_id).one(db).await? else {
                return refuse(
                    Refusal::ListenerNotConfigured,
                    "the external-data field this listener finds tickets by was deleted",
                );
            };
            let holds = match field.kind.as_str() {
                "integer" => match find.parse::<i64>() {
                    Ok(n) => data_value::Column::ValueInteger.eq(n),
                    Err(_) => {
                        return refuse(
                            Refusal::InvalidFind,
                            &format!("find must be a whole number ({})", field.label),
                        );
                    }
                },
                _ => data_value::Column::ValueString.eq(find),
            };
            let ticket_id: Option<Option<i32>> = data_value::Entity::find()
                .select_only()
                .column(data_value::Column::TicketId)
                .filter(data_value::Column::FieldId.eq(field_id))
                .filter(data_value::Column::TicketId.is_not_null())
                .filter(holds)
                .order_by_desc(data_value::Column::TicketId)
                .into_tuple()
                .one(db)
                .await?;
            match ticket_id.flatten() {
                Some(id) => ticket::Entity::find_by_id(id).one(db).await?,
                None => None,
            }
        }
    };
    let Some(t) = found else {
        return refuse(Refusal::TargetNotFound, "no ticket matches find");
    };
    logged.target = format!("ticket #{}", t.id);
    // A listener placed on a project or feedback type finds only its tickets: one elsewhere
    // answers as one outside the filter.
    if !Place::new(l.place_project_id, l.place_type_id).holds(t.project_id, t.feedback_type_id) {
        return refuse(
            Refusal::TargetNotInFilter,
            "the ticket is outside this listener's project or feedback type",
        );
    }
    if let Some(filter_id) = l.filter_id {
        let def = lookups
            .filters
            .get_or_load(filter_id, || matching::definition(db, filter_id))
            .await?;
        if !matching::ticket_passes(db, &def, t.id).await? {
            return refuse(
                Refusal::TargetNotInFilter,
                "the ticket is outside this listener's filter",
            );
        }
    }
    Ok(Ok(t))
}

/// The checks every listener call goes through, in the order of `docs/listener-api.md`
/// ("Order of checks"), apart from the API key (checked by the caller): listener enabled,
/// `find` well formed, the user found, inside the filter, removable. Shared by real calls and
/// the admin screen's test request.
pub(crate) async fn resolve(
    db: &impl ConnectionTrait,
    lookups: &Lookups,
    finder: Option<&Finder>,
    l: &listener::Model,
    find: Option<&str>,
    logged: &mut Logged,
) -> Result<Resolved, AppError> {
    let refuse = |why, message| Ok(Resolved::Refused(Reply::refused(why, message)));
    if !l.enabled {
        return refuse(Refusal::ListenerDisabled, "this listener is disabled");
    }
    let find = find.map(str::trim).unwrap_or("");
    if find.is_empty() {
        let what = if l.scope == SCOPE_FEEDBACK {
            "the ticket's id, or the value the listener finds tickets by"
        } else {
            "the user's email"
        };
        let message = if l.find_path.is_empty() {
            format!("the find query parameter ({what}) is required")
        } else {
            format!(
                "the find query parameter or the body's \"{}\" ({what}, as text) is required",
                l.find_path
            )
        };
        return Ok(Resolved::Refused(Reply::refused(
            Refusal::MissingFind,
            &message,
        )));
    }
    if l.scope == SCOPE_FEEDBACK {
        let t = match find_ticket(db, lookups, l, find, logged).await? {
            Ok(t) => t,
            Err(reply) => return Ok(Resolved::Refused(reply)),
        };
        return with_target(db, lookups, l, Target::Ticket(t)).await;
    }
    let Ok(email) = Email::parse(find) else {
        return refuse(Refusal::InvalidFind, "find must be an email address");
    };
    let filter = match l.filter_id {
        Some(filter_id) => Some(
            lookups
                .filters
                .get_or_load(filter_id, || matching::definition(db, filter_id))
                .await?,
        ),
        None => None,
    };
    // Calls under load share their look-up with the others waiting (`finder`); the test
    // request asks alone. Either way one query when the user is inside the filter.
    let placed = match finder {
        Some(finder) => finder.find(email.as_str(), filter).await?,
        None => matching::users_by_email(db, &[email.as_str().to_string()], filter.as_deref())
            .await?
            .remove(email.as_str()),
    };
    let target = match placed {
        Some(Placed::Inside(target)) => target,
        None => return refuse(Refusal::TargetNotFound, "no user has this email"),
        Some(Placed::Outside(outside)) => {
            logged.target_user_id = Some(outside.id);
            logged.target = outside.email;
            return refuse(
                Refusal::TargetNotInFilter,
                "the user is outside this listener's filter",
            );
        }
    };
    logged.target_user_id = Some(target.id);
    logged.target = target.email.clone();
    with_target(db, lookups, l, Target::User(target)).await
}

/// The last checks, once the target is found: the listener's macro, and (users) whether the
/// target may be removed.
async fn with_target(
    db: &impl ConnectionTrait,
    lookups: &Lookups,
    l: &listener::Model,
    target: Target,
) -> Result<Resolved, AppError> {
    let refuse = |why, message| Ok(Resolved::Refused(Reply::refused(why, message)));
    match l.kind {
        ListenerKind::Comment | ListenerKind::Data => {
            return Ok(Resolved::Act {
                listener: l.clone(),
                target,
            });
        }
        ListenerKind::Macro => {}
    }
    let Some(macro_id) = l.macro_id else {
        return refuse(
            Refusal::ListenerNotConfigured,
            "this listener has no macro to run",
        );
    };
    let macro_ = lookups
        .macros
        .get_or_load(macro_id, || {
            crate::server::store::lookups::find_macro(db, macro_id)
        })
        .await?;
    if macro_.scope != l.scope {
        return refuse(
            Refusal::ListenerNotConfigured,
            "this listener's macro acts on something else than its listener",
        );
    }
    if let Target::User(u) = &target
        && let Err(AppError::Forbidden(message)) = runs::check_removable(&macro_, u)
    {
        return refuse(Refusal::TargetProtected, &message);
    }
    Ok(Resolved::Run {
        listener: l.clone(),
        macro_,
        target,
    })
}

/// The API key a call presented, checked on its own (known, enabled, the caller inside its
/// allow-list): its id, or the refusal. Checked before the listener or source is looked up, so
/// a caller without a valid key learns nothing about which keys exist. Only keys that exist
/// are kept in the cache.
pub(crate) async fn verified_key(
    state: &Runtime,
    presented: Option<&Secret<String>>,
    caller: IpAddr,
) -> Result<Result<i32, Reply>, AppError> {
    let Some(digest) = keys::digest_of(presented) else {
        let r = keys::KeyRejection::Missing;
        return Ok(Err(Reply::refused(r.refusal(), r.message())));
    };
    let found = state
        .lookups
        .api_keys
        .get_or_load_if(
            digest,
            || keys::find_by_digest(&state.db, &digest),
            Option::is_some,
        )
        .await?;
    Ok(match keys::verify((*found).as_ref(), &digest, caller) {
        Ok(k) => Ok(k.id),
        Err(r) => Err(Reply::refused(r.refusal(), r.message())),
    })
}

/// A verified key at a listener or source: the one it accepts, and within its rate.
pub(crate) fn admit_key(
    state: &Runtime,
    key_id: i32,
    accepted: Option<i32>,
    what: &str,
) -> Result<i32, Reply> {
    if accepted != Some(key_id) {
        return Err(Reply::refused(
            Refusal::ApiKeyNotAllowed,
            &format!("this API key is not the one this {what} accepts"),
        ));
    }
    if let Err(wait) = state.limiter.check(key_id) {
        let mut reply = Reply::refused(
            Refusal::RateLimited,
            "too many calls with this API key; try again after Retry-After seconds",
        );
        reply.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return Err(reply);
    }
    Ok(key_id)
}

/// What a stored key answers a call with `fingerprint`: 422 when the key was used for another
/// request, otherwise its stored answer (409 while it is still in flight).
pub(crate) fn answer_of(
    row: &idempotency_key::Model,
    fingerprint: &Fingerprint,
    wait: Duration,
) -> Result<Reply, AppError> {
    if !fingerprint.matches(&row.request_hash) {
        return Ok(reused());
    }
    stored_reply(row, wait)
}

pub(crate) async fn answer(
    state: &Runtime,
    call: &InboundCall,
    logged: &mut Logged,
) -> Result<Reply, AppError> {
    let db = &state.db;
    let lookups = &state.lookups;
    // A call without an API key may still be a signed call: its listener says (step 6 looks
    // the listener up first then; an unknown or unsigned one answers the same 401
    // `missing_api_key`, a signed one checks the signature).
    let presented = match keys::digest_of(call.api_key.as_ref()) {
        None => None,
        Some(_) => match verified_key(state, call.api_key.as_ref(), call.caller).await? {
            Ok(id) => Some(id),
            Err(refusal) => return Ok(refusal),
        },
    };
    let listener_key = call.key.to_ascii_lowercase();
    let found = lookups
        .listeners
        .get_or_load_if(
            format!("{}:{}:{listener_key}", call.scope, call.kind),
            || find_by_key(db, call.scope, call.kind, &listener_key),
            Option::is_some,
        )
        .await?;
    let signed = found
        .as_ref()
        .as_ref()
        .is_some_and(|l| !l.signature_scheme.is_empty());
    // Listening for a test call: the call is kept, whatever key or signature it has (or not).
    // A call with an Idempotency-Key may be a retry of one already answered: it gets its
    // answer, not a test call's.
    if let Some(l) = found.as_ref()
        && l.listening_until.is_some_and(|until| until > Utc::now())
        && call.idempotency_key.is_none()
    {
        logged.listener_id = Some(l.id);
        if let Some(reply) = keep_test_call(state, call, l, logged).await? {
            return Ok(reply);
        }
    }
    if presented.is_none() && !signed {
        let r = keys::KeyRejection::Missing;
        return Ok(Reply::refused(r.refusal(), r.message()));
    }
    let Some(l) = found.as_ref() else {
        let what = call.kind.label().to_lowercase();
        return Ok(Reply::refused(
            Refusal::ListenerNotFound,
            &format!(
                "no {} {what} listener has this key",
                if call.scope == SCOPE_FEEDBACK {
                    "feedback"
                } else {
                    "user"
                }
            ),
        ));
    };
    logged.listener_id = Some(l.id);
    // A signed listener: every call carries a valid signature, and counts as a call with the
    // listener's own API key (its switch, allow-list and rate apply) unless it brought it.
    let key_id = if signed {
        let signing = super::signing::Signing::of_listener(l);
        if let Err(refusal) = super::signing::check(
            state,
            &signing,
            &call.headers,
            &call.raw_body,
            "listener",
            l.id,
        ) {
            return Ok(refusal);
        }
        match presented {
            Some(id) => id,
            None => {
                match super::signing::key_of(state, l.api_key_id, call.caller, "listener").await? {
                    Ok(id) => id,
                    Err(refusal) => return Ok(refusal),
                }
            }
        }
    } else {
        match presented {
            Some(id) => id,
            None => {
                let r = keys::KeyRejection::Missing;
                return Ok(Reply::refused(r.refusal(), r.message()));
            }
        }
    };
    let key_id = match admit_key(state, key_id, l.api_key_id, "listener") {
        Ok(id) => id,
        Err(refusal) => return Ok(refusal),
    };
    // From here on the call counts as a use of the key (refused ones above do not).
    logged.api_key_id = Some(key_id);
    if call.form && !l.accepts_form {
        return Ok(Reply::refused(
            Refusal::UnsupportedMediaType,
            "this listener takes JSON bodies (Content-Type: application/json); a form-encoded body needs its \"Form bodies\" setting",
        ));
    }
    // A call that only its signature lets in names its target in the body it signed: the
    // URL is signed by no scheme, so a `find` there could point a recorded call at anyone.
    let signed_only = signed && presented.is_none();
    if signed_only && call.find.as_deref().is_some_and(|f| !f.trim().is_empty()) {
        return Ok(Reply::refused(
            Refusal::InvalidFind,
            &format!(
                "a signed call names its target in its signed body (at \"{}\"), not in the URL's find",
                l.find_path
            ),
        ));
    }
    let find = find_of(call, l);
    if find.as_deref() != call.find.as_deref() {
        logged.target = mask(find.as_deref().unwrap_or_default());
    }
    // A signed call without an Idempotency-Key is keyed by the sender's own delivery id,
    // where its scheme has one: a delivery recorded and sent again gets the first answer. A
    // call that proves itself by its signature alone is keyed by that id even when it brings
    // an Idempotency-Key: the header is not signed, and a new one would let a recorded call
    // run again.
    let by_signature = signed && presented.is_none();
    let delivery = match call.idempotency_key {
        Some(_) if !by_signature => None,
        _ if signed => {
            super::signing::delivery_id(&l.signature_scheme, &call.headers, call.body.as_ref())
        }
        _ => None,
    };
    let chosen = if by_signature {
        delivery.as_deref()
    } else {
        call.idempotency_key.as_deref().or(delivery.as_deref())
    };
    let idem = match idempotency_key_of(&state.sealer, chosen) {
        Ok(idem) => idem,
        Err(refusal) if delivery.is_none() => return Ok(refusal),
        // A sender's id we cannot use as a key: the call goes on without one.
        Err(_) => None,
    };
    let fingerprint = request_fingerprint(state, call, find.as_deref());
    let Some(idem) = idem else {
        return answer_for_key(state, call, logged, l, key_id, None, &fingerprint, find).await;
    };
    // The key is claimed before the target is looked up, so concurrent calls with it (a
    // sender's retry storm) cannot each find the target and run: one owns it, the others get
    // its answer, or 409 while it is still being worked out.
    let wait = state.settings.listener_sync_budget;
    let token = match claim(db, key_id, &idem, &fingerprint, wait).await? {
        Claim::Owned(token) => token,
        Claim::Answer(reply) => {
            logged.replayed(&reply);
            return Ok(reply);
        }
    };
    let held = Held {
        key: &idem.stored,
        token: &token,
    };
    let answered = answer_for_key(
        state,
        call,
        logged,
        l,
        key_id,
        Some(held),
        &fingerprint,
        find,
    )
    .await;
    // Only accepted and done calls keep their answer (stored with their effect); after a
    // refusal or an error the key is free again, so a corrected retry is looked at afresh.
    if !matches!(&answered, Ok(reply) if reply.is_success())
        && let Err(e) = release(db, key_id, held).await
    {
        tracing::warn!(error = %e, "cannot free an Idempotency-Key; it frees itself later");
    }
    answered
}

/// What names the call's target: the URL's `find`, else (when the listener says where) the
/// body's value at its `find_path`, a text or a number.
fn find_of(call: &InboundCall, l: &listener::Model) -> Option<String> {
    if let Some(find) = call.find.as_deref().filter(|f| !f.trim().is_empty()) {
        return Some(find.to_string());
    }
    if l.find_path.is_empty() {
        return call.find.clone();
    }
    match crate::server::domain::body_path::lookup(call.body.as_ref()?, &l.find_path)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What a call whose listener and API key checked out gets, its `Idempotency-Key` (if any)
/// being this call's own.
#[allow(clippy::too_many_arguments)]
async fn answer_for_key(
    state: &Runtime,
    call: &InboundCall,
    logged: &mut Logged,
    l: &listener::Model,
    key_id: i32,
    idem: Option<Held<'_>>,
    fingerprint: &Fingerprint,
    find: Option<String>,
) -> Result<Reply, AppError> {
    let db = &state.db;
    let lookups = &state.lookups;
    let (l, macro_, target) =
        match resolve(db, lookups, Some(&state.finder), l, find.as_deref(), logged).await? {
            Resolved::Refused(reply) => return Ok(reply),
            Resolved::Act { listener, target } => {
                let done = act_now(
                    db,
                    call,
                    &listener,
                    key_id,
                    &target,
                    idem,
                    fingerprint,
                    logged,
                );
                return done.await;
            }
            Resolved::Run {
                listener,
                macro_,
                target,
            } => (listener, macro_, target),
        };

    // Queue the run durably, with its log row (and idempotency record), before answering.
    let mut finished = state.signals.subscribe();
    let mut row = Logged::new(logged.target.clone());
    row.listener_id = Some(l.id);
    row.target_user_id = logged.target_user_id;
    let run_target = match &target {
        Target::User(u) => runs::RunTarget::User(u.id),
        Target::Ticket(t) => runs::RunTarget::Ticket(t.id),
    };
    let (user_id, ticket_id) = match run_target {
        runs::RunTarget::User(id) => (id, None),
        runs::RunTarget::Ticket(id) => (0, Some(id)),
    };
    let job = MacroRunJob {
        run_id: 0,
        macro_id: macro_.id,
        user_id,
        ticket_id,
        trigger: Trigger::Listener,
        actor: format!("listener {}", l.key),
        actor_user_id: None,
        actor_ip: call.caller.to_string(),
        listener: Some(l.name.clone()),
    };
    let accept = Accept {
        run: runs::new_queued_run(macro_.id, run_target, Trigger::Listener, None),
        job,
        call: call_row(call, &Reply::accepted(0), &row, logged.duration_ms()),
        api_key_id: key_id,
    };
    let accepting = state.signals.accepting();
    let outcome = match idem {
        // Calls without a key share their commit with whatever else is being accepted.
        None => state.ingest.submit(accept).await?,
        Some(idem) => match accept_once(
            db,
            accept,
            idem,
            fingerprint,
            state.settings.listener_sync_budget,
        )
        .await?
        {
            Ok(outcome) => outcome,
            Err(replayed) => {
                logged.replayed(&replayed);
                return Ok(replayed);
            }
        },
    };
    let written = match outcome {
        Outcome::Written(written) => written,
        Outcome::Gone => return Ok(gone(call, run_target, logged)),
    };
    drop(accepting);
    let (run_id, job_id) = (written.run_id, written.job_id);
    logged.run_id = Some(run_id);
    logged.call_id = Some(written.call_id);
    let accepted = Reply::accepted(run_id);
    state.signals.work_arrived();

    // Wait for the run within the budget: done in time answers 200, otherwise 202.
    let budget = state.settings.listener_sync_budget;
    if budget.is_zero() {
        logged.final_row_written = true;
        return Ok(accepted);
    }
    // From here on the run is queued: nothing that fails may turn the answer into an error
    // (a caller would send it again). At worst it stays a 202.
    worker::wait_for(&mut finished, job_id, budget).await;
    let reply = finished_answer(db, run_id).await.unwrap_or(accepted);
    // The key's provisional 202 becomes this call's answer, for every repeat from now on.
    if let Some(idem) = idem {
        let stored = idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::Status,
                Expr::value(reply.status as i16),
            )
            .col_expr(
                idempotency_key::Column::Body,
                Expr::value(reply.body.to_string()),
            )
            .filter(idempotency_key::Column::ApiKeyId.eq(key_id))
            .filter(idempotency_key::Column::IdemKey.eq(idem.key))
            .filter(idempotency_key::Column::ClaimToken.eq(idem.token))
            .filter(idempotency_key::Column::Status.eq(PROVISIONAL))
            .exec(db)
            .await;
        if let Err(e) = stored {
            // Repeats get the stored 202 with the same run once the wait is over.
            tracing::warn!(run = run_id, error = %e, "cannot store the answer for the Idempotency-Key");
        }
    }
    Ok(reply)
}

/// The 200 of a run that has finished (with the receipt of a removal), or None while it has
/// not (or cannot be read: the caller keeps its 202).
async fn finished_answer(db: &DatabaseConnection, run_id: i64) -> Option<Reply> {
    let reply = match macro_run::Entity::find_by_id(run_id).one(db).await {
        Ok(Some(r)) if r.finished_at.is_some() => {
            let mut reply = Reply::finished(r.status, run_id);
            // A removal answers with its receipt (what was erased, what was sent on).
            match crate::server::engine::erasure::receipt_of_run(db, run_id).await {
                Ok(Some(receipt)) => reply.body["receipt"] = receipt_json(&receipt),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(run = run_id, error = %e, "cannot read the removal's receipt");
                }
            }
            reply
        }
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!(run = run_id, error = %e, "cannot read the queued run; answering 202");
            return None;
        }
    };
    Some(reply)
}

/// A removal's receipt as the API gives it: no personal data, counts per kind, and each
/// downstream notification's state when the answer was made.
fn receipt_json(r: &crate::server::engine::erasure::Receipt) -> serde_json::Value {
    json!({
        "id": r.row.id.to_string(),
        "occurred_at": crate::server::domain::format_time(&r.row.occurred_at),
        "subject": r.row.subject_label,
        "counts": r.counts().iter().map(|(kind, n)| json!({ "kind": kind, "count": n })).collect::<Vec<_>>(),
        "downstream": r.downstream.iter().map(|d| json!({
            "delivery_id": d.delivery_id.to_string(),
            "webhook": d.webhook,
            "kind": d.kind.to_string(),
            "status": d.status,
        })).collect::<Vec<_>>(),
    })
}

/// What an Add Comment or External Data call will write, once its body checked out.
pub(crate) enum Effect {
    /// A comment; on a user, `project` is the project it is about (None: community-level).
    Comment {
        author: user::Model,
        text: String,
        project: Option<i32>,
    },
    /// Values of the listener's group. `project`: a project group on a user listener, the
    /// project they are stored on (a feedback listener stores them on the ticket's project).
    Data {
        values: Vec<(data_field::Model, external_values::Typed)>,
        project_group: bool,
        project: Option<i32>,
    },
}

/// The project a user listener's call is about: the one the body's `project_param` names (by
/// its key or id), else the listener's own `target_project_id`. `Ok(None)`: neither (a
/// community-level comment). A value naming no project is a 400 naming the key.
pub(crate) async fn project_of(
    db: &impl ConnectionTrait,
    l: &listener::Model,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Result<Option<i32>, Reply>, AppError> {
    use crate::server::entities::project;
    let param = l.project_param.as_str();
    let named = if param.is_empty() {
        None
    } else {
        lookup_in(body, param).filter(|v| !v.is_null())
    };
    let Some(value) = named else {
        return Ok(Ok(l.target_project_id));
    };
    let text = match value {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => {
            return Ok(Err(bad_body(
                Refusal::InvalidField,
                format!("\"{param}\" must name a project by its key or id"),
            )));
        }
    };
    let mut found = None;
    if let Ok(id) = text.trim_start_matches('#').parse::<i32>() {
        found = project::Entity::find_by_id(id)
            .select_only()
            .column(project::Column::Id)
            .into_tuple::<i32>()
            .one(db)
            .await?;
    }
    if found.is_none() && !text.is_empty() && text.len() <= 60 {
        found = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .filter(project::Column::Key.eq(text.to_ascii_lowercase()))
            .into_tuple::<i32>()
            .one(db)
            .await?;
    }
    match found {
        Some(id) => Ok(Ok(Some(id))),
        None => Ok(Err(bad_body(
            Refusal::InvalidField,
            format!(
                "\"{param}\" names no project: give the key or id of one (\"{}\" is neither)",
                crate::server::domain::printable(&text, 60)
            ),
        ))),
    }
}

fn bad_body(why: Refusal, message: String) -> Reply {
    Reply::refused(why, &message)
}

/// Reads the body of an Add Comment or External Data call: a 400 naming the key that is
/// missing or wrong, or what to write.
async fn effect_of(
    db: &impl ConnectionTrait,
    l: &listener::Model,
    body: Option<&serde_json::Value>,
) -> Result<Result<Effect, Reply>, AppError> {
    let Some(body) = body.and_then(|b| b.as_object()) else {
        return Ok(Err(bad_body(
            Refusal::InvalidBody,
            "the body must be a JSON object".into(),
        )));
    };
    match l.kind {
        ListenerKind::Comment => comment_effect(db, l, body).await,
        ListenerKind::Data => data_effect(db, l, body).await,
        ListenerKind::Macro => Err(AppError::internal(
            "a macro listener's call is a run, not an effect",
        )),
    }
}

/// The comment an Add Comment call adds: its author (who must exist and may comment there)
/// and its text, from the body's keys the listener names.
async fn comment_effect(
    db: &impl ConnectionTrait,
    l: &listener::Model,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Result<Effect, Reply>, AppError> {
    let (author_key, text_key) = (&l.author_field, &l.comment_field);
    let Some(author) = lookup_in(body, author_key).and_then(|v| v.as_str()) else {
        return Ok(Err(bad_body(
            Refusal::MissingField,
            format!("the body has no \"{author_key}\" with the author's email"),
        )));
    };
    let author = match Email::parse(author) {
        Ok(email) => crate::server::store::lookups::find_user_by_email(db, &email).await?,
        Err(_) => None,
    };
    // Any member may comment on feedback; comments about a user are the managers'.
    let may_comment = author.as_ref().is_some_and(|u| {
        l.scope == SCOPE_FEEDBACK
            || matches!(
                crate::shared::definitions::Role::parse(&u.role),
                Ok(crate::shared::definitions::Role::CommunityManager
                    | crate::shared::definitions::Role::ProjectManager)
            )
    });
    let Some(author) = author.filter(|_| may_comment) else {
        return Ok(Err(bad_body(
            Refusal::InvalidAuthor,
            if l.scope == SCOPE_FEEDBACK {
                format!("\"{author_key}\" must be the email of a member of the community")
            } else {
                format!(
                    "\"{author_key}\" must be the email of a community or project manager (who may comment)"
                )
            },
        )));
    };
    let text = lookup_in(body, text_key)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .trim();
    if text.is_empty() {
        return Ok(Err(bad_body(
            Refusal::MissingField,
            format!("the body has no \"{text_key}\" with the comment's text"),
        )));
    }
    if let Err(m) = crate::server::domain::check_storable(text) {
        return Ok(Err(bad_body(
            Refusal::InvalidField,
            format!("\"{text_key}\" {m}"),
        )));
    }
    if text.chars().count() > 5000 {
        return Ok(Err(bad_body(
            Refusal::InvalidField,
            format!("\"{text_key}\" must be at most 5000 characters"),
        )));
    }
    // On a user, the comment is about a project when the listener or the body names one.
    let project = if l.scope == SCOPE_FEEDBACK {
        None
    } else {
        match project_of(db, l, body).await? {
            Ok(p) => p,
            Err(refusal) => return Ok(Err(refusal)),
        }
    };
    Ok(Ok(Effect::Comment {
        author,
        text: text.to_string(),
        project,
    }))
}

/// The values an External Data call stores: each body key that is a parameter of the
/// listener's data group, coerced to its field's type.
async fn data_effect(
    db: &impl ConnectionTrait,
    l: &listener::Model,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Result<Effect, Reply>, AppError> {
    let Some(group_id) = l.data_group_id else {
        return Ok(Err(Reply::refused(
            Refusal::ListenerNotConfigured,
            "this listener has no data group",
        )));
    };
    let Some(group) = data_group::Entity::find_by_id(group_id).one(db).await? else {
        return Ok(Err(Reply::refused(
            Refusal::ListenerNotConfigured,
            "this listener's data group was deleted",
        )));
    };
    let project_group = group.scope == DataScope::Project;
    // A project group on a user listener: the project comes from the body or the listener.
    let project = if project_group && l.scope != SCOPE_FEEDBACK {
        match project_of(db, l, body).await? {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                return Ok(Err(bad_body(
                    Refusal::MissingField,
                    format!(
                        "the body has no \"{}\" naming the project the data is stored on",
                        l.project_param
                    ),
                )));
            }
            Err(refusal) => return Ok(Err(refusal)),
        }
    } else {
        None
    };
    let fields = external_values::fields_of(db, group_id).await?;
    let mut values = Vec::new();
    for f in fields.iter() {
        let Some(raw) = lookup_in(body, &f.parameter) else {
            continue;
        };
        match external_values::coerce(&f.kind, raw) {
            Ok(v) => values.push((f.clone(), v)),
            Err(m) => {
                return Ok(Err(bad_body(
                    Refusal::InvalidField,
                    format!("\"{}\" {m}", f.parameter),
                )));
            }
        }
    }
    if values.is_empty() {
        let known: Vec<&str> = fields.iter().map(|f| f.parameter.as_str()).collect();
        return Ok(Err(bad_body(
            Refusal::MissingField,
            format!(
                "the body has none of the data group's parameters ({})",
                known.join(", ")
            ),
        )));
    }
    Ok(Ok(Effect::Data {
        values,
        project_group,
        project,
    }))
}

/// Does an Add Comment or External Data call within the request: the effect, the log row,
/// the key's use and the `Idempotency-Key` answer commit together, then 200.
#[allow(clippy::too_many_arguments)]
async fn act_now(
    db: &DatabaseConnection,
    call: &InboundCall,
    l: &listener::Model,
    api_key_id: i32,
    target: &Target,
    idem: Option<Held<'_>>,
    fingerprint: &Fingerprint,
    logged: &mut Logged,
) -> Result<Reply, AppError> {
    let effect = match effect_of(db, l, call.body.as_ref()).await? {
        Ok(e) => e,
        Err(refusal) => return Ok(refusal),
    };
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let run_target = match target {
        Target::User(u) => runs::RunTarget::User(u.id),
        Target::Ticket(t) => runs::RunTarget::Ticket(t.id),
    };
    if !runs::still_there(&txn, run_target).await? {
        txn.rollback().await?;
        return Ok(gone(call, run_target, logged));
    }
    // The author too may have been removed since the look-up: the same refusal as if the call
    // had come a moment later, not a broken reference.
    if let Effect::Comment { author, .. } = &effect
        && !runs::still_there(&txn, runs::RunTarget::User(author.id)).await?
    {
        txn.rollback().await?;
        return Ok(Reply::refused(
            Refusal::InvalidAuthor,
            &format!(
                "\"{}\" must be the email of a member of the community",
                l.author_field
            ),
        ));
    }
    let reply = match (effect, target) {
        (Effect::Comment { author, text, .. }, Target::Ticket(t)) => {
            let actor = listener_actor(l, call);
            let id = crate::server::engine::writes::comment_on_ticket(
                &txn,
                t,
                Some(&author),
                &text,
                &actor,
            )
            .await?;
            crate::server::engine::automation::ticket_event(
                &txn,
                &actor,
                t.id,
                crate::server::engine::automation::TicketEvent::Modified,
            )
            .await?;
            Reply::done(json!({ "status": "completed", "comment_id": id.to_string() }))
        }
        (
            Effect::Data {
                values,
                project_group,
                ..
            },
            Target::Ticket(t),
        ) => {
            // A project group holds the ticket's project's values.
            let subject = if project_group {
                Subject::Project(t.project_id)
            } else {
                Subject::Ticket(t.id)
            };
            let mut stored = Vec::with_capacity(values.len());
            for (field, value) in values {
                external_values::store(&txn, subject, &field, value).await?;
                stored.push(field.parameter);
            }
            let actor = listener_actor(l, call);
            crate::server::engine::automation::ticket_event(
                &txn,
                &actor,
                t.id,
                crate::server::engine::automation::TicketEvent::Modified,
            )
            .await?;
            Reply::done(json!({ "status": "completed", "stored": stored }))
        }
        (
            Effect::Comment {
                author,
                text,
                project,
            },
            Target::User(target),
        ) => {
            let id = crate::server::engine::writes::comment_on_user(
                &txn,
                target.id,
                (
                    Some(author.id),
                    crate::server::engine::writes::person_label(&author),
                ),
                &text,
                project,
            )
            .await?;
            let mut answer = json!({ "status": "completed", "comment_id": id.to_string() });
            if let Some(p) = project {
                answer["project_id"] = json!(p.to_string());
            }
            Reply::done(answer)
        }
        (
            Effect::Data {
                values, project, ..
            },
            Target::User(target),
        ) => {
            // A project value written by a call about this person goes with them.
            let subject = match project {
                Some(p) => Subject::ProjectAbout {
                    project: p,
                    person: target.id,
                },
                None => Subject::User(target.id),
            };
            let mut stored = Vec::with_capacity(values.len());
            for (field, value) in values {
                external_values::store(&txn, subject, &field, value).await?;
                stored.push(field.parameter);
            }
            Reply::done(json!({ "status": "completed", "stored": stored }))
        }
    };
    if let Some(idem) = idem
        && !remember_answer(&txn, api_key_id, idem, fingerprint, &reply).await?
    {
        // The same key got there first: nothing of this call is kept.
        txn.rollback().await?;
        drop(gate);
        return match replay(db, api_key_id, idem.key, fingerprint, Duration::ZERO).await? {
            Some(first) => {
                logged.replayed(&first);
                Ok(first)
            }
            None => Err(AppError::internal("idempotency record vanished")),
        };
    }
    keys::record_use(&txn, api_key_id).await?;
    insert_call(&txn, call, &reply, logged, logged.duration_ms()).await?;
    txn.commit().await?;
    logged.final_row_written = true;
    Ok(reply)
}

/// Who a listener call acts as, in histories and the audit log.
fn listener_actor(l: &listener::Model, call: &InboundCall) -> Actor {
    Actor {
        user_id: None,
        label: format!("listener {}", l.key),
        ip: call.caller.to_string(),
        session: None,
        role: None,
    }
}

/// `jim@example.com` → `j…@example.com`; anything else is cut to its first character. The
/// part after the `@` is kept only when it is a host name (letters, digits, dots, hyphens):
/// a caller cannot store a name or a whole address there (`x@jim@example.com`).
pub(crate) fn mask(find: &str) -> String {
    let find = find.trim();
    match find.split_once('@') {
        Some((local, domain)) => {
            let host = domain.len() <= 253
                && !domain.is_empty()
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            format!(
                "{}…@{}",
                local.chars().next().unwrap_or('?'),
                if host { domain } else { "…" }
            )
        }
        None => find
            .chars()
            .next()
            .map(|c| format!("{c}…"))
            .unwrap_or_default(),
    }
}

impl Logged {
    pub(crate) fn new(target: String) -> Logged {
        Logged {
            listener_id: None,
            target,
            target_user_id: None,
            run_id: None,
            call_id: None,
            final_row_written: false,
            api_key_id: None,
            replay: false,
            keep_request: true,
            started: Instant::now(),
        }
    }

    /// The call got a stored answer again: the log says so and points at the first run.
    pub(crate) fn replayed(&mut self, reply: &Reply) {
        // A stored refusal (422 for a reused key) is logged as what it is.
        if reply.is_success() {
            self.replay = true;
            self.run_id = reply.body["run_id"].as_str().and_then(|r| r.parse().ok());
        }
        // A repeat, answered or told to wait (409), is about the first call's target: its row
        // names nobody (not even masked), so an erasure of that person has nothing to find in
        // it; the run it points at says who.
        if reply.is_success() || reply.code() == Refusal::IdempotencyKeyInFlight.code() {
            self.target.clear();
        }
    }

    pub(crate) fn duration_ms(&self) -> i32 {
        self.started.elapsed().as_millis().min(i32::MAX as u128) as i32
    }
}

/// What the listeners of one scope and kind promise their callers, in words and refusals: the
/// OpenAPI document (`http::openapi`) is written from it. The `match` in `contract` covers every
/// pair, so a new kind or scope cannot be served undocumented.
pub struct Contract {
    pub summary: &'static str,
    pub description: Option<&'static str>,
    /// What `find` holds (on users it is an email).
    pub find: &'static str,
    /// The body it reads; None: any JSON, or none (the macro kind).
    pub body: Option<&'static str>,
    /// The 409's `listener_not_configured` case, where there is one.
    pub unconfigured: Option<&'static str>,
    /// The refusals of a bad body, beyond those every listener has.
    pub body_refusals: &'static [Refusal],
    /// Whether it refuses some targets (`target_protected`: a removal of a community manager).
    pub protects_target: bool,
    /// The answers that are not refusals: status, what it means, the answer's schema name.
    pub answers: &'static [(u16, &'static str, &'static str)],
    /// What an error of ours leaves undone ("nothing was queued").
    pub on_error: &'static str,
}

/// What a run answers about queueing, said the same way on users and tickets.
const QUEUED: &str = "The run is queued durably before any answer: done within the server's \
time budget it\nanswers 200, otherwise 202 and a worker finishes it. A repeated \
`Idempotency-Key` (per API\nkey) gets the first answer again without running again.";
const TICKET_FIND: &str =
    "The ticket's id, or the value of the external-data field the listener finds tickets by";

/// A run that did not finish within the wait.
const RUN_QUEUED: (u16, &str, &str) = (
    Reply::ACCEPTED,
    "Queued durably; a worker finishes it",
    "RunAnswer",
);
/// What a bad body of a comment or data call is refused with.
const COMMENT_REFUSALS: &[Refusal] = &[
    Refusal::InvalidBody,
    Refusal::MissingField,
    Refusal::InvalidField,
    Refusal::InvalidAuthor,
];
const DATA_REFUSALS: &[Refusal] = &[
    Refusal::InvalidBody,
    Refusal::MissingField,
    Refusal::InvalidField,
];

/// What the listeners of `scope` and `kind` promise.
pub fn contract(scope: Scope, kind: ListenerKind) -> Contract {
    match (scope, kind) {
        (Scope::User, ListenerKind::Macro) => Contract {
            summary: "Runs the listener's user macro on the user whose email is `find`.",
            description: Some(QUEUED),
            find: "The email of the user to act on (a missing or malformed one answers 400)",
            body: None,
            unconfigured: Some("the listener has no macro"),
            body_refusals: &[],
            protects_target: true,
            answers: &[
                (
                    Reply::OK,
                    "Done within the request (or skipped: once per person)",
                    "RunAnswer",
                ),
                RUN_QUEUED,
            ],
            on_error: "queued",
        },
        (Scope::User, ListenerKind::Comment) => Contract {
            summary: "Adds a user comment to the user whose email is `find`: the author's email \
and the text\ncome from the JSON body, under the keys the listener names (its *author field* \
and\n*comment field*). The author must be a community or project manager. The comment is \
about the\nproject the body names under the listener's *project parameter* (its key or id; \
one that\nnames no project is a 400), else the listener's project, else community-level. Done \
within the\nrequest (200).",
            description: None,
            find: "The email of the user the comment is about",
            body: Some(
                "A JSON object holding the author's email and the comment under the listener's \
keys, e.g. {\"author_name\": \"pm@example.com\", \"comment\": \"Shipped\"}",
            ),
            unconfigured: None,
            body_refusals: COMMENT_REFUSALS,
            protects_target: false,
            answers: &[(Reply::OK, "The comment was added", "CommentAnswer")],
            on_error: "stored",
        },
        (Scope::User, ListenerKind::Data) => Contract {
            summary: "Stores external data on the user whose email is `find`: each key of the \
JSON body that is\na parameter of the listener's data group, coerced to the field's type (a \
value that cannot\nbe is a 400 naming the parameter; other keys are ignored). A project group \
stores on the\nproject the body names under the listener's *project parameter* (its key or \
id), else the\nlistener's project; none, or one that names no project, is a 400. Done within \
the request (200).",
            description: None,
            find: "The email of the user the data is about",
            body: Some(
                "A JSON object of parameters, e.g. {\"issueKey\": \"BETA-42\", \"points\": 3}",
            ),
            unconfigured: Some("the listener has no data group"),
            body_refusals: DATA_REFUSALS,
            protects_target: false,
            answers: &[(Reply::OK, "The values were stored", "DataAnswer")],
            on_error: "stored",
        },
        (Scope::Feedback, ListenerKind::Macro) => Contract {
            summary: "Runs the listener's feedback macro on the ticket `find` names: its id, or \
(when the\nlistener says so) the value of an external-data field stored on it, such as the key \
of the\nissue another system keeps for it.",
            description: Some(QUEUED),
            find: TICKET_FIND,
            body: None,
            unconfigured: Some("the listener has no macro, or its find field was deleted"),
            body_refusals: &[],
            protects_target: false,
            answers: &[
                (Reply::OK, "Done within the request", "RunAnswer"),
                RUN_QUEUED,
            ],
            on_error: "queued",
        },
        (Scope::Feedback, ListenerKind::Comment) => Contract {
            summary: "Adds a comment to the ticket `find` names (its id, or the value of the \
listener's\nexternal-data field): the author's email and the text come from the JSON body, \
under the\nkeys the listener names. The author must be a member of the community; they follow \
the\nticket from then on and its other followers are notified. Done within the request (200).",
            description: None,
            find: TICKET_FIND,
            body: Some(
                "A JSON object holding the author's email and the comment under the listener's \
keys, e.g. {\"author\": \"dev@example.com\", \"body\": \"Fixed in 2.1\"}",
            ),
            unconfigured: Some("its find field was deleted"),
            body_refusals: COMMENT_REFUSALS,
            protects_target: false,
            answers: &[(Reply::OK, "The comment was added", "CommentAnswer")],
            on_error: "stored",
        },
        (Scope::Feedback, ListenerKind::Data) => Contract {
            summary: "Stores external data on the ticket `find` names (its id, or the value of \
the listener's\nexternal-data field): each key of the JSON body that is a parameter of the \
listener's\nfeedback data group, coerced to the field's type (a value that cannot be is a 400 \
naming the\nparameter; other keys are ignored). A project group stores on the ticket's \
project. Done within\nthe request (200).",
            description: None,
            find: TICKET_FIND,
            body: Some(
                "A JSON object of parameters, e.g. {\"issueKey\": \"BETA-42\", \
\"storyPoints\": 3}",
            ),
            unconfigured: Some("the listener has no data group, or its find field was deleted"),
            body_refusals: DATA_REFUSALS,
            protects_target: false,
            answers: &[(Reply::OK, "The values were stored", "DataAnswer")],
            on_error: "stored",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::mask_body;

    #[test]
    fn logged_text_drops_control_characters() {
        assert_eq!(
            crate::server::domain::printable("a\0b\nc", 10),
            "a\u{FFFD}b\u{FFFD}c"
        );
        assert_eq!(crate::server::domain::printable("abcdef", 3), "abc");
        assert_eq!(super::mask("\0@example.com"), "\0…@example.com");
    }

    #[test]
    fn secrets_in_kept_bodies_are_masked() {
        let json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
        let body = r#"{"issue": {"key": "BETA-1"}, "data": {"object": {"client_secret": "pi_1_secret_x"}}, "apiKey": "k", "items": [{"token": "t"}]}"#;
        let kept = mask_body(body, false, Some(&json(body)));
        assert!(kept.contains("BETA-1"), "{kept}");
        for secret in ["pi_1_secret_x", "\"k\"", "\"t\""] {
            assert!(!kept.contains(secret), "{secret} in {kept}");
        }
        let raw = "text=hi&token=abc&response_url=https%3A%2F%2Fhooks";
        let parsed = crate::server::domain::body_path::form_object(raw.as_bytes());
        let form = mask_body(raw, true, Some(&parsed));
        assert!(
            form.starts_with("text=hi&token=") && !form.contains("abc") && !form.contains("hooks"),
            "{form}"
        );
        // Nothing secret: the body as it came, byte for byte.
        let plain = r#"{ "b": 1,  "a": 2 }"#;
        assert_eq!(mask_body(plain, false, Some(&json(plain))), plain);
        assert_eq!(mask_body("not json", false, None), "not json");
    }

    #[test]
    fn unmatched_targets_are_masked() {
        assert_eq!(super::mask("jim@example.com"), "j…@example.com");
        assert_eq!(super::mask("nonsense"), "n…");
        // Only a host name is kept after the `@`: nothing a caller could hide a person in.
        assert_eq!(super::mask("x@jim@example.com"), "x…@…");
        assert_eq!(super::mask("@Jim Smith"), "?…@…");
        assert_eq!(super::mask("a@b%40example.com"), "a…@…");
        assert_eq!(super::mask(""), "");
    }
}
