//! The append-only audit log: every sign-in attempt and every change an admin makes.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{Actor, format_time};
use crate::errors::AppError;
use crate::server::entities::audit_log;
use crate::types::{AuditEntry, AuditPage};

pub const PER_PAGE: u32 = 50;

#[tracing::instrument(skip(db, actor, subject, detail), fields(actor = %actor.label))]
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
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
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Replaces a removed person's email (as actor, subject or inside the details) with
/// `replacement` in every entry that names them: the only change the log accepts.
pub async fn redact(
    db: &impl ConnectionTrait,
    user_id: i32,
    email: &str,
    replacement: &str,
) -> Result<(), AppError> {
    let entries = audit_log::Entity::find()
        .filter(
            Condition::any()
                .add(audit_log::Column::ActorUserId.eq(user_id))
                .add(audit_log::Column::Subject.eq(email))
                .add(audit_log::Column::ActorLabel.eq(email))
                .add(audit_log::Column::Detail.contains(email)),
        )
        .all(db)
        .await?;
    for e in entries {
        let swap = |s: &str| {
            if s == email {
                replacement.to_string()
            } else {
                s.replace(email, replacement)
            }
        };
        let mut active: audit_log::ActiveModel = e.clone().into();
        active.actor_label = Set(swap(&e.actor_label));
        active.subject = Set(swap(&e.subject));
        active.detail = Set(swap(&e.detail));
        active.actor_user_id = Set(None);
        active.redacted = Set(true);
        active.update(db).await?;
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn view(m: audit_log::Model) -> AuditEntry {
    AuditEntry {
        id: m.id,
        created_at: format_time(&m.created_at),
        actor: m.actor_label,
        action: m.action,
        subject: m.subject,
        detail: m.detail,
        ip: m.ip,
    }
}

pub async fn list(db: &impl ConnectionTrait, page: u32) -> Result<AuditPage, AppError> {
    let query = audit_log::Entity::find();
    let total = query.clone().count(db).await?;
    let entries = query
        .order_by_desc(audit_log::Column::Id)
        .offset((page as u64) * PER_PAGE as u64)
        .limit(PER_PAGE as u64)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect();
    Ok(AuditPage {
        entries,
        total,
        page,
        per_page: PER_PAGE,
    })
}

pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<AuditEntry>, AppError> {
    Ok(audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Entries about one user: what they did, and what was done to them.
pub async fn for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    subject: &str,
    limit: u64,
) -> Result<Vec<AuditEntry>, AppError> {
    Ok(audit_log::Entity::find()
        .filter(
            Condition::any()
                .add(audit_log::Column::ActorUserId.eq(user_id))
                .add(audit_log::Column::Subject.eq(subject)),
        )
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// How many times `action` was recorded for a subject (or an IP) since `since`.
pub async fn count_since(
    db: &impl ConnectionTrait,
    action: &str,
    subject: Option<&str>,
    ip: Option<&str>,
    since: chrono::DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut q = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .filter(audit_log::Column::CreatedAt.gt(since));
    if let Some(s) = subject {
        q = q.filter(audit_log::Column::Subject.eq(s));
    }
    if let Some(ip) = ip {
        q = q.filter(audit_log::Column::Ip.eq(ip));
    }
    Ok(q.count(db).await?)
}
