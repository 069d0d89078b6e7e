//! Webhooks of macros: the list on a macro's page, the editor (presets, tag picker, preview,
//! send test, signing), the webhook log with its success-rate chart, and one delivery with
//! every attempt and a resend button.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::app::components::{
    BUTTON, BUTTON_SECONDARY, CARD, DangerZone, EmptyState, FormAlert, INPUT, LABEL, LINK,
    PageHeader, Pager, TABLE, TD, TH, action_error, capitalise, field_error, field_sentence,
    id_param, refresh_key, show, textarea_text,
};
use crate::app::pages::external_data::DataFieldTable;
use crate::errors::AppError;
use crate::server_fns::webhooks::{
    DeleteWebhook, PauseWebhook, ReplayDeliveries, ResendDelivery, ResumeWebhook,
    RotateWebhookSecret, SaveWebhook, SendTestWebhook, load_delivery, load_replay,
    load_webhook_editor, load_webhook_log, load_webhooks, preview_webhook,
};
use crate::shared::vocab::DeliveryStatus;
use crate::types::{
    DeliveryQuery, DeliveryView, NEW_DATA_GROUP, ReplayView, RequestView, WEBHOOK_METHODS,
    WEBHOOK_PRESETS, WebhookEditorView, WebhookForm, WebhookLogView, WebhookRate, WebhookView,
};

fn status_badge(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Succeeded => "bg-emerald-50 text-emerald-800 ring-emerald-200",
        DeliveryStatus::Failed => "bg-red-50 text-red-800 ring-red-200",
        DeliveryStatus::Cancelled => "bg-slate-100 text-slate-700 ring-slate-200",
        DeliveryStatus::Queued | DeliveryStatus::Sending => {
            "bg-amber-50 text-amber-900 ring-amber-200"
        }
    }
}

/// The macro page's section: its webhooks, each with its success rate, and how to add one.
#[component]
pub fn MacroWebhooks(macro_id: i32, triggers: bool) -> impl IntoView {
    let data = Resource::new(
        move || (refresh_key(), macro_id),
        |(_, id)| load_webhooks(id),
    );
    view! {
        <section aria-labelledby="webhooks" class=format!("{CARD} mt-6 space-y-3")>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <h2 id="webhooks" class="text-lg font-semibold">"Trigger webhooks"</h2>
                <a class=LINK href=format!("/webhooks/log?macro={macro_id}")>"Webhook log of this macro"</a>
            </div>
            <p class="text-sm text-slate-600">"Every run of this macro sends each webhook below after its actions, rendered for the run's user or ticket. Requests are queued with the run; a failed one is retried on the schedule, and every attempt is in the webhook log."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    show(data.await, |hooks| {
                        if hooks.is_empty() {
                            view! { <EmptyState title="No webhooks yet." text="A webhook tells another system (a chat, a CRM, a tracker) what this macro did, after each run; an email tells a person. Add one with the buttons below."/> }.into_any()
                        } else {
                            view! {
                                {(!triggers).then(|| view! {
                                    <p role="status" class="mb-3 rounded-md border border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900">"Not sent: Trigger webhooks is unticked in the form above. These webhooks keep their settings; tick the box and save to send them again."</p>
                                })}
                                <WebhookTable hooks/>
                            }.into_any()
                        }
                    })
                })}
            </Suspense>
            <div class="flex flex-wrap items-center gap-2">
                <a class=BUTTON href=format!("/macros/{macro_id}/webhooks/new")>"Add a webhook"</a>
                <a class=BUTTON_SECONDARY href=format!("/macros/{macro_id}/webhooks/new?preset=email")>"Add an email"</a>
                {WEBHOOK_PRESETS.iter().map(|(key, label)| view! {
                    <a class=BUTTON_SECONDARY href=format!("/macros/{macro_id}/webhooks/new?preset={key}")>{format!("Start from: {label}")}</a>
                }).collect_view()}
            </div>
        </section>
    }
}

