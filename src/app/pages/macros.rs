use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, DangerZone, FormAlert, INPUT, LINK, PageHeader, TABLE, TD, TH,
    TextField, action_error, capitalise, field_error, id_param, refresh_key, show,
};
use crate::server_fns::macros::{DeleteMacro, SaveMacro, load_macro_form, load_macros};
use crate::types::{MACRO_ACTION_KINDS, MACRO_ACTION_ROWS, MacroAction, MacroView, TeamRef};

#[component]
pub fn MacrosPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_macros());
    view! {
        <Title text="User macros"/>
        <PageHeader title="User macros".to_string()>
            <a class=BUTTON href="/macros/new">"New macro"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"A macro runs its actions in order on one user, all or nothing: from the user page now, and from listeners and bulk runs."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |macros| {
                    if macros.is_empty() {
                        return view! { <p class="rounded-lg border border-dashed border-slate-300 p-6 text-center text-slate-600">"No macros yet."</p> }.into_any();
                    }
                    view! {
                        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
                            <table class=TABLE>
                                <caption class="sr-only">"User macros"</caption>
                                <thead class="bg-slate-50">
                                    <tr>
                                        <th scope="col" class=TH>"Name"</th>
                                        <th scope="col" class=TH>"Key"</th>
                                        <th scope="col" class=TH>"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {macros.into_iter().map(|m| view! {
                                        <tr>
                                            <td class=TD><a class=LINK href=format!("/macros/{}", m.id)>{m.name.clone()}</a></td>
                                            <td class=format!("{TD} font-mono text-xs")>{m.key.clone()}</td>
                                            <td class=TD>
                                                <ol class="list-decimal pl-4">{m.steps.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ol>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn NewMacroPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_macro_form(None));
    view! {
        <Title text="New macro"/>
        <PageHeader title="New user macro".to_string()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { show(data.await, |(_, teams)| view! { <MacroEditor current=None teams/> }) })}
        </Suspense>
    }
}

#[component]
pub fn MacroPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| load_macro_form(Some(id)),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |(m, teams)| {
                    let title = m.as_ref().map(|m| m.name.clone()).unwrap_or_default();
                    let id = m.as_ref().map(|m| m.id).unwrap_or_default();
                    view! {
                        <Title text=title.clone()/>
                        <PageHeader title=title/>
                        <MacroEditor current=m teams/>
                        <DangerZone action={ServerAction::<DeleteMacro>::new()} id heading="Delete this macro" confirm_label="Yes, delete this macro (its run history stays)" button="Delete macro"/>
                    }
                })
            })}
        </Suspense>
    }
}

fn action_row(action: &MacroAction, teams: &[TeamRef]) -> (&'static str, String) {
    let team = |id: &i32| {
        teams
            .iter()
            .find(|t| t.id == *id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    match action {
        MacroAction::RemoveUser => ("remove_user", String::new()),
        MacroAction::AdjustScore { delta } => ("adjust_score", delta.to_string()),
        MacroAction::AddToTeam { team_id } => ("add_to_team", team(team_id)),
        MacroAction::RemoveFromTeam { team_id } => ("remove_from_team", team(team_id)),
        MacroAction::AddComment { text } => ("add_comment", text.clone()),
    }
}

#[component]
fn MacroEditor(current: Option<MacroView>, teams: Vec<TeamRef>) -> impl IntoView {
    let action = ServerAction::<SaveMacro>::new();
    let error = action_error(action);
    let actions_error = field_error(error, "actions");
    let id = current
        .as_ref()
        .map(|m| m.id.to_string())
        .unwrap_or_default();
    let (name, description, key) = current
        .as_ref()
        .map(|m| (m.name.clone(), m.description.clone(), m.key.clone()))
        .unwrap_or_default();
    let options =
        current
            .as_ref()
            .map(|m| m.options.clone())
            .unwrap_or(crate::types::MacroOptions {
                show_in_user_actions: true,
                ..Default::default()
            });
    let rows: Vec<(&'static str, String)> = current
        .as_ref()
        .map(|m| m.actions.iter().map(|a| action_row(a, &teams)).collect())
        .unwrap_or_default();
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
    view! {
        <ActionForm action=action attr:class=format!("{CARD} space-y-5")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=id/>
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-3">
                <TextField label="Name" name="form[name]" value=name required=true autocomplete="off" error=field_error(error, "name")/>
                <TextField label="Key" name="form[key]" value=key required=true autocomplete="off" hint="Letters, digits, - and _; e.g. delete-user." error=field_error(error, "key")/>
                <TextField label="Description" name="form[description]" value=description autocomplete="off" error=field_error(error, "description")/>
            </div>
            <fieldset>
                <legend class="mb-2 text-sm font-semibold">"Actions, run in order"</legend>
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
                                {MACRO_ACTION_KINDS.iter().map(|(k, l)| view! { <option value=*k selected=kind == *k>{*l}</option> }).collect_view()}
                            </select>
                            <label class="sr-only" for=format!("f-action-{i}-value")>{format!("Action {} value", i + 1)}</label>
                            <input id=format!("f-action-{i}-value") name=format!("form[actions][{i}][value]") value=value class=INPUT autocomplete="off" placeholder="points, team name or comment"/>
                            {move || row_error.get().map(|e| view! { <p class="text-sm text-red-700 sm:col-span-2">{capitalise(&e)} "."</p> })}
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <fieldset class="space-y-3">
                <legend class="mb-2 text-sm font-semibold">"Options"</legend>
                {checkbox("include_on_dashboard", "Include removed users on the opt-out dashboard", "Records each removal without personal data.", options.include_on_dashboard)}
                {checkbox("show_in_user_actions", "Show in user-management actions", "Offers the macro on each user's page.", options.show_in_user_actions)}
                {checkbox("run_once_per_user", "Only run once per user", "Never again for the same person, even after removal and rejoining.", options.run_once_per_user)}
                {checkbox("suppress_confirmation", "Suppress confirmation", "Manual runs need no confirmation box.", options.suppress_confirmation)}
            </fieldset>
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=BUTTON>"Save macro"</button>
                <a class=BUTTON_SECONDARY href="/macros">"Cancel"</a>
            </div>
        </ActionForm>
    }
}
