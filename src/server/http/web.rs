//! The HTTP layer around the Leptos app: session lookup, the page guard, the cross-site
//! request check, health probes and the CSV upload route.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Multipart, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::errors::AppError;
use crate::server::admin::{Actor, auth, imports};
use crate::server::state::AppState;
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

/// The caller's address: the peer's, or, when the peer is one of `trusted_proxies`, the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy (read from the
/// right, where the trusted proxies appended; the walk stops at anything that is not an
/// address). Only that header is read: a proxy that appends to it passes a caller's own
/// `Forwarded` through untouched. From anyone else the header is ignored.
pub fn client_addr(
    settings: &crate::server::settings::Settings,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    use std::net::IpAddr;
    let Some(trusted) = &settings.trusted_proxies else {
        return peer;
    };
    if !trusted.allows(peer) {
        return peer;
    }
    // `203.0.113.9`, `[2001:db8::1]:4711`, `192.0.2.60:8080`.
    let address = |value: &str| -> Option<IpAddr> {
        let v = value.trim().trim_matches('"');
        if let Some(rest) = v.strip_prefix('[') {
            return rest.split(']').next()?.parse().ok();
        }
        v.parse()
            .ok()
            .or_else(|| v.rsplit_once(':').and_then(|(host, _)| host.parse().ok()))
    };
    let mut chain: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return peer;
        };
        chain.extend(value.split(','));
    }
    let mut caller = peer;
    for element in chain.iter().rev() {
        match address(element) {
            Some(a) if trusted.allows(a) => caller = a,
            Some(a) => return a,
            None => break,
        }
    }
    caller
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
    if is_write && let Err(e) = check_same_origin(req.headers()) {
        return e.into_response();
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_addr(&state.settings, c.0.ip(), req.headers()).to_string())
        .unwrap_or_default();
    req.extensions_mut().insert(ClientIp(ip));

    let token = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| auth::token_from_cookie_header(&state.settings, h));
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
    if is_server_fn(&path) {
        response = server_fn_status(response).await;
    }
    // Admin pages hold personal data: keep them out of shared caches.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// A server function refused before its body ran (a form it cannot read, such as a key given
/// twice) answers with the framework's fixed 500, though the error it carries says what went
/// wrong: the status follows that error (400 for an unreadable form), as it does for every
/// error the body returns (`server_fns::with_status`).
async fn server_fn_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 * 1024).await else {
        return AppError::Internal.into_response();
    };
    if let Ok(e) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = e.status();
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The Content-Security-Policy of a page: scripts only from this site and the page's own
/// hydration script (by its per-response nonce); no inline script, no plug-ins, no framing, no
/// `<base>`, forms posting only here. The WASM needs `'wasm-unsafe-eval'` to compile.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(n) => format!("'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_string(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Security headers on every answer: the CSP (pages set their own, with the nonce of their
/// hydration script; anything else gets the same policy without one), no MIME sniffing, no
/// framing, no referrer beyond this origin, and HSTS when the public address is https.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if !headers.contains_key(&name)
            && let Ok(v) = header::HeaderValue::from_str(value)
        {
            headers.insert(name, v);
        }
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        &content_security_policy(None),
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    if state.settings.public_base_url.scheme() == "https" {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
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
    let user = match community_manager(
        user,
        "/login?next=%2Fusers%2Fimport",
        "only community managers can import users",
    ) {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    let actor = manager_actor(&user, ip);
    let back = |message: &str| back_with_error("/users/import", message);
    let (name, bytes) = match uploaded_file(&mut multipart, "upload.csv").await {
        Ok(Some(file)) => file,
        Ok(None) => return back("choose a CSV file to import"),
        Err(message) => return back(&message),
    };
    match imports::import_users_csv(&state.db, &actor, &name, &bytes).await {
        Ok(id) => Redirect::to(&format!("/users/import/{id}")).into_response(),
        Err(AppError::Validation(fields)) => back(&messages(fields)),
        Err(e) => e.into_response(),
    }
}

/// The signed-in community manager of a request to one of these routes; otherwise the
/// answer: signed out, to the sign-in page (back to `next` after); another role, 403 with
/// `refusal`.
// The refusal is the response itself, handed back at once: boxing it would only add a step.
#[allow(clippy::result_large_err)]
fn community_manager(
    user: Option<Extension<CurrentUserView>>,
    next: &str,
    refusal: &str,
) -> Result<CurrentUserView, Response> {
    match user {
        None => Err(Redirect::to(next).into_response()),
        Some(Extension(user)) if user.role != Role::CommunityManager => {
            Err(AppError::Forbidden(refusal.into()).into_response())
        }
        Some(Extension(user)) => Ok(user),
    }
}

/// The signed-in manager as the actor of what they ask for.
fn manager_actor(user: &CurrentUserView, ip: Option<Extension<ClientIp>>) -> Actor {
    Actor {
        user_id: Some(user.id),
        label: user.email.clone(),
        ip: ip.map(|Extension(ClientIp(ip))| ip).unwrap_or_default(),
        session: None,
        role: Some(user.role),
    }
}

/// The `file` field of a multipart form: its name (or `default_name`) and bytes; none when
/// the form has no file.
async fn uploaded_file(
    multipart: &mut Multipart,
    default_name: &str,
) -> Result<Option<(String, Vec<u8>)>, String> {
    let mut file = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field
                    .file_name()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(default_name)
                    .to_string();
                match field.bytes().await {
                    Ok(bytes) if !bytes.is_empty() => file = Some((name, bytes.to_vec())),
                    Ok(_) => {}
                    Err(e) => return Err(format!("the upload failed: {e}")),
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(file),
            Err(e) => return Err(format!("the upload could not be read: {e}")),
        }
    }
}

