//! Outgoing webhooks of macros: the *Trigger Webhooks* part of a user or feedback macro.
//!
//! A macro holds any number of webhooks (method, URL, headers, JSON or form body, each a
//! template with dynamic tags). Every run of the macro renders each enabled webhook against
//! the run's user or ticket — every tag value escaped for where it lands — and queues the
//! request as a delivery in the run's own transaction; the delivery workers
//! (`crate::server::delivery`) send it later, outside any transaction, and record each attempt.
//! The editor's preview, the *send test* button and the log's *resend* button go through the
//! same rendering and the same queue.

use crate::server::store::audit_trail;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{Actor, external_data, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::engine::matching;
use crate::server::engine::matching::SCOPE_FEEDBACK;
use crate::server::engine::outbox::{
    About, Origin, ROTATION_OVERLAP, Rendered, Request, cancel_waiting, headers_from, headers_json,
    is_secret_header, mask_headers, queue, render, seal_secret_headers, signing_secrets,
    ticket_values,
};
use crate::server::engine::tags::{self, Place, Values};
use crate::server::entities::{
    data_group, macro_def, ticket, user, webhook, webhook_attempt, webhook_delivery,
};
use crate::server::secrets::Sealer;
use crate::server::signing::SigningSecret;
use crate::shared::vocab::{ContentType, DataScope, DeliveryStatus, WebhookKind};
use crate::types::{
    AttemptView, DeliveryCounts, DeliveryDetailView, DeliveryQuery, DeliveryView, MASK,
    NEW_DATA_GROUP, RequestView, WEBHOOK_METHODS, WebhookEditorView, WebhookForm,
    WebhookFormOptions, WebhookLogView, WebhookRate, WebhookTryView, WebhookView,
};

const MAX_TEMPLATE: usize = 64 * 1024;

/// `scheme://host:port` of an address template, lower-cased (tags included as typed), to
/// tell whether an edit sends the webhook somewhere else.
pub(crate) fn authority(url: &str) -> String {
    let rest = url.trim().split_once("://").map(|(_, r)| r).unwrap_or("");
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let scheme = url.trim().split_once("://").map(|(s, _)| s).unwrap_or("");
    format!("{scheme}://{}", &rest[..end]).to_lowercase()
}

/// Headers the sender sets itself, which a webhook may not.
const RESERVED_HEADERS: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// `Name: value` lines. A value sent back as the mask keeps what is stored under that name,
/// unless the address now goes to another host (`moved_to`): a kept secret only goes where it
/// went before. A secret header's value is sent as typed (no tags).
fn parse_headers(
    text: &str,
    stored: &[(String, String)],
    moved_to: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| {
            format!(
                "line {} must be Name: value, e.g. Authorization: Bearer …",
                i + 1
            )
        })?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(format!("line {}: \"{name}\" is not a header name", i + 1));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "line {}: {name} is set by Switchyard itself",
                i + 1
            ));
        }
        if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(format!("line {}: {name} is given twice", i + 1));
        }
        let value = if value.contains(MASK) {
            if let Some(host) = moved_to {
                return Err(format!(
                    "line {}: type the value of {name} again: the address now goes to {host}, \
                     and a kept secret is only sent where it went before",
                    i + 1
                ));
            }
            stored
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("line {}: type the value of {name} again", i + 1))?
        } else {
            if is_secret_header(name) && value.contains("((") {
                return Err(format!(
                    "line {}: {name} is a secret and is sent as typed: it cannot hold tags",
                    i + 1
                ));
            }
            value.to_string()
        };
        out.push((name.to_string(), value));
    }
    if out.len() > 30 {
        return Err("at most 30 headers".into());
    }
    Ok(out)
}

/// Tags a run renders as numbers (the JSON check puts a number where they stand).
fn numeric_tag(tag: &str) -> bool {
    matches!(
        tag,
        "user.score" | "user.id" | "feedback.id" | "feedback.popularity"
    )
}

/// The template rendered with stand-in values (numbers for numeric tags, text for the rest).
fn render_sample(template: &str, place: Place) -> String {
    tags::parse(template)
        .unwrap_or_default()
        .into_iter()
        .map(|p| match p {
            tags::Part::Text(t) => t,
            tags::Part::Tag(t) if numeric_tag(&t) => "1".to_string(),
            tags::Part::Tag(_) => tags::escape("sample \"value\"", place),
        })
        .collect()
}

/// A webhook as the form gave it, checked.
#[derive(Debug, PartialEq)]
struct Parsed {
    kind: WebhookKind,
    email_to: String,
    email_subject: String,
    name: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    content_type: ContentType,
    body: String,
    signing: bool,
    capture_group_id: Option<i32>,
    /// A user macro capturing into a project group: the project (set by `check`).
    capture_project_id: Option<i32>,
    /// Its own retry delays, as written (empty: the installation's).
    retry_schedule: String,
}

/// Reads the webhook form. `external` holds the external-data tags of the macro's scope;
/// `stored` the saved headers (for masked values); `moved_to` the new host when an edit
/// changes where the webhook goes.
fn parse_form(
    form: &WebhookForm,
    scope: &str,
    external: &[String],
    stored: &[(String, String)],
    moved_to: Option<&str>,
) -> Result<Parsed, AppError> {
    let mut errors = FieldErrors::new();
    let name = form.name.trim();
    if name.is_empty() {
        errors.push("name", "is required");
    } else if name.chars().count() > 100 {
        errors.push("name", "must be at most 100 characters");
    }
    if WebhookKind::parse(form.kind.trim()) == Some(WebhookKind::Email) {
        return parse_email(form, scope, external, errors, name);
    }
    let method = form.method.trim().to_ascii_uppercase();
    if !WEBHOOK_METHODS.contains(&method.as_str()) {
        errors.push("method", "must be GET, POST, PUT, PATCH or DELETE");
    }
    let content_type = match ContentType::parse(form.content_type.trim()) {
        None if form.content_type.trim().is_empty() => ContentType::Json,
        Some(c @ (ContentType::Json | ContentType::Form)) => c,
        _ => {
            errors.push("content_type", "must be JSON or Form");
            ContentType::Json
        }
    };
    let check_tags = |text: &str| tags::check(text, scope, external);
    let url = form.url.trim();
    let url_ok = if url.is_empty() {
        Err("is required".to_string())
    } else if url.len() > 2000 {
        Err("must be at most 2000 characters".to_string())
    } else {
        check_tags(url).and_then(|_| {
            let sample = render_sample(url, Place::Url);
            let parsed = url::Url::parse(&sample)
                .map_err(|_| format!("\"{url}\" is not a web address such as https://…"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err("must start with https:// or http:// and name a host".into());
            }
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err("put credentials in a header, not in the address".into());
            }
            Ok(())
        })
    };
    errors.check("url", url_ok);
    let headers = errors
        .check(
            "headers",
            parse_headers(&form.headers, stored, moved_to).and_then(|h| {
                for (n, v) in &h {
                    check_tags(v).map_err(|e| format!("{n}: {e}"))?;
                }
                Ok(h)
            }),
        )
        .unwrap_or_default();
    let body = form.body.replace("\r\n", "\n");
    let body_ok =
        if body.len() > MAX_TEMPLATE {
            Err("must be at most 64 KiB".to_string())
        } else if method == "GET" && !body.trim().is_empty() {
            Err("a GET request carries no body: put the values in the address".to_string())
        } else if body.trim().is_empty() {
            Ok(())
        } else {
            check_tags(&body).and_then(|_| {
                if content_type == ContentType::Json {
                    let sample = render_sample(&body, Place::Json);
                    serde_json::from_str::<serde_json::Value>(&sample).map(|_| ()).map_err(|e| {
                    format!(
                        "is not valid JSON once its tags are filled in ({e}); a text tag must \
                         stand inside quotes, e.g. \"name\": \"((user.first_name))\""
                    )
                })
                } else {
                    Ok(())
                }
            })
        };
    errors.check("body", body_ok);
    let retry_schedule = retry_schedule_of(form, &mut errors);
    let capture_group_id = match form.capture_group_id.trim() {
        _ if form.capture.is_none() => None,
        // Made when the webhook is written (`check`).
        NEW_DATA_GROUP => None,
        "" => {
            errors.push("capture_group_id", "choose a data group, or create one");
            None
        }
        v => errors.check("capture_group_id", parse_id(v)),
    };
    errors.into_result()?;
    Ok(Parsed {
        kind: WebhookKind::Http,
        email_to: String::new(),
        email_subject: String::new(),
        name: name.to_string(),
        method,
        url: url.to_string(),
        headers,
        content_type,
        body,
        signing: form.signing.is_some(),
        capture_group_id,
        capture_project_id: None,
        retry_schedule,
    })
}

