use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_DANGER, BUTTON_SECONDARY, CARD, EmptyState, FormAlert, IfCommunityManager, LINK,
    PageHeader, TABLE, TD, TH, TextField, action_error, capitalise, field_error, refresh_key, show,
};
use crate::server_fns::teams::{DeleteTeam, SaveTeam, list_teams};
use crate::types::TeamView;

/// The list of teams; `?edit=ID` turns the form at the top into that team's editor.
#[component]
pub fn TeamsPage() -> impl IntoView {
    let query = use_query_map();
    let editing = move || query.read().get("edit").and_then(|s| s.parse::<i32>().ok());
    let data = Resource::new(refresh_key, |_| list_teams());
    view! {
        <Title text="Teams"/>
        <PageHeader title="Teams".to_string()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let editing = editing();
                Suspend::new(async move {
                    show(data.await, move |teams| {
                        let current = editing.and_then(|id| teams.iter().find(|t| t.id == id).cloned());
                        view! {
                            <div class="grid grid-cols-1 gap-6 lg:grid-cols-3">
                                <div class="lg:col-span-2">
                                    <TeamTable teams/>
                                </div>
                                <IfCommunityManager>
                                    <TeamEditor team=current.clone()/>
                                </IfCommunityManager>
                            </div>
                        }
                    })
                })
            }}
        </Suspense>
    }
}

#[component]
fn TeamTable(teams: Vec<TeamView>) -> impl IntoView {
    if teams.is_empty() {
        return view! {
            <EmptyState title="No teams yet." text="Teams group people (customers, testers, your own staff) so that filters, macros and feedback types can pick them out.">
                <IfCommunityManager>
                    <a class=BUTTON href="#team-editor">"New team"</a>
                </IfCommunityManager>
            </EmptyState>
        }
        .into_any();
    }
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">"Teams"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Team"</th>
                        <th scope="col" class=TH>"Description"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Members"</th>
                        <th scope="col" class=TH><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {teams.into_iter().map(|t| view! {
                        <tr>
                            <td class=format!("{TD} font-medium")>{t.name.clone()}</td>
                            <td class=TD>{t.description.clone()}</td>
                            <td class=format!("{TD} text-right tabular-nums")>
                                <a class=LINK href=format!("/users?team={}", t.id)>{t.member_count}</a>
                            </td>
                            <td class=format!("{TD} text-right")>
                                <IfCommunityManager>
                                    <a class=LINK href=format!("/teams?edit={}", t.id) aria-label=format!("Edit {}", t.name)>"Edit"</a>
                                </IfCommunityManager>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn TeamEditor(team: Option<TeamView>) -> impl IntoView {
    let save = ServerAction::<SaveTeam>::new();
    let error = action_error(save);
    let heading = match &team {
        Some(t) => format!("Edit {}", t.name),
        None => "New team".to_string(),
    };
    let id = team.as_ref().map(|t| t.id.to_string()).unwrap_or_default();
    let name = team.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    let description = team
        .as_ref()
        .map(|t| t.description.clone())
        .unwrap_or_default();
    let editing = team.is_some();
    view! {
        <section aria-labelledby="team-editor" class=format!("{CARD} h-fit space-y-4")>
            <h2 id="team-editor" class="text-lg font-semibold">{heading}</h2>
            <ActionForm action=save attr:class="space-y-4">
                <FormAlert error/>
                <input type="hidden" name="form[id]" value=id/>
                <TextField label="Name" name="form[name]" value=name required=true autocomplete="off" error=field_error(error, "name")/>
                <TextField label="Description" name="form[description]" value=description autocomplete="off" error=field_error(error, "description")/>
                <div class="flex flex-wrap gap-2">
                    <button type="submit" class=BUTTON>{if editing { "Save team" } else { "Create team" }}</button>
                    {editing.then(|| view! { <a class=BUTTON_SECONDARY href="/teams">"Cancel"</a> })}
                </div>
            </ActionForm>
            {team.map(|t| view! { <DeleteTeamForm id=t.id name=t.name/> })}
        </section>
    }
}

#[component]
fn DeleteTeamForm(id: i32, name: String) -> impl IntoView {
    let action = ServerAction::<DeleteTeam>::new();
    let error = action_error(action);
    view! {
        <ActionForm action=action attr:class="space-y-3 border-t border-slate-200 pt-4">
            <input type="hidden" name="form[id]" value=id.to_string()/>
            <label for="f-team-confirm" class="flex items-center gap-2 text-sm">
                <input id="f-team-confirm" type="checkbox" name="form[confirm]" class="h-4 w-4 rounded border-slate-300"/>
                {format!("Yes, delete the team {name} (its members stay)")}
            </label>
            {move || error.get().map(|e| view! {
                <p role="alert" class="text-sm text-red-700">{capitalise(&e.field_message("confirm").unwrap_or_else(|| e.to_string()))} "."</p>
            })}
            <button type="submit" class=BUTTON_DANGER>"Delete team"</button>
        </ActionForm>
    }
}
