//! External data groups and fields, the card that shows stored values on the user, ticket and
//! project pages, and the *Columns* choice of the users and feedback lists.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, CARD, DangerZone, EmptyState, FormAlert, INPUT, LABEL, LINK, PageHeader, TABLE, TD, TH,
    TextField, action_error, field_error, field_sentence, id_param, refresh_key, show,
};
use crate::server_fns::external_data::{
    CreateDataGroup, DeleteDataGroup, SaveDataGroup, get_data_group, list_data_groups,
};
use crate::shared::vocab::DataScope;
use crate::types::{DATA_KINDS, DataFieldView, DataGroupView, DataValueView, NEW_DATA_FIELD_ROWS};

fn scope_label(scope: &str) -> &'static str {
    DataScope::parse(scope).map(DataScope::label).unwrap_or("?")
}

fn kind_label(kind: &str) -> &'static str {
    DATA_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("?")
}

#[component]
pub fn DataGroupsPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| list_data_groups());
    view! {
        <Title text="External data"/>
        <PageHeader title="External data".to_string()/>
        <p class="mb-4 max-w-3xl text-sm text-slate-600">"Groups of typed fields that other systems fill in through External Data listeners. Each field has the label people see and the parameter the other system sends."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |groups| view! {
                    <div class="grid grid-cols-1 gap-6 lg:grid-cols-3">
                        <div class="lg:col-span-2"><GroupTable groups/></div>
                        <NewGroupForm/>
                    </div>
                })
            })}
        </Suspense>
    }
}