fn messages(fields: Vec<crate::errors::FieldError>) -> String {
    fields
        .into_iter()
        .map(|f| f.message)
        .collect::<Vec<_>>()
        .join("; ")
}

fn back_with_error(page: &str, message: &str) -> Response {
    Redirect::to(&format!("{page}?error={}", percent_encode(message))).into_response()
}

/// `GET /configuration.json`: the integration set-up as a document to import elsewhere, for
/// community managers.
#[tracing::instrument(skip_all)]
pub async fn configuration_json(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUserView>>,
) -> Response {
    if let Err(refused) = community_manager(
        user,
        "/login?next=%2Fconfiguration",
        "only community managers can export the configuration",
    ) {
        return refused;
    }
    download(
        "switchyard-configuration",
        "json",
        "application/json",
        crate::server::admin::config_transfer::export_json(&state.db).await,
    )
}

/// `POST /configuration/upload`: a multipart form with one `file` field, a configuration
/// document. It is kept for its preview (nothing of it is applied): the answer redirects to
/// the preview, or back to the form with the error.
pub async fn upload_configuration(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUserView>>,
    ip: Option<Extension<ClientIp>>,
    mut multipart: Multipart,
) -> Response {
    let user = match community_manager(
        user,
        "/login?next=%2Fconfiguration",
        "only community managers can import a configuration",
    ) {
        Ok(user) => user,
        Err(refused) => return refused,
    };
    let actor = manager_actor(&user, ip);
    let back = |message: &str| back_with_error("/configuration", message);
    let (name, bytes) = match uploaded_file(&mut multipart, "configuration.json").await {
        Ok(Some(file)) => file,
        Ok(None) => return back("choose a configuration file (JSON) to import"),
        Err(message) => return back(&message),
    };
    match crate::server::admin::config_transfer::upload(&state.db, &actor, &name, &bytes).await {
        Ok(id) => Redirect::to(&format!("/configuration/imports/{id}")).into_response(),
        Err(AppError::Validation(fields)) => back(&format!("the file {}", messages(fields))),
        Err(e) => e.into_response(),
    }
}

/// `GET /opt-out.csv`: every opt-out event as a CSV download, for community managers. The
/// session layer already sent signed-out visitors to the sign-in page.
#[tracing::instrument(skip_all)]
pub async fn opt_out_csv(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUserView>>,
) -> Response {
    if let Err(refused) = community_manager(
        user,
        "/login?next=%2Fopt-out.csv",
        "only community managers can download opt-out events",
    ) {
        return refused;
    }
    download(
        "opt-outs",
        "csv",
        "text/csv; charset=utf-8",
        crate::server::admin::opt_out::csv(&state.db).await,
    )
}

/// The pairs of a list's query string (`q`, `team`, `col` …), each value decoded.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn first(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The chosen external-data columns of a list's query string (`columns=chosen&col=…`).
fn cols_of(pairs: &[(String, String)]) -> Option<String> {
    let ids: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "col")
        .map(|(_, v)| v.clone())
        .collect();
    crate::types::columns_from_url(first(pairs, "columns").is_some(), &ids)
}

/// A CSV body as a download named `name-YYYY-MM-DD.csv`.
fn csv_download(name: &str, result: Result<String, AppError>) -> Response {
    download(name, "csv", "text/csv; charset=utf-8", result)
}

