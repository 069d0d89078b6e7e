//! Sending queued webhook deliveries.
//!
//! A run queues its requests in `webhook_deliveries` in its own transaction
//! (`outbox::queue`). Here workers claim due deliveries with a lease (as the job
//! queue does: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite), send
//! them outside any transaction — with a timeout, no redirects followed, the destination's
//! addresses checked after DNS resolution (`outgoing::check`), a per-host rate, Standard
//! Webhooks signatures when the webhook is signed — and record each attempt, many per
//! transaction. 2xx succeeds (and captures return values); 410 switches the webhook off; 429,
//! 5xx, timeouts and connection errors retry on the configured schedule with jitter, never
//! sooner than `Retry-After`; any other answer fails at once. A delivery whose worker died is
//! claimed again when its lease runs out, so every queued request is sent at least once.

use crate::server::engine::external_values;
use crate::server::engine::outbox;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use tokio::sync::Notify;

use crate::errors::AppError;
use crate::server::db::begin_write;
use crate::server::engine::external_values::Subject;
use crate::server::engine::health;
use crate::server::entities::{data_group, ticket, webhook, webhook_attempt, webhook_delivery};
use crate::server::rate_limit::RateLimiter;
use crate::server::secrets::Sealer;
use crate::server::settings::Settings;
use crate::server::signing::{self, SigningSecret};
use crate::server::{outgoing, retry};
use crate::shared::vocab::{DeliveryStatus, WebhookKind};

/// Response bodies are kept up to this size (after decompression).
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;
/// Deliveries claimed at once by one claim.
const CLAIM_BATCH: u64 = 64;
/// Results written in one transaction at most.
const RECORD_BATCH: usize = 256;

/// Everything sending needs: the HTTP client (its resolver applies the address check), the
/// retry schedule, the per-host rate and the key that opens signing secrets.
pub struct Outbox {
    client: reqwest::Client,
    allow: Arc<Vec<String>>,
    schedule: Vec<Duration>,
    timeout: Duration,
    limiter: RateLimiter<String>,
    sealer: Arc<Sealer>,
    concurrency: usize,
    /// Sends *Send email* deliveries (None: email is not set up).
    mailer: Option<Mailer>,
    /// When a failing webhook is flagged or paused (`health`).
    health: crate::server::engine::health::Policy,
}

/// The SMTP transport and the sender address of emails.
struct Mailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    fn new(smtp: &crate::server::settings::Smtp, timeout: Duration) -> Result<Mailer, String> {
        use lettre::AsyncSmtpTransport;
        use lettre::Tokio1Executor;
        let builder = match smtp.security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
            _ => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &smtp.host,
            )),
        }
        .map_err(|e| format!("smtp.host: {e}"))?;
        let mut builder = builder.port(smtp.port).timeout(Some(timeout));
        if !smtp.username.is_empty() {
            builder =
                builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    smtp.username.clone(),
                    smtp.password.expose().clone(),
                ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: smtp.from.parse().map_err(|e| format!("smtp.from: {e}"))?,
        })
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("allow", &self.allow)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A destination refused by the address check (not worth retrying).
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves names with the system resolver, then refuses names whose addresses are private,
/// loopback, link-local or metadata unless the allow-list names them. The connection goes to
/// exactly the addresses checked, so a name cannot change its answer in between.
struct GuardedResolver {
    allow: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| {
                    Box::new(Refused(format!("{host} cannot be resolved: {e}")))
                        as Box<dyn std::error::Error + Send + Sync>
                })
                .map(|a| a.collect())?;
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            outgoing::check(&host, &ips, &allow)
                .map_err(|m| Box::new(Refused(m)) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Outbox {
    pub fn new(settings: &Settings, sealer: Arc<Sealer>) -> Result<Outbox, String> {
        let allow = Arc::new(settings.outgoing_allow_hosts.clone());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.outgoing_timeout)
            .connect_timeout(settings.outgoing_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("Switchyard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver {
                allow: allow.clone(),
            }))
            .pool_max_idle_per_host(64)
            // HTTP(S)_PROXY and ALL_PROXY in the environment are ignored: a proxy would
            // resolve the destination itself, out of the address check's sight.
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Outbox {
            client,
            allow,
            schedule: settings.outgoing_retry_schedule.clone(),
            health: crate::server::engine::health::Policy::of(settings),
            timeout: settings.outgoing_timeout,
            limiter: RateLimiter::bounded(
                settings.outgoing_host_rate_per_second,
                settings.outgoing_host_rate_burst,
                10_000,
            ),
            sealer,
            concurrency: settings.outgoing_concurrency as usize,
            mailer: settings
                .smtp
                .as_ref()
                .map(|smtp| Mailer::new(smtp, settings.outgoing_timeout))
                .transpose()?,
        })
    }

    /// A claim lasts past the longest possible attempt (the timeout covers connecting and
    /// the whole answer) and the recording after it.
    fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(10)
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    /// 410 Gone: the receiver asks not to be sent to again.
    Disable,
    Retry,
    Fail,
}

