//! User macros: an ordered list of actions run on one user, as one transaction. The same
//! `execute` serves the user page, and will serve bulk runs and listeners.

use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use sha2::Sha256;

use super::{Actor, audit, community, format_time, teams};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::entities::{
    comment, listener_call, macro_def, macro_mark, macro_run, opt_out_event, team_membership, user,
    user_import,
};
use crate::types::{
    MACRO_ACTION_ROWS, MacroAction, MacroForm, MacroOptions, MacroRunView, MacroView, Role, TeamRef,
};

const SCOPE_USER: &str = "user";
pub const REMOVED_LABEL: &str = "Removed user";

/// Where a run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Manual,
    Listener,
    Bulk,
}

impl Trigger {
    fn key(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Listener => "listener",
            Trigger::Bulk => "bulk",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub run_id: i64,
    /// "completed", "skipped", or "failed" (a queued run whose user or macro had gone).
    pub status: &'static str,
    pub steps: Vec<String>,
    /// When the run removed the person: the label that now stands for them in logs.
    pub removed_as: Option<String>,
}

/// The keyed hash that stands for a person's email where the email may not be kept.
pub fn subject_hash(key: &[u8], email: &str) -> Result<String, AppError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(AppError::internal)?;
    mac.update(email.trim().to_lowercase().as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn describe(action: &MacroAction, teams: &[TeamRef]) -> String {
    let team = |id: &i32| {
        teams
            .iter()
            .find(|t| t.id == *id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| "(deleted team)".into())
    };
    match action {
        MacroAction::RemoveUser => "Remove user completely".into(),
        MacroAction::AdjustScore { delta } => format!("Adjust score by {delta:+}"),
        MacroAction::AddToTeam { team_id } => format!("Add to team {}", team(team_id)),
        MacroAction::RemoveFromTeam { team_id } => format!("Remove from team {}", team(team_id)),
        MacroAction::AddComment { text } => format!("Add user comment \"{text}\""),
    }
}

#[derive(Debug)]
struct ParsedMacro {
    name: String,
    description: String,
    key: String,
    actions: Vec<MacroAction>,
    options: MacroOptions,
}

fn parse_form(form: &MacroForm, teams: &[TeamRef]) -> Result<ParsedMacro, AppError> {
    let mut errors = FieldErrors::new();
    let name = form.name.trim();
    if name.is_empty() {
        errors.push("name", "is required");
    } else if name.chars().count() > 100 {
        errors.push("name", "must be at most 100 characters");
    }
    let key = errors.check("key", crate::server::domain::parse_key(&form.key));
    let mut rows: Vec<(usize, &crate::types::MacroActionForm)> = form
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| (a.slot.trim().parse().unwrap_or(i), a))
        .filter(|(slot, _)| *slot < MACRO_ACTION_ROWS)
        .collect();
    rows.sort_by_key(|(slot, _)| *slot);
    let mut actions = Vec::new();
    for (slot, row) in rows {
        let field = format!("actions.{slot}");
        let value = row.value.trim();
        let team = |v: &str| {
            teams
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(v))
                .map(|t| t.id)
                .ok_or_else(|| format!("there is no team \"{v}\""))
        };
        let parsed = match row.kind.trim() {
            "" => continue,
            "remove_user" => Ok(MacroAction::RemoveUser),
            "adjust_score" => value
                .parse::<i32>()
                .ok()
                .filter(|d| *d != 0)
                .map(|delta| MacroAction::AdjustScore { delta })
                .ok_or_else(|| {
                    format!("a whole number other than 0, e.g. 5 or -5, not \"{value}\"")
                }),
            "add_to_team" => team(value).map(|team_id| MacroAction::AddToTeam { team_id }),
            "remove_from_team" => {
                team(value).map(|team_id| MacroAction::RemoveFromTeam { team_id })
            }
            "add_comment" if value.is_empty() => Err("the comment needs text".into()),
            "add_comment" if value.chars().count() > 5000 => {
                Err("the comment must be at most 5000 characters".into())
            }
            "add_comment" => Ok(MacroAction::AddComment {
                text: value.to_string(),
            }),
            other => Err(format!("unknown action \"{other}\"")),
        };
        match parsed {
            Ok(a) => actions.push(a),
            Err(m) => errors.push(&field, m),
        }
    }
    if actions.is_empty() && errors.is_empty() {
        errors.push("actions", "add at least one action");
    }
    if let Some(pos) = actions.iter().position(|a| *a == MacroAction::RemoveUser) {
        if pos + 1 != actions.len() {
            errors.push(
                "actions",
                "Remove user completely must be the last action: nothing can follow it",
            );
        }
    }
    errors.into_result()?;
    Ok(ParsedMacro {
        name: name.to_string(),
        description: form.description.trim().to_string(),
        key: key.expect("checked"),
        actions,
        options: MacroOptions {
            include_on_dashboard: form.include_on_dashboard.is_some(),
            show_in_user_actions: form.show_in_user_actions.is_some(),
            run_once_per_user: form.run_once_per_user.is_some(),
            suppress_confirmation: form.suppress_confirmation.is_some(),
        },
    })
}

