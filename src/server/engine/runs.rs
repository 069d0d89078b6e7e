//! Macro runs: an ordered list of actions on one user (user macros) or one feedback ticket
//! (feedback macros), each run as one transaction with the record of the run, the webhooks it
//! queues and, for a removal, the erasure and its receipt. The same functions serve the user
//! and ticket pages, bulk runs, listener calls, automation and schedules; a run queued by a
//! request (`queue_run`, `queue_bulk`) is finished by the worker (`run_queued`).

use std::sync::Arc;

use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::Sha256;

use crate::errors::AppError;
use crate::server::domain::Actor;
use crate::server::domain::macros::{Macro, describe};
use crate::server::engine::matching::{self, SCOPE_FEEDBACK, SCOPE_USER};
use crate::server::engine::{erasure, outbox, tags, writes};
use crate::server::entities::{
    bulk_run, filter, job, macro_mark, macro_run, opt_out_event, team_membership, ticket, user,
};
use crate::server::secrets::Sealer;
use crate::server::store::{audit_trail, lookups};
use crate::server::worker::{self, MacroRunJob};
use crate::shared::definitions::Role;
use crate::shared::definitions::{MacroAction, TeamRef};
use crate::shared::vocab::{RunStatus, Scope, Trigger};

/// What a run acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTarget {
    User(i32),
    Ticket(i32),
}

/// Whether a target still exists, read in the transaction that is about to write something
/// pointing at it (a listener call's row or effect, a captured answer). On PostgreSQL its row is locked (`FOR KEY SHARE`) until that
/// transaction ends, so a removal cannot delete it in between; on SQLite the transaction
/// already holds the only write lock.
pub(crate) async fn still_there(
    txn: &impl ConnectionTrait,
    target: RunTarget,
) -> Result<bool, AppError> {
    use crate::server::entities::ticket;
    use sea_orm::sea_query::LockType;
    let found = match target {
        RunTarget::User(id) => {
            user::Entity::find_by_id(id)
                .select_only()
                .column(user::Column::Id)
                .lock(LockType::KeyShare)
                .into_tuple::<i32>()
                .one(txn)
                .await?
        }
        RunTarget::Ticket(id) => {
            ticket::Entity::find_by_id(id)
                .select_only()
                .column(ticket::Column::Id)
                .lock(LockType::KeyShare)
                .into_tuple::<i32>()
                .one(txn)
                .await?
        }
    };
    Ok(found.is_some())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub run_id: i64,
    /// Completed, skipped, or failed (a queued run whose user or macro had gone).
    pub status: RunStatus,
    pub steps: Vec<String>,
    /// When the run removed the person: what the erasure did (call `erasure::settle` with it
    /// once the run's transaction has committed).
    pub erased: Option<erasure::Erased>,
}

/// The keyed hash that stood for a person's email in `macro_marks` before the key moved to
/// the key file: an HMAC under `community.hash_key`, a key kept in the database itself (so
/// anyone holding a copy of the database could test an email against it). Still computed to
/// match marks written then; new marks are [`PersonMark`]s.
pub fn subject_hash(key: &[u8], email: &str) -> Result<String, AppError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| AppError::internal(e))?;
    mac.update(email.trim().to_lowercase().as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// What stands for a person in `macro_marks` ("this macro already ran for them"), kept after
/// they are removed so a removal that runs once per person does not run again when they come
/// back: `k1:` and an HMAC of the email (trimmed, lower-cased) under the key file, which the
/// database does not hold, cut to 61 hex digits to fit the column. `legacy` is the form marks
/// written before had, while the installation still has such marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonMark {
    pub keyed: String,
    pub legacy: Option<String>,
}

