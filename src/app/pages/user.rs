use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::{
    BUTTON, CARD, FormAlert, INPUT, IfCommunityManager, LABEL, LINK, PageHeader, TABLE, TD, TH,
    action_error, capitalise, field_error, id_param, refresh_key, show,
};
use crate::app::pages::audit::AuditTable;
use crate::app::pages::external_data::ExternalDataCard;
use crate::app::pages::listener_log::{CallTable, log_href};
use crate::server_fns::listener_log::load_user_listener_calls;
use crate::server_fns::macros::RunMacro;
use crate::server_fns::users::{CommentOnUser, EndSessions, load_user_detail};
use crate::types::{CallQuery, CommentView, ListenerCallPage, MacroRunView, SessionView};

#[component]
pub fn UserPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || (refresh_key(), id()), |(_, v)| load_user_detail(v));
    let calls = Resource::new(
        move || (refresh_key(), id()),
        |(_, v)| load_user_listener_calls(v),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                // Only community managers get calls (others get none, not an error).
                let listener_calls = calls.await.ok();
                show(data.await, |d| {
                    let u = d.user;
                    let user_id = u.id;
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
                        {(!d.macros.is_empty()).then(|| {
                            let macros = d.macros.clone();
                            let user_id = u.id;
                            view! {
                                <RunMacroPanel user_id macros=macros.clone()/>
                            }
                        })}
                        <div class="mt-6"><ExternalDataCard values=d.external_data/></div>
                        <Comments comments=d.comments user_id projects=d.projects/>
                        <Runs runs=d.runs/>
                        {listener_calls.map(|calls| view! { <ListenerCalls user_id calls/> })}
                        {d.sessions.map(|sessions| view! { <Sessions user_id sessions/> })}
                        {d.activity.map(|entries| view! {
                            <section class="mt-8">
                                <h2 class="mb-3 text-lg font-semibold">"Activity"</h2>
                                <AuditTable entries/>
                            </section>
                        })}
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
fn RunMacroPanel(user_id: i32, macros: Vec<(i32, String, bool)>) -> impl IntoView {
    let action = ServerAction::<RunMacro>::new();
    let error = action_error(action);
    let confirm_error = field_error(error, "confirm");
    let asks = macros.iter().any(|(_, _, asks)| *asks);
    view! {
        <section aria-labelledby="run-macro" class=format!("{CARD} mt-6")>
            <h2 id="run-macro" class="text-lg font-semibold">"Run a macro"</h2>
            <ActionForm action=action attr:class="mt-3 flex flex-wrap items-end gap-3">
                <FormAlert error/>
                <input type="hidden" name="form[user_id]" value=user_id.to_string()/>
                <div>
                    <label for="f-run-macro" class=LABEL>"Macro"</label>
                    <select id="f-run-macro" name="form[macro_id]" class=INPUT>
                        {macros.into_iter().map(|(id, name, _)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                    </select>
                </div>
                {asks.then(|| view! {
                    <label for="f-run-confirm" class="flex items-center gap-2 pb-2 text-sm">
                        <input id="f-run-confirm" type="checkbox" name="form[confirm]" class="h-4 w-4 rounded border-slate-300"/>
                        "Yes, run it on this user"
                    </label>
                })}
                <button type="submit" class=BUTTON>"Run macro"</button>
                {move || confirm_error.get().map(|e| view! { <p class="w-full text-sm text-red-700">{capitalise(&e)} "."</p> })}
            </ActionForm>
        </section>
    }
}

#[component]
fn Comments(
    comments: Vec<CommentView>,
    user_id: i32,
    projects: Vec<(i32, String)>,
) -> impl IntoView {
    let action = ServerAction::<CommentOnUser>::new();
    let error = action_error(action);
    let body_error = field_error(error, "body");
    view! {
        <section class="mt-8">
            <h2 class="mb-3 text-lg font-semibold">"Comments"</h2>
            <ActionForm action=action attr:class=format!("{CARD} mb-4 space-y-3")>
                <FormAlert error/>
                <input type="hidden" name="form[user_id]" value=user_id.to_string()/>
                <div>
                    <label for="f-user-comment" class=LABEL>"Add a comment"</label>
                    <textarea id="f-user-comment" name="form[body]" rows="3" class=INPUT aria-invalid=move || body_error.get().is_some().then_some("true")></textarea>
                    {move || body_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{capitalise(&e)} "."</p> })}
                </div>
                <div class="flex flex-wrap items-end gap-3">
                    <div>
                        <label for="f-user-comment-project" class=LABEL>"About"</label>
                        <select id="f-user-comment-project" name="form[project_id]" class=INPUT>
                            <option value="">"The whole community"</option>
                            {projects.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{format!("Project {name}")}</option> }).collect_view()}
                        </select>
                    </div>
                    <button type="submit" class=BUTTON>"Add comment"</button>
                </div>
            </ActionForm>
            {if comments.is_empty() {
                view! { <p class="text-sm text-slate-600">"No comments yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="space-y-3">
                        {comments.into_iter().map(|c| view! {
                            <li class=CARD>
                                <p class="text-xs text-slate-500">{match &c.project {
                                    Some(p) => format!("{} · {} · project {p}", c.author, c.created_at),
                                    None => format!("{} · {}", c.author, c.created_at),
                                }}</p>
                                <p class="mt-1 whitespace-pre-line text-sm">{c.body}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// Macro runs on a user or a ticket, newest first.
#[component]
pub fn Runs(runs: Vec<MacroRunView>) -> impl IntoView {
    (!runs.is_empty()).then(|| {
        view! {
            <section class="mt-8">
                <h2 class="mb-3 text-lg font-semibold">"Macro runs"</h2>
                <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                    <table class=TABLE>
                        <caption class="sr-only">"Macro runs"</caption>
                        <thead class="bg-slate-50">
                            <tr>
                                <th scope="col" class=TH>"When"</th>
                                <th scope="col" class=TH>"Macro"</th>
                                <th scope="col" class=TH>"How"</th>
                                <th scope="col" class=TH>"Status"</th>
                                <th scope="col" class=TH>"What it did"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {runs.into_iter().map(|r| view! {
                                <tr>
                                    <td class=format!("{TD} whitespace-nowrap")>{r.created_at}</td>
                                    <td class=TD>{r.macro_name}</td>
                                    <td class=TD>{r.trigger}</td>
                                    <td class=TD>{r.status}</td>
                                    <td class=TD>{r.outcome}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
        }
    })
}

/// The admin sessions that are still valid, and "Sign out everywhere else".
#[component]
fn Sessions(user_id: i32, sessions: Vec<SessionView>) -> impl IntoView {
    let action = ServerAction::<EndSessions>::new();
    let error = action_error(action);
    let others = sessions.iter().filter(|s| !s.current).count();
    view! {
        <section class="mt-8" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading" class="mb-3 text-lg font-semibold">"Admin sessions"</h2>
            {if sessions.is_empty() {
                view! { <p class="text-sm text-slate-600">"No active session."</p> }.into_any()
            } else {
                view! {
                    <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                        <table class=TABLE>
                            <caption class="sr-only">"Admin sessions"</caption>
                            <thead class="bg-slate-50">
                                <tr>
                                    <th scope="col" class=TH>"Signed in"</th>
                                    <th scope="col" class=TH>"Last seen"</th>
                                    <th scope="col" class=TH>"Address"</th>
                                    <th scope="col" class=format!("{TH} hidden md:table-cell")>"Browser"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {sessions.into_iter().map(|s| view! {
                                    <tr>
                                        <td class=format!("{TD} whitespace-nowrap")>
                                            {s.created_at}
                                            {s.current.then(|| view! { <span class="ml-2 text-xs font-semibold text-indigo-700">"(this session)"</span> })}
                                        </td>
                                        <td class=format!("{TD} whitespace-nowrap")>{s.last_seen_at}</td>
                                        <td class=format!("{TD} font-mono text-xs leading-5")>{s.ip}</td>
                                        <td class=format!("{TD} hidden text-xs md:table-cell")>{s.user_agent}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            {(others > 0).then(|| view! {
                <ActionForm action=action attr:class="mt-3">
                    <FormAlert error/>
                    <input type="hidden" name="user_id" value=user_id.to_string()/>
                    <button type="submit" class=BUTTON>"Sign out everywhere else"</button>
                </ActionForm>
            })}
        </section>
    }
}

/// Calls third parties made to listeners about this user, with the way to all of them.
#[component]
fn ListenerCalls(user_id: i32, calls: ListenerCallPage) -> impl IntoView {
    let all = log_href(
        &CallQuery {
            user_id: Some(user_id),
            ..CallQuery::default()
        },
        0,
    );
    view! {
        <section aria-labelledby="user-listener-calls" class="mt-8">
            <div class="mb-3 flex flex-wrap items-baseline justify-between gap-2">
                <h2 id="user-listener-calls" class="text-lg font-semibold">"Listener calls"</h2>
                {(calls.total > 0).then(|| view! {
                    <a class=LINK href=all>{format!("All {} in the listener log", calls.total)}</a>
                })}
            </div>
            <p class="mb-2 text-sm"><a class=LINK href=format!("/webhooks/log?user={user_id}")>"Webhook deliveries about this user"</a></p>
            {if calls.calls.is_empty() {
                view! { <p class="text-sm text-slate-600">"No listener was called about this user."</p> }.into_any()
            } else {
                view! { <CallTable calls=calls.calls caption="Listener calls about this user"/> }.into_any()
            }}
        </section>
    }
}
