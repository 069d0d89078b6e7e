//! Group commit for accepted listener calls. Each accepted call needs its run, its job and its
//! log row written durably before it is answered; one writer task takes every call waiting at
//! that moment and writes them all in one transaction (a multi-row insert per table), so under
//! load a commit is shared by many calls instead of paid by each. Calls are answered once the
//! transaction has committed; if it fails, each of them gets the error (nothing was queued).
//! A call whose user or ticket was deleted after it was looked up (a removal that ran
//! meanwhile) is left out of the batch and answered `Gone`: it never fails the others.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{DatabaseConnection, EntityTrait, Set, Statement};
use tokio::sync::{mpsc, oneshot};

use super::keys;
use crate::errors::AppError;
use crate::server::db::{begin_write, sqlite_write_turn};
use crate::server::entities::{job, listener_call, macro_run, ticket, user};
use crate::server::lite::{self, Lane};
use crate::server::worker::{self, MacroRunJob};

/// At most this many calls share one transaction.
const MAX_BATCH: usize = 256;

/// One accepted call to write: its run, the job that carries it out, its log row, and the API
/// key whose use it counts. The run id is filled in by the batch.
pub struct Accept {
    pub run: macro_run::ActiveModel,
    pub job: MacroRunJob,
    pub call: listener_call::ActiveModel,
    pub api_key_id: i32,
}

/// What became of one call of a batch.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Written(Written),
    /// Its target no longer exists: nothing was written for it.
    Gone,
}

/// What was written for one call.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub run_id: i64,
    pub job_id: i64,
    pub call_id: i64,
}

type Waiting = (Accept, oneshot::Sender<Result<Outcome, String>>);

/// The handle requests submit through; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Waiting>,
}