#[component]
fn WebhookTable(hooks: Vec<WebhookView>) -> impl IntoView {
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200">
            <table class=TABLE>
                <caption class="sr-only">"Webhooks"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Name"</th>
                        <th scope="col" class=TH>"Request"</th>
                        <th scope="col" class=TH>"State"</th>
                        <th scope="col" class=TH>"Last 7 days"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {hooks.into_iter().map(|w| {
                        let rate = w.counts.success_percent().map(|p| format!("{p}% succeeded")).unwrap_or_else(|| "nothing sent yet".into());
                        view! {
                            <tr>
                                <td class=TD><a class=LINK href=format!("/webhooks/{}", w.id)>{w.name.clone()}</a></td>
                                <td class=format!("{TD} font-mono text-xs break-all")>{if w.kind == "email" {
                                    format!("Email to {}: {}", if w.email_to.is_empty() { "the user" } else { w.email_to.as_str() }, w.email_subject)
                                } else {
                                    format!("{} {}", w.method, w.url)
                                }}</td>
                                <td class=TD>
                                    {if w.enabled {
                                        view! { <span class="text-emerald-800">"On"</span> }.into_any()
                                    } else {
                                        view! { <span class="text-red-800">{format!("Off: {}", w.disabled_reason)}</span> }.into_any()
                                    }}
                                    {w.paused.then(|| view! { <span class="ml-2 rounded bg-amber-100 px-1 text-xs text-amber-900">"paused"</span> })}
                                    {w.signing.then(|| view! { <span class="ml-2 text-xs text-slate-600">"signed"</span> })}
                                </td>
                                <td class=format!("{TD} text-sm")>
                                    {rate}
                                    <span class="block text-xs text-slate-500">{format!("{} succeeded, {} failed, {} waiting", w.counts.succeeded, w.counts.failed, w.counts.pending)}</span>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn NewWebhookPage() -> impl IntoView {
    let macro_id = id_param();
    let query = use_query_map();
    let preset = move || query.read().get("preset").unwrap_or_default();
    let data = Resource::new(
        move || (refresh_key(), macro_id(), preset()),
        |(_, id, preset)| load_webhook_editor(None, Some(id), preset, false),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |editor| {
                    let what = if editor.draft.kind == "email" { "email" } else { "webhook" };
                    let title = format!("New {what} of {}", editor.options.macro_name);
                    let locked = editor.locked;
                    view! {
                        <Title text=title.clone()/>
                        <PageHeader title=title>
                            <a class=BUTTON_SECONDARY href=format!("/macros/{}", editor.options.macro_id)>"Back to the macro"</a>
                        </PageHeader>
                        {if locked {
                            view! { <crate::app::pages::macros::RemovalLocked what="This macro"/> }.into_any()
                        } else {
                            view! { <WebhookEditor editor/> }.into_any()
                        }}
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn WebhookPage() -> impl IntoView {
    let id = id_param();
    let query = use_query_map();
    let reveal = move || query.read().get("reveal").is_some();
    let data = Resource::new(
        move || (refresh_key(), id(), reveal()),
        |(_, id, reveal)| load_webhook_editor(Some(id), None, String::new(), reveal),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |editor| {
                    let Some(w) = editor.webhook.clone() else {
                        return view! { <p>"This webhook does not exist."</p> }.into_any();
                    };
                    let title = w.name.clone();
                    let secrets = editor.secrets.clone();
                    let feedback = editor.options.scope == "feedback";
                    let macro_name = editor.options.macro_name.clone();
                    view! {
                        <Title text=title.clone()/>
                        <PageHeader title=title>
                            <a class=BUTTON_SECONDARY href=format!("/webhooks/log?webhook={}", w.id)>"Webhook log"</a>
                            <a class=BUTTON_SECONDARY href=format!("/macros/{}", w.macro_id)>{format!("Macro: {macro_name}")}</a>
                        </PageHeader>
                        {(!w.enabled).then(|| view! {
                            <p role="status" class="mb-4 rounded-md border border-red-200 bg-red-50 px-4 py-2 text-sm text-red-900">{format!("Switched off: {}.{}", w.disabled_reason, if editor.locked { "" } else { " Saving the webhook switches it on again." })}</p>
                        })}
                        {if editor.locked {
                            view! { <LockedWebhook w=w.clone()/> }.into_any()
                        } else {
                            view! {
                                <PauseControl w=w.clone()/>
                                <WebhookEditor editor=editor.clone()/>
                                <TryPanel id=w.id feedback/>
                                {w.signing.then(|| view! { <SigningPanel w=w.clone() secrets/> })}
                                <DangerZone action={ServerAction::<DeleteWebhook>::new()} id=w.id heading="Delete this webhook" confirm_label="Yes, delete this webhook (its log stays; requests still waiting are not sent)" button="Delete webhook"/>
                            }.into_any()
                        }}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}

/// Pause and resume: while paused, deliveries wait (queued, none sent); resumed, they go out
/// in the order they were made.
#[component]
fn PauseControl(w: WebhookView) -> impl IntoView {
    let (id, paused, pending) = (w.id, w.paused, w.counts.pending);
    let pause = ServerAction::<PauseWebhook>::new();
    let resume = ServerAction::<ResumeWebhook>::new();
    // Each refreshes the page's data once it is done.
    let pause_error = action_error(pause);
    let resume_error = action_error(resume);
    let error = move || pause_error.get().or_else(|| resume_error.get());
    let state = match (paused, w.paused_reason.is_empty(), &w.failing_since) {
        (true, true, _) => format!("Paused: {pending} waiting, none sent until you resume it."),
        (true, false, _) => format!(
            "Paused: {}. {pending} waiting, none lost: fix the endpoint, then resume it.",
            capitalise(&w.paused_reason)
        ),
        (false, _, Some(since)) if w.failure_streak > 0 => format!(
            "Sending, but failing: {} failed attempts in a row since {since}.",
            w.failure_streak
        ),
        _ => "Sending: deliveries go out as they are made.".to_string(),
    };
    view! {
        <section aria-label="Pause" class=format!("{CARD} mb-6 flex flex-wrap items-center justify-between gap-3")>
            <p class=if paused { "text-sm font-medium text-amber-900" } else { "text-sm text-slate-700" } data-testid="pause-state">{state}</p>
            {if paused {
                view! {
                    <ActionForm action=resume>
                        <input type="hidden" name="form[id]" value=id.to_string()/>
                        <button type="submit" class=BUTTON>"Resume"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! {
                    <ActionForm action=pause>
                        <input type="hidden" name="form[id]" value=id.to_string()/>
                        <button type="submit" class=BUTTON_SECONDARY>"Pause"</button>
                    </ActionForm>
                }.into_any()
            }}
            {move || error().map(|e| view! { <p role="alert" class="w-full text-sm text-red-700">{capitalise(&e.to_string())} "."</p> })}
        </section>
    }
}

/// A removal macro's webhook as a project manager sees it: where it goes, not how to change it.
#[component]
fn LockedWebhook(w: WebhookView) -> impl IntoView {
    let target = if w.kind == "email" {
        format!("Sends an email to {}", w.email_to)
    } else {
        format!("Sends {} {}", w.method, w.url)
    };
    view! {
        <crate::app::pages::macros::RemovalLocked what="This webhook"/>
        <section aria-label="What it sends" class=format!("{CARD} space-y-2")>
            <p class="break-all text-sm">{target}</p>
        </section>
    }
}

/// `value` with `text` inserted at `at` (in UTF-16 units, as the browser counts a cursor), and
/// the cursor after it.
fn insert_at(value: &str, at: u32, text: &str) -> (String, u32) {
    let units: Vec<u16> = value.encode_utf16().collect();
    let at = (at as usize).min(units.len());
    let spliced = format!(
        "{}{text}{}",
        String::from_utf16_lossy(&units[..at]),
        String::from_utf16_lossy(&units[at..])
    );
    (spliced, (at + text.encode_utf16().count()) as u32)
}

/// The webhook page's editor: the webhook's fields, saved on their own.
#[component]
fn WebhookEditor(editor: WebhookEditorView) -> impl IntoView {
    let action = ServerAction::<SaveWebhook>::new();
    let error = action_error(action);
    let options = editor.options.clone();
    let form: WebhookForm = match &editor.webhook {
        Some(w) => WebhookForm {
            id: w.id.to_string(),
            macro_id: w.macro_id.to_string(),
            kind: w.kind.clone(),
            name: w.name.clone(),
            method: w.method.clone(),
            url: w.url.clone(),
            headers: w.headers.clone(),
            content_type: w.content_type.clone(),
            body: w.body.clone(),
            email_to: w.email_to.clone(),
            email_subject: w.email_subject.clone(),
            signing: w.signing.then(|| "on".to_string()),
            capture: w.capture_group.is_some().then(|| "on".to_string()),
            capture_group_id: w
                .capture_group
                .as_ref()
                .map(|(id, _)| id.to_string())
                .unwrap_or_default(),
            capture_project_id: w
                .capture_project_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            new_group: Default::default(),
            retry_schedule: w.retry_schedule.clone(),
        },
        None => editor.draft.clone(),
    };
    let email = form.kind == "email";
    view! {
        <ActionForm action=action attr:class=format!("{CARD} space-y-5")>
            <FormAlert error/>
            <input type="hidden" name="form[id]" value=form.id.clone()/>
            <input type="hidden" name="form[macro_id]" value=if form.macro_id.is_empty() { options.macro_id.to_string() } else { form.macro_id.clone() }/>
            <input type="hidden" name="form[kind]" value=if email { "email" } else { "http" }/>
            <WebhookFields form tags=options.tags.clone() groups=options.groups.clone() projects=options.projects.clone() feedback=options.scope == "feedback" error nested=false/>
            <div class="flex flex-wrap gap-2">
                <button type="submit" class=BUTTON>{if email { "Save email" } else { "Save webhook" }}</button>
                <a class=BUTTON_SECONDARY href=format!("/macros/{}", options.macro_id)>"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// A webhook's (or email's) fields: on the webhook page (`nested` false: `form[url]` …) or
/// inside the macro editor (`nested`: `form[webhook][url]` …, errors named `webhook.url` …).
/// The tag picker inserts `((tag))` at the cursor of the field that last had the focus
/// (hydrated); without JavaScript the list is there to copy from.
#[component]
pub fn WebhookFields(
    form: WebhookForm,
    tags: Vec<(String, String)>,
    groups: Vec<(i32, String)>,
    /// The projects a user macro's capture into a project group can store on.
    #[prop(optional)]
    projects: Vec<(i32, String)>,
    feedback: bool,
    error: Signal<Option<AppError>>,
    nested: bool,
) -> impl IntoView {
    let name = move |field: &str| {
        if nested {
            format!("form[webhook][{field}]")
        } else {
            format!("form[{field}]")
        }
    };
    let id = move |field: &str| {
        if nested {
            format!("f-webhook-{field}")
        } else {
            format!("f-{field}")
        }
    };
    let err = move |field: &str| {
        field_error(
            error,
            if nested {
                format!("webhook.{field}")
            } else {
                field.to_string()
            },
        )
    };
    let url_ref = NodeRef::<leptos::html::Input>::new();
    let headers_ref = NodeRef::<leptos::html::Textarea>::new();
    let body_ref = NodeRef::<leptos::html::Textarea>::new();
    // 0 URL, 1 headers, 2 body.
    let last_field = RwSignal::new(2u8);
    let chosen_tag = RwSignal::new(String::new());
    let hydrated = crate::app::components::hydrated();
    let insert = move |_| {
        let tag = chosen_tag.get_untracked();
        if tag.is_empty() {
            return;
        }
        let text = format!("(({tag}))");
        // The URL is an input, headers and body are text areas: the same calls on each.
        macro_rules! splice {
            ($el:expr) => {{
                let el = $el;
                let value = el.value();
                let at = el
                    .selection_start()
                    .ok()
                    .flatten()
                    .unwrap_or(value.encode_utf16().count() as u32);
                let (spliced, cursor) = insert_at(&value, at, &text);
                el.set_value(&spliced);
                let _ = el.set_selection_range(cursor, cursor);
                let _ = el.focus();
            }};
        }
        match last_field.get_untracked() {
            0 => {
                if let Some(el) = url_ref.get_untracked() {
                    splice!(el)
                }
            }
            1 => {
                if let Some(el) = headers_ref.get_untracked() {
                    splice!(el)
                }
            }
            _ => {
                if let Some(el) = body_ref.get_untracked() {
                    splice!(el)
                }
            }
        }
    };
    let chosen_group = form.capture_group_id.clone();
    let tags_list = tags.clone();
    let method = form.method.clone();
    let content_type = form.content_type.clone();
    let (name_error, url_error, subject_error, to_error) = (
        err("name"),
        err("url"),
        err("email_subject"),
        err("email_to"),
    );
    let headers_error = err("headers");
    let body_error = err("body");
    let group_error = err("capture_group_id");
    let project_error = err("capture_project_id");
    let retry_error = err("retry_schedule");
    let chosen_project = form.capture_project_id.clone();
    // A refused capture keeps its fields open, so its errors show (without JavaScript too).
    let capture_on = form.capture.is_some();
    let new_group_error = err("new_group.name");
    let group_choice = RwSignal::new(form.capture_group_id.clone());
    let js = hydrated;
    let email = form.kind == "email";
    let http_fields = (!email).then(|| view! {
            <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
                <div>
                    <label for=id("method") class=LABEL>"Web request"</label>
                    <select id=id("method") name=name("method") class=INPUT>
                        {WEBHOOK_METHODS.iter().map(|m| view! { <option value=*m selected=method == *m>{*m}</option> }).collect_view()}
                    </select>
                </div>
                <div>
                    <label for=id("content-type") class=LABEL>"Content type"</label>
                    <select id=id("content-type") name=name("content_type") class=INPUT>
                        <option value="json" selected=content_type != "form">"JSON"</option>
                        <option value="form" selected=content_type == "form">"Form"</option>
                    </select>
                </div>
            </div>
            <div>
                <label for=id("url") class=LABEL>"URL"</label>
                <input id=id("url") node_ref=url_ref name=name("url") value=form.url.clone() required=!nested autocomplete="off" class=format!("{INPUT} font-mono") on:focus=move |_| last_field.set(0)
                    aria-invalid=move || url_error.get().is_some().then_some("true")/>
                {move || url_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{format!("URL {}.", e)}</p> })}
                <p class="mt-1 text-xs text-slate-500">"Tags in the address are URL-encoded. Private, loopback and link-local addresses are refused unless the settings allow them."</p>
            </div>
            <div>
                <label for=id("headers") class=LABEL>"Headers"</label>
                <textarea id=id("headers") node_ref=headers_ref name=name("headers") rows="3" class=format!("{INPUT} font-mono") on:focus=move |_| last_field.set(1)
                    aria-invalid=move || headers_error.get().is_some().then_some("true")>{textarea_text(form.headers.clone())}</textarea>
                {move || headers_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{format!("Headers: {}.", e)}</p> })}
                <p class="mt-1 text-xs text-slate-500">"One per line, as Name: value. Values of Authorization and other secret headers are shown masked; leave the mask to keep the stored value."</p>
            </div>
    });
    let email_fields = email.then(|| view! {
            <div>
                <label for=id("email-to") class=LABEL>"To"</label>
                <input id=id("email-to") type="email" name=name("email_to") value=form.email_to.clone() autocomplete="off" class=INPUT
                    aria-invalid=move || to_error.get().is_some().then_some("true")/>
                <p class="mt-1 text-xs text-slate-500">{if feedback { "Empty: the ticket's submitter. Or one fixed address." } else { "Empty: the user the macro runs on. Or one fixed address." }}</p>
                {move || to_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{format!("To {}.", e)}</p> })}
            </div>
            <div>
                <label for=id("subject") class=LABEL>"Subject"</label>
                <input id=id("subject") node_ref=url_ref name=name("email_subject") value=form.email_subject.clone() required=true autocomplete="off" class=INPUT on:focus=move |_| last_field.set(0)
                    aria-invalid=move || subject_error.get().is_some().then_some("true")/>
                {move || subject_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{format!("Subject {}.", e)}</p> })}
            </div>
    });
    view! {
        <div>
            <label for=id("name") class=LABEL>{if nested { "Webhook name" } else { "Name" }}</label>
            <input id=id("name") name=name("name") value=form.name.clone() required=!nested autocomplete="off" class=INPUT
                aria-invalid=move || name_error.get().is_some().then_some("true")/>
            {move || name_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{format!("Name {}.", e)}</p> })}
        </div>
        {http_fields}
        {email_fields}
        <div>
            <label for=id("body") class=LABEL>{if email { "Text" } else { "Body" }}</label>
            <textarea id=id("body") node_ref=body_ref name=name("body") rows="10" class=format!("{INPUT} font-mono") on:focus=move |_| last_field.set(2)
                aria-invalid=move || body_error.get().is_some().then_some("true")>{textarea_text(form.body.clone())}</textarea>
            {move || body_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{format!("{} {}.", if email { "Text" } else { "Body" }, e)}</p> })}
            <p class="mt-1 text-xs text-slate-500">{if email { "Plain text; tags are filled in as they are." } else { "Each tag's value is escaped for where it stands: inside a JSON string, a form field, the URL or a header." }}</p>
        </div>
        // The picker needs JavaScript: it shows once the page is hydrated.
        <div class="flex flex-wrap items-end gap-2" class:hidden=move || !hydrated.get()>
            <div class="min-w-0">
                <label for=id("tag") class=LABEL>"Dynamic tag"</label>
                <select id=id("tag") class=format!("{INPUT} max-w-full") on:change=move |ev| chosen_tag.set(event_target_value(&ev))>
                    <option value="">"— choose a tag —"</option>
                    {tags.into_iter().map(|(t, what)| view! { <option value=t.clone()>{format!("(({t})) {what}")}</option> }).collect_view()}
                </select>
            </div>
            <button type="button" class=BUTTON_SECONDARY on:click=insert>"Insert tag"</button>
        </div>
        <details class="text-xs text-slate-600">
            <summary class="cursor-pointer">"Every dynamic tag of this macro's scope, e.g. ((user.first_name))"</summary>
            <ul class="mt-1 grid grid-cols-1 gap-x-4 sm:grid-cols-2">
                {tags_list.into_iter().map(|(t, what)| view! { <li><code class="font-mono">{format!("(({t}))")}</code> " " {what}</li> }).collect_view()}
            </ul>
        </details>
        <fieldset class="space-y-3" hidden=email>
            <legend class="mb-2 text-sm font-semibold">"Signing and return values"</legend>
            <div class="flex items-start gap-2">
                <input id=id("signing") type="checkbox" name=name("signing") checked=form.signing.is_some() class="mt-1 h-4 w-4 rounded border-slate-300"/>
                <label for=id("signing") class="text-sm">
                    <span class="font-medium">"Sign requests"</span>
                    <span class="block text-slate-500">"Adds webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks, HMAC-SHA256) so the receiver can tell the request is ours."</span>
                </label>
            </div>
            // Ticking the box reveals where the values go (CSS: the same without JavaScript).
            <div class="grid grid-cols-[auto_1fr] gap-x-2">
                <input id=id("capture-on") type="checkbox" name=name("capture") checked=move || capture_on || group_error.get().is_some() || project_error.get().is_some() class="peer mt-1 h-4 w-4 rounded border-slate-300"/>
                <label for=id("capture-on") class="text-sm">
                    <span class="font-medium">"Capture return values"</span>
                    <span class="block text-slate-500">"Stores values from the JSON answer as external data of the user, ticket or project."</span>
                </label>
                <div class="col-span-2 mt-3 hidden min-w-0 space-y-3 border-l-2 border-indigo-200 pl-4 peer-checked:block">
                    <div>
                        <label for=id("capture") class=LABEL>"Capture return values into"</label>
                        <select id=id("capture") name=name("capture_group_id") class=INPUT aria-invalid=move || group_error.get().is_some().then_some("true")
                            on:change=move |ev| group_choice.set(event_target_value(&ev))>
                            <option value="" selected=chosen_group.is_empty()>"— choose a data group —"</option>
                            {groups.into_iter().map(|(gid, n)| view! { <option value=gid.to_string() selected=chosen_group == gid.to_string()>{n}</option> }).collect_view()}
                            <option value=NEW_DATA_GROUP selected=chosen_group == NEW_DATA_GROUP>"Create a new group"</option>
                        </select>
                        {move || group_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{capitalise(&e)} "."</p> })}
                        <p class="mt-1 text-xs text-slate-500">"Each field of the group reads the JSON answer at its parameter, a path such as issue.key or items.0.id, and is stored in its type. A value that does not fit is noted on the attempt."</p>
                    </div>
                    {(!feedback).then(|| view! {
                        <div>
                            <label for=id("capture-project") class=LABEL>"Capture project"</label>
                            <select id=id("capture-project") name=name("capture_project_id") class=INPUT aria-invalid=move || project_error.get().is_some().then_some("true")>
                                <option value="" selected=chosen_project.is_empty()>"— for a group on a project —"</option>
                                {projects.into_iter().map(|(pid, n)| view! { <option value=pid.to_string() selected=chosen_project == pid.to_string()>{n}</option> }).collect_view()}
                            </select>
                            {move || project_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Capture project", &e)}</p> })}
                            <p class="mt-1 text-xs text-slate-500">"A group “on a project” stores the answer's values on the project chosen here; a group of users stores them on the user."</p>
                        </div>
                    })}
                    // Hydrated, only for "Create a new group"; without JavaScript always, with a note.
                    <div class="space-y-3 border-t border-slate-200 pt-3" hidden=move || js.get() && group_choice.get() != NEW_DATA_GROUP>
                        <h3 class="text-sm font-semibold">"The new group"</h3>
                        <p class="text-xs text-slate-500" hidden=move || js.get()>"Used when the group above is “Create a new group”."</p>
                        <div class="max-w-md">
                            <label for=id("new-group") class=LABEL>"New group"</label>
                            <input id=id("new-group") name=format!("{}[name]", name("new_group")) value=form.new_group.name.clone() autocomplete="off" class=INPUT
                                aria-invalid=move || new_group_error.get().is_some().then_some("true")/>
                            {move || new_group_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("New group", &e)}</p> })}
                            <p class="mt-1 text-xs text-slate-500">{if feedback { "Its name, e.g. Jira. A group of feedback tickets, created when this is saved." } else { "Its name, e.g. Address check. A group of users, created when this is saved." }}</p>
                        </div>
                        <p class="text-xs text-slate-500">"Each field: the label people see, the path of its value in the answer, its type, and whether it is a favourite (shown in summaries). A row without a label is left out."</p>
                        <DataFieldTable fields=Vec::new() error name_base=name("new_group") + "[fields]" error_base=if nested { "webhook.new_group.fields" } else { "new_group.fields" }/>
                    </div>
                </div>
            </div>
        </fieldset>
        <div class="max-w-xl">
            <label for=id("retry") class=LABEL>"Retries"</label>
            <input id=id("retry") name=name("retry_schedule") value=form.retry_schedule.clone() autocomplete="off" class=INPUT
                placeholder="the installation's schedule"
                aria-describedby=id("retry-hint")
                aria-invalid=move || retry_error.get().is_some().then_some("true")/>
            {move || retry_error.get().map(|e| view! { <p class="mt-1 text-sm text-red-700">{field_sentence("Retries", &e)}</p> })}
            <p id=id("retry-hint") class="mt-1 text-xs text-slate-500">"Optional: this webhook's delays before each retry after a failure that may pass (a timeout, 429, 5xx), e.g. 10s, 1m, 10m, 1h; at most 20, none over 24h. Empty: the installation's schedule."</p>
        </div>
    }
}

