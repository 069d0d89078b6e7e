//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json` (and kept in
//! `docs/openapi.json`). The listener operations are made from the listeners' contracts
//! (`engine::inbound::listeners::contract`), one for every scope and kind
//! `ListenerKind::paths()` serves; the source's operation comes from its handler's
//! `#[utoipa::path]`; the answer types are below.

use serde::Serialize;
use serde_json::json;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

use crate::server::engine::inbound::listeners::contract;
use crate::shared::vocab::{ListenerKind, Scope};

/// How a run stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Done within the request (200).
    Completed,
    /// Queued durably; a worker finishes it (202).
    Accepted,
    /// Not run: the macro runs only once per person and already ran for this one (200).
    Skipped,
    /// The run could not happen: the user or the macro had gone by the time it ran (200).
    Failed,
}

/// The answer when the call was accepted.
#[derive(Serialize, ToSchema)]
pub struct RunAnswer {
    pub status: RunStatus,
    /// The macro run this call started; it appears in the listener and run logs.
    pub run_id: String,
    /// When the run (finished within the request) removed the person: what the removal did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// What a removal did, without naming who was removed.
#[derive(Serialize, ToSchema)]
pub struct Receipt {
    pub id: String,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub occurred_at: String,
    /// The label that stands for the removed person in every log (drawn at random for this
    /// removal, not derived from the email).
    pub subject: String,
    /// Rows removed or scrubbed, per kind.
    pub counts: Vec<ReceiptCount>,
    /// The removal macro's webhooks and emails (telling other systems to erase the person),
    /// as they stood when the answer was made; the opt-out dashboard shows how they went.
    pub downstream: Vec<ReceiptDownstream>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptCount {
    pub kind: String,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptDownstream {
    pub delivery_id: String,
    pub webhook: String,
    /// `http` or `email`.
    pub kind: String,
    /// `queued`, `sending`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
}

/// The answer of an Add Comment listener.
#[derive(Serialize, ToSchema)]
pub struct CommentAnswer {
    /// Always `completed`.
    pub status: String,
    /// The comment now on the user's page.
    pub comment_id: String,
    /// User listeners: the project the comment is about (absent: community-level).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// The answer of an External Data listener.
#[derive(Serialize, ToSchema)]
pub struct DataAnswer {
    /// Always `completed`.
    pub status: String,
    /// The parameters that were stored.
    pub stored: Vec<String>,
}

/// The answer of an external source.
#[derive(Serialize, ToSchema)]
pub struct TicketAnswer {
    /// Always `created`.
    pub status: String,
    /// The new ticket.
    pub ticket_id: String,
}

/// The answer when the call was refused.
#[derive(Serialize, ToSchema)]
pub struct ErrorAnswer {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `missing_find`, `invalid_find`, `invalid_json`,
    /// `invalid_idempotency_key`, `missing_api_key`, `invalid_api_key`, `invalid_signature`,
    /// `api_key_disabled`,
    /// `ip_not_allowed`, `api_key_not_allowed`, `listener_disabled`, `target_protected`,
    /// `listener_not_found`, `target_not_found`, `target_not_in_filter`, `method_not_allowed`,
    /// `listener_not_configured`, `payload_too_large`, `unsupported_media_type`,
    /// `idempotency_key_reused`, `idempotency_key_in_flight`, `rate_limited`,
    /// `too_many_refused_calls`, `internal_error`, and for Add Comment and
    /// External Data listeners `invalid_body`, `missing_field`, `invalid_field`,
    /// `invalid_author`; for external sources `source_not_found`, `source_disabled`,
    /// `source_not_configured`, `invalid_submitter`.
    pub code: String,
    /// For people: what went wrong and what to do.
    pub message: String,
}

/// The refusals every listener and source URL may answer, whatever it does (each URL
/// documents its own 400, 403, 404, 409 and 500).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "describes answers for the document; never built")]
pub enum Refusals {
    /// missing_api_key or invalid_api_key; invalid_signature: a listener that takes signed
    /// calls (Standard Webhooks, GitHub, Atlassian, Stripe or Slack signatures, set on its
    /// page) got one without a valid signature. A signed call needs no API key.
    #[response(status = 401)]
    Unauthorized(ErrorAnswer),
    /// method_not_allowed: listener and source URLs take POST only
    #[response(status = 405, headers(("Allow" = String, description = "POST")))]
    MethodNotAllowed(ErrorAnswer),
    /// payload_too_large: the body is over 64 KiB
    #[response(status = 413)]
    PayloadTooLarge(ErrorAnswer),
    /// unsupported_media_type: a body that is not JSON (nor form-encoded, to a listener that
    /// takes form bodies)
    #[response(status = 415)]
    UnsupportedMediaType(ErrorAnswer),
    /// idempotency_key_reused: the key was used for another request
    #[response(status = 422)]
    IdempotencyKeyReused(ErrorAnswer),
    /// rate_limited: too many calls with this API key; too_many_refused_calls: too many
    /// refused calls from this address
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyRequests(ErrorAnswer),
}

/// The listener in a listener URL.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by utoipa only
pub struct ListenerKey {
    /// The listener's key, as shown on its admin screen
    key: String,
}

/// The source in a source URL.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by utoipa only
pub struct SourceKey {
    /// The source's key, as shown on its admin screen
    key: String,
}

/// The header every listener and source takes to make a retry safe.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by utoipa only
pub struct IdempotencyKey {
    /// 1 to 255 visible ASCII characters; a repeat with the same API key gets the first answer
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKeyQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("apiKey"))),
        );
        components.add_security_scheme(
            "apiKeyHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An answer with a JSON body of the schema `name`.
fn answer(description: &str, name: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(name)))
                .build(),
        )
        .build()
}

