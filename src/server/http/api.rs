//! The public `/api/v1` routes. Handlers read the HTTP request (key, query, headers, body)
//! and write the reply; the contract itself lives in `engine::inbound`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::server::engine::inbound::listeners::{self, InboundCall};
use crate::server::engine::inbound::sources;
use crate::server::refusals::SOURCE;
use crate::server::settings::Secret;
use crate::server::state::AppState;
use crate::shared::vocab::{ListenerKind, Scope};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The listener URLs (one per scope and kind: `ListenerKind::paths()`), the source URL and
/// the document.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route("/api/v1/openapi.json", get(openapi_document));
    for (scope, kind, segment) in ListenerKind::paths() {
        router = router.route(
            &format!("/api/v1/{segment}/{{key}}"),
            post(move |call: Inbound| handle(call, Route::Listener(scope, kind)))
                .fallback(method_not_allowed),
        );
    }
    router
        .route(
            "/api/v1/externalSources/{key}",
            post(external_source).fallback(method_not_allowed),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response();
    response
        .extensions_mut()
        .insert(ErrorCode(code.to_string()));
    response
}

/// The error code of a reply built by `error`, kept for the call log.
#[derive(Clone)]
struct ErrorCode(String);

fn reply_code(response: &Response) -> String {
    response
        .extensions()
        .get::<ErrorCode>()
        .map(|c| c.0.clone())
        .unwrap_or_default()
}

/// The API key from `apiKey`, `X-Api-Key` or `Authorization: Bearer` (in that order).
fn presented_key(query: &HashMap<String, String>, headers: &HeaderMap) -> Option<Secret<String>> {
    query
        .get("apiKey")
        .cloned()
        .or_else(|| {
            headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::to_string)
        })
        .map(Secret::new)
}

