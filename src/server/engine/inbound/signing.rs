//! Signed calls, for listeners and external sources alike (docs/listener-api.md, "Signed
//! calls"): what a listener or source keeps of its scheme and secrets (`Signing`), the check of
//! a call's signature (`check`), the API key a signed call without one counts as (`key_of`),
//! and the sender's own delivery id that keys a repeated delivery (`delivery_id`).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;

use super::{Refusal, Reply};
use crate::errors::AppError;
use crate::server::domain::inbound_signature::{self as sig, Scheme};
use crate::server::engine::keys;
use crate::server::engine::runtime::Runtime;
use crate::server::entities::{external_source, listener};

/// How a listener's or source's calls are signed: its scheme (empty: not signed), its sealed
/// secret, and during a rotation the one it replaced, until when.
pub struct Signing<'a> {
    pub scheme: &'a str,
    pub secret: Option<&'a String>,
    pub old_secret: Option<&'a String>,
    pub old_until: Option<DateTime<Utc>>,
}

impl<'a> Signing<'a> {
    pub fn of_listener(l: &'a listener::Model) -> Self {
        Signing {
            scheme: &l.signature_scheme,
            secret: l.signing_secret.as_ref(),
            old_secret: l.old_signing_secret.as_ref(),
            old_until: l.old_secret_until,
        }
    }

    pub fn of_source(s: &'a external_source::Model) -> Self {
        Signing {
            scheme: &s.signature_scheme,
            secret: s.signing_secret.as_ref(),
            old_secret: s.old_signing_secret.as_ref(),
            old_until: s.old_secret_until,
        }
    }

    pub fn on(&self) -> bool {
        !self.scheme.is_empty()
    }
}

/// A call's signature, checked against the secret and, during a rotation's overlap, the one it
/// replaced: 401 `invalid_signature` saying what is wrong (never the secret or the expected
/// signature). `what` names the listener or source in the message.
pub fn check(
    state: &Runtime,
    signing: &Signing<'_>,
    headers: &http::HeaderMap,
    raw_body: &[u8],
    what: &str,
    id: i32,
) -> Result<(), Reply> {
    let refuse = |message: String| Err(Reply::refused(Refusal::InvalidSignature, &message));
    let Some(scheme) = Scheme::parse(signing.scheme) else {
        return refuse(format!(
            "this {what}'s signature scheme is unknown: a manager must set it again"
        ));
    };
    let now = Utc::now();
    let mut secrets = Vec::new();
    for (sealed, live) in [
        (signing.secret, true),
        (
            signing.old_secret,
            signing.old_until.is_some_and(|until| until > now),
        ),
    ] {
        if let (Some(sealed), true) = (sealed, live) {
            match state.sealer.open(sealed) {
                Ok(secret) => secrets.push(secret),
                Err(e) => {
                    tracing::warn!(what, id, error = %e, "cannot open a signing secret")
                }
            }
        }
    }
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    match sig::verify(
        scheme,
        &secrets,
        &header,
        raw_body,
        now.timestamp(),
        sig::DEFAULT_TOLERANCE_SECS,
    ) {
        Ok(()) => Ok(()),
        Err(e) => refuse(e.message()),
    }
}

/// The API key a signed call without one counts as: the listener's or source's own
/// (`api_key_id`), checked like a presented key (enabled, the caller inside its allow-list).
pub async fn key_of(
    state: &Runtime,
    api_key_id: Option<i32>,
    caller: IpAddr,
    what: &str,
) -> Result<Result<i32, Reply>, AppError> {
    use crate::server::entities::api_key;
    let refuse = |r: keys::KeyRejection| Ok(Err(Reply::refused(r.refusal(), r.message())));
    let Some(id) = api_key_id else {
        return Ok(Err(Reply::refused(
            if what == "source" {
                Refusal::SourceNotConfigured
            } else {
                Refusal::ListenerNotConfigured
            },
            &format!("this {what} takes signed calls but has no API key for them to count as"),
        )));
    };
    let Some(key) = api_key::Entity::find_by_id(id).one(&state.db).await? else {
        return refuse(keys::KeyRejection::Unknown);
    };
    match keys::admit(&key, caller) {
        Ok(k) => Ok(Ok(k.id)),
        Err(r) => refuse(r),
    }
}

/// The sender's own id of a signed delivery (Standard Webhooks `webhook-id`, GitHub
/// `X-GitHub-Delivery`, Atlassian `X-Atlassian-Webhook-Identifier`, Stripe's event `id`),
/// prefixed so it cannot meet a caller's own `Idempotency-Key`. Slack sends none.
pub fn delivery_id(
    scheme: &str,
    headers: &http::HeaderMap,
    body: Option<&serde_json::Value>,
) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let scheme = Scheme::parse(scheme)?;
    let id = match scheme {
        Scheme::StandardWebhooks => header("webhook-id").or_else(|| header("svix-id")),
        Scheme::GitHub => header("x-github-delivery"),
        Scheme::Atlassian => header("x-atlassian-webhook-identifier"),
        Scheme::Stripe => body
            .and_then(|b| b.get("id"))
            .and_then(|v| v.as_str())
            .map(str::to_string),
        Scheme::Slack => None,
    }?;
    Some(format!("delivery:{}:{id}", scheme.as_str()))
}
