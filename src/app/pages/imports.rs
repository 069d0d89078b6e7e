use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, INPUT, LABEL, PageHeader, TABLE, TD, TH, capitalise, id_param,
    refresh_key, show,
};
use crate::server_fns::users::load_import_report;

/// The upload form posts to an axum route (a file upload is a plain multipart form), which
/// redirects to the report or back here with the error.
#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    view! {
        <Title text="Import users"/>
        <PageHeader title="Import users from CSV".to_string()/>
        <crate::app::components::CommunityManagersOnly>
        <div class=format!("{CARD} space-y-4")>
            <p class="text-sm text-slate-700">
                "The first row names the columns: " <code>"email"</code> ", " <code>"first_name"</code> ", " <code>"last_name"</code>
                ", and optionally " <code>"role"</code> " (participant, project_manager, community_manager), " <code>"score"</code>
                " and " <code>"teams"</code> " (team names separated by semicolons). Good rows are imported; every bad row is listed with its problems."
            </p>
            <pre class="relative overflow-x-auto rounded bg-slate-100 p-3 text-xs">"email,first_name,last_name,teams\nada@example.com,Ada,Lovelace,Customers\ngrace@example.com,Grace,Hopper,Customers;Testers"</pre>
            {move || error().map(|e| view! {
                <div role="alert" class="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900">{capitalise(&e)} "."</div>
            })}
            <form method="post" action="/users/import/upload" enctype="multipart/form-data" class="space-y-4">
                <div>
                    <label for="f-file" class=LABEL>"CSV file"</label>
                    <input id="f-file" name="file" type="file" accept=".csv,text/csv" required=true class=INPUT/>
                </div>
                <div class="flex gap-2">
                    <button type="submit" class=BUTTON>"Import"</button>
                    <a class=BUTTON_SECONDARY href="/users">"Cancel"</a>
                </div>
            </form>
        </div>
        </crate::app::components::CommunityManagersOnly>
    }
}

#[component]
pub fn ImportReportPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, v)| load_import_report(v),
    );
    view! {
        <Title text="Import report"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |r| view! {
                    <PageHeader title="Import report".to_string()>
                        <a class=BUTTON_SECONDARY href="/users/import">"Import another file"</a>
                        <a class=BUTTON href="/users">"Go to users"</a>
                    </PageHeader>
                    <p role="status" class="mb-4 text-sm">
                        {format!("{}: {} of {} rows imported, {} rejected ({}).", r.file_name, r.imported, r.total_rows, r.failed, r.created_at)}
                    </p>
                    {(!r.errors.is_empty()).then(|| view! {
                        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                            <table class=TABLE>
                                <caption class="px-3 py-2 text-left font-semibold">"Rejected rows"</caption>
                                <thead class="bg-slate-50">
                                    <tr>
                                        <th scope="col" class=TH>"Line"</th>
                                        <th scope="col" class=TH>"Email"</th>
                                        <th scope="col" class=TH>"Problems"</th>
                                    </tr>
                                </thead>
                                <tbody class="divide-y divide-slate-100">
                                    {r.errors.into_iter().map(|e| view! {
                                        <tr>
                                            <td class=format!("{TD} tabular-nums")>{e.line}</td>
                                            <td class=TD>{e.email}</td>
                                            <td class=TD>
                                                <ul class="list-disc pl-4">
                                                    {e.messages.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                                                </ul>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })}
                })
            })}
        </Suspense>
    }
}