/// The webhook's own retry delays, checked like the installation's (`retry::parse_schedule`)
/// and written back in its form; empty: the installation's schedule.
fn retry_schedule_of(form: &WebhookForm, errors: &mut FieldErrors) -> String {
    let text = form.retry_schedule.trim();
    if text.is_empty() {
        return String::new();
    }
    match crate::server::domain::retry::parse_schedule(text) {
        Ok(delays) if delays.is_empty() => String::new(),
        Ok(delays) => delays
            .iter()
            .map(|d| crate::server::domain::retry::delay_text(*d))
            .collect::<Vec<_>>()
            .join(", "),
        Err(m) => {
            errors.push("retry_schedule", m);
            String::new()
        }
    }
}

/// An email: to the user (feedback: the submitter) or a fixed address, subject and text.
fn parse_email(
    form: &WebhookForm,
    scope: &str,
    external: &[String],
    mut errors: FieldErrors,
    name: &str,
) -> Result<Parsed, AppError> {
    let to = form.email_to.trim();
    let email_to = if to.is_empty() {
        String::new()
    } else {
        errors
            .check("email_to", crate::server::domain::Email::parse(to))
            .map(|e| e.as_str().to_string())
            .unwrap_or_default()
    };
    let subject = form.email_subject.trim();
    let subject_ok = if subject.is_empty() {
        Err("is required".to_string())
    } else if subject.chars().count() > 300 {
        Err("must be at most 300 characters".to_string())
    } else {
        tags::check(subject, scope, external)
    };
    errors.check("email_subject", subject_ok);
    let body = form.body.replace("\r\n", "\n");
    let body_ok = if body.trim().is_empty() {
        Err("is required: the text of the email".to_string())
    } else if body.len() > MAX_TEMPLATE {
        Err("must be at most 64 KiB".to_string())
    } else {
        tags::check(&body, scope, external)
    };
    errors.check("body", body_ok);
    let retry_schedule = retry_schedule_of(form, &mut errors);
    errors.into_result()?;
    Ok(Parsed {
        kind: WebhookKind::Email,
        email_to,
        email_subject: subject.to_string(),
        name: name.to_string(),
        method: "EMAIL".into(),
        url: String::new(),
        headers: Vec::new(),
        content_type: ContentType::Text,
        body,
        signing: false,
        capture_group_id: None,
        capture_project_id: None,
        retry_schedule,
    })
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<webhook::Model, AppError> {
    webhook::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("webhook {id}")))
}

async fn find_macro(db: &impl ConnectionTrait, id: i32) -> Result<macro_def::Model, AppError> {
    macro_def::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("macro {id}")))
}

async fn of_macro(
    db: &impl ConnectionTrait,
    macro_id: i32,
) -> Result<Vec<webhook::Model>, AppError> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::MacroId.eq(macro_id))
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// Delivery counts per webhook over the last 7 days.
async fn counts(
    db: &impl ConnectionTrait,
    webhook_ids: &[i32],
) -> Result<Vec<(i32, DeliveryCounts)>, AppError> {
    if webhook_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<i32>, DeliveryStatus, i64)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::WebhookId)
        .column(webhook_delivery::Column::Status)
        .column_as(webhook_delivery::Column::Id.count(), "n")
        .filter(webhook_delivery::Column::WebhookId.is_in(webhook_ids.iter().copied()))
        .filter(webhook_delivery::Column::CreatedAt.gte(Utc::now() - chrono::Duration::days(7)))
        .group_by(webhook_delivery::Column::WebhookId)
        .group_by(webhook_delivery::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(webhook_ids
        .iter()
        .map(|id| {
            let mut c = DeliveryCounts::default();
            for (w, status, n) in &rows {
                if *w == Some(*id) {
                    let n = *n as u64;
                    match status {
                        DeliveryStatus::Succeeded => c.succeeded += n,
                        DeliveryStatus::Failed => c.failed += n,
                        DeliveryStatus::Queued | DeliveryStatus::Sending => c.pending += n,
                        DeliveryStatus::Cancelled => {}
                    }
                }
            }
            (*id, c)
        })
        .collect())
}

fn view(w: webhook::Model, groups: &[(i32, String)], c: DeliveryCounts) -> WebhookView {
    let headers = mask_headers(&headers_from(&w.headers))
        .into_iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let rotating = w
        .old_secret_until
        .filter(|until| *until > Utc::now() && w.old_signing_secret.is_some());
    WebhookView {
        id: w.id,
        macro_id: w.macro_id,
        kind: w.kind.to_string(),
        name: w.name,
        method: w.method,
        url: w.url,
        headers,
        content_type: w.content_type.to_string(),
        body: w.body,
        email_to: w.email_to,
        email_subject: w.email_subject,
        signing: w.signing_secret.is_some(),
        old_secret_until: rotating.as_ref().map(format_time),
        capture_project_id: w.capture_project_id,
        capture_group: w.capture_group_id.map(|id| {
            groups
                .iter()
                .find(|(g, _)| *g == id)
                .cloned()
                .unwrap_or((id, "(deleted group)".into()))
        }),
        enabled: w.enabled,
        disabled_reason: w.disabled_reason,
        counts: c,
        retry_schedule: w.retry_schedule,
        paused: w.paused,
        paused_reason: w.paused_reason,
        failure_streak: w.failure_streak,
        failing_since: w.failing_since.as_ref().map(format_time),
    }
}

pub async fn group_names(
    db: &impl ConnectionTrait,
    scope: &str,
) -> Result<Vec<(i32, String)>, AppError> {
    let scopes: &[&str] = if scope == SCOPE_FEEDBACK {
        &["feedback", "project"]
    } else {
        &["user", "project"]
    };
    let groups = data_group::Entity::find()
        .filter(data_group::Column::Scope.is_in(scopes.iter().copied()))
        .order_by_asc(data_group::Column::Name)
        .all(db)
        .await?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let label = if g.scope == "project" && scope == SCOPE_FEEDBACK {
                format!("{} (on the project)", g.name)
            } else if g.scope == "project" {
                format!("{} (on a project)", g.name)
            } else {
                g.name
            };
            (g.id, label)
        })
        .collect())
}

/// (id, name) of every project, by name: where a user macro's capture into a project group
/// stores.
pub async fn project_names(db: &impl ConnectionTrait) -> Result<Vec<(i32, String)>, AppError> {
    use crate::server::entities::project;
    Ok(project::Entity::find()
        .select_only()
        .column(project::Column::Id)
        .column(project::Column::Name)
        .order_by_asc(project::Column::Name)
        .into_tuple()
        .all(db)
        .await?)
}

/// How many webhooks (and emails) a macro has.
pub async fn count_of_macro(db: &impl ConnectionTrait, macro_id: i32) -> Result<u64, AppError> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::MacroId.eq(macro_id))
        .count(db)
        .await?)
}

/// The webhooks of one macro, with their last 7 days' delivery counts.
pub async fn list_for_macro(
    db: &impl ConnectionTrait,
    macro_id: i32,
) -> Result<Vec<WebhookView>, AppError> {
    let m = find_macro(db, macro_id).await?;
    let groups = group_names(db, m.scope.as_str()).await?;
    let hooks = of_macro(db, macro_id).await?;
    let ids: Vec<i32> = hooks.iter().map(|w| w.id).collect();
    let mut c = counts(db, &ids).await?;
    Ok(hooks
        .into_iter()
        .map(|w| {
            let n = c
                .iter_mut()
                .find(|(id, _)| *id == w.id)
                .map(|(_, n)| std::mem::take(n))
                .unwrap_or_default();
            view(w, &groups, n)
        })
        .collect())
}

