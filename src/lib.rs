#![recursion_limit = "256"]
//! Switchyard: a self-hosted integration hub for beta-test and customer-validation
//! communities. One crate, built twice by cargo-leptos: `ssr` (the axum server) and
//! `hydrate` (the WASM that makes the pages interactive).

pub mod app;
pub mod server_fns;
pub mod shared;

// The shared modules under the names the rest of the crate has always used.
pub use shared::errors;
pub use shared::views as types;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets end-to-end tests (and curious people) see that the page is interactive.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