/// 2xx succeeds; 410 switches the webhook off; 408, 429 and 5xx retry, as do timeouts and
/// connection errors (`status` None, `retryable`); anything else fails at once.
pub fn judge(status: Option<u16>, retryable: bool) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Succeeded,
        Some(410) => Verdict::Disable,
        Some(408 | 429 | 500..=599) => Verdict::Retry,
        Some(_) => Verdict::Fail,
        None if retryable => Verdict::Retry,
        None => Verdict::Fail,
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    retry_after: Option<Duration>,
}

#[derive(Debug)]
struct Attempt {
    started_at: DateTime<Utc>,
    duration_ms: i32,
    request_headers: Vec<(String, String)>,
    answer: Result<Answer, (String, bool)>,
}

#[derive(Debug)]
enum Outcome {
    Sent(Attempt),
    /// Over the host's rate: back to the queue for this long, not counted as an attempt.
    Deferred(Duration),
    /// Not sent: its webhook was switched off meanwhile.
    Cancelled(String),
}

/// The error and its causes in one line (reqwest's own message names only the URL). The URL
/// is cut to its origin: its path and query are rendered from tags and may name the person,
/// and what is kept here outlives the delivery's own URL (a removal empties that).
fn describe_error(e: &reqwest::Error) -> (String, bool) {
    let mut refused = None;
    let url = e.url().map(|u| u.as_str().to_string());
    let origin = e.url().map(|u| u.origin().ascii_serialization());
    let cut = |text: String| match (&url, &origin) {
        (Some(url), Some(origin)) => text.replace(url.as_str(), origin),
        _ => text,
    };
    let mut parts = vec![cut(e.to_string())];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            refused = Some(r.0.clone());
        }
        let text = cut(s.to_string());
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if let Some(r) = refused {
        return (format!("refused: {r}"), false);
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    (format!("{what}: {}", parts.join(": ")), true)
}

/// What an attempt of a sealed delivery keeps in place of the answer.
pub const SEALED_ANSWER: &str = "[not kept: the request named a removed person]";
/// The error kept of an attempt whose request an erasure changed while it was on its way.
const ERASED_WHILE_SENT: &str =
    "failed (details not kept: a person the request named was removed while it was sent)";

/// The kind of an error without its details (which may quote the address or the person):
/// the words before the first colon.
fn error_kind(error: &str) -> String {
    if error.starts_with('"') {
        return "the address is not a web address".into();
    }
    match error.split_once(':') {
        Some((kind, _)) => format!("{kind} (details not kept)"),
        None => error.to_string(),
    }
}

