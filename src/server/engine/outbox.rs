//! The outgoing side of webhooks: rendering a webhook against a run's user or ticket (every
//! tag value escaped for where it lands), sealing secret headers, and queueing the request as
//! a delivery in the run's own transaction; `engine::delivery` sends it later. Also what an
//! erasure does to deliveries about the person. Editing webhooks, the log and the *send test*
//! and *resend* buttons are `admin::webhooks`, which go through this same rendering and queue.

use crate::server::engine::erasure::Identity;
use crate::server::engine::tags::{Place, Values};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::errors::AppError;
use crate::server::entities::{
    macro_def, ticket, user, webhook, webhook_attempt, webhook_delivery,
};
use crate::server::secrets::Sealer;
use crate::server::signing::SigningSecret;
use crate::shared::definitions::MASK;
use crate::shared::vocab::{ContentType, DeliveryStatus, WebhookKind};
use serde::{Deserialize, Serialize};

/// How long a rotated-out signing secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// When the deliveries of a paused webhook are due: never, until it is resumed (then they are
/// due from when they were made, so they go out in that order).
pub fn paused_until() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_214_400, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// From when on a next attempt is the pause's (a paused delivery's is `paused_until`, give
/// or take the moment it was deferred): the year 9000.
pub fn paused_from() -> DateTime<Utc> {
    DateTime::from_timestamp(221_845_392_000, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether a delivery's next attempt is the pause's (its webhook is paused).
pub fn is_paused_until(at: &DateTime<Utc>) -> bool {
    *at >= paused_from()
}

/// Headers whose values are secrets: masked on screen and in the log.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if matches!(n.as_str(), "webhook-signature" | "idempotency-key") {
        return false;
    }
    // Whole words of the name (`X-Auth-Key`: auth, key), or words that are secret wherever
    // they stand (`X-AccessToken`); `X-Author` is no secret.
    let words = [
        "auth",
        "authorization",
        "authentication",
        "key",
        "session",
        "cookie",
    ];
    n.split(['-', '_']).any(|w| words.contains(&w))
        || [
            "token",
            "secret",
            "password",
            "passwd",
            "apikey",
            "credential",
            "signature",
        ]
        .iter()
        .any(|w| n.contains(w))
}

/// A secret value's auth scheme word (`Bearer`, `Basic`, `Token`, `Bot`) and the secret after
/// it; None when it has none. The scheme stays readable where the secret is masked or sealed.
fn auth_scheme(value: &str) -> Option<(&str, &str)> {
    value.split_once(' ').filter(|(scheme, _)| {
        ["bearer", "basic", "token", "bot"].contains(&scheme.to_ascii_lowercase().as_str())
    })
}

/// A secret header value as the screen shows it: an auth scheme word stays readable.
fn mask_value(value: &str) -> String {
    match auth_scheme(value) {
        Some((scheme, _)) => format!("{scheme} {MASK}"),
        None => MASK.to_string(),
    }
}

pub fn mask_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let shown = if is_secret_header(n) {
                mask_value(v)
            } else {
                v.clone()
            };
            (n.clone(), shown)
        })
        .collect()
}

/// Marks a secret header value stored encrypted: `"\u{1}sealed:"` and the sealed text. A
/// control character cannot be typed into a header, so no value typed can look like one.
pub(crate) const SEALED_VALUE: &str = "\u{1}sealed:";

/// A secret header's value as it is stored: sealed with the key file, the auth scheme word
/// (`Bearer`, `Basic`, `Token`, `Bot`) kept readable so the screens can show it. A value
/// already sealed (kept from the stored webhook) stays as it is.
fn seal_value(sealer: &Sealer, value: &str) -> String {
    if value.contains(SEALED_VALUE) {
        return value.to_string();
    }
    match auth_scheme(value) {
        Some((scheme, rest)) => format!("{scheme} {SEALED_VALUE}{}", sealer.seal(rest)),
        None => format!("{SEALED_VALUE}{}", sealer.seal(value)),
    }
}

/// The headers with every secret one's value sealed.
pub fn seal_secret_headers(sealer: &Sealer, headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let v = if is_secret_header(n) {
                seal_value(sealer, v)
            } else {
                v.clone()
            };
            (n.clone(), v)
        })
        .collect()
}

