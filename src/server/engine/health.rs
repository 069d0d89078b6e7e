//! A failing endpoint is noticed. Each webhook counts its failed attempts in a row
//! (`failure_streak`, since `failing_since`; test sends left out); a success resets it.
//! - Once the streak reaches `outgoing.warn_after_failures`, community managers are warned
//!   once: an alert on the dashboard and, where email is set up, an email each.
//! - Once it reaches `outgoing.pause_after_failures` and has lasted `outgoing.pause_after_hours`
//!   (by default 20 failures over 5 days), the product pauses the webhook itself: its
//!   deliveries wait, none is dropped, and managers get an alert and an email saying why. A
//!   manager who resumes it starts it afresh (`hold`).
//!
//! Alerts are resolved when what they are about is over: a success, a resume, the webhook's
//! deletion (`ON DELETE CASCADE`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};

use crate::errors::AppError;
use crate::server::domain::format_time;
use crate::server::engine::outbox;
use crate::server::entities::{alert, user, webhook, webhook_delivery};
use crate::server::settings::Settings;
use crate::shared::definitions::Role;
use crate::shared::vocab::{DeliveryStatus, WebhookKind};

pub const WEBHOOK_FAILING: &str = "webhook_failing";
pub const WEBHOOK_PAUSED: &str = "webhook_paused";
pub const LISTENER_REFUSING: &str = "listener_refusing";

/// The name alert emails go out under, in the webhook log.
pub const ALERT_EMAIL: &str = "Alert to community managers";

/// When a failing webhook is flagged and when it is paused (the settings).
#[derive(Debug, Clone)]
pub struct Policy {
    pub warn_after: u32,
    pub pause_after_failures: u32,
    pub pause_after: Duration,
    /// Email is set up: alerts also go to community managers by email.
    pub email: bool,
    /// Where the links in an email point.
    pub base_url: String,
    /// A listener refusing more than this percentage of at least `refused_min_calls` calls
    /// over an hour raises an alert (0: never).
    pub refused_percent: u32,
    pub refused_min_calls: u32,
}

impl Policy {
    pub fn of(settings: &Settings) -> Policy {
        Policy {
            warn_after: settings.outgoing_warn_after_failures,
            pause_after_failures: settings.outgoing_pause_after_failures,
            pause_after: settings.outgoing_pause_after,
            email: settings.smtp.is_some(),
            refused_percent: settings.listener_alert_refused_percent,
            refused_min_calls: settings.listener_alert_min_calls,
            base_url: settings
                .public_base_url
                .as_str()
                .trim_end_matches('/')
                .to_string(),
        }
    }
}

/// What one batch of attempts did to a webhook, in order.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Failed attempts after the last success in the batch (all of them without one).
    failures: i32,
    succeeded: bool,
}

impl Tally {
    pub fn note(&mut self, ok: bool) {
        if ok {
            self.succeeded = true;
            self.failures = 0;
        } else {
            self.failures += 1;
        }
    }
}

