use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::app::components::{BUTTON, CARD, IfCommunityManager, PageHeader, show};
use crate::app::pages::audit::AuditTable;
use crate::server_fns::users::load_user_detail;

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let data = Resource::new(id, load_user_detail);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |d| {
                    let u = d.user;
                    let name = format!("{} {}", u.first_name, u.last_name);
                    let edit = format!("/users/{}/edit", u.id);
                    let teams = if u.teams.is_empty() {
                        "No team".to_string()
                    } else {
                        u.teams.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ")
                    };
                    let facts = [
                        ("Email", u.email.clone()),
                        ("Role", u.role.label().to_string()),
                        ("Teams", teams),
                        ("Score", u.score.to_string()),
                        ("Signs in to admin screens", if d.can_sign_in { "Yes" } else { "No" }.to_string()),
                        ("Joined", u.created_at.clone()),
                        ("Last changed", d.updated_at.clone()),
                    ];
                    view! {
                        <Title text=name.clone()/>
                        <PageHeader title=name>
                            <IfCommunityManager>
                                <a class=BUTTON href=edit.clone()>"Edit user"</a>
                            </IfCommunityManager>
                        </PageHeader>
                        <section aria-label="Summary" class=CARD>
                            <dl class="grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-2">
                                {facts.into_iter().map(|(k, v)| view! {
                                    <div>
                                        <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">{k}</dt>
                                        <dd class="mt-0.5 text-sm">{v}</dd>
                                    </div>
                                }).collect_view()}
                            </dl>
                        </section>
                        <section class="mt-8">
                            <h2 class="mb-3 text-lg font-semibold">"Activity"</h2>
                            <AuditTable entries=d.activity/>
                        </section>
                    }
                })
            })}
        </Suspense>
    }
}
