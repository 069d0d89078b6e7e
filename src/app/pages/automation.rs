//! Automation where the seeds put it: a project's and a feedback type's *Feedback automation*
//! (the feedback listeners, macros and external sources placed there), the *User automation*
//! page (user listeners, user macros, schedules), and the editors' "Where" select. The tables
//! are the community-wide lists' own (`ListenerTable`, `MacroTable`, `SourceTable`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, INPUT, LABEL, LINK, PageHeader, field_sentence, refresh_key, show,
};
use crate::app::pages::external_sources::SourceTable;
use crate::app::pages::listeners::ListenerTable;
use crate::app::pages::macros::MacroTable;
use crate::server_fns::automation::{load_feedback_automation, load_user_automation};
use crate::types::PlaceChoice;

/// The query of an editor opened from a place's automation: `project=…&type=…` (empty when
/// neither is given), to carry through the listener editor's type step.
pub(crate) fn place_query() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || {
        let q = query.read();
        ["project", "type"]
            .into_iter()
            .filter_map(|k| {
                q.get(k)
                    .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
                    .map(|v| format!("&{k}={v}"))
            })
            .collect()
    }
}

/// The choice `?project=` / `?type=` point at: the type (within the project, when one is
/// given), else the project; "" (every project) when they name none of the choices.
pub(crate) fn prefilled(choices: &[PlaceChoice], project: Option<i32>, ty: Option<i32>) -> String {
    let by_type = ty.and_then(|t| {
        choices
            .iter()
            .find(|c| c.type_id == Some(t) && project.is_none_or(|p| c.project_id == Some(p)))
    });
    let by_project = || {
        project.and_then(|p| {
            choices
                .iter()
                .find(|c| c.project_id == Some(p) && c.type_id.is_none())
        })
    };
    by_type
        .or_else(by_project)
        .map(|c| c.value.clone())
        .unwrap_or_default()
}

/// The "Where" select of a feedback macro or listener: every project, a project, or one of
/// its feedback types. `current`: the saved place's value (None for a new one, which starts
/// from `?project=` and `?type=`).
#[component]
pub fn WhereSelect(
    choices: Vec<PlaceChoice>,
    current: Option<String>,
    /// What is placed, for the hint: "macro" or "listener".
    what: &'static str,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let query = use_query_map();
    let chosen = current.unwrap_or_else(|| {
        let q = query.read_untracked();
        let id = |k: &str| q.get(k).and_then(|v| v.parse::<i32>().ok());
        prefilled(&choices, id("project"), id("type"))
    });
    let hint = if what == "macro" {
        "The macro runs only on tickets of this project or feedback type, however it is started."
    } else {
        "The listener finds only tickets of this project or feedback type; another ticket answers as one outside the filter."
    };
    view! {
        <div>
            <label for="f-place" class=LABEL>"Where"</label>
            <select id="f-place" name="form[place]" class=INPUT aria-describedby="f-place-hint"
                aria-invalid=move || error.get().is_some().then_some("true")>
                {choices.into_iter().map(|c| {
                    view! { <option value=c.value.clone() selected=chosen == c.value>{c.label}</option> }
                }).collect_view()}
            </select>
            <p id="f-place-hint" class="mt-1 text-xs text-slate-500">{hint}</p>
            {move || error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Where", &e)}</p> })}
        </div>
    }
}

/// A place's *Feedback automation*: the feedback listeners and macros placed on the project
/// (or the type, and then also the whole project's), the type's external sources, and the
/// buttons that create each with the place filled in. On the project page its sources are
/// listed beside it already (`sources` false).
#[component]
pub fn FeedbackAutomation(project_id: i32, type_id: Option<i32>, sources: bool) -> impl IntoView {
    let data = Resource::new(
        move || (refresh_key(), project_id, type_id),
        |(_, p, t)| load_feedback_automation(p, t),
    );
    let place = match type_id {
        Some(t) => format!("project={project_id}&type={t}"),
        None => format!("project={project_id}"),
    };
    let new_source = format!("/projects/{project_id}/sources/new");
    view! {
        <section aria-labelledby="feedback-automation" class="space-y-4">
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 id="feedback-automation" class="text-lg font-semibold">"Feedback automation"</h2>
                <div class="flex flex-wrap gap-2">
                    <a class=BUTTON href=format!("/listeners/new?scope=feedback&{place}")>"Create an external listener"</a>
                    <a class=BUTTON_SECONDARY href=format!("/macros/new?scope=feedback&{place}")>"Create a macro"</a>
                    <a class=BUTTON_SECONDARY href=new_source>"Create an external source"</a>
                </div>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    show(data.await, move |v| {
                        let here = match &v.feedback_type {
                            Some((_, t)) => format!("tickets of {} in {}", t, v.project.1),
                            None => format!("tickets of {}", v.project.1),
                        };
                        let project_sources = v.sources.clone();
                        view! {
                            <p class="text-sm text-slate-600">
                                {format!("What runs on {here}: listeners other systems call, macros run by hand, on submit or modify, or on a schedule, and the sources that create tickets. ")}
                                {(v.everywhere > 0).then(|| view! {
                                    <span>
                                        {format!("{} more of every project run here too: see ", v.everywhere)}
                                        <a class=format!("{LINK} underline") href="/listeners">"Listeners"</a>" and "<a class=format!("{LINK} underline") href="/macros">"Macros"</a>"."
                                    </span>
                                })}
                            </p>
                            <h3 class="font-semibold">"External listeners"</h3>
                            {if v.listeners.is_empty() {
                                view! { <p class="text-sm text-slate-600">"No listener is placed here yet: Create an external listener gives another system a URL to act on these tickets."</p> }.into_any()
                            } else {
                                view! { <ListenerTable caption="External listeners placed here" listeners=v.listeners place=true/> }.into_any()
                            }}
                            <h3 class="font-semibold">"Macros"</h3>
                            {if v.macros.is_empty() {
                                view! { <p class="text-sm text-slate-600">"No macro is placed here yet: Create a macro changes these tickets by hand, on submit or modify, or on a schedule."</p> }.into_any()
                            } else {
                                view! { <MacroTable caption="Macros placed here" macros=v.macros place=true/> }.into_any()
                            }}
                            {sources.then(|| view! { <SourceTable project_id sources=project_sources/> })}
                        }
                    })
                })}
            </Suspense>
        </section>
    }
}