/// A body as the routes read it.
#[derive(Debug, PartialEq)]
enum Body {
    /// None, or only whitespace.
    Empty,
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`, read as an object: each key's text, a repeated
    /// key's texts as a list. Only listeners that say so take it (`accepts_form`).
    Form(serde_json::Value),
}

/// A body is optional; when there is one it must be JSON, or (`form_allowed`: listener
/// routes) form-encoded.
/// A refusal is boxed: an axum `Response` is large, and the happy path should not carry it.
fn check_body(
    headers: &HeaderMap,
    body: &Bytes,
    form_allowed: bool,
) -> Result<Body, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::Empty);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if form_allowed && essence == "application/x-www-form-urlencoded" {
        return Ok(Body::Form(crate::server::domain::body_path::form_object(
            body,
        )));
    }
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(Box::new(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            if form_allowed {
                "the body must be JSON (Content-Type: application/json), or form-encoded for a listener that takes form bodies"
            } else {
                "the body must be JSON (Content-Type: application/json)"
            },
        )));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => Ok(Body::Json(v)),
        Err(e) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            &format!("the body is not valid JSON: {e}"),
        ))),
    }
}

async fn openapi_document() -> Response {
    Json(crate::server::openapi::document()).into_response()
}

/// Creates a feedback ticket in the source's project and type from the JSON body: the
/// source's mapping names which body parameter fills the title, the description and each
/// field of the form; the starting team and status and the submitter come from the source
/// (or from the body parameters it names). Values are checked against their field's type.
#[utoipa::path(
    post,
    path = "/api/v1/externalSources/{key}",
    tag = "sources",
    operation_id = "createTicketFromSource",
    params(
        crate::server::openapi::SourceKey,
        crate::server::openapi::IdempotencyKey,
    ),
    request_body(
        content = std::collections::HashMap<String, serde_json::Value>,
        content_type = "application/json",
        description = "A JSON object of the parameters the source maps, e.g. {\"Subject\": \"Crash on save\", \"Priority__c\": \"High\"}; at most 64 KiB"
    ),
    responses(
        (status = 201, description = "The ticket was created", body = crate::server::openapi::TicketAnswer),
        (status = 400, description = "Malformed input: invalid_json, invalid_idempotency_key, invalid_body, missing_field, invalid_field, invalid_submitter", body = crate::server::openapi::ErrorAnswer),
        (status = 403, description = "api_key_disabled, ip_not_allowed, api_key_not_allowed, source_disabled", body = crate::server::openapi::ErrorAnswer),
        (status = 404, description = "source_not_found", body = crate::server::openapi::ErrorAnswer),
        (status = 409, description = "source_not_configured: its default submitter or workflow is gone; idempotency_key_in_flight (with Retry-After): a call with the same Idempotency-Key is still being answered", body = crate::server::openapi::ErrorAnswer),
        (status = 500, description = "internal_error: nothing was created; try again", body = crate::server::openapi::ErrorAnswer),
        crate::server::openapi::Refusals,
    )
)]
pub(crate) async fn external_source(call: Inbound) -> Response {
    handle(call, Route::Source).await
}

/// What a URL under `/api/v1` serves: the listeners of a scope and kind, or external sources.
#[derive(Clone, Copy)]
enum Route {
    Listener(Scope, ListenerKind),
    Source,
}

impl Route {
    /// The route of a listener or source URL.
    fn of_path(path: &str) -> Route {
        ListenerKind::paths()
            .find(|(_, _, segment)| path.starts_with(&format!("/api/v1/{segment}/")))
            .map(|(scope, kind, _)| Route::Listener(scope, kind))
            .unwrap_or(Route::Source)
    }

    /// The (scope, kind) refused calls are counted under (`refusals`).
    fn counted_as(self) -> (&'static str, &'static str) {
        match self {
            Route::Listener(scope, kind) => (scope.as_str(), kind.as_str()),
            Route::Source => (SOURCE, SOURCE),
        }
    }
}

/// A caller address that keeps being refused: 429 before anything else is done.
fn refused_too_often(
    state: &AppState,
    scope: &'static str,
    kind: &'static str,
    key: &str,
    caller: std::net::IpAddr,
) -> Option<Response> {
    let wait = state.refusals.blocked(caller)?;
    let mut reply = error(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_refused_calls",
        "too many refused calls from this address; try again after Retry-After seconds",
    );
    reply.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(wait.as_secs_f64().ceil().max(1.0) as u64),
    );
    count_refused(state, scope, kind, key, caller, &reply);
    Some(reply)
}

/// Counts a call refused before its listener or source looked at it (no database write).
fn count_refused(
    state: &AppState,
    scope: &'static str,
    kind: &'static str,
    key: &str,
    caller: std::net::IpAddr,
    reply: &Response,
) {
    state.refusals.count(crate::server::refusals::Refused {
        scope,
        kind,
        key,
        caller,
        status: reply.status().as_u16(),
        code: &reply_code(reply),
    });
}

/// What a call to a listener or source URL brings: the same for every route.
#[derive(FromRequest)]
pub(crate) struct Inbound {
    state: State<AppState>,
    key: Path<String>,
    query: Query<HashMap<String, String>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    /// A body over the limit is refused by `handle` (413), counted like other refusals.
    body: Result<Bytes, BytesRejection>,
}

/// What every listener and source route does: check the body, then hand the call to the
/// service in a task of its own.
async fn handle(call: Inbound, route: Route) -> Response {
    let Inbound {
        state: State(state),
        key: Path(key),
        query: Query(query),
        peer: ConnectInfo(peer),
        headers,
        body,
    } = call;
    let state = &state;
    let (scope, kind) = route.counted_as();
    // The caller as the listener log, the key's allow-list and the refusal budget see it.
    let caller = crate::server::web::client_addr(&state.settings, peer.ip(), &headers);
    if let Some(reply) = refused_too_often(state, scope, kind, &key, caller) {
        state.refusals.hold().await;
        return reply;
    }
    let checked = match &body {
        Ok(bytes) => check_body(&headers, bytes, matches!(route, Route::Listener(..))),
        Err(rejection) => Err(Box::new(error(
            rejection.status(),
            "payload_too_large",
            &format!(
                "the body is over the limit of {} KiB",
                MAX_BODY_BYTES / 1024
            ),
        ))),
    };
    let (json, form) = match checked {
        Ok(Body::Empty) => (None, false),
        Ok(Body::Json(v)) => (Some(v), false),
        Ok(Body::Form(v)) => (Some(v), true),
        Err(reply) => {
            // Refused before the listener looked at it, but still an inbound call: count it.
            count_refused(state, scope, kind, &key, caller, &reply);
            return *reply;
        }
    };
    let api_key = presented_key(&query, &headers);
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Route::Listener(scope, kind) = route else {
        let call = sources::InboundSource {
            key,
            api_key,
            caller,
            idempotency_key,
            body: json,
            raw_body: body.unwrap_or_default(),
            headers,
        };
        let state = state.clone();
        return finish(tokio::spawn(async move {
            sources::create_ticket(&state, call).await
        }))
        .await;
    };
    let call = InboundCall {
        scope: scope.as_str(),
        kind,
        key,
        api_key,
        caller,
        find: query.get("find").cloned(),
        idempotency_key,
        body: json,
        form,
        raw_body: body.unwrap_or_default(),
        headers,
    };
    let state = state.clone();
    finish(tokio::spawn(async move {
        listeners::call_listener(&state, call).await
    }))
    .await
}

/// Answers with what the call's own task returned. The work runs in a task of its own, not in
/// the request: a caller that hangs up half-way does not stop it between a claimed
/// `Idempotency-Key` and its answer (or between a queued run and its log row).
async fn finish(
    task: tokio::task::JoinHandle<
        Result<crate::server::engine::inbound::Reply, crate::errors::AppError>,
    >,
) -> Response {
    match task.await {
        Ok(Ok(reply)) => into_response(reply),
        Ok(Err(e)) => internal_error(e),
        Err(e) => internal_error(crate::errors::AppError::internal(format!(
            "the call's task stopped: {e}"
        ))),
    }
}

fn into_response(reply: crate::server::engine::inbound::Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(reply.body)).into_response();
    if let Some(seconds) = reply.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    response
}

/// An error of ours: the cause goes to the log, the caller gets an opaque 500.
fn internal_error(e: crate::errors::AppError) -> Response {
    tracing::error!(error = %e, "listener call failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the call could not be handled; it was not queued, try again",
    )
}

/// Listener URLs take POST only.
async fn method_not_allowed(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let caller = crate::server::web::client_addr(&state.settings, peer.ip(), &headers);
    let (scope, kind) = Route::of_path(uri.path()).counted_as();
    if let Some(reply) = refused_too_often(&state, scope, kind, &key, caller) {
        state.refusals.hold().await;
        return reply;
    }
    let mut reply = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "listener URLs accept POST only",
    );
    reply
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    count_refused(&state, scope, kind, &key, caller, &reply);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_query_header_or_bearer() {
        let mut q = HashMap::new();
        let mut h = HeaderMap::new();
        assert!(presented_key(&q, &h).is_none());
        h.insert(header::AUTHORIZATION, "Bearer b".parse().unwrap());
        assert_eq!(presented_key(&q, &h).unwrap().expose(), "b");
        h.insert("x-api-key", "x".parse().unwrap());
        assert_eq!(presented_key(&q, &h).unwrap().expose(), "x");
        q.insert("apiKey".into(), "q".into());
        assert_eq!(presented_key(&q, &h).unwrap().expose(), "q");
    }

    #[test]
    fn bodies_must_be_json() {
        let mut h = HeaderMap::new();
        assert_eq!(
            check_body(&h, &Bytes::from_static(b" "), false).unwrap(),
            Body::Empty
        );
        assert_eq!(
            check_body(&h, &Bytes::from_static(b"{}"), true)
                .unwrap_err()
                .status(),
            415
        );
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(
            check_body(&h, &Bytes::from_static(b"{\"a\":1}"), false).unwrap(),
            Body::Json(serde_json::json!({ "a": 1 }))
        );
        assert_eq!(
            check_body(&h, &Bytes::from_static(b"{nope"), false)
                .unwrap_err()
                .status(),
            400
        );
    }

    /// Form bodies are read on listener routes only (a listener then decides), as texts.
    #[test]
    fn form_bodies_are_read_as_objects_of_texts_where_allowed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let body = Bytes::from_static(b"email=jim%40example.com&tag=a&tag=b&note=two+words&empty=");
        assert_eq!(check_body(&h, &body, false).unwrap_err().status(), 415);
        assert_eq!(
            check_body(&h, &body, true).unwrap(),
            Body::Form(serde_json::json!({
                "email": "jim@example.com",
                "tag": ["a", "b"],
                "note": "two words",
                "empty": ""
            }))
        );
    }
}
