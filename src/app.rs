//! The shell, the router and the admin layout. Screens live in `app/pages`, shared pieces in
//! `app/components`.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub mod components;
pub mod pages;

use crate::errors::AppError;
use crate::server_fns::auth::{SignOut, current_user};
use crate::types::CurrentUserView;
use components::Notice;
use pages::*;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    page_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

/// The document title of a screen: "{text} · Switchyard". `leptos_meta` writes the title into
/// the server-rendered `<head>` as it is, without escaping, and titles hold names that users and
/// third parties choose (a user named `</title><script>…`), so on the server the text is
/// escaped here. In the browser the same formatter sets `document.title`, a plain text
/// property, so there it stays as typed.
fn page_title(text: String) -> String {
    let title = if text.is_empty() {
        "Switchyard".to_string()
    } else {
        format!("{text} · Switchyard")
    };
    #[cfg(feature = "ssr")]
    let title = crate::server::domain::escape_html(&title);
    title
}

/// The page's Content-Security-Policy, naming the nonce its hydration script carries.
#[cfg(feature = "ssr")]
fn page_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) =
        http::HeaderValue::from_str(&crate::server::web::content_security_policy(Some(&nonce)))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(components::Refresh(RwSignal::new(0)));
    // Every screen is rendered completely on the server (nothing streamed in later), so
    // it works the same with JavaScript off.
    let ssr = SsrMode::Async;
    view! {
        <Stylesheet id="leptos" href="/pkg/switchyard.css"/>
        <Title formatter=page_title/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage ssr=ssr.clone()/>
                <ParentRoute path=path!("") view=AdminLayout ssr=ssr.clone()>
                    <Route path=path!("") view=DashboardPage ssr=ssr.clone()/>
                    <Route path=path!("/users") view=UsersPage ssr=ssr.clone()/>
                    <Route path=path!("/users/new") view=NewUserPage ssr=ssr.clone()/>
                    <Route path=path!("/users/import") view=ImportPage ssr=ssr.clone()/>
                    <Route path=path!("/users/import/:id") view=ImportReportPage ssr=ssr.clone()/>
                    <Route path=path!("/users/:id") view=UserPage ssr=ssr.clone()/>
                    <Route path=path!("/users/:id/edit") view=EditUserPage ssr=ssr.clone()/>
                    <Route path=path!("/teams") view=TeamsPage ssr=ssr.clone()/>
                    <Route path=path!("/projects") view=ProjectsPage ssr=ssr.clone()/>
                    <Route path=path!("/projects/:id") view=ProjectPage ssr=ssr.clone()/>
                    <Route path=path!("/projects/:id/feedback") view=FeedbackListPage ssr=ssr.clone()/>
                    <Route path=path!("/projects/:id/feedback/new") view=NewTicketPage ssr=ssr.clone()/>
                    <Route path=path!("/projects/:id/sources/new") view=NewSourcePage ssr=ssr.clone()/>
                    <Route path=path!("/external-sources/:id") view=ExternalSourcePage ssr=ssr.clone()/>
                    <Route path=path!("/feedback-types/:id") view=FeedbackTypePage ssr=ssr.clone()/>
                    <Route path=path!("/feedback/:id") view=TicketPage ssr=ssr.clone()/>
                    <Route path=path!("/notifications") view=NotificationsPage ssr=ssr.clone()/>
                    <Route path=path!("/external-data") view=DataGroupsPage ssr=ssr.clone()/>
                    <Route path=path!("/external-data/:id") view=DataGroupPage ssr=ssr.clone()/>
                    <Route path=path!("/audit") view=AuditPageView ssr=ssr.clone()/>
                    <Route path=path!("/opt-out") view=OptOutPage ssr=ssr.clone()/>
                    <Route path=path!("/filters") view=FiltersPage ssr=ssr.clone()/>
                    <Route path=path!("/filters/new") view=NewFilterPage ssr=ssr.clone()/>
                    <Route path=path!("/filters/:id") view=FilterPage ssr=ssr.clone()/>
                    <Route path=path!("/filters/:id/edit") view=EditFilterPage ssr=ssr.clone()/>
                    <Route path=path!("/bulk-runs/:id") view=BulkRunPage ssr=ssr.clone()/>
                    <Route path=path!("/macros") view=MacrosPage ssr=ssr.clone()/>
                    <Route path=path!("/macros/new") view=NewMacroPage ssr=ssr.clone()/>
                    <Route path=path!("/macros/:id") view=MacroPage ssr=ssr.clone()/>
                    <Route path=path!("/macros/:id/webhooks/new") view=NewWebhookPage ssr=ssr.clone()/>
                    <Route path=path!("/webhooks/log") view=WebhookLogPage ssr=ssr.clone()/>
                    <Route path=path!("/webhooks/deliveries/:id") view=DeliveryPage ssr=ssr.clone()/>
                    <Route path=path!("/webhooks/replays/:id") view=ReplayPage ssr=ssr.clone()/>
                    <Route path=path!("/webhooks/:id") view=WebhookPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners") view=ListenersPage ssr=ssr.clone()/>
                    <Route path=path!("/automation/users") view=UserAutomationPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners/new") view=NewListenerPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners/log") view=ListenerLogPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners/log/:id") view=CallRequestPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners/:id") view=ListenerPage ssr=ssr.clone()/>
                    <Route path=path!("/configuration") view=ConfigurationPage ssr=ssr.clone()/>
                    <Route path=path!("/configuration/imports/:id") view=ConfigImportPage ssr=ssr.clone()/>
                    <Route path=path!("/api-keys") view=ApiKeysPage ssr=ssr.clone()/>
                    <Route path=path!("/api-keys/new") view=NewApiKeyPage ssr=ssr.clone()/>
                    <Route path=path!("/api-keys/:id") view=ApiKeyPage ssr=ssr.clone()/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