#[component]
fn GroupTable(groups: Vec<DataGroupView>) -> impl IntoView {
    if groups.is_empty() {
        return view! {
            <EmptyState title="No data groups yet." text="A data group holds fields that other systems fill in, such as a CRM id or a plan, stored against users, tickets or projects.">
                <a class=BUTTON href="#new-group">"New data group"</a>
            </EmptyState>
        }
        .into_any();
    }
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">"Data groups"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Group"</th>
                        <th scope="col" class=TH>"Stored against"</th>
                        <th scope="col" class=TH>"Fields"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {groups.into_iter().map(|g| {
                        let fields = g.fields.iter().map(|f| format!("{} ({})", f.label, kind_label(&f.kind))).collect::<Vec<_>>().join(", ");
                        view! {
                            <tr>
                                <td class=TD><a class=format!("{LINK} font-medium") href=format!("/external-data/{}", g.id)>{g.name.clone()}</a></td>
                                <td class=TD>{scope_label(&g.scope)}</td>
                                <td class=format!("{TD} text-slate-600")>{if fields.is_empty() { "None yet".to_string() } else { fields }}</td>
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
fn NewGroupForm() -> impl IntoView {
    let create = ServerAction::<CreateDataGroup>::new();
    let error = action_error(create);
    let scope_error = field_error(error, "scope");
    view! {
        <section aria-labelledby="new-group" class=format!("{CARD} h-fit space-y-4")>
            <h2 id="new-group" class="text-lg font-semibold">"New data group"</h2>
            <ActionForm action=create attr:class="space-y-4">
                <FormAlert error/>
                <TextField label="Name" name="form[name]" required=true autocomplete="off" error=field_error(error, "name")/>
                <div>
                    <label for="f-scope" class=LABEL>"Stored against"</label>
                    <select id="f-scope" name="form[scope]" class=INPUT>
                        {DataScope::ALL.iter().map(|d| view! { <option value=d.as_str()>{d.label()}</option> }).collect_view()}
                    </select>
                    {move || scope_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Stored against", &e)}</p> })}
                </div>
                <button type="submit" class=BUTTON>"Create group"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn DataGroupPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || (refresh_key(), id()), |(_, id)| get_data_group(id));
    let delete = ServerAction::<DeleteDataGroup>::new();
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, move |g| view! {
                    <Title text=g.name.clone()/>
                    <nav aria-label="Breadcrumb" class="mb-2 text-sm"><a class=LINK href="/external-data">"External data"</a></nav>
                    <PageHeader title=format!("Data group {}", g.name)/>
                    <p class="mb-4 text-sm text-slate-600">{format!("Stored against {}.", scope_label(&g.scope).to_lowercase())}</p>
                    <GroupEditor group=g.clone()/>
                    <DangerZone action=delete id=g.id heading="Delete this group"
                        explanation="Its fields and every value stored in them are deleted too."
                        confirm_label=format!("Yes, delete {} and its values", g.name) button="Delete group"/>
                })
            })}
        </Suspense>
    }
}

#[component]
fn GroupEditor(group: DataGroupView) -> impl IntoView {
    let save = ServerAction::<SaveDataGroup>::new();
    let error = action_error(save);
    view! {
        <ActionForm action=save attr:class=format!("{CARD} space-y-4")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=group.id.to_string()/>
            <div class="max-w-md">
                <TextField label="Name" name="form[name]" value=group.name.clone() required=true autocomplete="off" error=field_error(error, "name")/>
            </div>
            <h2 class="text-lg font-semibold">"Fields"</h2>
            <p class="text-sm text-slate-600">"A row without a label is left out. Favourites are shown on top of the user summary and the ticket page. A field that holds values keeps its type."</p>
            <DataFieldTable fields=group.fields.clone() counts=true error/>
            <button type="submit" class=BUTTON>"Save group"</button>
        </ActionForm>
    }
}

/// A data group's field rows (`form[fields][slot][…]`): `fields` first, then blank rows to add
/// more; with `counts`, how many values each field holds. On a phone the table scrolls in its
/// box rather than squeezing the fields. Shows the errors of `fields` and of
/// each row (`fields.{slot}.…`). The group editor and the listener editor (a group created
/// with the listener) use it.
#[component]
pub fn DataFieldTable(
    fields: Vec<DataFieldView>,
    #[prop(optional)] counts: bool,
    error: Signal<Option<crate::errors::AppError>>,
    /// The rows' form name (`form[fields]` unless the table is part of another form's group).
    #[prop(optional, into)]
    name_base: Option<String>,
    /// Where their errors are named (`fields` unless nested).
    #[prop(optional)]
    error_base: Option<&'static str>,
) -> impl IntoView {
    let mut rows: Vec<Option<DataFieldView>> = fields.into_iter().map(Some).collect();
    rows.extend((0..NEW_DATA_FIELD_ROWS).map(|_| None));
    let name_base = name_base.unwrap_or_else(|| "form[fields]".to_string());
    let error_base = error_base.unwrap_or("fields");
    let fields_error = field_error(error, error_base);
    view! {
        {move || fields_error.get().map(|e| view! { <p role="alert" class="text-sm text-red-700">{field_sentence("Fields", &e)}</p> })}
        <div class="relative overflow-x-auto">
            <table class=TABLE>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Label"</th>
                        <th scope="col" class=TH>"Parameter"</th>
                        <th scope="col" class=TH>"Type"</th>
                        <th scope="col" class=TH>"Favourite"</th>
                        {counts.then(|| view! { <th scope="col" class=format!("{TH} text-right")>"Values"</th> })}
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {rows.into_iter().enumerate().map(|(i, f)| view! { <DataFieldRow index=i field=f counts error name_base=name_base.clone() error_base/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DataFieldRow(
    index: usize,
    field: Option<DataFieldView>,
    counts: bool,
    error: Signal<Option<crate::errors::AppError>>,
    name_base: String,
    error_base: &'static str,
) -> impl IntoView {
    let slot = index;
    let f = field.unwrap_or(DataFieldView {
        id: 0,
        label: String::new(),
        parameter: String::new(),
        kind: "string".into(),
        favorite: false,
        value_count: 0,
    });
    let name = move |what: &str| format!("{name_base}[{slot}][{what}]");
    let id = move |what: &str| format!("f-data-{slot}-{what}");
    let message = move || {
        error.get().and_then(|e| {
            ["label", "parameter", "kind"].iter().find_map(|w| {
                e.field_message(&format!("{error_base}.{slot}.{w}"))
                    .map(|m| (*w, m))
            })
        })
    };
    let row = slot + 1;
    view! {
        <tr>
            <td class=TD>
                <input type="hidden" name=name("slot") value=slot.to_string()/>
                <label for=id("label") class="sr-only">{format!("Label of data field {row}")}</label>
                <input id=id("label") name=name("label") value=f.label.clone() class=format!("{INPUT} min-w-32") autocomplete="off"/>
                {move || message().map(|(what, m)| view! { <p class="mt-1 text-sm text-red-700">{field_sentence(&format!("The {what}"), &m)}</p> })}
            </td>
            <td class=TD>
                <label for=id("parameter") class="sr-only">{format!("Parameter of data field {row}")}</label>
                <input id=id("parameter") name=name("parameter") value=f.parameter.clone() class=format!("{INPUT} min-w-32 font-mono") autocomplete="off"/>
            </td>
            <td class=TD>
                <label for=id("kind") class="sr-only">{format!("Type of data field {row}")}</label>
                <select id=id("kind") name=name("kind") class=format!("{INPUT} min-w-28")>
                    {DATA_KINDS.iter().map(|(k, l)| view! { <option value=*k selected=f.kind == *k>{*l}</option> }).collect_view()}
                </select>
            </td>
            <td class=format!("{TD} text-center")>
                <label for=id("favorite") class="sr-only">{format!("Data field {row} is a favourite")}</label>
                <input id=id("favorite") type="checkbox" name=name("favorite") checked=f.favorite class="h-4 w-4 rounded border-slate-300"/>
            </td>
            {counts.then(|| view! { <td class=format!("{TD} text-right tabular-nums text-slate-600")>{f.value_count}</td> })}
        </tr>
    }
}

/// The values stored against a user, a ticket or a project. The summary shows the favourite
/// (starred) fields; every value is one click away in "All external data" (a `<details>`,
/// which opens without JavaScript too).
#[component]
pub fn ExternalDataCard(values: Vec<DataValueView>) -> impl IntoView {
    let favourites: Vec<DataValueView> = values.iter().filter(|v| v.favorite).cloned().collect();
    let total = values.len();
    let list = |values: Vec<DataValueView>| {
        view! {
            <dl class="grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-2">
                {values.into_iter().map(|v| view! {
                    <div>
                        <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">
                            {v.favorite.then(|| view! { <span aria-label="Favourite" class="text-amber-500">"★ "</span> })}
                            {format!("{} · {}", v.group, v.label)}
                        </dt>
                        <dd class="mt-0.5 break-words text-sm" title=format!("Stored {}", v.updated_at)>{v.value}</dd>
                    </div>
                }).collect_view()}
            </dl>
        }
    };
    view! {
        <section aria-labelledby="external-data-heading" class=CARD>
            <h2 id="external-data-heading" class="mb-3 text-lg font-semibold">"External data"</h2>
            {if values.is_empty() {
                view! { <p class="text-sm text-slate-600">"None stored yet."</p> }.into_any()
            } else {
                view! {
                    {if favourites.is_empty() {
                        view! { <p class="text-sm text-slate-600">"No favourite field holds a value: star a field of its data group to show it here."</p> }.into_any()
                    } else {
                        list(favourites).into_any()
                    }}
                    <details class="mt-3 text-sm" data-testid="all-external-data">
                        <summary class="cursor-pointer text-indigo-700">{format!("All external data ({total})")}</summary>
                        <div class="mt-3">{list(values)}</div>
                    </details>
                }.into_any()
            }}
        </section>
    }
}

/// A project's external data (its page): loaded on its own, so the project page only places it.
#[component]
pub fn ProjectExternalData(project_id: i32) -> impl IntoView {
    let data = Resource::new(
        move || (crate::app::components::refresh_key(), project_id),
        |(_, id)| crate::server_fns::external_data::project_external_data(id),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                crate::app::components::show(data.await, |values| view! { <ExternalDataCard values/> })
            })}
        </Suspense>
    }
}

/// The hidden fields that keep a list's chosen columns across its other forms.
pub fn columns_kept(cols: &Option<String>) -> impl IntoView + use<> {
    let ids = cols
        .as_deref()
        .map(crate::types::column_ids)
        .unwrap_or_default();
    view! {
        {cols.is_some().then(|| view! { <input type="hidden" name="columns" value="chosen"/> })}
        {ids.into_iter().map(|id| view! { <input type="hidden" name="col" value=id.to_string()/> }).collect_view()}
    }
}

/// A list's *Columns* choice (the external-data fields of its scope, favourites first, as
/// checkboxes of a GET form: the choice lives in the URL, without JavaScript too) and its CSV
/// export with the same columns. `keep`: the list's other query parameters.
#[component]
pub fn ListColumnsBar(
    action: String,
    keep: Vec<(&'static str, String)>,
    columns: crate::types::ListColumns,
    export: String,
) -> impl IntoView {
    let shown: Vec<i32> = columns.shown.iter().map(|c| c.id).collect();
    let summary = format!(
        "Columns: external data ({} of {})",
        columns.shown.len(),
        columns.offered.len()
    );
    let offered = columns.offered;
    view! {
        <div class="mb-4 flex flex-wrap items-start justify-between gap-3">
            {if offered.is_empty() {
                view! { <p class="text-sm text-slate-500">"External data fields can be shown here as columns once a data group has fields."</p> }.into_any()
            } else {
                view! {
                    <details class="min-w-0 max-w-full rounded-md border border-slate-200 bg-white px-3 py-2 text-sm" data-testid="list-columns">
                        <summary class="cursor-pointer font-medium">{summary}</summary>
                        <leptos_router::components::Form method="GET" action=action attr:class="mt-2 space-y-2">
                            {keep.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
                            <input type="hidden" name="columns" value="chosen"/>
                            <fieldset class="space-y-1">
                                <legend class="mb-1 text-xs text-slate-500">"Starred fields are the favourites, shown until you choose."</legend>
                                {offered.into_iter().map(|c| view! {
                                    <label class="flex items-center gap-2">
                                        <input type="checkbox" name="col" value=c.id.to_string() checked=shown.contains(&c.id) class="h-4 w-4 rounded border-slate-300"/>
                                        {c.favorite.then(|| view! { <span aria-hidden="true" class="text-amber-500">"★"</span> })}
                                        <span class="break-words">{c.label}</span>
                                    </label>
                                }).collect_view()}
                            </fieldset>
                            <button type="submit" class=BUTTON>"Show columns"</button>
                        </leptos_router::components::Form>
                    </details>
                }.into_any()
            }}
            <a class=crate::app::components::BUTTON_SECONDARY href=export rel="external" download="">"Export CSV"</a>
        </div>
    }
}