impl Ingest {
    /// Starts the writer task for `db`, writing through `lane` when there is one (SQLite).
    pub fn start(db: DatabaseConnection, lane: Option<Lane>) -> Ingest {
        let (tx, mut rx) = mpsc::channel::<Waiting>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch: Vec<Waiting> = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (calls, replies): (Vec<Accept>, Vec<_>) = batch.drain(..).unzip();
                let done = match &lane {
                    Some(lane) => write_on_lane(lane, calls).await,
                    None => write(&db, calls).await,
                };
                match done {
                    Ok(written) => {
                        for (reply, w) in replies.into_iter().zip(written) {
                            let _ = reply.send(Ok(w));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "queueing accepted calls failed");
                        for reply in replies {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        Ingest { tx }
    }

    /// Writes one accepted call (with whatever else is waiting) and returns its ids once the
    /// transaction has committed (or `Gone` when its target was deleted meanwhile).
    pub async fn submit(&self, call: Accept) -> Result<Outcome, AppError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((call, reply))
            .await
            .map_err(|_| AppError::internal("the queue writer has stopped"))?;
        answer
            .await
            .map_err(|_| AppError::internal("the queue writer has stopped"))?
            .map_err(|e| AppError::internal(e))
    }
}

/// Ids of a multi-row insert, in the order of its rows: both backends number the rows of one
/// `INSERT … VALUES` in order, so the returned keys sorted ascending line up with the input.
fn in_order(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

/// For each call of a batch, what waits for its run's id: its job payload, log row and key.
type Pending = Vec<(MacroRunJob, listener_call::ActiveModel, i32)>;

/// A batch's runs (inserted first), and the rest of each call.
fn split(calls: Vec<Accept>) -> (Vec<macro_run::ActiveModel>, Pending) {
    let mut runs = Vec::with_capacity(calls.len());
    let mut rest = Vec::with_capacity(calls.len());
    for c in calls {
        runs.push(c.run);
        rest.push((c.job, c.call, c.api_key_id));
    }
    (runs, rest)
}

/// The jobs and log rows of a batch, pointing at their runs, and the uses of each key.
type Linked = (
    Vec<job::ActiveModel>,
    Vec<listener_call::ActiveModel>,
    BTreeMap<i32, i64>,
);

fn link(rest: Pending, run_ids: &[i64]) -> Result<Linked, AppError> {
    let mut jobs = Vec::with_capacity(rest.len());
    let mut rows = Vec::with_capacity(rest.len());
    let mut uses: BTreeMap<i32, i64> = BTreeMap::new();
    for ((mut payload, mut row, key_id), run_id) in rest.into_iter().zip(run_ids) {
        payload.run_id = *run_id;
        jobs.push(worker::new_job(
            crate::shared::vocab::JobKind::MacroRun,
            &payload,
        )?);
        row.run_id = Set(Some(*run_id));
        rows.push(row);
        *uses.entry(key_id).or_default() += 1;
    }
    Ok((jobs, rows, uses))
}

fn written(
    n: usize,
    run_ids: &[i64],
    job_ids: &[i64],
    call_ids: &[i64],
) -> Result<Vec<Written>, AppError> {
    if run_ids.len() != n || job_ids.len() != n || call_ids.len() != n {
        return Err(AppError::internal(
            "a batch insert returned the wrong number of ids",
        ));
    }
    Ok((0..n)
        .map(|i| Written {
            run_id: run_ids[i],
            job_id: job_ids[i],
            call_id: call_ids[i],
        })
        .collect())
}

/// The ids among `wanted` that still exist in `T`'s table, read inside the batch's
/// transaction. On PostgreSQL the rows are locked (`FOR KEY SHARE`) until it commits, so a
/// removal cannot delete them between this look and the insert that points at them; on
/// SQLite the batch holds the only write lock.
fn present<T: EntityTrait>(column: T::Column, wanted: &BTreeSet<i32>) -> sea_orm::Select<T>
where
    T::Column: sea_orm::ColumnTrait,
{
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    T::find()
        .select_only()
        .column(column)
        .filter(column.is_in(wanted.iter().copied()))
        .lock(sea_orm::sea_query::LockType::KeyShare)
}

/// The users and tickets the runs of a batch act on.
fn targets(calls: &[Accept]) -> (BTreeSet<i32>, BTreeSet<i32>) {
    let mut users = BTreeSet::new();
    let mut tickets = BTreeSet::new();
    for c in calls {
        if let sea_orm::ActiveValue::Set(Some(id)) = c.run.target_user_id {
            users.insert(id);
        }
        if let sea_orm::ActiveValue::Set(Some(id)) = c.run.target_ticket_id {
            tickets.insert(id);
        }
    }
    (users, tickets)
}

/// Splits a batch into the calls whose targets are still there and the positions of the rest.
fn keep_present(
    calls: Vec<Accept>,
    users: &BTreeSet<i32>,
    tickets: &BTreeSet<i32>,
) -> (Vec<Accept>, Vec<bool>) {
    let mut kept = Vec::with_capacity(calls.len());
    let mut mask = Vec::with_capacity(calls.len());
    for c in calls {
        let there = match (&c.run.target_user_id, &c.run.target_ticket_id) {
            (_, sea_orm::ActiveValue::Set(Some(id))) => tickets.contains(id),
            (sea_orm::ActiveValue::Set(Some(id)), _) => users.contains(id),
            _ => true,
        };
        mask.push(there);
        if there {
            kept.push(c);
        }
    }
    (kept, mask)
}

/// The outcome of each call of a batch, in order: what was written for the kept ones.
fn outcomes(mask: Vec<bool>, written: Vec<Written>) -> Vec<Outcome> {
    let mut written = written.into_iter();
    mask.into_iter()
        .map(
            |there| match (there, there.then(|| written.next()).flatten()) {
                (true, Some(w)) => Outcome::Written(w),
                _ => Outcome::Gone,
            },
        )
        .collect()
}

/// Writes a batch through the pool (PostgreSQL, in-memory SQLite).
async fn write(db: &DatabaseConnection, calls: Vec<Accept>) -> Result<Vec<Outcome>, AppError> {
    let (txn, _gate) = begin_write(db).await?;
    let (users, tickets) = targets(&calls);
    let users: BTreeSet<i32> = if users.is_empty() {
        users
    } else {
        present::<user::Entity>(user::Column::Id, &users)
            .into_tuple::<i32>()
            .all(&txn)
            .await?
            .into_iter()
            .collect()
    };
    let tickets: BTreeSet<i32> = if tickets.is_empty() {
        tickets
    } else {
        present::<ticket::Entity>(ticket::Column::Id, &tickets)
            .into_tuple::<i32>()
            .all(&txn)
            .await?
            .into_iter()
            .collect()
    };
    let (calls, mask) = keep_present(calls, &users, &tickets);
    let n = calls.len();
    if n == 0 {
        txn.commit().await?;
        return Ok(outcomes(mask, Vec::new()));
    }
    let (runs, pending) = split(calls);
    let run_ids = in_order(
        macro_run::Entity::insert_many(runs)
            .exec_with_returning_keys(&txn)
            .await?,
    );
    let (jobs, rows, uses) = link(pending, &run_ids)?;
    let job_ids = in_order(
        job::Entity::insert_many(jobs)
            .exec_with_returning_keys(&txn)
            .await?,
    );
    let call_ids = in_order(
        listener_call::Entity::insert_many(rows)
            .exec_with_returning_keys(&txn)
            .await?,
    );
    for (key_id, count) in uses {
        keys::record_uses(&txn, key_id, count).await?;
    }
    txn.commit().await?;
    Ok(outcomes(mask, written(n, &run_ids, &job_ids, &call_ids)?))
}

/// Writes a batch on the SQLite lane: the same statements in one immediate transaction, in
/// this process's turn at the write lock.
async fn write_on_lane(lane: &Lane, calls: Vec<Accept>) -> Result<Vec<Outcome>, AppError> {
    let _turn = sqlite_write_turn().await;
    lane.run(move |conn| {
        use sea_orm::{DbBackend, QueryTrait};
        let build = |s: &sea_orm::sea_query::InsertStatement| DbBackend::Sqlite.build(s);
        let txn = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(lite::fault)?;
        let (users, tickets) = targets(&calls);
        let still = |stmt: Statement| -> Result<BTreeSet<i32>, AppError> {
            Ok(lite::ids(&txn, &stmt)?
                .into_iter()
                .map(|id| id as i32)
                .collect())
        };
        let users = if users.is_empty() {
            users
        } else {
            still(present::<user::Entity>(user::Column::Id, &users).build(DbBackend::Sqlite))?
        };
        let tickets = if tickets.is_empty() {
            tickets
        } else {
            still(present::<ticket::Entity>(ticket::Column::Id, &tickets).build(DbBackend::Sqlite))?
        };
        let (calls, mask) = keep_present(calls, &users, &tickets);
        let n = calls.len();
        if n == 0 {
            txn.commit().map_err(lite::fault)?;
            return Ok(outcomes(mask, Vec::new()));
        }
        let (runs, pending) = split(calls);
        let mut insert_runs = macro_run::Entity::insert_many(runs).into_query();
        insert_runs.returning_col(macro_run::Column::Id);
        let run_ids = in_order(lite::ids(&txn, &build(&insert_runs))?);
        let (jobs, rows, uses) = link(pending, &run_ids)?;
        let mut insert_jobs = job::Entity::insert_many(jobs).into_query();
        insert_jobs.returning_col(job::Column::Id);
        let job_ids = in_order(lite::ids(&txn, &build(&insert_jobs))?);
        let mut insert_rows = listener_call::Entity::insert_many(rows).into_query();
        insert_rows.returning_col(listener_call::Column::Id);
        let call_ids = in_order(lite::ids(&txn, &build(&insert_rows))?);
        for (key_id, count) in uses {
            lite::execute(
                &txn,
                &keys::uses_update(key_id, count).build(DbBackend::Sqlite),
            )?;
        }
        txn.commit().map_err(lite::fault)?;
        Ok(outcomes(mask, written(n, &run_ids, &job_ids, &call_ids)?))
    })
    .await
}