/// User automation (seed 000: "User automation", "User resources"): user listeners, user
/// macros, and those of them on a schedule.
#[component]
pub fn UserAutomationPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_user_automation());
    view! {
        <Title text="User automation"/>
        <nav aria-label="Breadcrumb" class="mb-2 text-sm"><a class=LINK href="/users">"Users"</a></nav>
        <PageHeader title="User automation".to_string()>
            <a class=BUTTON href="/listeners/new?scope=user">"Create an external listener"</a>
            <a class=BUTTON_SECONDARY href="/macros/new">"Create a macro"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"What acts on the community's members: listeners other systems call with a person's email, and user macros run from a user's page, the users list's Actions, a listener, a bulk run, a schedule, or by themselves when a user is created, joins or leaves a team."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |v| {
                    let scheduled: Vec<_> = v.macros.iter().filter(|m| m.schedule.is_some()).cloned().collect();
                    let on_events: Vec<(i32, String, String)> = v.macros.iter()
                        .filter_map(|m| crate::app::pages::macros::user_automation_line(&m.automation).map(|line| (m.id, m.name.clone(), line)))
                        .collect();
                    view! {
                        <section aria-labelledby="user-listeners" class="mb-6 space-y-2">
                            <h2 id="user-listeners" class="text-lg font-semibold">"External listeners"</h2>
                            {if v.listeners.is_empty() {
                                view! { <p class="text-sm text-slate-600">"No user listener yet: Create an external listener gives another system a URL that acts on the person whose email it sends."</p> }.into_any()
                            } else {
                                view! { <ListenerTable caption="User listeners" listeners=v.listeners place=false/> }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="user-macros" class="mb-6 space-y-2">
                            <h2 id="user-macros" class="text-lg font-semibold">"Macros"</h2>
                            {if v.macros.is_empty() {
                                view! { <p class="text-sm text-slate-600">"No user macro yet: Create a macro adds people to teams, adjusts their score, comments, or removes them."</p> }.into_any()
                            } else {
                                view! { <MacroTable caption="User macros" macros=v.macros place=false/> }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="user-events" class="mb-6 space-y-2">
                            <h2 id="user-events" class="text-lg font-semibold">"On user events"</h2>
                            {if on_events.is_empty() {
                                view! { <p class="text-sm text-slate-600">"No user macro runs on a user event: a macro's Automation runs it when a user is created, joins or leaves a team (a Slack message on a new registration, say)."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="space-y-1 text-sm" aria-label="Macros run on user events">
                                        {on_events.into_iter().map(|(id, name, line)| view! {
                                            <li><a class=format!("{LINK} underline") href=format!("/macros/{id}")>{name}</a> {format!(": {line}.")}</li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="user-schedules" class="space-y-2">
                            <h2 id="user-schedules" class="text-lg font-semibold">"Schedules"</h2>
                            {if scheduled.is_empty() {
                                view! { <p class="text-sm text-slate-600">"No user macro runs on a schedule: a macro's Schedule runs it on a filter's users once, hourly, daily, weekly or monthly."</p> }.into_any()
                            } else {
                                view! { <MacroTable caption="Scheduled user macros" macros=scheduled place=false/> }.into_any()
                            }}
                        </section>
                    }
                })
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::prefilled;
    use crate::types::PlaceChoice;

    fn choice(p: Option<i32>, t: Option<i32>) -> PlaceChoice {
        PlaceChoice {
            value: crate::types::place_value(p, t),
            label: String::new(),
            project_id: p,
            type_id: t,
        }
    }

    #[test]
    fn the_query_prefills_the_type_or_the_project() {
        let all = [
            choice(None, None),
            choice(Some(1), None),
            choice(Some(1), Some(5)),
            choice(Some(2), None),
        ];
        assert_eq!(prefilled(&all, Some(1), Some(5)), "1/5");
        assert_eq!(prefilled(&all, None, Some(5)), "1/5");
        assert_eq!(prefilled(&all, Some(2), Some(5)), "2");
        assert_eq!(prefilled(&all, Some(1), None), "1");
        assert_eq!(prefilled(&all, Some(9), None), "");
        assert_eq!(prefilled(&all, None, None), "");
    }
}