/// The headers with their sealed values opened (for the sender, just before it sends).
/// Returns the secrets it opened (what follows the scheme word), each also in base64: what
/// an answer echoing the request must not keep.
pub fn open_secret_headers(
    sealer: &Sealer,
    headers: &mut [(String, String)],
) -> Result<Vec<String>, String> {
    use base64::Engine;
    let mut secrets = Vec::new();
    for (n, v) in headers.iter_mut() {
        if let Some(at) = v.find(SEALED_VALUE) {
            let opened = sealer
                .open(&v[at + SEALED_VALUE.len()..])
                .map_err(|e| format!("the value of {n}: {e}"))?;
            *v = format!("{}{opened}", &v[..at]);
            if opened.chars().count() >= 4 {
                secrets.push(base64::engine::general_purpose::STANDARD.encode(&opened));
                secrets.push(opened);
            }
        }
    }
    Ok(secrets)
}

/// Whether any header value is still stored in the clear although its header is secret.
pub(crate) fn has_plain_secret(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, v)| is_secret_header(n) && !v.contains(SEALED_VALUE))
}

/// Seals the secret header values that were stored in the clear before they were sealed at
/// rest (webhooks and their deliveries), once per installation; later saves seal as they go.
pub async fn seal_stored_secret_headers(
    db: &DatabaseConnection,
    sealer: &Sealer,
) -> Result<(), AppError> {
    use crate::server::entities::community;
    if community::Entity::find()
        .filter(community::Column::SecretsSealed.eq(false))
        .count(db)
        .await?
        == 0
    {
        return Ok(());
    }
    for w in webhook::Entity::find().all(db).await? {
        let headers = headers_from(&w.headers);
        if has_plain_secret(&headers) {
            webhook::Entity::update_many()
                .col_expr(
                    webhook::Column::Headers,
                    Expr::value(headers_json(&seal_secret_headers(sealer, &headers))),
                )
                .filter(webhook::Column::Id.eq(w.id))
                .filter(webhook::Column::Headers.eq(w.headers.clone()))
                .exec(db)
                .await?;
        }
    }
    let mut after = 0i64;
    loop {
        let page = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Id)
            .column(webhook_delivery::Column::Headers)
            .filter(webhook_delivery::Column::Id.gt(after))
            .filter(webhook_delivery::Column::Sealed.eq(false))
            .order_by_asc(webhook_delivery::Column::Id)
            .limit(1000)
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        for (id, json) in page {
            let headers = headers_from(&json);
            if has_plain_secret(&headers) {
                webhook_delivery::Entity::update_many()
                    .col_expr(
                        webhook_delivery::Column::Headers,
                        Expr::value(headers_json(&seal_secret_headers(sealer, &headers))),
                    )
                    .filter(webhook_delivery::Column::Id.eq(id))
                    .filter(webhook_delivery::Column::Headers.eq(json))
                    .exec(db)
                    .await?;
            }
        }
    }
    community::Entity::update_many()
        .col_expr(community::Column::SecretsSealed, Expr::value(true))
        .exec(db)
        .await?;
    // The clear values are still in the WAL or in dead row versions: rewritten now.
    crate::server::engine::erasure::compact(db, &["webhooks", "webhook_deliveries"]).await;
    Ok(())
}

pub(crate) fn headers_json(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn headers_from(json: &str) -> Vec<(String, String)> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The secrets that sign a delivery now: the current one, and the rotated-out one while its
/// overlap lasts.
pub fn signing_secrets(
    w: &webhook::Model,
    sealer: &Sealer,
    now: DateTime<Utc>,
) -> Result<Vec<SigningSecret>, String> {
    let mut out = Vec::new();
    if let Some(s) = &w.signing_secret {
        out.push(SigningSecret::parse(&sealer.open(s)?)?);
        if let (Some(old), Some(until)) = (&w.old_signing_secret, w.old_secret_until)
            && until > now
        {
            out.push(SigningSecret::parse(&sealer.open(old)?)?);
        }
    }
    Ok(out)
}

/// Deliveries still waiting for `which` webhooks are not sent once those are deleted. True
/// when a sealed request was cut (compact the delivery tables once committed).
pub(crate) async fn cancel_waiting(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
    why: &str,
) -> Result<bool, AppError> {
    let now = Utc::now();
    let sealed = webhook_delivery::Entity::find()
        .filter(which.clone())
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Queued))
        .filter(webhook_delivery::Column::Sealed.eq(true))
        .count(db)
        .await?
        > 0;
    cut_sealed(webhook_delivery::Entity::update_many(), now)
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Cancelled),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(why))
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
        .filter(which)
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Queued))
        .exec(db)
        .await?;
    Ok(sealed)
}