/// Each webhook and email as a step of its macro, (macro id, step), in order; of one macro or
/// of all.
pub async fn steps(
    db: &impl ConnectionTrait,
    macro_id: Option<i32>,
) -> Result<Vec<(i32, String)>, AppError> {
    let mut find = webhook::Entity::find().order_by_asc(webhook::Column::Id);
    if let Some(id) = macro_id {
        find = find.filter(webhook::Column::MacroId.eq(id));
    }
    Ok(find
        .all(db)
        .await?
        .into_iter()
        .map(|w| {
            let what = if w.kind == WebhookKind::Email {
                "Send email"
            } else {
                "Send webhook"
            };
            let off = if w.enabled { "" } else { " (switched off)" };
            (w.macro_id, format!("{what} {}{off}", w.name))
        })
        .collect())
}

/// A preset's starting form for a macro of `scope`.
pub fn preset(key: &str, scope: &str) -> WebhookForm {
    let feedback = scope == SCOPE_FEEDBACK;
    let base = WebhookForm {
        kind: WebhookKind::Http.to_string(),
        method: "POST".into(),
        content_type: ContentType::Json.to_string(),
        ..Default::default()
    };
    match key {
        "slack" => WebhookForm {
            name: "Slack escalation".into(),
            url: "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
                .into(),
            body: if feedback {
                "{\n  \"text\": \"Escalated: ((feedback.title))\",\n  \"blocks\": [\n    {\n      \"type\": \"section\",\n      \"text\": {\n        \"type\": \"mrkdwn\",\n        \"text\": \"*((feedback.title))*\\n((feedback.type)) in ((project.name)), status ((feedback.status)), popularity ((feedback.popularity))\\n((feedback.description))\"\n      }\n    }\n  ]\n}".into()
            } else {
                "{\n  \"text\": \"((user.first_name)) ((user.last_name)), ((user.email)), now has a score of ((user.score)) in ((community.name)).\"\n}".into()
            },
            ..base
        },
        "jira" => WebhookForm {
            name: "Jira issue update".into(),
            method: "PUT".into(),
            url: "https://your-site.atlassian.net/rest/api/2/issue/PROJ-1".into(),
            headers: "Authorization: Basic base64-of-email-and-api-token\nAccept: application/json"
                .into(),
            body: if feedback {
                "{\n  \"update\": {\n    \"comment\": [\n      { \"add\": { \"body\": \"Beta status of ((feedback.title)): ((feedback.status)) (popularity ((feedback.popularity)))\" } }\n    ]\n  }\n}".into()
            } else {
                "{\n  \"update\": {\n    \"comment\": [\n      { \"add\": { \"body\": \"Beta tester ((user.email)) has a score of ((user.score))\" } }\n    ]\n  }\n}".into()
            },
            ..base
        },
        "json" => WebhookForm {
            name: "JSON POST".into(),
            url: "https://example.com/hooks/switchyard".into(),
            body: if feedback {
                "{\n  \"event\": \"feedback.macro\",\n  \"ticket\": { \"id\": ((feedback.id)), \"title\": \"((feedback.title))\", \"status\": \"((feedback.status))\" },\n  \"at\": \"((run.time))\"\n}".into()
            } else {
                "{\n  \"event\": \"user.macro\",\n  \"user\": { \"id\": ((user.id)), \"email\": \"((user.email))\", \"score\": ((user.score)) },\n  \"at\": \"((run.time))\"\n}".into()
            },
            ..base
        },
        "email" => WebhookForm {
            kind: WebhookKind::Email.to_string(),
            name: "Email".into(),
            method: String::new(),
            content_type: String::new(),
            email_subject: if feedback {
                "Your report ((feedback.title)) is now ((feedback.status))".into()
            } else {
                "News from ((community.name))".into()
            },
            body: if feedback {
                "Hi ((user.first_name)),\n\nthank you for reporting ((feedback.title)) in ((project.name)). It is now ((feedback.status)).\n\n((community.name))".into()
            } else {
                "Hi ((user.first_name)),\n\nyour score in ((community.name)) is now ((user.score))."
                    .into()
            },
            ..base
        },
        _ => base,
    }
}

/// What the editor needs: the webhook (when editing) or a draft from a preset, and the tags
/// and data groups of the macro's scope.
pub async fn editor(
    db: &impl ConnectionTrait,
    actor: &Actor,
    webhook_id: Option<i32>,
    macro_id: Option<i32>,
    preset_key: &str,
    reveal: Option<&Sealer>,
) -> Result<WebhookEditorView, AppError> {
    let existing = match webhook_id {
        Some(id) => Some(find(db, id).await?),
        None => None,
    };
    let macro_id = existing
        .as_ref()
        .map(|w| w.macro_id)
        .or(macro_id)
        .ok_or_else(|| AppError::BadRequest("name the macro the webhook belongs to".into()))?;
    let m = find_macro(db, macro_id).await?;
    let groups = group_names(db, m.scope.as_str()).await?;
    let removes = crate::server::store::lookups::macro_of(&m)?.removes();
    let locked = removes && !super::may_use_removals(actor);
    let mut secrets = Vec::new();
    // Locked: the page shows the webhook without its secrets (nothing to reveal).
    if let (Some(w), Some(sealer), false) = (&existing, reveal, locked) {
        secrets = signing_secrets(w, sealer, Utc::now())
            .map_err(|e| AppError::internal(e))?
            .iter()
            .map(SigningSecret::to_text)
            .collect();
        if !secrets.is_empty() {
            audit_trail::record(db, actor, "webhook.secret_revealed", &w.name, "").await?;
        }
    }
    let webhook = match existing {
        Some(w) => {
            let c = counts(db, &[w.id])
                .await?
                .pop()
                .map(|(_, c)| c)
                .unwrap_or_default();
            Some(view(w, &groups, c))
        }
        None => None,
    };
    let mut draft = preset(preset_key, m.scope.as_str());
    draft.macro_id = macro_id.to_string();
    let tags = tags::offered(db, m.scope.as_str()).await?;
    Ok(WebhookEditorView {
        webhook,
        draft,
        options: WebhookFormOptions {
            macro_id,
            macro_name: m.name,
            scope: m.scope.to_string(),
            tags,
            groups,
            projects: project_names(db).await?,
        },
        secrets,
        locked,
    })
}

/// Creates or updates a webhook; its id. Switching signing on makes a signing secret, stored
/// encrypted (the webhook page reveals it on request).
#[tracing::instrument(skip(db, sealer, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save(
    db: &DatabaseConnection,
    sealer: &Sealer,
    actor: &Actor,
    form: &WebhookForm,
) -> Result<i32, AppError> {
    save_held(db, sealer, actor, form, None).await
}

/// `save`, and with `held` (a reason) the webhook is paused in the same transaction, so it
/// never goes out before someone resumes it (a configuration import whose secret header
/// stayed behind).
pub async fn save_held(
    db: &DatabaseConnection,
    sealer: &Sealer,
    actor: &Actor,
    form: &WebhookForm,
    held: Option<&str>,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let macro_id = match &existing {
        Some(w) => w.macro_id,
        None => parse_id(&form.macro_id).map_err(|m| AppError::field("macro_id", m))?,
    };
    let m = find_macro(db, macro_id).await?;
    super::refuse_removal_to_project_managers(
        actor,
        crate::server::store::lookups::macro_of(&m)?.removes(),
    )?;
    let checked = check(db, m.scope.as_str(), existing.as_ref(), form).await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let id = write(&txn, sealer, actor, &m, existing, checked).await?;
    if let Some(reason) = held {
        crate::server::engine::health::hold(&txn, id, true, reason, Utc::now()).await?;
        audit_trail::record(&txn, actor, "webhook.paused", &form.name, reason).await?;
    }
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(id)
}

/// A webhook form checked against its macro's scope, ready to `write`.
pub struct Checked(Parsed, Option<external_data::NewGroup>);