/// Writes a batch's tallies in the batch's transaction, webhook by webhook in id order (two
/// nodes recording batches at once lock the rows in the same order), and raises the alerts
/// they call for. Whether a webhook was paused (the caller forgets its cached webhooks).
pub async fn note(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    tallies: &BTreeMap<i32, Tally>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let mut paused_any = false;
    for (&id, t) in tallies {
        if t.succeeded {
            let reset = webhook::Entity::update_many()
                .col_expr(webhook::Column::FailureStreak, Expr::value(t.failures))
                .col_expr(
                    webhook::Column::FailingSince,
                    Expr::value((t.failures > 0).then_some(now)),
                )
                .col_expr(
                    webhook::Column::WarnedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(webhook::Column::Id.eq(id));
            // A success on a webhook that was not failing writes nothing.
            let reset = if t.failures == 0 {
                reset.filter(webhook::Column::FailureStreak.gt(0))
            } else {
                reset
            };
            if reset.exec(txn).await?.rows_affected > 0 {
                resolve(txn, id, &[WEBHOOK_FAILING], now).await?;
            }
            if t.failures == 0 {
                continue;
            }
        } else {
            webhook::Entity::update_many()
                .col_expr(
                    webhook::Column::FailureStreak,
                    sea_orm::sea_query::ExprTrait::add(
                        Expr::col(webhook::Column::FailureStreak),
                        t.failures,
                    ),
                )
                .col_expr(
                    webhook::Column::FailingSince,
                    Expr::from(sea_orm::sea_query::Func::coalesce([
                        Expr::col(webhook::Column::FailingSince),
                        Expr::val(now),
                    ])),
                )
                .filter(webhook::Column::Id.eq(id))
                .exec(txn)
                .await?;
        }
        let Some(w) = webhook::Entity::find_by_id(id).one(txn).await? else {
            continue;
        };
        let since = w.failing_since.unwrap_or(now);
        let streak = u32::try_from(w.failure_streak).unwrap_or_default();
        if policy.pause_after_failures > 0
            && streak >= policy.pause_after_failures
            && now - since >= chrono::Duration::from_std(policy.pause_after).unwrap_or_default()
            && !w.paused
        {
            let reason = format!(
                "paused by Switchyard after {streak} failed attempts in a row since {}",
                format_time(&since)
            );
            if hold(txn, id, true, &reason, now).await? {
                paused_any = true;
                raise(
                    txn,
                    policy,
                    &w,
                    WEBHOOK_PAUSED,
                    &format!(
                        "The webhook \"{}\" was paused after {streak} failed attempts in a row since {}. Its deliveries wait and none is lost: fix the endpoint, then resume the webhook.",
                        w.name,
                        format_time(&since)
                    ),
                    now,
                )
                .await?;
            }
        } else if policy.warn_after > 0 && streak >= policy.warn_after && w.warned_at.is_none() {
            let first = webhook::Entity::update_many()
                .col_expr(webhook::Column::WarnedAt, Expr::value(now))
                .filter(webhook::Column::Id.eq(id))
                .filter(webhook::Column::WarnedAt.is_null())
                .exec(txn)
                .await?
                .rows_affected
                == 1;
            if first {
                let pause = if policy.pause_after_failures > 0 {
                    format!(
                        " If it goes on ({} failures in a row over {}), the webhook is paused.",
                        policy.pause_after_failures,
                        span_text(policy.pause_after)
                    )
                } else {
                    String::new()
                };
                raise(
                    txn,
                    policy,
                    &w,
                    WEBHOOK_FAILING,
                    &format!(
                        "The webhook \"{}\" has failed {streak} times in a row since {}.{pause}",
                        w.name,
                        format_time(&since)
                    ),
                    now,
                )
                .await?;
            }
        }
    }
    Ok(paused_any)
}

/// A span as a manager reads it: whole days as days ("5 days"), else hours or less.
fn span_text(d: Duration) -> String {
    let hours = d.as_secs() / 3600;
    match hours {
        24 => "a day".to_string(),
        h if h > 24 && h % 24 == 0 => format!("{} days", h / 24),
        1 => "an hour".to_string(),
        h if h > 1 => format!("{h} hours"),
        _ => "no time at all".to_string(),
    }
}

/// Pauses (with why, empty when a manager did) or resumes webhook `id`: a paused webhook's
/// queued deliveries wait; on resume they are due from when each was made, oldest first, the
/// failure streak starts afresh and its alerts are resolved. Whether it changed.
pub async fn hold(
    txn: &impl ConnectionTrait,
    id: i32,
    paused: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let mut change = webhook::Entity::update_many()
        .col_expr(webhook::Column::Paused, Expr::value(paused))
        .col_expr(webhook::Column::PausedReason, Expr::value(reason))
        .filter(webhook::Column::Id.eq(id));
    if paused {
        change = change.filter(webhook::Column::Paused.eq(false));
    } else {
        change = change
            .col_expr(webhook::Column::FailureStreak, Expr::value(0))
            .col_expr(
                webhook::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                webhook::Column::WarnedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
    }
    let changed = change.exec(txn).await?.rows_affected > 0;
    let waiting = webhook_delivery::Entity::update_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Queued));
    if paused {
        waiting
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(outbox::paused_until()),
            )
            .exec(txn)
            .await?;
    } else {
        // Those the pause held are due from when each was made: the oldest goes first.
        waiting
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::col(webhook_delivery::Column::CreatedAt),
            )
            .filter(webhook_delivery::Column::NextAttemptAt.gte(outbox::paused_from()))
            .exec(txn)
            .await?;
        resolve(txn, id, &[WEBHOOK_FAILING, WEBHOOK_PAUSED], now).await?;
    }
    Ok(changed)
}

