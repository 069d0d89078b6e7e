//! The append-only audit log: every sign-in attempt and every change an admin makes.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::format_time;
use crate::errors::AppError;
use crate::server::entities::audit_log;
use crate::types::{AuditEntry, AuditPage};

pub const PER_PAGE: u32 = 50;

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
                .add(audit_log::Column::SubjectUserId.eq(user_id))
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
