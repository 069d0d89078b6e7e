//! The durable queue and its worker.
//!
//! Work that a request accepted (a listener's macro run, an item of a bulk run) is written to
//! the `jobs` table in the same transaction as the rest of the request's writes, before any
//! answer is sent. Workers claim a job by taking a lease on it (`locked_by`, `locked_until`);
//! a job whose worker died is claimed again once the lease has run out. The job's effects and
//! its `done` mark commit in one transaction, which first checks that the lease is still this
//! worker's: so a job that got an answer is done, and done once.
//!
//! Claims: PostgreSQL picks the rows with `FOR UPDATE SKIP LOCKED`, so two server processes
//! on one database never take the same job; SQLite has a single writer, and the claim runs
//! inside an immediate (write-locked) transaction. A worker claims up to a small batch of jobs
//! and runs them in one transaction, so under load a commit (and a turn at SQLite's write
//! lock) is shared by many jobs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};

use crate::errors::AppError;
use crate::server::cache::Lookups;
use crate::server::db::begin_write;
use crate::server::domain::Actor;
use crate::server::domain::macros::Macro;
use crate::server::engine::runs::{self, RunContext, RunOutcome, RunTarget};
use crate::server::entities::{job, macro_def};
use crate::server::secrets::Sealer;
use crate::shared::vocab::{JobKind, JobStatus, Trigger};

/// Attempts before a job that keeps failing (an error of ours, not of its input) is given up.
pub const MAX_ATTEMPTS: i32 = 5;

/// A macro run on one user, queued by a listener call or a bulk run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MacroRunJob {
    pub run_id: i64,
    pub macro_id: i32,
    /// The user to run on (0 when the run is on a ticket).
    pub user_id: i32,
    /// The ticket to run on (feedback macros).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<i32>,
    pub trigger: Trigger,
    /// Who asked, for the audit log ("listener deleteuser", a manager's name …).
    pub actor: String,
    pub actor_user_id: Option<i32>,
    pub actor_ip: String,
    /// The listener's name, for the opt-out dashboard.
    pub listener: Option<String>,
}

/// Wakes idle workers when work arrives and tells waiting requests when a job finished.
#[derive(Clone)]
pub struct Signals {
    work: Arc<Notify>,
    finished: broadcast::Sender<i64>,
    /// Wakes the webhook sender: runs may have queued deliveries.
    pub deliveries: Arc<Notify>,
    /// Listener calls being accepted, and the workers' turns meanwhile (`give_way`).
    burst: Arc<Burst>,
    /// Seals what removals send downstream (`with_sealer`); without it such runs fail.
    sealer: Option<Arc<Sealer>>,
}

/// What the workers know of the listener calls being accepted.
struct Burst {
    /// Calls being written to the queue right now.
    in_flight: AtomicUsize,
    /// When `BUSY` or more calls were last being written at once (ms after `epoch`;
    /// `NEVER` before the first burst).
    last_busy: AtomicU64,
    /// When a worker last took its turn during a burst or while settling after one (ms after
    /// `epoch`).
    last_turn: AtomicU64,
    epoch: Instant,
}

