//! Configuration as code: export the integration set-up as a file, and import one with a
//! preview first.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, CommunityManagersOnly, FormAlert, INPUT, LABEL, LINK,
    PageHeader, TABLE, TD, TH, action_error, capitalise, field_error, field_sentence, id_param,
    refresh_key, show,
};
use crate::server_fns::config_transfer::{
    ApplyConfigImport, load_config_import, load_config_overview,
};
use crate::types::{ConfigImportView, ConfigOutcome, ConfigOverview, ConfigPlan};

/// `/configuration`: the export download, the import upload (a plain multipart form to an
/// axum route, which redirects to the preview), and the latest imports.
#[component]
pub fn ConfigurationPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    let data = Resource::new(refresh_key, |_| load_config_overview());
    view! {
        <Title text="Configuration"/>
        <PageHeader title="Configuration".to_string()/>
        <CommunityManagersOnly>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |o| view! { <Overview o error=error()/> })
            })}
        </Suspense>
        </CommunityManagersOnly>
    }
}

#[component]
fn Overview(o: ConfigOverview, error: Option<String>) -> impl IntoView {
    let held = o
        .counts
        .iter()
        .map(|(what, n)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <div class="grid gap-6 lg:grid-cols-2">
            <section aria-labelledby="export-heading" class=format!("{CARD} space-y-3")>
                <h2 id="export-heading" class="text-lg font-semibold">"Export"</h2>
                <p class="text-sm text-slate-700">
                    "One JSON file with the integration set-up: external-data groups, filters, macros with their webhooks, listeners and external sources. Things are named, never numbered, so the file can be imported into another installation (from staging to production, say) and kept under version control."
                </p>
                <p class="text-sm text-slate-700">
                    "No API key, signing secret or secret header value is written to it. Users, teams, projects and tickets are not part of it: the installation it goes to needs the teams and projects it names."
                </p>
                <p class="text-sm font-medium" data-testid="export-counts">{format!("Now: {held}.")}</p>
                <a class=BUTTON href="/configuration.json" download="">"Download the configuration"</a>
            </section>
            <section aria-labelledby="import-heading" class=format!("{CARD} space-y-3")>
                <h2 id="import-heading" class="text-lg font-semibold">"Import"</h2>
                <p class="text-sm text-slate-700">
                    "Choose a configuration file. You see what it would create and change here before anything is applied; nothing is deleted."
                </p>
                {error.map(|e| view! {
                    <div role="alert" class="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900 break-words">{capitalise(&e)} "."</div>
                })}
                <form method="post" action="/configuration/upload" enctype="multipart/form-data" class="space-y-3">
                    <div>
                        <label for="f-config-file" class=LABEL>"Configuration file"</label>
                        <input id="f-config-file" name="file" type="file" accept=".json,application/json" required=true class=INPUT/>
                    </div>
                    <button type="submit" class=BUTTON>"Preview the import"</button>
                </form>
            </section>
        </div>
        {(!o.imports.is_empty()).then(|| view! {
            <div class="relative mt-6 overflow-x-auto rounded-lg border border-slate-200 bg-white">
                <table class=TABLE>
                    <caption class="px-3 py-2 text-left font-semibold">"Latest imports"</caption>
                    <thead class="bg-slate-50">
                        <tr>
                            <th scope="col" class=TH>"File"</th>
                            <th scope="col" class=TH>"Uploaded"</th>
                            <th scope="col" class=TH>"By"</th>
                            <th scope="col" class=TH>"Status"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {o.imports.into_iter().map(|i| view! {
                            <tr>
                                <td class=format!("{TD} break-all")><a class=LINK href=format!("/configuration/imports/{}", i.id)>{i.file_name}</a></td>
                                <td class=format!("{TD} whitespace-nowrap")>{i.created_at}</td>
                                <td class=format!("{TD} break-all")>{i.created_by}</td>
                                <td class=TD>{status_word(&i.status)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
    }
}

fn status_word(status: &str) -> &'static str {
    match status {
        "pending" => "waiting for confirmation",
        "applying" => "being applied",
        "applied" => "applied",
        "failed" => "stopped",
        _ => "unknown",
    }
}

/// `/configuration/imports/:id`: an uploaded file's preview and its confirmation, or what
/// importing it did.
#[component]
pub fn ConfigImportPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| load_config_import(id),
    );
    view! {
        <Title text="Import a configuration"/>
        <CommunityManagersOnly>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |v| view! { <ImportView v/> })
            })}
        </Suspense>
        </CommunityManagersOnly>
    }
}

#[component]
fn ImportView(v: ConfigImportView) -> impl IntoView {
    let title = format!("Import {}", v.file_name);
    let intro = format!("Uploaded {} by {}.", v.created_at, v.created_by);
    let body = match (v.plan.clone(), v.outcome.clone()) {
        (Some(plan), _) => view! { <Preview plan id=v.id api_keys=v.api_keys.clone()/> }.into_any(),
        (None, Some(outcome)) => view! { <Outcome outcome/> }.into_any(),
        (None, None) => view! {
            <p role="status" class="text-sm">"This import is being applied. Reload the page in a moment."</p>
        }
        .into_any(),
    };
    view! {
        <PageHeader title>
            <a class=BUTTON_SECONDARY href="/configuration">"Configuration"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">{intro}</p>
        {body}
    }
}

