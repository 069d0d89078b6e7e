//! What runs macros by itself: feedback macros automated on submitted or modified tickets
//! (queued in the transaction that submitted or changed the ticket), user macros automated on
//! a user's creation or their joining or leaving a team (queued in the transaction that made
//! the change), and schedules (a due
//! schedule starts a bulk run over its filter, claimed by exactly one node).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::errors::AppError;
use crate::server::domain::Actor;
use crate::server::domain::macros::next_run;
use crate::server::engine::matching::{self, SCOPE_FEEDBACK, SCOPE_USER};
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

/// Queues, in the caller's transaction, an automated run of `m` on `target` and its job.
async fn queue_automated(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    m: &macro_def::Model,
    target: RunTarget,
) -> Result<(), AppError> {
    let (user_id, ticket_id) = match target {
        RunTarget::User(id) => (id, None),
        RunTarget::Ticket(id) => (0, Some(id)),
    };
    let run_id = runs::queue_run(txn, m.id, target, Trigger::Automation, None).await?;
    worker::enqueue(
        txn,
        crate::shared::vocab::JobKind::MacroRun,
        &MacroRunJob {
            run_id,
            macro_id: m.id,
            user_id,
            ticket_id,
            trigger: Trigger::Automation,
            actor: format!("automation ({})", m.name),
            actor_user_id: None,
            actor_ip: actor.ip.clone(),
            listener: None,
        },
    )
    .await?;
    Ok(())
}

/// An automation's guard filter, read for one macro: a filter deleted meanwhile (a delete
/// racing the macro's save) guards nothing any more, so the macro is not run (`None`) and the
/// event itself — the ticket submitted, the user created — still goes through.
fn guard<T>(read: Result<T, AppError>, m: &macro_def::Model) -> Result<Option<T>, AppError> {
    match read {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => {
            tracing::warn!(macro_id = m.id, filter_id = ?m.automation_filter_id, "the automation's filter is gone: not run");
            Ok(None)
        }
        Err(e) => Err(e),
    }
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
            let Some(def) = guard(matching::definition(txn, filter_id).await, &m)? else {
                continue;
            };
            if !matching::ticket_passes(txn, &def, ticket_id).await? {
                continue;
            }
        }
        queue_automated(txn, actor, &m, RunTarget::Ticket(ticket_id)).await?;
        queued += 1;
    }
    Ok(queued)
}

/// What happened to a user that user macros can be automated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEvent {
    /// The user was created (the *New user* screen, a CSV import, a new administrator).
    Created,
    /// The user joined this team (a manager's edit, or the team they were created in).
    JoinedTeam(i32),
    /// The user left this team (a manager's edit; being removed is not leaving).
    LeftTeam(i32),
}

/// Queues, in the caller's transaction, a run of every user macro automated on `event` whose
/// filter the user passes as they are now (after the change: after leaving, for
/// `LeftTeam`), and, for joining or leaving, whose team is this one or unset. Returns how many
/// were queued. Runs of macros themselves do not call this: a macro's *add to team* or
/// *remove from team* does not set off the automation again.
pub async fn user_event(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    user_id: i32,
    event: UserEvent,
) -> Result<usize, AppError> {
    let mut automated = macro_def::Entity::find().filter(macro_def::Column::Scope.eq(SCOPE_USER));
    automated = match event {
        UserEvent::Created => automated.filter(macro_def::Column::OnUserCreated.eq(true)),
        UserEvent::JoinedTeam(team) | UserEvent::LeftTeam(team) => automated
            .filter(if matches!(event, UserEvent::JoinedTeam(_)) {
                macro_def::Column::OnTeamJoin.eq(true)
            } else {
                macro_def::Column::OnTeamLeave.eq(true)
            })
            .filter(
                sea_orm::Condition::any()
                    .add(macro_def::Column::EventTeamId.is_null())
                    .add(macro_def::Column::EventTeamId.eq(team)),
            ),
    };
    let mut queued = 0;
    for m in automated.all(txn).await? {
        if let Some(filter_id) = m.automation_filter_id
            && guard(matching::user_matches(txn, filter_id, user_id).await, &m)? != Some(true)
        {
            continue;
        }
        queue_automated(txn, actor, &m, RunTarget::User(user_id)).await?;
        queued += 1;
    }
    Ok(queued)
}

/// Queues the automation of a change of `user_id`'s teams from `before` to `after`: one
/// `LeftTeam` per team left, one `JoinedTeam` per team joined.
pub async fn teams_changed(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    user_id: i32,
    before: &[i32],
    after: &[i32],
) -> Result<usize, AppError> {
    let mut queued = 0;
    for team in before.iter().filter(|t| !after.contains(t)) {
        queued += user_event(txn, actor, user_id, UserEvent::LeftTeam(*team)).await?;
    }
    for team in after.iter().filter(|t| !before.contains(t)) {
        queued += user_event(txn, actor, user_id, UserEvent::JoinedTeam(*team)).await?;
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
