use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON_SECONDARY, EmptyState, INPUT, LABEL, LINK, PageHeader, Pager, TABLE, TD, TH,
    refresh_key, show,
};
use crate::server_fns::listener_log::load_listener_log;
use crate::types::{CallQuery, ListenerCallView, ListenerLogView, listener_status_label};

/// The log's URL for these filters and page; only the filters that are set appear.
pub fn log_href(query: &CallQuery, page: u32) -> String {
    let mut params = Vec::new();
    if let Some(id) = query.listener_id {
        params.push(format!("listener={id}"));
    }
    if let Some(status) = query.status {
        params.push(format!("status={status}"));
    }
    if let Some(id) = query.user_id {
        params.push(format!("user={id}"));
    }
    if page > 0 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        "/listeners/log".to_string()
    } else {
        format!("/listeners/log?{}", params.join("&"))
    }
}

/// Listener calls as a table; `caption` names it for screen readers (and for tests).
#[component]
pub fn CallTable(calls: Vec<ListenerCallView>, caption: &'static str) -> impl IntoView {
    view! {
        <div tabindex="0" class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
            <table class=TABLE>
                <caption class="sr-only">{caption}</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Time"</th>
                        <th scope="col" class=TH>"Listener"</th>
                        <th scope="col" class=TH>"Caller IP"</th>
                        <th scope="col" class=TH>"Target"</th>
                        <th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=TH>"Outcome"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Duration"</th>
                        <th scope="col" class=TH>"Run"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {calls.into_iter().map(|c| {
                        let badge = match c.status {
                            200..=299 => "bg-emerald-50 text-emerald-800 ring-emerald-200",
                            400..=499 => "bg-amber-50 text-amber-900 ring-amber-200",
                            _ => "bg-red-50 text-red-800 ring-red-200",
                        };
                        view! {
                            <tr>
                                <td class=format!("{TD} whitespace-nowrap")>
                                    <a class=LINK href=format!("/listeners/log/{}", c.id) title="What the call brought">{c.received_at}</a>
                                </td>
                                <td class=format!("{TD} whitespace-nowrap")>{c.listener}</td>
                                <td class=format!("{TD} font-mono text-xs leading-5 whitespace-nowrap")>{c.caller_ip}</td>
                                <td class=format!("{TD} whitespace-nowrap")>
                                    {if c.target.is_empty() && (c.code == "replayed" || c.code == "idempotency_key_in_flight") {
                                        view! { <span class="text-slate-600">"as the first call"</span> }.into_any()
                                    } else if c.target.is_empty() {
                                        "—".into_any()
                                    } else {
                                        c.target.into_any()
                                    }}
                                </td>
                                <td class=TD>
                                    <span class=format!("inline-block rounded px-1.5 py-0.5 text-xs font-semibold tabular-nums ring-1 {badge}")>{c.status}</span>
                                </td>
                                <td class=format!("{TD} font-mono text-xs leading-5 whitespace-nowrap")>
                                    {c.code}
                                    {(c.repeats > 1).then(|| view! {
                                        <span class="ml-1 font-sans text-slate-600">{format!("× {} calls in this minute", c.repeats)}</span>
                                    })}
                                </td>
                                <td class=format!("{TD} whitespace-nowrap text-right tabular-nums")>{format!("{} ms", c.duration_ms)}</td>
                                <td class=format!("{TD} tabular-nums")>{c.run_id.map(|r| format!("#{r}")).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn query_from_url() -> impl Fn() -> CallQuery + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || {
        let q = query.read();
        CallQuery {
            listener_id: q.get("listener").and_then(|v| v.parse().ok()),
            status: q.get("status").and_then(|v| v.parse().ok()),
            user_id: q.get("user").and_then(|v| v.parse().ok()),
            page: q.get("page").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }
}

#[component]
pub fn ListenerLogPage() -> impl IntoView {
    let call_query = query_from_url();
    let data = Resource::new(
        move || (refresh_key(), call_query()),
        |(_, q)| load_listener_log(q),
    );
    view! {
        <Title text="Listener log"/>
        <PageHeader title="Listener log".to_string()>
            <a class=BUTTON_SECONDARY href="/listeners">"Listeners"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"Every call third parties made to a listener URL, newest first. An address that matched nobody is shown masked; a removed person appears only as a pseudonym."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let current = call_query();
                Suspend::new(async move { show(data.await, move |log| view! { <LogView log current/> }) })
            }}
        </Suspense>
    }
}

#[component]
fn LogView(log: ListenerLogView, current: CallQuery) -> impl IntoView {
    let page_count = log.calls.page_count();
    let filtered =
        current.listener_id.is_some() || current.status.is_some() || current.user_id.is_some();
    let everyone = CallQuery {
        user_id: None,
        ..current.clone()
    };
    let pager_query = current.clone();
    view! {
        {log.user.clone().map(|(id, name)| view! {
            <div class="mb-4 flex flex-wrap items-center gap-x-3 gap-y-1 rounded-md border border-indigo-200 bg-indigo-50 px-4 py-2 text-sm text-indigo-950">
                <span>"Calls about " <a class=LINK href=format!("/users/{id}")>{name}</a></span>
                <a class=LINK href=log_href(&everyone, 0)>"Show calls about everyone"</a>
            </div>
        })}
        <Form method="GET" action="/listeners/log" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:role="search" attr:aria-label="Filter the log">
            {current.user_id.map(|id| view! { <input type="hidden" name="user" value=id.to_string()/> })}
            <div>
                <label for="log-listener" class=LABEL>"Listener"</label>
                <select id="log-listener" name="listener" class=INPUT>
                    <option value="" selected=current.listener_id.is_none()>"All listeners"</option>
                    {log.listeners.iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=current.listener_id == Some(*id)>{name.clone()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="log-status" class=LABEL>"Status"</label>
                <select id="log-status" name="status" class=INPUT>
                    <option value="" selected=current.status.is_none()>"All statuses"</option>
                    {log.statuses.iter().map(|s| view! {
                        <option value=s.to_string() selected=current.status == Some(*s)>{format!("{s} {}", listener_status_label(*s))}</option>
                    }).collect_view()}
                </select>
            </div>
            // Named, because the hydrated `<Form>` sends its submit button even without a name
            // (as "&="); new filters start again at the first page.
            <button type="submit" name="page" value="0" class=BUTTON_SECONDARY>"Apply filters"</button>
            {filtered.then(|| view! { <a class=format!("{LINK} pb-2 text-sm") href="/listeners/log">"Clear filters"</a> })}
        </Form>
        {if log.calls.calls.is_empty() {
            if filtered {
                view! { <EmptyState title="No calls match these filters." text="Change the filters above, or clear them to see every call."/> }.into_any()
            } else {
                view! { <EmptyState title="No calls yet." text="Every call another system makes to a listener or an external source is listed here: when, from where, for whom, and the answer it got. Calls refused before their API key was accepted are counted once a minute."/> }.into_any()
            }
        } else {
            view! { <CallTable calls=log.calls.calls.clone() caption="Listener calls"/> }.into_any()
        }}
        <Pager page=log.calls.page page_count total=log.calls.total href_for=move |n| log_href(&pager_query, n)/>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_only_the_filters_that_are_set() {
        assert_eq!(log_href(&CallQuery::default(), 0), "/listeners/log");
        let q = CallQuery {
            listener_id: Some(3),
            status: Some(404),
            user_id: Some(7),
            page: 0,
        };
        assert_eq!(
            log_href(&q, 2),
            "/listeners/log?listener=3&status=404&user=7&page=2"
        );
        let q = CallQuery {
            user_id: Some(7),
            ..CallQuery::default()
        };
        assert_eq!(log_href(&q, 0), "/listeners/log?user=7");
    }
}