/// Checks a webhook form for a macro of `scope` (a new webhook, or an edit of `existing`);
/// nothing is written.
pub async fn check(
    db: &impl ConnectionTrait,
    scope: &str,
    existing: Option<&webhook::Model>,
    form: &WebhookForm,
) -> Result<Checked, AppError> {
    let external = tags::external_tags(db, scope).await?;
    let stored = existing
        .map(|w| headers_from(&w.headers))
        .unwrap_or_default();
    let kind = existing
        .map(|w| w.kind.to_string())
        .unwrap_or_else(|| form.kind.trim().to_string());
    let moved_to = existing
        .map(|w| authority(&w.url))
        .filter(|before| *before != authority(&form.url))
        .map(|_| authority(&form.url));
    let p = parse_form(
        &WebhookForm {
            kind,
            ..form.clone()
        },
        scope,
        &external,
        &stored,
        moved_to.as_deref(),
    )?;
    let mut p = p;
    if let Some(g) = p.capture_group_id {
        let allowed = group_names(db, scope).await?;
        if !allowed.iter().any(|(id, _)| *id == g) {
            return Err(AppError::field(
                "capture_group_id",
                "choose a data group of this macro's users or tickets",
            ));
        }
        // A user macro has no project of its own: a project group needs one chosen here (a
        // feedback macro stores on its ticket's project).
        let project_group = data_group::Entity::find_by_id(g)
            .one(db)
            .await?
            .is_some_and(|g| g.scope == DataScope::Project);
        if project_group && scope != SCOPE_FEEDBACK {
            let chosen = match form.capture_project_id.trim() {
                "" => None,
                raw => parse_id(raw).ok(),
            };
            let exists = match chosen {
                Some(id) => {
                    crate::server::entities::project::Entity::find_by_id(id)
                        .count(db)
                        .await?
                        > 0
                }
                None => false,
            };
            if !exists {
                return Err(AppError::field(
                    "capture_project_id",
                    "choose the project the answer's values are stored on (the group is a project group)",
                ));
            }
            p.capture_project_id = chosen;
        }
    }
    let new_group = match form.capture.is_some() && form.capture_group_id.trim() == NEW_DATA_GROUP {
        true => {
            let mut errors = FieldErrors::new();
            let group = external_data::check_new_group(
                db,
                DataScope::from(matching::scope_of(scope)),
                &form.new_group.name,
                "name",
                &form.new_group.fields,
                &mut errors,
            )
            .await?;
            errors.into_result().map_err(|e| e.prefixed("new_group"))?;
            group
        }
        false => None,
    };
    Ok(Checked(p, new_group))
}

/// Writes a checked webhook of macro `m` (new, or over `existing`) in the caller's
/// transaction, with its audit entry; its id.
pub async fn write(
    txn: &impl ConnectionTrait,
    sealer: &Sealer,
    actor: &Actor,
    m: &macro_def::Model,
    existing: Option<webhook::Model>,
    Checked(mut p, new_group): Checked,
) -> Result<i32, AppError> {
    if let Some(group) = &new_group {
        p.capture_group_id = Some(
            external_data::insert_group(txn, actor, group)
                .await
                .map_err(|e| e.prefixed("new_group"))?,
        );
    }
    let now = Utc::now();
    if existing.is_none() && count_of_macro(txn, m.id).await? == 0 {
        // A macro's first webhook ticks its Trigger webhooks box: it is there to be sent.
        macro_def::Entity::update_many()
            .col_expr(
                macro_def::Column::TriggerWebhooks,
                sea_orm::sea_query::Expr::value(true),
            )
            .filter(macro_def::Column::Id.eq(m.id))
            .exec(txn)
            .await?;
    }
    let mut active = match existing {
        Some(w) => {
            let had_secret = w.signing_secret.is_some();
            let mut a = w.into_active_model();
            if !p.signing {
                a.signing_secret = Set(None);
                a.old_signing_secret = Set(None);
                a.old_secret_until = Set(None);
            } else if !had_secret {
                let s = SigningSecret::generate();
                a.signing_secret = Set(Some(sealer.seal(&s.to_text())));
            }
            a
        }
        None => {
            let secret = p.signing.then(SigningSecret::generate);
            webhook::ActiveModel {
                macro_id: Set(m.id),
                kind: Set(p.kind),
                signing_secret: Set(secret.map(|s| sealer.seal(&s.to_text()))),
                old_signing_secret: Set(None),
                old_secret_until: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
        }
    };
    active.name = Set(p.name.clone());
    active.email_to = Set(p.email_to.clone());
    active.email_subject = Set(p.email_subject.clone());
    active.method = Set(p.method.clone());
    active.url = Set(p.url.clone());
    active.headers = Set(headers_json(&seal_secret_headers(sealer, &p.headers)));
    active.content_type = Set(p.content_type);
    active.body = Set(p.body);
    active.capture_group_id = Set(p.capture_group_id);
    active.capture_project_id = Set(p.capture_project_id);
    active.retry_schedule = Set(p.retry_schedule.clone());
    // Saving is how a manager switches a webhook back on after a 410.
    active.enabled = Set(true);
    active.disabled_reason = Set(String::new());
    active.updated_at = Set(now);
    let saved = active.save(txn).await?;
    let id = match saved.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => id,
        _ => return Err(AppError::internal("saved webhook has no id")),
    };
    audit_trail::record(
        txn,
        actor,
        "webhook.saved",
        &p.name,
        &if p.kind == WebhookKind::Email {
            format!("email \"{}\" (macro {})", p.email_subject, m.name)
        } else {
            format!("{} {} (macro {})", p.method, p.url, m.name)
        },
    )
    .await?;
    Ok(id)
}

