use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::components::LINK;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <main class="mx-auto max-w-xl px-4 py-16 text-center">
            <p class="text-sm font-semibold text-indigo-700">"404"</p>
            <h1 class="mt-2 text-3xl font-semibold tracking-tight">"Page not found"</h1>
            <p class="mt-4 text-slate-600">"There is nothing at this address."</p>
            <p class="mt-6"><a class=LINK href="/">"Back to the dashboard"</a></p>
        </main>
    }
}
