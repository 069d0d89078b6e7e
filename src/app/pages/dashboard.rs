use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, LINK, PageHeader, refresh_after, refresh_key, show,
};
use crate::app::pages::audit::AuditTable;
use crate::server_fns::admin::{DismissAlert, SetGetStartedHidden, load_dashboard};
use crate::types::{AlertView, GetStarted, SetupStep, StepState};

/// Open alerts: a webhook failing or paused by the product, a listener refusing its calls.
#[component]
fn Alerts(alerts: Vec<AlertView>) -> impl IntoView {
    let dismiss = ServerAction::<DismissAlert>::new();
    refresh_after(dismiss);
    (!alerts.is_empty()).then(|| view! {
        <section aria-labelledby="alerts-heading" class="mb-6 space-y-2">
            <h2 id="alerts-heading" class="text-lg font-semibold">"Needs attention"</h2>
            <ul class="space-y-2">
                {alerts.into_iter().map(|a| view! {
                    <li class="flex flex-wrap items-start justify-between gap-3 rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-950">
                        <div class="min-w-0 flex-1">
                            <p>{a.message}</p>
                            <p class="mt-1 text-xs text-amber-900">{a.created_at}" · "<a class=format!("{LINK} underline") href=a.href>"Open"</a></p>
                        </div>
                        <ActionForm action=dismiss>
                            <input type="hidden" name="id" value=a.id.to_string()/>
                            <button type="submit" class=BUTTON_SECONDARY>"Dismiss"</button>
                        </ActionForm>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    })
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let stats = Resource::new(refresh_key, |_| load_dashboard());
    view! {
        <Title text="Dashboard"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(stats.await, |s| {
                    let cards = [
                        ("Users", s.users, Some("/users")),
                        ("Managers", s.managers, Some("/users")),
                        ("Teams", s.teams, Some("/teams")),
                        ("Projects", s.projects, None),
                    ];
                    let hidden = s.get_started.hidden;
                    view! {
                        <PageHeader title=s.community_name.clone()/>
                        <Alerts alerts=s.alerts/>
                        <GetStartedPanel get_started=s.get_started/>
                        <section aria-label="Totals" class="grid grid-cols-2 gap-4 md:grid-cols-4">
                            {cards.into_iter().map(|(label, n, href)| {
                                let body = view! {
                                    <p class="text-sm text-slate-600">{label}</p>
                                    <p class="mt-1 text-3xl font-semibold">{n}</p>
                                };
                                match href {
                                    Some(href) => view! { <a href=href class=format!("{CARD} block hover:border-indigo-300")>{body}</a> }.into_any(),
                                    None => view! { <div class=CARD>{body}</div> }.into_any(),
                                }
                            }).collect_view()}
                        </section>
                        {s.recent.map(|entries| view! {
                            <section class="mt-8">
                                <h2 class="mb-3 text-lg font-semibold">"Recent activity"</h2>
                                <AuditTable entries/>
                            </section>
                        })}
                        {hidden.then(|| view! {
                            <HideForm hidden=false label="Show the Get started checklist" class="mt-8 text-sm"/>
                        })}
                    }
                })
            })}
        </Suspense>
    }
}

/// What a step says: its name, why it matters and what to do while it is to do, the button's
/// words, and what the made thing is called once it is done.
struct StepText {
    title: &'static str,
    todo: &'static str,
    button: &'static str,
    made: &'static str,
}

/// A step's words; `removal`: the checklist sets up a removal (a community manager's), else
/// a listener running one of the macros a project manager may use.
fn text(step: SetupStep, has_listener: bool, removal: bool) -> StepText {
    match step {
        SetupStep::ApiKey => StepText {
            title: "Create an API key",
            todo: "Other systems send an API key with every call to a listener. Make one for the system that will ask for removals.",
            button: "New API key",
            made: "API key",
        },
        SetupStep::RemovalMacro => StepText {
            title: "Make a macro that removes users",
            todo: "A user macro with the Remove user action erases a person and what they wrote. The listener will run it.",
            button: "New user macro",
            made: "Macro",
        },
        SetupStep::Filter => StepText {
            title: "Make a user filter",
            todo: "A filter limits whom a listener may act on (team Customers, say), so a mistaken call cannot reach your own staff.",
            button: "New user filter",
            made: "Filter",
        },
        SetupStep::Listener => StepText {
            title: "Add a listener",
            todo: if removal {
                "A listener is the URL the other system calls with a person's email. Give it the macro, the filter and the API key."
            } else {
                "A listener is the URL another system calls with a person's email. Give it a macro, the filter and an API key (a community manager makes API keys)."
            },
            button: "New user listener",
            made: "Listener",
        },
        SetupStep::TryListener => StepText {
            title: "Try the listener",
            todo: if has_listener {
                "The test panel on the listener's page shows what a call for an email would do, without doing it. Then send one real call: this step is done when the listener log shows it."
            } else {
                "Once a listener exists, its page shows what a call would do and how to send the first one."
            },
            button: "Open the test panel",
            made: "First call logged for",
        },
    }
}

