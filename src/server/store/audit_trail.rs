//! Writing the append-only audit log: every sign-in attempt and every change an admin or a
//! run makes, and the redaction of entries about a removed person. Reading it for the screens
//! is `admin::audit`.

use crate::errors::AppError;
use crate::server::domain::Actor;
use crate::server::entities::audit_log;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
};

#[tracing::instrument(skip(db, actor, subject, detail), fields(actor_id = ?actor.user_id))]
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), AppError> {
    record_about(db, actor, action, None, subject, detail).await
}

/// An entry about a person (created, edited, signed in…): `user_id` ties it to them, so that
/// removing them redacts it whatever email it was written with.
#[tracing::instrument(skip(db, actor, subject, detail), fields(actor_id = ?actor.user_id))]
pub async fn record_about(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    user_id: Option<i32>,
    subject: &str,
    detail: &str,
) -> Result<(), AppError> {
    audit_log::ActiveModel {
        created_at: Set(Utc::now()),
        actor_user_id: Set(actor.user_id),
        actor_label: Set(truncate(&actor.label, 254)),
        action: Set(action.to_string()),
        subject: Set(truncate(subject, 254)),
        detail: Set(detail.to_string()),
        ip: Set(truncate(&actor.ip, 64)),
        redacted: Set(false),
        subject_user_id: Set(user_id),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Redacts a removed person from the log, the only change the log accepts: entries about them
/// (tied to them, or whose subject is one of their emails) lose subject and details; entries
/// they made lose their name as actor. Both become `replacement`. Mentions anywhere else are
/// cut out by the erasure's sweep (`erasure`).
pub async fn redact(
    db: &impl ConnectionTrait,
    user_id: i32,
    emails: &[String],
    replacement: &str,
) -> Result<u64, AppError> {
    let lowered: Vec<String> = emails.iter().map(|e| e.to_lowercase()).collect();
    let lower = |col: audit_log::Column| Func::lower(Expr::col(col));
    let about = Condition::any()
        .add(audit_log::Column::SubjectUserId.eq(user_id))
        .add(Expr::expr(lower(audit_log::Column::Subject)).is_in(lowered.clone()));
    let by = Condition::any()
        .add(audit_log::Column::ActorUserId.eq(user_id))
        .add(Expr::expr(lower(audit_log::Column::ActorLabel)).is_in(lowered));
    let about_them = audit_log::Entity::update_many()
        .col_expr(audit_log::Column::Subject, Expr::value(replacement))
        .col_expr(audit_log::Column::Detail, Expr::value(""))
        .col_expr(
            audit_log::Column::SubjectUserId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(audit_log::Column::Redacted, Expr::value(true))
        .filter(about)
        .exec(db)
        .await?
        .rows_affected;
    let by_them = audit_log::Entity::update_many()
        .col_expr(audit_log::Column::ActorLabel, Expr::value(replacement))
        .col_expr(
            audit_log::Column::ActorUserId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(audit_log::Column::Redacted, Expr::value(true))
        .filter(by)
        .exec(db)
        .await?
        .rows_affected;
    Ok(about_them + by_them)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
