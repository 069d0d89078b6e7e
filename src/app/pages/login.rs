use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{BUTTON, FormAlert, Notice, TextField, action_error, field_error};
use crate::server_fns::auth::SignIn;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_string());
    view! {
        <Title text="Sign in"/>
        <main class="flex min-h-screen items-center justify-center bg-slate-100 px-4">
            <div class="w-full max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow">
                <p class="text-sm font-semibold uppercase tracking-wide text-indigo-700">"Switchyard"</p>
                <h1 class="mb-4 text-2xl font-semibold tracking-tight">"Sign in"</h1>
                <Notice/>
                <ActionForm action=action attr:class="space-y-4">
                    <FormAlert error/>
                    <input type="hidden" name="form[next]" value=next/>
                    <TextField label="Email" name="form[email]" kind="email" required=true autocomplete="username" error=field_error(error, "email")/>
                    <TextField label="Password" name="form[password]" kind="password" required=true autocomplete="current-password" error=field_error(error, "password")/>
                    <button type="submit" class=format!("{BUTTON} w-full")>"Sign in"</button>
                </ActionForm>
            </div>
        </main>
    }
}
