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
                    <Route path=path!("/webhooks/:id") view=WebhookPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners") view=ListenersPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners/new") view=NewListenerPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners/log") view=ListenerLogPage ssr=ssr.clone()/>
                    <Route path=path!("/listeners/:id") view=ListenerPage ssr=ssr.clone()/>
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

#[component]
fn AdminLayout() -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| current_user());
    provide_context(me);
    let sign_out = ServerAction::<SignOut>::new();
    let pathname = leptos_router::hooks::use_location().pathname;
    let listeners_current = move || {
        let path = pathname.get();
        let on_log = path == "/listeners/log" || path.starts_with("/listeners/log/");
        (!on_log && (path == "/listeners" || path.starts_with("/listeners/"))).then_some("page")
    };
    let link = "rounded-md px-3 py-2 text-sm font-medium text-slate-200 hover:bg-slate-700 hover:text-white aria-[current=page]:bg-slate-900 aria-[current=page]:text-white";
    view! {
        <div class="min-h-screen">
            <header class="bg-slate-800">
                <div class="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
                    <a href="/" class="text-lg font-semibold tracking-tight text-white">"Switchyard"</a>
                    <nav aria-label="Main" class="flex flex-1 flex-wrap gap-1">
                        <A href="/" exact=true attr:class=link>"Dashboard"</A>
                        <A href="/users" attr:class=link>"Users"</A>
                        <A href="/teams" attr:class=link>"Teams"</A>
                        <A href="/projects" attr:class=link>"Projects"</A>
                        <A href="/filters" attr:class=link>"Filters"</A>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                let cm = matches!(me.await, Ok(Some(u)) if u.can_manage_users());
                                cm.then(|| view! {
                                    <A href="/macros" attr:class=link>"Macros"</A>
                                    // Not `<A>`: the log below is under /listeners but is its own entry.
                                    <a href="/listeners" class=link aria-current=listeners_current>"Listeners"</a>
                                    <A href="/listeners/log" attr:class=link>"Listener log"</A>
                                    <A href="/webhooks/log" attr:class=link>"Webhook log"</A>
                                    <A href="/external-data" attr:class=link>"External data"</A>
                                    <A href="/opt-out" attr:class=link>"Opt-outs"</A>
                                    <A href="/api-keys" attr:class=link>"API keys"</A>
                                    <A href="/audit" attr:class=link>"Audit log"</A>
                                })
                            })}
                        </Suspense>
                    </nav>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match me.await {
                                Ok(Some(u)) => view! {
                                    <div class="flex items-center gap-3 text-sm text-slate-200">
                                        <span>
                                            <span class="font-medium text-white">{u.display_name.clone()}</span>
                                            <span class="hidden sm:inline">" · " {u.role.label()}</span>
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