/// In the transaction that deletes a macro (its webhooks go with it). True when a sealed
/// request was cut.
pub async fn cancel_waiting_of_macro(
    db: &impl ConnectionTrait,
    macro_id: i32,
) -> Result<bool, AppError> {
    cancel_waiting(
        db,
        webhook_delivery::Column::MacroId.eq(macro_id),
        "the macro was deleted before it was sent",
    )
    .await
}

/// A rendered request: its method (`EMAIL` for an email), address, headers and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What a run renders for a webhook: the request, or why it cannot be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub webhook_id: i32,
    pub name: String,
    pub kind: WebhookKind,
    pub request: Request,
    pub error: Option<String>,
}

/// Renders one webhook against the run's values: each tag value escaped for the URL, a
/// header, a JSON string or a form field.
pub fn render(w: &webhook::Model, values: &Values) -> Rendered {
    if w.kind == WebhookKind::Email {
        let to = if w.email_to.is_empty() {
            values.get("user.email").unwrap_or_default().to_string()
        } else {
            w.email_to.clone()
        };
        return Rendered {
            webhook_id: w.id,
            name: w.name.clone(),
            kind: WebhookKind::Email,
            error: to
                .is_empty()
                .then(|| "there is no address to send to (the submitter was removed)".to_string()),
            request: Request {
                method: "EMAIL".into(),
                url: format!("mailto:{to}"),
                headers: vec![(
                    "Subject".into(),
                    values.render_in(&w.email_subject, Place::Header),
                )],
                body: values.render_in(&w.body, Place::Text),
            },
        };
    }
    let url = values.render_in(&w.url, Place::Url);
    let mut headers: Vec<(String, String)> = headers_from(&w.headers)
        .into_iter()
        .map(|(n, v)| (n, values.render_in(&v, Place::Header)))
        .collect();
    let place = if w.content_type == ContentType::Form {
        Place::Form
    } else {
        Place::Json
    };
    let body = if w.body.trim().is_empty() {
        String::new()
    } else {
        values.render_in(&w.body, place)
    };
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.insert(
            0,
            (
                "Content-Type".into(),
                if place == Place::Form {
                    "application/x-www-form-urlencoded".into()
                } else {
                    "application/json".into()
                },
            ),
        );
    }
    let error = (place == Place::Json && !body.is_empty())
        .then(|| serde_json::from_str::<serde_json::Value>(&body).err())
        .flatten()
        .map(|e| format!("the rendered body is not valid JSON ({e}): a tag had no value where a number belongs"));
    Rendered {
        webhook_id: w.id,
        name: w.name.clone(),
        kind: WebhookKind::Http,
        request: Request {
            method: w.method.clone(),
            url,
            headers,
            body,
        },
        error,
    }
}

/// The enabled webhooks of a macro, which each run renders (`render`) and queues (`queue`);
/// none while the macro's *Trigger webhooks* box is unticked.
pub async fn enabled_of(
    db: &impl ConnectionTrait,
    macro_id: i32,
) -> Result<Vec<webhook::Model>, AppError> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::MacroId.eq(macro_id))
        .filter(
            webhook::Column::MacroId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(macro_def::Column::Id)
                    .from(macro_def::Entity)
                    .and_where(macro_def::Column::Id.eq(macro_id))
                    .and_where(macro_def::Column::TriggerWebhooks.eq(true))
                    .to_owned(),
            ),
        )
        .filter(webhook::Column::Enabled.eq(true))
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// Who or what a delivery is about.
#[derive(Debug, Clone, PartialEq)]
pub struct About {
    pub user_id: Option<i32>,
    pub ticket_id: Option<i32>,
    pub label: String,
}

