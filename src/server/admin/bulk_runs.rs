//! Bulk runs: a macro run on every user or ticket of a filter. Each one's run is queued
//! durably in one transaction with the bulk run itself, and the queue's workers carry them out;
//! the progress is counted from the runs.

use crate::server::engine::matching;
use crate::shared::vocab::RunStatus;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};

use super::{Actor, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::engine::matching::SCOPE_FEEDBACK;
use crate::server::engine::runs::{self, macro_in_scope};
use crate::server::entities::{bulk_run, macro_run, ticket, user};
use crate::shared::vocab::Trigger;
use crate::types::{ActionChoice, BulkRunForm, BulkRunView, SelectionRunForm};

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
        Some(id) => Some(matching::find(db, id).await?),
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
    let m = macro_in_scope(db, macro_id, filter.scope.as_str(), "macro_id").await?;
    super::refuse_removal_to_project_managers(actor, m.removes())?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let Some(id) = runs::queue_bulk(&txn, actor, &m, &filter, Trigger::Bulk).await? else {
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

/// The macros a list's *Actions* offer `actor` for `scope`: those shown in user-management
/// (or ticket) actions that the actor may run. A project's feedback list (`project`, and the
/// feedback type it is narrowed to, `feedback_type`) leaves out the macros placed elsewhere,
/// which would skip every ticket it lists, and names the feedback type a macro is placed in
/// when the list holds other types too (it skips their tickets).
pub async fn choices(
    db: &impl ConnectionTrait,
    actor: &Actor,
    scope: &str,
    (project, feedback_type): (Option<i32>, Option<i32>),
) -> Result<Vec<ActionChoice>, AppError> {
    Ok(super::macros::offered_to(db, actor, scope)
        .await?
        .into_iter()
        .filter(|m| m.options.show_in_user_actions)
        .filter(|m| match (project, &m.place.project) {
            (Some(list), Some((placed, _))) => list == *placed,
            _ => true,
        })
        .filter(|m| match (feedback_type, &m.place.feedback_type) {
            (Some(list), Some((placed, _))) => list == *placed,
            _ => true,
        })
        .map(|m| ActionChoice {
            id: m.id,
            name: match &m.place.feedback_type {
                Some((_, kind)) if feedback_type.is_none() => format!("{} (only {kind})", m.name),
                None if project.is_none() && m.place.project.is_some() => {
                    format!("{} (only {})", m.name, m.place.label)
                }
                _ => m.name,
            },
            suppress_confirmation: m.options.suppress_confirmation,
        })
        .collect())
}

/// The most rows a list's *Actions* take ticked one by one (a page holds fewer).
pub const MAX_TICKED: usize = 200;

/// Queues a macro from a list's *Actions* on the ticked users or tickets, or on every one
/// matching the list's search; returns the bulk run's id. The confirmation box is needed
/// unless the macro suppresses it (every match of a search, or a removal, always asks).
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn start_on_selection(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &SelectionRunForm,
) -> Result<i32, AppError> {
    let scope = matching::parse_scope(&form.scope);
    let tickets = scope == SCOPE_FEEDBACK;
    let mut errors = FieldErrors::new();
    let macro_id = errors.check(
        "macro_id",
        parse_id(&form.macro_id).map_err(|_| "choose the macro to run".to_string()),
    );
    let m = match macro_id {
        Some(id) => match macro_in_scope(db, id, scope, "macro_id").await {
            Ok(m) => Some(m),
            Err(e) => {
                errors.absorb(e)?;
                None
            }
        },
        None => None,
    };
    if let Some(m) = &m {
        super::refuse_removal_to_project_managers(actor, m.removes())?;
        if !m.options.show_in_user_actions {
            errors.push(
                "macro_id",
                "this macro is not offered in the list's actions (its option is off)",
            );
        }
        // Every match of a search, or a removal, is always confirmed: one click must not
        // reach the whole community.
        let asks =
            !m.options.suppress_confirmation || form.all.as_deref() == Some("all") || m.removes();
        if asks && form.confirm.is_none() {
            errors.push(
                "confirm",
                if tickets {
                    "tick the box to confirm the run on these tickets"
                } else {
                    "tick the box to confirm the run on these users"
                },
            );
        }
    }
    let all = form.all.as_deref() == Some("all");
    if !all && form.ids.len() > MAX_TICKED {
        return Err(AppError::field(
            "ids",
            format!("tick at most {MAX_TICKED} rows, or choose every match of the search"),
        ));
    }
    let ids: Vec<i32> = if all {
        if tickets {
            super::feedback::matching_ids(db, &form.tickets).await?
        } else {
            super::users::matching_ids(db, &form.users).await?
        }
    } else {
        let mut ids = std::collections::BTreeSet::new();
        for raw in &form.ids {
            match parse_id(raw) {
                Ok(id) => {
                    ids.insert(id);
                }
                Err(_) => {
                    errors.push("ids", "a ticked row is not a valid id");
                    break;
                }
            }
        }
        // Rows deleted since the list was shown are left out.
        if tickets {
            ticket::Entity::find()
                .select_only()
                .column(ticket::Column::Id)
                .filter(ticket::Column::Id.is_in(ids))
                .into_tuple()
                .all(db)
                .await?
        } else {
            user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::Id.is_in(ids))
                .into_tuple()
                .all(db)
                .await?
        }
    };
    if ids.is_empty() {
        errors.push(
            "ids",
            match (all, tickets) {
                (true, true) => "no ticket matches the list's filters",
                (true, false) => "no user matches the search",
                (false, true) => "tick at least one ticket, or choose every matching ticket",
                (false, false) => "tick at least one user, or choose every matching user",
            },
        );
    }
    errors.into_result()?;
    let m = m.expect("checked");
    let what = if tickets { "tickets" } else { "users" };
    let label = if all {
        format!("every matching {} ({})", &what[..what.len() - 1], ids.len())
    } else {
        format!(
            "{} ticked {}",
            ids.len(),
            if ids.len() == 1 {
                &what[..what.len() - 1]
            } else {
                what
            }
        )
    };
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let id = runs::queue_bulk_on(
        &txn,
        actor,
        &m,
        matching::scope_of(scope),
        runs::Chosen::List {
            list: if tickets { "feedback" } else { "users" },
            label,
        },
        &ids,
        Trigger::Bulk,
    )
    .await?
    .ok_or_else(|| AppError::internal("a selection with ids queued nothing"))?;
    txn.commit().await?;
    Ok(id)
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
        scope: bulk.scope.to_string(),
        macro_name: bulk.macro_name,
        filter_name: bulk.filter_name,
        from_list: bulk.from_list,
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