pub type MeResource = Resource<Result<Option<CurrentUserView>, AppError>>;

/// The signed-in manager, loaded once by the layout.
pub fn use_me() -> MeResource {
    expect_context::<MeResource>()
}

/// A link of the main menu.
struct MenuLink {
    href: &'static str,
    text: &'static str,
    /// Shown to community managers only.
    cm_only: bool,
}

const fn item(href: &'static str, text: &'static str, cm_only: bool) -> MenuLink {
    MenuLink {
        href,
        text,
        cm_only,
    }
}

/// The main menu's groups and their links.
const MENU: &[(&str, &[MenuLink])] = &[
    (
        "People",
        &[
            item("/users", "Users", false),
            item("/teams", "Teams", false),
        ],
    ),
    ("Feedback", &[item("/projects", "Projects", false)]),
    (
        "Automation",
        &[
            item("/filters", "Filters", false),
            item("/macros", "Macros", false),
            item("/listeners", "Listeners", false),
            item("/automation/users", "User automation", false),
        ],
    ),
    (
        "Integrations",
        &[
            item("/external-data", "External data", false),
            item("/api-keys", "API keys", true),
            item("/configuration", "Configuration", true),
        ],
    ),
    (
        "Logs",
        &[
            item("/listeners/log", "Listener log", false),
            item("/webhooks/log", "Webhook log", false),
            item("/opt-out", "Opt-outs", true),
            item("/audit", "Audit log", true),
        ],
    ),
];

/// Whether `path` is the page of `href` or one below it (the listener log is not a listener).
fn is_current(path: &str, href: &str) -> bool {
    let under = path == href || path.starts_with(&format!("{href}/"));
    under
        && !(href == "/listeners"
            && (path == "/listeners/log" || path.starts_with("/listeners/log/")))
}

/// Hydrated, a link followed in a menu closes the menu it is in (the header stays on screen
/// while the page below it changes); without JavaScript the next page starts with it closed.
fn close_menu(ev: leptos::ev::MouseEvent) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(menu) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        .and_then(|el| el.closest("details").ok().flatten())
    {
        let _ = menu.remove_attribute("open");
    }
}

