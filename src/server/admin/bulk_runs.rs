//! Bulk runs: a macro run on every user or ticket of a filter. Each one's run is queued
//! durably in one transaction with the bulk run itself, and the queue's workers carry them out;
//! the progress is counted from the runs.

use crate::server::engine::matching;
use crate::server::store::audit_trail;
use crate::shared::vocab::RunStatus;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::macros::{self, RunTarget, Trigger};
use super::{Actor, filters, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::engine::matching::SCOPE_FEEDBACK;
use crate::server::entities::{bulk_run, job, macro_run};
use crate::server::worker::{self, MacroRunJob};
use crate::types::{BulkRunForm, BulkRunView, FilterView, MacroView};

/// Rows per multi-row insert (well under SQLite's limit of bound values).
const CHUNK: usize = 500;

/// Queues the macro for every user or ticket the filter selects now; returns the bulk run's
/// id.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn start(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &BulkRunForm,
) -> Result<i32, AppError> {
    let mut errors = FieldErrors::new();
    let filter_id = errors.check(
        "filter_id",
        parse_id(&form.filter_id).map_err(|_| "choose a filter".to_string()),
    );
    let macro_id = errors.check(
        "macro_id",
        parse_id(&form.macro_id).map_err(|_| "choose the macro to run".to_string()),
    );
    let filter = match filter_id {
        Some(id) => Some(filters::get(db, id).await?),
        None => None,
    };
    if form.confirm.is_none() {
        errors.push(
            "confirm",
            match filter.as_ref().map(|f| f.scope.as_str()) {
                Some(SCOPE_FEEDBACK) => "tick the box to confirm the run on every matching ticket",
                _ => "tick the box to confirm the run on every matching user",
            },
        );
    }
    errors.into_result()?;
    let (filter, macro_id) = (filter.expect("checked"), macro_id.expect("checked"));
    let m = macros::get_in_scope(db, macro_id, &filter.scope, "macro_id").await?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let Some(id) = queue(&txn, actor, &m, &filter, Trigger::Bulk).await? else {
        return Err(AppError::field(
            "filter_id",
            if filter.scope == SCOPE_FEEDBACK {
                "no ticket matches this filter"
            } else {
                "no user matches this filter"
            },
        ));
    };
    txn.commit().await?;
    Ok(id)
}

/// Queues, in the caller's transaction, a run of `m` for everything `filter` selects now, with
/// the bulk run that counts them. None when the filter selects nothing.
pub async fn queue(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    m: &MacroView,
    filter: &FilterView,
    trigger: Trigger,
) -> Result<Option<i32>, AppError> {
    let ids = matching::matching_ids(txn, filter).await?;
    if ids.is_empty() {
        return Ok(None);
    }
    let tickets = filter.scope == SCOPE_FEEDBACK;
    let target = |id: i32| {
        if tickets {
            RunTarget::Ticket(id)
        } else {
            RunTarget::User(id)
        }
    };
    let bulk = bulk_run::ActiveModel {
        macro_id: Set(Some(m.id)),
        macro_name: Set(m.name.clone()),
        filter_name: Set(filter.name.clone()),
        total: Set(ids.len() as i32),
        started_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
        scope: Set(filter.scope.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for chunk in ids.chunks(CHUNK) {
        macro_run::Entity::insert_many(
            chunk
                .iter()
                .map(|id| macros::new_queued_run(m.id, target(*id), trigger, Some(bulk.id))),
        )
        .exec_without_returning(txn)
        .await?;
    }
    let runs: Vec<(i64, Option<i32>, Option<i32>)> = macro_run::Entity::find()
        .select_only()
        .column(macro_run::Column::Id)
        .column(macro_run::Column::TargetUserId)
        .column(macro_run::Column::TargetTicketId)
        .filter(macro_run::Column::BulkRunId.eq(bulk.id))
        .order_by_asc(macro_run::Column::Id)
        .into_tuple()
        .all(txn)
        .await?;
    for chunk in runs.chunks(CHUNK) {
        let jobs: Vec<job::ActiveModel> = chunk
            .iter()
            .map(|(run_id, user_id, ticket_id)| {
                worker::new_job(
                    crate::shared::vocab::JobKind::MacroRun,
                    &MacroRunJob {
                        run_id: *run_id,
                        macro_id: m.id,
                        user_id: user_id.unwrap_or(0),
                        ticket_id: *ticket_id,
                        trigger,
                        actor: actor.label.clone(),
                        actor_user_id: actor.user_id,
                        actor_ip: actor.ip.clone(),
                        listener: None,
                    },
                )
            })
            .collect::<Result<_, _>>()?;
        job::Entity::insert_many(jobs)
            .exec_without_returning(txn)
            .await?;
    }
    audit_trail::record(
        txn,
        actor,
        "bulk_run.started",
        &m.name,
        &format!(
            "{} {} of filter {}",
            ids.len(),
            if tickets { "tickets" } else { "users" },
            filter.name
        ),
    )
    .await?;
    Ok(Some(bulk.id))
}

/// Where a bulk run stands.
pub async fn progress(db: &impl ConnectionTrait, id: i32) -> Result<BulkRunView, AppError> {
    let bulk = bulk_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("bulk run {id}")))?;
    let counts: Vec<(RunStatus, String, i64)> = macro_run::Entity::find()
        .select_only()
        .column(macro_run::Column::Status)
        .column(macro_run::Column::Outcome)
        .column_as(macro_run::Column::Id.count(), "n")
        .filter(macro_run::Column::BulkRunId.eq(id))
        .group_by(macro_run::Column::Status)
        .group_by(macro_run::Column::Outcome)
        .into_tuple()
        .all(db)
        .await?;
    let mut view = BulkRunView {
        id,
        scope: bulk.scope,
        macro_name: bulk.macro_name,
        filter_name: bulk.filter_name,
        started_at: format_time(&bulk.created_at),
        total: bulk.total as u64,
        completed: 0,
        skipped: 0,
        failed: 0,
        waiting: 0,
        failures: Vec::new(),
    };
    for (status, outcome, n) in counts {
        let n = n as u64;
        match status {
            RunStatus::Completed => view.completed += n,
            RunStatus::Skipped => view.skipped += n,
            RunStatus::Failed => {
                view.failed += n;
                view.failures.push((outcome, n));
            }
            RunStatus::Queued => view.waiting += n,
        }
    }
    view.failures
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(view)
}