impl Burst {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Notes a moment with `in_flight` calls being written.
    fn note(&self, in_flight: usize) {
        if in_flight >= BUSY {
            self.last_busy.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// Fewer than `BUSY` calls are being written now and no more were for `at_least`
    /// (a burst is over after `QUIET`; the workers settle back for `SETTLE` after that).
    fn quiet_for(&self, at_least: Duration) -> bool {
        let last = self.last_busy.load(Ordering::Relaxed);
        self.in_flight.load(Ordering::SeqCst) < BUSY
            && (last == NEVER || self.now_ms().saturating_sub(last) >= at_least.as_millis() as u64)
    }

    /// Takes the workers' turn if the last one is `every` ago (one worker of the process
    /// wins it).
    fn take_turn(&self, every: Duration) -> bool {
        let now = self.now_ms();
        let last = self.last_turn.load(Ordering::SeqCst);
        now.saturating_sub(last) >= every.as_millis() as u64
            && self
                .last_turn
                .compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }
}

/// Held while a call's run is being queued; counts towards a burst (`give_way`).
pub struct Accepting(Arc<Burst>);

impl Drop for Accepting {
    fn drop(&mut self) {
        let was = self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.note(was);
    }
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            work: Arc::new(Notify::new()),
            finished: broadcast::channel(4096).0,
            deliveries: Arc::new(Notify::new()),
            burst: Arc::new(Burst {
                in_flight: AtomicUsize::new(0),
                last_busy: AtomicU64::new(NEVER),
                last_turn: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
            sealer: None,
        }
    }
}

impl Signals {
    /// The same signals, with the key that seals a removal's downstream requests.
    pub fn with_sealer(mut self, sealer: Arc<Sealer>) -> Signals {
        self.sealer = Some(sealer);
        self
    }

    pub fn work_arrived(&self) {
        self.work.notify_one();
    }

    /// A call is being accepted until the guard is dropped: under a burst of calls, answering
    /// them goes first and the queue is worked off mostly after it (see `give_way`).
    pub fn accepting(&self) -> Accepting {
        let in_flight = self.burst.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.burst.note(in_flight);
        Accepting(self.burst.clone())
    }

    /// Subscribe before queueing, then wait for the job id.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.finished.subscribe()
    }
}

/// Waits until `job_id` finished in this process, at most `budget`. False when the time ran out
/// (or the notice was missed): the caller then looks at the job itself.
pub async fn wait_for(rx: &mut broadcast::Receiver<i64>, job_id: i64, budget: Duration) -> bool {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(id) if id == job_id => return true,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return false,
            }
        }
    };
    tokio::time::timeout(budget, wait).await.unwrap_or(false)
}

/// A new queued job (for `enqueue`, or a batch insert).
pub fn new_job(kind: JobKind, payload: &impl Serialize) -> Result<job::ActiveModel, AppError> {
    let now = Utc::now();
    Ok(job::ActiveModel {
        kind: Set(kind.as_str().into()),
        payload: Set(serde_json::to_string(payload).map_err(|e| AppError::internal(e))?),
        status: Set(JobStatus::Queued),
        attempts: Set(0),
        run_after: Set(now),
        locked_by: Set(None),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
        ..Default::default()
    })
}

/// Adds a job inside the caller's transaction.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    kind: JobKind,
    payload: &impl Serialize,
) -> Result<i64, AppError> {
    Ok(new_job(kind, payload)?.insert(txn).await?.id)
}

/// Claims the oldest job that is due (queued, or running with an expired lease).
pub async fn claim(
    db: &DatabaseConnection,
    worker_id: &str,
    lease: Duration,
) -> Result<Option<job::Model>, AppError> {
    Ok(claim_many(db, worker_id, lease, 1).await?.pop())
}

/// Claims up to `max` due jobs, oldest first, in one transaction (`lease::claim`): under load a
/// worker takes a batch and runs it in one transaction too (`execute_many`), so a commit is
/// shared by many jobs.
pub async fn claim_many(
    db: &DatabaseConnection,
    worker_id: &str,
    lease: Duration,
    max: u64,
) -> Result<Vec<job::Model>, AppError> {
    crate::server::lease::claim::<job::Entity>(db, worker_id, lease, max).await
}

/// What became of one job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    Done(RunOutcome),
    /// Another worker holds the job now (this one's lease ran out): nothing was written.
    LeaseLost,
    /// An error of ours; retried later unless it was the last attempt.
    Failed(String),
}

/// Runs a claimed job: its effects and the `done` mark commit together, and only while the
/// lease is still this worker's.
pub async fn execute(
    db: &DatabaseConnection,
    worker_id: &str,
    job: &job::Model,
    signals: &Signals,
) -> Result<JobResult, AppError> {
    let lookups = Lookups::default();
    let mut results =
        execute_many(db, &lookups, worker_id, std::slice::from_ref(job), signals).await?;
    results
        .pop()
        .ok_or_else(|| AppError::internal("a job ran without a result"))
}