impl Outbox {
    /// Sends one delivery. A sealed one (a removal telling a downstream system to erase the
    /// same person) is opened here and sent as it was rendered; of its attempts only the
    /// outcome is recorded.
    async fn send(&self, d: &webhook_delivery::Model, hook: Option<&webhook::Model>) -> Outcome {
        if !d.sealed {
            return self.send_plain(d, hook).await;
        }
        let opened = match outbox::SealedRequest::open(&self.sealer, d) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Sent(Attempt {
                    started_at: Utc::now(),
                    duration_ms: 0,
                    request_headers: Vec::new(),
                    // A node with another key file cannot open it, but one with the right
                    // key can: tried again unless there is nothing left to open.
                    answer: Err((format!("not sent: {e}"), !d.body.is_empty())),
                });
            }
        };
        let mut plain = d.clone();
        plain.url = opened.url.clone();
        plain.headers = outbox::headers_json(&opened.headers);
        plain.body = opened.body;
        match self.send_plain(&plain, hook).await {
            Outcome::Sent(mut a) => {
                // Of an attempt that named a removed person only the outcome is kept: the
                // status, the time it took and the kind of error. Headers and bodies, sent or
                // answered, may hold them in any encoding (or other data of theirs), so none
                // is kept.
                a.request_headers = Vec::new();
                a.answer = match a.answer {
                    Ok(answer) => Ok(Answer {
                        status: answer.status,
                        headers: Vec::new(),
                        body: SEALED_ANSWER.into(),
                        retry_after: answer.retry_after,
                    }),
                    Err((e, retry)) => Err((error_kind(&e), retry)),
                };
                Outcome::Sent(a)
            }
            other => other,
        }
    }

    /// Opens the delivery's secret header values and sends it. A receiver that echoes the
    /// request (or quotes it in an error) would put those secrets into the log: they are
    /// masked in what is recorded of the answer.
    async fn send_plain(
        &self,
        d: &webhook_delivery::Model,
        hook: Option<&webhook::Model>,
    ) -> Outcome {
        let mut headers = outbox::delivery_headers(d);
        let secrets = match outbox::open_secret_headers(&self.sealer, &mut headers) {
            Ok(secrets) => secrets,
            // Another node's key file may open it: tried again.
            Err(e) => {
                return Outcome::Sent(Attempt {
                    started_at: Utc::now(),
                    duration_ms: 0,
                    request_headers: Vec::new(),
                    answer: Err((format!("not sent: {e}"), true)),
                });
            }
        };
        let outcome = self.send_request(d, hook, headers).await;
        if secrets.is_empty() {
            return outcome;
        }
        let mask = |text: &str| {
            secrets.iter().fold(text.to_string(), |t, s| {
                t.replace(s.as_str(), crate::shared::definitions::MASK)
            })
        };
        match outcome {
            Outcome::Sent(mut a) => {
                a.answer = match a.answer {
                    Ok(mut answer) => {
                        for (_, v) in &mut answer.headers {
                            *v = mask(v);
                        }
                        answer.body = mask(&answer.body);
                        Ok(answer)
                    }
                    Err((e, retry)) => Err((mask(&e), retry)),
                };
                Outcome::Sent(a)
            }
            other => other,
        }
    }

    /// Sends the request of `d` with `headers` (secret values opened).
    async fn send_request(
        &self,
        d: &webhook_delivery::Model,
        hook: Option<&webhook::Model>,
        mut headers: Vec<(String, String)>,
    ) -> Outcome {
        let started_at = Utc::now();
        let clock = Instant::now();
        let done = |headers: Vec<(String, String)>, answer| {
            Outcome::Sent(Attempt {
                started_at,
                duration_ms: clock.elapsed().as_millis().min(i32::MAX as u128) as i32,
                request_headers: headers,
                answer,
            })
        };
        if let Some(w) = hook.filter(|w| !w.enabled) {
            return Outcome::Cancelled(format!(
                "not sent: the webhook is switched off ({})",
                w.disabled_reason
            ));
        }
        // Paused (the pause came after it was queued, or it is a retry): it waits, without
        // counting as an attempt, until the webhook is resumed.
        if hook.is_some_and(|w| w.paused) {
            return Outcome::Deferred(
                (outbox::paused_until() - Utc::now())
                    .to_std()
                    .unwrap_or_default(),
            );
        }
        if d.kind == WebhookKind::Email {
            let answer = self.send_email(d, &headers).await;
            return done(headers, answer);
        }
        let url = match url::Url::parse(&d.url) {
            Ok(u) => u,
            Err(_) => {
                return done(
                    headers,
                    Err((format!("\"{}\" is not a web address", d.url), false)),
                );
            }
        };
        let host = url.host_str().unwrap_or_default().to_string();
        // Addresses typed as numbers never reach the resolver: check them here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && let Err(m) = outgoing::check(&host, &[ip], &self.allow)
        {
            return done(headers, Err((format!("refused: {m}"), false)));
        }
        if let Err(wait) = self.limiter.check(host.to_ascii_lowercase()) {
            return Outcome::Deferred(wait);
        }
        let secrets: Vec<SigningSecret> =
            match hook.map(|w| outbox::signing_secrets(w, &self.sealer, started_at)) {
                Some(Ok(s)) => s,
                Some(Err(e)) => return done(headers, Err((format!("cannot sign: {e}"), false))),
                None => Vec::new(),
            };
        if !secrets.is_empty() {
            for (name, value) in signing::headers(
                &secrets,
                &d.msg_id,
                started_at.timestamp(),
                d.body.as_bytes(),
            ) {
                headers.push((name.to_string(), value));
            }
        }
        let method = match reqwest::Method::from_bytes(d.method.as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                return done(
                    headers,
                    Err((format!("{} is not a method", d.method), false)),
                );
            }
        };
        let mut req = self.client.request(method.clone(), url);
        for (n, v) in &headers {
            // Bytes, not text: a tag's value may hold non-ASCII, which HTTP carries as is.
            match reqwest::header::HeaderValue::from_bytes(v.as_bytes()) {
                Ok(value) => req = req.header(n.as_str(), value),
                Err(_) => {
                    return done(
                        headers.clone(),
                        Err((format!("the value of {n} cannot be sent"), false)),
                    );
                }
            }
        }
        if method != reqwest::Method::GET && !d.body.is_empty() {
            req = req.body(d.body.clone());
        }
        let answer = match req.send().await {
            Err(e) => Err(describe_error(&e)),
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let answer_headers: Vec<(String, String)> = resp
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry::retry_after(v, Utc::now()));
                let mut body = Vec::new();
                let mut note = String::new();
                loop {
                    match resp.chunk().await {
                        Ok(Some(chunk)) => {
                            let room = MAX_RESPONSE_BODY - body.len();
                            if chunk.len() > room {
                                body.extend_from_slice(&chunk[..room]);
                                note = format!("\n[cut at {} KiB]", MAX_RESPONSE_BODY / 1024);
                                break;
                            }
                            body.extend_from_slice(&chunk);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            note =
                                format!("\n[the rest could not be read: {}]", describe_error(&e).0);
                            break;
                        }
                    }
                }
                // A NUL is kept as U+FFFD: PostgreSQL refuses it in text, and SQLite's LIKE
                // (the erasure's search) stops reading at one.
                let mut body = String::from_utf8_lossy(&body).replace('\0', "\u{FFFD}");
                body.push_str(&note);
                Ok(Answer {
                    status,
                    headers: answer_headers,
                    body,
                    retry_after,
                })
            }
        };
        done(headers, answer)
    }
}