/// The menu's groups with the links the signed-in manager may use: on wide screens each group
/// opens as a drop-down (one at a time), on phones all groups are listed under "Menu".
#[component]
fn MainLinks(me: MeResource, wide: bool) -> impl IntoView {
    let pathname = leptos_router::hooks::use_location().pathname;
    let link = if wide {
        "block rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:font-semibold aria-[current=page]:text-indigo-800"
    } else {
        "block rounded-md px-2 py-1.5 text-sm text-slate-200 hover:bg-slate-700 hover:text-white aria-[current=page]:bg-slate-900 aria-[current=page]:text-white"
    };
    let top = "rounded-md px-3 py-2 text-sm font-medium text-slate-200 hover:bg-slate-700 hover:text-white aria-[current=page]:bg-slate-900 aria-[current=page]:text-white";
    view! {
        {wide.then(|| view! { <A href="/" exact=true attr:class=top>"Dashboard"</A> })}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let cm = matches!(me.await, Ok(Some(u)) if u.can_manage_users());
                MENU.iter().filter_map(|(group, links)| {
                    let links: Vec<(&str, &str)> = links
                        .iter()
                        .filter(|l| cm || !l.cm_only)
                        .map(|l| (l.href, l.text))
                        .collect();
                    if links.is_empty() {
                        return None;
                    }
                    let hrefs: Vec<&str> = links.iter().map(|(h, _)| *h).collect();
                    let group_current = move || {
                        let path = pathname.get();
                        hrefs.iter().any(|h| is_current(&path, h)).then_some("true")
                    };
                    let items = links.into_iter().map(|(href, text)| {
                        let current = move || is_current(&pathname.get(), href).then_some("page");
                        view! { <li><a href=href class=link aria-current=current on:click=close_menu>{text}</a></li> }
                    }).collect_view();
                    Some(if wide {
                        view! {
                            <details name="main-menu" class="relative">
                                <summary class="flex cursor-pointer list-none items-center gap-1 rounded-md px-3 py-2 text-sm font-medium text-slate-200 hover:bg-slate-700 hover:text-white data-[current=true]:bg-slate-900 data-[current=true]:text-white" data-current=group_current>
                                    {*group}
                                    <span aria-hidden="true" class="text-xs text-slate-400">"▾"</span>
                                </summary>
                                <ul class="absolute left-0 z-20 mt-1 min-w-44 space-y-0.5 rounded-lg border border-slate-200 bg-white p-1 shadow-lg">
                                    {items}
                                </ul>
                            </details>
                        }.into_any()
                    } else {
                        view! {
                            <div>
                                <p class="px-2 text-xs font-semibold uppercase tracking-wide text-slate-400">{*group}</p>
                                <ul class="mt-1 space-y-0.5">{items}</ul>
                            </div>
                        }.into_any()
                    })
                }).collect_view()
            })}
        </Suspense>
    }
}

#[component]
fn AdminLayout() -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| current_user());
    provide_context(me);
    let sign_out = ServerAction::<SignOut>::new();
    let pathname = leptos_router::hooks::use_location().pathname;
    view! {
        <div class="min-h-screen">
            <header class="bg-slate-800">
                <div class="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
                    <a href="/" class="text-lg font-semibold tracking-tight text-white">"Switchyard"</a>
                    // Wide screens: one row of menus. Phones: one "Menu" that opens them all.
                    // Both are <details>, so they open without JavaScript; only one of the two
                    // "Main" landmarks is shown.
                    <nav aria-label="Main" class="hidden flex-1 items-center gap-1 lg:flex">
                        <MainLinks me wide=true/>
                    </nav>
                    <nav aria-label="Main" class="order-last w-full lg:hidden">
                        <details>
                            <summary class="inline-flex cursor-pointer list-none items-center gap-2 rounded-md border border-slate-500 px-3 py-1.5 text-sm text-slate-100 hover:bg-slate-700">
                                "Menu"
                            </summary>
                            <div class="mt-2 grid grid-cols-2 gap-x-4 gap-y-3 pb-2 sm:grid-cols-3">
                                <div>
                                    <p class="px-2 text-xs font-semibold uppercase tracking-wide text-slate-400">"Home"</p>
                                    <ul class="mt-1 space-y-0.5">
                                        <li><a href="/" class="block rounded-md px-2 py-1.5 text-sm text-slate-200 hover:bg-slate-700 hover:text-white aria-[current=page]:bg-slate-900 aria-[current=page]:text-white" aria-current=move || (pathname.get() == "/").then_some("page") on:click=close_menu>"Dashboard"</a></li>
                                    </ul>
                                </div>
                                <MainLinks me wide=false/>
                            </div>
                        </details>
                    </nav>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match me.await {
                                Ok(Some(u)) => view! {
                                    <div class="flex items-center gap-3 text-sm text-slate-200">
                                        // The role is left out beside the one-row menu of a
                                        // laptop screen (the name's tooltip keeps it).
                                        <span title=u.role.label()>
                                            <span class="font-medium text-white">{u.display_name.clone()}</span>
                                            <span class="hidden sm:inline lg:hidden 2xl:inline">" · " {u.role.label()}</span>
                                        </span>
                                        <a href="/notifications" class="rounded-md px-2 py-1.5 text-slate-200 hover:bg-slate-700 hover:text-white">"Notifications"</a>
                                        <ActionForm action=sign_out>
                                            <button type="submit" class="rounded-md border border-slate-500 px-3 py-1.5 text-slate-100 hover:bg-slate-700 focus:outline-none focus:ring-2 focus:ring-indigo-400">
                                                "Sign out"
                                            </button>
                                        </ActionForm>
                                    </div>
                                }.into_any(),
                                _ => view! { <a class="text-sm text-slate-200 underline" href="/login">"Sign in"</a> }.into_any(),
                            }
                        })}
                    </Suspense>
                </div>
            </header>
            <main class="mx-auto max-w-6xl px-4 py-6">
                <Notice/>
                <Outlet/>
            </main>
        </div>
    }
}