/// The operation of the listener URL of `scope` and `kind`.
fn listener_operation(scope: Scope, kind: ListenerKind) -> utoipa::openapi::path::Operation {
    let doc = contract(scope, kind);
    let segment = kind.path(scope);
    let mut id = String::from("run");
    let mut chars = segment.trim_end_matches('s').chars();
    id.extend(chars.next().map(|c| c.to_ascii_uppercase()));
    id.push_str(chars.as_str());
    let by_email = scope == Scope::User;
    let mut find = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(254));
    if by_email {
        find = find.format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)));
    }
    let mut parameters = ListenerKey::into_params(|| None);
    parameters.push(
        ParameterBuilder::new()
            .name("find")
            .parameter_in(ParameterIn::Query)
            .description(Some(format!(
                "{}. Required, unless the listener has a target in the body (a path such as \
                 issue.fields.reporter.emailAddress) and the body holds it there; the URL's \
                 find wins.",
                doc.find
            )))
            .required(Required::False)
            .schema(Some(find))
            .example(Some(json!(if by_email { "jim@example.com" } else { "42" })))
            .build(),
    );
    parameters.extend(IdempotencyKey::into_params(|| None));
    let request_body = if let Some(body) = doc.body {
        RequestBodyBuilder::new()
            .description(Some(format!("{body}; at most 64 KiB")))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(
                        // A JSON object of any values (`HashMap<String, Value>`).
                        ObjectBuilder::new()
                            .schema_type(Type::Object)
                            .additional_properties(Some(
                                <serde_json::Value as PartialSchema>::schema(),
                            ))
                            .property_names(Some(ObjectBuilder::new().schema_type(Type::String))),
                    ))
                    .build(),
            )
            .required(Some(Required::True))
    } else {
        RequestBodyBuilder::new()
            .description(Some(
                "Optional; when present it must be JSON, at most 64 KiB",
            ))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(<serde_json::Value as PartialSchema>::schema()))
                    .build(),
            )
    };
    let error = |d: String| answer(&d, "ErrorAnswer");
    let bad: Vec<&str> = doc.body_refusals.iter().map(|r| r.code()).collect();
    let mut forbidden =
        "api_key_disabled, ip_not_allowed, api_key_not_allowed, listener_disabled".to_string();
    // A removal macro refuses community managers; other macros name nobody it would refuse.
    if doc.protects_target {
        forbidden.push_str(", target_protected");
    }
    let in_flight = "idempotency_key_in_flight (with Retry-After): a call with the same \
Idempotency-Key is still being answered";
    let mut op = OperationBuilder::new()
        .tag("listeners")
        .summary(Some(doc.summary))
        .description(doc.description)
        .operation_id(Some(id))
        .parameters(Some(parameters))
        .request_body(Some(request_body.build()));
    for (status, meaning, schema) in doc.answers {
        op = op.response(status.to_string(), answer(meaning, schema));
    }
    op = op
        .response(
            "400",
            error(
                [
                    "Malformed input: missing_find",
                    "invalid_find",
                    "invalid_json",
                    "invalid_idempotency_key",
                ]
                .iter()
                .chain(bad.iter())
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            ),
        )
        .response("403", error(forbidden))
        .response(
            "404",
            error("listener_not_found, target_not_found, target_not_in_filter".into()),
        )
        .response(
            "409",
            error(match doc.unconfigured {
                Some(why) => format!("listener_not_configured: {why}; {in_flight}"),
                None => in_flight.to_string(),
            }),
        )
        .response(
            "500",
            error(format!(
                "internal_error: nothing was {}; try again",
                doc.on_error
            )),
        );
    for (status, response) in Refusals::responses() {
        op = op.response(status, response);
    }
    op.build()
}

