//! *Listen for a test call* on a listener page, and what a past call brought (the call log's
//! detail page). Both show a call's headers (secret values masked) and its body as a tree of
//! paths; on the listener page, each value is a button that fills the chosen setting with its
//! path. The buttons are a plain form's submit buttons, so mapping works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, FormAlert, INPUT, LABEL, LINK, PageHeader, TABLE, TD, TH,
    action_error, field_error, field_sentence, refresh_key, show,
};
use crate::server_fns::listeners::{
    ListenForTestCall, MapTestCallValue, load_call_request, load_test_call,
};
use crate::types::{BodyRow, CallRequestView, TestCallView};

/// The listener page's panel. Hydrated, it looks again every two seconds while it listens;
/// without JavaScript, *Check again* reloads the page.
#[component]
pub fn TestCallPanel(
    id: i32,
    /// An external source's page (else a listener's).
    #[prop(optional)]
    source: bool,
) -> impl IntoView {
    let target = if source { "source" } else { "listener" };
    let tick = RwSignal::new(0u32);
    let listening = RwSignal::new(false);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if listening.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    // Not keyed by the page's refresh: the listener page draws a new panel when it refreshes
    // (a refresh here too would await a resource the redraw disposed of).
    let data = Resource::new(
        move || (tick.get(), id),
        move |(_, id)| load_test_call(target.to_string(), id),
    );
    view! {
        <section id="test-call" aria-labelledby="test-call-heading" class=format!("{CARD} mb-6 space-y-3")>
            <h2 id="test-call-heading" class="text-lg font-semibold">"Listen for a test call"</h2>
            <p class="text-sm text-slate-600">{format!(
                "Have the other system send one real call to this {target}'s URL ({}). The first call to come while it listens is kept here and answered 200; nothing runs. Then click a value to fill a setting with its path.",
                if source { "in Stripe: send a test event to the endpoint" } else { "in Jira: save the webhook, then change an issue" }
            )}</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    show(data.await, move |t| {
                        listening.set(t.listening_until.is_some());
                        view! { <TestCallBody t/> }
                    })
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TestCallBody(t: TestCallView) -> impl IntoView {
    let listen = ServerAction::<ListenForTestCall>::new();
    let listen_error = action_error(listen);
    let id = t.listener_id;
    let page = if t.target == "source" {
        format!("/external-sources/{id}#test-call")
    } else {
        format!("/listeners/{id}#test-call")
    };
    let state = match &t.listening_until {
        Some(until) => view! {
            <div role="status" class="rounded-md border border-indigo-200 bg-indigo-50 px-4 py-3 text-sm text-indigo-900">
                <p class="font-semibold">{format!("Listening until {until}.")}</p>
                <p>"Send the call now. This panel shows it as soon as it comes; without JavaScript, check again."</p>
                <a class=LINK href=page>"Check again"</a>
            </div>
        }
        .into_any(),
        None => ().into_any(),
    };
    let listening = t.listening_until.is_some();
    let has_call = t.call.is_some();
    let (kind, map_kind) = (t.target.clone(), t.target.clone());
    view! {
        {state}
        <ActionForm action=listen attr:class="flex flex-wrap items-center gap-3">
            <FormAlert error=listen_error/>
            <input type="hidden" name="id" value=id.to_string()/>
            <input type="hidden" name="target" value=kind/>
            <input type="hidden" name="listen" value=if listening { "off" } else { "on" }/>
            <button type="submit" class=if listening { BUTTON_SECONDARY } else { BUTTON }>
                {match (listening, has_call) {
                    (true, _) => "Stop listening",
                    (false, false) => "Listen for a test call",
                    (false, true) => "Listen for another call",
                }}
            </button>
        </ActionForm>
        {match t.call {
            Some(call) => view! { <MapCall call targets=t.targets id target=map_kind/> }.into_any(),
            None => view! { <p class="text-sm text-slate-600">"No test call yet."</p> }.into_any(),
        }}
    }
}

/// The kept test call, its values as buttons that fill the chosen setting.
#[component]
fn MapCall(
    call: CallRequestView,
    targets: Vec<(String, String, String)>,
    id: i32,
    target: String,
) -> impl IntoView {
    let map = ServerAction::<MapTestCallValue>::new();
    let error = action_error(map);
    let field_err = field_error(error, "field");
    let path_err = field_error(error, "path");
    let tree = call.tree.clone();
    view! {
        <h3 class="text-base font-semibold">{format!("Test call received {} from {}", call.received_at, call.caller_ip)}</h3>
        <Headers headers=call.headers.clone()/>
        {if tree.is_empty() {
            view! { <RawBody call/> }.into_any()
        } else {
            view! {
                <ActionForm action=map attr:class="space-y-3">
                    <FormAlert error/>
                    <input type="hidden" name="form[id]" value=id.to_string()/>
                    <input type="hidden" name="form[target]" value=target/>
                    <div class="max-w-md">
                        <label for="f-map-field" class=LABEL>"Fill this setting"</label>
                        <select id="f-map-field" name="form[field]" class=INPUT>
                            {targets.into_iter().map(|(field, label, now)| {
                                let shown = if now.is_empty() { label } else { format!("{label} — now {now}") };
                                view! { <option value=field>{shown}</option> }
                            }).collect_view()}
                        </select>
                        {move || field_err.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Setting", &e)}</p> })}
                        {move || path_err.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Path", &e)}</p> })}
                    </div>
                    <p class="text-sm text-slate-600">"…with the path of the value you click:"</p>
                    <BodyTree rows=tree mapping=true/>
                </ActionForm>
            }.into_any()
        }}
    }
}

/// A call's headers, secret values masked.
#[component]
fn Headers(headers: Vec<(String, String)>) -> impl IntoView {
    let count = headers.len();
    view! {
        <details class="rounded-md border border-slate-200">
            <summary class="cursor-pointer px-3 py-2 text-sm font-medium">{format!("Headers ({count})")}</summary>
            <div class="overflow-x-auto">
                <table class=TABLE>
                    <caption class="sr-only">"Headers"</caption>
                    <thead class="bg-slate-50"><tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Value"</th>
                    </tr></thead>
                    <tbody class="divide-y divide-slate-100">
                        {headers.into_iter().map(|(n, v)| view! {
                            <tr>
                                <td class=format!("{TD} font-mono text-xs whitespace-nowrap")>{n}</td>
                                <td class=format!("{TD} font-mono text-xs break-all")>{v}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

/// A body that is no tree (not JSON, cut short, or empty): as text, with why.
#[component]
fn RawBody(call: CallRequestView) -> impl IntoView {
    view! {
        {call.tree_note.map(|n| view! { <p class="text-sm text-slate-600">{n}</p> })}
        {(!call.body.is_empty()).then(|| view! {
            <pre class="max-h-96 overflow-auto rounded-md bg-slate-50 p-3 font-mono text-xs whitespace-pre-wrap break-all">{call.body}</pre>
        })}
    }
}

/// A tree row's indent by depth (deeper rows share the last).
const INDENTS: [&str; 8] = [
    "pl-0", "pl-5", "pl-10", "pl-14", "pl-20", "pl-24", "pl-28", "pl-32",
];

/// The body's rows; with `mapping`, each value is a submit button carrying its path.
#[component]
fn BodyTree(rows: Vec<BodyRow>, mapping: bool) -> impl IntoView {
    view! {
        <ul aria-label="Body" class="overflow-x-auto rounded-md border border-slate-200 bg-slate-50 p-3 font-mono text-xs">
            {rows.into_iter().map(|r| {
                // Classes, not an inline style (the Content-Security-Policy blocks those).
                let indent = INDENTS[usize::from(r.depth).min(INDENTS.len() - 1)];
                match (r.value, r.path) {
                    (Some(value), Some(path)) if mapping => view! {
                        <li class=format!("{indent} py-0.5")>
                            <span class="text-slate-600">{r.label}": "</span>
                            <button type="submit" name="form[path]" value=path.clone() title=path.clone()
                                aria-label=format!("Use {path} ({value})")
                                class="rounded px-1 text-left text-indigo-800 underline decoration-dotted hover:bg-indigo-100 focus:outline-none focus:ring-2 focus:ring-indigo-500">
                                {value.clone()}
                            </button>
                        </li>
                    }.into_any(),
                    (Some(value), path) => view! {
                        <li class=format!("{indent} py-0.5") title=path.unwrap_or_default()>
                            <span class="text-slate-600">{r.label}": "</span>{value}
                        </li>
                    }.into_any(),
                    _ => view! {
                        <li class=format!("{indent} py-0.5 text-slate-600")>{r.label}</li>
                    }.into_any(),
                }
            }).collect_view()}
        </ul>
    }
}

/// `/listeners/log/:id`: one call of the log and what it brought.
#[component]
pub fn CallRequestPage() -> impl IntoView {
    let id = crate::app::components::long_id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| load_call_request(id),
    );
    view! {
        <Title text="Listener call"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |call| {
                    let title = format!("Call to {} at {}", call.listener, call.received_at);
                    let rows = call.tree.clone();
                    view! {
                        <PageHeader title=title>
                            <a class=BUTTON_SECONDARY href="/listeners/log">"Listener log"</a>
                        </PageHeader>
                        <section class=format!("{CARD} space-y-3")>
                            <p class="text-sm">{format!("From {} · answered {} {} · body {} bytes", call.caller_ip, call.status, call.code, call.bytes)}</p>
                            {(!call.headers.is_empty()).then(|| view! { <Headers headers=call.headers.clone()/> })}
                            {if rows.is_empty() {
                                view! { <RawBody call/> }.into_any()
                            } else {
                                view! { <BodyTree rows mapping=false/> }.into_any()
                            }}
                        </section>
                    }
                })
            })}
        </Suspense>
    }
}
