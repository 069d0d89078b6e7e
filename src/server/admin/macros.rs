//! Macros on the screens: the macro form (actions, options, automation, schedule), the list
//! and detail views, switching a schedule on or off, the runs started from a user's or
//! ticket's page and the runs they list. The runs themselves are `engine::runs`.

use crate::server::engine::matching;
use crate::server::engine::outbox;
use crate::server::engine::tags;
use crate::server::store::audit_trail;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TryIntoModel,
};
use std::sync::Arc;

use super::{Actor, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::macros::{describe, next_run};
use crate::server::domain::parse_id;
use crate::server::engine::matching::{SCOPE_FEEDBACK, SCOPE_USER};
use crate::server::engine::runs::{self, RunOutcome, macro_in_scope};
use crate::server::entities::{macro_def, macro_run};
use crate::server::secrets::Sealer;
use crate::types::{
    AutomationView, MACRO_ACTION_ROWS, MacroAction, MacroForm, MacroFormOptions, MacroOptions,
    MacroRunView, MacroView, SCHEDULE_FREQUENCIES, ScheduleView, TeamRef, WebhookForm,
};

use crate::server::engine::matching::scope_of;
use crate::shared::vocab::{ActionKind, Trigger, WebhookKind};

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
    user_events: UserEvents,
    schedule: Option<ParsedSchedule>,
}