impl Outbox {
    /// Hands an email to the SMTP server. Its reply code stands where an HTTP status would
    /// (250: accepted); a 4xx reply or a connection failure is retried, a 5xx is final.
    async fn send_email(
        &self,
        d: &webhook_delivery::Model,
        headers: &[(String, String)],
    ) -> Result<Answer, (String, bool)> {
        use lettre::AsyncTransport;
        let Some(mailer) = &self.mailer else {
            return Err((
                "email is not set up: give smtp.host in the settings".into(),
                false,
            ));
        };
        let to = d.url.strip_prefix("mailto:").unwrap_or_default();
        let to: lettre::message::Mailbox = to
            .parse()
            .map_err(|_| (format!("\"{to}\" is not an email address"), false))?;
        let subject = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("subject"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let message = lettre::Message::builder()
            .from(mailer.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}@switchyard>", d.msg_id)))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(d.body.clone())
            .map_err(|e| (format!("cannot build the email: {e}"), false))?;
        match mailer.transport.send(message).await {
            Ok(reply) => Ok(Answer {
                status: u16::from(reply.code()),
                headers: Vec::new(),
                body: reply.message().collect::<Vec<_>>().join("\n"),
                retry_after: None,
            }),
            Err(e) if e.is_permanent() => Err((format!("the SMTP server refused it: {e}"), false)),
            Err(e) => Err((format!("SMTP: {e}"), true)),
        }
    }
}

/// Claims up to `max` due deliveries (queued and due, or sending with a lease that ran out),
/// the longest due first (`lease::claim`).
pub async fn claim(
    db: &DatabaseConnection,
    worker_id: &str,
    lease: Duration,
    max: u64,
) -> Result<Vec<webhook_delivery::Model>, AppError> {
    crate::server::lease::claim::<webhook_delivery::Entity>(db, worker_id, lease, max).await
}

async fn hooks_of(
    db: &impl ConnectionTrait,
    deliveries: &[webhook_delivery::Model],
) -> Result<Vec<Arc<webhook::Model>>, AppError> {
    let ids: Vec<i32> = deliveries.iter().filter_map(|d| d.webhook_id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(webhook::Entity::find()
        .filter(webhook::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect())
}

/// Stores the answer's values into the webhook's data group, each field read at the path its
/// parameter names and coerced to its type; says what was stored and what was not.
/// A project group stores on the ticket's project (feedback macros) or on the webhook's
/// `capture_project` (user macros).
async fn capture(
    txn: &impl ConnectionTrait,
    d: &webhook_delivery::Model,
    (group_id, capture_project): (i32, Option<i32>),
    body: &str,
) -> Result<String, AppError> {
    let Some(group) = data_group::Entity::find_by_id(group_id).one(txn).await? else {
        return Ok("capture: the data group was deleted".into());
    };
    let json: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => return Ok("capture: the answer is not JSON, nothing was stored".into()),
    };
    let subject = match group.scope.as_str() {
        "user" => d.target_user_id.map(Subject::User),
        "feedback" => d.target_ticket_id.map(Subject::Ticket),
        _ => match d.target_ticket_id {
            Some(id) => ticket::Entity::find_by_id(id)
                .one(txn)
                .await?
                .map(|t| Subject::Project(t.project_id)),
            // A user macro's answer about a person, stored on a project, goes with them.
            None => capture_project.map(|project| match d.target_user_id {
                Some(person) => Subject::ProjectAbout { project, person },
                None => Subject::Project(project),
            }),
        },
    };
    let Some(subject) = subject else {
        return Ok(format!(
            "capture: nothing to store {} against (it is gone, or not what this group is for)",
            group.name
        ));
    };
    let mut notes = Vec::new();
    for field in external_values::fields_of(txn, group.id).await? {
        match crate::server::domain::body_path::lookup(&json, &field.parameter) {
            None => notes.push(format!(
                "{}: not in the answer (at {})",
                field.label, field.parameter
            )),
            Some(v) => match external_values::coerce(&field.kind, v) {
                Ok(typed) => {
                    external_values::store(txn, subject, &field, typed).await?;
                    notes.push(format!("{}: stored {}", field.label, v));
                }
                Err(why) => notes.push(format!("{}: not stored, {why}", field.label)),
            },
        }
    }
    Ok(format!("capture into {}: {}", group.name, notes.join("; ")))
}

/// Records the outcomes of a batch in one transaction: the attempts, the deliveries' new
/// state (only while the lease is still this worker's), captured values, switched-off
/// webhooks.
async fn record(
    db: &DatabaseConnection,
    outbox: &Outbox,
    worker_id: &str,
    results: Vec<(
        webhook_delivery::Model,
        Option<Arc<webhook::Model>>,
        Outcome,
    )>,
) -> Result<(), AppError> {
    let now = Utc::now();
    let mut switched_off = false;
    // A sealed request cut here (sent, given up or cancelled): the tables are compacted once
    // the batch has committed.
    let mut sealed_cut = false;
    // What each webhook's attempts did, for its failure streak (test sends left out).
    let mut tallies = std::collections::BTreeMap::<i32, health::Tally>::new();
    let (txn, _gate) = begin_write(db).await?;
    for (d, hook, outcome) in results {
        let mine = || {
            webhook_delivery::Entity::update_many()
                .filter(webhook_delivery::Column::Id.eq(d.id))
                .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Sending))
                .filter(webhook_delivery::Column::LockedBy.eq(worker_id))
        };
        let clear_lock = |u: sea_orm::UpdateMany<webhook_delivery::Entity>| {
            u.col_expr(
                webhook_delivery::Column::LockedBy,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                webhook_delivery::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
        };
        let attempt = match outcome {
            Outcome::Deferred(wait) => {
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                clear_lock(mine())
                    .col_expr(
                        webhook_delivery::Column::Status,
                        Expr::value(DeliveryStatus::Queued),
                    )
                    .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(at))
                    .col_expr(
                        webhook_delivery::Column::Attempts,
                        Expr::col(webhook_delivery::Column::Attempts).sub(1),
                    )
                    .exec(&txn)
                    .await?;
                continue;
            }
            Outcome::Cancelled(why) => {
                sealed_cut |= d.sealed;
                outbox::cut_sealed(clear_lock(mine()), now)
                    .col_expr(
                        webhook_delivery::Column::Status,
                        Expr::value(DeliveryStatus::Cancelled),
                    )
                    .col_expr(webhook_delivery::Column::LastError, Expr::value(why))
                    .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
                    .col_expr(
                        webhook_delivery::Column::Attempts,
                        Expr::col(webhook_delivery::Column::Attempts).sub(1),
                    )
                    .exec(&txn)
                    .await?;
                continue;
            }
            Outcome::Sent(a) => a,
        };
        let (status, retryable, error) = match &attempt.answer {
            Ok(a) => (Some(a.status), false, None),
            Err((e, retryable)) => (None, *retryable, Some(e.clone())),
        };
        let mut verdict = judge(status, retryable);
        let retry_after = attempt.answer.as_ref().ok().and_then(|a| a.retry_after);
        let next = if verdict == Verdict::Retry {
            let spread: f64 = rand::random();
            let retry_no = (std::cmp::max(d.attempts, 1) - 1) as usize;
            // The webhook's own schedule, when it has one (checked when it was saved).
            let own = hook
                .as_ref()
                .filter(|w| !w.retry_schedule.is_empty())
                .and_then(|w| retry::parse_schedule(&w.retry_schedule).ok());
            let schedule = own.as_deref().unwrap_or(&outbox.schedule);
            match retry::next_delay(schedule, retry_no, spread, retry_after) {
                Some(delay) => Some(now + chrono::Duration::from_std(delay).unwrap_or_default()),
                None => {
                    verdict = Verdict::Fail;
                    None
                }
            }
        } else {
            None
        };
        let error = error.or_else(|| match (verdict, status) {
            (Verdict::Succeeded, _) => None,
            (Verdict::Disable, _) => {
                Some("the receiver answered 410 Gone: the webhook is switched off".into())
            }
            (_, Some(s @ 300..=399)) => Some(format!("answered {s}: redirects are not followed")),
            (Verdict::Retry, Some(s)) => Some(format!("answered {s}; retried later")),
            (_, Some(s)) => Some(format!("answered {s}")),
            (_, None) => None,
        });
        let new_status = match verdict {
            Verdict::Succeeded => DeliveryStatus::Succeeded,
            Verdict::Retry => DeliveryStatus::Queued,
            Verdict::Disable | Verdict::Fail => DeliveryStatus::Failed,
        };
        let outcome = |u: sea_orm::UpdateMany<webhook_delivery::Entity>, error: Option<String>| {
            let u = clear_lock(u)
                .col_expr(webhook_delivery::Column::Status, Expr::value(new_status))
                .col_expr(
                    webhook_delivery::Column::LastStatus,
                    Expr::value(status.map(i32::from)),
                )
                .col_expr(webhook_delivery::Column::LastError, Expr::value(error));
            match next {
                Some(at) => u.col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(at)),
                // Sent or given up: a sealed request has done its job and is cut out.
                None => outbox::cut_sealed(u, now)
                    .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now)),
            }
        };
        sealed_cut |= d.sealed && next.is_none();
        // The request as it was claimed: an erasure that ran while it was on its way cut a
        // person out of the row (a delivery about their ticket), and then nothing of the
        // exchange may be kept, neither what was sent nor what the receiver answered.
        let unchanged = mine()
            .filter(webhook_delivery::Column::Url.eq(d.url.as_str()))
            .filter(webhook_delivery::Column::Headers.eq(d.headers.as_str()))
            .filter(webhook_delivery::Column::Body.eq(d.body.as_str()));
        // A capture about a person writes a row that points at them. Their row is locked first
        // (PostgreSQL: FOR KEY SHARE), before this delivery's, in the order a removal takes
        // them (the person, then their deliveries): the two wait for each other instead of
        // deadlocking, and a person removed meanwhile gets nothing captured.
        let captures = verdict == Verdict::Succeeded
            && hook.as_ref().is_some_and(|w| w.capture_group_id.is_some());
        let person_gone = match d.target_user_id {
            Some(id) if captures => {
                !crate::server::engine::runs::still_there(
                    &txn,
                    crate::server::engine::runs::RunTarget::User(id),
                )
                .await?
            }
            _ => false,
        };
        let mut erased_meanwhile = false;
        let mut error = error;
        if outcome(unchanged, error.clone())
            .exec(&txn)
            .await?
            .rows_affected
            == 0
        {
            // An error text may name what the request carried (an SMTP server quoting the
            // address it refused): only that it failed is kept.
            error = error.map(|_| ERASED_WHILE_SENT.to_string());
            if outcome(mine(), error.clone())
                .exec(&txn)
                .await?
                .rows_affected
                == 0
            {
                // Another worker holds it now (it sends again), or it was cancelled meanwhile
                // (its person removed): nothing of this attempt is kept.
                continue;
            }
            erased_meanwhile = true;
        }
        let mut capture_note = String::new();
        if erased_meanwhile || person_gone {
            capture_note =
                "not captured: a person the request named was removed while it was sent".into();
        } else if verdict == Verdict::Succeeded
            && let (Some(group_id), Ok(a)) = (
                hook.as_ref().and_then(|w| w.capture_group_id),
                &attempt.answer,
            )
        {
            let project = hook.as_ref().and_then(|w| w.capture_project_id);
            capture_note = capture(&txn, &d, (group_id, project), &a.body).await?;
        }
        webhook_attempt::ActiveModel {
            delivery_id: Set(d.id),
            attempt: Set(d.attempts),
            started_at: Set(attempt.started_at),
            duration_ms: Set(attempt.duration_ms),
            request_headers: Set(if erased_meanwhile {
                "[]".into()
            } else {
                outbox::attempt_headers_json(&attempt.request_headers)
            }),
            response_status: Set(status.map(i32::from)),
            response_headers: Set(match &attempt.answer {
                Ok(a) if !erased_meanwhile => outbox::attempt_headers_json(&a.headers),
                _ => "[]".into(),
            }),
            response_body: Set(match &attempt.answer {
                Ok(_) if erased_meanwhile => SEALED_ANSWER.into(),
                Ok(a) => a.body.clone(),
                Err(_) => String::new(),
            }),
            error: Set(error.clone()),
            capture_note: Set(capture_note),
            next_retry_at: Set(next),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if let Some(id) = d.webhook_id
            && !d.test
            && verdict != Verdict::Disable
        {
            tallies
                .entry(id)
                .or_default()
                .note(verdict == Verdict::Succeeded);
        }
        if verdict == Verdict::Disable
            && let Some(id) = d.webhook_id
        {
            switched_off = true;
            sealed_cut = true;
            let reason = format!(
                "the receiver answered 410 Gone at {}",
                crate::server::domain::format_time(&now)
            );
            webhook::Entity::update_many()
                .col_expr(webhook::Column::Enabled, Expr::value(false))
                .col_expr(webhook::Column::DisabledReason, Expr::value(reason.clone()))
                .filter(webhook::Column::Id.eq(id))
                .exec(&txn)
                .await?;
            outbox::cut_sealed(webhook_delivery::Entity::update_many(), now)
                .col_expr(
                    webhook_delivery::Column::Status,
                    Expr::value(DeliveryStatus::Cancelled),
                )
                .col_expr(
                    webhook_delivery::Column::LastError,
                    Expr::value(format!("not sent: the webhook is switched off ({reason})")),
                )
                .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
                .filter(webhook_delivery::Column::WebhookId.eq(id))
                .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Queued))
                .exec(&txn)
                .await?;
        }
    }
    switched_off |= health::note(&txn, &outbox.health, &tallies, now).await?;
    txn.commit().await?;
    drop(_gate);
    if sealed_cut {
        crate::server::engine::erasure::compact(
            db,
            crate::server::engine::erasure::DELIVERY_TABLES,
        )
        .await;
    }
    if switched_off {
        // Macro views list their webhooks, marked when switched off.
        crate::server::cache::changed();
    }
    Ok(())
}