#[component]
fn Preview(plan: ConfigPlan, id: i32, api_keys: Vec<(i32, String)>) -> impl IntoView {
    let action = ServerAction::<ApplyConfigImport>::new();
    let error = action_error(action);
    let key_error = field_error(error, "api_key_id");
    let left_out = match plan.count("left out") {
        0 => String::new(),
        n => format!(
            " {n} webhook{} cannot come along.",
            if n == 1 { "" } else { "s" }
        ),
    };
    let summary = format!(
        "Importing this file would create {}, update {} and leave {} as they are.{left_out}",
        plan.count("create"),
        plan.count("update"),
        plan.count("unchanged")
    );
    let blocked = !plan.errors.is_empty();
    let needs_key = plan.needs_api_key;
    let fingerprint = plan.fingerprint.clone();
    let has_keys = !api_keys.is_empty();
    view! {
        <section aria-labelledby="preview-heading" class=format!("{CARD} space-y-4")>
            <h2 id="preview-heading" class="text-lg font-semibold">"Preview"</h2>
            <p role="status" class="text-sm" data-testid="plan-summary">{summary}</p>
            {blocked.then(|| view! {
                <div role="alert" class="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900">
                    <p class="font-semibold">"This file cannot be imported here:"</p>
                    <ul class="mt-1 list-disc space-y-1 pl-5 break-words">
                        {plan.errors.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}
                    </ul>
                </div>
            })}
            <PlanTable plan=plan.clone()/>
            {(!plan.warnings.is_empty()).then(|| view! {
                <div class="rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-950">
                    <p class="font-semibold">"Good to know"</p>
                    <ul class="mt-1 list-disc space-y-1 pl-5 break-words">
                        {plan.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                    </ul>
                </div>
            })}
            {(!blocked).then(|| view! {
                <ActionForm action=action attr:class="space-y-3">
                    <FormAlert error/>
                    <input type="hidden" name="form[id]" value=id.to_string()/>
                    <input type="hidden" name="form[fingerprint]" value=fingerprint.clone()/>
                    {needs_key.then(|| view! {
                        <div>
                            <label for="f-import-key" class=LABEL>"API key for the new listeners and sources"</label>
                            <select id="f-import-key" name="form[api_key_id]" class=INPUT required=true
                                aria-invalid=move || key_error.get().is_some().to_string()>
                                <option value="">"Choose…"</option>
                                {api_keys.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view()}
                            </select>
                            {(!has_keys).then(|| view! {
                                <p class="mt-1 text-sm text-slate-600">"There is no API key yet: " <a class=LINK href="/api-keys/new">"create one"</a> ", then come back."</p>
                            })}
                            {move || key_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("API key", &e)}</p> })}
                        </div>
                    })}
                    <button type="submit" class=BUTTON>"Apply the import"</button>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn PlanTable(plan: ConfigPlan) -> impl IntoView {
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200">
            <table class=TABLE>
                <caption class="sr-only">"What the import does"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"What"</th>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Import"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {plan.lines.into_iter().map(|l| {
                        let what = match l.action.as_str() {
                            "create" => "create".to_string(),
                            "update" => format!("update: {}", l.changes.join(", ")),
                            "left out" => "left out".to_string(),
                            _ => "unchanged".to_string(),
                        };
                        let tone = match l.action.as_str() {
                            "create" => "text-emerald-800 font-medium",
                            "update" | "left out" => "text-amber-900 font-medium",
                            _ => "text-slate-500",
                        };
                        view! {
                            <tr>
                                <td class=format!("{TD} whitespace-nowrap")>{capitalise(&l.kind)}</td>
                                <td class=format!("{TD} break-all")>{l.name}</td>
                                <td class=format!("{TD} {tone}")>{what}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Outcome(outcome: ConfigOutcome) -> impl IntoView {
    let left_out = match outcome.left_out {
        0 => String::new(),
        n => format!(" {n} left out."),
    };
    let done = format!(
        "{} created, {} updated, {} unchanged.{left_out}",
        outcome.created, outcome.updated, outcome.unchanged
    );
    view! {
        <section aria-labelledby="outcome-heading" class=format!("{CARD} space-y-3")>
            <h2 id="outcome-heading" class="text-lg font-semibold">
                {if outcome.error.is_some() { "The import stopped" } else { "Imported" }}
            </h2>
            <p role="status" class="text-sm" data-testid="import-outcome">{done}</p>
            {outcome.error.map(|e| view! {
                <div role="alert" class="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900 break-words">
                    {format!("It stopped at {e}. What came before is applied; fix this and import the same file again to finish.")}
                </div>
            })}
            {(!outcome.warnings.is_empty()).then(|| view! {
                <div class="rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-950">
                    <p class="font-semibold">"To do by hand"</p>
                    <ul class="mt-1 list-disc space-y-1 pl-5 break-words">
                        {outcome.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                    </ul>
                </div>
            })}
        </section>
    }
}
