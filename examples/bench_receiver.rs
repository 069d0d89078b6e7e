//! A local receiver for `scripts/bench_webhooks.sh` (not part of the product): answers every
//! request with 200 after `RECEIVER_DELAY_MS` (default 1), counts them, and remembers when
//! each arrived. `GET /_count` gives the count, `GET /_arrivals` the arrival times (Unix
//! nanoseconds, one per line). Listens on 127.0.0.1:`RECEIVER_PORT` (default 3299).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::get;

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<u128>>>);

#[tokio::main]
async fn main() {
    let delay = Duration::from_millis(
        std::env::var("RECEIVER_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
    );
    let port: u16 = std::env::var("RECEIVER_PORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3299);
    let seen = Seen::default();
    let app = Router::new()
        .route(
            "/_count",
            get(|State(s): State<Seen>| async move { s.0.lock().unwrap().len().to_string() }),
        )
        .route(
            "/_arrivals",
            get(|State(s): State<Seen>| async move {
                s.0.lock()
                    .unwrap()
                    .iter()
                    .map(|t| format!("{t}\n"))
                    .collect::<String>()
            }),
        )
        .fallback(move |State(s): State<Seen>| async move {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            s.0.lock().unwrap().push(now);
            tokio::time::sleep(delay).await;
            "ok"
        })
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the receiver port");
    axum::serve(listener, app).await.expect("serve");
}
