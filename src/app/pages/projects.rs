//! Projects, a project's feedback types, and the feedback type editor (form, workflow, teams).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, EmptyState, FormAlert, INPUT, IfCommunityManager, LABEL, LINK,
    PageHeader, TABLE, TD, TH, TextField, action_error, field_error, field_sentence, id_param,
    refresh_key, show, textarea_text,
};
use crate::app::pages::external_data::ProjectExternalData;
use crate::app::pages::external_sources::SourceTable;
use crate::server_fns::feedback::{
    CreateFeedbackType, SaveFeedbackType, SaveProject, get_feedback_type, get_project,
    list_projects,
};
use crate::types::{
    FIELD_KINDS, FeedbackField, FeedbackTypeDefinition, FeedbackTypeView, NEW_FIELD_ROWS,
    ProjectSummary, TeamRef,
};

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| list_projects());
    view! {
        <Title text="Projects"/>
        <PageHeader title="Projects".to_string()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |projects| view! {
                    <div class="grid grid-cols-1 gap-6 lg:grid-cols-3">
                        <div class="lg:col-span-2"><ProjectTable projects/></div>
                        <IfCommunityManager>
                            <ProjectEditor project=None/>
                        </IfCommunityManager>
                    </div>
                })
            })}
        </Suspense>
    }
}