fn view(m: macro_def::Model, teams: &[TeamRef]) -> Result<MacroView, AppError> {
    let actions: Vec<MacroAction> = serde_json::from_str(&m.actions).map_err(AppError::internal)?;
    Ok(MacroView {
        steps: actions.iter().map(|a| describe(a, teams)).collect(),
        id: m.id,
        name: m.name,
        description: m.description,
        key: m.key,
        actions,
        options: MacroOptions {
            include_on_dashboard: m.include_on_dashboard,
            show_in_user_actions: m.show_in_user_actions,
            run_once_per_user: m.run_once_per_user,
            suppress_confirmation: m.suppress_confirmation,
        },
    })
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<macro_def::Model, AppError> {
    macro_def::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|m| m.scope == SCOPE_USER)
        .ok_or_else(|| AppError::NotFound(format!("macro {id}")))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<MacroView>, AppError> {
    let teams = teams::refs(db).await?;
    macro_def::Entity::find()
        .filter(macro_def::Column::Scope.eq(SCOPE_USER))
        .order_by_asc(macro_def::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|m| view(m, &teams))
        .collect()
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<MacroView, AppError> {
    let teams = teams::refs(db).await?;
    view(find(db, id).await?, &teams)
}

#[tracing::instrument(skip(db, actor, form), fields(actor = %actor.label))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &MacroForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let teams = teams::refs(db).await?;
    let p = parse_form(form, &teams)?;
    let mut clash = macro_def::Entity::find().filter(macro_def::Column::Key.eq(p.key.clone()));
    if let Some(m) = &existing {
        clash = clash.filter(macro_def::Column::Id.ne(m.id));
    }
    if clash.count(db).await? > 0 {
        return Err(AppError::field("key", "another macro has this key"));
    }
    let actions = serde_json::to_string(&p.actions).map_err(AppError::internal)?;
    let steps: Vec<String> = p.actions.iter().map(|a| describe(a, &teams)).collect();
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut active = match existing {
        Some(m) => m.into_active_model(),
        None => macro_def::ActiveModel {
            scope: Set(SCOPE_USER.into()),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.name = Set(p.name.clone());
    active.description = Set(p.description);
    active.key = Set(p.key);
    active.actions = Set(actions);
    active.include_on_dashboard = Set(p.options.include_on_dashboard);
    active.show_in_user_actions = Set(p.options.show_in_user_actions);
    active.run_once_per_user = Set(p.options.run_once_per_user);
    active.suppress_confirmation = Set(p.options.suppress_confirmation);
    active.updated_at = Set(now);
    let saved = active.save(&txn).await?;
    let id = match saved.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => id,
        _ => return Err(AppError::internal("saved macro has no id")),
    };
    audit::record(&txn, actor, "macro.saved", &p.name, &steps.join("; ")).await?;
    txn.commit().await?;
    crate::server::cache::changed();
    Ok(id)
}

#[tracing::instrument(skip(db, actor), fields(actor = %actor.label))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    confirmed: bool,
) -> Result<(), AppError> {
    let id = super::confirmed_deletion(id_input, confirmed)?;
    let existing = find(db, id).await?;
    super::listeners::refuse_if_used(
        db,
        crate::server::entities::listener::Column::MacroId,
        id,
        "macro",
    )
    .await?;
    let txn = db.begin().await?;
    macro_def::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(&txn, actor, "macro.deleted", &existing.name, "").await?;
    txn.commit().await?;
    crate::server::cache::changed();
    Ok(())
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
}

/// Runs a macro on one user. Everything it does, and the record of the run, commit together.
#[tracing::instrument(skip(db, actor), fields(actor = %actor.label))]
pub async fn execute(
    db: &DatabaseConnection,
    actor: &Actor,
    macro_id: i32,
    user_id: i32,
    trigger: Trigger,
) -> Result<RunOutcome, AppError> {
    let m = get(db, macro_id).await?;
    let target = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {user_id}")))?;
    check_removable(&m, &target)?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let ctx = RunContext {
        trigger,
        run_id: None,
        listener: None,
    };
    let outcome = run_in(&txn, actor, &m, &target, &ctx).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Community managers can never be removed by a macro.
pub fn check_removable(m: &MacroView, target: &user::Model) -> Result<(), AppError> {
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
    m: &MacroView,
    target: &user::Model,
) -> Result<bool, AppError> {
    if !m.options.run_once_per_user {
        return Ok(false);
    }
    let hash = subject_hash(&community::hash_key(db).await?, &target.email)?;
    Ok(macro_mark::Entity::find()
        .filter(macro_mark::Column::MacroId.eq(m.id))
        .filter(macro_mark::Column::SubjectHash.eq(hash))
        .count(db)
        .await?
        > 0)
}

/// A run to be done later (by the worker), recorded before anything else happens to it.
pub fn new_queued_run(
    macro_id: i32,
    target_user_id: i32,
    trigger: Trigger,
    bulk_run_id: Option<i32>,
) -> macro_run::ActiveModel {
    macro_run::ActiveModel {
        bulk_run_id: Set(bulk_run_id),
        macro_id: Set(Some(macro_id)),
        trigger: Set(trigger.key().into()),
        target_user_id: Set(Some(target_user_id)),
        status: Set("queued".into()),
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
    m: &MacroView,
    target_user_id: i32,
    trigger: Trigger,
    bulk_run_id: Option<i32>,
) -> Result<i64, AppError> {
    Ok(new_queued_run(m.id, target_user_id, trigger, bulk_run_id)
        .insert(txn)
        .await?
        .id)
}

/// Completes a queued run inside the caller's transaction (the worker's, which also marks
/// the job done). A run whose user or macro has gone meanwhile ends as "failed" with the reason.
pub async fn run_queued(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    macro_: Option<&MacroView>,
    user_id: i32,
    ctx: &RunContext,
) -> Result<RunOutcome, AppError> {
    let run_id = ctx
        .run_id
        .ok_or_else(|| AppError::internal("a queued run needs its run id"))?;
    let Some(m) = macro_ else {
        return fail_run(txn, run_id, "the macro was deleted before it ran").await;
    };
    let Some(target) = user::Entity::find_by_id(user_id).one(txn).await? else {
        return fail_run(txn, run_id, "the user no longer exists").await;
    };
    if let Err(AppError::Forbidden(reason)) = check_removable(&m, &target) {
        return fail_run(txn, run_id, &reason).await;
    }
    run_in(txn, actor, m, &target, ctx).await
}

/// Ends a queued run that will not happen (its job was given up).
pub async fn give_up_run(
    txn: &impl ConnectionTrait,
    run_id: i64,
    reason: &str,
) -> Result<(), AppError> {
    finish_run(txn, run_id, None, "failed", reason).await
}

async fn fail_run(
    txn: &impl ConnectionTrait,
    run_id: i64,
    reason: &str,
) -> Result<RunOutcome, AppError> {
    finish_run(txn, run_id, None, "failed", reason).await?;
    Ok(RunOutcome {
        run_id,
        status: "failed",
        steps: Vec::new(),
        removed_as: None,
    })
}

async fn finish_run(
    db: &impl ConnectionTrait,
    run_id: i64,
    target: Option<i32>,
    status: &str,
    outcome: &str,
) -> Result<(), AppError> {
    macro_run::Entity::update_many()
        .col_expr(macro_run::Column::Status, Expr::value(status))
        .col_expr(macro_run::Column::Outcome, Expr::value(outcome))
        .col_expr(macro_run::Column::TargetUserId, Expr::value(target))
        .col_expr(macro_run::Column::FinishedAt, Expr::value(Utc::now()))
        .filter(macro_run::Column::Id.eq(run_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The actions of one run on one (removable) user, in the caller's transaction.
async fn run_in(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    m: &MacroView,
    target: &user::Model,
    ctx: &RunContext,
) -> Result<RunOutcome, AppError> {
    let removes = m.actions.contains(&MacroAction::RemoveUser);
    // The keyed hash of the person is needed only to remember or erase them.
    let hash = if removes || m.options.run_once_per_user {
        subject_hash(&community::hash_key(txn).await?, &target.email)?
    } else {
        String::new()
    };
    let now = Utc::now();
    let trigger = ctx.trigger;

    if m.options.run_once_per_user
        && macro_mark::Entity::find()
            .filter(macro_mark::Column::MacroId.eq(m.id))
            .filter(macro_mark::Column::SubjectHash.eq(hash.clone()))
            .count(txn)
            .await?
            > 0
    {
        let run = record_run(
            txn,
            m,
            ctx,
            Some(target.id),
            "skipped",
            "already ran once for this person",
            actor,
        )
        .await?;
        return Ok(RunOutcome {
            run_id: run,
            status: "skipped",
            steps: Vec::new(),
            removed_as: None,
        });
    }

    let all_teams = teams::refs(txn).await?;
    let mut steps = Vec::new();
    for action in &m.actions {
        match action {
            MacroAction::AdjustScore { delta } => {
                user::Entity::update_many()
                    .col_expr(
                        user::Column::Score,
                        Expr::col(user::Column::Score).add(*delta),
                    )
                    .col_expr(user::Column::UpdatedAt, Expr::value(now))
                    .filter(user::Column::Id.eq(target.id))
                    .exec(txn)
                    .await?;
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
                comment::ActiveModel {
                    user_id: Set(target.id),
                    author_user_id: Set(actor.user_id),
                    author_label: Set(actor.label.clone()),
                    body: Set(text.clone()),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
            }
            MacroAction::RemoveUser => {
                erase_user(txn, target, &hash).await?;
                if m.options.include_on_dashboard {
                    let team_names = teams_of(txn, target.id, &all_teams).await?;
                    opt_out_event::ActiveModel {
                        occurred_at: Set(now),
                        macro_id: Set(Some(m.id)),
                        macro_name: Set(m.name.clone()),
                        source: Set(trigger.key().into()),
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
    if removes {
        user::Entity::delete_by_id(target.id).exec(txn).await?;
    }
    if m.options.run_once_per_user {
        macro_mark::Entity::insert(macro_mark::ActiveModel {
            macro_id: Set(m.id),
            subject_hash: Set(hash.clone()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec(txn)
        .await?;
    }
    let target_id = (!removes).then_some(target.id);
    let run = record_run(
        txn,
        m,
        ctx,
        target_id,
        "completed",
        &steps.join("; "),
        actor,
    )
    .await?;
    Ok(RunOutcome {
        run_id: run,
        status: "completed",
        steps,
        removed_as: removes.then(|| removed_label(&hash)),
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

/// How a removed person appears in logs: a prefix of their keyed hash.
pub fn removed_label(hash: &str) -> String {
    format!("removed user {}", &hash[..hash.len().min(12)])
}

/// Removes a person's personal data from every place that holds it, apart from the user row
/// itself (deleted last by the caller): comments they wrote keep their text under
/// "Removed user", audit entries naming them are redacted to a keyed hash, stored import
/// reports lose their email. Memberships, sessions and comments about them go with the row.
async fn erase_user(
    db: &impl ConnectionTrait,
    target: &user::Model,
    hash: &str,
) -> Result<(), AppError> {
    comment::Entity::update_many()
        .col_expr(
            comment::Column::AuthorUserId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(comment::Column::AuthorLabel, Expr::value(REMOVED_LABEL))
        .filter(comment::Column::AuthorUserId.eq(target.id))
        .exec(db)
        .await?;
    super::feedback::erase_person(db, target.id).await?;
    audit::redact(
        db,
        target.id,
        &target.email,
        &format!("removed user {}", &hash[..12]),
    )
    .await?;
    listener_call::Entity::update_many()
        .col_expr(
            listener_call::Column::Target,
            Expr::value(removed_label(hash)),
        )
        .col_expr(
            listener_call::Column::TargetUserId,
            Expr::value(Option::<i32>::None),
        )
        .filter(
            sea_orm::Condition::any()
                .add(listener_call::Column::TargetUserId.eq(target.id))
                .add(listener_call::Column::Target.eq(target.email.clone())),
        )
        .exec(db)
        .await?;
    user_import::Entity::update_many()
        .col_expr(
            user_import::Column::Report,
            sea_orm::sea_query::Func::cust("REPLACE")
                .arg(Expr::col(user_import::Column::Report))
                .arg(target.email.clone())
                .arg("[removed]")
                .into(),
        )
        .filter(user_import::Column::Report.contains(&target.email))
        .exec(db)
        .await?;
    Ok(())
}

async fn record_run(
    db: &impl ConnectionTrait,
    m: &MacroView,
    ctx: &RunContext,
    target: Option<i32>,
    status: &str,
    outcome: &str,
    actor: &Actor,
) -> Result<i64, AppError> {
    let now = Utc::now();
    let id = match ctx.run_id {
        Some(id) => {
            finish_run(db, id, target, status, outcome).await?;
            id
        }
        None => {
            macro_run::ActiveModel {
                macro_id: Set(Some(m.id)),
                trigger: Set(ctx.trigger.key().into()),
                target_user_id: Set(target),
                status: Set(status.into()),
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
    let subject = match target {
        Some(id) => format!("user {id}"),
        None => "a removed user".into(),
    };
    audit::record(
        db,
        actor,
        "macro.run",
        &subject,
        &format!("{}: {status} ({outcome})", m.name),
    )
    .await?;
    Ok(id)
}

/// Runs on one user, newest first.
pub async fn runs_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<MacroRunView>, AppError> {
    let runs = macro_run::Entity::find()
        .filter(macro_run::Column::TargetUserId.eq(user_id))
        .order_by_desc(macro_run::Column::Id)
        .limit(20)
        .all(db)
        .await?;
    let macros = macro_def::Entity::find().all(db).await?;
    Ok(runs
        .into_iter()
        .map(|r| MacroRunView {
            id: r.id,
            macro_name: r
                .macro_id
                .and_then(|id| macros.iter().find(|m| m.id == id))
                .map(|m| m.name.clone())
                .unwrap_or_else(|| "(deleted macro)".into()),
            trigger: r.trigger,
            status: r.status,
            outcome: r.outcome,
            created_at: format_time(&r.created_at),
        })
        .collect())
}

/// A run started from the user page: the macro must be offered there, and the manager must
/// have confirmed unless the macro suppresses the confirmation.
pub async fn run_manually(
    db: &DatabaseConnection,
    actor: &Actor,
    macro_id: &str,
    user_id: &str,
    confirmed: bool,
) -> Result<RunOutcome, AppError> {
    let mut errors = FieldErrors::new();
    let macro_id = errors.check(
        "macro_id",
        parse_id(macro_id).map_err(|_| "choose a macro".to_string()),
    );
    let user_id = errors.check("user_id", parse_id(user_id));
    errors.into_result()?;
    let (macro_id, user_id) = (macro_id.expect("checked"), user_id.expect("checked"));
    let m = get(db, macro_id).await?;
    if !m.options.show_in_user_actions {
        return Err(AppError::field(
            "macro_id",
            "this macro is not offered on the user page",
        ));
    }
    if !m.options.suppress_confirmation && !confirmed {
        return Err(AppError::field(
            "confirm",
            "tick the box to confirm the run",
        ));
    }
    execute(db, actor, macro_id, user_id, Trigger::Manual).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::MacroActionForm;

    fn teams() -> Vec<TeamRef> {
        vec![TeamRef {
            id: 2,
            name: "Customers".into(),
        }]
    }

    fn row(slot: usize, kind: &str, value: &str) -> MacroActionForm {
        MacroActionForm {
            slot: slot.to_string(),
            kind: kind.into(),
            value: value.into(),
        }
    }

    #[test]
    fn actions_parse_in_slot_order() {
        let form = MacroForm {
            name: "Welcome".into(),
            key: "Welcome-1".into(),
            actions: vec![
                row(2, "add_comment", "Hi"),
                row(0, "adjust_score", "+5"),
                row(1, "add_to_team", "customers"),
            ],
            run_once_per_user: Some("on".into()),
            ..Default::default()
        };
        let p = parse_form(&form, &teams()).unwrap();
        assert_eq!(p.key, "welcome-1");
        assert_eq!(
            p.actions,
            vec![
                MacroAction::AdjustScore { delta: 5 },
                MacroAction::AddToTeam { team_id: 2 },
                MacroAction::AddComment { text: "Hi".into() }
            ]
        );
        assert!(p.options.run_once_per_user && !p.options.suppress_confirmation);
    }

    #[test]
    fn removal_must_come_last_and_bad_rows_are_named() {
        let form = MacroForm {
            name: "x".into(),
            key: "x".into(),
            actions: vec![
                row(0, "remove_user", ""),
                row(1, "adjust_score", "0"),
                row(2, "add_to_team", "Nope"),
            ],
            ..Default::default()
        };
        let err = parse_form(&form, &teams()).unwrap_err();
        assert!(
            err.field_message("actions.1").is_some() && err.field_message("actions.2").is_some(),
            "{err:?}"
        );
        let form = MacroForm {
            name: "x".into(),
            key: "x".into(),
            actions: vec![row(0, "remove_user", ""), row(1, "add_comment", "bye")],
            ..Default::default()
        };
        assert!(
            parse_form(&form, &teams())
                .unwrap_err()
                .field_message("actions")
                .unwrap()
                .contains("last action")
        );
    }

    #[test]
    fn subject_hashes_are_keyed_and_ignore_case() {
        let a = subject_hash(b"k1", "Jim@Example.com").unwrap();
        assert_eq!(a, subject_hash(b"k1", "jim@example.com").unwrap());
        assert_ne!(a, subject_hash(b"k2", "jim@example.com").unwrap());
        assert_eq!(a.len(), 64);
    }
}
