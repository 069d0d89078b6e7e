//! Small building blocks shared by the screens.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::errors::AppError;

pub const INPUT: &str = "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500 aria-[invalid=true]:border-red-500";
pub const LABEL: &str = "block text-sm font-medium text-slate-700 mb-1";
pub const BUTTON: &str = "inline-flex items-center justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500 focus:ring-offset-2 disabled:opacity-50";
pub const BUTTON_SECONDARY: &str = "inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-indigo-500";
pub const BUTTON_DANGER: &str = "inline-flex items-center justify-center rounded-md bg-red-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-500 focus:outline-none focus:ring-2 focus:ring-red-500 focus:ring-offset-2";
pub const CARD: &str = "rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6";
/// A table sits in a `relative overflow-x-auto` box, so that on a phone it scrolls inside the
/// box instead of widening the page; `relative` keeps its `sr-only` labels (positioned
/// absolutely) inside the box as well.
pub const TABLE: &str = "min-w-full divide-y divide-slate-200 text-sm";
pub const TH: &str = "px-3 py-2 text-left font-semibold text-slate-600";
pub const TD: &str = "px-3 py-2 align-top";
pub const LINK: &str = "text-indigo-700 underline-offset-2 hover:underline";

/// Messages behind the `notice` codes that redirects carry (codes, not text, so a crafted
/// link cannot put words on our pages).
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed_out" => "You have signed out.",
        "user_created" => "The user was created.",
        "user_updated" => "The user was saved.",
        "user_deleted" => "The user was deleted.",
        "team_created" => "The team was created.",
        "team_updated" => "The team was saved.",
        "team_deleted" => "The team was deleted.",
        "api_key_updated" => "The API key was saved.",
        "api_key_enabled" => "The API key is enabled.",
        "api_key_disabled" => "The API key is disabled.",
        "api_key_deleted" => "The API key was deleted.",
        "filter_created" => "The filter was created.",
        "macro_saved" => "The macro was saved.",
        "listener_saved" => "The listener was saved.",
        "listener_signing_saved" => "How the listener's calls are signed was saved.",
        "source_signing_saved" => "How the source's calls are signed was saved.",
        "listening" => "Listening: the next call to its URL is kept below, and nothing runs.",
        "listening_stopped" => "Stopped listening: calls are answered as usual.",
        "test_call_mapped" => "The setting was filled with the value's path and saved.",
        "webhook_paused" => "The webhook is paused: its deliveries wait until you resume it.",
        "webhook_resumed" => "The webhook is resumed: what waited goes out now, oldest first.",
        "listener_deleted" => "The listener was deleted.",
        "macro_deleted" => "The macro was deleted.",
        "macro_completed" => "The macro ran.",
        "macro_skipped" => {
            "The macro was skipped: it runs only once per person and already ran for this one."
        }
        "user_removed" => "The user was removed completely.",
        "filter_updated" => "The filter was saved.",
        "filter_deleted" => "The filter was deleted.",
        "project_saved" => "The project was saved.",
        "feedback_type_created" => {
            "The feedback type was created: give it its form, workflow and teams."
        }
        "feedback_type_saved" => "The feedback type was saved.",
        "ticket_created" => "The ticket was submitted.",
        "ticket_updated" => "The ticket was changed.",
        "external_source_saved" => "The external source was saved.",
        "data_group_created" => "The data group was created: add its fields.",
        "data_group_saved" => "The data group was saved.",
        "data_group_deleted" => "The data group was deleted.",
        "comment_added" => "The comment was added; followers are notified.",
        "user_comment_added" => "The comment was added.",
        "sessions_ended" => "Every other session was signed out.",
        "schedule_on" => "The schedule is on.",
        "webhook_saved" => "The webhook was saved.",
        "webhook_deleted" => "The webhook was deleted.",
        "secret_rotated" => {
            "A new signing secret was made; the previous one keeps signing for 24 hours."
        }
        "test_sent" => "The test request was queued and is being sent.",
        "resent" => "The request was queued again and is being sent.",
        "schedule_off" => "The schedule is off: it will not run until it is switched on again.",
        _ => return None,
    })
}

/// The flash message of the page, if the URL carries one.
#[component]
pub fn Notice() -> impl IntoView {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("notice")
            .and_then(|code| notice_text(&code))
            .map(|text| {
                view! {
                    <div role="status" class="mb-4 rounded-md border border-emerald-300 bg-emerald-50 px-4 py-3 text-sm text-emerald-900">
                        {text}
                    </div>
                }
            })
    }
}

