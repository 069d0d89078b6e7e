use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, DangerZone, EmptyState, FormAlert, INPUT, LABEL, LINK,
    PageHeader, TABLE, TD, TH, TextField, action_error, capitalise, field_error, id_param,
    refresh_key, scope_param, show,
};
use crate::app::pages::bulk_runs::BulkRunPanel;
use crate::server_fns::filters::{
    DeleteFilter, PreviewFilter, SaveFilter, load_filter_form, load_filter_preview, load_filters,
};
use crate::types::{
    FILTER_GROUPS, FilterCatalogue, FilterView, Match, ROWS_PER_GROUP, filter_ops, op_label,
    scope_label,
};

#[component]
pub fn FiltersPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_filters());
    view! {
        <Title text="Filters"/>
        <PageHeader title="Filters".to_string()>
            <a class=BUTTON href="/filters/new">"New user filter"</a>
            <a class=BUTTON_SECONDARY href="/filters/new?scope=feedback">"New feedback filter"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"Saved sets of conditions over users or over feedback tickets. Filters guard listeners and automation, and pick what bulk runs and schedules act on."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |items| {
                    if items.is_empty() {
                        return view! {
                            <EmptyState title="No filters yet." text="A filter saves conditions over users or tickets, such as a team, a score or a form field. Listeners use one to limit whom they act on; bulk runs and schedules use one to pick what they run on.">
                                <a class=BUTTON href="/filters/new">"New user filter"</a>
                                <a class=BUTTON_SECONDARY href="/filters/new?scope=feedback">"New feedback filter"</a>
                            </EmptyState>
                        }
                        .into_any();
                    }
                    view! {
                        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                            <table class=TABLE>
                                <caption class="sr-only">"Filters"</caption>
                                <thead class="bg-slate-50">
                                    <tr>
                                        <th scope="col" class=TH>"Name"</th>
                                        <th scope="col" class=TH>"Selects"</th>
                                        <th scope="col" class=TH>"Conditions"</th>
                                        <th scope="col" class=format!("{TH} text-right")>"Matching"</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {items.into_iter().map(|i| view! {
                                        <tr>
                                            <td class=TD><a class=LINK href=format!("/filters/{}", i.filter.id)>{i.filter.name.clone()}</a></td>
                                            <td class=TD>{scope_label(&i.filter.scope)}</td>
                                            <td class=TD>{i.filter.summary.clone()}</td>
                                            <td class=format!("{TD} text-right tabular-nums")>{i.matching}</td>
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

/// A filter with its matching users.
#[component]
pub fn FilterPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, v)| load_filter_preview(v),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |p| {
                    let edit = format!("/filters/{}/edit", p.filter.id);
                    let shown = p.sample.len().max(p.tickets.len());
                    let feedback = p.filter.scope == "feedback";
                    let (one, many) = if feedback { ("ticket", "tickets") } else { ("user", "users") };
                    view! {
                        <Title text=p.filter.name.clone()/>
                        <PageHeader title=p.filter.name.clone()>
                            <a class=BUTTON href=edit.clone()>"Edit filter"</a>
                        </PageHeader>
                        <section aria-label="Rule" class=format!("{CARD} mb-6")>
                            <p class="text-sm text-slate-500">{if feedback { "Tickets match when" } else { "Users match when" }}</p>
                            <p class="mt-1 font-medium">{p.filter.summary.clone()}</p>
                            {(!p.filter.description.is_empty()).then(|| view! { <p class="mt-2 text-sm text-slate-600">{p.filter.description.clone()}</p> })}
                        </section>
                        <h2 class="mb-3 text-lg font-semibold" role="status">
                            {format!("{} matching {}", p.matching, if p.matching == 1 { one } else { many })}
                        </h2>
                        {(feedback && p.matching > 0).then(|| view! {
                            <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                                <table class=TABLE>
                                    <caption class="px-3 py-2 text-left text-sm text-slate-600">{format!("The newest {shown}")}</caption>
                                    <thead class="bg-slate-50">
                                        <tr>
                                            <th scope="col" class=TH>"Ticket"</th>
                                            <th scope="col" class=TH>"Type"</th>
                                            <th scope="col" class=TH>"Status"</th>
                                            <th scope="col" class=TH>"Team"</th>
                                            <th scope="col" class=TH>"Submitted by"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {p.tickets.clone().into_iter().map(|t| view! {
                                            <tr>
                                                <td class=TD><a class=LINK href=format!("/feedback/{}", t.id)>{format!("#{} {}", t.id, t.title)}</a></td>
                                                <td class=TD>{t.type_name}</td>
                                                <td class=TD>{t.status}</td>
                                                <td class=TD>{t.team.unwrap_or_else(|| "—".into())}</td>
                                                <td class=TD>{t.author}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        })}
                        {(!feedback && p.matching > 0).then(|| view! {
                            <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                                <table class=TABLE>
                                    <caption class="px-3 py-2 text-left text-sm text-slate-600">{format!("The first {shown}")}</caption>
                                    <thead class="bg-slate-50">
                                        <tr>
                                            <th scope="col" class=TH>"Name"</th>
                                            <th scope="col" class=TH>"Email"</th>
                                            <th scope="col" class=TH>"Teams"</th>
                                            <th scope="col" class=format!("{TH} text-right")>"Score"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {p.sample.into_iter().map(|u| view! {
                                            <tr>
                                                <td class=TD><a class=LINK href=format!("/users/{}", u.id)>{format!("{} {}", u.first_name, u.last_name)}</a></td>
                                                <td class=TD>{u.email}</td>
                                                <td class=TD>{u.teams.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ")}</td>
                                                <td class=format!("{TD} text-right tabular-nums")>{u.score}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        })}
                        {(p.matching > 0).then(|| p.macros.clone()).map(|macros| {
                            let (filter_id, matching, scope) = (p.filter.id, p.matching, p.filter.scope.clone());
                            view! { <BulkRunPanel filter_id matching scope macros/> }
                        })}
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn NewFilterPage() -> impl IntoView {
    let scope = scope_param();
    let data = Resource::new(
        move || (refresh_key(), scope()),
        |(_, scope)| load_filter_form(None, scope),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |(_, catalogue)| {
                    let title = if catalogue.scope == "feedback" { "New feedback filter" } else { "New user filter" };
                    view! {
                        <Title text=title/>
                        <PageHeader title=title.to_string()/>
                        <FilterEditor filter=None catalogue/>
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn EditFilterPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| load_filter_form(Some(id), String::new()),
    );
    view! {
        <Title text="Edit filter"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |(filter, catalogue)| {
                    let title = filter.as_ref().map(|f| format!("Edit {}", f.name)).unwrap_or_default();
                    let id = filter.as_ref().map(|f| f.id).unwrap_or_default();
                    view! {
                        <PageHeader title=title/>
                        <FilterEditor filter catalogue/>
                        <DangerZone action={ServerAction::<DeleteFilter>::new()} id heading="Delete this filter" confirm_label="Yes, delete this filter" button="Delete filter"/>
                    }
                })
            })}
        </Suspense>
    }
}

/// Operators grouped by the kind of field they apply to.
fn op_groups() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("Text", filter_ops("text")),
        ("Choice or yes/no", filter_ops("choice")),
        ("Number", filter_ops("number")),
        ("Date", filter_ops("date")),
    ]
}

#[component]
fn FilterEditor(filter: Option<FilterView>, catalogue: FilterCatalogue) -> impl IntoView {
    let action = ServerAction::<SaveFilter>::new();
    let error = action_error(action);
    let rows_error = field_error(error, "rows");
    let id = filter
        .as_ref()
        .map(|f| f.id.to_string())
        .unwrap_or_default();
    let cancel = filter
        .as_ref()
        .map(|f| format!("/filters/{}", f.id))
        .unwrap_or_else(|| "/filters".into());
    let (name, description) = filter
        .as_ref()
        .map(|f| (f.name.clone(), f.description.clone()))
        .unwrap_or_default();
    let definition = filter.map(|f| f.definition);
    let combine_any = definition.as_ref().is_some_and(|d| d.match_ == Match::Any);
    let feedback = catalogue.scope == "feedback";
    let fields = catalogue.fields.clone();
    // A stored value as typed on the form: a team's or project's name rather than its id.
    let shown_value = {
        let fields = fields.clone();
        move |field: &str, v: &str| {
            fields
                .iter()
                .find(|f| f.key == field)
                .and_then(|f| f.choices.iter().find(|(stored, _)| stored == v))
                .map(|(_, label)| label.clone())
                .unwrap_or_else(|| match v {
                    "true" => "yes".to_string(),
                    "false" => "no".to_string(),
                    other => other.to_string(),
                })
        }
    };
    view! {
        <ActionForm action=action attr:class=format!("{CARD} space-y-5")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=id/>
            <input type="hidden" name="form[scope]" value=catalogue.scope.clone()/>
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                <TextField label="Name" name="form[name]" value=name required=true autocomplete="off" error=field_error(error, "name")/>
                <TextField label="Description" name="form[description]" value=description autocomplete="off" error=field_error(error, "description")/>
            </div>
            <div>
                <label for="f-combine" class=LABEL>{if feedback { "Tickets match when they pass" } else { "Users match when they pass" }}</label>
                <select id="f-combine" name="form[combine]" class=INPUT>
                    <option value="all" selected=!combine_any>"every group below"</option>
                    <option value="any" selected=combine_any>"any group below"</option>
                </select>
            </div>
            {move || rows_error.get().map(|e| view! { <p role="alert" class="text-sm text-red-700">{capitalise(&e)} "."</p> })}
            {(0..FILTER_GROUPS).map(|g| {
                let group = definition.as_ref().and_then(|d| d.groups.get(g)).cloned();
                let any = group.as_ref().is_some_and(|gr| gr.match_ == Match::Any);
                let shown_value = shown_value.clone();
                let fields = fields.clone();
                view! {
                    <fieldset class="rounded-md border border-slate-200 p-3 sm:p-4">
                        <legend class="px-1 text-sm font-semibold">{format!("Group {}", g + 1)}</legend>
                        <div class="mb-3">
                            <label for=format!("f-group-{g}") class=LABEL>{format!("Group {} passes when", g + 1)}</label>
                            <select id=format!("f-group-{g}") name=format!("form[group_match][{g}]") class=INPUT>
                                <option value="all" selected=!any>"all of its conditions hold"</option>
                                <option value="any" selected=any>"any of its conditions holds"</option>
                            </select>
                        </div>
                        {(0..ROWS_PER_GROUP).map(|r| {
                            let i = g * ROWS_PER_GROUP + r;
                            let cond = group.as_ref().and_then(|gr| gr.conditions.get(r)).cloned();
                            let field = cond.as_ref().map(|c| c.field.clone()).unwrap_or_default();
                            let op = cond.as_ref().map(|c| c.op.clone()).unwrap_or_default();
                            let value = cond.as_ref().map(|c| shown_value(&c.field, &c.value)).unwrap_or_default();
                            let row_error = field_error(error, format!("rows.{i}"));
                            let label = format!("Group {}, condition {}", g + 1, r + 1);
                            view! {
                                <div class="mb-2 grid grid-cols-1 gap-2 sm:grid-cols-3">
                                    <input type="hidden" name=format!("form[rows][{i}][slot]") value=i.to_string()/>
                                    <label class="sr-only" for=format!("f-row-{i}-field")>{format!("{label} field")}</label>
                                    <select id=format!("f-row-{i}-field") name=format!("form[rows][{i}][field]") class=INPUT aria-invalid=move || row_error.get().is_some().then_some("true")>
                                        <option value="" selected=field.is_empty()>"— no condition —"</option>
                                        {fields.iter().map(|f| view! { <option value=f.key.clone() selected=field == f.key>{f.label.clone()}</option> }).collect_view()}
                                    </select>
                                    <label class="sr-only" for=format!("f-row-{i}-op")>{format!("{label} operator")}</label>
                                    <select id=format!("f-row-{i}-op") name=format!("form[rows][{i}][op]") class=INPUT>
                                        {op_groups().into_iter().map(|(kind, ops)| {
                                            let op = op.clone();
                                            view! {
                                                <optgroup label=kind>
                                                    {ops.iter().map(|o| view! { <option value=*o selected=op == *o>{op_label(o)}</option> }).collect_view()}
                                                </optgroup>
                                            }
                                        }).collect_view()}
                                    </select>
                                    <label class="sr-only" for=format!("f-row-{i}-value")>{format!("{label} value")}</label>
                                    <input id=format!("f-row-{i}-value") name=format!("form[rows][{i}][value]") value=value class=INPUT autocomplete="off"/>
                                    {move || row_error.get().map(|e| view! { <p class="text-sm text-red-700 sm:col-span-3">{capitalise(&e)} "."</p> })}
                                </div>
                            }
                        }).collect_view()}
                    </fieldset>
                }
            }).collect_view()}
            <p class="text-xs text-slate-500">{if feedback {
                "Projects, types, statuses and teams by name, yes/no fields as yes or no, dates as YYYY-MM-DD. Text comparisons ignore case."
            } else {
                "Teams by name, roles as participant, project manager or community manager, yes/no fields as yes or no, dates as YYYY-MM-DD. Text comparisons ignore case."
            }}</p>
            <LivePreview/>
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=BUTTON>"Save filter"</button>
                <a class=BUTTON_SECONDARY href=cancel>"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// While the page is hydrated, what the conditions on the form select right now, updated as
/// they change (the saved filter's page shows the same without JavaScript, after saving).
#[component]
fn LivePreview() -> impl IntoView {
    let preview = ServerAction::<PreviewFilter>::new();
    let (live, set_live) = signal(false);
    Effect::new(move |_| {
        use leptos::form::FromFormData;
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        set_live.set(true);
        // Listen to the whole form: any condition, group match or combination may change.
        let Some(form) = document()
            .get_element_by_id("f-live-preview")
            .and_then(|el| el.closest("form").ok().flatten())
            .and_then(|f| f.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        let source = form.clone();
        let look = Closure::<dyn FnMut(leptos::web_sys::Event)>::new(move |_| {
            if let Ok(data) = leptos::web_sys::FormData::new_with_form(&source)
                && let Ok(input) = PreviewFilter::from_form_data(&data)
            {
                preview.dispatch(input);
            }
        });
        for event in ["change", "input"] {
            let _ = form.add_event_listener_with_callback(event, look.as_ref().unchecked_ref());
        }
        // The listener lives as long as the form.
        look.forget();
    });
    view! {
        <div id="f-live-preview" role="status" aria-label="Live preview" class="rounded-md border border-indigo-200 bg-indigo-50 px-4 py-3 text-sm text-indigo-950" class:hidden=move || !live.get()>
            {move || match preview.value().get() {
                None => "Change a condition to see how many users it selects.".to_string(),
                Some(Ok(p)) => {
                    let who = if p.first.is_empty() {
                        String::new()
                    } else {
                        format!(": {}{}", p.first.join(", "), if p.matching > p.first.len() as u64 { " …" } else { "" })
                    };
                    format!("{} user{} match ({}){who}", p.matching, if p.matching == 1 { "" } else { "s" }, p.summary)
                }
                Some(Err(crate::errors::AppError::Validation(errors))) => format!(
                    "No preview yet: {}.",
                    errors.first().map(|e| e.message.clone()).unwrap_or_default()
                ),
                Some(Err(e)) => format!("No preview: {e}."),
            }}
        </div>
    }
}
