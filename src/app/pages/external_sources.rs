//! External sources: the list on a project's page and the editor.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, CopyField, EmptyState, FormAlert, INPUT, LABEL, LINK,
    PageHeader, TABLE, TD, TH, TextField, action_error, field_error, field_sentence, id_param,
    refresh_key, show, textarea_text,
};
use crate::server_fns::feedback::{SaveExternalSource, load_external_source};
use crate::types::{ExternalSourceEditor, ExternalSourceView};

/// The project page's list of sources.
#[component]
pub fn SourceTable(project_id: i32, sources: Vec<ExternalSourceView>) -> impl IntoView {
    view! {
        <section aria-labelledby="sources-heading" class="space-y-3">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 id="sources-heading" class="text-lg font-semibold">"External sources"</h2>
                <a class=BUTTON_SECONDARY href=format!("/projects/{project_id}/sources/new")>"New external source"</a>
            </div>
            {if sources.is_empty() {
                view! { <EmptyState title="No external sources yet." text="An external source is a URL another system (a CRM, a support form …) posts to, to create tickets in this project. Add one with New external source."/> }.into_any()
            } else {
                view! {
                    <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                        <table class=TABLE>
                            <caption class="sr-only">"External sources"</caption>
                            <thead class="bg-slate-50">
                                <tr>
                                    <th scope="col" class=TH>"Source"</th>
                                    <th scope="col" class=TH>"Creates"</th>
                                    <th scope="col" class=TH>"Status"</th>
                                    <th scope="col" class=TH>"URL"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {sources.into_iter().map(|s| view! {
                                    <tr>
                                        <td class=TD><a class=format!("{LINK} font-medium") href=format!("/external-sources/{}", s.id)>{s.name.clone()}</a></td>
                                        <td class=TD>{s.type_name.clone()}</td>
                                        <td class=TD>{if s.enabled { "Enabled" } else { "Disabled" }}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{s.endpoint.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn NewSourcePage() -> impl IntoView {
    let project = id_param();
    let data = Resource::new(
        move || (refresh_key(), project()),
        |(_, p)| load_external_source(Some(p), None),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { show(data.await, |e| view! { <SourcePage editor=e/> }) })}
        </Suspense>
    }
}

#[component]
pub fn ExternalSourcePage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| load_external_source(None, Some(id)),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { show(data.await, |e| view! { <SourcePage editor=e/> }) })}
        </Suspense>
    }
}

#[component]
fn SourcePage(editor: ExternalSourceEditor) -> impl IntoView {
    let title = editor
        .source
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "New external source".into());
    let project = editor.project.clone();
    view! {
        <Title text=title.clone()/>
        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
            <a class=LINK href="/projects">"Projects"</a>
            " / "
            <a class=LINK href=format!("/projects/{}", project.id)>{project.name.clone()}</a>
        </nav>
        <PageHeader title=title/>
        {editor.source.as_ref().map(|s| {
            let curl = format!(
                "curl -X POST '{}' -H 'X-Api-Key: YOUR_API_KEY' -H 'Content-Type: application/json' -d '{{\"Subject\": \"Crash on save\"}}'",
                s.endpoint
            );
            view! {
                <section aria-labelledby="source-url" class=format!("{CARD} mb-6 space-y-3")>
                    <h2 id="source-url" class="text-lg font-semibold">"Endpoint"</h2>
                    <CopyField id="f-source-endpoint" label="URL" value=s.endpoint.clone()/>
                    <CopyField id="f-source-curl" label="Example request" value=curl/>
                    <p class="text-xs text-slate-500">"Answers: 201 created (with ticket_id) · 400 a missing or wrong parameter, named · 401/403 key or signature · 404 unknown source · 429 too many calls. An Idempotency-Key header makes a repeated call get the first answer. Calls appear in the listener log."</p>
                </section>
                <crate::app::pages::test_calls::TestCallPanel id=s.id source=true/>
                <crate::app::pages::listeners::SignedCalls id=s.id scheme=s.signature_scheme.clone() label=s.signature_label.clone() old_until=s.old_secret_until.clone() source=true/>
            }
        })}
        <SourceEditor editor/>
    }
}

#[component]
fn SourceEditor(editor: ExternalSourceEditor) -> impl IntoView {
    let save = ServerAction::<SaveExternalSource>::new();
    let error = action_error(save);
    let s = editor.source.clone();
    let get = |f: fn(&ExternalSourceView) -> String| s.as_ref().map(f).unwrap_or_default();
    let (name, key, status_param, submitter, submitter_param) = (
        get(|s| s.name.clone()),
        get(|s| s.key.clone()),
        get(|s| s.status_param.clone()),
        get(|s| s.submitter.clone()),
        get(|s| s.submitter_param.clone()),
    );
    let mapping = s
        .as_ref()
        .map(|s| s.mapping.clone())
        .unwrap_or_else(|| "title = title\ndescription = description".into());
    let chosen_type = s
        .as_ref()
        .map(|s| s.feedback_type_id)
        .or_else(|| editor.types.first().map(|t| t.id));
    let enabled = s.as_ref().is_none_or(|s| s.enabled);
    let select = move |label: &'static str,
                       field: &'static str,
                       options: Vec<(i32, String)>,
                       current: Option<i32>,
                       none: Option<&'static str>| {
        let err = field_error(error, field);
        let id = format!("f-{field}");
        view! {
            <div>
                <label for=id.clone() class=LABEL>{label}</label>
                <select id=id name=format!("form[{field}]") class=INPUT aria-invalid=move || err.get().is_some().then_some("true")>
                    {none.map(|n| view! { <option value="" selected=current.is_none()>{n}</option> })}
                    {options.into_iter().map(|(i, n)| view! { <option value=i.to_string() selected=current == Some(i)>{n}</option> }).collect_view()}
                </select>
                {move || err.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence(label, &e)}</p> })}
            </div>
        }
    };
    // Statuses and teams of every type of the project, named with their type.
    let mut statuses = Vec::new();
    let mut teams = Vec::new();
    for t in &editor.types {
        statuses.extend(
            t.statuses
                .iter()
                .map(|x| (x.id, format!("{}: {}", t.name, x.name))),
        );
        teams.extend(
            t.teams
                .iter()
                .map(|x| (x.id, format!("{}: {}", t.name, x.name))),
        );
    }
    let types: Vec<(i32, String)> = editor
        .types
        .iter()
        .map(|t| (t.id, t.name.clone()))
        .collect();
    let fields_hint = editor
        .types
        .iter()
        .map(|t| {
            let keys: Vec<String> = t.fields.iter().map(|f| f.key.clone()).collect();
            format!(
                "{}: title, description{}{}",
                t.name,
                if keys.is_empty() { "" } else { ", " },
                keys.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let mapping_error = field_error(error, "mapping");
    view! {
        <ActionForm action=save attr:class=format!("{CARD} space-y-4")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=s.as_ref().map(|s| s.id.to_string()).unwrap_or_default()/>
            <input type="hidden" name="form[project_id]" value=editor.project.id.to_string()/>
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                <TextField label="Name" name="form[name]" value=name required=true autocomplete="off" error=field_error(error, "name")/>
                <TextField label="Key" name="form[key]" value=key required=true autocomplete="off" hint="The last part of the URL, e.g. salesforce." error=field_error(error, "key")/>
                {select("Feedback type", "feedback_type_id", types, chosen_type, None)}
                {select("API key", "api_key_id", editor.api_keys.clone(), s.as_ref().and_then(|s| s.api_key_id), Some("— choose —"))}
            </div>
            <fieldset class="grid grid-cols-1 gap-4 rounded-md border border-slate-200 p-4 sm:grid-cols-2">
                <legend class="px-1 text-sm font-semibold">"Starting point"</legend>
                {select("Team", "team_id", teams, s.as_ref().and_then(|s| s.team_id), Some("No team"))}
                {select("Status", "status_id", statuses, s.as_ref().and_then(|s| s.status_id), Some("The workflow's first"))}
                <TextField label="Status from the body (parameter)" name="form[status_param]" value=status_param autocomplete="off" hint="Optional: a parameter holding a status name, e.g. Stage." error=field_error(error, "status_param")/>
            </fieldset>
            <fieldset class="grid grid-cols-1 gap-4 rounded-md border border-slate-200 p-4 sm:grid-cols-2">
                <legend class="px-1 text-sm font-semibold">"Submitter"</legend>
                <TextField label="Default submitter (email)" name="form[submitter]" value=submitter autocomplete="off" error=field_error(error, "submitter")/>
                <TextField label="Submitter from the body (parameter)" name="form[submitter_param]" value=submitter_param autocomplete="off" hint="Optional: a parameter holding the submitter's email, e.g. ContactEmail." error=field_error(error, "submitter_param")/>
            </fieldset>
            <div>
                <label for="f-mapping" class=LABEL>"Mapping"</label>
                <textarea id="f-mapping" name="form[mapping]" rows="6" class=format!("{INPUT} font-mono")
                    aria-describedby="f-mapping-hint" aria-invalid=move || mapping_error.get().is_some().then_some("true")>{textarea_text(mapping)}</textarea>
                <p id="f-mapping-hint" class="mt-1 text-xs text-slate-500">{format!("One `body parameter = field key` per line; title must be mapped. Field keys: {fields_hint}.")}</p>
                {move || mapping_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Mapping", &e)}</p> })}
            </div>
            <label for="f-source-enabled" class="flex items-center gap-2 text-sm">
                <input id="f-source-enabled" type="checkbox" name="form[enabled]" checked=enabled class="h-4 w-4 rounded border-slate-300"/>
                "Enabled"
            </label>
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=BUTTON>"Save external source"</button>
                <a class=BUTTON_SECONDARY href=format!("/projects/{}", editor.project.id)>"Back to the project"</a>
            </div>
        </ActionForm>
    }
}
