//! What runs macros by itself: feedback macros automated on submitted or modified tickets
//! (queued in the transaction that submitted or changed the ticket), and schedules (a due
//! schedule starts a bulk run over its filter, claimed by exactly one node).

use crate::server::engine::matching;
use crate::server::store::audit_trail;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::filters::{self};
use super::macros::{self, RunTarget, Trigger};
use super::{Actor, bulk_runs};
use crate::errors::AppError;
use crate::server::engine::matching::SCOPE_FEEDBACK;
use crate::server::entities::macro_def;
use crate::server::worker::{self, MacroRunJob};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketEvent {
    Submitted,
    Modified,
}

/// Queues, in the caller's transaction, a run of every feedback macro automated on `event`
/// whose filter the ticket passes. Returns how many were queued. Runs of macros themselves do
/// not call this: a macro that modifies a ticket does not set off the automation again.
pub async fn ticket_event(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    ticket_id: i32,
    event: TicketEvent,
) -> Result<usize, AppError> {
    let column = match event {
        TicketEvent::Submitted => macro_def::Column::OnSubmit,
        TicketEvent::Modified => macro_def::Column::OnModify,
    };
    let automated = macro_def::Entity::find()
        .filter(macro_def::Column::Scope.eq(SCOPE_FEEDBACK))
        .filter(column.eq(true))
        .all(txn)
        .await?;
    let mut queued = 0;
    for m in automated {
        if let Some(filter_id) = m.automation_filter_id {
            let def = matching::definition(txn, filter_id).await?;
            if !matching::ticket_passes(txn, &def, ticket_id).await? {
                continue;
            }
        }
        let run_id = macros::queue_run(
            txn,
            m.id,
            RunTarget::Ticket(ticket_id),
            Trigger::Automation,
            None,
        )
        .await?;
        worker::enqueue(
            txn,
            crate::shared::vocab::JobKind::MacroRun,
            &MacroRunJob {
                run_id,
                macro_id: m.id,
                user_id: 0,
                ticket_id: Some(ticket_id),
                trigger: Trigger::Automation,
                actor: format!("automation ({})", m.name),
                actor_user_id: None,
                actor_ip: actor.ip.clone(),
                listener: None,
            },
        )
        .await?;
        queued += 1;
    }
    Ok(queued)
}

/// Starts every schedule due at `now`: for each, a bulk run over what its filter selects now,
/// and the schedule's next run, written in one transaction that only succeeds if the schedule
/// still has the next-run time this node read (so with several nodes exactly one starts it).
/// Returns the bulk runs started.
pub async fn run_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Vec<i32>, AppError> {
    let due = macro_def::Entity::find()
        .filter(macro_def::Column::ScheduleEnabled.eq(true))
        .filter(macro_def::Column::NextRunAt.lte(now))
        .all(db)
        .await?;
    let mut started = Vec::new();
    for m in due {
        let (Some(planned), Some(start), Some(filter_id)) =
            (m.next_run_at, m.schedule_starts_at, m.schedule_filter_id)
        else {
            continue;
        };
        let next = macros::next_run(&m.schedule_frequency, start, m.schedule_ends_at, now, true);
        let actor = Actor::system(&format!("schedule ({})", m.name));
        let (txn, _gate) = crate::server::db::begin_write(db).await?;
        let claimed = macro_def::Entity::update_many()
            .col_expr(macro_def::Column::NextRunAt, Expr::value(next))
            .col_expr(macro_def::Column::LastRunAt, Expr::value(now))
            .filter(macro_def::Column::Id.eq(m.id))
            .filter(macro_def::Column::ScheduleEnabled.eq(true))
            .filter(macro_def::Column::NextRunAt.eq(planned))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            txn.rollback().await?;
            continue;
        }
        let filter = filters::get(&txn, filter_id).await?;
        let view = macros::get(&txn, m.id).await?;
        let bulk = bulk_runs::queue(&txn, &actor, &view, &filter, Trigger::Schedule).await?;
        txn.commit().await?;
        if let Some(id) = bulk {
            started.push(id);
        }
    }
    Ok(started)
}

/// Switches a macro's schedule on or off; switched on, it runs next at its next occurrence.
pub async fn set_schedule_enabled(
    db: &DatabaseConnection,
    actor: &Actor,
    macro_id: i32,
    enabled: bool,
) -> Result<(), AppError> {
    let m = macro_def::Entity::find_by_id(macro_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("macro {macro_id}")))?;
    let Some(start) = m.schedule_starts_at else {
        return Err(AppError::field("id", "this macro has no schedule"));
    };
    let now = Utc::now();
    let next = enabled
        .then(|| {
            macros::next_run(
                &m.schedule_frequency,
                start,
                m.schedule_ends_at,
                now,
                m.last_run_at.is_some_and(|l| l >= start),
            )
        })
        .flatten();
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    macro_def::Entity::update_many()
        .col_expr(macro_def::Column::ScheduleEnabled, Expr::value(enabled))
        .col_expr(macro_def::Column::NextRunAt, Expr::value(next))
        .filter(macro_def::Column::Id.eq(macro_id))
        .exec(&txn)
        .await?;
    audit_trail::record(
        &txn,
        actor,
        if enabled {
            "schedule.enabled"
        } else {
            "schedule.disabled"
        },
        &m.name,
        "",
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