/// Runs claimed jobs in one transaction (one commit, one turn of SQLite's write lock, for the
/// batch). Each job's effects and its `done` mark are written together, and only while its
/// lease is still this worker's. If any job of a batch fails, the whole transaction is rolled
/// back and each job is run again on its own, so one failure costs the others nothing.
/// What the jobs only read (their macro) is read before the write lock is taken.
#[tracing::instrument(skip_all, fields(jobs = jobs.len()))]
pub async fn execute_many(
    db: &DatabaseConnection,
    lookups: &Lookups,
    worker_id: &str,
    jobs: &[job::Model],
    signals: &Signals,
) -> Result<Vec<JobResult>, AppError> {
    let mut prepared = Vec::with_capacity(jobs.len());
    for job in jobs {
        prepared.push(prepare(db, lookups, job).await);
    }
    let batch = async {
        let (txn, _gate) = begin_write(db).await?;
        // A macro read before the lock may have been deleted since: one look inside the
        // transaction says which still exist (an edit made meanwhile is like a run that
        // started a moment earlier).
        let wanted: Vec<i32> = prepared
            .iter()
            .filter_map(|w| match w {
                Prepared::MacroRun(_, Some(m)) => Some(m.id),
                _ => None,
            })
            .collect();
        let live: std::collections::HashSet<i32> = if wanted.is_empty() {
            Default::default()
        } else {
            macro_def::Entity::find()
                .select_only()
                .column(macro_def::Column::Id)
                .filter(macro_def::Column::Id.is_in(wanted))
                .into_tuple::<i32>()
                .all(&txn)
                .await?
                .into_iter()
                .collect()
        };
        let mut results = Vec::with_capacity(jobs.len());
        for (job, work) in jobs.iter().zip(&prepared) {
            results.push(
                match run_job(&txn, worker_id, job, work, &live, signals).await? {
                    Some(outcome) => JobResult::Done(outcome),
                    None => JobResult::LeaseLost,
                },
            );
        }
        txn.commit().await?;
        Ok::<_, AppError>(results)
    }
    .await;
    let results = match batch {
        Ok(results) => results,
        Err(e) if jobs.len() > 1 => {
            tracing::warn!(error = %e, "a batch of jobs failed; running them one by one");
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                // One job's trouble (even returning it to the queue) must not stop the others;
                // a job that could not be returned is claimed again when its lease runs out.
                match Box::pin(execute(db, worker_id, job, signals)).await {
                    Ok(result) => results.push(result),
                    Err(e) => {
                        tracing::warn!(job = job.id, error = %e, "job could not be run or returned");
                        results.push(JobResult::Failed(e.to_string()));
                    }
                }
            }
            return Ok(results);
        }
        Err(e) => {
            tracing::warn!(job = jobs[0].id, error = %e, "job failed");
            give_back(db, worker_id, &jobs[0], &e.to_string()).await?;
            vec![JobResult::Failed(e.to_string())]
        }
    };
    // What removals deleted is compacted away (once for the batch) before anyone is told the
    // run is done.
    let mut erased: Option<crate::server::engine::erasure::Erased> = None;
    for result in &results {
        if let JobResult::Done(RunOutcome {
            erased: Some(e), ..
        }) = result
        {
            match &mut erased {
                Some(all) => all.tables.extend(e.tables.iter().cloned()),
                None => erased = Some(e.clone()),
            }
        }
    }
    if let Some(erased) = &erased {
        crate::server::engine::erasure::settle(db, erased).await;
    }
    for job in jobs {
        let _ = signals.finished.send(job.id);
    }
    signals.deliveries.notify_one();
    Ok(results)
}

/// What a job needs that can be read before the write lock: its payload and its macro (None
/// when the macro was deleted meanwhile).
enum Prepared {
    MacroRun(MacroRunJob, Option<Arc<Macro>>),
    Broken(String),
}