#[component]
fn ProjectTable(projects: Vec<ProjectSummary>) -> impl IntoView {
    if projects.is_empty() {
        return view! {
            <EmptyState title="No projects yet." text="A project is a product under test. Its feedback types give the tickets testers send their form and workflow.">
                <IfCommunityManager>
                    <a class=BUTTON href="#project-editor">"New project"</a>
                </IfCommunityManager>
            </EmptyState>
        }
        .into_any();
    }
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">"Projects"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Project"</th>
                        <th scope="col" class=TH>"Key"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Feedback types"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Tickets"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {projects.into_iter().map(|p| view! {
                        <tr>
                            <td class=TD><a class=format!("{LINK} font-medium") href=format!("/projects/{}", p.id)>{p.name.clone()}</a></td>
                            <td class=format!("{TD} font-mono text-xs")>{p.key.clone()}</td>
                            <td class=format!("{TD} text-right tabular-nums")>{p.type_count}</td>
                            <td class=format!("{TD} text-right tabular-nums")>
                                <a class=LINK href=format!("/projects/{}/feedback", p.id)>{p.ticket_count}</a>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Creates a project (`project` None) or edits one.
#[component]
fn ProjectEditor(project: Option<ProjectSummary>) -> impl IntoView {
    let save = ServerAction::<SaveProject>::new();
    let error = action_error(save);
    let editing = project.is_some();
    let p = project.unwrap_or(ProjectSummary {
        id: 0,
        name: String::new(),
        key: String::new(),
        description: String::new(),
        created_at: String::new(),
        type_count: 0,
        ticket_count: 0,
    });
    view! {
        <section aria-labelledby="project-editor" class=format!("{CARD} h-fit space-y-4")>
            <h2 id="project-editor" class="text-lg font-semibold">{if editing { "Project details" } else { "New project" }}</h2>
            <ActionForm action=save attr:class="space-y-4">
                <FormAlert error/>
                <input type="hidden" name="form[id]" value=if editing { p.id.to_string() } else { String::new() }/>
                <TextField label="Name" name="form[name]" value=p.name required=true autocomplete="off" error=field_error(error, "name")/>
                <TextField label="Key" name="form[key]" value=p.key required=true autocomplete="off" hint="Letters, digits, - or _; used in URLs." error=field_error(error, "key")/>
                <TextField label="Description" name="form[description]" value=p.description autocomplete="off" error=field_error(error, "description")/>
                <button type="submit" class=BUTTON>{if editing { "Save project" } else { "Create project" }}</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || (refresh_key(), id()), |(_, id)| get_project(id));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |v| {
                    let project = v.project.clone();
                    view! {
                        <Title text=project.name.clone()/>
                        <nav aria-label="Breadcrumb" class="mb-2 text-sm"><a class=LINK href="/projects">"Projects"</a></nav>
                        <PageHeader title=project.name.clone()>
                            <a class=BUTTON href=format!("/projects/{}/feedback", project.id)>"Feedback"</a>
                            <a class=BUTTON_SECONDARY href="/users">"Users"</a>
                        </PageHeader>
                        {(!project.description.is_empty()).then(|| view! { <p class="mb-4 text-slate-700">{project.description.clone()}</p> })}
                        <div class="grid grid-cols-1 gap-6 lg:grid-cols-3">
                            <section aria-labelledby="types-heading" class="space-y-4 lg:col-span-2">
                                <h2 id="types-heading" class="text-lg font-semibold">"Feedback types"</h2>
                                <TypeTable types=v.types/>
                                <IfCommunityManager>
                                    <NewTypeForm project_id=project.id/>
                                </IfCommunityManager>
                                <SourceTable project_id=project.id sources=v.sources.clone()/>
                                <ProjectExternalData project_id=project.id/>
                                <crate::app::pages::automation::FeedbackAutomation project_id=project.id type_id=None sources=false/>
                            </section>
                            <IfCommunityManager>
                                <ProjectEditor project=Some(project.clone())/>
                            </IfCommunityManager>
                        </div>
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
fn TypeTable(types: Vec<FeedbackTypeView>) -> impl IntoView {
    if types.is_empty() {
        return view! { <EmptyState title="No feedback types yet." text="A feedback type (Bug Report, Feature Request …) gives this project's tickets their form and workflow; tickets can be sent once one exists."/> }.into_any();
    }
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">"Feedback types"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Type"</th>
                        <th scope="col" class=TH>"Workflow"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Fields"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Tickets"</th>
                        <th scope="col" class=TH><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {types.into_iter().map(|FeedbackTypeView { definition: t, ticket_count }| {
                        let workflow = t.statuses.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(" → ");
                        view! {
                            <tr>
                                <td class=format!("{TD} font-medium")>{t.name.clone()}</td>
                                <td class=format!("{TD} text-slate-600")>{workflow}</td>
                                <td class=format!("{TD} text-right tabular-nums")>{t.fields.len()}</td>
                                <td class=format!("{TD} text-right tabular-nums")>
                                    <a class=LINK href=format!("/projects/{}/feedback?type={}", t.project_id, t.id)>{ticket_count}</a>
                                </td>
                                <td class=format!("{TD} space-x-3 text-right whitespace-nowrap")>
                                    <a class=LINK href=format!("/projects/{}/feedback/new?type={}", t.project_id, t.id) >{format!("New {}", t.name)}</a>
                                    <a class=LINK href=format!("/feedback-types/{}#feedback-automation", t.id) aria-label=format!("Automation of {}", t.name)>"Automation"</a>
                                    <IfCommunityManager>
                                        <a class=LINK href=format!("/feedback-types/{}", t.id) aria-label=format!("Edit {}", t.name)>"Edit"</a>
                                    </IfCommunityManager>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn NewTypeForm(project_id: i32) -> impl IntoView {
    let create = ServerAction::<CreateFeedbackType>::new();
    let error = action_error(create);
    view! {
        <ActionForm action=create attr:class=format!("{CARD} space-y-3")>
            <h3 class="font-semibold">"Add a feedback type"</h3>
            <p class="text-sm text-slate-600">"It starts with the workflow New → Open → In Progress → Closed and an empty form; change both next."</p>
            <FormAlert error/>
            <input type="hidden" name="form[project_id]" value=project_id.to_string()/>
            <TextField label="Type name" name="form[name]" required=true autocomplete="off" error=field_error(error, "name")/>
            <button type="submit" class=BUTTON>"Add feedback type"</button>
        </ActionForm>
    }
}

#[component]
pub fn FeedbackTypePage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| get_feedback_type(id),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |(t, teams)| {
                    let title = format!("{} · {}", t.name, t.project_name);
                    view! {
                        <Title text=title.clone()/>
                        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
                            <a class=LINK href="/projects">"Projects"</a>
                            " / "
                            <a class=LINK href=format!("/projects/{}", t.project_id)>{t.project_name.clone()}</a>
                        </nav>
                        <PageHeader title=format!("Feedback type {}", t.name)/>
                        <div class="mb-6">
                            <crate::app::pages::automation::FeedbackAutomation project_id=t.project_id type_id=Some(t.id) sources=true/>
                        </div>
                        <TypeEditor feedback_type=t teams/>
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
fn TypeEditor(feedback_type: FeedbackTypeDefinition, teams: Vec<TeamRef>) -> impl IntoView {
    let save = ServerAction::<SaveFeedbackType>::new();
    let error = action_error(save);
    let t = feedback_type;
    let statuses = t
        .statuses
        .iter()
        .map(|s| s.name.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let mut rows: Vec<Option<FeedbackField>> = t.fields.iter().cloned().map(Some).collect();
    rows.extend((0..NEW_FIELD_ROWS).map(|_| None));
    let chosen: Vec<i32> = t.teams.iter().map(|x| x.id).collect();
    let statuses_error = field_error(error, "statuses");
    let teams_error = field_error(error, "teams");
    view! {
        <ActionForm action=save attr:class="space-y-6">
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=t.id.to_string()/>
            <section class=format!("{CARD} grid grid-cols-1 gap-4 md:grid-cols-2")>
                <TextField label="Name" name="form[name]" value=t.name.clone() required=true autocomplete="off" error=field_error(error, "name")/>
                <div>
                    <label for="f-statuses" class=LABEL>"Workflow"</label>
                    <textarea id="f-statuses" name="form[statuses]" rows="5" class=INPUT
                        aria-describedby="f-statuses-hint"
                        aria-invalid=move || statuses_error.get().is_some().then_some("true")>{textarea_text(statuses)}</textarea>
                    <p id="f-statuses-hint" class="mt-1 text-xs text-slate-500">"One status per line, in order; new tickets start in the first."</p>
                    {move || statuses_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Workflow", &e)}</p> })}
                </div>
                <fieldset class="md:col-span-2">
                    <legend class=LABEL>"Teams a ticket of this type can be given to"</legend>
                    <div class="flex flex-wrap gap-4">
                        {teams.into_iter().map(|team| {
                            let id = format!("f-team-{}", team.id);
                                let for_id = id.clone();
                            view! {
                                <label for=for_id class="flex items-center gap-2 text-sm">
                                    <input id=id type="checkbox" name="form[teams][]" value=team.id.to_string()
                                        checked=chosen.contains(&team.id) class="h-4 w-4 rounded border-slate-300"/>
                                    {team.name}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                    {move || teams_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Teams", &e)}</p> })}
                </fieldset>
            </section>
            <section class=format!("{CARD} space-y-3") aria-labelledby="form-heading">
                <h2 id="form-heading" class="text-lg font-semibold">"Form"</h2>
                <p class="text-sm text-slate-600">"Title and description are always there. Add custom fields below; a row without a label is left out. The key names the field for external sources and dynamic tags (made from the label when empty)."</p>
                <div class="relative overflow-x-auto">
                    <table class=TABLE>
                        <thead class="bg-slate-50">
                            <tr>
                                <th scope="col" class=TH>"Label"</th>
                                <th scope="col" class=TH>"Key"</th>
                                <th scope="col" class=TH>"Kind"</th>
                                <th scope="col" class=TH>"Required"</th>
                                <th scope="col" class=TH>"Choices (one per line)"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {rows.into_iter().enumerate().map(|(i, f)| view! { <FieldRow index=i field=f error/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
            <div class="flex gap-2">
                <button type="submit" class=BUTTON>"Save feedback type"</button>
                <a class=BUTTON_SECONDARY href=format!("/projects/{}", t.project_id)>"Back to the project"</a>
            </div>
        </ActionForm>
    }
}

#[component]
fn FieldRow(
    index: usize,
    field: Option<FeedbackField>,
    error: Signal<Option<crate::errors::AppError>>,
) -> impl IntoView {
    let f = field.unwrap_or(FeedbackField {
        id: 0,
        label: String::new(),
        key: String::new(),
        kind: "text".into(),
        required: false,
        choices: Vec::new(),
    });
    let slot = index;
    let name = move |what: &str| format!("form[fields][{slot}][{what}]");
    let id = move |what: &str| format!("f-field-{slot}-{what}");
    let message = move || {
        error.get().and_then(|e| {
            ["label", "key", "kind", "choices"].iter().find_map(|w| {
                e.field_message(&format!("fields.{slot}.{w}"))
                    .map(|m| (*w, m))
            })
        })
    };
    let row = slot + 1;
    view! {
        <tr>
            <td class=TD>
                <input type="hidden" name=name("slot") value=slot.to_string()/>
                <label for=id("label") class="sr-only">{format!("Label of field {row}")}</label>
                <input id=id("label") name=name("label") value=f.label.clone() class=INPUT autocomplete="off"/>
                {move || message().map(|(what, m)| view! { <p class="mt-1 text-sm text-red-700">{field_sentence(&format!("The {what}"), &m)}</p> })}
            </td>
            <td class=TD>
                <label for=id("key") class="sr-only">{format!("Key of field {row}")}</label>
                <input id=id("key") name=name("key") value=f.key.clone() class=format!("{INPUT} font-mono") autocomplete="off"/>
            </td>
            <td class=TD>
                <label for=id("kind") class="sr-only">{format!("Kind of field {row}")}</label>
                <select id=id("kind") name=name("kind") class=INPUT>
                    {FIELD_KINDS.iter().map(|(k, label)| view! { <option value=*k selected=f.kind == *k>{*label}</option> }).collect_view()}
                </select>
            </td>
            <td class=format!("{TD} text-center")>
                <label for=id("required") class="sr-only">{format!("Field {row} is required")}</label>
                <input id=id("required") type="checkbox" name=name("required") checked=f.required class="h-4 w-4 rounded border-slate-300"/>
            </td>
            <td class=TD>
                <label for=id("choices") class="sr-only">{format!("Choices of field {row}")}</label>
                <textarea id=id("choices") name=name("choices") rows="2" class=INPUT>{textarea_text(f.choices.join("\n"))}</textarea>
            </td>
        </tr>
    }
}