/// Pauses a webhook (its deliveries wait, queued, none sent) or resumes it (they go out, in
/// the order they were made).
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn set_paused(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    paused: bool,
) -> Result<(), AppError> {
    let w = find(db, id).await?;
    super::refuse_removal_to_project_managers(actor, super::macro_removes(db, w.macro_id).await?)?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    crate::server::engine::health::hold(&txn, id, paused, "", chrono::Utc::now()).await?;
    let action = if paused {
        "webhook.paused"
    } else {
        "webhook.resumed"
    };
    audit_trail::record(&txn, actor, action, &w.name, "").await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

/// A new signing secret; the old one keeps signing beside it for `ROTATION_OVERLAP`.
#[tracing::instrument(skip(db, sealer, actor), fields(actor_id = ?actor.user_id))]
pub async fn rotate_secret(
    db: &DatabaseConnection,
    sealer: &Sealer,
    actor: &Actor,
    id: i32,
) -> Result<(), AppError> {
    let w = find(db, id).await?;
    super::refuse_removal_to_project_managers(actor, super::macro_removes(db, w.macro_id).await?)?;
    let Some(current) = w.signing_secret.clone() else {
        return Err(AppError::BadRequest(
            "this webhook is not signed: switch signing on first".into(),
        ));
    };
    let name = w.name.clone();
    let fresh = SigningSecret::generate();
    let mut a = w.into_active_model();
    a.old_signing_secret = Set(Some(current));
    a.old_secret_until = Set(Some(Utc::now() + ROTATION_OVERLAP));
    a.signing_secret = Set(Some(sealer.seal(&fresh.to_text())));
    a.updated_at = Set(Utc::now());
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    a.update(&txn).await?;
    audit_trail::record(&txn, actor, "webhook.secret_rotated", &name, "").await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    confirmed: bool,
) -> Result<i32, AppError> {
    let id = super::confirmed_deletion(id_input, confirmed)?;
    let w = find(db, id).await?;
    super::refuse_removal_to_project_managers(actor, super::macro_removes(db, w.macro_id).await?)?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let sealed = cancel_waiting(
        &txn,
        webhook_delivery::Column::WebhookId.eq(id),
        "the webhook was deleted before it was sent",
    )
    .await?;
    webhook::Entity::delete_by_id(id).exec(&txn).await?;
    audit_trail::record(&txn, actor, "webhook.deleted", &w.name, "").await?;
    txn.commit().await?;
    drop(gate);
    if sealed {
        crate::server::engine::erasure::compact(
            db,
            crate::server::engine::erasure::DELIVERY_TABLES,
        )
        .await;
    }
    crate::server::cache::changed();
    Ok(w.macro_id)
}

/// Preview (nothing is sent or stored) or send-test (queued and sent as a test delivery) of
/// a webhook, rendered against a user (by email) or a ticket (by id).
#[tracing::instrument(skip(db, actor, target), fields(actor_id = ?actor.user_id))]
pub async fn try_out(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    target: &str,
    send: bool,
) -> Result<WebhookTryView, AppError> {
    let w = find(db, id).await?;
    let m = find_macro(db, w.macro_id).await?;
    // A removal's webhook is the community manager's to try, previews included (its page
    // offers a project manager neither).
    super::refuse_removal_to_project_managers(
        actor,
        crate::server::store::lookups::macro_of(&m)?.removes(),
    )?;
    let now = Utc::now();
    let target = target.trim();
    let (values, about) = if m.scope == SCOPE_FEEDBACK {
        let tid = parse_id(target.trim_start_matches('#'))
            .map_err(|_| AppError::field("target", "give a ticket's number, e.g. 42"))?;
        let t = ticket::Entity::find_by_id(tid)
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("target", format!("there is no ticket #{tid}")))?;
        (ticket_values(db, &t, now).await?, About::ticket(&t))
    } else {
        let email = crate::server::domain::Email::parse(target)
            .map_err(|m| AppError::field("target", m))?;
        let u = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("target", "no member has this email"))?;
        (
            Values::load(db, Some(&u), None, now).await?,
            About::user(&u),
        )
    };
    let rendered = render(&w, &values);
    if let Some(e) = &rendered.error {
        return Err(AppError::field("target", e.clone()));
    }
    let request = RequestView {
        method: rendered.request.method.clone(),
        url: rendered.request.url.clone(),
        headers: mask_headers(&rendered.request.headers),
        body: rendered.request.body.clone(),
    };
    let delivery_id = if send {
        let (txn, gate) = crate::server::db::begin_write(db).await?;
        let ids = queue(
            &txn,
            vec![rendered],
            Origin {
                macro_id: Some(m.id),
                run_id: None,
                about: &about,
                test: true,
                resend_of: None,
                seal: None,
            },
        )
        .await?;
        audit_trail::record(&txn, actor, "webhook.test_sent", &w.name, "").await?;
        txn.commit().await?;
        drop(gate);
        ids.first().copied()
    } else {
        None
    };
    Ok(WebhookTryView {
        target: about.label,
        request,
        delivery_id,
    })
}

/// Sends a delivery again as it was rendered, as a new delivery (the log keeps both).
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn resend(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<i64, AppError> {
    let d = webhook_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("delivery {id}")))?;
    let webhook_id = d.webhook_id.ok_or_else(|| {
        AppError::Conflict("its webhook was deleted: there is nothing to resend it with".into())
    })?;
    let w = find(db, webhook_id).await?;
    super::refuse_removal_to_project_managers(actor, super::macro_removes(db, w.macro_id).await?)?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let new_id = queue_again(&txn, &d, &w, None).await?;
    audit_trail::record(
        &txn,
        actor,
        "webhook.resent",
        &d.webhook_name,
        &format!("delivery {}", d.id),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    Ok(new_id)
}

/// Queues delivery `d` of webhook `w` again, as it was rendered, as a new delivery (of bulk
/// replay `replay`, if one): *Resend* and *Resend all* share it, and what it refuses.
async fn queue_again(
    txn: &impl ConnectionTrait,
    d: &webhook_delivery::Model,
    w: &webhook::Model,
    replay: Option<i32>,
) -> Result<i64, AppError> {
    // Read again in the write transaction, and the person or ticket it is about held (as a
    // removal takes them: PostgreSQL FOR KEY SHARE) until it commits: a removal that ran
    // since it was read has emptied it, and one that runs now waits, then cancels the copy.
    let d = &webhook_delivery::Entity::find_by_id(d.id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("delivery {}", d.id)))?;
    let about = match (d.target_user_id, d.target_ticket_id) {
        (Some(id), _) => Some(crate::server::engine::runs::RunTarget::User(id)),
        (None, Some(id)) => Some(crate::server::engine::runs::RunTarget::Ticket(id)),
        _ => None,
    };
    if let Some(about) = about
        && !crate::server::engine::runs::still_there(txn, about).await?
    {
        return Err(AppError::Conflict(
            "this delivery was erased with the person it was about".into(),
        ));
    }
    if d.url.is_empty() {
        return Err(AppError::Conflict(
            "this delivery was erased with the person it was about".into(),
        ));
    }
    if d.sealed {
        return Err(AppError::Conflict(
            "this delivery named a removed person: it is sent once, and what it held is erased \
             once it is sent or given up"
                .into(),
        ));
    }
    if !w.enabled {
        return Err(AppError::Conflict(format!(
            "the webhook {} is switched off ({}): save it to switch it on first",
            w.name, w.disabled_reason
        )));
    }
    let rendered = Rendered {
        webhook_id: w.id,
        name: d.webhook_name.clone(),
        kind: d.kind,
        request: Request {
            method: d.method.clone(),
            url: d.url.clone(),
            headers: headers_from(&d.headers),
            body: d.body.clone(),
        },
        error: None,
    };
    let about = About {
        user_id: d.target_user_id,
        ticket_id: d.target_ticket_id,
        label: d.target_label.clone(),
    };
    let ids = queue(
        txn,
        vec![rendered],
        Origin {
            macro_id: d.macro_id,
            run_id: d.run_id,
            about: &about,
            test: d.test,
            resend_of: Some(d.id),
            seal: None,
        },
    )
    .await?;
    let id = ids
        .first()
        .copied()
        .ok_or_else(|| AppError::internal("resend queued nothing"))?;
    if replay.is_some() {
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::ReplayId,
                sea_orm::sea_query::Expr::value(replay),
            )
            .filter(webhook_delivery::Column::Id.eq(id))
            .exec(txn)
            .await?;
    }
    Ok(id)
}

/// The deliveries the log's filters match.
fn matching_deliveries(q: &DeliveryQuery) -> sea_orm::Select<webhook_delivery::Entity> {
    let mut find = webhook_delivery::Entity::find();
    if let Some(id) = q.macro_id {
        find = find.filter(webhook_delivery::Column::MacroId.eq(id));
    }
    if let Some(id) = q.webhook_id {
        find = find.filter(webhook_delivery::Column::WebhookId.eq(id));
    }
    if let Some(id) = q.user_id {
        find = find.filter(webhook_delivery::Column::TargetUserId.eq(id));
    }
    if let Some(id) = q.ticket_id {
        find = find.filter(webhook_delivery::Column::TargetTicketId.eq(id));
    }
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        find = find.filter(webhook_delivery::Column::Status.eq(s));
    }
    if let Some(h) = q.hours.filter(|h| *h > 0) {
        // At most ten years back: a bigger number means the same, and cannot overflow.
        let h = i64::from(h.min(MAX_HOURS));
        find = find.filter(
            webhook_delivery::Column::CreatedAt.gte(Utc::now() - chrono::Duration::hours(h)),
        );
    }
    find
}

/// The log's time filter reaches back at most this many hours (ten years).
const MAX_HOURS: u32 = 87_600;