async fn prepare(db: &DatabaseConnection, lookups: &Lookups, job: &job::Model) -> Prepared {
    let Some(kind) = JobKind::parse(&job.kind) else {
        return Prepared::Broken(format!("unknown job kind {}", job.kind));
    };
    match kind {
        JobKind::MacroRun => {
            let p: MacroRunJob = match serde_json::from_str(&job.payload) {
                Ok(p) => p,
                Err(e) => return Prepared::Broken(format!("unreadable job payload: {e}")),
            };
            let loaded = lookups
                .macros
                .get_or_load(p.macro_id, || {
                    crate::server::store::lookups::find_macro(db, p.macro_id)
                })
                .await;
            match loaded {
                Ok(m) => Prepared::MacroRun(p, Some(m)),
                Err(AppError::NotFound(_)) => Prepared::MacroRun(p, None),
                Err(e) => Prepared::Broken(e.to_string()),
            }
        }
    }
}

/// One job inside the batch's transaction: None when its lease is no longer this worker's.
async fn run_job(
    txn: &DatabaseTransaction,
    worker_id: &str,
    job: &job::Model,
    work: &Prepared,
    live_macros: &std::collections::HashSet<i32>,
    signals: &Signals,
) -> Result<Option<RunOutcome>, AppError> {
    let (p, macro_) = match work {
        Prepared::MacroRun(p, m) => (p, m),
        Prepared::Broken(e) => return Err(AppError::internal(e.clone())),
    };
    let still_ours = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Done))
        .col_expr(job::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(job::Column::Id.eq(job.id))
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::LockedBy.eq(worker_id))
        .exec(txn)
        .await?
        .rows_affected
        == 1;
    if !still_ours {
        return Ok(None);
    }
    let actor = Actor {
        user_id: p.actor_user_id,
        label: p.actor.clone(),
        ip: p.actor_ip.clone(),
        session: None,
        role: None,
    };
    let ctx = RunContext {
        trigger: p.trigger,
        run_id: Some(p.run_id),
        listener: p.listener.clone(),
        sealer: signals.sealer.clone(),
    };
    Ok(Some(
        runs::run_queued(
            txn,
            &actor,
            macro_.as_deref().filter(|m| live_macros.contains(&m.id)),
            match p.ticket_id {
                Some(id) => RunTarget::Ticket(id),
                None => RunTarget::User(p.user_id),
            },
            &ctx,
        )
        .await?,
    ))
}

