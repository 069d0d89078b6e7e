use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{CARD, PageHeader, refresh_key, show};
use crate::app::pages::audit::AuditTable;
use crate::server_fns::admin::load_dashboard;

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
                    view! {
                        <PageHeader title=s.community_name.clone()/>
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
                    }
                })
            })}
        </Suspense>
    }
}
