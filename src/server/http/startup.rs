//! Building and running the server. `prepare` connects and migrates; `router` assembles the
//! routes; `serve` runs on a listener the caller bound (port 0 in tests).

use crate::server::engine::outbox;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::trace::TraceLayer;

use crate::app::{App, shell};
use crate::server::admin::community;
use crate::server::engine::runtime::Runtime;
use crate::server::finder::Finder;
use crate::server::ingest::Ingest;
use crate::server::lite::Lane;
use crate::server::rate_limit::RateLimiter;
use crate::server::settings::Settings;
use crate::server::state::{AppState, Shared};
use crate::server::worker::{self, Signals};
use crate::server::{db, web};

/// Connects to the database, applies migrations and makes sure the community exists.
/// Errors are sentences for the operator.
pub async fn prepare(
    settings: Settings,
    leptos_options: LeptosOptions,
) -> Result<AppState, String> {
    let conn = db::connect(&settings)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db::migrate(&conn)
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    community::ensure_community(&conn, &settings.community_name)
        .await
        .map_err(|e| format!("cannot set up the community: {e}"))?;
    let sealer = Arc::new(community::key_file_sealer(&conn, &settings.secret_key_file).await?);
    let outbox = Arc::new(crate::server::delivery::Outbox::new(
        &settings,
        sealer.clone(),
    )?);
    // SQLite files get direct lanes for the hot paths of listener calls (`lite`): one thread
    // for their look-ups, one for their writes.
    let lanes = match crate::server::db::sqlite_file_path(settings.database_url.expose()) {
        Some(path) => Some((
            Lane::open(Path::new(&path), "sqlite-reads").map_err(|e| e.to_string())?,
            Lane::open(Path::new(&path), "sqlite-writes").map_err(|e| e.to_string())?,
        )),
        None => None,
    };
    let (reads, writes) = lanes.unzip();
    let signals = Signals::default().with_sealer(sealer.clone());
    Ok(AppState::new(Shared {
        leptos_options,
        outbox,
        sign_ins: Default::default(),
        runtime: Runtime {
            sealer,
            ingest: Ingest::start(conn.clone(), writes),
            finder: Finder::start(conn.clone(), reads),
            lookups: Default::default(),
            call_rates: Default::default(),
            db: conn,
            limiter: Arc::new(RateLimiter::new(
                settings.api_rate_per_second,
                settings.api_rate_burst,
            )),
            refusals: Arc::new(crate::server::refusals::Refusals::new(
                settings.api_refused_per_second,
                settings.api_refused_burst,
                settings.api_refused_hold,
            )),
            settings: Arc::new(settings),
            signals,
        },
    }))
}

/// The app's routes, listed once per process. Listing renders the whole app with resource
/// loading suppressed, and leptos keeps that switch in one process-wide flag that a resource
/// reads when its fetch is first polled: a page rendering on another server of the same process
/// at that moment got a fetch that never finished, and hung. Listed once, before the first
/// server of the process serves, the switch is never on while a page renders.
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    let routes = routes();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(web::healthz))
        .route("/readyz", get(web::readyz))
        .route("/opt-out.csv", get(web::opt_out_csv))
        .route("/users.csv", get(web::users_csv))
        .route("/feedback.csv", get(web::feedback_csv))
        .route("/configuration.json", get(web::configuration_json))
        .route(
            "/configuration/upload",
            post(web::upload_configuration).layer(DefaultBodyLimit::max(
                crate::server::admin::config_transfer::MAX_DOCUMENT + 64 * 1024,
            )),
        )
        .route(
            "/users/import/upload",
            post(web::upload_users_csv).layer(DefaultBodyLimit::max(
                crate::server::admin::imports::MAX_BYTES + 64 * 1024,
            )),
        )
        .leptos_routes_with_context(&state, routes, || {}, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::session_layer,
        ))
        // The public API authenticates each call by its API key, never by a session cookie,
        // so its routes are outside the session layer (which would only wave them through).
        .merge(crate::server::api::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::security_headers,
        ))
        // Spans name the path only: query strings may carry an API key (`apiKey=`).
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

/// Serves (and runs the queue's workers) until `shutdown` resolves, then finishes in-flight
/// requests and lets each worker finish the job in hand.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // A serving node records the key file it uses (the first to do so on a database), so
    // that from then on a missing or different one stops start-up.
    // Only then is anything sealed with it that start-up seals (a one-off command, such as a
    // migration in a container without the key file, seals nothing).
    community::record_key_file(&state.db, &state.sealer)
        .await
        .map_err(std::io::Error::other)?;
    outbox::seal_stored_secret_headers(&state.db, &state.sealer)
        .await
        .map_err(|e| {
            std::io::Error::other(format!("cannot seal the stored secret header values: {e}"))
        })?;
    // A compaction an erasure owed when a process stopped (it failed, or the process went
    // down first) is done now: the owed list lives in the process. On SQLite before anything
    // else writes (a checkpoint waits for the writers' turn, and a short one is cheapest while
    // nothing runs); PostgreSQL's vacuum may take long on large tables and runs beside.
    if state.db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        crate::server::engine::erasure::compact_all(&state.db).await;
    } else {
        let db = state.db.clone();
        tokio::spawn(async move { crate::server::engine::erasure::compact_all(&db).await });
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = worker::spawn(
        state.db.clone(),
        state.lookups.clone(),
        state.signals.clone(),
        &state.settings,
        stopped,
    );
    let senders = crate::server::delivery::spawn(
        state.db.clone(),
        state.outbox.clone(),
        state.signals.deliveries.clone(),
        state
            .settings
            .worker_poll_interval
            .min(std::time::Duration::from_millis(200)),
        stop.subscribe(),
    );
    let refusals = {
        let (refusals, db, stopped) = (state.refusals.clone(), state.db.clone(), stop.subscribe());
        tokio::spawn(async move { refusals.run(db, stopped).await })
    };
    let judge = {
        let (rates, db, stopped) = (state.call_rates.clone(), state.db.clone(), stop.subscribe());
        let policy = crate::server::engine::health::Policy::of(&state.settings);
        tokio::spawn(async move { rates.run(db, policy, stopped).await })
    };
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let _ = stop.send(true);
    for w in workers.into_iter().chain(senders).chain([refusals, judge]) {
        let _ = w.await;
    }
    served
}
