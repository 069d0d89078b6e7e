//! One lease queue for every table worked off by workers (jobs, webhook deliveries): rows wait
//! as `queued` until due, a worker claims a batch by setting them to the table's claimed
//! status with its name and a lease, and a claim whose lease ran out (its worker died) is
//! taken over by the next claim. PostgreSQL locks the rows it picks and skips rows other
//! claimers hold (`FOR UPDATE SKIP LOCKED`); SQLite's builder leaves the lock clause out, its
//! writers being serialised by the immediate transaction of `db::begin_write`.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::errors::AppError;
use crate::server::db::begin_write;
use crate::server::entities::{job, webhook_delivery};
use crate::shared::vocab::{DeliveryStatus, JobStatus};

/// A table worked off by leases; its id is an `i64`.
pub trait Leased: EntityTrait {
    /// The status of a claimed row (`running` jobs, `sending` deliveries).
    const CLAIMED: &'static str;
    /// The status of a row waiting for its time (the same key in both tables).
    const WAITING: &'static str = JobStatus::Queued.as_str();
    fn id() -> Self::Column;
    fn status() -> Self::Column;
    /// When a waiting row is due.
    fn due_at() -> Self::Column;
    /// The order rows are probed in: the column after `status` in the table's claim index, so
    /// each probe is served by the index alone.
    fn probe_order() -> Self::Column;
    fn locked_by() -> Self::Column;
    fn locked_until() -> Self::Column;
    fn attempts() -> Self::Column;
}

impl Leased for job::Entity {
    const CLAIMED: &'static str = JobStatus::Running.as_str();
    fn id() -> job::Column {
        job::Column::Id
    }
    fn status() -> job::Column {
        job::Column::Status
    }
    fn due_at() -> job::Column {
        job::Column::RunAfter
    }
    /// Index `idx_jobs_claim (status, id)`: the oldest job first.
    fn probe_order() -> job::Column {
        job::Column::Id
    }
    fn locked_by() -> job::Column {
        job::Column::LockedBy
    }
    fn locked_until() -> job::Column {
        job::Column::LockedUntil
    }
    fn attempts() -> job::Column {
        job::Column::Attempts
    }
}

impl Leased for webhook_delivery::Entity {
    const CLAIMED: &'static str = DeliveryStatus::Sending.as_str();
    fn id() -> webhook_delivery::Column {
        webhook_delivery::Column::Id
    }
    fn status() -> webhook_delivery::Column {
        webhook_delivery::Column::Status
    }
    fn due_at() -> webhook_delivery::Column {
        webhook_delivery::Column::NextAttemptAt
    }
    /// Index `idx_deliveries_claim (status, next_attempt_at)`: the longest due first.
    fn probe_order() -> webhook_delivery::Column {
        webhook_delivery::Column::NextAttemptAt
    }
    fn locked_by() -> webhook_delivery::Column {
        webhook_delivery::Column::LockedBy
    }
    fn locked_until() -> webhook_delivery::Column {
        webhook_delivery::Column::LockedUntil
    }
    fn attempts() -> webhook_delivery::Column {
        webhook_delivery::Column::Attempts
    }
}

/// Claims up to `max` due rows of `Q` for `worker` for `lease`, in one transaction, and
/// returns them by id: rows whose lease ran out first, then waiting rows that are due.
pub async fn claim<Q: Leased>(
    db: &DatabaseConnection,
    worker: &str,
    lease: Duration,
    max: u64,
) -> Result<Vec<Q::Model>, AppError> {
    let now = Utc::now();
    let locked_until =
        now + chrono::Duration::from_std(lease).map_err(|e| AppError::internal(e))?;
    // Two probes, each served by the claim index alone: leases that ran out (rare, after a
    // crash) first, then the rows that are due. One OR'ed query would walk every finished row
    // in index order before it found a due one.
    let expired = sea_orm::Condition::all()
        .add(Q::status().eq(Q::CLAIMED))
        .add(Q::locked_until().lt(now));
    let due = sea_orm::Condition::all()
        .add(Q::status().eq(Q::WAITING))
        .add(Q::due_at().lte(now));
    let (txn, _gate) = begin_write(db).await?;
    let mut picked: Vec<i64> = Vec::new();
    for which in [expired, due] {
        let room = max - picked.len() as u64;
        if room == 0 {
            break;
        }
        let ids: Vec<i64> = Q::find()
            .select_only()
            .column(Q::id())
            .filter(which)
            .order_by_asc(Q::probe_order())
            .limit(room)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_tuple()
            .all(&txn)
            .await?;
        picked.extend(ids);
    }
    if picked.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    Q::update_many()
        .col_expr(Q::status(), Expr::value(Q::CLAIMED))
        .col_expr(Q::locked_by(), Expr::value(worker))
        .col_expr(Q::locked_until(), Expr::value(locked_until))
        .col_expr(Q::attempts(), Expr::col(Q::attempts()).add(1))
        .filter(Q::id().is_in(picked.clone()))
        .exec(&txn)
        .await?;
    let claimed = Q::find()
        .filter(Q::id().is_in(picked))
        .order_by_asc(Q::id())
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(claimed)
}
