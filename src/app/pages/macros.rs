use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, DangerZone, EmptyState, FormAlert, INPUT, LABEL, LINK,
    PageHeader, TABLE, TD, TH, TextField, action_error, capitalise, field_error, id_param,
    refresh_key, scope_param, show,
};
use crate::app::pages::WebhookFields;
use crate::server_fns::macros::{
    DeleteMacro, SaveMacro, ToggleSchedule, load_macro_form, load_macros,
};
use crate::shared::vocab::{ActionKind, Scope};
use crate::types::{
    MACRO_ACTION_ROWS, MacroAction, MacroFormOptions, MacroView, SCHEDULE_FREQUENCIES,
    WEBHOOK_PRESETS, action_row,
};

/// The webhook preset a "Start from" link chose (`?preset=`), or "".
fn preset_param() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = leptos_router::hooks::use_query_map();
    move || query.read().get("preset").unwrap_or_default()
}

fn frequency_label(key: &str) -> &'static str {
    SCHEDULE_FREQUENCIES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

/// A user macro's automation on user events in words ("When a user is created or a user
/// joins Testers, if they pass New signups"), or nothing.
pub(crate) fn user_automation_line(a: &crate::types::AutomationView) -> Option<String> {
    let mut events = a.user_events();
    let last = events.pop()?;
    let events = match events.is_empty() {
        true => last,
        false => format!("{} or {last}", events.join(", ")),
    };
    Some(format!(
        "When {events}{}",
        a.filter
            .as_ref()
            .map(|(_, n)| format!(", if they pass {n}"))
            .unwrap_or_default()
    ))
}

/// How a macro runs by itself, in words, with the schedule's switch.
#[component]
fn RunsByItself(m: MacroView) -> impl IntoView {
    let mut lines = Vec::new();
    let guarded = |f: &Option<(i32, String)>| {
        f.as_ref()
            .map(|(_, n)| format!(" passing {n}"))
            .unwrap_or_default()
    };
    match (m.automation.on_submit, m.automation.on_modify) {
        (true, true) => lines.push(format!(
            "On submitted and modified tickets{}",
            guarded(&m.automation.filter)
        )),
        (true, false) => lines.push(format!(
            "On submitted tickets{}",
            guarded(&m.automation.filter)
        )),
        (false, true) => lines.push(format!(
            "On modified tickets{}",
            guarded(&m.automation.filter)
        )),
        _ => {}
    }
    lines.extend(user_automation_line(&m.automation));
    let schedule = m.schedule.clone().map(|s| {
        let toggle = ServerAction::<ToggleSchedule>::new();
        let what = format!(
            "{} on {} from {}{}",
            frequency_label(&s.frequency),
            s.filter.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
            s.starts_at,
            s.ends_at.as_ref().map(|e| format!(" until {e}")).unwrap_or_default()
        );
        let next = if s.enabled {
            s.next_run.clone().unwrap_or_else(|| "— (finished)".into())
        } else {
            "— (off)".into()
        };
        let last = s.last_run.clone().unwrap_or_else(|| "never".into());
        view! {
            <div class="space-y-1">
                <p>{what}</p>
                <p class="text-xs text-slate-600">"Next run: " <span data-testid="next-run">{next}</span> " · Last run: " <span data-testid="last-run">{last}</span></p>
                <ActionForm action=toggle attr:class="inline">
                    <input type="hidden" name="form[id]" value=m.id.to_string()/>
                    <input type="hidden" name="form[enabled]" value=if s.enabled { "false" } else { "true" }/>
                    <button type="submit" class="text-xs font-medium text-indigo-700 underline" aria-label=format!("{} the schedule of {}", if s.enabled { "Switch off" } else { "Switch on" }, m.name)>
                        {if s.enabled { "Switch off" } else { "Switch on" }}
                    </button>
                </ActionForm>
            </div>
        }
    });
    let nothing = lines.is_empty() && schedule.is_none();
    view! {
        {lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}
        {schedule}
        {nothing.then(|| view! { <p class="text-slate-500">"Only when asked"</p> })}
    }
}

