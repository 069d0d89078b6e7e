//! Macros: an ordered list of actions run on one user (user macros) or one feedback ticket
//! (feedback macros), each run as one transaction. The same run functions serve the user and
//! ticket pages, bulk runs, listeners, automation and schedules.

use crate::server::engine::matching;
use crate::server::engine::outbox;
use crate::server::engine::tags;
use crate::server::store::audit_trail;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::Sha256;
use std::sync::Arc;

use super::{Actor, community, feedback, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::engine::matching::{SCOPE_FEEDBACK, SCOPE_USER};
use crate::server::entities::{
    macro_def, macro_mark, macro_run, opt_out_event, team_membership, ticket, user,
};
use crate::server::secrets::Sealer;
use crate::shared::vocab::RunStatus;
use crate::types::{
    AutomationView, FEEDBACK_ACTION_KINDS, MACRO_ACTION_ROWS, MacroAction, MacroForm, MacroOptions,
    MacroRunView, MacroView, Role, SCHEDULE_FREQUENCIES, ScheduleView, TeamRef,
};

pub use crate::shared::vocab::Trigger;

/// What a run acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTarget {
    User(i32),
    Ticket(i32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub run_id: i64,
    /// Completed, skipped, or failed (a queued run whose user or macro had gone).
    pub status: RunStatus,
    pub steps: Vec<String>,
    /// When the run removed the person: what the erasure did (call `erasure::settle` with it
    /// once the run's transaction has committed).
    pub erased: Option<crate::server::engine::erasure::Erased>,
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

/// The prefix of marks keyed under the key file.
pub const MARK_PREFIX: &str = "k1:";

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
        let legacy = match community::legacy_hash_key(db).await? {
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
        MacroAction::SetStatus { status } => format!("Set status to {status}"),
        MacroAction::SetTeam { team_id: Some(id) } => format!("Set team to {}", team(id)),
        MacroAction::SetTeam { team_id: None } => "Set team to no team".into(),
        MacroAction::AddTicketComment { text } => format!("Add comment \"{text}\""),
        MacroAction::AdjustSubmitterScore { delta } => {
            format!("Adjust submitter score by {delta:+}")
        }
        MacroAction::SetVisibility { visibility } => format!("Set visibility to {visibility}"),
    }
}

/// A schedule as the form gave it, checked.
#[derive(Debug, PartialEq)]
struct ParsedSchedule {
    frequency: String,
    filter_id: i32,
    starts_at: chrono::DateTime<Utc>,
    ends_at: Option<chrono::DateTime<Utc>>,
    enabled: bool,
}

/// "YYYY-MM-DDTHH:MM" (what a datetime-local input sends; seconds and a space also do), UTC.
fn parse_moment(raw: &str) -> Result<chrono::DateTime<Utc>, String> {
    let v = raw.trim().replace(' ', "T");
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&v, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!(
                "a date and time as YYYY-MM-DD HH:MM (UTC), not \"{}\"",
                raw.trim()
            )
        })
}

/// The occurrence of a schedule `k` periods after its start (None past the calendar's end).
fn occurrence(
    frequency: &str,
    start: chrono::DateTime<Utc>,
    k: u32,
) -> Option<chrono::DateTime<Utc>> {
    match frequency {
        "hourly" => start.checked_add_signed(chrono::Duration::hours(i64::from(k))),
        "daily" => start.checked_add_signed(chrono::Duration::days(i64::from(k))),
        "weekly" => start.checked_add_signed(chrono::Duration::weeks(i64::from(k))),
        "monthly" => start.checked_add_months(chrono::Months::new(k)),
        _ => (k == 0).then_some(start),
    }
}