fn hook_for(
    hooks: &[Arc<webhook::Model>],
    d: &webhook_delivery::Model,
) -> Option<Arc<webhook::Model>> {
    d.webhook_id
        .and_then(|id| hooks.iter().find(|w| w.id == id).cloned())
}

/// Claims the due deliveries (up to one claim's worth), sends them side by side and records
/// the outcomes; the number handled. Tests drain the queue with it.
pub async fn try_deliver_due(
    db: &DatabaseConnection,
    outbox: &Arc<Outbox>,
    worker_id: &str,
) -> Result<usize, AppError> {
    let claimed = claim(db, worker_id, outbox.lease(), CLAIM_BATCH).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let hooks = hooks_of(db, &claimed).await?;
    let mut set = tokio::task::JoinSet::new();
    for d in claimed {
        let hook = hook_for(&hooks, &d);
        let outbox = outbox.clone();
        set.spawn(async move {
            let outcome = outbox.send(&d, hook.as_deref()).await;
            (d, hook, outcome)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        results.push(r.map_err(|e| AppError::internal(e))?);
    }
    let n = results.len();
    record(db, outbox, worker_id, results).await?;
    Ok(n)
}

/// Starts this process's sender: one task claims due deliveries while fewer than
/// `outgoing.concurrency` are in flight and sends each on its own task; another records the
/// outcomes, many per transaction. It stops when `shutdown` fires, after recording what is
/// in flight.
pub fn spawn(
    db: DatabaseConnection,
    outbox: Arc<Outbox>,
    wake: Arc<Notify>,
    poll: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    if outbox.concurrency == 0 {
        return Vec::new();
    }
    let name = format!("{}:outbox", crate::server::worker::worker_name(0));
    let permits = Arc::new(tokio::sync::Semaphore::new(outbox.concurrency));
    type Done = (
        webhook_delivery::Model,
        Option<Arc<webhook::Model>>,
        Outcome,
        tokio::sync::OwnedSemaphorePermit,
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let recorder = {
        let (db, outbox, name) = (db.clone(), outbox.clone(), name.clone());
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < RECORD_BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let mut held = Vec::with_capacity(batch.len());
                let results = batch
                    .into_iter()
                    .map(|(d, h, o, permit)| {
                        held.push(permit);
                        (d, h, o)
                    })
                    .collect();
                if let Err(e) = record(&db, &outbox, &name, results).await {
                    // Their leases run out and they are sent again: at least once.
                    tracing::warn!(error = %e, "cannot record delivery attempts");
                }
                drop(held);
            }
        })
    };
    let claimer = tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let first = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.changed() => break,
            };
            let room = std::cmp::min(permits.available_permits() as u64 + 1, CLAIM_BATCH);
            let claimed = match claim(&db, &name, outbox.lease(), room).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim deliveries");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                drop(first);
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let hooks = match hooks_of(&db, &claimed).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read webhooks; deliveries wait for their lease");
                    continue;
                }
            };
            let mut first = Some(first);
            for d in claimed {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match permits.clone().try_acquire_owned() {
                        Ok(p) => p,
                        // Only this task takes permits, so there is one for each claimed.
                        Err(_) => match permits.clone().acquire_owned().await {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                    },
                };
                let hook = hook_for(&hooks, &d);
                let (outbox, tx) = (outbox.clone(), tx.clone());
                tokio::spawn(async move {
                    let outcome = outbox.send(&d, hook.as_deref()).await;
                    let _ = tx.send((d, hook, outcome, permit));
                });
            }
        }
        drop(tx);
    });
    vec![claimer, recorder]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused connection to a loopback port nobody listens on: what is kept names the
    /// origin, not the path and query the tags filled in.
    #[tokio::test]
    async fn kept_errors_name_the_origin_not_the_rendered_url() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let err = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/crm/jim%40example.com?first=Jim&last=Smith"
            ))
            .send()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Smith"), "reqwest names the URL");
        let (text, retry) = describe_error(&err);
        assert!(retry);
        assert!(text.contains(&format!("http://127.0.0.1:{port}")), "{text}");
        for part in ["Smith", "Jim", "jim%40example.com", "/crm"] {
            assert!(!text.contains(part), "{text}");
        }
    }

    #[test]
    fn answers_are_judged_by_status() {
        assert_eq!(judge(Some(200), false), Verdict::Succeeded);
        assert_eq!(judge(Some(204), false), Verdict::Succeeded);
        assert_eq!(judge(Some(410), false), Verdict::Disable);
        for s in [408, 429, 500, 502, 503] {
            assert_eq!(judge(Some(s), false), Verdict::Retry, "{s}");
        }
        for s in [301, 302, 400, 401, 403, 404, 422] {
            assert_eq!(judge(Some(s), false), Verdict::Fail, "{s}");
        }
        assert_eq!(judge(None, true), Verdict::Retry);
        assert_eq!(judge(None, false), Verdict::Fail);
    }

    /// Capture Return Values reads answers with the listeners' path syntax (`body_path`).
    #[test]
    fn paths_walk_objects_and_lists() {
        use crate::server::domain::body_path::lookup as at_path;
        let v: serde_json::Value =
            serde_json::from_str(r#"{"issue": {"key": "BETA-7", "n": [10, {"id": 3}]}}"#).unwrap();
        assert_eq!(at_path(&v, "issue.key").unwrap(), "BETA-7");
        assert_eq!(at_path(&v, "issue.n.1.id").unwrap(), 3);
        assert_eq!(at_path(&v, "issue.n.0").unwrap(), 10);
        assert_eq!(at_path(&v, "issue.n[1].id").unwrap(), 3);
        assert!(at_path(&v, "issue.missing").is_none());
        assert!(at_path(&v, "issue.key.deeper").is_none());
    }
}