impl PersonMark {
    pub async fn of(
        db: &impl ConnectionTrait,
        sealer: &Sealer,
        email: &str,
    ) -> Result<PersonMark, AppError> {
        let normal = email.trim().to_lowercase();
        // Cut to the column's 64 characters: 61 hex digits (244 bits) of the HMAC.
        let mac = sealer.fingerprint(format!("person\0{normal}").as_bytes());
        let keyed = format!("{MARK_PREFIX}{}", &mac[..64 - MARK_PREFIX.len()]);
        let legacy = match lookups::legacy_hash_key(db).await? {
            Some(key) => Some(subject_hash(&key, &normal)?),
            None => None,
        };
        Ok(PersonMark { keyed, legacy })
    }

    /// Marks that `macro_id` runs for this person now, in the run's transaction: false when
    /// it already did (a mark under either form, or one written by a run at the same time).
    pub async fn claim(
        &self,
        db: &impl ConnectionTrait,
        macro_id: i32,
        now: chrono::DateTime<Utc>,
    ) -> Result<bool, AppError> {
        if let Some(legacy) = &self.legacy
            && macro_mark::Entity::find()
                .filter(macro_mark::Column::MacroId.eq(macro_id))
                .filter(macro_mark::Column::SubjectHash.eq(legacy.as_str()))
                .count(db)
                .await?
                > 0
        {
            return Ok(false);
        }
        let written = macro_mark::Entity::insert(macro_mark::ActiveModel {
            macro_id: Set(macro_id),
            subject_hash: Set(self.keyed.clone()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
        Ok(matches!(written, sea_orm::TryInsertResult::Inserted(n) if n > 0))
    }

    /// Whether `macro_id` already ran for this person, under either form.
    pub async fn ran(&self, db: &impl ConnectionTrait, macro_id: i32) -> Result<bool, AppError> {
        let forms: Vec<&str> = std::iter::once(self.keyed.as_str())
            .chain(self.legacy.as_deref())
            .collect();
        Ok(macro_mark::Entity::find()
            .filter(macro_mark::Column::MacroId.eq(macro_id))
            .filter(macro_mark::Column::SubjectHash.is_in(forms))
            .count(db)
            .await?
            > 0)
    }
}

/// The prefix of marks keyed under the key file.
pub const MARK_PREFIX: &str = "k1:";

/// How a removed person appears in logs, receipts and the webhook log: "removed user" and 12
/// random hex digits, new for every removal, so nothing links the label to the person (or two
/// removals of the same person to each other).
pub fn removed_label() -> String {
    let mut buf = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf);
    format!("removed user {}", hex::encode(buf))
}

/// The sealer a run needs to remember a person or to seal what a removal sends; the server
/// always has one (the key file), only a misconfigured worker would not.
fn sealer_of(ctx: &RunContext) -> Result<&Sealer, AppError> {
    ctx.sealer
        .as_deref()
        .ok_or_else(|| AppError::internal("the run has no key file to key or seal with"))
}

/// Where a run stands when it starts: new (manual runs record it now), or queued earlier by a
/// listener call or a bulk run, whose row the run completes.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub trigger: Trigger,
    /// The queued `macro_runs` row, when there is one.
    pub run_id: Option<i64>,
    /// The listener that asked for the run (kept on opt-out events by name).
    pub listener: Option<String>,
    /// Seals what a removal sends downstream (the person's identifier) until it is sent.
    pub sealer: Option<Arc<Sealer>>,
}

/// Runs a macro on one user. Everything it does, and the record of the run, commit together.
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn execute(
    db: &DatabaseConnection,
    sealer: &Arc<Sealer>,
    actor: &Actor,
    macro_id: i32,
    user_id: i32,
    trigger: Trigger,
) -> Result<RunOutcome, AppError> {
    let m = macro_in_scope(db, macro_id, SCOPE_USER, "macro_id").await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let target = hold_person(&txn, &m, user_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {user_id}")))?;
    check_removable(&m, &target)?;
    let ctx = RunContext {
        trigger,
        run_id: None,
        listener: None,
        sealer: Some(sealer.clone()),
    };
    let outcome = run_in(&txn, actor, &m, &target, &ctx).await?;
    txn.commit().await?;
    drop(gate);
    if let Some(erased) = &outcome.erased {
        erasure::settle(db, erased).await;
    }
    Ok(outcome)
}

/// Community managers can never be removed by a macro.
pub fn check_removable(m: &Macro, target: &user::Model) -> Result<(), AppError> {
    if m.actions.contains(&MacroAction::RemoveUser) && target.role == Role::CommunityManager.key() {
        return Err(AppError::Forbidden(
            "community managers cannot be removed by a macro".into(),
        ));
    }
    Ok(())
}

/// Whether a macro that runs once per person already ran for this user.
pub async fn already_ran_for(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    m: &Macro,
    target: &user::Model,
) -> Result<bool, AppError> {
    if !m.options.run_once_per_user {
        return Ok(false);
    }
    PersonMark::of(db, sealer, &target.email)
        .await?
        .ran(db, m.id)
        .await
}

/// Runs a feedback macro on one ticket. Everything it does, and the record of the run, commit
/// together.
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn execute_on_ticket(
    db: &DatabaseConnection,
    actor: &Actor,
    macro_id: i32,
    ticket_id: i32,
    trigger: Trigger,
) -> Result<RunOutcome, AppError> {
    let m = macro_in_scope(db, macro_id, SCOPE_FEEDBACK, "macro_id").await?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let t = lookups::find_ticket(&txn, ticket_id).await?;
    let ctx = RunContext {
        trigger,
        run_id: None,
        listener: None,
        sealer: None,
    };
    let outcome = run_on_ticket(&txn, actor, &m, &t, &ctx).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// A run to be done later (by the worker), recorded before anything else happens to it.
pub fn new_queued_run(
    macro_id: i32,
    target: RunTarget,
    trigger: Trigger,
    bulk_run_id: Option<i32>,
) -> macro_run::ActiveModel {
    let (user, ticket) = match target {
        RunTarget::User(id) => (Some(id), None),
        RunTarget::Ticket(id) => (None, Some(id)),
    };
    macro_run::ActiveModel {
        bulk_run_id: Set(bulk_run_id),
        macro_id: Set(Some(macro_id)),
        trigger: Set(trigger),
        target_user_id: Set(user),
        target_ticket_id: Set(ticket),
        status: Set(RunStatus::Queued),
        outcome: Set(String::new()),
        started_by: Set(None),
        created_at: Set(Utc::now()),
        finished_at: Set(None),
        ..Default::default()
    }
}

/// Records a queued run in the caller's transaction; returns its id.
pub async fn queue_run(
    txn: &impl ConnectionTrait,
    macro_id: i32,
    target: RunTarget,
    trigger: Trigger,
    bulk_run_id: Option<i32>,
) -> Result<i64, AppError> {
    Ok(new_queued_run(macro_id, target, trigger, bulk_run_id)
        .insert(txn)
        .await?
        .id)
}

/// Completes a queued run inside the caller's transaction (the worker's, which also marks
/// the job done). A run whose user or macro has gone meanwhile ends as "failed" with the reason.
pub async fn run_queued(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    macro_: Option<&Macro>,
    target: RunTarget,
    ctx: &RunContext,
) -> Result<RunOutcome, AppError> {
    let run_id = ctx
        .run_id
        .ok_or_else(|| AppError::internal("a queued run needs its run id"))?;
    let Some(m) = macro_ else {
        return fail_run(txn, run_id, "the macro was deleted before it ran").await;
    };
    let user_id = match target {
        RunTarget::User(id) => id,
        RunTarget::Ticket(id) => {
            let Some(t) = ticket::Entity::find_by_id(id).one(txn).await? else {
                return fail_run(txn, run_id, "the ticket no longer exists").await;
            };
            return run_on_ticket(txn, actor, m, &t, ctx).await;
        }
    };
    let Some(target) = hold_person(txn, m, user_id).await? else {
        return fail_run(txn, run_id, "the user no longer exists").await;
    };
    if let Err(AppError::Forbidden(reason)) = check_removable(m, &target) {
        return fail_run(txn, run_id, &reason).await;
    }
    run_in(txn, actor, m, &target, ctx).await
}

/// The person a run acts on, as they are now, read in the run's transaction and held
/// (PostgreSQL) so that a removal beside the run waits for it instead of deleting the row
/// under it. A removal takes the row FOR UPDATE at once, as its erasure will: two removals
/// holding it shared would each wait for the other's upgrade (a deadlock). None: gone.
async fn hold_person(
    txn: &impl ConnectionTrait,
    m: &Macro,
    user_id: i32,
) -> Result<Option<user::Model>, AppError> {
    use sea_orm::sea_query::LockType;
    let lock = if m.actions.contains(&MacroAction::RemoveUser) {
        LockType::Update
    } else {
        LockType::KeyShare
    };
    Ok(user::Entity::find_by_id(user_id)
        .lock(lock)
        .one(txn)
        .await?)
}

/// Ends a queued run that will not happen (its job was given up).
pub async fn give_up_run(
    txn: &impl ConnectionTrait,
    run_id: i64,
    reason: &str,
) -> Result<(), AppError> {
    finish_run(txn, run_id, None, RunStatus::Failed, reason).await
}

async fn fail_run(
    txn: &impl ConnectionTrait,
    run_id: i64,
    reason: &str,
) -> Result<RunOutcome, AppError> {
    finish_run(txn, run_id, None, RunStatus::Failed, reason).await?;
    Ok(RunOutcome {
        run_id,
        status: RunStatus::Failed,
        steps: Vec::new(),
        erased: None,
    })
}

/// Ends a queued run. `target` is `Some` when the run settles who it was about (None once they
/// were removed); a run that failed keeps the target it was queued for (a user who is gone
/// was cleared by the foreign key), so the user's listener log still finds its call.
async fn finish_run(
    db: &impl ConnectionTrait,
    run_id: i64,
    target: Option<Option<i32>>,
    status: RunStatus,
    outcome: &str,
) -> Result<(), AppError> {
    let mut update = macro_run::Entity::update_many()
        .col_expr(macro_run::Column::Status, Expr::value(status))
        .col_expr(macro_run::Column::Outcome, Expr::value(outcome))
        .col_expr(macro_run::Column::FinishedAt, Expr::value(Utc::now()));
    if let Some(target) = target {
        update = update.col_expr(macro_run::Column::TargetUserId, Expr::value(target));
    }
    update
        .filter(macro_run::Column::Id.eq(run_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The actions of one run on one (removable) user, held by the caller's transaction
/// (`hold_person`).
async fn run_in(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    m: &Macro,
    target: &user::Model,
    ctx: &RunContext,
) -> Result<RunOutcome, AppError> {
    let removes = m.actions.contains(&MacroAction::RemoveUser);
    // The person's mark is needed only to remember them; a removal names them by a label
    // drawn for it.
    let mark = if m.options.run_once_per_user {
        Some(PersonMark::of(txn, sealer_of(ctx)?, &target.email).await?)
    } else {
        None
    };
    let label = removed_label();
    let now = Utc::now();
    let trigger = ctx.trigger;

    // The mark is written first: of two runs at once (a bulk run and a listener call, say),
    // the second waits on the first's row and, once it commits, finds it and is skipped.
    if let Some(mark) = &mark
        && !mark.claim(txn, m.id, now).await?
    {
        let run = record_run(
            txn,
            m,
            ctx,
            Some(target.id),
            None,
            RunStatus::Skipped,
            "already ran once for this person",
            actor,
        )
        .await?;
        return Ok(RunOutcome {
            run_id: run,
            status: RunStatus::Skipped,
            steps: Vec::new(),
            erased: None,
        });
    }

    let all_teams = lookups::team_refs(txn).await?;
    let mut steps = Vec::new();
    let mut erased = None;
    // A removal's webhooks and emails are rendered just before the erasure, while the person
    // is still there to name (telling a CRM to erase the same person needs their email), and
    // queued sealed with who they name (`outbox::queue`).
    let mut sealed: Option<(Vec<outbox::Rendered>, erasure::Identity)> = None;
    for action in &m.actions {
        match action {
            MacroAction::AdjustScore { delta } => {
                writes::adjust_score(txn, target.id, *delta).await?;
            }
            MacroAction::AddToTeam { team_id } => {
                if all_teams.iter().any(|t| t.id == *team_id) {
                    team_membership::Entity::insert(team_membership::ActiveModel {
                        user_id: Set(target.id),
                        team_id: Set(*team_id),
                        created_at: Set(now),
                    })
                    .on_conflict_do_nothing()
                    .exec(txn)
                    .await?;
                }
            }
            MacroAction::RemoveFromTeam { team_id } => {
                team_membership::Entity::delete_many()
                    .filter(team_membership::Column::UserId.eq(target.id))
                    .filter(team_membership::Column::TeamId.eq(*team_id))
                    .exec(txn)
                    .await?;
            }
            MacroAction::AddComment { text } => {
                let body = if text.contains("((") {
                    tags::Values::load(txn, Some(target), None, now)
                        .await?
                        .render(text)
                } else {
                    text.clone()
                };
                writes::comment_on_user(
                    txn,
                    target.id,
                    (actor.user_id, actor.label.clone()),
                    &body,
                    None,
                )
                .await?;
            }
            MacroAction::SetStatus { .. }
            | MacroAction::SetTeam { .. }
            | MacroAction::AddTicketComment { .. }
            | MacroAction::AdjustSubmitterScore { .. }
            | MacroAction::SetVisibility { .. } => {
                return Err(AppError::internal("a feedback action in a user macro"));
            }
            MacroAction::RemoveUser => {
                let hooks = outbox::enabled_of(txn, m.id).await?;
                if !hooks.is_empty() {
                    let fresh = user::Entity::find_by_id(target.id)
                        .one(txn)
                        .await?
                        .unwrap_or_else(|| target.clone());
                    let values = tags::Values::load(txn, Some(&fresh), None, now).await?;
                    sealed = Some((
                        hooks.iter().map(|w| outbox::render(w, &values)).collect(),
                        erasure::Identity::of(txn, &fresh).await?,
                    ));
                }
                erased = Some(erasure::erase(txn, target, &label).await?);
                if m.options.include_on_dashboard {
                    let team_names = teams_of(txn, target.id, &all_teams).await?;
                    opt_out_event::ActiveModel {
                        occurred_at: Set(now),
                        macro_id: Set(Some(m.id)),
                        macro_name: Set(m.name.clone()),
                        source: Set(trigger),
                        teams: Set(team_names),
                        listener_name: Set(ctx.listener.clone()),
                        ..Default::default()
                    }
                    .insert(txn)
                    .await?;
                }
            }
        }
        steps.push(describe(action, &all_teams));
    }
    // The webhooks see the user as the actions left them (a removal's were rendered before
    // the erasure).
    let hooks = if removes {
        Vec::new()
    } else {
        outbox::enabled_of(txn, m.id).await?
    };
    let (rendered, seal_for) = if let Some((rendered, who)) = sealed {
        (rendered, Some(who))
    } else if hooks.is_empty() {
        (Vec::new(), None)
    } else {
        let fresh = user::Entity::find_by_id(target.id)
            .one(txn)
            .await?
            .unwrap_or_else(|| target.clone());
        let values = tags::Values::load(txn, Some(&fresh), None, now).await?;
        (
            hooks.iter().map(|w| outbox::render(w, &values)).collect(),
            None,
        )
    };
    steps.extend(rendered.iter().map(|r| format!("Send webhook {}", r.name)));
    if removes {
        user::Entity::delete_by_id(target.id).exec(txn).await?;
    }
    let target_id = (!removes).then_some(target.id);
    let run = record_run(
        txn,
        m,
        ctx,
        target_id,
        None,
        RunStatus::Completed,
        &steps.join("; "),
        actor,
    )
    .await?;
    let about = if removes {
        outbox::About {
            user_id: None,
            ticket_id: None,
            label: label.clone(),
        }
    } else {
        outbox::About::user(target)
    };
    let seal = match (&seal_for, &ctx.sealer) {
        (None, _) => None,
        (Some(who), Some(sealer)) => Some(outbox::Seal {
            sealer: sealer.as_ref(),
            who,
        }),
        (Some(_), None) => {
            return Err(AppError::internal(
                "a removal's webhooks need the key file to seal them with",
            ));
        }
    };
    outbox::queue(
        txn,
        rendered,
        outbox::Origin {
            macro_id: Some(m.id),
            run_id: Some(run),
            about: &about,
            test: false,
            resend_of: None,
            seal,
        },
    )
    .await?;
    if let Some(e) = &erased {
        erasure::record_receipt(
            txn,
            e,
            &erasure::Requested {
                run_id: Some(run),
                macro_id: Some(m.id),
                macro_name: m.name.clone(),
                trigger,
                listener_name: ctx.listener.clone(),
                actor_label: actor.label.clone(),
            },
        )
        .await?;
    }
    Ok(RunOutcome {
        run_id: run,
        status: RunStatus::Completed,
        steps,
        erased,
    })
}

/// The actions of a feedback macro on one ticket, in the caller's transaction. An action that
/// does not fit the ticket (a status its workflow lacks, a team its type does not have) is
/// skipped and says so in the run's outcome; the others still run.
pub async fn run_on_ticket(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    m: &Macro,
    t: &ticket::Model,
    ctx: &RunContext,
) -> Result<RunOutcome, AppError> {
    // A macro placed on a project or feedback type runs only on its tickets, however it was
    // started (by hand, a bulk run, a schedule, a listener or automation): the one gate.
    if !m.place.holds(t.project_id, t.feedback_type_id) {
        let reason = format!(
            "this macro runs only on tickets of {}",
            lookups::place_label(txn, &m.place).await?
        );
        let run = record_run(
            txn,
            m,
            ctx,
            None,
            Some(t.id),
            RunStatus::Skipped,
            &reason,
            actor,
        )
        .await?;
        return Ok(RunOutcome {
            run_id: run,
            status: RunStatus::Skipped,
            steps: vec![reason],
            erased: None,
        });
    }
    let feedback_type = lookups::type_definition(txn, t.feedback_type_id).await?;
    let all_teams = lookups::team_refs(txn).await?;
    let mut current = t.clone();
    let mut steps = Vec::new();
    for action in &m.actions {
        let step = describe(action, &all_teams);
        let note = match action {
            MacroAction::SetStatus { status } => {
                match feedback_type
                    .statuses
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(status))
                {
                    None => Some(format!(
                        "the {} workflow has no such status",
                        feedback_type.name
                    )),
                    Some(to) => {
                        writes::apply_change(
                            txn,
                            actor,
                            &current,
                            &feedback_type,
                            writes::Change::Status(to.id),
                        )
                        .await?;
                        current.status_id = to.id;
                        None
                    }
                }
            }
            MacroAction::SetTeam { team_id } => {
                if team_id.is_some_and(|id| !feedback_type.teams.iter().any(|x| x.id == id)) {
                    Some(format!("{} has no such team", feedback_type.name))
                } else {
                    writes::apply_change(
                        txn,
                        actor,
                        &current,
                        &feedback_type,
                        writes::Change::Team(*team_id),
                    )
                    .await?;
                    current.team_id = *team_id;
                    None
                }
            }
            MacroAction::SetVisibility { visibility } => {
                writes::apply_change(
                    txn,
                    actor,
                    &current,
                    &feedback_type,
                    writes::Change::Visibility(visibility.clone()),
                )
                .await?;
                current.visibility = visibility.clone();
                None
            }
            MacroAction::AddTicketComment { text } => {
                let author = match actor.user_id {
                    Some(id) => user::Entity::find_by_id(id).one(txn).await?,
                    None => None,
                };
                let body = if text.contains("((") {
                    tags::Values::for_ticket(txn, &current, &feedback_type, &all_teams, Utc::now())
                        .await?
                        .render(text)
                } else {
                    text.clone()
                };
                writes::comment_on_ticket(txn, &current, author.as_ref(), &body, actor).await?;
                None
            }
            MacroAction::AdjustSubmitterScore { delta } => match current.author_user_id {
                None => Some("the submitter was removed".to_string()),
                Some(author) => {
                    writes::adjust_score(txn, author, *delta).await?;
                    None
                }
            },
            _ => Some("not an action for tickets".to_string()),
        };
        steps.push(match note {
            Some(why) => format!("{step} (skipped: {why})"),
            None => step,
        });
    }
    // The webhooks see the ticket as the actions left it.
    let hooks = outbox::enabled_of(txn, m.id).await?;
    let rendered = if hooks.is_empty() {
        Vec::new()
    } else {
        // Read again: comments of this run changed its popularity.
        let fresh = lookups::find_ticket(txn, t.id).await?;
        let values =
            tags::Values::for_ticket(txn, &fresh, &feedback_type, &all_teams, Utc::now()).await?;
        hooks.iter().map(|w| outbox::render(w, &values)).collect()
    };
    steps.extend(rendered.iter().map(|r| format!("Send webhook {}", r.name)));
    let run = record_run(
        txn,
        m,
        ctx,
        None,
        Some(t.id),
        RunStatus::Completed,
        &steps.join("; "),
        actor,
    )
    .await?;
    outbox::queue(
        txn,
        rendered,
        outbox::Origin {
            macro_id: Some(m.id),
            run_id: Some(run),
            about: &outbox::About::ticket(t),
            test: false,
            resend_of: None,
            seal: None,
        },
    )
    .await?;
    Ok(RunOutcome {
        run_id: run,
        status: RunStatus::Completed,
        steps,
        erased: None,
    })
}

pub(crate) async fn teams_of(
    db: &impl ConnectionTrait,
    user_id: i32,
    all: &[TeamRef],
) -> Result<String, AppError> {
    let ids: Vec<i32> = team_membership::Entity::find()
        .select_only()
        .column(team_membership::Column::TeamId)
        .filter(team_membership::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut names: Vec<String> = all
        .iter()
        .filter(|t| ids.contains(&t.id))
        .map(|t| t.name.clone())
        .collect();
    names.sort();
    Ok(names.join(", "))
}

#[allow(clippy::too_many_arguments)]
async fn record_run(
    db: &impl ConnectionTrait,
    m: &Macro,
    ctx: &RunContext,
    target: Option<i32>,
    ticket: Option<i32>,
    status: RunStatus,
    outcome: &str,
    actor: &Actor,
) -> Result<i64, AppError> {
    let now = Utc::now();
    let id = match ctx.run_id {
        Some(id) => {
            finish_run(db, id, Some(target), status, outcome).await?;
            id
        }
        None => {
            macro_run::ActiveModel {
                macro_id: Set(Some(m.id)),
                trigger: Set(ctx.trigger),
                target_user_id: Set(target),
                target_ticket_id: Set(ticket),
                status: Set(status),
                outcome: Set(outcome.into()),
                started_by: Set(actor.user_id),
                created_at: Set(now),
                finished_at: Set(Some(now)),
                ..Default::default()
            }
            .insert(db)
            .await?
            .id
        }
    };
    let subject = match (target, ticket) {
        (_, Some(id)) => format!("ticket {id}"),
        (Some(id), None) => format!("user {id}"),
        (None, None) => "a removed user".into(),
    };
    audit_trail::record(
        db,
        actor,
        "macro.run",
        &subject,
        &format!("{}: {status} ({outcome})", m.name),
    )
    .await?;
    Ok(id)
}

/// A macro of `scope`; a macro of the other scope is an error on `field`.
pub async fn macro_in_scope(
    db: &impl ConnectionTrait,
    id: i32,
    scope: &str,
    field: &str,
) -> Result<Macro, AppError> {
    let m = match lookups::find_macro(db, id).await {
        Err(AppError::NotFound(_)) => {
            return Err(AppError::field(field, "that macro does not exist"));
        }
        other => other?,
    };
    if m.scope != scope {
        return Err(AppError::field(
            field,
            if scope == SCOPE_FEEDBACK {
                "that is a user macro: choose a feedback macro"
            } else {
                "that is a feedback macro: choose a user macro"
            },
        ));
    }
    Ok(m)
}

/// Rows per multi-row insert (well under SQLite's limit of bound values).
const CHUNK: usize = 500;

/// Queues, in the caller's transaction, a run of `m` for everything `filter` selects now, with
/// the bulk run that counts them. None when the filter selects nothing.
pub async fn queue_bulk(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    m: &Macro,
    filter: &filter::Model,
    trigger: Trigger,
) -> Result<Option<i32>, AppError> {
    let ids = matching::matching_ids(
        txn,
        filter.scope.as_str(),
        &matching::definition_of(filter)?,
    )
    .await?;
    queue_bulk_on(
        txn,
        actor,
        m,
        filter.scope,
        Chosen::Filter(&filter.name),
        &ids,
        trigger,
    )
    .await
}

/// What chose a bulk run's users or tickets.
pub enum Chosen<'a> {
    /// A saved filter, by name.
    Filter(&'a str),
    /// A list's *Actions* (`list`: "users", "feedback"): `label` says what, e.g. "2 ticked users".
    List { list: &'a str, label: String },
}

/// Queues `m` for each of `ids` (users, or tickets for the feedback scope) as one bulk run,
/// recording what `chosen` them; the bulk run's id, or `None` when there is none.
pub async fn queue_bulk_on(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    m: &Macro,
    scope: Scope,
    chosen: Chosen<'_>,
    ids: &[i32],
    trigger: Trigger,
) -> Result<Option<i32>, AppError> {
    if ids.is_empty() {
        return Ok(None);
    }
    let tickets = scope == Scope::Feedback;
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
        filter_name: Set(match &chosen {
            Chosen::Filter(name) => name.to_string(),
            Chosen::List { label, .. } => label.clone(),
        }),
        from_list: Set(matches!(chosen, Chosen::List { .. })),
        total: Set(ids.len() as i32),
        started_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
        scope: Set(scope),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for chunk in ids.chunks(CHUNK) {
        macro_run::Entity::insert_many(
            chunk
                .iter()
                .map(|id| new_queued_run(m.id, target(*id), trigger, Some(bulk.id))),
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
        &match &chosen {
            Chosen::Filter(name) => format!(
                "{} {} of filter {name}",
                ids.len(),
                if tickets { "tickets" } else { "users" },
            ),
            Chosen::List { list, label } => format!("{label} from the {list} list"),
        },
    )
    .await?;
    Ok(Some(bulk.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_labels_are_drawn_not_derived() {
        let (a, b) = (removed_label(), removed_label());
        assert_ne!(a, b);
        for l in [a, b] {
            let digits = l.strip_prefix("removed user ").unwrap();
            assert_eq!(digits.len(), 12);
            assert!(digits.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn subject_hashes_are_keyed_and_ignore_case() {
        let a = subject_hash(b"k1", "Jim@Example.com").unwrap();
        assert_eq!(a, subject_hash(b"k1", "jim@example.com").unwrap());
        assert_ne!(a, subject_hash(b"k2", "jim@example.com").unwrap());
        assert_eq!(a.len(), 64);
    }
}
