use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{EmptyState, PageHeader, Pager, TABLE, TD, TH, refresh_key, show};
use crate::server_fns::admin::load_audit_page;
use crate::types::AuditEntry;

#[component]
pub fn AuditTable(entries: Vec<AuditEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <EmptyState title="Nothing recorded yet." text="Every sign-in attempt and every change made in these screens is recorded here."/> }.into_any();
    }
    view! {
        <div tabindex="0" class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
            <table class=TABLE>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"When"</th>
                        <th scope="col" class=TH>"Who"</th>
                        <th scope="col" class=TH>"What"</th>
                        <th scope="col" class=TH>"Subject"</th>
                        <th scope="col" class=TH>"Details"</th>
                        <th scope="col" class=TH>"IP"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {entries.into_iter().map(|e| view! {
                        <tr>
                            <td class=format!("{TD} whitespace-nowrap")>{e.created_at}</td>
                            <td class=TD>{e.actor}</td>
                            <td class=format!("{TD} font-mono text-xs")>{e.action}</td>
                            <td class=TD>{e.subject}</td>
                            <td class=TD>{e.detail}</td>
                            <td class=format!("{TD} font-mono text-xs")>{e.ip}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn AuditPageView() -> impl IntoView {
    let query = use_query_map();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let data = Resource::new(move || (refresh_key(), page()), |(_, v)| load_audit_page(v));
    view! {
        <Title text="Audit log"/>
        <PageHeader title="Audit log".to_string()/>
        <p class="mb-4 text-sm text-slate-600">"Every sign-in attempt and every change made in the admin screens. Entries cannot be changed or removed."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |p| {
                    let page_count = (p.total.div_ceil(p.per_page as u64)).max(1) as u32;
                    view! {
                        <AuditTable entries=p.entries/>
                        <Pager page=p.page page_count total=p.total href_for=|n| format!("/audit?page={n}")/>
                    }
                })
            })}
        </Suspense>
    }
}