/// A failed load, shown in place of the screen's content.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let sign_in = matches!(error, AppError::Unauthorized);
    let title = match &error {
        AppError::NotFound(_) => "Not found",
        AppError::Unauthorized => "Your session has ended",
        AppError::Forbidden(_) => "Not allowed",
        _ => "Something went wrong",
    };
    view! {
        <div role="alert" class="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900">
            <p class="font-semibold">{title}</p>
            <p>{capitalise(&error.to_string())}</p>
            {sign_in.then(|| view! { <a class=LINK href="/login">"Sign in again"</a> })}
        </div>
    }
}

/// Renders a loaded value, or the error panel.
pub fn show<T, V: IntoView + 'static>(
    result: Result<T, AppError>,
    render: impl FnOnce(T) -> V,
) -> AnyView {
    match result {
        Ok(value) => render(value).into_any(),
        Err(error) => view! { <ErrorPanel error/> }.into_any(),
    }
}

pub fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A field message as a sentence: "is required" under "Email" reads "Email is required".
pub fn field_sentence(label: &str, message: &str) -> String {
    if message.starts_with("is ") || message.starts_with("must ") {
        format!("{label} {message}.")
    } else {
        format!("{}.", capitalise(message))
    }
}

/// Bumped whenever a form's submission succeeds, so every loader on the page fetches
/// again (a form may redirect to the very page it is on).
#[derive(Clone, Copy)]
pub struct Refresh(pub RwSignal<u64>);

/// The current refresh generation; loaders put it in their source.
pub fn refresh_key() -> u64 {
    use_context::<Refresh>().map(|r| r.0.get()).unwrap_or(0)
}

/// Makes a form's completion refresh the page's data.
pub fn refresh_after<I, O>(action: ServerAction<I>)
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    if let Some(Refresh(refresh)) = use_context::<Refresh>() {
        Effect::new(move |_| {
            // Only after success: refreshing after a refusal would rebuild the form and
            // lose its error messages.
            if action.value().with(|v| matches!(v, Some(Ok(_)))) {
                refresh.update(|n| *n += 1);
            }
        });
    }
}

/// The error of a form's last submission, as a reactive value; the form's completion also
/// refreshes the page's data.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    refresh_after(action);
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

pub fn field_error(
    error: Signal<Option<AppError>>,
    field: impl Into<String>,
) -> Signal<Option<String>> {
    let field = field.into();
    Signal::derive(move || error.get().and_then(|e| e.field_message(&field)))
}

/// The summary line above a form when its submission failed.
#[component]
pub fn FormAlert(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <div role="alert" class="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900">
                    {capitalise(&e.to_string())} "."
                </div>
            }
        })
    }
}

fn field_id(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("f-{}", id.trim_matches('-').replace("--", "-"))
}

/// A labelled input with its error underneath, linked for screen readers.
#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    #[prop(into, optional)] value: String,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
    /// Told the field's text as it is typed (hydrated).
    #[prop(optional, into)]
    on_input: Option<Callback<String>>,
) -> impl IntoView {
    let id = field_id(name);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div>
            <label for=id.clone() class=LABEL>{label}</label>
            <input
                id=id
                name=name
                type=kind.unwrap_or("text")
                value=value
                required=required
                autocomplete=autocomplete
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described
                class=INPUT
                on:input=move |ev| {
                    if let Some(told) = on_input {
                        told.run(event_target_value(&ev));
                    }
                }
            />
            {hint.map(|h| view! { <p id=hint_id class="mt-1 text-xs text-slate-500">{h}</p> })}
            {move || error.get().map(|e| view! {
                <p id=error_id.clone() class="mt-1 text-sm text-red-700">{field_sentence(label, &e)}</p>
            })}
        </div>
    }
}

/// Title row of a screen with optional actions on the right.
#[component]
pub fn PageHeader(title: String, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <div class="mb-6 flex flex-wrap items-center justify-between gap-3">
            <h1 class="min-w-0 text-2xl font-semibold tracking-tight">{title}</h1>
            <div class="flex flex-wrap gap-2">{children.map(|c| c())}</div>
        </div>
    }
}

/// An empty list: what is missing, what the list is for and what to do next, and the buttons
/// that make the first one (`children`; none where something else fills the list, as with the
/// logs).
#[component]
pub fn EmptyState(
    /// What is missing, as a sentence: "No API keys yet."
    title: &'static str,
    /// What the list is for and what to do next.
    text: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-slate-300 bg-white px-4 py-8 text-center sm:px-6">
            <p class="font-semibold text-slate-800">{title}</p>
            <p class="mx-auto mt-1 max-w-prose text-sm text-slate-600">{text}</p>
            {children.map(|c| view! { <div class="mt-4 flex flex-wrap justify-center gap-2">{c()}</div> })}
        </div>
    }
}