/// Where a step's button goes while it is to do (`item`: the listener to try).
fn todo_href(step: SetupStep, item: Option<i32>) -> Option<String> {
    Some(match step {
        SetupStep::ApiKey => "/api-keys/new".into(),
        SetupStep::RemovalMacro => "/macros/new".into(),
        SetupStep::Filter => "/filters/new".into(),
        // The step is a listener that runs a macro: its editor, past the type step.
        SetupStep::Listener => "/listeners/new?kind=macro".into(),
        SetupStep::TryListener => format!("/listeners/{}#test-request", item?),
    })
}

/// The page of what a step made.
fn item_href(step: SetupStep, id: i32) -> String {
    match step {
        SetupStep::ApiKey => format!("/api-keys/{id}"),
        SetupStep::RemovalMacro => format!("/macros/{id}"),
        SetupStep::Filter => format!("/filters/{id}"),
        SetupStep::Listener => format!("/listeners/{id}"),
        SetupStep::TryListener => format!("/listeners/log?listener={id}"),
    }
}

/// The checklist: every step while some are to do, one line once all are done, nothing once
/// hidden.
#[component]
fn GetStartedPanel(get_started: GetStarted) -> impl IntoView {
    if get_started.hidden || get_started.steps.is_empty() {
        return ().into_any();
    }
    if get_started.all_done() {
        return view! {
            <section aria-label="Get started" class="mb-6 flex flex-wrap items-center justify-between gap-x-4 gap-y-2 rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900">
                <p><span aria-hidden="true">"✓ "</span>"All set: every step of Get started is done."</p>
                <HideForm hidden=true label="Hide this line" class="text-sm"/>
            </section>
        }
        .into_any();
    }
    let total = get_started.steps.len();
    let done = get_started.steps.iter().filter(|s| s.done).count();
    // The first step to do has the main button; the later ones, a plain one.
    let next = get_started.steps.iter().position(|s| !s.done);
    // A project manager's checklist has no removal step: theirs wires a listener to a macro.
    let removal = get_started
        .steps
        .iter()
        .any(|s| s.step == SetupStep::RemovalMacro);
    let purpose = if removal {
        "Let another system ask for a person's removal."
    } else {
        "Let another system run a macro on a person."
    };
    view! {
        <section aria-labelledby="get-started" class=format!("{CARD} mb-6")>
            <div class="flex flex-wrap items-start justify-between gap-x-4 gap-y-2">
                <div class="min-w-0">
                    <h2 id="get-started" class="text-lg font-semibold">"Get started"</h2>
                    <p class="text-sm text-slate-600">
                        {format!("{purpose} {done} of {total} steps done.")}
                    </p>
                </div>
                <HideForm hidden=true label="Hide this checklist" class="text-sm"/>
            </div>
            <ol class="mt-4 space-y-3">
                {get_started.steps.into_iter().enumerate().map(|(i, s)| view! { <Step number=i + 1 state=s next=next == Some(i) removal/> }).collect_view()}
            </ol>
        </section>
    }
    .into_any()
}

#[component]
fn Step(number: usize, state: StepState, next: bool, removal: bool) -> impl IntoView {
    let StepState { step, done, item } = state;
    let words = text(step, item.is_some(), removal);
    let (marker, marker_class, badge, badge_class) = if done {
        (
            "✓".to_string(),
            "bg-emerald-600 text-white",
            "Done",
            "bg-emerald-100 text-emerald-800",
        )
    } else {
        (
            number.to_string(),
            "border border-slate-300 bg-white text-slate-700",
            "To do",
            "bg-slate-100 text-slate-700",
        )
    };
    let body = if done {
        item.map(|(id, name)| {
            view! {
                <p class="mt-1 text-sm text-slate-700">
                    {words.made} " " <a class=LINK href=item_href(step, id)>{name}</a>
                </p>
            }
        })
        .into_any()
    } else {
        let href = todo_href(step, item.map(|(id, _)| id));
        view! {
            <p class="mt-1 text-sm text-slate-600">{words.todo}</p>
            {href.map(|href| view! {
                <a class=format!("{} mt-3", if next { BUTTON } else { BUTTON_SECONDARY }) href=href>{words.button}</a>
            })}
        }
        .into_any()
    };
    view! {
        <li class="flex gap-3 rounded-md border border-slate-200 p-3 sm:p-4">
            <span aria-hidden="true" class=format!("flex h-7 w-7 shrink-0 items-center justify-center rounded-full text-sm font-semibold {marker_class}")>{marker}</span>
            <div class="min-w-0 flex-1">
                <div class="flex flex-wrap items-center gap-x-2 gap-y-1">
                    <h3 class="font-medium">{words.title}</h3>
                    <span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {badge_class}")>{badge}</span>
                </div>
                {body}
            </div>
        </li>
    }
}

/// A one-button form that hides the checklist (`hidden`) or shows it again.
#[component]
fn HideForm(hidden: bool, label: &'static str, class: &'static str) -> impl IntoView {
    let action = ServerAction::<SetGetStartedHidden>::new();
    refresh_after(action);
    view! {
        <ActionForm action=action attr:class=class>
            <input type="hidden" name="hidden" value=hidden.to_string()/>
            <button type="submit" class=format!("{LINK} font-medium")>{label}</button>
        </ActionForm>
    }
}