/// Of the matching deliveries, those *Resend all* sends again (what `queue_again` takes):
/// finished (none still waiting or being sent), not sealed nor erased, of a webhook that is
/// on, and (for a project manager) not of a macro that removes users.
async fn replayable(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: &DeliveryQuery,
) -> Result<sea_orm::Select<webhook_delivery::Entity>, AppError> {
    use sea_orm::sea_query::{Expr, Query};
    let on = Query::select()
        .column(webhook::Column::Id)
        .from(webhook::Entity)
        .and_where(sea_orm::sea_query::ExprTrait::eq(
            Expr::col(webhook::Column::Enabled),
            true,
        ))
        .to_owned();
    let mut find = matching_deliveries(q)
        .filter(webhook_delivery::Column::Status.is_in([
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
            DeliveryStatus::Cancelled,
        ]))
        .filter(webhook_delivery::Column::Sealed.eq(false))
        .filter(webhook_delivery::Column::ErasedAt.is_null())
        .filter(webhook_delivery::Column::WebhookId.in_subquery(on))
        // Emptied with a removed person (whatever its status): nothing left to send.
        .filter(webhook_delivery::Column::Url.ne(""));
    if !super::may_use_removals(actor) {
        let locked: Vec<i32> = super::removal_macros(db)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if !locked.is_empty() {
            find = find.filter(webhook_delivery::Column::MacroId.is_not_in(locked));
        }
    }
    Ok(find)
}

/// How many deliveries are sent again in one transaction of a bulk replay.
const REPLAY_BATCH: u64 = 200;

/// *Resend all*: sends every matching delivery again (`replayable`), as new deliveries of one
/// bulk replay, queued in batches of `REPLAY_BATCH` (each its own transaction, so the writer is
/// never held long). `expected` is the count the manager confirmed: another count now means
/// the set changed under them, and nothing is sent. The replay's id, for its progress page.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn replay(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &crate::types::ReplayForm,
) -> Result<i32, AppError> {
    let mut errors = FieldErrors::new();
    let optional = |raw: &str| -> Result<Option<i32>, String> {
        match raw.trim() {
            "" => Ok(None),
            raw => parse_id(raw).map(Some),
        }
    };
    let q = DeliveryQuery {
        macro_id: errors.check("macro_id", optional(&form.macro_id)).flatten(),
        webhook_id: errors
            .check("webhook_id", optional(&form.webhook_id))
            .flatten(),
        user_id: errors.check("user_id", optional(&form.user_id)).flatten(),
        ticket_id: errors
            .check("ticket_id", optional(&form.ticket_id))
            .flatten(),
        status: match form.status.trim() {
            "" => None,
            s if DeliveryStatus::parse(s).is_some() => Some(s.to_string()),
            _ => {
                errors.push("status", "is not a delivery status");
                None
            }
        },
        hours: match form.hours.trim() {
            "" => None,
            raw => errors.check(
                "hours",
                raw.parse::<u32>()
                    .map_err(|_| "must be a whole number of hours".to_string()),
            ),
        },
        page: 0,
    };
    let expected: Option<u64> = errors.check(
        "expected",
        form.expected
            .trim()
            .parse()
            .map_err(|_| "is missing: look at the count first".to_string()),
    );
    let upto: Option<i64> = errors.check(
        "expected",
        form.upto
            .trim()
            .parse()
            .map_err(|_| "is missing: look at the count first".to_string()),
    );
    let token = form.token.trim();
    if token.is_empty() || token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.push(
            "expected",
            "the form is incomplete: look at the count again",
        );
    }
    if let Some(h) = q.hours
        && h > MAX_HOURS
    {
        errors.push("hours", format!("must be at most {MAX_HOURS}"));
    }
    if form.confirm.is_none() {
        errors.push("confirm", "tick the box to send them again");
    }
    errors.into_result()?;
    // The same form sent again (a double click, a reload): the replay it made.
    if let Some(r) = crate::server::entities::replay::Entity::find()
        .filter(crate::server::entities::replay::Column::Token.eq(token))
        .one(db)
        .await?
    {
        return Ok(r.id);
    }
    let newest = upto.unwrap_or_default();
    let select = replayable(db, actor, &q)
        .await?
        .filter(webhook_delivery::Column::Id.lte(newest));
    let total = select.clone().count(db).await?;
    if Some(total) != expected {
        return Err(AppError::field(
            "expected",
            format!(
                "the log changed: {total} deliveries match now, not {}; look at the count again",
                expected.unwrap_or_default()
            ),
        ));
    }
    if total == 0 {
        return Err(AppError::field(
            "expected",
            "no delivery matches: nothing to send",
        ));
    }
    let description = replay_description(db, &q, total).await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let inserted = crate::server::entities::replay::ActiveModel {
        description: Set(description.clone()),
        total: Set(i32::try_from(total).unwrap_or(i32::MAX)),
        created_by: Set(actor.label.chars().take(200).collect()),
        created_at: Set(Utc::now()),
        token: Set(token.to_string()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let r = match inserted {
        Ok(r) => r,
        // The same form, sent at the same moment, made it first: its replay.
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            txn.rollback().await?;
            drop(gate);
            return crate::server::entities::replay::Entity::find()
                .filter(crate::server::entities::replay::Column::Token.eq(token))
                .one(db)
                .await?
                .map(|r| r.id)
                .ok_or_else(|| AppError::internal("replay vanished"));
        }
        Err(e) => return Err(e.into()),
    };
    audit_trail::record(
        &txn,
        actor,
        "webhook.replayed",
        &description,
        &format!("replay {}", r.id),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    // Keyset pages of what was counted (ids up to the newest then), so the deliveries this
    // replay makes are never matched again by it; never more than were confirmed.
    let mut after = 0i64;
    let mut sent = 0u64;
    while sent < total {
        let batch = select
            .clone()
            .filter(webhook_delivery::Column::Id.gt(after))
            .filter(webhook_delivery::Column::Id.lte(newest))
            .order_by_asc(webhook_delivery::Column::Id)
            .limit(REPLAY_BATCH)
            .all(db)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let ids: Vec<i32> = batch.iter().filter_map(|d| d.webhook_id).collect();
        let hooks = webhook::Entity::find()
            .filter(webhook::Column::Id.is_in(ids))
            .all(db)
            .await?;
        let (txn, gate) = crate::server::db::begin_write(db).await?;
        for d in &batch {
            let Some(w) = hooks.iter().find(|w| Some(w.id) == d.webhook_id) else {
                continue;
            };
            if sent >= total {
                break;
            }
            // One that can no longer be sent (its webhook switched off meanwhile) is left out.
            if queue_again(&txn, d, w, Some(r.id)).await.is_ok() {
                sent += 1;
            }
        }
        txn.commit().await?;
        drop(gate);
    }
    if sent != total {
        crate::server::entities::replay::Entity::update_many()
            .col_expr(
                crate::server::entities::replay::Column::Total,
                sea_orm::sea_query::Expr::value(i32::try_from(sent).unwrap_or(i32::MAX)),
            )
            .filter(crate::server::entities::replay::Column::Id.eq(r.id))
            .exec(db)
            .await?;
    }
    Ok(r.id)
}

/// What a replay matched, in words.
async fn replay_description(
    db: &impl ConnectionTrait,
    q: &DeliveryQuery,
    total: u64,
) -> Result<String, AppError> {
    let mut parts = vec![format!(
        "{total} {}deliver{}",
        q.status
            .as_deref()
            .map(|s| format!("{s} "))
            .unwrap_or_default(),
        if total == 1 { "y" } else { "ies" }
    )];
    if let Some(id) = q.webhook_id {
        let name = webhook::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|w| w.name)
            .unwrap_or_else(|| format!("webhook {id}"));
        parts.push(format!("of the webhook {name}"));
    }
    if let Some(id) = q.macro_id {
        let name = macro_def::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|m| m.name)
            .unwrap_or_else(|| format!("macro {id}"));
        parts.push(format!("of the macro {name}"));
    }
    if let Some(id) = q.user_id {
        parts.push(format!("about user {id}"));
    }
    if let Some(id) = q.ticket_id {
        parts.push(format!("about ticket #{id}"));
    }
    if let Some(h) = q.hours.filter(|h| *h > 0) {
        parts.push(format!("from the last {h} hours"));
    }
    Ok(parts.join(" "))
}

