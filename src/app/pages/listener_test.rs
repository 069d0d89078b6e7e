//! The listener page's test-request panel: what a call for an email (or, for a feedback
//! listener, a ticket's id or stored value) would do, worked out
//! on the server by the same checks as a real call, without running or logging anything.
//! A plain GET form (`?test=…`), so it works with JavaScript off too.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::app::components::{BUTTON, CARD, INPUT, LABEL, show};
use crate::server_fns::listeners::test_listener;
use crate::types::ListenerTestView;

#[component]
pub fn TestRequestPanel(id: i32, #[prop(optional)] feedback: bool) -> impl IntoView {
    let query = use_query_map();
    let find = move || query.read().get("test").unwrap_or_default();
    let result = Resource::new(
        move || (id, find()),
        |(id, find)| async move {
            if find.trim().is_empty() {
                Ok(None)
            } else {
                test_listener(id, find).await.map(Some)
            }
        },
    );
    view! {
        <section aria-labelledby="test-request" class=format!("{CARD} mb-6 space-y-3")>
            <h2 id="test-request" class="text-lg font-semibold">"Test request"</h2>
            <p class="text-sm text-slate-600">{if feedback { "What would a call for this ticket do? Nothing runs and nothing is logged." } else { "What would a call for this email do? Nothing runs and nothing is logged." }}</p>
            <form method="get" action=format!("/listeners/{id}") class="flex flex-wrap items-end gap-2">
                <div class="min-w-64 flex-1">
                    <label for="f-test-find" class=LABEL>{if feedback { "Ticket to find (its id, or the value the listener finds tickets by)" } else { "Email to find" }}</label>
                    <input id="f-test-find" name="test" type="text" inputmode=if feedback { "text" } else { "email" } autocomplete="off" class=INPUT prop:value=find/>
                </div>
                <button type="submit" class=BUTTON>"Test"</button>
            </form>
            <Suspense fallback=|| view! { <p>"Working it out…"</p> }>
                {move || Suspend::new(async move {
                    show(result.await, move |outcome| outcome.map(|t| view! { <TestResult t feedback/> }))
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TestResult(t: ListenerTestView, feedback: bool) -> impl IntoView {
    let (who, this) = if feedback {
        ("Ticket", "ticket")
    } else {
        ("User", "user")
    };
    let ok = t.status < 300;
    let verdict = format!("A call would answer {} {}", t.status, t.code);
    // Each sentence is one text node, so it reads (and is found) as a whole.
    let tone = if ok {
        "border-emerald-300 bg-emerald-50 text-emerald-900"
    } else {
        "border-amber-300 bg-amber-50 text-amber-900"
    };
    view! {
        <div role="region" aria-label="Test result" class=format!("space-y-3 rounded-md border p-4 text-sm {tone}")>
            <p class="font-semibold">{format!("{verdict}: {}.", t.message.trim_end_matches('.'))}</p>
            <p>{format!("{who}: {}", t.user.clone().unwrap_or_else(|| format!("{} is found for \"{}\"", if feedback { "no ticket" } else { "nobody" }, t.find)))}</p>
            {t.filter.clone().map(|f| {
                let verdict = if f.passes { format!("lets this {this} through") } else { format!("keeps this {this} out") };
                view! {
                    <div>
                        <p>{format!("Filter \"{}\" {verdict} ({}).", f.name, f.summary)}</p>
                        <ul class="mt-1 space-y-0.5">
                            {f.conditions.into_iter().map(|(text, met)| view! {
                                <li>{if met { format!("✓ {text} — met") } else { format!("✗ {text} — not met") }}</li>
                            }).collect_view()}
                        </ul>
                    </div>
                }
            })}
            {if t.actions.is_empty() {
                view! { <p>"No action would run."</p> }.into_any()
            } else {
                view! {
                    <div>
                        <p class="font-medium">"Actions that would run:"</p>
                        <ol class="ml-5 list-decimal">
                            {t.actions.into_iter().map(|a| view! { <li>{a}</li> }).collect_view()}
                        </ol>
                    </div>
                }.into_any()
            }}
        </div>
    }
}