/// Renders `children` only for community managers.
#[component]
pub fn IfCommunityManager(children: ChildrenFn) -> impl IntoView {
    let me = crate::app::use_me();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    let allowed = matches!(me.await, Ok(Some(u)) if u.can_manage_users());
                    allowed.then(|| children())
                })
            }}
        </Suspense>
    }
}

/// A page only community managers may use (one that loads nothing the server would refuse):
/// anyone else gets the refusal its server functions give, with the 403 status.
#[component]
pub fn CommunityManagersOnly(children: ChildrenFn) -> impl IntoView {
    let me = crate::app::use_me();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match me.await {
                        Ok(Some(u)) if !u.can_manage_users() => {
                            #[cfg(feature = "ssr")]
                            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                                res.set_status(http::StatusCode::FORBIDDEN);
                            }
                            let error = AppError::Forbidden(format!(
                                "a {} cannot do this",
                                u.role.label().to_lowercase()
                            ));
                            view! { <ErrorPanel error/> }.into_any()
                        }
                        _ => children().into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// "Previous / Page x of y / Next" links; `href_for(page)` builds each link.
#[component]
pub fn Pager(
    page: u32,
    page_count: u32,
    total: u64,
    href_for: impl Fn(u32) -> String + 'static,
) -> impl IntoView {
    let prev = (page > 0).then(|| href_for(page - 1));
    let next = (page + 1 < page_count).then(|| href_for(page + 1));
    view! {
        <nav aria-label="Pages" class="mt-4 flex flex-wrap items-center justify-between gap-2 text-sm">
            <p class="text-slate-600">{format!("Page {} of {} · {} in all", page + 1, page_count, total)}</p>
            <div class="flex gap-2">
                {prev.map(|h| view! { <a class=BUTTON_SECONDARY href=h rel="prev">"Previous"</a> })}
                {next.map(|h| view! { <a class=BUTTON_SECONDARY href=h rel="next">"Next"</a> })}
            </div>
        </nav>
    }
}

/// The red "delete this …" box under an editor: a confirmation checkbox (`form[confirm]`)
/// and a button, posting `form[id]` to the given server function.
#[component]
pub fn DangerZone<S, P>(
    action: ServerAction<S>,
    id: i32,
    heading: &'static str,
    #[prop(optional)] explanation: Option<&'static str>,
    #[prop(into)] confirm_label: String,
    button: &'static str,
) -> impl IntoView
where
    S: serde::de::DeserializeOwned
        + leptos::server_fn::ServerFn<Protocol = leptos::server_fn::Http<leptos::server_fn::codec::PostUrl, P>, Output = (), Error = AppError>
        + Clone
        + Send
        + Sync
        + 'static,
    <<S::Client as leptos::server_fn::client::Client<AppError>>::Request as leptos::server_fn::request::ClientReq<AppError>>::FormData:
        From<leptos::web_sys::FormData>,
    S::Client: leptos::server_fn::client::Client<AppError>,
    P: 'static,
{
    let error = action_error(action);
    view! {
        <section aria-labelledby="danger-zone" class="mt-6 rounded-lg border border-red-200 bg-red-50/50 p-4 sm:p-6">
            <h2 id="danger-zone" class="text-lg font-semibold text-red-900">{heading}</h2>
            {explanation.map(|e| view! { <p class="mt-1 text-sm text-slate-700">{e}</p> })}
            <ActionForm action=action attr:class="mt-3 space-y-3">
                <input type="hidden" name="form[id]" value=id.to_string()/>
                <label for="f-confirm" class="flex items-center gap-2 text-sm">
                    <input id="f-confirm" type="checkbox" name="form[confirm]" class="h-4 w-4 rounded border-slate-300"/>
                    {confirm_label}
                </label>
                {move || error.get().map(|e| view! {
                    <p role="alert" class="text-sm text-red-700">{capitalise(&e.field_message("confirm").unwrap_or_else(|| e.to_string()))} "."</p>
                })}
                <button type="submit" class=BUTTON_DANGER>{button}</button>
            </ActionForm>
        </section>
    }
}

/// The `:id` of the current route as a reactive number (0 when it is not a number, which
/// every loader answers with "not found").
/// The `scope` query parameter of a "new" page: "feedback", or "user" for anything else.
pub fn scope_param() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || {
        if query.read().get("scope").as_deref() == Some("feedback") {
            "feedback".to_string()
        } else {
            "user".to_string()
        }
    }
}