/// When a schedule runs next, once it has run (or been switched on) at `now`: a one-off runs at
/// its start (at once if that has passed, unless it ran already); a repeating schedule at the
/// first occurrence after `now`, so missed ones are not caught up in a burst. None once the
/// end date has passed.
pub fn next_run(
    frequency: &str,
    start: chrono::DateTime<Utc>,
    end: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
    ran_before: bool,
) -> Option<chrono::DateTime<Utc>> {
    let next = if frequency == "once" {
        (!ran_before).then_some(start)?
    } else if start > now {
        start
    } else {
        // Jump close by arithmetic, then step: months vary in length.
        let period = match frequency {
            "hourly" => 3_600,
            "daily" => 86_400,
            "weekly" => 604_800,
            _ => 28 * 86_400,
        };
        let mut k = std::cmp::max((now - start).num_seconds() / period, 0) as u32;
        loop {
            let t = occurrence(frequency, start, k)?;
            if t > now {
                break t;
            }
            k += 1;
        }
    };
    match end {
        Some(end) if next > end => None,
        _ => Some(next),
    }
}

#[derive(Debug)]
struct ParsedMacro {
    name: String,
    description: String,
    key: String,
    actions: Vec<MacroAction>,
    options: MacroOptions,
    on_submit: bool,
    on_modify: bool,
    automation_filter_id: Option<i32>,
    schedule: Option<ParsedSchedule>,
}

fn optional_id(raw: &str) -> Result<Option<i32>, String> {
    match raw.trim() {
        "" => Ok(None),
        v => parse_id(v).map(Some),
    }
}