/// Preview (a GET form: nothing is sent) and send test (a POST: a real delivery).
#[component]
fn TryPanel(id: i32, feedback: bool) -> impl IntoView {
    let query = use_query_map();
    let target = move || query.read().get("target").unwrap_or_default();
    let preview = Resource::new(
        move || (id, target()),
        |(id, target)| async move {
            if target.trim().is_empty() {
                Ok(None)
            } else {
                preview_webhook(id, target).await.map(Some)
            }
        },
    );
    let send = ServerAction::<SendTestWebhook>::new();
    let send_error = action_error(send);
    let (label, mode) = if feedback {
        ("Ticket number", "numeric")
    } else {
        ("Email of a member", "email")
    };
    view! {
        <section aria-labelledby="try-webhook" class=format!("{CARD} mt-6 space-y-3")>
            <h2 id="try-webhook" class="text-lg font-semibold">"Preview and send test"</h2>
            <p class="text-sm text-slate-600">"Render the request for one user or ticket. Preview sends nothing; Send test sends it now and shows the delivery."</p>
            <form method="get" action=format!("/webhooks/{id}") class="flex flex-wrap items-end gap-2">
                <div class="min-w-64 flex-1">
                    <label for="f-preview-target" class=LABEL>{label}</label>
                    <input id="f-preview-target" name="target" inputmode=mode autocomplete="off" class=INPUT prop:value=target/>
                </div>
                <button type="submit" class=BUTTON_SECONDARY>"Preview"</button>
            </form>
            <Suspense fallback=|| view! { <p>"Rendering…"</p> }>
                {move || Suspend::new(async move {
                    show(preview.await, |p| p.map(|p| view! {
                        <div>
                            <p class="text-sm">{format!("The request for {}:", p.target)}</p>
                            <RequestBlock r=p.request caption="Preview"/>
                        </div>
                    }))
                })}
            </Suspense>
            <ActionForm action=send attr:class="flex flex-wrap items-end gap-2">
                <input type="hidden" name="form[id]" value=id.to_string()/>
                <div class="min-w-64 flex-1">
                    <label for="f-send-target" class=LABEL>{format!("{label} to send for")}</label>
                    <input id="f-send-target" name="form[target]" inputmode=mode autocomplete="off" class=INPUT prop:value=target/>
                </div>
                <button type="submit" class=BUTTON>"Send test"</button>
            </ActionForm>
            {move || send_error.get().map(|e| view! {
                <p role="alert" class="text-sm text-red-700">{capitalise(&e.field_message("target").unwrap_or_else(|| e.to_string()))} "."</p>
            })}
        </section>
    }
}

