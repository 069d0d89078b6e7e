//! The bulk action: run a macro on every user or ticket of a filter (from the filter's page),
//! and the run's progress page, which refreshes itself until every run is done (polling when
//! hydrated, a meta refresh without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, FormAlert, INPUT, LABEL, LINK, PageHeader, TABLE, TD, TH,
    action_error, field_error, field_sentence, id_param, show,
};
use crate::server_fns::bulk_runs::{
    StartBulkRun, StartSelectionRun, load_bulk_run, load_list_actions,
};
use crate::types::BulkRunView;

/// A list's *Actions* (the users list, a project's feedback list): the list's rows, each with
/// a box to tick, inside one form that runs a chosen macro on the ticked rows or on every row
/// matching the list's search (`hidden`: the search's fields, named as in `SelectionRunForm`).
/// The confirmation box shows unless the chosen macro suppresses it (hydrated; without
/// JavaScript it is always there, and only needed where the macro asks for it).
#[component]
pub fn ListActions(
    /// "user" or "feedback".
    scope: &'static str,
    /// How many rows match the search (every page).
    total: u64,
    hidden: Vec<(&'static str, String)>,
    /// A project's feedback list: its project, and the feedback type it is narrowed to
    /// (macros placed elsewhere are not offered).
    #[prop(optional)]
    project_id: Option<i32>,
    #[prop(default = None)] type_id: Option<i32>,
    children: Children,
) -> impl IntoView {
    let action = ServerAction::<StartSelectionRun>::new();
    let error = action_error(action);
    let choices = Resource::new(
        || (),
        move |_| load_list_actions(scope.to_string(), project_id, type_id),
    );
    let chosen = RwSignal::new(String::new());
    let every = RwSignal::new(false);
    let (one, many) = if scope == "feedback" {
        ("ticket", "tickets")
    } else {
        ("user", "users")
    };
    let macro_error = field_error(error, "macro_id");
    let ids_error = field_error(error, "ids");
    let confirm_error = field_error(error, "confirm");
    view! {
        <ActionForm action=action attr:class="space-y-3">
            <input type="hidden" name="form[scope]" value=scope/>
            {hidden.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    show(choices.await, move |choices| {
                        if choices.is_empty() {
                            return view! {
                                <p class="rounded-md border border-slate-200 bg-white px-4 py-3 text-sm text-slate-600">
                                    {format!("Actions: no macro is offered on {many} yet. Tick “Show in user-management actions” in a macro to run it from here. ")}
                                    <a class=format!("{LINK} underline") href="/macros">"Macros"</a>
                                </p>
                            }.into_any();
                        }
                        let quiet: Vec<String> = choices.iter().filter(|c| c.suppress_confirmation).map(|c| c.id.to_string()).collect();
                        // Every match of the search is always confirmed.
                        let needs_confirm = move || { let c = chosen.get(); every.get() || c.is_empty() || !quiet.contains(&c) };
                        view! {
                            <fieldset class="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
                                <legend class="px-1 text-sm font-semibold">"Actions"</legend>
                                <FormAlert error/>
                                <div class="flex flex-wrap items-end gap-3">
                                    <div class="min-w-0">
                                        <label for="list-action-macro" class=LABEL>"Run the macro"</label>
                                        <select id="list-action-macro" name="form[macro_id]" class=format!("{INPUT} max-w-full") on:change=move |ev| chosen.set(event_target_value(&ev))
                                            aria-invalid=move || macro_error.get().is_some().then_some("true")>
                                            <option value="">"— choose a macro —"</option>
                                            {choices.into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <fieldset class="text-sm">
                                        <legend class="sr-only">{format!("Which {many}")}</legend>
                                        <label class="mr-3 inline-flex items-center gap-1"><input type="radio" name="form[all]" value="" checked=true on:change=move |_| every.set(false)/>{format!("on the ticked {many}")}</label>
                                        <label class="inline-flex items-center gap-1"><input type="radio" name="form[all]" value="all" on:change=move |_| every.set(true)/>{format!("on every matching {one} ({total})")}</label>
                                    </fieldset>
                                    <label class="inline-flex items-center gap-1 text-sm" class:hidden=move || !needs_confirm()>
                                        <input type="checkbox" name="form[confirm]" class="h-4 w-4 rounded border-slate-300"/>
                                        "Yes, run it"
                                    </label>
                                    <button type="submit" class=BUTTON disabled=move || action.pending().get()>"Run"</button>
                                </div>
                                {move || macro_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("Macro", &e)}</p> })}
                                {move || ids_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("Selection", &e)}</p> })}
                                {move || confirm_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("Confirmation", &e)}</p> })}
                                <p class="text-xs text-slate-500">"Each run is queued and carried out in the background; the next page shows the progress. “Yes, run it” is needed unless the macro suppresses confirmation, and always for every match of the search."</p>
                            </fieldset>
                        }.into_any()
                    })
                })}
            </Suspense>
            {children()}
        </ActionForm>
    }
}