/// A user macro's automation on user events (all off for a feedback macro).
#[derive(Debug, Default, PartialEq)]
struct UserEvents {
    on_user_created: bool,
    on_team_join: bool,
    on_team_leave: bool,
    /// Only joining or leaving this team counts (kept only while one of them is ticked).
    team_id: Option<i32>,
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
        let kind = match row.kind.trim() {
            "" => continue,
            key => match ActionKind::parse(key) {
                Some(k) if k.scope() == scope_of(scope) => k,
                _ => {
                    errors.push(
                        &field,
                        format!(
                            "\"{key}\" is not an action of {} macros",
                            if scope == SCOPE_FEEDBACK {
                                "feedback"
                            } else {
                                "user"
                            }
                        ),
                    );
                    continue;
                }
            },
        };
        let delta = |v: &str| {
            v.parse::<i32>()
                .ok()
                .filter(|d| *d != 0)
                .ok_or_else(|| format!("a whole number other than 0, e.g. 5 or -5, not \"{v}\""))
        };
        let parsed = match kind {
            ActionKind::RemoveUser => Ok(MacroAction::RemoveUser),
            ActionKind::AdjustScore => delta(value).map(|delta| MacroAction::AdjustScore { delta }),
            ActionKind::AddToTeam => team(value).map(|team_id| MacroAction::AddToTeam { team_id }),
            ActionKind::RemoveFromTeam => {
                team(value).map(|team_id| MacroAction::RemoveFromTeam { team_id })
            }
            ActionKind::AddComment if value.is_empty() => Err("the comment needs text".into()),
            ActionKind::AddComment if value.chars().count() > 5000 => {
                Err("the comment must be at most 5000 characters".into())
            }
            ActionKind::AddComment => {
                tags::check(value, scope, external).map(|_| MacroAction::AddComment {
                    text: value.to_string(),
                })
            }
            ActionKind::SetStatus if value.is_empty() => Err("name the status, e.g. Closed".into()),
            ActionKind::SetStatus if value.chars().count() > 60 => {
                Err("the status must be at most 60 characters".into())
            }
            ActionKind::SetStatus => Ok(MacroAction::SetStatus {
                status: value.to_string(),
            }),
            ActionKind::SetTeam if value.is_empty() || value.eq_ignore_ascii_case("no team") => {
                Ok(MacroAction::SetTeam { team_id: None })
            }
            ActionKind::SetTeam => team(value).map(|id| MacroAction::SetTeam { team_id: Some(id) }),
            ActionKind::AddTicketComment if value.is_empty() => {
                Err("the comment needs text".into())
            }
            ActionKind::AddTicketComment if value.chars().count() > 5000 => {
                Err("the comment must be at most 5000 characters".into())
            }
            ActionKind::AddTicketComment => crate::server::domain::check_storable(value)
                .and_then(|_| tags::check(value, scope, external))
                .map(|_| MacroAction::AddTicketComment {
                    text: value.to_string(),
                }),
            ActionKind::AdjustSubmitterScore => {
                delta(value).map(|delta| MacroAction::AdjustSubmitterScore { delta })
            }
            ActionKind::SetVisibility => match value.to_ascii_lowercase().as_str() {
                v @ ("public" | "private") => Ok(MacroAction::SetVisibility {
                    visibility: v.to_string(),
                }),
                _ => Err(format!("public or private, not \"{value}\"")),
            },
        };
        match parsed {
            Ok(a) => actions.push(a),
            Err(m) => errors.push(&field, m),
        }
    }
    if form.remove_user.is_some() {
        if scope == SCOPE_FEEDBACK {
            errors.push("remove_user", "only a user macro removes a user");
        } else if actions.last() != Some(&MacroAction::RemoveUser) {
            actions.push(MacroAction::RemoveUser);
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
    let automation_filter_id = errors
        .check(
            "automation_filter_id",
            optional_id(&form.automation_filter_id),
        )
        .flatten();
    let user_events = if feedback_macro {
        UserEvents::default()
    } else {
        let on_team_join = form.on_team_join.is_some();
        let on_team_leave = form.on_team_leave.is_some();
        let team_id = errors
            .check(
                "event_team_id",
                optional_id(&form.event_team_id).and_then(|id| match id {
                    Some(id) if !teams.iter().any(|t| t.id == id) => {
                        Err(format!("team {id} does not exist"))
                    }
                    id => Ok(id),
                }),
            )
            .flatten()
            .filter(|_| on_team_join || on_team_leave);
        UserEvents {
            on_user_created: form.on_user_created.is_some(),
            on_team_join,
            on_team_leave,
            team_id,
        }
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
    // Only a removal is counted on the dashboard (the option is shown only for one).
    let include_on_dashboard =
        actions.contains(&MacroAction::RemoveUser) && form.include_on_dashboard.is_some();
    Ok(ParsedMacro {
        name: name.to_string(),
        description: form.description.trim().to_string(),
        key: key.expect("checked"),
        actions,
        options: MacroOptions {
            include_on_dashboard,
            show_in_user_actions: form.show_in_user_actions.is_some(),
            run_once_per_user: !feedback_macro && form.run_once_per_user.is_some(),
            suppress_confirmation: form.suppress_confirmation.is_some(),
        },
        on_submit: feedback_macro && form.on_submit.is_some(),
        on_modify: feedback_macro && form.on_modify.is_some(),
        automation_filter_id,
        user_events,
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
    places: &super::places::Places,
) -> Result<MacroView, AppError> {
    // The runnable part (actions, options) is read as a run reads it.
    let runnable = crate::server::store::lookups::macro_of(&m)?;
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
    let own_hooks: Vec<&String> = hooks
        .iter()
        .filter(|(id, _)| *id == m.id)
        .map(|(_, step)| step)
        .collect();
    let webhook_count = own_hooks.len();
    Ok(MacroView {
        steps: runnable
            .actions
            .iter()
            .map(|a| describe(a, teams))
            .chain(own_hooks.into_iter().map(|step| {
                if m.trigger_webhooks {
                    step.clone()
                } else {
                    format!("{step} (not sent: Trigger webhooks is unticked)")
                }
            }))
            .collect(),
        trigger_webhooks: m.trigger_webhooks,
        webhook_count,
        automation: AutomationView {
            on_submit: m.on_submit,
            on_modify: m.on_modify,
            filter: named(m.automation_filter_id),
            on_user_created: m.on_user_created,
            on_team_join: m.on_team_join,
            on_team_leave: m.on_team_leave,
            team: m.event_team_id.map(|id| {
                teams
                    .iter()
                    .find(|t| t.id == id)
                    .map(|t| (id, t.name.clone()))
                    .unwrap_or((id, "(deleted team)".into()))
            }),
        },
        schedule,
        place: if m.scope.as_str() == SCOPE_FEEDBACK {
            places.view(m.place_project_id, m.place_type_id)
        } else {
            Default::default()
        },
        scope: m.scope.to_string(),
        id: m.id,
        name: m.name,
        description: m.description,
        key: m.key,
        actions: runnable.actions,
        options: runnable.options,
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

/// What the macro editor offers for `scope`: teams, filters, tags, the data groups a
/// webhook's answer can be captured into, and the webhook fields' starting values (the
/// preset `preset`'s, or empty).
pub async fn form_options(
    db: &impl ConnectionTrait,
    scope: &str,
    preset: &str,
) -> Result<MacroFormOptions, AppError> {
    Ok(MacroFormOptions {
        scope: scope.to_string(),
        teams: crate::server::store::lookups::team_refs(db).await?,
        filters: super::filters::names(db, scope).await?,
        tags: tags::offered(db, scope).await?,
        groups: super::webhooks::group_names(db, scope).await?,
        projects: super::webhooks::project_names(db).await?,
        webhook_draft: if preset.is_empty() {
            WebhookForm::default()
        } else {
            super::webhooks::preset(preset, scope)
        },
        places: if scope == SCOPE_FEEDBACK {
            super::places::load(db).await?.choices()
        } else {
            Vec::new()
        },
    })
}

/// Every macro of `scope` ("user" or "feedback"), by name.
pub async fn list(db: &impl ConnectionTrait, scope: &str) -> Result<Vec<MacroView>, AppError> {
    let teams = crate::server::store::lookups::team_refs(db).await?;
    let filters = filter_names(db).await?;
    let hooks = super::webhooks::steps(db, None).await?;
    let places = super::places::load(db).await?;
    macro_def::Entity::find()
        .filter(macro_def::Column::Scope.eq(scope))
        .order_by_asc(macro_def::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|m| view(m, &teams, &filters, &hooks, &places))
        .collect()
}

/// The macros of a scope that `actor` may run (a removal only for those who may use one).
pub async fn offered_to(
    db: &impl ConnectionTrait,
    actor: &Actor,
    scope: &str,
) -> Result<Vec<MacroView>, AppError> {
    let mut macros = list(db, scope).await?;
    if !super::may_use_removals(actor) {
        macros.retain(|m| !m.actions.contains(&MacroAction::RemoveUser));
    }
    Ok(macros)
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<MacroView, AppError> {
    let teams = crate::server::store::lookups::team_refs(db).await?;
    let filters = filter_names(db).await?;
    let hooks = super::webhooks::steps(db, Some(id)).await?;
    let places = super::places::load(db).await?;
    view(find(db, id).await?, &teams, &filters, &hooks, &places)
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

#[tracing::instrument(skip(db, sealer, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save(
    db: &DatabaseConnection,
    sealer: &Sealer,
    actor: &Actor,
    form: &MacroForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let teams = crate::server::store::lookups::team_refs(db).await?;
    let scope = match &existing {
        Some(m) => matching::parse_scope(m.scope.as_str()),
        None => matching::parse_scope(&form.scope),
    };
    if let Some(m) = &existing {
        super::refuse_removal_to_project_managers(
            actor,
            crate::server::store::lookups::macro_of(m)?.removes(),
        )?;
    }
    let external = tags::external_tags(db, scope).await?;
    let p = parse_form(form, scope, &teams, &external)?;
    super::refuse_removal_to_project_managers(actor, p.actions.contains(&MacroAction::RemoveUser))?;
    let mut errors = FieldErrors::new();
    // Where a feedback macro runs: every project, a project, or one of its feedback types.
    let place = if scope == SCOPE_FEEDBACK {
        super::places::check(db, &form.place, "place", &mut errors).await?
    } else {
        Default::default()
    };
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
    // Trigger webhooks: a webhook filled in beside the macro is checked with it and saved in
    // the same transaction. A macro that already has webhooks may leave the fields empty.
    let trigger_webhooks = form.trigger_webhooks.is_some();
    let has_webhooks = match &existing {
        Some(m) => super::webhooks::count_of_macro(db, m.id).await? > 0,
        None => false,
    };
    let webhook = match trigger_webhooks && !(has_webhooks && form.webhook.is_blank()) {
        true => match super::webhooks::check(
            db,
            scope,
            None,
            &WebhookForm {
                kind: WebhookKind::Http.to_string(),
                ..form.webhook.clone()
            },
        )
        .await
        {
            Ok(checked) => Some(checked),
            Err(e) => {
                errors.absorb(e.prefixed("webhook"))?;
                None
            }
        },
        false => None,
    };
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
            scope: Set(matching::scope_of(scope)),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.place_project_id = Set(place.project_id);
    active.place_type_id = Set(place.type_id);
    active.on_submit = Set(p.on_submit);
    active.on_modify = Set(p.on_modify);
    active.automation_filter_id = Set(p.automation_filter_id);
    active.on_user_created = Set(p.user_events.on_user_created);
    active.on_team_join = Set(p.user_events.on_team_join);
    active.on_team_leave = Set(p.user_events.on_team_leave);
    active.event_team_id = Set(p.user_events.team_id);
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
    active.trigger_webhooks = Set(trigger_webhooks);
    active.updated_at = Set(now);
    let saved = active.save(&txn).await?.try_into_model()?;
    audit_trail::record(&txn, actor, "macro.saved", &p.name, &steps.join("; ")).await?;
    if let Some(checked) = webhook {
        super::webhooks::write(&txn, sealer, actor, &saved, None, checked)
            .await
            .map_err(|e| e.prefixed("webhook"))?;
    }
    let id = saved.id;
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
    super::refuse_removal_to_project_managers(
        actor,
        crate::server::store::lookups::macro_of(&existing)?.removes(),
    )?;
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
    super::refuse_removal_to_project_managers(
        actor,
        crate::server::store::lookups::macro_of(&m)?.removes(),
    )?;
    let Some(start) = m.schedule_starts_at else {
        return Err(AppError::field("id", "this macro has no schedule"));
    };
    let now = Utc::now();
    let next = enabled
        .then(|| {
            next_run(
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
    runs::execute_on_ticket(db, actor, macro_id, ticket_id, Trigger::Manual).await
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
    let m = macro_in_scope(db, macro_id, scope, "macro_id").await?;
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
            trigger: r.trigger.to_string(),
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
    super::refuse_removal_to_project_managers(actor, super::macro_removes(db, macro_id).await?)?;
    runs::execute(db, sealer, actor, macro_id, user_id, Trigger::Manual).await
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
    fn the_removal_option_comes_after_the_actions_once_and_only_on_users() {
        let form = MacroForm {
            name: "Forget".into(),
            key: "forget".into(),
            actions: vec![row(0, "add_comment", "bye")],
            remove_user: Some("on".into()),
            ..Default::default()
        };
        let p = parse_form(&form, SCOPE_USER, &teams(), &[]).unwrap();
        assert_eq!(
            p.actions,
            vec![
                MacroAction::AddComment { text: "bye".into() },
                MacroAction::RemoveUser
            ]
        );
        // Alone it is an action enough; a removal row as well is one removal.
        for actions in [vec![], vec![row(0, "remove_user", "")]] {
            let p = parse_form(
                &MacroForm {
                    actions,
                    ..form.clone()
                },
                SCOPE_USER,
                &teams(),
                &[],
            )
            .unwrap();
            assert_eq!(p.actions, vec![MacroAction::RemoveUser]);
        }
        let err = parse_form(&form, SCOPE_FEEDBACK, &teams(), &[]).unwrap_err();
        assert!(err.field_message("remove_user").is_some(), "{err:?}");
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
    fn user_events_are_for_user_macros_and_name_a_known_team() {
        let form = MacroForm {
            name: "Greet".into(),
            key: "greet".into(),
            actions: vec![row(0, "adjust_score", "1")],
            on_user_created: Some("on".into()),
            on_team_leave: Some("on".into()),
            event_team_id: "2".into(),
            automation_filter_id: "7".into(),
            ..Default::default()
        };
        let p = parse_form(&form, SCOPE_USER, &teams(), &[]).unwrap();
        assert_eq!(
            p.user_events,
            UserEvents {
                on_user_created: true,
                on_team_join: false,
                on_team_leave: true,
                team_id: Some(2),
            }
        );
        assert_eq!(p.automation_filter_id, Some(7));
        // Without joining or leaving, the team is not kept.
        let p = parse_form(
            &MacroForm {
                on_team_leave: None,
                ..form.clone()
            },
            SCOPE_USER,
            &teams(),
            &[],
        )
        .unwrap();
        assert_eq!(p.user_events.team_id, None);
        let err = parse_form(
            &MacroForm {
                event_team_id: "9".into(),
                ..form.clone()
            },
            SCOPE_USER,
            &teams(),
            &[],
        )
        .unwrap_err();
        assert!(
            err.field_message("event_team_id")
                .unwrap()
                .contains("does not exist")
        );
        // A feedback macro has no user events.
        let p = parse_form(
            &MacroForm {
                actions: vec![row(0, "set_status", "Closed")],
                ..form
            },
            SCOPE_FEEDBACK,
            &teams(),
            &[],
        )
        .unwrap();
        assert_eq!(p.user_events, UserEvents::default());
    }
}