/// Adds the listener operations, one per URL `ListenerKind::paths()` serves.
struct ListenerOperations;

impl Modify for ListenerOperations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (scope, kind, segment) in ListenerKind::paths() {
            openapi.paths.paths.insert(
                format!("/api/v1/{segment}/{{key}}"),
                PathItem::new(HttpMethod::Post, listener_operation(scope, kind)),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchyard API",
        description = "Inbound endpoints that third-party systems call: external listeners run a macro on a community member (found by email) or a feedback ticket (found by id or by an external-data value), add a comment, or store external data; external sources create feedback tickets. Every call is logged without its API key.",
        version = "1"
    ),
    paths(crate::server::api::external_source),
    components(schemas(
        RunAnswer,
        RunStatus,
        Receipt,
        ReceiptCount,
        ReceiptDownstream,
        CommentAnswer,
        DataAnswer,
        TicketAnswer,
        ErrorAnswer,
        ErrorDetail
    )),
    modifiers(&Security, &ListenerOperations),
    // Every operation takes the API key in one of three places (one of them is enough).
    security(("apiKeyQuery" = []), ("apiKeyHeader" = []), ("bearer" = [])),
    tags(
        (name = "listeners", description = "External listeners"),
        (name = "sources", description = "External sources: tickets created from other systems")
    )
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod tests {
    /// The document is part of the contract: `docs/openapi.json` is what the server serves,
    /// so a change to it shows in review. `SWITCHYARD_WRITE_OPENAPI=1` rewrites the file.
    #[test]
    fn the_served_document_is_the_one_in_docs() {
        let served = serde_json::to_string_pretty(&super::document()).unwrap() + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
        if std::env::var_os("SWITCHYARD_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &served).unwrap();
        }
        let kept = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            kept == served,
            "docs/openapi.json differs from the served document; rerun with \
             SWITCHYARD_WRITE_OPENAPI=1 if the change is meant"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_and_lists_every_status() {
        let doc = serde_json::to_value(super::document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let op = &doc["paths"]["/api/v1/userMacroListeners/{key}"]["post"];
        for status in [
            "200", "202", "400", "401", "403", "404", "405", "409", "413", "415", "422", "429",
            "500",
        ] {
            assert!(op["responses"][status].is_object(), "{status} missing");
        }
        assert!(op["responses"]["429"]["headers"]["Retry-After"].is_object());
        // Every listener URL and the source URL is documented with the refusals any of them
        // may answer, the in-flight 409 and the address's 429 included.
        for (_, _, path) in crate::shared::vocab::ListenerKind::paths() {
            let op = &doc["paths"][format!("/api/v1/{path}/{{key}}")]["post"];
            assert!(op.is_object(), "{path} undocumented");
            for status in ["401", "405", "409", "413", "415", "422", "429", "500"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{path}: {status} missing"
                );
            }
            let text = op["responses"].to_string();
            for code in ["idempotency_key_in_flight", "too_many_refused_calls"] {
                assert!(text.contains(code), "{path}: {code} missing");
            }
        }
        let source = &doc["paths"]["/api/v1/externalSources/{key}"]["post"]["responses"];
        assert!(source.to_string().contains("idempotency_key_in_flight"));
        // The API key, in any of its three places, is asked of every operation.
        assert_eq!(
            doc["security"],
            serde_json::json!([{"apiKeyQuery": []}, {"apiKeyHeader": []}, {"bearer": []}])
        );
    }
}