impl About {
    pub fn user(u: &user::Model) -> About {
        About {
            user_id: Some(u.id),
            ticket_id: None,
            label: u.email.clone(),
        }
    }
    pub fn ticket(t: &ticket::Model) -> About {
        About {
            user_id: None,
            ticket_id: Some(t.id),
            label: format!("ticket #{}", t.id),
        }
    }
}

pub(crate) fn new_msg_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("msg_{}", hex::encode(b))
}

/// What seals a removal's requests: the key, and who they name (cut from what the log shows
/// of them).
pub struct Seal<'a> {
    pub sealer: &'a Sealer,
    pub who: &'a Identity,
}

/// A request kept sealed in `webhook_deliveries.body` until it is sent or given up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SealedRequest {
    pub fn open(sealer: &Sealer, d: &webhook_delivery::Model) -> Result<SealedRequest, String> {
        if d.body.is_empty() {
            return Err("its request was erased".into());
        }
        serde_json::from_str(&sealer.open(&d.body)?)
            .map_err(|_| "its sealed request is damaged".to_string())
    }
}

/// Where a sealed request goes, as far as the log may show it: the scheme and host of a web
/// address (with any form of the person cut), or only that it is an email.
fn shown_destination(url: &str, who: &Identity) -> String {
    if url.starts_with("mailto:") {
        return "mailto:[sealed]".into();
    }
    match url::Url::parse(url) {
        Ok(u) => who.cut(&format!(
            "{}://{}/[sealed]",
            u.scheme(),
            u.host_str().unwrap_or_default()
        )),
        Err(_) => "[sealed]".into(),
    }
}

/// Adds to an update that ends deliveries: a sealed one's request is cut out, and when.
pub fn cut_sealed(
    update: sea_orm::UpdateMany<webhook_delivery::Entity>,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<webhook_delivery::Entity> {
    let sealed = || webhook_delivery::Column::Sealed.eq(true);
    update
        .col_expr(
            webhook_delivery::Column::Body,
            Expr::case(sealed(), Expr::value(""))
                .finally(Expr::col(webhook_delivery::Column::Body))
                .into(),
        )
        .col_expr(
            webhook_delivery::Column::ErasedAt,
            Expr::case(sealed(), Expr::value(now))
                .finally(Expr::col(webhook_delivery::Column::ErasedAt))
                .into(),
        )
}

/// Where queued requests come from: the macro and run, whom they are about, whether they are
/// a test send or a resend, and the seal of a removal's requests.
pub struct Origin<'a> {
    pub macro_id: Option<i32>,
    pub run_id: Option<i64>,
    pub about: &'a About,
    pub test: bool,
    pub resend_of: Option<i64>,
    pub seal: Option<Seal<'a>>,
}