pub fn id_param() -> impl Fn() -> i32 + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i32>().ok())
            .unwrap_or(0)
    }
}

/// The route's `:id` as a 64-bit number (deliveries and log rows), 0 when it is none.
pub fn long_id_param() -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Selects a read-only field's whole text when it gets the focus (the key, URL or curl line to
/// copy). An event listener, not an `onfocus` attribute: the Content-Security-Policy allows no
/// inline script.
pub fn select_all(ev: leptos::ev::FocusEvent) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
    {
        input.select();
    }
}

/// A progress bar, `percent` of 100. Drawn as SVG: its bar's width is an attribute, not an
/// inline style, which the Content-Security-Policy would block.
#[component]
pub fn ProgressBar(label: &'static str, percent: u64) -> impl IntoView {
    view! {
        <div role="progressbar" aria-label=label aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string() class="h-4 w-full overflow-hidden rounded-full bg-slate-200">
            <svg class="block h-full w-full" viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true">
                <rect class="fill-indigo-600" x="0" y="0" height="1" width=percent.to_string()></rect>
            </svg>
        </div>
    }
}

/// Whether the page is hydrated: false on the server and while hydrating, true once the
/// browser runs the page. What needs JavaScript shows (or is enabled) only then, so that the
/// page without JavaScript offers nothing that cannot work.
pub fn hydrated() -> ReadSignal<bool> {
    let (on, set) = signal(false);
    Effect::new(move |_| set.set(true));
    on
}

/// A read-only field holding text to copy (a URL, a request, a new key) and its Copy button.
/// Hydrated, the button puts the text on the clipboard and says so in a live region (where the
/// clipboard is not allowed, it selects the text to copy with the keyboard). Without
/// JavaScript the button is hidden and the field says to select the text and copy it.
#[component]
pub fn CopyField(
    id: &'static str,
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    /// The label is for screen readers only (a heading above says what the text is).
    #[prop(optional)]
    label_hidden: bool,
) -> impl IntoView {
    let js = hydrated();
    let input = NodeRef::<leptos::html::Input>::new();
    let said = RwSignal::new("");
    // A changed text has not been copied yet.
    Effect::new(move |_| {
        value.track();
        said.set("");
    });
    let copy = move |_: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            let text = value.get_untracked();
            let by_hand = move || {
                if let Some(el) = input.get_untracked() {
                    el.select();
                }
                said.set("Copying is not allowed here: the text is selected, press Ctrl+C (⌘C) to copy it.");
            };
            let Some(window) = web_sys::window() else {
                return;
            };
            let clipboard = window.navigator().clipboard();
            if AsRef::<leptos::wasm_bindgen::JsValue>::as_ref(&clipboard).is_undefined() {
                by_hand();
                return;
            }
            leptos::task::spawn_local(async move {
                match wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&text)).await {
                    Ok(_) => said.set("Copied"),
                    Err(_) => by_hand(),
                }
            });
        }
    };
    let status_id = format!("{id}-status");
    view! {
        <div>
            <label for=id class=if label_hidden { "sr-only" } else { LABEL }>{label}</label>
            <div class="flex gap-2">
                <input id=id node_ref=input readonly=true value=value
                    aria-describedby=status_id.clone()
                    class=format!("{INPUT} min-w-0 flex-1 font-mono") on:focus=select_all/>
                <button type="button" class=format!("{BUTTON_SECONDARY} shrink-0") hidden=move || !js.get() on:click=copy>
                    "Copy" <span class="sr-only">{format!(" {label}")}</span>
                </button>
            </div>
            <p id=status_id class="mt-1 text-xs text-slate-500" aria-live="polite">
                {move || if js.get() { said.get() } else { "Select the text and copy it (Ctrl+C, or ⌘C on a Mac)." }}
            </p>
        </div>
    }
}

/// The text between `<textarea>` and `</textarea>`. The renderer writes a text area's content
/// unescaped on the server, so a stored `</textarea>` would end the field early and the rest of
/// the value would be markup; on the server the text is escaped here (the browser decodes it
/// back into the field's value), in the browser it is used as it is.
pub fn textarea_text(text: impl Into<String>) -> String {
    let text = text.into();
    #[cfg(feature = "ssr")]
    let text = crate::server::domain::escape_html(&text);
    text
}