/// Returns a failed job to the queue with a backoff, or gives it up after the last attempt
/// (marking its run failed so nobody waits for it).
async fn give_back(
    db: &DatabaseConnection,
    worker_id: &str,
    job: &job::Model,
    error: &str,
) -> Result<(), AppError> {
    let last = job.attempts >= MAX_ATTEMPTS;
    let backoff = chrono::Duration::seconds(2_i64.pow(job.attempts.clamp(0, 10) as u32));
    let (txn, _gate) = begin_write(db).await?;
    job::Entity::update_many()
        .col_expr(
            job::Column::Status,
            Expr::value(if last {
                JobStatus::Failed
            } else {
                JobStatus::Queued
            }),
        )
        .col_expr(job::Column::RunAfter, Expr::value(Utc::now() + backoff))
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(job::Column::LastError, Expr::value(error))
        .col_expr(job::Column::FinishedAt, Expr::value(last.then(Utc::now)))
        .filter(job::Column::Id.eq(job.id))
        .filter(job::Column::LockedBy.eq(worker_id))
        .exec(&txn)
        .await?;
    if last
        && JobKind::parse(&job.kind) == Some(JobKind::MacroRun)
        && let Ok(p) = serde_json::from_str::<MacroRunJob>(&job.payload)
    {
        runs::give_up_run(&txn, p.run_id, "gave up after repeated errors").await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Claims and runs one due job; None when there was none. Tests drain the queue with it.
pub async fn try_execute_task(
    db: &DatabaseConnection,
    worker_id: &str,
    lease: Duration,
    signals: &Signals,
) -> Result<Option<(i64, JobResult)>, AppError> {
    let Some(job) = claim(db, worker_id, lease).await? else {
        return Ok(None);
    };
    let result = execute(db, worker_id, &job, signals).await?;
    Ok(Some((job.id, result)))
}

/// At most this many jobs are claimed, and run in one transaction, at a time by one worker.
/// Small enough that a batch holds SQLite's write lock for a few milliseconds only.
const BATCH: u64 = 16;
/// Listener calls come in a burst while this many or more wait to be written at once (they
/// come faster than they are answered); under a steady trickle there are one or two.
const BUSY: usize = 8;
/// A burst is over when it has been below `BUSY` for this long.
const QUIET: Duration = Duration::from_millis(20);
/// During a burst the process's workers take one turn this often, of `BURST_BATCH` jobs, so
/// the queue still moves while answering goes first.
const BURST_TURN: Duration = Duration::from_millis(100);
const BURST_BATCH: u64 = 4;
/// For this long after a burst the workers still take turns, of a full batch every
/// `SETTLE_TURN`: a burst that comes back at once then waits behind one batch, not one per
/// worker.
const SETTLE: Duration = Duration::from_millis(200);
const SETTLE_TURN: Duration = Duration::from_millis(10);
const NEVER: u64 = u64::MAX;

/// Waits while a burst of listener calls is being accepted (answering them needs SQLite's one
/// write lock and the CPU), until the burst is over or this worker wins the burst's next turn
/// (or, while settling after a burst, the next settling turn); how many jobs the worker may
/// then claim. Under a burst the queue grows and is worked off after it:
/// every call was queued durably before its answer, so nothing waits but the run.
async fn give_way(signals: &Signals) -> u64 {
    let burst = &signals.burst;
    loop {
        if burst.quiet_for(QUIET + SETTLE) {
            return BATCH;
        }
        if burst.quiet_for(QUIET) {
            if burst.take_turn(SETTLE_TURN) {
                return BATCH;
            }
        } else if burst.take_turn(BURST_TURN) {
            return BURST_BATCH;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How long finished jobs and stored idempotency answers are kept.
pub const KEEP_FINISHED: chrono::Duration = chrono::Duration::hours(24);
/// How often one worker of each process looks for schedules that came due.
const SCHEDULE_EVERY: Duration = Duration::from_secs(1);
/// How often one worker of each process clears old rows.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// Deletes what has served its purpose: finished jobs and idempotency answers older than a
/// day (a repeat after that runs again), and listener-log rows and finished webhook
/// deliveries older than the retention setting (the logs grow with every call and run). Returns the rows
/// deleted.
pub async fn housekeeping(
    db: &DatabaseConnection,
    log_retention: chrono::Duration,
) -> Result<u64, AppError> {
    use crate::server::entities::{idempotency_key, listener_call};
    let now = Utc::now();
    let jobs = job::Entity::delete_many()
        .filter(job::Column::Status.is_in([JobStatus::Done, JobStatus::Failed]))
        .filter(job::Column::FinishedAt.lt(now - KEEP_FINISHED))
        .exec(db)
        .await?
        .rows_affected;
    let answers = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - KEEP_FINISHED))
        .exec(db)
        .await?
        .rows_affected;
    let calls = listener_call::Entity::delete_many()
        .filter(listener_call::Column::ReceivedAt.lt(now - log_retention))
        .exec(db)
        .await?
        .rows_affected;
    // The webhook log keeps as long as the listener log (attempts go with their delivery).
    let deliveries = crate::server::entities::webhook_delivery::Entity::delete_many()
        .filter(
            crate::server::entities::webhook_delivery::Column::FinishedAt.lt(now - log_retention),
        )
        .exec(db)
        .await?
        .rows_affected;
    Ok(jobs + answers + calls + deliveries)
}

/// A name for this process's workers, unique across processes sharing a database.
pub fn worker_name(slot: u32) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}:{}:{slot}", std::process::id())
}

/// Starts `concurrency` worker loops. Each runs jobs while there are any, then sleeps until
/// work arrives or the poll interval passes. They stop when `shutdown` fires, after the job
/// in hand.
pub fn spawn(
    db: DatabaseConnection,
    lookups: Arc<Lookups>,
    signals: Signals,
    settings: &crate::server::settings::Settings,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (concurrency, poll, lease) = (
        settings.worker_concurrency,
        settings.worker_poll_interval,
        settings.worker_lease,
    );
    let retention = chrono::Duration::days(i64::from(settings.listener_log_retention_days));
    (0..concurrency)
        .map(|slot| {
            let db = db.clone();
            let lookups = lookups.clone();
            let signals = signals.clone();
            let mut shutdown = shutdown.clone();
            let name = worker_name(slot);
            tokio::spawn(async move {
                let mut tidied = std::time::Instant::now();
                let mut looked_at_schedules: Option<std::time::Instant> = None;
                loop {
                    if *shutdown.borrow() {
                        break;
                    }
                    // One worker per process starts the schedules that came due (a schedule
                    // is claimed in the database, so with several processes only one starts
                    // it).
                    if slot == 0
                        && looked_at_schedules.is_none_or(|t| t.elapsed() >= SCHEDULE_EVERY)
                    {
                        looked_at_schedules = Some(std::time::Instant::now());
                        match crate::server::engine::automation::run_due(&db, Utc::now()).await {
                            Ok(started) if !started.is_empty() => {
                                tracing::info!(bulk_runs = ?started, "schedules started");
                                signals.work_arrived();
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "cannot start due schedules"),
                        }
                    }
                    if slot == 0 && tidied.elapsed() >= HOUSEKEEPING_EVERY {
                        tidied = std::time::Instant::now();
                        match housekeeping(&db, retention).await {
                            Ok(n) if n > 0 => tracing::info!(rows = n, "old rows deleted"),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                        }
                        crate::server::engine::erasure::compact_pending(&db).await;
                    }
                    let batch = give_way(&signals).await;
                    let ran = match claim_many(&db, &name, lease, batch).await {
                        Ok(jobs) if jobs.is_empty() => Ok(None),
                        Ok(jobs) => execute_many(&db, &lookups, &name, &jobs, &signals)
                            .await
                            .map(Some),
                        Err(e) => Err(e),
                    };
                    match ran {
                        Ok(Some(_)) => {
                            // More may be waiting: wake a sleeping colleague too.
                            signals.work_arrived();
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(worker = %name, error = %e, "worker error"),
                    }
                    tokio::select! {
                        _ = signals.work.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn workers_take_turns_while_calls_are_accepted() {
        let signals = Signals::default();
        // Nothing being accepted, or a few calls: a full batch.
        assert_eq!(give_way(&signals).await, BATCH);
        let few: Vec<_> = (1..BUSY).map(|_| signals.accepting()).collect();
        assert_eq!(give_way(&signals).await, BATCH);

        let burst = signals.accepting();
        let started = Instant::now();
        assert_eq!(give_way(&signals).await, BURST_BATCH);
        // One worker wins each turn; the next comes a whole turn later.
        let (a, b) = tokio::join!(give_way(&signals), give_way(&signals));
        assert_eq!((a, b), (BURST_BATCH, BURST_BATCH));
        assert!(started.elapsed() >= 2 * BURST_TURN);

        // The burst is over once fewer than `BUSY` calls were being written for `QUIET`; for
        // `SETTLE` after that the workers still take turns, of a full batch each.
        // (The rule counts whole milliseconds, so each step may come up to 1 ms early.)
        let ms = Duration::from_millis(1);
        drop(burst);
        let ended = Instant::now();
        assert_eq!(give_way(&signals).await, BATCH);
        assert!(ended.elapsed() >= QUIET - ms);
        let (a, b) = tokio::join!(give_way(&signals), give_way(&signals));
        assert_eq!((a, b), (BATCH, BATCH));
        assert!(ended.elapsed() >= QUIET + 2 * SETTLE_TURN - 3 * ms);
        // Then every worker goes at once.
        tokio::time::sleep(SETTLE).await;
        assert!(signals.burst.quiet_for(QUIET + SETTLE));
        assert_eq!(give_way(&signals).await, BATCH);
        drop(few);
    }
}