/// A bulk replay and how far its deliveries have got.
pub async fn replay_progress(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i32,
) -> Result<crate::types::ReplayView, AppError> {
    let r = crate::server::entities::replay::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("replay {id}")))?;
    // A replay of a removal's deliveries is the community manager's to look at.
    if !super::may_use_removals(actor) {
        let locked: Vec<i32> = super::removal_macros(db)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if !locked.is_empty()
            && webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::ReplayId.eq(id))
                .filter(webhook_delivery::Column::MacroId.is_in(locked))
                .count(db)
                .await?
                > 0
        {
            super::refuse_removal_to_project_managers(actor, true)?;
        }
    }
    let rows: Vec<(DeliveryStatus, i64)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Status)
        .column_as(webhook_delivery::Column::Id.count(), "n")
        .filter(webhook_delivery::Column::ReplayId.eq(id))
        .group_by(webhook_delivery::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let n = |wanted: &[DeliveryStatus]| -> u64 {
        rows.iter()
            .filter(|(s, _)| wanted.contains(s))
            .map(|(_, n)| u64::try_from(*n).unwrap_or_default())
            .sum()
    };
    let paused = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::ReplayId.eq(id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Queued))
        .filter(
            webhook_delivery::Column::NextAttemptAt
                .gte(crate::server::engine::outbox::paused_from()),
        )
        .count(db)
        .await?;
    Ok(crate::types::ReplayView {
        id: r.id,
        description: r.description,
        created_by: r.created_by,
        created_at: format_time(&r.created_at),
        total: u64::try_from(r.total).unwrap_or_default(),
        succeeded: n(&[DeliveryStatus::Succeeded]),
        failed: n(&[DeliveryStatus::Failed, DeliveryStatus::Cancelled]),
        waiting: n(&[DeliveryStatus::Queued, DeliveryStatus::Sending]),
        paused,
    })
}