/// Resolves the open alerts of `kinds` about webhook `id`.
async fn resolve(
    txn: &impl ConnectionTrait,
    id: i32,
    kinds: &[&str],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    alert::Entity::update_many()
        .col_expr(alert::Column::ResolvedAt, Expr::value(now))
        .filter(alert::Column::WebhookId.eq(id))
        .filter(alert::Column::Kind.is_in(kinds.iter().copied()))
        .filter(alert::Column::ResolvedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// An alert about webhook `w` on the dashboard, and (email set up) an email to each community
/// manager, queued like any email in the same transaction: durable, retried, in the log.
async fn raise(
    txn: &impl ConnectionTrait,
    policy: &Policy,
    w: &webhook::Model,
    kind: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    alert::ActiveModel {
        kind: Set(kind.to_string()),
        webhook_id: Set(Some(w.id)),
        listener_id: Set(None),
        message: Set(message.to_string()),
        created_at: Set(now),
        resolved_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    tracing::warn!(webhook = w.id, kind, "{message}");
    if !policy.email {
        return Ok(());
    }
    let subject = if kind == WEBHOOK_PAUSED {
        format!("Webhook paused: {}", w.name)
    } else {
        format!("Webhook failing: {}", w.name)
    };
    let body = format!(
        "{message}\n\nThe webhook: {}/webhooks/{}\nIts deliveries: {}/webhooks/log?webhook={}\n",
        policy.base_url, w.id, policy.base_url, w.id
    );
    email_managers(txn, &subject, &body, now).await
}

/// Queues `subject` and `body` to every community manager, one email each.
pub(crate) async fn email_managers(
    txn: &impl ConnectionTrait,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let managers: Vec<String> = user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .filter(user::Column::Role.eq(Role::CommunityManager.key()))
        .into_tuple()
        .all(txn)
        .await?;
    for to in managers {
        webhook_delivery::ActiveModel {
            webhook_id: Set(None),
            webhook_name: Set(ALERT_EMAIL.to_string()),
            macro_id: Set(None),
            run_id: Set(None),
            target_user_id: Set(None),
            target_ticket_id: Set(None),
            target_label: Set(String::new()),
            kind: Set(WebhookKind::Email),
            method: Set(String::new()),
            url: Set(format!("mailto:{to}")),
            headers: Set(outbox::headers_json(&[("Subject".into(), subject.into())])),
            body: Set(body.to_string()),
            msg_id: Set(outbox::new_msg_id()),
            status: Set(DeliveryStatus::Queued),
            attempts: Set(0),
            next_attempt_at: Set(now),
            test: Set(false),
            created_at: Set(now),
            sealed: Set(false),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// The calls this process answered per listener over the last hour, a minute at a time:
/// successes and refusals (counted once the listener was known). `judge_listeners` reads them.
#[derive(Default)]
pub struct CallRates {
    by_listener:
        std::sync::Mutex<std::collections::HashMap<i32, std::collections::VecDeque<Minute>>>,
}

#[derive(Debug, Clone, Copy)]
struct Minute {
    at: i64,
    ok: u64,
    refused: u64,
}

/// Minutes in the window a listener's refusals are judged over.
const WINDOW_MINUTES: i64 = 60;

impl CallRates {
    /// One call to listener `id`, answered with success (`ok`) or refused.
    pub fn note(&self, id: i32, ok: bool) {
        self.note_at(id, ok, Utc::now().timestamp().div_euclid(60));
    }

    fn note_at(&self, id: i32, ok: bool, minute: i64) {
        let mut map = self.by_listener.lock().unwrap_or_else(|e| e.into_inner());
        let minutes = map.entry(id).or_default();
        match minutes.back_mut() {
            Some(m) if m.at == minute => {
                if ok {
                    m.ok += 1;
                } else {
                    m.refused += 1;
                }
            }
            _ => minutes.push_back(Minute {
                at: minute,
                ok: u64::from(ok),
                refused: u64::from(!ok),
            }),
        }
        while minutes
            .front()
            .is_some_and(|m| m.at <= minute - WINDOW_MINUTES)
        {
            minutes.pop_front();
        }
    }

    /// (listener, calls, refused) over the last hour; listeners without calls in it are
    /// forgotten.
    pub fn last_hour(&self) -> Vec<(i32, u64, u64)> {
        self.window_at(Utc::now().timestamp().div_euclid(60))
    }

    fn window_at(&self, minute: i64) -> Vec<(i32, u64, u64)> {
        let mut map = self.by_listener.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, minutes| {
            while minutes
                .front()
                .is_some_and(|m| m.at <= minute - WINDOW_MINUTES)
            {
                minutes.pop_front();
            }
            !minutes.is_empty()
        });
        let mut out: Vec<(i32, u64, u64)> = map
            .iter()
            .map(|(id, minutes)| {
                let ok: u64 = minutes.iter().map(|m| m.ok).sum();
                let refused: u64 = minutes.iter().map(|m| m.refused).sum();
                (*id, ok + refused, refused)
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Judges the listeners once a minute until `stop`.
    pub async fn run(
        self: std::sync::Arc<Self>,
        db: sea_orm::DatabaseConnection,
        policy: Policy,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                _ = stop.changed() => break,
            }
            let rates = self.last_hour();
            if let Err(e) = judge_listeners(&db, &policy, &rates, Utc::now()).await {
                tracing::warn!(error = %e, "cannot judge the listeners' refused calls; tried again in a minute");
            }
        }
    }
}

/// A listener that refused more than `refused_percent` of at least `refused_min_calls` calls
/// over the last hour gets an alert (one open at a time) and managers an email; once enough of
/// its calls go through again, the alert is resolved. Each process judges the calls it
/// answered (behind a load balancer, each sees its share).
pub async fn judge_listeners(
    db: &sea_orm::DatabaseConnection,
    policy: &Policy,
    rates: &[(i32, u64, u64)],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::server::entities::listener;
    if policy.refused_percent == 0 {
        return Ok(());
    }
    for &(id, calls, refused) in rates {
        // Too few calls to judge: an alert stays as it is.
        if calls < u64::from(policy.refused_min_calls) {
            continue;
        }
        let share = refused * 100;
        let over = share > u64::from(policy.refused_percent) * calls;
        // Resolved only well below the line (half of it), so a listener hovering around it
        // does not raise and resolve an alert each minute.
        let well = share * 2 <= u64::from(policy.refused_percent) * calls;
        let (txn, gate) = crate::server::db::begin_write(db).await?;
        // The listener's row locked (PostgreSQL): two nodes judging at once raise one alert.
        let Some(l) = listener::Entity::find_by_id(id)
            .lock(sea_orm::sea_query::LockType::Update)
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            continue;
        };
        // An alert of the last hour, open or not: at most one an hour per listener (a
        // dismissed one holds for that hour).
        let recent = alert::Entity::find()
            .filter(alert::Column::ListenerId.eq(id))
            .filter(alert::Column::Kind.eq(LISTENER_REFUSING))
            .filter(alert::Column::CreatedAt.gt(now - chrono::Duration::hours(1)))
            .one(&txn)
            .await?;
        let open = alert::Entity::find()
            .filter(alert::Column::ListenerId.eq(id))
            .filter(alert::Column::Kind.eq(LISTENER_REFUSING))
            .filter(alert::Column::ResolvedAt.is_null())
            .one(&txn)
            .await?;
        match (over, open) {
            (true, None) if recent.is_none() => {
                let message = format!(
                    "The listener \"{}\" refused {refused} of its last {calls} calls in the past hour ({}%). Its log says why.",
                    l.name,
                    refused * 100 / calls.max(1)
                );
                alert::ActiveModel {
                    kind: Set(LISTENER_REFUSING.to_string()),
                    webhook_id: Set(None),
                    listener_id: Set(Some(id)),
                    message: Set(message.clone()),
                    created_at: Set(now),
                    resolved_at: Set(None),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                tracing::warn!(listener = id, "{message}");
                if policy.email {
                    let body = format!(
                        "{message}\n\nThe listener: {}/listeners/{id}\nIts calls: {}/listeners/log?listener={id}\n",
                        policy.base_url, policy.base_url
                    );
                    email_managers(
                        &txn,
                        &format!("Listener refusing calls: {}", l.name),
                        &body,
                        now,
                    )
                    .await?;
                }
            }
            (false, Some(a)) if well => {
                alert::Entity::update_many()
                    .col_expr(alert::Column::ResolvedAt, Expr::value(now))
                    .filter(alert::Column::Id.eq(a.id))
                    .exec(&txn)
                    .await?;
            }
            _ => {}
        }
        txn.commit().await?;
        drop(gate);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_rates_keep_the_last_hour() {
        let rates = CallRates::default();
        for _ in 0..3 {
            rates.note_at(7, false, 100);
        }
        rates.note_at(7, true, 130);
        rates.note_at(9, true, 100);
        assert_eq!(rates.window_at(130), vec![(7, 4, 3), (9, 1, 0)]);
        // An hour after minute 100, its calls are out of the window.
        assert_eq!(rates.window_at(160), vec![(7, 1, 0)]);
        assert_eq!(rates.window_at(200), vec![]);
    }

    #[test]
    fn spans_read_as_days_or_hours() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(span_text(h(120)), "5 days");
        assert_eq!(span_text(h(24)), "a day");
        assert_eq!(span_text(h(36)), "36 hours");
        assert_eq!(span_text(h(1)), "an hour");
        assert_eq!(span_text(h(0)), "no time at all");
    }

    #[test]
    fn a_tally_counts_failures_after_the_last_success() {
        let mut t = Tally::default();
        for ok in [false, false, true, false] {
            t.note(ok);
        }
        assert!(t.succeeded);
        assert_eq!(t.failures, 1);
        let mut t = Tally::default();
        t.note(false);
        t.note(false);
        assert!(!t.succeeded);
        assert_eq!(t.failures, 2);
    }
}
