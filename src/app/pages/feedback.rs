//! A project's feedback list, the new-ticket form, the ticket page (admin view) and the
//! signed-in manager's notifications.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::pages::{ListActions, RowPick};
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, EmptyState, FormAlert, INPUT, LABEL, LINK, PageHeader, Pager,
    TABLE, TD, TH, TextField, action_error, encode, field_error, field_sentence, id_param,
    refresh_key, show,
};
use crate::app::pages::external_data::{ExternalDataCard, ListColumnsBar, columns_kept};
use crate::app::pages::user::Runs;
use crate::server_fns::feedback::{
    ChangeTicket, CommentOnTicket, CreateTicket, FollowTicket, MarkNotificationsRead,
    get_feedback_type, get_ticket, list_notifications, list_tickets,
};
use crate::server_fns::macros::RunTicketMacro;
use crate::types::{
    FeedbackField, TicketListPage, TicketQuery, TicketView, columns_from_url, columns_in_url,
};

fn list_href(q: &TicketQuery, page: u32) -> String {
    let mut href = format!("/projects/{}/feedback?q={}", q.project_id, encode(&q.q));
    for (k, v) in [
        ("type", q.feedback_type),
        ("status", q.status),
        ("team", q.team),
    ] {
        if let Some(v) = v {
            href.push_str(&format!("&{k}={v}"));
        }
    }
    href.push_str(&columns_in_url(&q.cols));
    format!("{href}&page={page}")
}

#[component]
pub fn FeedbackListPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let ticket_query = move || {
        let q = query.read();
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<i32>().ok());
        TicketQuery {
            project_id: id(),
            feedback_type: num("type"),
            status: num("status"),
            team: num("team"),
            q: q.get("q").unwrap_or_default(),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
            cols: columns_from_url(
                q.get("columns").is_some(),
                &q.get_all("col").unwrap_or_default(),
            ),
        }
    };
    let data = Resource::new(
        move || (refresh_key(), ticket_query()),
        |(_, q)| list_tickets(q),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let current = ticket_query();
                Suspend::new(async move { show(data.await, move |page| view! { <TicketList page current/> }) })
            }}
        </Suspense>
    }
}