/// A body as a download named `name-YYYY-MM-DD.extension`.
fn download(
    name: &str,
    extension: &str,
    content_type: &'static str,
    result: Result<String, AppError>,
) -> Response {
    match result {
        Ok(body) => {
            let file = format!(
                "attachment; filename=\"{name}-{}.{extension}\"",
                chrono::Utc::now().format("%Y-%m-%d")
            );
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(content_type),
            );
            if let Ok(v) = header::HeaderValue::from_str(&file) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /users.csv?q=…&team=…&columns=chosen&col=…`: the users list's matches (every page)
/// with its chosen external-data columns, for managers.
#[tracing::instrument(skip_all)]
pub async fn users_csv(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUserView>>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let Some(Extension(user)) = user else {
        return Redirect::to("/login?next=%2Fusers").into_response();
    };
    if !matches!(user.role, Role::CommunityManager | Role::ProjectManager) {
        return AppError::Forbidden("only managers can export users".into()).into_response();
    }
    let pairs = query_pairs(raw.as_deref());
    let query = crate::types::UserQuery {
        q: first(&pairs, "q").unwrap_or_default(),
        team: first(&pairs, "team").and_then(|t| t.parse().ok()),
        page: 0,
        cols: cols_of(&pairs),
    };
    csv_download(
        "users",
        crate::server::admin::users::csv(&state.db, &query).await,
    )
}

/// `GET /feedback.csv?project_id=…&type=…&status=…&team=…&q=…&columns=chosen&col=…`: a
/// project's feedback list (every page) with its chosen external-data columns, for managers.
#[tracing::instrument(skip_all)]
pub async fn feedback_csv(
    State(state): State<AppState>,
    user: Option<Extension<CurrentUserView>>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let Some(Extension(user)) = user else {
        return Redirect::to("/login?next=%2Fprojects").into_response();
    };
    if !matches!(user.role, Role::CommunityManager | Role::ProjectManager) {
        return AppError::Forbidden("only managers can export feedback".into()).into_response();
    }
    let pairs = query_pairs(raw.as_deref());
    let number = |key: &str| first(&pairs, key).and_then(|v| v.trim().parse::<i32>().ok());
    let Some(project_id) = number("project_id") else {
        return AppError::field("project_id", "name the project whose feedback to export")
            .into_response();
    };
    let query = crate::types::TicketQuery {
        project_id,
        feedback_type: number("type"),
        status: number("status"),
        team: number("team"),
        q: first(&pairs, "q").unwrap_or_default(),
        page: 0,
        cols: cols_of(&pairs),
    };
    csv_download(
        "feedback",
        crate::server::admin::feedback::csv(&state.db, &query).await,
    )
}

#[cfg(test)]
mod client_addr_tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let mut s = crate::server::settings::Settings::for_database("sqlite::memory:");
        let peer: std::net::IpAddr = "10.0.0.5".parse().unwrap();
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.7")]);
        assert_eq!(
            client_addr(&s, peer, &xff),
            peer,
            "no proxy is trusted by default"
        );
        s.trusted_proxies = Some(crate::server::domain::IpAllowList::parse("10.0.0.0/8").unwrap());
        assert_eq!(client_addr(&s, peer, &xff).to_string(), "203.0.113.9");
        // A forged entry to the left of the real client does not win.
        let forged = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(client_addr(&s, peer, &forged).to_string(), "203.0.113.9");
        let v6 = headers(&[("x-forwarded-for", "[2001:db8::1]:4711, 10.0.0.7")]);
        assert_eq!(client_addr(&s, peer, &v6).to_string(), "2001:db8::1");
        // Forwarded is not read (a proxy appending to X-Forwarded-For passes it through).
        let fwd = headers(&[("forwarded", "for=192.0.2.1")]);
        assert_eq!(client_addr(&s, peer, &fwd), peer);
        // The walk stops at something that is not an address.
        let odd = headers(&[("x-forwarded-for", "192.0.2.1, unknown, 10.0.0.7")]);
        assert_eq!(client_addr(&s, peer, &odd).to_string(), "10.0.0.7");
        assert_eq!(
            client_addr(&s, "198.51.100.1".parse().unwrap(), &xff).to_string(),
            "198.51.100.1",
            "a peer outside the list is the caller, whatever it says"
        );
        assert_eq!(
            client_addr(&s, peer, &headers(&[("x-forwarded-for", "garbage")])),
            peer
        );
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
