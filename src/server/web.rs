//! The HTTP layer around the Leptos app: session lookup, the page guard, the cross-site
//! request check, health probes and the CSV upload route.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Multipart, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::services::{Actor, auth, imports};
use super::state::AppState;
use crate::errors::AppError;
use crate::types::{CurrentUserView, Role};

/// The caller's address, for the audit log and throttling.
#[derive(Debug, Clone, Default)]
pub struct ClientIp(pub String);

/// Paths that need neither a session nor the page guard: probes, the public API (it has its
/// own keys), the built assets and the few files at the site root.
fn is_public_asset(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/favicon.svg" | "/favicon.ico" | "/robots.txt"
    ) || path.starts_with("/api/v1/")
        || path.starts_with("/pkg/")
}

/// Server functions are mounted under `/api/` (but `/api/v1` is the public API).
fn is_server_fn(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/v1/")
}

/// Refuses state-changing requests that a browser marks as cross-site.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let forbidden = || AppError::Forbidden("cross-site requests are not allowed".into());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(forbidden()),
        };
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .unwrap_or("\u{0}");
        return if !host.is_empty() && origin_host == host {
            Ok(())
        } else {
            Err(forbidden())
        };
    }
    // No browser marker at all: not a browser, so not a cross-site request.
    Ok(())
}

fn percent_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Looks up the session, refuses cross-site writes, and sends signed-out page visits to
/// the sign-in page.
pub async fn session_layer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if is_public_asset(&path) {
        return next.run(req).await;
    }
    let is_write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if is_write {
        if let Err(e) = check_same_origin(req.headers()) {
            return e.into_response();
        }
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    req.extensions_mut().insert(ClientIp(ip));

    let token = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::token_from_cookie_header);
    let user = match token {
        Some(t) => match auth::session_user(&state.db, &state.settings, &t).await {
            Ok(u) => u,
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    if let Some(u) = &user {
        req.extensions_mut().insert(u.clone());
    }

    if req.method() == Method::GET && !is_server_fn(&path) {
        if path == "/login" {
            if user.is_some() {
                return Redirect::to("/").into_response();
            }
        } else if user.is_none() {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            return Redirect::to(&format!("/login?next={}", percent_encode(target)))
                .into_response();
        }
    }
    let mut response = next.run(req).await;
    // Admin pages hold personal data: keep them out of shared caches.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    response
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// `POST /users/import/upload`: a multipart form with one `file` field. Works with and
/// without JavaScript; answers with a redirect to the report (or back to the form with the
/// error).
pub async fn upload_users_csv(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUserView>>,
    ip: Option<Extension<ClientIp>>,
    mut multipart: Multipart,
) -> Response {
    let Some(Extension(user)) = user else {
        return Redirect::to("/login?next=%2Fusers%2Fimport").into_response();
    };
    if user.role != Role::CommunityManager {
        return AppError::Forbidden("only community managers can import users".into())
            .into_response();
    }
    let actor = Actor {
        user_id: Some(user.id),
        label: user.email.clone(),
        ip: ip.map(|Extension(ClientIp(ip))| ip).unwrap_or_default(),
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(e) => return back_with_error(&format!("the upload failed: {e}")),
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) => return back_with_error(&format!("the upload could not be read: {e}")),
        }
    }
    let Some((name, bytes)) = file else {
        return back_with_error("choose a CSV file to import");
    };
    match imports::import_users_csv(&state.db, &actor, &name, &bytes).await {
        Ok(id) => Redirect::to(&format!("/users/import/{id}")).into_response(),
        Err(AppError::Validation(fields)) => back_with_error(
            &fields
                .into_iter()
                .map(|f| f.message)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(e) => e.into_response(),
    }
}

fn back_with_error(message: &str) -> Response {
    Redirect::to(&format!("/users/import?error={}", percent_encode(message))).into_response()
}

/// `GET /opt-out.csv`: every opt-out event as a CSV download, for community managers. The
/// session layer already sent signed-out visitors to the sign-in page.
#[tracing::instrument(skip_all)]
pub async fn opt_out_csv(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUserView>>,
) -> Response {
    let Some(Extension(user)) = user else {
        return Redirect::to("/login?next=%2Fopt-out.csv").into_response();
    };
    if user.role != Role::CommunityManager {
        return AppError::Forbidden("only community managers can download opt-out events".into())
            .into_response();
    }
    match super::services::opt_out::csv(&state.db).await {
        Ok(body) => {
            let file = format!(
                "attachment; filename=\"opt-outs-{}.csv\"",
                chrono::Utc::now().format("%Y-%m-%d")
            );
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = header::HeaderValue::from_str(&file) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_writes_are_refused() {
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "same-site")])).is_err());
        assert!(
            check_same_origin(&headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]))
            .is_ok()
        );
        assert!(
            check_same_origin(&headers(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:3000")
            ]))
            .is_err()
        );
        assert!(
            check_same_origin(&headers(&[("origin", "null"), ("host", "127.0.0.1:3000")])).is_err()
        );
        assert!(check_same_origin(&headers(&[])).is_ok());
    }

    #[test]
    fn asset_and_server_fn_paths() {
        assert!(is_public_asset("/pkg/switchyard.wasm"));
        assert!(is_public_asset("/favicon.svg"));
        assert!(
            !is_public_asset("/users/export.csv"),
            "a dot does not make a page public"
        );
        assert!(is_public_asset("/api/v1/userMacroListeners/x"));
        assert!(!is_public_asset("/users/12"));
        assert!(is_server_fn("/api/sign_in123"));
        assert!(!is_server_fn("/api/v1/x"));
    }
}