/// A list of macros; `place`: with the "Where" column (feedback macros).
#[component]
pub fn MacroTable(
    caption: &'static str,
    macros: Vec<MacroView>,
    #[prop(optional)] place: bool,
) -> impl IntoView {
    view! {
        <div class="relative mb-6 overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">{caption}</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Key"</th>
                        {place.then(|| view! { <th scope="col" class=TH>"Where"</th> })}
                        <th scope="col" class=TH>"Actions"</th>
                        <th scope="col" class=TH>"Runs by itself"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {macros.into_iter().map(|m| view! {
                        <tr>
                            <td class=TD>
                                <a class=LINK href=format!("/macros/{}", m.id)>{m.name.clone()}</a>
                                <a class="block text-xs text-slate-600 underline" href=format!("/webhooks/log?macro={}", m.id)>"Webhook log"</a>
                            </td>
                            <td class=format!("{TD} font-mono text-xs")>{m.key.clone()}</td>
                            {place.then(|| view! { <td class=TD>{m.place.label.clone()}</td> })}
                            <td class=TD>
                                <ol class="list-decimal pl-4">{m.steps.clone().into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol>
                            </td>
                            <td class=format!("{TD} text-sm")><RunsByItself m=m.clone()/></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn MacrosPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_macros(String::new()));
    view! {
        <Title text="Macros"/>
        <PageHeader title="Macros".to_string()>
            <a class=BUTTON href="/macros/new">"New user macro"</a>
            <a class=BUTTON_SECONDARY href="/macros/new?scope=feedback">"New feedback macro"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"A macro runs its actions in order on one user or one ticket, all or nothing: from the user or ticket page, from listeners and bulk runs, on a schedule, and by itself: user macros when a user is created, joins or leaves a team; feedback macros when tickets are submitted or modified."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |macros| {
                    let (user, feedback): (Vec<_>, Vec<_>) = macros.into_iter().partition(|m| m.scope != "feedback");
                    view! {
                        <h2 class="mb-2 text-lg font-semibold">"User macros"</h2>
                        {if user.is_empty() {
                            view! {
                                <div class="mb-6">
                                    <EmptyState title="No user macros yet." text="A user macro runs its actions on one person: add them to a team, adjust their score, comment, or remove them completely. Run it from a user's page, a listener, a bulk run or a schedule.">
                                        <a class=BUTTON href="/macros/new">"New user macro"</a>
                                    </EmptyState>
                                </div>
                            }.into_any()
                        } else {
                            view! { <MacroTable caption="User macros" macros=user/> }.into_any()
                        }}
                        <h2 class="mb-2 text-lg font-semibold">"Feedback macros"</h2>
                        {if feedback.is_empty() {
                            view! {
                                <EmptyState title="No feedback macros yet." text="A feedback macro changes one ticket: its status, team or visibility, a comment, the submitter's score. It can run by itself when tickets are submitted or modified.">
                                    <a class=BUTTON href="/macros/new?scope=feedback">"New feedback macro"</a>
                                </EmptyState>
                            }.into_any()
                        } else {
                            view! { <MacroTable caption="Feedback macros" macros=feedback place=true/> }.into_any()
                        }}
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn NewMacroPage() -> impl IntoView {
    let scope = scope_param();
    let preset = preset_param();
    let data = Resource::new(
        move || (refresh_key(), scope(), preset()),
        |(_, scope, preset)| load_macro_form(None, scope, preset),
    );
    let me = crate::app::use_me();
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let may_remove = matches!(me.await, Ok(Some(u)) if u.can_manage_users());
                show(data.await, move |(_, options)| {
                    let title = if options.scope == "feedback" { "New feedback macro" } else { "New user macro" };
                    view! {
                        <Title text=title/>
                        <PageHeader title=title.to_string()/>
                        <MacroEditor current=None options may_remove/>
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn MacroPage() -> impl IntoView {
    let id = id_param();
    let preset = preset_param();
    let data = Resource::new(
        move || (refresh_key(), id(), preset()),
        |(_, id, preset)| load_macro_form(Some(id), String::new(), preset),
    );
    let me = crate::app::use_me();
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                // A macro that removes users is a community manager's to change, run or delete:
                // anyone else sees what it does, without the form, webhooks or delete controls.
                let may_remove = matches!(me.await, Ok(Some(u)) if u.can_manage_users());
                show(data.await, move |(m, options)| {
                    let title = m.as_ref().map(|m| m.name.clone()).unwrap_or_default();
                    let id = m.as_ref().map(|m| m.id).unwrap_or_default();
                    let triggers = m.as_ref().is_some_and(|m| m.trigger_webhooks);
                    if let Some(m) = m.clone().filter(|m| !may_remove && m.actions.contains(&MacroAction::RemoveUser)) {
                        return view! {
                            <Title text=title.clone()/>
                            <PageHeader title=title/>
                            <LockedRemovalMacro m/>
                        }.into_any();
                    }
                    view! {
                        <Title text=title.clone()/>
                        <PageHeader title=title/>
                        {m.as_ref().and_then(|m| user_automation_line(&m.automation)).map(|line| view! {
                            <p class="mb-4 text-sm text-slate-700" data-testid="user-automation">"Runs by itself: " {line} "."</p>
                        })}
                        <MacroEditor current=m options/>
                        <crate::app::pages::MacroWebhooks macro_id=id triggers/>
                        <DangerZone action={ServerAction::<DeleteMacro>::new()} id heading="Delete this macro" confirm_label="Yes, delete this macro (its run history stays)" button="Delete macro"/>
                    }.into_any()
                })
            })}
        </Suspense>
    }
}

/// What a project manager reads where a screen belongs to a macro that removes users: `what`
/// ("This webhook") is a community manager's to change.
#[component]
pub fn RemovalLocked(what: &'static str) -> impl IntoView {
    view! {
        <p role="note" data-testid="removal-locked" class="mb-4 rounded-md border border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900">{format!("{what} belongs to a macro that removes users completely. Only a community manager can change it.")}</p>
    }
}

/// A removal macro as a project manager sees it: what it does, and who may change it.
#[component]
fn LockedRemovalMacro(m: MacroView) -> impl IntoView {
    view! {
        <section aria-labelledby="locked-steps" class=format!("{CARD} space-y-3")>
            <p role="note" class="rounded-md border border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900">"This macro removes users completely. Only a community manager can change, run or delete it."</p>
            {(!m.description.is_empty()).then(|| view! { <p class="text-sm text-slate-700">{m.description.clone()}</p> })}
            <p class="text-sm text-slate-600">"Key: " <code class="font-mono">{m.key.clone()}</code></p>
            <h2 id="locked-steps" class="text-lg font-semibold">"What it does"</h2>
            <ol class="list-decimal space-y-1 pl-5 text-sm">
                {m.steps.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn MacroEditor(
    current: Option<MacroView>,
    options: MacroFormOptions,
    /// Whether the signed-in manager may make a macro that removes users (a community manager).
    #[prop(default = true)]
    may_remove: bool,
) -> impl IntoView {
    let action = ServerAction::<SaveMacro>::new();
    let error = action_error(action);
    let actions_error = field_error(error, "actions");
    let feedback = options.scope == "feedback";
    let teams = options.teams.clone();
    let id = current
        .as_ref()
        .map(|m| m.id.to_string())
        .unwrap_or_default();
    let (name, description, key) = current
        .as_ref()
        .map(|m| (m.name.clone(), m.description.clone(), m.key.clone()))
        .unwrap_or_default();
    let macro_options =
        current
            .as_ref()
            .map(|m| m.options.clone())
            .unwrap_or(crate::types::MacroOptions {
                show_in_user_actions: true,
                ..Default::default()
            });
    let automation = current
        .as_ref()
        .map(|m| m.automation.clone())
        .unwrap_or_default();
    let schedule = current.as_ref().and_then(|m| m.schedule.clone());
    // Removal is its own option below the actions, not a row among them.
    let removes = current
        .as_ref()
        .is_some_and(|m| m.actions.contains(&MacroAction::RemoveUser));
    let rows: Vec<(&'static str, String)> = current
        .as_ref()
        .map(|m| {
            m.actions
                .iter()
                .filter(|a| **a != MacroAction::RemoveUser)
                .map(|a| action_row(a, &teams))
                .collect()
        })
        .unwrap_or_default();
    let kinds = ActionKind::of(if feedback {
        Scope::Feedback
    } else {
        Scope::User
    });
    let value_hint = if feedback {
        "status, team, comment, points or public/private"
    } else {
        "points, team name or comment"
    };
    let checkbox = |name: &'static str, label: &'static str, hint: &'static str, checked: bool| {
        let id = format!("f-{name}");
        view! {
            <div class="flex items-start gap-2">
                <input id=id.clone() type="checkbox" name=format!("form[{name}]") checked=checked class="mt-1 h-4 w-4 rounded border-slate-300"/>
                <label for=id class="text-sm">
                    <span class="font-medium">{label}</span>
                    <span class="block text-slate-500">{hint}</span>
                </label>
            </div>
        }
    };
    let filter_select = move |id: &'static str,
                              name: &'static str,
                              label: &'static str,
                              empty: &'static str,
                              chosen: Option<i32>,
                              err: &'static str| {
        let field_err = field_error(error, err);
        let filters = options.filters.clone();
        view! {
            <div>
                <label for=id class=LABEL>{label}</label>
                <select id=id name=name class=INPUT aria-invalid=move || field_err.get().is_some().then_some("true")>
                    <option value="">{empty}</option>
                    {filters.into_iter().map(|(fid, n)| view! { <option value=fid.to_string() selected=chosen == Some(fid)>{n}</option> }).collect_view()}
                </select>
                {move || field_err.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{capitalise(&e)} "."</p> })}
            </div>
        }
    };
    let frequency = schedule
        .as_ref()
        .map(|s| s.frequency.clone())
        .unwrap_or_default();
    let (starts, ends) = schedule
        .as_ref()
        .map(|s| (s.starts_input.clone(), s.ends_input.clone()))
        .unwrap_or_default();
    let schedule_on = schedule.as_ref().is_none_or(|s| s.enabled);
    let frequency_error = field_error(error, "schedule_frequency");
    let webhook_count = current.as_ref().map(|m| m.webhook_count).unwrap_or(0);
    let triggers = !options.webhook_draft.is_blank()
        || current
            .as_ref()
            .is_some_and(|m| m.trigger_webhooks && m.webhook_count > 0);
    // A refused webhook keeps its fields open, so its errors show (without JavaScript too).
    let webhook_refused = move || {
        matches!(error.get(), Some(crate::errors::AppError::Validation(fields))
            if fields.iter().any(|f| f.field.starts_with("webhook.")))
    };
    let preset_base = match &current {
        Some(m) => format!("/macros/{}?", m.id),
        None => format!("/macros/new?scope={}&", options.scope),
    };
    view! {
        <ActionForm action=action attr:class=format!("{CARD} space-y-5")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=id/>
            <input type="hidden" name="form[scope]" value=options.scope.clone()/>
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-3">
                <TextField label="Name" name="form[name]" value=name required=true autocomplete="off" error=field_error(error, "name")/>
                <TextField label="Key" name="form[key]" value=key required=true autocomplete="off" hint="Letters, digits, - and _; e.g. delete-user." error=field_error(error, "key")/>
                <TextField label="Description" name="form[description]" value=description autocomplete="off" error=field_error(error, "description")/>
            </div>
            {feedback.then(|| view! {
                <div class="max-w-md">
                    <crate::app::pages::automation::WhereSelect choices=options.places.clone() current=current.as_ref().map(|m| m.place.value.clone()) what="macro" error=field_error(error, "place")/>
                </div>
            })}
            <fieldset>
                <legend class="mb-2 text-sm font-semibold">{if feedback { "Actions on the ticket, run in order" } else { "Actions, run in order" }}</legend>
                {move || actions_error.get().map(|e| view! { <p role="alert" class="mb-2 text-sm text-red-700">{capitalise(&e)} "."</p> })}
                {(0..MACRO_ACTION_ROWS).map(|i| {
                    let (kind, value) = rows.get(i).cloned().unwrap_or(("", String::new()));
                    let row_error = field_error(error, format!("actions.{i}"));
                    view! {
                        <div class="mb-2 grid grid-cols-1 gap-2 sm:grid-cols-2">
                            <input type="hidden" name=format!("form[actions][{i}][slot]") value=i.to_string()/>
                            <label class="sr-only" for=format!("f-action-{i}-kind")>{format!("Action {}", i + 1)}</label>
                            <select id=format!("f-action-{i}-kind") name=format!("form[actions][{i}][kind]") class=INPUT aria-invalid=move || row_error.get().is_some().then_some("true")>
                                <option value="" selected=kind.is_empty()>"— no action —"</option>
                                {kinds.iter().filter(|k| **k != ActionKind::RemoveUser).map(|k| view! { <option value=k.as_str() selected=kind == k.as_str()>{k.label()}</option> }).collect_view()}
                            </select>
                            <label class="sr-only" for=format!("f-action-{i}-value")>{format!("Action {} value", i + 1)}</label>
                            <input id=format!("f-action-{i}-value") name=format!("form[actions][{i}][value]") value=value class=INPUT autocomplete="off" placeholder=value_hint/>
                            {move || row_error.get().map(|e| view! { <p class="text-sm text-red-700 sm:col-span-2">{capitalise(&e)} "."</p> })}
                        </div>
                    }
                }).collect_view()}
                {feedback.then(|| view! { <p class="text-xs text-slate-500">"A status is named as in the ticket's workflow (a ticket whose workflow lacks it keeps its status); a team by name, or “no team”."</p> })}
                <details class="mt-2 text-xs text-slate-600">
                    <summary class="cursor-pointer">"Dynamic tags a comment may hold, e.g. Thanks ((user.first_name))"</summary>
                    <ul class="mt-1 grid grid-cols-1 gap-x-4 sm:grid-cols-2">
                        {options.tags.clone().into_iter().map(|(tag, what)| view! {
                            <li><code class="font-mono">{format!("(({tag}))")}</code> " " {what}</li>
                        }).collect_view()}
                    </ul>
                </details>
            </fieldset>
            {if feedback {
                view! {
                    <fieldset class="space-y-3">
                        <legend class="mb-2 text-sm font-semibold">"Options"</legend>
                        {checkbox("show_in_user_actions", "Show on the ticket page", "Offers the macro on each ticket's page.", macro_options.show_in_user_actions)}
                        {checkbox("suppress_confirmation", "Suppress confirmation", "Manual runs need no confirmation box.", macro_options.suppress_confirmation)}
                    </fieldset>
                }.into_any()
            } else {
                // Ticking the option reveals its settings (CSS only: the same without JavaScript).
                view! {
                    <fieldset class="grid grid-cols-[auto_1fr] gap-x-2">
                        <legend class="mb-2 text-sm font-semibold">"Removal"</legend>
                        <input id="f-remove_user" type="checkbox" name="form[remove_user]" checked=removes disabled=!may_remove aria-describedby="f-remove_user-what" class="peer mt-1 h-4 w-4 rounded border-slate-300"/>
                        <label for="f-remove_user" class="text-sm font-medium">"Remove user completely"</label>
                        <p id="f-remove_user-what" class="col-start-2 text-sm text-slate-600">"After the actions above, the person is erased: their account goes with its team memberships, sessions and external data; comments and tickets they wrote stay, signed “Removed user”; every copy of their email and name is cut from the logs and every other record. It cannot be undone."
                            {(!may_remove).then_some(" Only a community manager can make a macro that removes users.")}
                        </p>
                        <div class="col-span-2 mt-3 hidden space-y-3 border-l-2 border-red-200 pl-4 peer-checked:block">
                            {checkbox("include_on_dashboard", "Include removed users on the opt-out dashboard", "Records each removal without personal data.", macro_options.include_on_dashboard)}
                            {checkbox("show_in_user_actions", "Show in user-management actions", "Offers the macro on each user's page.", macro_options.show_in_user_actions)}
                            {checkbox("run_once_per_user", "Only run once per user", "Never again for the same person, even after removal and rejoining.", macro_options.run_once_per_user)}
                            {checkbox("suppress_confirmation", "Suppress confirmation", "Manual runs need no confirmation box.", macro_options.suppress_confirmation)}
                        </div>
                    </fieldset>
                }.into_any()
            }}
            // Ticking Trigger webhooks reveals a webhook's fields (CSS only, as for removal).
            <fieldset class="grid grid-cols-[auto_1fr] gap-x-2">
                <legend class="mb-2 text-sm font-semibold">"Webhooks"</legend>
                <input id="f-trigger_webhooks" type="checkbox" name="form[trigger_webhooks]" checked=move || triggers || webhook_refused() aria-describedby="f-trigger_webhooks-what" class="peer mt-1 h-4 w-4 rounded border-slate-300"/>
                <label for="f-trigger_webhooks" class="text-sm font-medium">"Trigger webhooks"</label>
                <p id="f-trigger_webhooks-what" class="col-start-2 text-sm text-slate-600">{if feedback {
                    "After the actions, each run sends a web request (to Slack, Jira or any address) rendered for its ticket; failed requests are retried and every attempt is logged."
                } else {
                    "After the actions, each run sends a web request (to Slack, Jira or any address) rendered for its user; failed requests are retried and every attempt is logged."
                }}</p>
                <div class="col-span-2 mt-3 hidden min-w-0 space-y-4 border-l-2 border-indigo-200 pl-4 peer-checked:block">
                    {(webhook_count > 0).then(|| view! {
                        <p class="text-sm text-slate-700">{format!("This macro sends {webhook_count} {} (listed under the form). Fill in the fields below to add one more, or leave them empty.", if webhook_count == 1 { "webhook" } else { "webhooks" })}</p>
                    })}
                    <p class="flex flex-wrap items-center gap-2 text-sm">
                        <span class="text-slate-600">"Start from:"</span>
                        {WEBHOOK_PRESETS.iter().map(|(key, label)| view! {
                            <a class=LINK rel="external" href=format!("{preset_base}preset={key}")>{*label}</a>
                        }).collect_view()}
                        // A full load: the fields are drawn anew from the preset.
                        <span class="text-xs text-slate-500">"(reloads the form)"</span>
                    </p>
                    <WebhookFields form=options.webhook_draft.clone() tags=options.tags.clone() groups=options.groups.clone() projects=options.projects.clone() feedback error nested=true/>
                </div>
            </fieldset>
            {feedback.then(|| view! {
                <fieldset class="space-y-3">
                    <legend class="mb-2 text-sm font-semibold">"Automation"</legend>
                    {checkbox("on_submit", "Run when a ticket is submitted", "From the admin form or an external source.", automation.on_submit)}
                    {checkbox("on_modify", "Run when a ticket is modified", "A change of status, team or visibility, a comment, or external data through a listener (not a macro's own changes).", automation.on_modify)}
                    {filter_select("f-automation-filter", "form[automation_filter_id]", "Only on tickets passing", "— every ticket —", automation.filter.as_ref().map(|(i, _)| *i), "automation_filter_id")}
                </fieldset>
            })}
            {(!feedback).then(|| {
                let team_error = field_error(error, "event_team_id");
                let chosen_team = automation.team.as_ref().map(|(i, _)| *i);
                view! {
                    <fieldset class="space-y-3">
                        <legend class="mb-2 text-sm font-semibold">"Automation"</legend>
                        {checkbox("on_user_created", "When a user is created", "On the New user screen, by a CSV import, or as a new administrator.", automation.on_user_created)}
                        {checkbox("on_team_join", "When a user joins a team", "A manager adds them to a team (also when creating them in it); not a macro's own Add to team.", automation.on_team_join)}
                        {checkbox("on_team_leave", "When a user leaves a team", "A manager takes them out of a team; not a macro's own Remove from team, nor deleting the user or the team.", automation.on_team_leave)}
                        <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                            <div>
                                <label for="f-event-team" class=LABEL>"Joining or leaving"</label>
                                <select id="f-event-team" name="form[event_team_id]" class=INPUT aria-invalid=move || team_error.get().is_some().then_some("true")>
                                    <option value="">"— any team —"</option>
                                    {teams.iter().map(|t| view! { <option value=t.id.to_string() selected=chosen_team == Some(t.id)>{t.name.clone()}</option> }).collect_view()}
                                </select>
                                {move || team_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{capitalise(&e)} "."</p> })}
                            </div>
                            {filter_select("f-automation-filter", "form[automation_filter_id]", "Only on users passing", "— every user —", automation.filter.as_ref().map(|(i, _)| *i), "automation_filter_id")}
                        </div>
                        <p class="text-xs text-slate-500">"The filter is checked on the user as the change leaves them (after leaving, for a team they left)."</p>
                    </fieldset>
                }
            })}
            <fieldset class="space-y-3">
                <legend class="mb-2 text-sm font-semibold">"Schedule"</legend>
                <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                    <div>
                        <label for="f-schedule-frequency" class=LABEL>"Runs"</label>
                        <select id="f-schedule-frequency" name="form[schedule_frequency]" class=INPUT aria-invalid=move || frequency_error.get().is_some().then_some("true")>
                            <option value="" selected=frequency.is_empty()>"— not on a schedule —"</option>
                            {SCHEDULE_FREQUENCIES.iter().map(|(k, l)| view! { <option value=*k selected=frequency == *k>{*l}</option> }).collect_view()}
                        </select>
                        {move || frequency_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{capitalise(&e)} "."</p> })}
                    </div>
                    {filter_select("f-schedule-filter", "form[schedule_filter_id]", if feedback { "On the tickets of" } else { "On the users of" }, "— choose a filter —", schedule.as_ref().and_then(|s| s.filter.as_ref().map(|(i, _)| *i)), "schedule_filter_id")}
                    <TextField label="Starts (UTC)" name="form[schedule_starts_at]" kind="datetime-local" value=starts autocomplete="off" error=field_error(error, "schedule_starts_at")/>
                    <TextField label="Ends (UTC, optional)" name="form[schedule_ends_at]" kind="datetime-local" value=ends autocomplete="off" error=field_error(error, "schedule_ends_at")/>
                </div>
                {checkbox("schedule_enabled", "Schedule on", "Switched off, the schedule keeps its settings and does not run.", schedule_on)}
            </fieldset>
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>"Save macro"</button>
                <a class=BUTTON_SECONDARY href="/macros">"Cancel"</a>
            </div>
        </ActionForm>
    }
}