#[component]
fn SigningPanel(w: WebhookView, secrets: Vec<String>) -> impl IntoView {
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    view! {
        <section aria-labelledby="signing" class=format!("{CARD} mt-6 space-y-3")>
            <h2 id="signing" class="text-lg font-semibold">"Signing secret"</h2>
            <p class="text-sm text-slate-600">"The receiver verifies webhook-signature with this secret (v1, HMAC-SHA256 over id.timestamp.body). It is stored encrypted."</p>
            {w.old_secret_until.clone().map(|until| view! {
                <p class="text-sm text-amber-900">{format!("Rotating: requests carry signatures with the new and the previous secret until {until}.")}</p>
            })}
            {if secrets.is_empty() {
                view! { <a class=BUTTON_SECONDARY href=format!("/webhooks/{}?reveal=1", w.id)>"Reveal secret"</a> }.into_any()
            } else {
                view! {
                    <ul class="space-y-1">
                        {secrets.into_iter().enumerate().map(|(i, s)| view! {
                            <li class="text-sm">{if i == 0 { "Current: " } else { "Previous (still signing): " }}<code data-testid=if i == 0 { "current-secret" } else { "previous-secret" } class="break-all font-mono">{s}</code></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionForm action=rotate>
                <input type="hidden" name="form[id]" value=w.id.to_string()/>
                <button type="submit" class=BUTTON_SECONDARY>"Rotate secret"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn RequestBlock(r: RequestView, caption: &'static str) -> impl IntoView {
    view! {
        <figure class="relative mt-2 overflow-x-auto rounded-md border border-slate-200 bg-slate-50 p-3 text-xs">
            <figcaption class="sr-only">{caption}</figcaption>
            <pre class="whitespace-pre-wrap break-all font-mono">
                {format!("{} {}\n{}{}", r.method, r.url,
                    r.headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect::<String>(),
                    if r.body.is_empty() { String::new() } else { format!("\n{}", r.body) })}
            </pre>
        </figure>
    }
}

/// The log's URL for these filters and page.
pub fn log_href(q: &DeliveryQuery, page: u32) -> String {
    let mut params = Vec::new();
    if let Some(id) = q.macro_id {
        params.push(format!("macro={id}"));
    }
    if let Some(id) = q.webhook_id {
        params.push(format!("webhook={id}"));
    }
    if let Some(id) = q.user_id {
        params.push(format!("user={id}"));
    }
    if let Some(id) = q.ticket_id {
        params.push(format!("ticket={id}"));
    }
    if let Some(s) = q.status.as_ref().filter(|s| !s.is_empty()) {
        params.push(format!("status={s}"));
    }
    if let Some(h) = q.hours {
        params.push(format!("hours={h}"));
    }
    if page > 0 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        "/webhooks/log".to_string()
    } else {
        format!("/webhooks/log?{}", params.join("&"))
    }
}

fn query_from_url() -> impl Fn() -> DeliveryQuery + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || {
        let q = query.read();
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<i32>().ok());
        DeliveryQuery {
            macro_id: num("macro"),
            webhook_id: num("webhook"),
            user_id: num("user"),
            ticket_id: num("ticket"),
            status: q.get("status").filter(|s| !s.is_empty()),
            hours: q.get("hours").and_then(|v| v.parse().ok()),
            page: q.get("page").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }
}

#[component]
pub fn WebhookLogPage() -> impl IntoView {
    let q = query_from_url();
    let data = Resource::new(move || (refresh_key(), q()), |(_, q)| load_webhook_log(q));
    view! {
        <Title text="Webhook log"/>
        <PageHeader title="Webhook log".to_string()>
            <a class=BUTTON_SECONDARY href="/macros">"Macros"</a>
        </PageHeader>
        <p class="mb-4 text-sm text-slate-600">"Every request macros sent out, newest first, with each attempt. Secret header values are masked."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let current = q();
                Suspend::new(async move { show(data.await, move |log| view! { <LogView log current/> }) })
            }}
        </Suspense>
    }
}

/// Success per webhook as horizontal bars (drawn on the server; the numbers are in the text).
#[component]
fn RateChart(rates: Vec<WebhookRate>) -> impl IntoView {
    let rows: Vec<WebhookRate> = rates
        .into_iter()
        .filter(|r| r.counts.succeeded + r.counts.failed + r.counts.pending > 0)
        .collect();
    if rows.is_empty() {
        return view! { <p class="text-sm text-slate-600">"No deliveries in the last 7 days."</p> }
            .into_any();
    }
    let height = rows.len() * 28 + 8;
    view! {
        <figure class="mb-4">
            <figcaption class="mb-1 text-sm font-semibold">"Success rate per webhook, last 7 days"</figcaption>
            <svg role="img" aria-label="Success rate per webhook" viewBox=format!("0 0 640 {height}") class="w-full max-w-3xl">
                {rows.iter().enumerate().map(|(i, r)| {
                    let y = i * 28 + 4;
                    let total = (r.counts.succeeded + r.counts.failed + r.counts.pending).max(1) as f64;
                    let w_ok = 360.0 * r.counts.succeeded as f64 / total;
                    let w_fail = 360.0 * r.counts.failed as f64 / total;
                    let w_wait = 360.0 * r.counts.pending as f64 / total;
                    view! {
                        <g>
                            <text x="0" y=y + 15 font-size="12" fill="#334155">{r.name.chars().take(28).collect::<String>()}</text>
                            <rect x="200" y=y width=format!("{w_ok:.1}") height="20" fill="#10b981"/>
                            <rect x=format!("{:.1}", 200.0 + w_ok) y=y width=format!("{w_fail:.1}") height="20" fill="#ef4444"/>
                            <rect x=format!("{:.1}", 200.0 + w_ok + w_fail) y=y width=format!("{w_wait:.1}") height="20" fill="#f59e0b"/>
                            <text x="570" y=y + 15 font-size="12" fill="#334155">{r.counts.success_percent().map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <ul class="mt-1 text-xs text-slate-600">
                {rows.iter().map(|r| view! {
                    <li data-testid="webhook-rate">{format!("{}: {} succeeded, {} failed, {} waiting{}", r.name, r.counts.succeeded, r.counts.failed, r.counts.pending,
                        r.counts.success_percent().map(|p| format!(" ({p}% success)")).unwrap_or_default())}</li>
                }).collect_view()}
            </ul>
        </figure>
    }.into_any()
}

#[component]
fn LogView(log: WebhookLogView, current: DeliveryQuery) -> impl IntoView {
    let page_count = log.page_count();
    let filtered = current.macro_id.is_some()
        || current.webhook_id.is_some()
        || current.status.is_some()
        || current.hours.is_some()
        || current.user_id.is_some()
        || current.ticket_id.is_some();
    let pager_query = current.clone();
    let status = current.status.clone().unwrap_or_default();
    view! {
        {log.subject.clone().map(|(text, href)| view! {
            <div class="mb-4 flex flex-wrap items-center gap-x-3 rounded-md border border-indigo-200 bg-indigo-50 px-4 py-2 text-sm text-indigo-950">
                <a class=LINK href=href>{text}</a>
                <a class=LINK href="/webhooks/log">"Show every delivery"</a>
            </div>
        })}
        <RateChart rates=log.rates.clone()/>
        <Form method="GET" action="/webhooks/log" attr:class="mb-4 flex flex-wrap items-end gap-3" attr:role="search" attr:aria-label="Filter the webhook log">
            {current.user_id.map(|id| view! { <input type="hidden" name="user" value=id.to_string()/> })}
            {current.ticket_id.map(|id| view! { <input type="hidden" name="ticket" value=id.to_string()/> })}
            <div>
                <label for="wl-macro" class=LABEL>"Macro"</label>
                <select id="wl-macro" name="macro" class=INPUT>
                    <option value="" selected=current.macro_id.is_none()>"All macros"</option>
                    {log.macros.iter().map(|(id, n)| view! { <option value=id.to_string() selected=current.macro_id == Some(*id)>{n.clone()}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label for="wl-webhook" class=LABEL>"Webhook"</label>
                <select id="wl-webhook" name="webhook" class=INPUT>
                    <option value="" selected=current.webhook_id.is_none()>"All webhooks"</option>
                    {log.webhooks.iter().map(|(id, n)| view! { <option value=id.to_string() selected=current.webhook_id == Some(*id)>{n.clone()}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label for="wl-status" class=LABEL>"Status"</label>
                <select id="wl-status" name="status" class=INPUT>
                    <option value="" selected=status.is_empty()>"All statuses"</option>
                    {DeliveryStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=status == s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label for="wl-hours" class=LABEL>"Time"</label>
                <select id="wl-hours" name="hours" class=INPUT>
                    <option value="" selected=current.hours.is_none()>"Any time"</option>
                    {[(1, "Last hour"), (24, "Last 24 hours"), (168, "Last 7 days")].into_iter().map(|(h, l)| view! { <option value=h.to_string() selected=current.hours == Some(h)>{l}</option> }).collect_view()}
                </select>
            </div>
            <button type="submit" name="page" value="0" class=BUTTON_SECONDARY>"Apply filters"</button>
            {filtered.then(|| view! { <a class=format!("{LINK} pb-2 text-sm") href="/webhooks/log">"Clear filters"</a> })}
        </Form>
        {if log.deliveries.is_empty() {
            if filtered {
                view! { <EmptyState title="No deliveries match these filters." text="Change the filters above, or clear them to see every delivery."/> }.into_any()
            } else {
                view! { <EmptyState title="No deliveries yet." text="Every request and email a macro's webhooks send is listed here, with each attempt and its answer. Add webhooks on a macro's page; they go out when the macro runs."/> }.into_any()
            }
        } else {
            view! { <DeliveryTable deliveries=log.deliveries.clone()/> }.into_any()
        }}
        <Pager page=log.page page_count total=log.total href_for=move |n| log_href(&pager_query, n)/>
        {(log.replayable > 0).then(|| view! {
            <ResendAll current=current.clone() count=log.replayable upto=log.replay_upto token=log.replay_token.clone()/>
        })}
    }
}

/// *Resend all*: the deliveries the filters match, sent again as new deliveries. The count
/// comes first; the manager confirms it, and the replay's page shows the sending.
#[component]
fn ResendAll(current: DeliveryQuery, count: u64, upto: i64, token: String) -> impl IntoView {
    let action = ServerAction::<ReplayDeliveries>::new();
    let error = action_error(action);
    let confirm_error = field_error(error, "confirm");
    let expected_error = field_error(error, "expected");
    let opt = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
    let what = if count == 1 { "delivery" } else { "deliveries" };
    view! {
        <section id="resend-all" aria-labelledby="resend-all-heading" class=format!("{CARD} mt-6 space-y-3")>
            <h2 id="resend-all-heading" class="text-lg font-semibold">"Resend all"</h2>
            <p class="text-sm text-slate-700" data-testid="replay-count">{format!("{count} {what} matching these filters can be sent again: each goes out as a new delivery, with the request it had. Deliveries still waiting, those of a webhook that is switched off, and those that named a removed person are left out.")}</p>
            <ActionForm action=action attr:class="space-y-3">
                <FormAlert error/>
                <input type="hidden" name="form[macro_id]" value=opt(current.macro_id)/>
                <input type="hidden" name="form[webhook_id]" value=opt(current.webhook_id)/>
                <input type="hidden" name="form[user_id]" value=opt(current.user_id)/>
                <input type="hidden" name="form[ticket_id]" value=opt(current.ticket_id)/>
                <input type="hidden" name="form[status]" value=current.status.clone().unwrap_or_default()/>
                <input type="hidden" name="form[hours]" value=current.hours.map(|h| h.to_string()).unwrap_or_default()/>
                <input type="hidden" name="form[expected]" value=count.to_string()/>
                <input type="hidden" name="form[upto]" value=upto.to_string()/>
                <input type="hidden" name="form[token]" value=token/>
                <label for="f-replay-confirm" class="flex items-center gap-2 text-sm">
                    <input id="f-replay-confirm" type="checkbox" name="form[confirm]" class="h-4 w-4 rounded border-slate-300"/>
                    {format!("Yes, send these {count} {what} again")}
                </label>
                {move || confirm_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("Confirmation", &e)}</p> })}
                {move || expected_error.get().map(|e| view! { <p class="text-sm text-red-700">{field_sentence("Count", &e)}</p> })}
                <button type="submit" class=BUTTON>{format!("Resend {count} {what}")}</button>
            </ActionForm>
        </section>
    }
}

/// `/webhooks/replays/:id`: a bulk replay's sending, as a progress bar. Hydrated, it looks
/// again every second until nothing waits; without JavaScript, *Refresh* does.
#[component]
pub fn ReplayPage() -> impl IntoView {
    let id = id_param();
    let tick = RwSignal::new(0u32);
    let finished = RwSignal::new(false);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !finished.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let data = Resource::new(move || (id(), tick.get()), |(id, _)| load_replay(id));
    view! {
        <Title text="Resend all"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, |r| {
                    finished.set(r.finished() || r.waiting == r.paused);
                    view! { <ReplayProgress r/> }
                })
            })}
        </Transition>
    }
}

#[component]
fn ReplayProgress(r: ReplayView) -> impl IntoView {
    let percent = r.percent();
    let state = if r.finished() {
        format!("Done: {} succeeded, {} failed.", r.succeeded, r.failed)
    } else if r.paused > 0 && r.waiting == r.paused {
        format!(
            "{} wait until their webhook is resumed; {} succeeded, {} failed.",
            r.paused, r.succeeded, r.failed
        )
    } else {
        format!(
            "Sending: {} succeeded, {} failed, {} waiting.",
            r.succeeded, r.failed, r.waiting
        )
    };
    view! {
        <PageHeader title=format!("Resend all #{}", r.id)>
            <a class=BUTTON_SECONDARY href="/webhooks/log">"Webhook log"</a>
        </PageHeader>
        <section class=format!("{CARD} space-y-3")>
            <p class="text-sm">{format!("{} · sent again by {} at {}", capitalise(&r.description), r.created_by, r.created_at)}</p>
            <crate::app::components::ProgressBar label="Deliveries finished" percent/>
            <p role="status" class="text-sm" data-testid="replay-state">{state}</p>
            {(!r.finished()).then(|| view! { <a class=LINK href=format!("/webhooks/replays/{}", r.id)>"Refresh"</a> })}
            <a class=format!("{LINK} block text-sm") href="/webhooks/log">"See the deliveries in the webhook log"</a>
        </section>
    }
}

#[component]
pub fn DeliveryTable(deliveries: Vec<DeliveryView>) -> impl IntoView {
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class=TABLE>
                <caption class="sr-only">"Webhook deliveries"</caption>
                <thead class="bg-slate-50">
                    <tr>
                        <th scope="col" class=TH>"Delivery"</th>
                        <th scope="col" class=TH>"Time"</th>
                        <th scope="col" class=TH>"Webhook"</th>
                        <th scope="col" class=TH>"About"</th>
                        <th scope="col" class=TH>"Request"</th>
                        <th scope="col" class=TH>"Status"</th>
                        <th scope="col" class=format!("{TH} text-right")>"Attempts"</th>
                        <th scope="col" class=TH>"Last answer"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {deliveries.into_iter().map(|d| {
                        let about = match (d.target_user_id, d.target_ticket_id) {
                            (Some(u), _) => view! { <a class=LINK href=format!("/users/{u}")>{d.target.clone()}</a> }.into_any(),
                            (None, Some(t)) => view! { <a class=LINK href=format!("/feedback/{t}")>{d.target.clone()}</a> }.into_any(),
                            _ => view! { <span>{d.target.clone()}</span> }.into_any(),
                        };
                        view! {
                            <tr>
                                <td class=TD><a class=format!("{LINK} underline") href=format!("/webhooks/deliveries/{}", d.id)>{format!("#{}", d.id)}</a>
                                    {d.test.then(|| view! { <span class="ml-1 text-xs text-slate-500">"test"</span> })}
                                    {d.resend_of.map(|r| view! { <span class="ml-1 text-xs text-slate-500">{format!("resend of #{r}")}</span> })}
                                    {d.sealed.then(|| view! { <span class="ml-1 text-xs text-slate-500">{if d.erased_at.is_some() { "identifier erased" } else { "sealed" }}</span> })}
                                </td>
                                <td class=format!("{TD} whitespace-nowrap")>{d.created_at.clone()}</td>
                                <td class=TD>{d.webhook_name.clone()} <span class="block text-xs text-slate-500">{d.macro_name.clone()}</span></td>
                                <td class=TD>{about}</td>
                                <td class=format!("{TD} max-w-xs truncate font-mono text-xs")>{format!("{} {}", d.method, d.url)}</td>
                                <td class=TD><span class=format!("inline-block rounded px-1.5 py-0.5 text-xs font-semibold ring-1 {}", status_badge(d.status))>{d.status.label()}</span>
                                    {d.next_attempt_at.clone().map(|t| view! { <span class="block text-xs text-slate-500">{format!("next try {t}")}</span> })}
                                </td>
                                <td class=format!("{TD} text-right tabular-nums")>{d.attempts}</td>
                                <td class=format!("{TD} text-xs")>{d.last_status.map(|s| s.to_string()).unwrap_or_default()} " "
                                    // "answered 400" says no more than the status beside it.
                                    {d.last_error.clone().filter(|e| !e.starts_with("answered")).unwrap_or_default()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn DeliveryPage() -> impl IntoView {
    let id = crate::app::components::long_id_param();
    let data = Resource::new(move || (refresh_key(), id()), |(_, id)| load_delivery(id));
    let resend = ServerAction::<ResendDelivery>::new();
    let resend_error = action_error(resend);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                show(data.await, move |detail| {
                    let d = detail.delivery.clone();
                    let title = format!("Delivery #{}", d.id);
                    view! {
                        <Title text=title.clone()/>
                        <PageHeader title=title>
                            <a class=BUTTON_SECONDARY href="/webhooks/log">"Webhook log"</a>
                            {d.webhook_id.map(|w| view! { <a class=BUTTON_SECONDARY href=format!("/webhooks/{w}")>"Webhook"</a> })}
                        </PageHeader>
                        <div class=format!("{CARD} space-y-2")>
                            <p class="text-sm">
                                <span class=format!("inline-block rounded px-1.5 py-0.5 text-xs font-semibold ring-1 {}", status_badge(d.status))>{d.status.label()}</span>
                                {format!(" {} of macro {}, about {}, queued {}", d.webhook_name, d.macro_name, d.target, d.created_at)}
                            </p>
                            {d.resend_of.map(|r| view! { <p class="text-sm">"A resend of " <a class=format!("{LINK} underline") href=format!("/webhooks/deliveries/{r}")>{format!("delivery #{r}")}</a></p> })}
                            {d.run_id.map(|r| view! { <p class="text-sm text-slate-600">{format!("Sent by run #{r}")}</p> })}
                            {d.next_attempt_at.clone().map(|t| view! { <p class="text-sm text-amber-900">{format!("Next attempt at {t}")}</p> })}
                            {d.last_error.clone().map(|e| view! { <p class="text-sm text-red-800">{e}</p> })}
                            <h2 class="pt-2 text-base font-semibold">"Request"</h2>
                            {match (d.sealed, d.erased_at.clone()) {
                                (false, _) => view! {
                                    <RequestBlock r=detail.request.clone() caption="Request"/>
                                    {(!detail.locked).then(|| view! {
                                        <ActionForm action=resend attr:class="pt-2">
                                            <input type="hidden" name="form[id]" value=d.id.to_string()/>
                                            <button type="submit" class=BUTTON>"Resend"</button>
                                        </ActionForm>
                                    })}
                                }.into_any(),
                                (true, None) => view! {
                                    <p class="text-sm text-slate-700" data-testid="sealed">{format!("Sealed: this request names a removed person, so its address, headers and body are kept encrypted until it is sent or given up, then erased. It goes to {}.", d.url)}</p>
                                }.into_any(),
                                (true, Some(at)) => view! {
                                    <p class="text-sm text-slate-700" data-testid="sealed">{format!("Erased at {at}: this request named a removed person; once it was sent or given up, its address, headers and body were erased. It went to {}.", d.url)}</p>
                                }.into_any(),
                            }}
                            {move || resend_error.get().map(|e| view! { <p role="alert" class="text-sm text-red-700">{capitalise(&e.to_string())} "."</p> })}
                        </div>
                        <h2 class="mb-2 mt-6 text-lg font-semibold">"Attempts"</h2>
                        {if detail.attempts.is_empty() {
                            view! { <p class="text-sm text-slate-600">"No attempt yet."</p> }.into_any()
                        } else {
                            view! {
                                <ol class="space-y-3">
                                    {detail.attempts.clone().into_iter().map(|a| view! {
                                        <li class=format!("{CARD} space-y-1") data-testid="attempt">
                                            <p class="text-sm font-semibold">{format!("Attempt {} at {} · {} ms · {}", a.attempt, a.started_at, a.duration_ms,
                                                a.response_status.map(|s| format!("answered {s}")).unwrap_or_else(|| "no answer".into()))}</p>
                                            {a.error.clone().map(|e| view! { <p class="text-sm text-red-800">{e}</p> })}
                                            {a.next_retry_at.clone().map(|t| view! { <p class="text-sm text-amber-900">{format!("Retry at {t}")}</p> })}
                                            {(!a.capture_note.is_empty()).then(|| view! { <p class="text-sm text-slate-700">{a.capture_note.clone()}</p> })}
                                            {(!a.request_headers.is_empty()).then(|| view! {
                                                <details class="text-xs">
                                                    <summary class="cursor-pointer">"Headers sent"</summary>
                                                    <pre class="whitespace-pre-wrap break-all font-mono">{a.request_headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect::<String>()}</pre>
                                                </details>
                                            })}
                                            {a.response_status.map(|_| view! {
                                                <details class="text-xs" open=true>
                                                    <summary class="cursor-pointer">"Answer"</summary>
                                                    <pre class="whitespace-pre-wrap break-all font-mono">{a.response_headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect::<String>()}</pre>
                                                    <pre class="mt-1 whitespace-pre-wrap break-all font-mono" data-testid="response-body">{a.response_body.clone()}</pre>
                                                </details>
                                            })}
                                        </li>
                                    }).collect_view()}
                                </ol>
                            }.into_any()
                        }}
                    }
                })
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_in_at_the_cursor_counted_as_the_browser_counts() {
        assert_eq!(
            insert_at("{\"t\": \"\"}", 7, "((x))"),
            ("{\"t\": \"((x))\"}".to_string(), 12)
        );
        // "é" and "😀" are one and two UTF-16 units.
        assert_eq!(insert_at("é😀!", 3, "((x))"), ("é😀((x))!".to_string(), 8));
        assert_eq!(insert_at("ab", 99, "((x))"), ("ab((x))".to_string(), 7));
    }

    #[test]
    fn log_links_keep_only_the_filters_that_are_set() {
        assert_eq!(log_href(&DeliveryQuery::default(), 0), "/webhooks/log");
        let q = DeliveryQuery {
            macro_id: Some(3),
            status: Some("failed".into()),
            hours: Some(24),
            ..Default::default()
        };
        assert_eq!(
            log_href(&q, 1),
            "/webhooks/log?macro=3&status=failed&hours=24&page=1"
        );
    }
}