/// Reads the macro form. `external` holds the external-data tags the scope may use.
fn parse_form(
    form: &MacroForm,
    scope: &str,
    teams: &[TeamRef],
    external: &[String],
) -> Result<ParsedMacro, AppError> {
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
        let kind = row.kind.trim();
        let offered = if scope == SCOPE_FEEDBACK {
            FEEDBACK_ACTION_KINDS.iter().any(|(k, _)| *k == kind)
        } else {
            crate::types::MACRO_ACTION_KINDS
                .iter()
                .any(|(k, _)| *k == kind)
        };
        if !kind.is_empty() && !offered {
            errors.push(
                &field,
                format!(
                    "\"{kind}\" is not an action of {} macros",
                    if scope == SCOPE_FEEDBACK {
                        "feedback"
                    } else {
                        "user"
                    }
                ),
            );
            continue;
        }
        let delta = |v: &str| {
            v.parse::<i32>()
                .ok()
                .filter(|d| *d != 0)
                .ok_or_else(|| format!("a whole number other than 0, e.g. 5 or -5, not \"{v}\""))
        };
        let parsed = match kind {
            "" => continue,
            "remove_user" => Ok(MacroAction::RemoveUser),
            "adjust_score" => delta(value).map(|delta| MacroAction::AdjustScore { delta }),
            "add_to_team" => team(value).map(|team_id| MacroAction::AddToTeam { team_id }),
            "remove_from_team" => {
                team(value).map(|team_id| MacroAction::RemoveFromTeam { team_id })
            }
            "add_comment" if value.is_empty() => Err("the comment needs text".into()),
            "add_comment" if value.chars().count() > 5000 => {
                Err("the comment must be at most 5000 characters".into())
            }
            "add_comment" => tags::check(value, scope, external).map(|_| MacroAction::AddComment {
                text: value.to_string(),
            }),
            "set_status" if value.is_empty() => Err("name the status, e.g. Closed".into()),
            "set_status" if value.chars().count() > 60 => {
                Err("the status must be at most 60 characters".into())
            }
            "set_status" => Ok(MacroAction::SetStatus {
                status: value.to_string(),
            }),
            "set_team" if value.is_empty() || value.eq_ignore_ascii_case("no team") => {
                Ok(MacroAction::SetTeam { team_id: None })
            }
            "set_team" => team(value).map(|id| MacroAction::SetTeam { team_id: Some(id) }),
            "add_ticket_comment" if value.is_empty() => Err("the comment needs text".into()),
            "add_ticket_comment" if value.chars().count() > 5000 => {
                Err("the comment must be at most 5000 characters".into())
            }
            "add_ticket_comment" => crate::server::domain::check_storable(value)
                .and_then(|_| tags::check(value, scope, external))
                .map(|_| MacroAction::AddTicketComment {
                    text: value.to_string(),
                }),
            "adjust_submitter_score" => {
                delta(value).map(|delta| MacroAction::AdjustSubmitterScore { delta })
            }
            "set_visibility" => match value.to_ascii_lowercase().as_str() {
                v @ ("public" | "private") => Ok(MacroAction::SetVisibility {
                    visibility: v.to_string(),
                }),
                _ => Err(format!("public or private, not \"{value}\"")),
            },
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
    if let Some(pos) = actions.iter().position(|a| *a == MacroAction::RemoveUser)
        && pos + 1 != actions.len()
    {
        errors.push(
            "actions",
            "Remove user completely must be the last action: nothing can follow it",
        );
    }
    let feedback_macro = scope == SCOPE_FEEDBACK;
    let automation_filter_id = if feedback_macro {
        errors
            .check(
                "automation_filter_id",
                optional_id(&form.automation_filter_id),
            )
            .flatten()
    } else {
        None
    };
    let frequency = form.schedule_frequency.trim();
    let schedule = if frequency.is_empty() {
        None
    } else {
        if !SCHEDULE_FREQUENCIES.iter().any(|(k, _)| *k == frequency) {
            errors.push(
                "schedule_frequency",
                "must be once, hourly, daily, weekly or monthly",
            );
        }
        let filter_id = errors.check(
            "schedule_filter_id",
            parse_id(&form.schedule_filter_id).map_err(|_| {
                format!(
                    "choose the filter whose {} the schedule runs on",
                    if feedback_macro { "tickets" } else { "users" }
                )
            }),
        );
        let starts_at = errors.check("schedule_starts_at", parse_moment(&form.schedule_starts_at));
        let ends_at = match form.schedule_ends_at.trim() {
            "" => None,
            raw => errors.check("schedule_ends_at", parse_moment(raw)),
        };
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e <= s
        {
            errors.push("schedule_ends_at", "must be after the start");
        }
        match (filter_id, starts_at) {
            (Some(filter_id), Some(starts_at)) => Some(ParsedSchedule {
                frequency: frequency.to_string(),
                filter_id,
                starts_at,
                ends_at,
                enabled: form.schedule_enabled.is_some(),
            }),
            _ => None,
        }
    };
    errors.into_result()?;
    Ok(ParsedMacro {
        name: name.to_string(),
        description: form.description.trim().to_string(),
        key: key.expect("checked"),
        actions,
        options: MacroOptions {
            include_on_dashboard: !feedback_macro && form.include_on_dashboard.is_some(),
            show_in_user_actions: form.show_in_user_actions.is_some(),
            run_once_per_user: !feedback_macro && form.run_once_per_user.is_some(),
            suppress_confirmation: form.suppress_confirmation.is_some(),
        },
        on_submit: feedback_macro && form.on_submit.is_some(),
        on_modify: feedback_macro && form.on_modify.is_some(),
        automation_filter_id,
        schedule,
    })
}

/// `hooks`: (macro id, step) of the webhooks and emails, which every run sends after the
/// actions.
fn view(
    m: macro_def::Model,
    teams: &[TeamRef],
    filters: &[(i32, String)],
    hooks: &[(i32, String)],
) -> Result<MacroView, AppError> {
    let actions: Vec<MacroAction> =
        serde_json::from_str(&m.actions).map_err(|e| AppError::internal(e))?;
    let named = |id: Option<i32>| {
        id.map(|id| {
            filters
                .iter()
                .find(|(i, _)| *i == id)
                .cloned()
                .unwrap_or((id, "(deleted filter)".into()))
        })
    };
    let schedule = match (m.schedule_frequency.as_str(), m.schedule_starts_at) {
        ("", _) | (_, None) => None,
        (frequency, Some(starts_at)) => Some(ScheduleView {
            frequency: frequency.to_string(),
            filter: named(m.schedule_filter_id),
            starts_at: format_time(&starts_at),
            ends_at: m.schedule_ends_at.as_ref().map(format_time),
            starts_input: starts_at.format("%Y-%m-%dT%H:%M").to_string(),
            ends_input: m
                .schedule_ends_at
                .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default(),
            enabled: m.schedule_enabled,
            next_run: m.next_run_at.as_ref().map(format_time),
            last_run: m.last_run_at.as_ref().map(format_time),
        }),
    };
    Ok(MacroView {
        steps: actions
            .iter()
            .map(|a| describe(a, teams))
            .chain(
                hooks
                    .iter()
                    .filter(|(id, _)| *id == m.id)
                    .map(|(_, step)| step.clone()),
            )
            .collect(),
        automation: AutomationView {
            on_submit: m.on_submit,
            on_modify: m.on_modify,
            filter: named(m.automation_filter_id),
        },
        schedule,
        scope: m.scope,
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
        .ok_or_else(|| AppError::NotFound(format!("macro {id}")))
}

async fn filter_names(db: &impl ConnectionTrait) -> Result<Vec<(i32, String)>, AppError> {
    let mut all = super::filters::names(db, SCOPE_USER).await?;
    all.extend(super::filters::names(db, SCOPE_FEEDBACK).await?);
    Ok(all)
}

/// Every macro of `scope` ("user" or "feedback"), by name.
pub async fn list(db: &impl ConnectionTrait, scope: &str) -> Result<Vec<MacroView>, AppError> {
    let teams = crate::server::store::lookups::team_refs(db).await?;
    let filters = filter_names(db).await?;
    let hooks = super::webhooks::steps(db, None).await?;
    macro_def::Entity::find()
        .filter(macro_def::Column::Scope.eq(scope))
        .order_by_asc(macro_def::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|m| view(m, &teams, &filters, &hooks))
        .collect()
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<MacroView, AppError> {
    let teams = crate::server::store::lookups::team_refs(db).await?;
    let filters = filter_names(db).await?;
    let hooks = super::webhooks::steps(db, Some(id)).await?;
    view(find(db, id).await?, &teams, &filters, &hooks)
}

/// A macro of `scope`; a macro of the other scope is an error on `field`.
pub async fn get_in_scope(
    db: &impl ConnectionTrait,
    id: i32,
    scope: &str,
    field: &str,
) -> Result<MacroView, AppError> {
    let m = match get(db, id).await {
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

/// A filter that a macro's automation or schedule uses cannot be deleted.
pub async fn refuse_if_filter_used(db: &impl ConnectionTrait, id: i32) -> Result<(), AppError> {
    let names: Vec<String> = macro_def::Entity::find()
        .select_only()
        .column(macro_def::Column::Name)
        .filter(
            sea_orm::Condition::any()
                .add(macro_def::Column::AutomationFilterId.eq(id))
                .add(macro_def::Column::ScheduleFilterId.eq(id)),
        )
        .order_by_asc(macro_def::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    if names.is_empty() {
        return Ok(());
    }
    Err(super::in_use(
        "macro",
        &names,
        "filter",
        "it guards their automation or picks their schedule's targets; change that first",
    ))
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &MacroForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let teams = crate::server::store::lookups::team_refs(db).await?;
    let scope = match &existing {
        Some(m) => matching::parse_scope(&m.scope),
        None => matching::parse_scope(&form.scope),
    };
    let external = tags::external_tags(db, scope).await?;
    let p = parse_form(form, scope, &teams, &external)?;
    let mut errors = FieldErrors::new();
    for (field, id) in [
        ("automation_filter_id", p.automation_filter_id),
        (
            "schedule_filter_id",
            p.schedule.as_ref().map(|s| s.filter_id),
        ),
    ] {
        if let Some(id) = id
            && let Err(e) = matching::find_in_scope(db, id, scope, field).await
        {
            errors.absorb(e)?;
        }
    }
    errors.into_result()?;
    let mut clash = macro_def::Entity::find().filter(macro_def::Column::Key.eq(p.key.clone()));
    if let Some(m) = &existing {
        clash = clash.filter(macro_def::Column::Id.ne(m.id));
    }
    if clash.count(db).await? > 0 {
        return Err(AppError::field("key", "another macro has this key"));
    }
    let actions = serde_json::to_string(&p.actions).map_err(|e| AppError::internal(e))?;
    let steps: Vec<String> = p.actions.iter().map(|a| describe(a, &teams)).collect();
    let now = Utc::now();
    let last_run = existing.as_ref().and_then(|m| m.last_run_at);
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let mut active = match existing {
        Some(m) => m.into_active_model(),
        None => macro_def::ActiveModel {
            scope: Set(scope.into()),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.on_submit = Set(p.on_submit);
    active.on_modify = Set(p.on_modify);
    active.automation_filter_id = Set(p.automation_filter_id);
    match &p.schedule {
        Some(s) => {
            active.schedule_frequency = Set(s.frequency.clone());
            active.schedule_filter_id = Set(Some(s.filter_id));
            active.schedule_starts_at = Set(Some(s.starts_at));
            active.schedule_ends_at = Set(s.ends_at);
            active.schedule_enabled = Set(s.enabled);
            active.next_run_at = Set(s
                .enabled
                .then(|| {
                    // A one-off that already ran from this start does not run again; moved to
                    // a later start, it does.
                    let ran = last_run.is_some_and(|l| l >= s.starts_at);
                    next_run(&s.frequency, s.starts_at, s.ends_at, now, ran)
                })
                .flatten());
        }
        None => {
            active.schedule_frequency = Set(String::new());
            active.schedule_filter_id = Set(None);
            active.schedule_starts_at = Set(None);
            active.schedule_ends_at = Set(None);
            active.schedule_enabled = Set(false);
            active.next_run_at = Set(None);
        }
    }
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
    audit_trail::record(&txn, actor, "macro.saved", &p.name, &steps.join("; ")).await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(id)
}

#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
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
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let sealed = outbox::cancel_waiting_of_macro(&txn, id).await?;
    macro_def::Entity::delete_by_id(id).exec(&txn).await?;
    audit_trail::record(&txn, actor, "macro.deleted", &existing.name, "").await?;
    txn.commit().await?;
    drop(gate);
    if sealed {
        crate::server::engine::erasure::compact(
            db,
            crate::server::engine::erasure::DELIVERY_TABLES,
        )
        .await;
    }
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
    let m = get_in_scope(db, macro_id, SCOPE_USER, "macro_id").await?;
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
        crate::server::engine::erasure::settle(db, erased).await;
    }
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
    sealer: &Sealer,
    m: &MacroView,
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
    let m = get_in_scope(db, macro_id, SCOPE_FEEDBACK, "macro_id").await?;
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let t = feedback::find(&txn, ticket_id).await?;
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
        trigger: Set(trigger.as_str().into()),
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
    macro_: Option<&MacroView>,
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
    m: &MacroView,
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
    m: &MacroView,
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

    let all_teams = crate::server::store::lookups::team_refs(txn).await?;
    let mut steps = Vec::new();
    let mut erased = None;
    // A removal's webhooks and emails are rendered just before the erasure, while the person
    // is still there to name (telling a CRM to erase the same person needs their email), and
    // queued sealed with who they name (`outbox::queue`).
    let mut sealed: Option<(
        Vec<outbox::Rendered>,
        crate::server::engine::erasure::Identity,
    )> = None;
    for action in &m.actions {
        match action {
            MacroAction::AdjustScore { delta } => {
                super::users::adjust_score(txn, target.id, *delta).await?;
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
                super::users::comment_in(
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
                        crate::server::engine::erasure::Identity::of(txn, &fresh).await?,
                    ));
                }
                erased = Some(crate::server::engine::erasure::erase(txn, target, &label).await?);
                if m.options.include_on_dashboard {
                    let team_names = teams_of(txn, target.id, &all_teams).await?;
                    opt_out_event::ActiveModel {
                        occurred_at: Set(now),
                        macro_id: Set(Some(m.id)),
                        macro_name: Set(m.name.clone()),
                        source: Set(trigger.as_str().into()),
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
        crate::server::engine::erasure::record_receipt(
            txn,
            e,
            &crate::server::engine::erasure::Requested {
                run_id: Some(run),
                macro_id: Some(m.id),
                macro_name: m.name.clone(),
                trigger: trigger.as_str().into(),
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
    m: &MacroView,
    t: &ticket::Model,
    ctx: &RunContext,
) -> Result<RunOutcome, AppError> {
    let feedback_type =
        crate::server::store::lookups::type_definition(txn, t.feedback_type_id).await?;
    let all_teams = crate::server::store::lookups::team_refs(txn).await?;
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
                        feedback::apply_change(
                            txn,
                            actor,
                            &current,
                            &feedback_type,
                            feedback::Change::Status(to.id),
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
                    feedback::apply_change(
                        txn,
                        actor,
                        &current,
                        &feedback_type,
                        feedback::Change::Team(*team_id),
                    )
                    .await?;
                    current.team_id = *team_id;
                    None
                }
            }
            MacroAction::SetVisibility { visibility } => {
                feedback::apply_change(
                    txn,
                    actor,
                    &current,
                    &feedback_type,
                    feedback::Change::Visibility(visibility.clone()),
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
                feedback::comment_in(txn, &current, author.as_ref(), &body, actor).await?;
                None
            }
            MacroAction::AdjustSubmitterScore { delta } => match current.author_user_id {
                None => Some("the submitter was removed".to_string()),
                Some(author) => {
                    super::users::adjust_score(txn, author, *delta).await?;
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
        let fresh = feedback::find(txn, t.id).await?;
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

/// A run started from the ticket page (see `manual_run`).
pub async fn run_on_ticket_manually(
    db: &DatabaseConnection,
    actor: &Actor,
    macro_id: &str,
    ticket_id: &str,
    confirmed: bool,
) -> Result<RunOutcome, AppError> {
    let (macro_id, ticket_id) = manual_run(
        db,
        macro_id,
        ("ticket_id", ticket_id),
        SCOPE_FEEDBACK,
        confirmed,
    )
    .await?;
    execute_on_ticket(db, actor, macro_id, ticket_id, Trigger::Manual).await
}

/// The checks of a run started from a user's or ticket's page: a macro of the page's scope,
/// offered there, and confirmed unless the macro suppresses the confirmation. The macro's and
/// the target's ids.
async fn manual_run(
    db: &DatabaseConnection,
    macro_id: &str,
    (target_field, target_id): (&str, &str),
    scope: &str,
    confirmed: bool,
) -> Result<(i32, i32), AppError> {
    let mut errors = FieldErrors::new();
    let macro_id = errors.check(
        "macro_id",
        parse_id(macro_id).map_err(|_| "choose a macro".to_string()),
    );
    let target_id = errors.check(target_field, parse_id(target_id));
    errors.into_result()?;
    let (macro_id, target_id) = (macro_id.expect("checked"), target_id.expect("checked"));
    let m = get_in_scope(db, macro_id, scope, "macro_id").await?;
    if !m.options.show_in_user_actions {
        return Err(AppError::field(
            "macro_id",
            if scope == SCOPE_FEEDBACK {
                "this macro is not offered on the ticket page"
            } else {
                "this macro is not offered on the user page"
            },
        ));
    }
    if !m.options.suppress_confirmation && !confirmed {
        return Err(AppError::field(
            "confirm",
            "tick the box to confirm the run",
        ));
    }
    Ok((macro_id, target_id))
}

/// Runs on one ticket, newest first.
pub async fn runs_for_ticket(
    db: &impl ConnectionTrait,
    ticket_id: i32,
) -> Result<Vec<MacroRunView>, AppError> {
    runs_where(db, macro_run::Column::TargetTicketId.eq(ticket_id)).await
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
    m: &MacroView,
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
                trigger: Set(ctx.trigger.as_str().into()),
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

/// Runs on one user, newest first.
pub async fn runs_for_user(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<MacroRunView>, AppError> {
    runs_where(db, macro_run::Column::TargetUserId.eq(user_id)).await
}

async fn runs_where(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
) -> Result<Vec<MacroRunView>, AppError> {
    let runs = macro_run::Entity::find()
        .filter(which)
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
            status: r.status.to_string(),
            outcome: r.outcome,
            created_at: format_time(&r.created_at),
        })
        .collect())
}

/// A run started from the user page (see `manual_run`).
pub async fn run_manually(
    db: &DatabaseConnection,
    sealer: &Arc<Sealer>,
    actor: &Actor,
    macro_id: &str,
    user_id: &str,
    confirmed: bool,
) -> Result<RunOutcome, AppError> {
    let (macro_id, user_id) =
        manual_run(db, macro_id, ("user_id", user_id), SCOPE_USER, confirmed).await?;
    execute(db, sealer, actor, macro_id, user_id, Trigger::Manual).await
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
        let p = parse_form(&form, SCOPE_USER, &teams(), &[]).unwrap();
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
        let err = parse_form(&form, SCOPE_USER, &teams(), &[]).unwrap_err();
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
            parse_form(&form, SCOPE_USER, &teams(), &[])
                .unwrap_err()
                .field_message("actions")
                .unwrap()
                .contains("last action")
        );
    }

    #[test]
    fn schedules_run_at_their_occurrences_without_catching_up() {
        use chrono::TimeZone;
        let start = Utc.with_ymd_and_hms(2026, 1, 31, 9, 0, 0).unwrap();
        let at = |y, m, d, h, min| Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap();
        // Before the start: the start. A one-off: the start even once passed, never after a run.
        assert_eq!(
            next_run("daily", start, None, at(2026, 1, 1, 0, 0), false),
            Some(start)
        );
        assert_eq!(
            next_run("once", start, None, at(2026, 3, 1, 0, 0), false),
            Some(start)
        );
        assert_eq!(next_run("once", start, None, start, true), None);
        // Repeating: the first occurrence after now, missed ones skipped.
        assert_eq!(
            next_run("daily", start, None, at(2026, 2, 10, 9, 0), true),
            Some(at(2026, 2, 11, 9, 0))
        );
        assert_eq!(
            next_run("hourly", start, None, at(2026, 1, 31, 11, 30), true),
            Some(at(2026, 1, 31, 12, 0))
        );
        assert_eq!(
            next_run("weekly", start, None, at(2026, 2, 1, 0, 0), true),
            Some(at(2026, 2, 7, 9, 0))
        );
        // Monthly from the 31st: the last day of shorter months, back on the 31st after.
        assert_eq!(
            next_run("monthly", start, None, start, true),
            Some(at(2026, 2, 28, 9, 0))
        );
        assert_eq!(
            next_run("monthly", start, None, at(2026, 2, 28, 9, 0), true),
            Some(at(2026, 3, 31, 9, 0))
        );
        // Past the end date: no next run.
        assert_eq!(
            next_run(
                "daily",
                start,
                Some(at(2026, 2, 2, 0, 0)),
                at(2026, 2, 1, 10, 0),
                true
            ),
            None
        );
    }

    #[test]
    fn feedback_actions_parse_and_user_actions_do_not_belong() {
        let form = MacroForm {
            name: "Triage".into(),
            key: "triage".into(),
            actions: vec![
                row(0, "set_status", "Triaged"),
                row(1, "set_team", "customers"),
                row(2, "set_team", "no team"),
                row(3, "adjust_submitter_score", "-3"),
                row(4, "set_visibility", "PRIVATE"),
            ],
            on_submit: Some("on".into()),
            run_once_per_user: Some("on".into()),
            ..Default::default()
        };
        let p = parse_form(&form, SCOPE_FEEDBACK, &teams(), &[]).unwrap();
        assert_eq!(
            p.actions,
            vec![
                MacroAction::SetStatus {
                    status: "Triaged".into()
                },
                MacroAction::SetTeam { team_id: Some(2) },
                MacroAction::SetTeam { team_id: None },
                MacroAction::AdjustSubmitterScore { delta: -3 },
                MacroAction::SetVisibility {
                    visibility: "private".into()
                },
            ]
        );
        assert!(p.on_submit && !p.options.run_once_per_user);
        let err = parse_form(
            &MacroForm {
                actions: vec![
                    row(0, "remove_user", ""),
                    row(1, "set_visibility", "secret"),
                ],
                ..form.clone()
            },
            SCOPE_FEEDBACK,
            &teams(),
            &[],
        )
        .unwrap_err();
        assert!(
            err.field_message("actions.0")
                .unwrap()
                .contains("not an action of feedback")
        );
        assert!(
            err.field_message("actions.1")
                .unwrap()
                .contains("public or private")
        );
        // A user macro never automates on tickets.
        let p = parse_form(
            &MacroForm {
                actions: vec![row(0, "adjust_score", "1")],
                ..form
            },
            SCOPE_USER,
            &teams(),
            &[],
        )
        .unwrap();
        assert!(!p.on_submit);
    }

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
