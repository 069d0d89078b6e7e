use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, EmptyState, INPUT, IfCommunityManager, LABEL, LINK, PageHeader,
    Pager, TABLE, TD, TH, encode, refresh_key, show,
};
use crate::app::pages::external_data::{ListColumnsBar, columns_kept};
use crate::app::pages::{ListActions, RowPick};
use crate::server_fns::users::list_users;
use crate::types::{UserListPage, UserQuery, columns_from_url, columns_in_url};

fn href(q: &str, team: Option<i32>, cols: &Option<String>, page: u32) -> String {
    format!("/users?{}&page={page}", list_params(q, team, cols))
}

/// The list's query (search, team, chosen columns) as URL parameters.
fn list_params(q: &str, team: Option<i32>, cols: &Option<String>) -> String {
    let mut params = url_params(&[("q", q.to_string())]);
    if let Some(t) = team {
        params.push_str(&format!("&team={t}"));
    }
    params.push_str(&columns_in_url(cols));
    params
}

fn url_params(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let user_query = move || {
        let q = query.read();
        UserQuery {
            q: q.get("q").unwrap_or_default(),
            team: q.get("team").and_then(|t| t.parse().ok()),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
            cols: columns_from_url(
                q.get("columns").is_some(),
                &q.get_all("col").unwrap_or_default(),
            ),
        }
    };
    let data = Resource::new(
        move || (refresh_key(), user_query()),
        |(_, q)| list_users(q),
    );
    view! {
        <Title text="Users"/>
        <PageHeader title="Users".to_string()>
            <a class=BUTTON_SECONDARY href="/automation/users">"User automation"</a>
            <IfCommunityManager>
                <a class=BUTTON_SECONDARY href="/users/import">"Import CSV"</a>
                <a class=BUTTON href="/users/new">"New user"</a>
            </IfCommunityManager>
        </PageHeader>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let current = user_query();
                Suspend::new(async move { show(data.await, move |page| view! { <UserList page current/> }) })
            }}
        </Suspense>
    }
}

#[component]
fn UserList(page: UserListPage, current: UserQuery) -> impl IntoView {
    let page_count = page.page_count();
    let q = current.q.clone();
    let team = current.team;
    let cols = current.cols.clone();
    let export = format!(
        "/users.csv?{}",
        list_params(&current.q, current.team, &current.cols)
    );
    let mut keep = vec![("q", current.q.clone())];
    if let Some(t) = current.team {
        keep.push(("team", t.to_string()));
    }
    let extra_heads = page.columns.shown.clone();
    // The search, for "every matching user".
    let mut hidden = vec![("form[users][q]", current.q.clone())];
    if let Some(t) = current.team {
        hidden.push(("form[users][team]", t.to_string()));
    }
    view! {
        <Form method="GET" action="/users" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:role="search">
            <div class="min-w-48 flex-1">
                <label for="user-search" class=LABEL>"Search"</label>
                <input id="user-search" name="q" type="search" value=current.q.clone() placeholder="Name or email" class=INPUT/>
            </div>
            <div>
                <label for="team-filter" class=LABEL>"Team"</label>
                <select id="team-filter" name="team" class=INPUT>
                    <option value="" selected=current.team.is_none()>"All teams"</option>
                    {page.teams.iter().map(|t| view! {
                        <option value=t.id.to_string() selected=current.team == Some(t.id)>{t.name.clone()}</option>
                    }).collect_view()}
                </select>
            </div>
            {columns_kept(&current.cols)}
            <button type="submit" class=BUTTON_SECONDARY>"Search"</button>
        </Form>
        <ListColumnsBar action="/users".to_string() keep columns=page.columns.clone() export/>
        {if page.rows.is_empty() {
            view! {
                <EmptyState title="No users match." text="Search for part of a name or an email, or pick another team.">
                    <a class=BUTTON_SECONDARY href="/users">"Show every user"</a>
                </EmptyState>
            }
            .into_any()
        } else {
            view! {
                <ListActions scope="user" total=page.total hidden>
                <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                    <table class=TABLE>
                        <caption class="sr-only">"Users"</caption>
                        <thead class="bg-slate-50">
                            <tr>
                                <th scope="col" class=TH><span class="sr-only">"Select"</span></th>
                                <th scope="col" class=TH>"Name"</th>
                                <th scope="col" class=TH>"Email"</th>
                                <th scope="col" class=TH>"Role"</th>
                                <th scope="col" class=TH>"Teams"</th>
                                <th scope="col" class=format!("{TH} text-right")>"Score"</th>
                                <th scope="col" class=format!("{TH} hidden md:table-cell")>"Joined"</th>
                                {extra_heads.iter().map(|c| view! { <th scope="col" class=TH>{c.label.clone()}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {page.rows.into_iter().enumerate().map(|(i, u)| view! {
                                <tr>
                                    <td class=TD><RowPick index=i id=u.id label=format!("{} {}", u.first_name, u.last_name)/></td>
                                    <td class=TD><a class=LINK href=format!("/users/{}", u.id)>{format!("{} {}", u.first_name, u.last_name)}</a></td>
                                    <td class=TD>{u.email}</td>
                                    <td class=TD>{u.role.label()}</td>
                                    <td class=TD>{u.teams.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ")}</td>
                                    <td class=format!("{TD} text-right tabular-nums")>{u.score}</td>
                                    <td class=format!("{TD} hidden whitespace-nowrap md:table-cell")>{u.created_at}</td>
                                    {u.extra.into_iter().map(|v| view! { <td class=TD>{v}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                </ListActions>
            }.into_any()
        }}
        <Pager page=page.page page_count total=page.total href_for=move |n| href(&q, team, &cols, n)/>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_keep_the_filters() {
        assert_eq!(
            super::href("ada l&o", Some(3), &None, 2),
            "/users?q=ada%20l%26o&team=3&page=2"
        );
        assert_eq!(super::href("", None, &None, 0), "/users?q=&page=0");
        assert_eq!(
            super::href("", None, &Some("4,9".into()), 1),
            "/users?q=&columns=chosen&col=4&col=9&page=1"
        );
    }
}