#[component]
fn TicketList(page: TicketListPage, current: TicketQuery) -> impl IntoView {
    let project = page.project.clone();
    let title = format!("{} feedback", project.name);
    let chosen_type = current
        .feedback_type
        .and_then(|t| page.types.iter().find(|x| x.id == t).cloned());
    // Status and team choices come from the chosen type, or from every type of the project.
    let mut statuses: Vec<(i32, String)> = Vec::new();
    let mut teams: Vec<(i32, String)> = Vec::new();
    for t in page
        .types
        .iter()
        .filter(|t| chosen_type.as_ref().is_none_or(|c| c.id == t.id))
    {
        let prefix = if chosen_type.is_some() {
            String::new()
        } else {
            format!("{}: ", t.name)
        };
        statuses.extend(
            t.statuses
                .iter()
                .map(|s| (s.id, format!("{prefix}{}", s.name))),
        );
        for team in &t.teams {
            if !teams.iter().any(|(id, _)| *id == team.id) {
                teams.push((team.id, team.name.clone()));
            }
        }
    }
    let new_href = match (&chosen_type, page.types.first()) {
        (Some(t), _) | (None, Some(t)) => Some(format!(
            "/projects/{}/feedback/new?type={}",
            project.id, t.id
        )),
        (None, None) => None,
    };
    let new_ticket = new_href.clone();
    let filtered = current.feedback_type.is_some()
        || current.status.is_some()
        || current.team.is_some()
        || !current.q.trim().is_empty();
    let page_count = page.page_count();
    let pager_query = current.clone();
    // The CSV export: the same filters and columns, every page.
    let export = {
        let mut href = format!(
            "/feedback.csv?project_id={}&q={}",
            project.id,
            encode(&current.q)
        );
        for (k, v) in [
            ("type", current.feedback_type),
            ("status", current.status),
            ("team", current.team),
        ] {
            if let Some(v) = v {
                href.push_str(&format!("&{k}={v}"));
            }
        }
        href.push_str(&columns_in_url(&current.cols));
        href
    };
    let mut keep = vec![("q", current.q.clone())];
    for (k, v) in [
        ("type", current.feedback_type),
        ("status", current.status),
        ("team", current.team),
    ] {
        if let Some(v) = v {
            keep.push((k, v.to_string()));
        }
    }
    let extra_heads = page.columns.shown.clone();
    let select = |id: &'static str,
                  label: &'static str,
                  name: &'static str,
                  options: Vec<(i32, String)>,
                  chosen: Option<i32>| {
        view! {
            <div>
                <label for=id class=LABEL>{label}</label>
                <select id=id name=name class=INPUT>
                    <option value="">"Any"</option>
                    {options.into_iter().map(|(v, text)| view! { <option value=v.to_string() selected=chosen == Some(v)>{text}</option> }).collect_view()}
                </select>
            </div>
        }
    };
    let type_options: Vec<(i32, String)> =
        page.types.iter().map(|t| (t.id, t.name.clone())).collect();
    // The filters, for "every matching ticket".
    let mut hidden = vec![
        ("form[tickets][project_id]", project.id.to_string()),
        ("form[tickets][q]", current.q.clone()),
    ];
    for (name, value) in [
        ("form[tickets][feedback_type]", current.feedback_type),
        ("form[tickets][status]", current.status),
        ("form[tickets][team]", current.team),
    ] {
        if let Some(v) = value {
            hidden.push((name, v.to_string()));
        }
    }
    view! {
        <Title text=title.clone()/>
        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
            <a class=LINK href="/projects">"Projects"</a>
            " / "
            <a class=LINK href=format!("/projects/{}", project.id)>{project.name.clone()}</a>
        </nav>
        <PageHeader title=title>
            {new_href.map(|h| view! { <a class=BUTTON href=h>"New ticket"</a> })}
        </PageHeader>
        <Form method="GET" action=format!("/projects/{}/feedback", project.id) attr:class=format!("{CARD} mb-4 grid grid-cols-1 items-end gap-3 sm:grid-cols-5")>
            <div class="sm:col-span-2">
                <label for="f-q" class=LABEL>"Title contains"</label>
                <input id="f-q" name="q" type="search" value=current.q.clone() class=INPUT/>
            </div>
            {select("f-type", "Type", "type", type_options, current.feedback_type)}
            {select("f-status", "Status", "status", statuses, current.status)}
            {select("f-team", "Team", "team", teams, current.team)}
            {columns_kept(&current.cols)}
            <div class="flex gap-2 sm:col-span-5">
                <button type="submit" class=BUTTON>"Show"</button>
                <a class=BUTTON_SECONDARY href=format!("/projects/{}/feedback", project.id)>"Clear"</a>
            </div>
        </Form>
        <ListColumnsBar action=format!("/projects/{}/feedback", project.id) keep columns=page.columns.clone() export/>
        {if page.rows.is_empty() && filtered {
            view! {
                <EmptyState title="No tickets match." text="Change the filters above, or clear them to see every ticket of this project.">
                    <a class=BUTTON_SECONDARY href=format!("/projects/{}/feedback", project.id)>"Clear the filters"</a>
                </EmptyState>
            }
            .into_any()
        } else if page.rows.is_empty() {
            match new_ticket {
                Some(href) => view! {
                    <EmptyState title="No tickets yet." text="Tickets are the feedback testers send: submitted here, or created by an external source from another system.">
                        <a class=BUTTON href=href>"New ticket"</a>
                    </EmptyState>
                }
                .into_any(),
                None => view! {
                    <EmptyState title="No tickets yet." text="Tickets need a feedback type to give them a form and a workflow. Add one on the project's page.">
                        <a class=BUTTON href=format!("/projects/{}", project.id)>"Open the project"</a>
                    </EmptyState>
                }
                .into_any(),
            }
        } else {
            view! {
                <ListActions scope="feedback" total=page.total hidden project_id=project.id type_id=current.feedback_type>
                <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
                    <table class=TABLE>
                        <caption class="sr-only">"Tickets"</caption>
                        <thead class="bg-slate-50">
                            <tr>
                                <th scope="col" class=TH><span class="sr-only">"Select"</span></th>
                                <th scope="col" class=TH>"#"</th>
                                <th scope="col" class=TH>"Title"</th>
                                <th scope="col" class=TH>"Type"</th>
                                <th scope="col" class=TH>"Status"</th>
                                <th scope="col" class=TH>"Team"</th>
                                <th scope="col" class=TH>"Submitted by"</th>
                                <th scope="col" class=format!("{TH} text-right")>"Popularity"</th>
                                <th scope="col" class=TH>"Updated"</th>
                                {extra_heads.iter().map(|c| view! { <th scope="col" class=TH>{c.label.clone()}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {page.rows.into_iter().enumerate().map(|(i, r)| view! {
                                <tr>
                                    <td class=TD><RowPick index=i id=r.id label=r.title.clone()/></td>
                                    <td class=format!("{TD} tabular-nums text-slate-500")>{r.id}</td>
                                    <td class=TD><a class=format!("{LINK} font-medium") href=format!("/feedback/{}", r.id)>{r.title.clone()}</a></td>
                                    <td class=TD>{r.type_name.clone()}</td>
                                    <td class=TD>{r.status.clone()}</td>
                                    <td class=TD>{r.team.clone().unwrap_or_default()}</td>
                                    <td class=TD>{r.author.clone()}</td>
                                    <td class=format!("{TD} text-right tabular-nums")>{r.popularity}</td>
                                    <td class=format!("{TD} whitespace-nowrap text-slate-600")>{r.updated_at.clone()}</td>
                                    {r.extra.clone().into_iter().map(|v| view! { <td class=TD>{v}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                </ListActions>
            }.into_any()
        }}
        <Pager page=page.page page_count total=page.total href_for=move |n| list_href(&pager_query, n)/>
    }
}

#[component]
pub fn NewTicketPage() -> impl IntoView {
    let query = use_query_map();
    let type_id = move || {
        query
            .read()
            .get("type")
            .and_then(|t| t.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let data = Resource::new(
        move || (refresh_key(), type_id()),
        |(_, id)| get_feedback_type(id),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |(t, _)| view! { <TicketEditor feedback_type=t/> })
            })}
        </Suspense>
    }
}

#[component]
fn TicketEditor(feedback_type: crate::types::FeedbackTypeDefinition) -> impl IntoView {
    let create = ServerAction::<CreateTicket>::new();
    let error = action_error(create);
    let t = feedback_type;
    let title = format!("New {}", t.name);
    let team_error = field_error(error, "team_id");
    view! {
        <Title text=title.clone()/>
        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
            <a class=LINK href="/projects">"Projects"</a>
            " / "
            <a class=LINK href=format!("/projects/{}/feedback", t.project_id)>{t.project_name.clone()}</a>
        </nav>
        <PageHeader title=title/>
        <ActionForm action=create attr:class=format!("{CARD} max-w-2xl space-y-4")>
            <FormAlert error/>
            <input type="hidden" name="form[feedback_type_id]" value=t.id.to_string()/>
            <TextField label="Title" name="form[title]" required=true autocomplete="off" error=field_error(error, "title")/>
            <div>
                <label for="f-description" class=LABEL>"Description"</label>
                <textarea id="f-description" name="form[description]" rows="5" class=INPUT></textarea>
            </div>
            <TextField label="Submitted by (email)" name="form[author]" kind="email" required=true autocomplete="off" error=field_error(error, "author")/>
            {(!t.teams.is_empty()).then(|| view! {
                <div>
                    <label for="f-team" class=LABEL>"Team"</label>
                    <select id="f-team" name="form[team_id]" class=INPUT>
                        <option value="">"No team"</option>
                        {t.teams.iter().map(|x| view! { <option value=x.id.to_string()>{x.name.clone()}</option> }).collect_view()}
                    </select>
                    {move || team_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Team", &e)}</p> })}
                </div>
            })}
            {t.fields.into_iter().map(|f| view! { <CustomField field=f error/> }).collect_view()}
            <button type="submit" class=BUTTON>"Submit ticket"</button>
        </ActionForm>
    }
}

/// One custom field of the form, as an input of its kind.
#[component]
fn CustomField(
    field: FeedbackField,
    error: Signal<Option<crate::errors::AppError>>,
) -> impl IntoView {
    let f = field;
    let id = format!("f-field-{}", f.key);
    let name = format!("form[fields][{}]", f.key);
    let message = {
        let key = format!("fields.{}", f.key);
        move || error.get().and_then(|e| e.field_message(&key))
    };
    let label = f.label.clone();
    let input = match f.kind.as_str() {
        "long_text" => view! { <textarea id=id.clone() name=name rows="4" class=INPUT required=f.required></textarea> }.into_any(),
        "choice" => view! {
            <select id=id.clone() name=name class=INPUT required=f.required>
                <option value="">"—"</option>
                {f.choices.iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
            </select>
        }.into_any(),
        "boolean" => view! { <input id=id.clone() type="checkbox" name=name value="true" class="h-4 w-4 rounded border-slate-300"/> }.into_any(),
        kind => {
            let input_type = match kind {
                "number" => "text",
                "date" => "date",
                _ => "text",
            };
            let mode = (kind == "number").then_some("decimal");
            view! { <input id=id.clone() type=input_type inputmode=mode name=name class=INPUT required=f.required autocomplete="off"/> }.into_any()
        }
    };
    view! {
        <div>
            <label for=id class=LABEL>{f.label.clone()}{f.required.then_some(" (required)")}</label>
            {input}
            {move || message().map(|m| view! { <p class="mt-1 text-sm text-red-700">{field_sentence(&label, &m)}</p> })}
        </div>
    }
}

#[component]
pub fn TicketPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || (refresh_key(), id()), |(_, id)| get_ticket(id));
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { show(data.await, |t| view! { <Ticket t/> }) })}
        </Suspense>
    }
}

#[component]
fn Ticket(t: TicketView) -> impl IntoView {
    let title = format!("#{} {}", t.id, t.title);
    let mut facts = vec![
        ("Type".to_string(), t.feedback_type.name.clone()),
        ("Status".to_string(), t.status.clone()),
        (
            "Team".to_string(),
            t.team.clone().unwrap_or_else(|| "No team".into()),
        ),
        ("Submitted by".to_string(), t.author.clone()),
        ("Visibility".to_string(), t.visibility.clone()),
        ("Popularity".to_string(), t.popularity.to_string()),
        ("Submitted".to_string(), t.created_at.clone()),
        ("Last changed".to_string(), t.updated_at.clone()),
    ];
    facts.extend(t.fields.iter().cloned());
    let followers = if t.followers.is_empty() {
        "Nobody".to_string()
    } else {
        t.followers.join(", ")
    };
    view! {
        <Title text=title.clone()/>
        <nav aria-label="Breadcrumb" class="mb-2 text-sm">
            <a class=LINK href="/projects">"Projects"</a>
            " / "
            <a class=LINK href=format!("/projects/{}/feedback", t.project_id)>{t.project_name.clone()}</a>
        </nav>
        <PageHeader title=title>
            <FollowButton ticket_id=t.id following=t.following/>
        </PageHeader>
        <div class="grid grid-cols-1 gap-6 lg:grid-cols-3">
            <div class="space-y-6 lg:col-span-2">
                <section aria-label="Details" class=CARD>
                    <dl class="grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-2">
                        {facts.into_iter().map(|(k, v)| view! {
                            <div>
                                <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">{k}</dt>
                                <dd class="mt-0.5 text-sm">{if v.is_empty() { "—".to_string() } else { v }}</dd>
                            </div>
                        }).collect_view()}
                    </dl>
                    {(!t.description.is_empty()).then(|| view! {
                        <div class="mt-4 border-t border-slate-100 pt-4">
                            <h2 class="text-xs font-medium uppercase tracking-wide text-slate-500">"Description"</h2>
                            <p class="mt-1 whitespace-pre-line text-sm">{t.description.clone()}</p>
                        </div>
                    })}
                    <p class="mt-4 text-sm text-slate-600">{format!("Followers: {followers}")}</p>
                </section>
                <ExternalDataCard values=t.external_data.clone()/>
                <Comments t=t.clone()/>
                <Runs runs=t.runs.clone()/>
                <p class="mt-2 text-sm"><a class=LINK href=format!("/webhooks/log?ticket={}", t.id)>"Webhook deliveries about this ticket"</a></p>
            </div>
            <div class="space-y-6">
                <ChangePanel t=t.clone()/>
                {(!t.macros.is_empty()).then(|| view! { <RunTicketMacroPanel ticket_id=t.id macros=t.macros.clone()/> })}
                <section aria-labelledby="history-heading" class=CARD>
                    <h2 id="history-heading" class="mb-3 text-lg font-semibold">"History"</h2>
                    <ol class="space-y-2 text-sm">
                        {t.history.into_iter().map(|e| view! {
                            <li>
                                <span class="font-medium">{e.change}</span>
                                <span class="block text-xs text-slate-500">{format!("{} · {}", e.actor, e.created_at)}</span>
                            </li>
                        }).collect_view()}
                    </ol>
                </section>
            </div>
        </div>
    }
}

/// Runs a feedback macro on this ticket now.
#[component]
fn RunTicketMacroPanel(ticket_id: i32, macros: Vec<(i32, String, bool)>) -> impl IntoView {
    let action = ServerAction::<RunTicketMacro>::new();
    let error = action_error(action);
    let confirm_error = field_error(error, "confirm");
    let asks = macros.iter().any(|(_, _, asks)| *asks);
    view! {
        <section aria-labelledby="run-ticket-macro" class=CARD>
            <h2 id="run-ticket-macro" class="text-lg font-semibold">"Run a macro"</h2>
            <ActionForm action=action attr:class="mt-3 space-y-3">
                <FormAlert error/>
                <input type="hidden" name="form[ticket_id]" value=ticket_id.to_string()/>
                <div>
                    <label for="f-run-ticket-macro" class=LABEL>"Macro"</label>
                    <select id="f-run-ticket-macro" name="form[macro_id]" class=INPUT>
                        {macros.into_iter().map(|(id, name, _)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                    </select>
                </div>
                {asks.then(|| view! {
                    <label for="f-run-ticket-confirm" class="flex items-center gap-2 text-sm">
                        <input id="f-run-ticket-confirm" type="checkbox" name="form[confirm]" class="h-4 w-4 rounded border-slate-300"/>
                        "Yes, run it on this ticket"
                    </label>
                })}
                {move || confirm_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("Confirmation", &e)}</p> })}
                <button type="submit" class=BUTTON>"Run macro"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn FollowButton(ticket_id: i32, following: bool) -> impl IntoView {
    let follow = ServerAction::<FollowTicket>::new();
    let _ = action_error(follow);
    view! {
        <ActionForm action=follow>
            <input type="hidden" name="ticket_id" value=ticket_id.to_string()/>
            <input type="hidden" name="follow" value=if following { "0" } else { "1" }/>
            <button type="submit" class=BUTTON_SECONDARY>{if following { "Stop following" } else { "Follow" }}</button>
        </ActionForm>
    }
}

#[component]
fn ChangePanel(t: TicketView) -> impl IntoView {
    let change = ServerAction::<ChangeTicket>::new();
    let error = action_error(change);
    let row = move |what: &'static str,
                    label: &'static str,
                    options: Vec<(String, String)>,
                    current: String| {
        let id = format!("f-change-{what}");
        view! {
            <ActionForm action=change attr:class="flex items-end gap-2">
                <input type="hidden" name="form[ticket_id]" value=t.id.to_string()/>
                <input type="hidden" name="form[what]" value=what/>
                <div class="flex-1">
                    <label for=id.clone() class=LABEL>{label}</label>
                    <select id=id name="form[value]" class=INPUT>
                        {options.into_iter().map(|(v, text)| view! { <option value=v.clone() selected=v == current>{text}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class=BUTTON_SECONDARY aria-label=format!("Set {}", label.to_lowercase())>"Set"</button>
            </ActionForm>
        }
    };
    let statuses = t
        .feedback_type
        .statuses
        .iter()
        .map(|s| (s.id.to_string(), s.name.clone()))
        .collect();
    let mut teams: Vec<(String, String)> = vec![(String::new(), "No team".into())];
    teams.extend(
        t.feedback_type
            .teams
            .iter()
            .map(|x| (x.id.to_string(), x.name.clone())),
    );
    let visibility = vec![
        ("public".to_string(), "Public".to_string()),
        ("private".to_string(), "Private".to_string()),
    ];
    view! {
        <section aria-labelledby="change-heading" class=format!("{CARD} space-y-4")>
            <h2 id="change-heading" class="text-lg font-semibold">"Workflow"</h2>
            <FormAlert error/>
            {row("status", "Status", statuses, t.status_id.to_string())}
            {row("team", "Team", teams, t.team_id.map(|x| x.to_string()).unwrap_or_default())}
            {row("visibility", "Visibility", visibility, t.visibility.clone())}
        </section>
    }
}

#[component]
fn Comments(t: TicketView) -> impl IntoView {
    let comment = ServerAction::<CommentOnTicket>::new();
    let error = action_error(comment);
    let body_error = field_error(error, "body");
    // The page is rebuilt in place after a comment, so the text box is emptied here.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if comment.value().with(|v| matches!(v, Some(Ok(_))))
            && let Some(f) = form.get()
        {
            f.reset();
        }
    });
    view! {
        <section id="comments" aria-labelledby="comments-heading" class=format!("{CARD} space-y-4")>
            <h2 id="comments-heading" class="text-lg font-semibold">{format!("Comments ({})", t.comments.len())}</h2>
            {if t.comments.is_empty() {
                view! { <p class="text-sm text-slate-600">"No comments yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="space-y-3">
                        {t.comments.into_iter().map(|c| view! {
                            <li class="rounded-md border border-slate-100 bg-slate-50 p-3">
                                <p class="text-xs text-slate-500">{format!("{} · {}", c.author, c.created_at)}</p>
                                <p class="mt-1 whitespace-pre-line text-sm">{c.body}</p>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionForm action=comment node_ref=form attr:class="space-y-2">
                <input type="hidden" name="form[ticket_id]" value=t.id.to_string()/>
                <label for="f-comment" class=LABEL>"Add a comment"</label>
                <textarea id="f-comment" name="form[body]" rows="3" class=INPUT
                    aria-invalid=move || body_error.get().is_some().then_some("true")></textarea>
                {move || body_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("The comment", &e)}</p> })}
                <p class="text-xs text-slate-500">"Followers are notified; you follow the ticket from then on."</p>
                <button type="submit" class=BUTTON>"Add comment"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| list_notifications());
    let read = ServerAction::<MarkNotificationsRead>::new();
    let _ = action_error(read);
    view! {
        <Title text="Notifications"/>
        <PageHeader title="Notifications".to_string()>
            <ActionForm action=read>
                <button type="submit" class=BUTTON_SECONDARY>"Mark all as read"</button>
            </ActionForm>
        </PageHeader>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |list| {
                    if list.is_empty() {
                        return view! { <EmptyState title="No notifications." text="Follow a ticket to be told here when someone comments on it."/> }.into_any();
                    }
                    view! {
                        <ul class="divide-y divide-slate-100 rounded-lg border border-slate-200 bg-white">
                            {list.into_iter().map(|n| view! {
                                <li class="flex items-start justify-between gap-4 px-4 py-3">
                                    <div>
                                        {match n.ticket_id {
                                            Some(id) => view! { <a class=format!("{LINK} text-sm") href=format!("/feedback/{id}")>{n.body.clone()}</a> }.into_any(),
                                            None => view! { <span class="text-sm">{n.body.clone()}</span> }.into_any(),
                                        }}
                                        <p class="text-xs text-slate-500">{n.created_at.clone()}</p>
                                    </div>
                                    {(!n.read).then(|| view! { <span class="rounded-full bg-indigo-100 px-2 py-0.5 text-xs font-medium text-indigo-800">"New"</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