/// Queues rendered requests in the caller's transaction (a run's: the requests are durable
/// exactly when the run is). A request that cannot be sent is recorded as failed, with why.
pub async fn queue(
    txn: &impl ConnectionTrait,
    rendered: Vec<Rendered>,
    origin: Origin<'_>,
) -> Result<Vec<i64>, AppError> {
    let Origin {
        macro_id,
        run_id,
        about,
        test,
        resend_of,
        seal,
    } = origin;
    if rendered.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let mut ids = Vec::with_capacity(rendered.len());
    for mut r in rendered {
        let failed = r.error.is_some();
        let mut erased_at = None;
        if let Some(seal) = &seal {
            let shown = shown_destination(&r.request.url, seal.who);
            r.error = r.error.map(|e| seal.who.cut(&e));
            r.request.body = if failed {
                // Given up before it was sent: nothing of it is kept.
                erased_at = Some(now);
                String::new()
            } else {
                let plain = SealedRequest {
                    url: std::mem::take(&mut r.request.url),
                    headers: std::mem::take(&mut r.request.headers),
                    body: std::mem::take(&mut r.request.body),
                };
                seal.sealer
                    .seal(&serde_json::to_string(&plain).map_err(|e| AppError::internal(e))?)
            };
            r.request.url = shown;
            r.request.headers = Vec::new();
        }
        let row = webhook_delivery::ActiveModel {
            webhook_id: Set(Some(r.webhook_id)),
            webhook_name: Set(r.name),
            macro_id: Set(macro_id),
            run_id: Set(run_id),
            target_user_id: Set(about.user_id),
            target_ticket_id: Set(about.ticket_id),
            target_label: Set(about.label.chars().take(400).collect()),
            kind: Set(r.kind),
            method: Set(r.request.method),
            url: Set(r.request.url),
            headers: Set(headers_json(&r.request.headers)),
            body: Set(r.request.body),
            msg_id: Set(new_msg_id()),
            status: Set(if failed {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Queued
            }),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_by: Set(None),
            locked_until: Set(None),
            last_status: Set(None),
            last_error: Set(r.error),
            test: Set(test),
            resend_of: Set(resend_of),
            created_at: Set(now),
            finished_at: Set(failed.then_some(now)),
            sealed: Set(seal.is_some()),
            erased_at: Set(erased_at),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        ids.push(row.id);
    }
    Ok(ids)
}

/// The values of a ticket's tags, its type and the teams read for it.
pub async fn ticket_values(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    now: DateTime<Utc>,
) -> Result<Values, AppError> {
    let def = crate::server::store::lookups::type_definition(db, t.feedback_type_id).await?;
    let teams = crate::server::store::lookups::team_refs(db).await?;
    Values::for_ticket(db, t, &def, &teams, now).await
}

/// What replaces the errors of a removed person's deliveries and their attempts.
const ERROR_NOT_KEPT: &str = "failed (details not kept: the person it was about was removed)";

/// A removed person leaves no trace in deliveries: those about them lose their request and
/// answers (a queued one is cancelled).
pub async fn erase_person(
    db: &impl ConnectionTrait,
    target: &user::Model,
    label: &str,
) -> Result<u64, AppError> {
    let about: Vec<i64> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::TargetUserId.eq(target.id))
        .into_tuple()
        .all(db)
        .await?;
    if !about.is_empty() {
        webhook_attempt::Entity::update_many()
            .col_expr(webhook_attempt::Column::RequestHeaders, Expr::value("[]"))
            .col_expr(webhook_attempt::Column::ResponseHeaders, Expr::value("[]"))
            .col_expr(webhook_attempt::Column::ResponseBody, Expr::value(""))
            .col_expr(webhook_attempt::Column::CaptureNote, Expr::value(""))
            // Errors kept before they were cut to the URL's origin named the whole URL.
            .col_expr(
                webhook_attempt::Column::Error,
                Expr::cust(format!(
                    "CASE WHEN error IS NULL OR error = '' THEN error \
                     ELSE '{ERROR_NOT_KEPT}' END"
                )),
            )
            .filter(webhook_attempt::Column::DeliveryId.is_in(about.clone()))
            .exec(db)
            .await?;
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(DeliveryStatus::Cancelled),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value("not sent: the person it was about was removed"),
            )
            .col_expr(
                webhook_delivery::Column::FinishedAt,
                Expr::value(Utc::now()),
            )
            .filter(webhook_delivery::Column::Id.is_in(about.clone()))
            .filter(
                webhook_delivery::Column::Status
                    .is_in([DeliveryStatus::Queued, DeliveryStatus::Sending]),
            )
            .exec(db)
            .await?;
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::cust(format!(
                    "CASE WHEN last_error IS NULL OR last_error = '' OR status = 'cancelled' \
                     THEN last_error \
                     ELSE '{ERROR_NOT_KEPT}' END"
                )),
            )
            .filter(webhook_delivery::Column::Id.is_in(about.clone()))
            .exec(db)
            .await?;
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Url, Expr::value(""))
            .col_expr(webhook_delivery::Column::Headers, Expr::value("[]"))
            .col_expr(webhook_delivery::Column::Body, Expr::value(""))
            .col_expr(webhook_delivery::Column::TargetLabel, Expr::value(label))
            .col_expr(
                webhook_delivery::Column::TargetUserId,
                Expr::value(Option::<i32>::None),
            )
            .filter(webhook_delivery::Column::Id.is_in(about.clone()))
            .exec(db)
            .await?;
    }
    // Their email and name inside other deliveries (about tickets they submitted, say) are
    // cut out by the erasure's sweep.
    Ok(about.len() as u64)
}

/// Parsed headers of a delivery, as sent (for the sender).
pub fn delivery_headers(d: &webhook_delivery::Model) -> Vec<(String, String)> {
    headers_from(&d.headers)
}

pub fn attempt_headers_json(headers: &[(String, String)]) -> String {
    headers_json(&mask_headers(headers))
}