/// The box that ticks one row of a list with *Actions*.
#[component]
pub fn RowPick(index: usize, id: i32, label: String) -> impl IntoView {
    view! {
        <input type="checkbox" name=format!("form[ids][{index}]") value=id.to_string() aria-label=format!("Select {label}") class="h-4 w-4 rounded border-slate-300"/>
    }
}

/// "Run a macro on these users (tickets)" on a filter's page; `macros` are the ones of the
/// filter's scope, (id, name), loaded with the page.
#[component]
pub fn BulkRunPanel(
    filter_id: i32,
    matching: u64,
    scope: String,
    macros: Vec<(i32, String)>,
) -> impl IntoView {
    let action = ServerAction::<StartBulkRun>::new();
    let error = action_error(action);
    let what = if scope == "feedback" {
        "tickets"
    } else {
        "users"
    };
    let macro_error = field_error(error, "macro_id");
    let confirm_error = field_error(error, "confirm");
    view! {
        <section aria-labelledby="bulk-action" class=format!("{CARD} mt-6 space-y-3")>
            <h2 id="bulk-action" class="text-lg font-semibold">"Bulk action"</h2>
            <p class="text-sm text-slate-600">{format!("Run a macro on each of the {matching} matching {what}. Each run is queued and carried out in the background; the next page shows the progress.")}</p>
            <ActionForm action=action attr:class="space-y-3">
                <FormAlert error/>
                <input type="hidden" name="form[filter_id]" value=filter_id.to_string()/>
                <div>
                    <label for="f-bulk-macro" class=LABEL>"Macro"</label>
                    <select id="f-bulk-macro" name="form[macro_id]" class=INPUT aria-invalid=move || macro_error.get().is_some().then_some("true")>
                        <option value="">"— choose —"</option>
                        {macros.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                    </select>
                    {move || macro_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Macro", &e)}</p> })}
                </div>
                <label for="f-bulk-confirm" class="flex items-center gap-2 text-sm">
                    <input id="f-bulk-confirm" type="checkbox" name="form[confirm]" class="h-4 w-4 rounded border-slate-300"/>
                    {format!("Yes, run it on all {matching} {what}")}
                </label>
                {move || confirm_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("Confirmation", &e)}</p> })}
                <button type="submit" class=BUTTON>"Perform action"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn BulkRunPage() -> impl IntoView {
    let id = id_param();
    let tick = RwSignal::new(0u32);
    let finished = RwSignal::new(false);
    // Hydrated: look again every second until every run is done.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !finished.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let data = Resource::new(move || (id(), tick.get()), |(id, _)| load_bulk_run(id));
    view! {
        <Title text="Bulk run"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |run| {
                    finished.set(run.finished());
                    view! { <Progress run/> }
                })
            })}
        </Transition>
    }
}

#[component]
fn Progress(run: BulkRunView) -> impl IntoView {
    let percent = run.percent();
    let what = if run.scope == "feedback" {
        "tickets"
    } else {
        "users"
    };
    let state = if run.finished() {
        format!("Finished: {} of {} {what} done.", run.done(), run.total)
    } else {
        format!(
            "Running: {} of {} {what} done ({percent}%).",
            run.done(),
            run.total
        )
    };
    let rows = [
        ("Completed", run.completed),
        ("Skipped (already ran once for the person)", run.skipped),
        ("Failed", run.failed),
        ("Still queued", run.waiting),
    ];
    view! {
        <PageHeader title=format!("Bulk run: {}", run.macro_name)>
            <a class=BUTTON_SECONDARY href="/filters">"Filters"</a>
        </PageHeader>
        {(!run.finished()).then(|| view! { <noscript><meta http-equiv="refresh" content="2"/></noscript> })}
        <section class=format!("{CARD} space-y-4") aria-label="Progress">
            <p class="text-sm text-slate-600">{if run.from_list {
                format!("On {}, started {}.", run.filter_name, run.started_at)
            } else {
                format!("On the {what} of filter \"{}\", started {}.", run.filter_name, run.started_at)
            }}</p>
            <crate::app::components::ProgressBar label="Bulk run progress" percent/>
            <p role="status" class="font-medium">{state}</p>
            <table class=TABLE>
                <caption class="sr-only">"Result summary"</caption>
                <tbody class="divide-y divide-slate-100">
                    {rows.into_iter().map(|(label, n)| view! {
                        <tr><th scope="row" class=TH>{label}</th><td class=TD>{n}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            {(!run.failures.is_empty()).then(|| view! {
                <div>
                    <h2 class="text-base font-semibold">"Why runs failed"</h2>
                    <ul class="ml-5 list-disc text-sm">
                        {run.failures.into_iter().map(|(why, n)| view! { <li>{format!("{why}: {n}")}</li> }).collect_view()}
                    </ul>
                </div>
            })}
            <p class="text-sm">{if what == "users" {
                view! { <a class=LINK href="/users">"Back to users"</a> }.into_any()
            } else {
                view! { <a class=LINK href="/filters">"Back to filters"</a> }.into_any()
            }}</p>
        </section>
    }
}
