//! What runs macros by itself: feedback macros automated on submitted or modified tickets
//! (queued in the transaction that submitted or changed the ticket), and schedules (a due
//! schedule starts a bulk run over its filter, claimed by exactly one node).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::errors::AppError;
use crate::server::domain::Actor;
use crate::server::domain::macros::next_run;
use crate::server::engine::matching::{self, SCOPE_FEEDBACK};
use crate::server::engine::runs::{self, RunTarget};
use crate::server::entities::macro_def;
use crate::server::store::lookups;
use crate::server::worker::{self, MacroRunJob};
use crate::shared::vocab::Trigger;

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
    if automated.is_empty() {
        return Ok(0);
    }
    let t = lookups::find_ticket(txn, ticket_id).await?;
    let mut queued = 0;
    for m in automated {
        // Macros placed on another project or feedback type are not queued at all (the run
        // would only be skipped by `runs::run_on_ticket`).
        if !lookups::macro_of(&m)?
            .place
            .holds(t.project_id, t.feedback_type_id)
        {
            continue;
        }
        if let Some(filter_id) = m.automation_filter_id {
            let def = matching::definition(txn, filter_id).await?;
            if !matching::ticket_passes(txn, &def, ticket_id).await? {
                continue;
            }
        }
        let run_id = runs::queue_run(
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
        let next = next_run(&m.schedule_frequency, start, m.schedule_ends_at, now, true);
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
        let filter = matching::find(&txn, filter_id).await?;
        let runnable = lookups::macro_of(&m)?;
        let bulk = runs::queue_bulk(&txn, &actor, &runnable, &filter, Trigger::Schedule).await?;
        txn.commit().await?;
        if let Some(id) = bulk {
            started.push(id);
        }
    }
    Ok(started)
}