fn delivery_view(d: &webhook_delivery::Model, macros: &[(i32, String)]) -> DeliveryView {
    DeliveryView {
        id: d.id,
        webhook_id: d.webhook_id,
        webhook_name: d.webhook_name.clone(),
        macro_id: d.macro_id,
        macro_name: d
            .macro_id
            .and_then(|id| macros.iter().find(|(m, _)| *m == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "(deleted macro)".into()),
        run_id: d.run_id,
        target: d.target_label.clone(),
        target_user_id: d.target_user_id,
        target_ticket_id: d.target_ticket_id,
        kind: d.kind.to_string(),
        method: d.method.clone(),
        url: d.url.clone(),
        status: d.status,
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error.clone(),
        next_attempt_at: match d.status {
            DeliveryStatus::Queued
                if crate::server::engine::outbox::is_paused_until(&d.next_attempt_at) =>
            {
                Some("when its webhook is resumed (paused)".into())
            }
            DeliveryStatus::Queued if d.attempts > 0 => Some(format_time(&d.next_attempt_at)),
            _ => None,
        },
        created_at: format_time(&d.created_at),
        test: d.test,
        resend_of: d.resend_of,
        sealed: d.sealed,
        erased_at: d.erased_at.as_ref().map(format_time),
    }
}

async fn macro_names(db: &impl ConnectionTrait) -> Result<Vec<(i32, String)>, AppError> {
    Ok(macro_def::Entity::find()
        .select_only()
        .column(macro_def::Column::Id)
        .column(macro_def::Column::Name)
        .order_by_asc(macro_def::Column::Name)
        .into_tuple()
        .all(db)
        .await?)
}

pub const LOG_PAGE: u32 = 50;

/// The webhook log: deliveries newest first, narrowed by macro, webhook, user, ticket,
/// status and age, with each webhook's success over the last 7 days.
pub async fn log(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: &DeliveryQuery,
) -> Result<WebhookLogView, AppError> {
    let find = matching_deliveries(q);
    let total = find.clone().count(db).await?;
    // *Resend all* is offered once the log is narrowed (never for every delivery there is), so
    // the plain log costs no second count.
    let narrowed = q.macro_id.is_some()
        || q.webhook_id.is_some()
        || q.user_id.is_some()
        || q.ticket_id.is_some()
        || q.status.as_deref().is_some_and(|s| !s.is_empty())
        || q.hours.is_some_and(|h| h > 0);
    let (replay_upto, replayable) = if narrowed {
        replay_count(db, actor, q).await?
    } else {
        (0, 0)
    };
    let rows = find
        .order_by_desc(webhook_delivery::Column::Id)
        .offset(u64::from(q.page) * u64::from(LOG_PAGE))
        .limit(u64::from(LOG_PAGE))
        .all(db)
        .await?;
    let macros = macro_names(db).await?;
    let mut hooks = webhook::Entity::find().order_by_asc(webhook::Column::Name);
    if let Some(id) = q.macro_id {
        hooks = hooks.filter(webhook::Column::MacroId.eq(id));
    }
    let hooks = hooks.all(db).await?;
    let ids: Vec<i32> = hooks.iter().map(|w| w.id).collect();
    let c = counts(db, &ids).await?;
    let with_hooks: Vec<i32> = webhook::Entity::find()
        .select_only()
        .column(webhook::Column::MacroId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let subject = if let Some(id) = q.user_id {
        let name = user::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|u| format!("{} {}", u.first_name, u.last_name))
            .unwrap_or_else(|| format!("user {id}"));
        Some((format!("Deliveries about {name}"), format!("/users/{id}")))
    } else {
        q.ticket_id.map(|id| {
            (
                format!("Deliveries about ticket #{id}"),
                format!("/feedback/{id}"),
            )
        })
    };
    Ok(WebhookLogView {
        deliveries: rows.iter().map(|d| delivery_view(d, &macros)).collect(),
        page: q.page,
        per_page: LOG_PAGE,
        total,
        macros: macros
            .iter()
            .filter(|(id, _)| with_hooks.contains(id))
            .cloned()
            .collect(),
        webhooks: hooks.iter().map(|w| (w.id, w.name.clone())).collect(),
        rates: hooks
            .iter()
            .zip(c)
            .map(|(w, (_, counts))| WebhookRate {
                webhook_id: w.id,
                name: w.name.clone(),
                counts,
            })
            .collect(),
        subject,
        replayable,
        replay_upto,
        replay_token: format!("{:032x}", rand::random::<u128>()),
    })
}

/// What *Resend all* would send now: the newest matching delivery, and how many there are up
/// to it (the form carries both, so the replay sends what was counted and nothing newer).
async fn replay_count(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: &DeliveryQuery,
) -> Result<(i64, u64), AppError> {
    let select = replayable(db, actor, q).await?;
    let newest: Option<i64> = select
        .clone()
        .select_only()
        .column_as(webhook_delivery::Column::Id.max(), "max")
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    let Some(newest) = newest else {
        return Ok((0, 0));
    };
    let n = select
        .filter(webhook_delivery::Column::Id.lte(newest))
        .count(db)
        .await?;
    Ok((newest, n))
}

/// One delivery with every attempt.
/// One delivery with its attempts; `locked` when it was sent for a macro that removes users
/// and `actor` may not resend it.
pub async fn delivery(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
) -> Result<DeliveryDetailView, AppError> {
    let d = webhook_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("delivery {id}")))?;
    let macros = macro_names(db).await?;
    let attempts = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(id))
        .order_by_asc(webhook_attempt::Column::Attempt)
        .all(db)
        .await?
        .into_iter()
        .map(|a| AttemptView {
            attempt: a.attempt,
            started_at: format_time(&a.started_at),
            duration_ms: a.duration_ms,
            request_headers: headers_from(&a.request_headers),
            response_status: a.response_status,
            response_headers: headers_from(&a.response_headers),
            response_body: a.response_body,
            error: a.error,
            capture_note: a.capture_note,
            next_retry_at: a.next_retry_at.as_ref().map(format_time),
        })
        .collect();
    Ok(DeliveryDetailView {
        delivery: delivery_view(&d, &macros),
        request: RequestView {
            method: d.method.clone(),
            url: d.url.clone(),
            headers: mask_headers(&headers_from(&d.headers)),
            // A sealed request is shown as sealed, never as its ciphertext.
            body: if d.sealed {
                String::new()
            } else {
                d.body.clone()
            },
        },
        attempts,
        locked: match d.macro_id {
            // A macro deleted since is no removal to guard.
            Some(m) if !super::may_use_removals(actor) => {
                match macro_def::Entity::find_by_id(m).one(db).await? {
                    Some(m) => crate::server::store::lookups::macro_of(&m)?.removes(),
                    None => false,
                }
            }
            _ => false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::engine::outbox::*;

    fn form(body: &str) -> WebhookForm {
        WebhookForm {
            name: "Slack".into(),
            method: "post".into(),
            url: "https://hooks.slack.com/services/T/B/X".into(),
            headers: "Authorization: Bearer abc\nX-Team: beta".into(),
            content_type: "json".into(),
            body: body.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_webhook_form_parses_and_its_json_is_checked_with_tags_filled_in() {
        let p = parse_form(
            &form(r#"{"text": "((feedback.title))", "n": ((feedback.popularity))}"#),
            "feedback",
            &[],
            &[],
            None,
        )
        .unwrap();
        assert_eq!(p.method, "POST");
        assert_eq!(
            p.headers,
            vec![
                ("Authorization".to_string(), "Bearer abc".to_string()),
                ("X-Team".to_string(), "beta".to_string())
            ]
        );
        let err = parse_form(
            &form(r#"{"text": ((feedback.title))}"#),
            "feedback",
            &[],
            &[],
            None,
        )
        .unwrap_err();
        assert!(err.field_message("body").unwrap().contains("inside quotes"));
        let err = parse_form(
            &form(r#"{"text": "((user.password))"}"#),
            "user",
            &[],
            &[],
            None,
        )
        .unwrap_err();
        assert!(
            err.field_message("body")
                .unwrap()
                .contains("((user.password))")
        );
        let err = parse_form(
            &WebhookForm {
                url: "ftp://x".into(),
                method: "FETCH".into(),
                headers: "Host: evil".into(),
                ..form("")
            },
            "user",
            &[],
            &[],
            None,
        )
        .unwrap_err();
        assert!(err.field_message("url").is_some());
        assert!(err.field_message("method").is_some());
        assert!(err.field_message("headers").unwrap().contains("Host"));
        let err = parse_form(
            &WebhookForm {
                method: "GET".into(),
                ..form("{}")
            },
            "user",
            &[],
            &[],
            None,
        )
        .unwrap_err();
        assert!(err.field_message("body").unwrap().contains("GET"));
    }

    #[test]
    fn masked_header_values_keep_what_is_stored_and_secrets_never_show() {
        let stored = vec![("Authorization".to_string(), "Bearer s3cret".to_string())];
        let shown = mask_headers(&stored);
        assert_eq!(shown[0].1, format!("Bearer {MASK}"));
        let back = format!("Authorization: {}\nX-Other: 1", shown[0].1);
        let parsed = parse_headers(&back, &stored, None).unwrap();
        assert_eq!(parsed[0].1, "Bearer s3cret");
        assert!(parse_headers(&format!("X-Api-Key: {MASK}"), &stored, None).is_err());
        assert!(is_secret_header("X-Api-Key") && is_secret_header("X-Auth-Token"));
        assert!(!is_secret_header("Content-Type") && !is_secret_header("webhook-signature"));
    }

    #[test]
    fn secret_header_names_cover_the_common_vendors() {
        for name in [
            "Authorization",
            "Authentication",
            "Proxy-Authorization",
            "Cookie",
            "X-Api-Key",
            "Api-Key",
            "apikey",
            "X-Auth-Key",
            "X-Auth-Token",
            "Ocp-Apim-Subscription-Key",
            "X-Access-Token",
            "X-Client-Secret",
            "X-Credentials",
            "X-Session-Id",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in [
            "Content-Type",
            "Accept",
            "X-Team",
            "X-Author",
            "Idempotency-Key",
            "webhook-signature",
        ] {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    #[test]
    fn secret_header_values_are_sealed_at_rest_and_open_only_with_the_key() {
        let sealer = Sealer::from_key(&[3; 32]);
        let typed = vec![
            (
                "Authorization".to_string(),
                "Bearer s3cret-token".to_string(),
            ),
            ("X-Api-Key".to_string(), "k-123456".to_string()),
            ("X-Team".to_string(), "beta".to_string()),
        ];
        let stored = seal_secret_headers(&sealer, &typed);
        let json = headers_json(&stored);
        assert!(
            !json.contains("s3cret-token") && !json.contains("k-123456"),
            "{json}"
        );
        assert!(json.contains("beta"));
        assert!(!has_plain_secret(&stored) && has_plain_secret(&typed));
        // Sealing again changes nothing; the screens still show the scheme word.
        assert_eq!(seal_secret_headers(&sealer, &stored), stored);
        assert_eq!(mask_headers(&stored)[0].1, format!("Bearer {MASK}"));
        assert_eq!(mask_headers(&stored)[1].1, MASK);
        let mut opened = stored.clone();
        let secrets = open_secret_headers(&sealer, &mut opened).unwrap();
        assert!(secrets.contains(&"s3cret-token".to_string()), "{secrets:?}");
        assert_eq!(opened, typed);
        let mut wrong = stored.clone();
        assert!(open_secret_headers(&Sealer::from_key(&[4; 32]), &mut wrong).is_err());
    }

    #[test]
    fn a_kept_secret_only_goes_to_the_host_it_went_to() {
        let stored = vec![("Authorization".to_string(), "Bearer s3cret".to_string())];
        let kept = format!("Authorization: Bearer {MASK}");
        assert!(parse_headers(&kept, &stored, None).is_ok());
        let err = parse_headers(&kept, &stored, Some("https://evil.example")).unwrap_err();
        assert!(
            err.contains("type the value of Authorization again"),
            "{err}"
        );
        assert!(
            parse_headers(
                "Authorization: Bearer new",
                &stored,
                Some("https://evil.example")
            )
            .is_ok()
        );
        for (before, after, same) in [
            (
                "https://hooks.example.com/a",
                "https://hooks.example.com/b?x=1",
                true,
            ),
            (
                "https://hooks.example.com/a",
                "HTTPS://Hooks.Example.com/a",
                true,
            ),
            (
                "https://hooks.example.com/a",
                "https://hooks.example.com.evil.io/a",
                false,
            ),
            (
                "https://hooks.example.com/a",
                "https://hooks.example.com:8443/a",
                false,
            ),
            (
                "https://hooks.example.com/a",
                "http://hooks.example.com/a",
                false,
            ),
            (
                "https://hooks.example.com/a",
                "https://evil.example/hooks.example.com/a",
                false,
            ),
            (
                "https://hooks.example.com?a",
                "https://hooks.example.com@evil.example",
                false,
            ),
        ] {
            assert_eq!(
                authority(before) == authority(after),
                same,
                "{before} → {after}"
            );
        }
        let err = parse_headers("X-Api-Key: ((user.email))", &[], None).unwrap_err();
        assert!(err.contains("cannot hold tags"), "{err}");
    }

    #[test]
    fn emails_need_a_subject_and_text() {
        let email = WebhookForm {
            kind: "email".into(),
            name: "Welcome".into(),
            email_subject: "Hi ((user.first_name))".into(),
            body: "Your score: ((user.score))".into(),
            ..Default::default()
        };
        let p = parse_form(&email, "user", &[], &[], None).unwrap();
        assert_eq!(
            (p.kind, p.method.as_str(), p.email_to.as_str()),
            (WebhookKind::Email, "EMAIL", "")
        );
        let err = parse_form(
            &WebhookForm {
                email_to: "not an address".into(),
                email_subject: String::new(),
                body: " ".into(),
                ..email
            },
            "user",
            &[],
            &[],
            None,
        )
        .unwrap_err();
        for field in ["email_to", "email_subject", "body"] {
            assert!(err.field_message(field).is_some(), "{field}: {err:?}");
        }
    }

    #[test]
    fn every_preset_saves_as_it_is() {
        let keys = crate::types::WEBHOOK_PRESETS.iter().map(|(k, _)| *k);
        for key in keys.chain(["email"]) {
            for scope in ["user", "feedback"] {
                let f = preset(key, scope);
                parse_form(&f, scope, &[], &[], None)
                    .unwrap_or_else(|e| panic!("{key} ({scope}): {e:?}"));
            }
        }
    }
}
