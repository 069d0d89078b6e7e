//! The queue across real server processes: a SIGKILL in the middle of a burst of listener
//! calls loses nothing and runs nothing twice, a SIGKILL while webhooks are being sent loses
//! no queued delivery, and two servers on one PostgreSQL database share the queue without
//! running a job twice.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, fresh_database, seed_listener};
use leptos::config::LeptosOptions;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use switchyard::server::settings::Settings;
use switchyard::server::startup;

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `switchyard serve` on a free port with every call queued (budget 0) and a short
/// lease, and waits for its address.
fn start(db_url: &str) -> Server {
    start_with(db_url, &[])
}

fn start_with(db_url: &str, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("SWITCHYARD_CONFIG", "/nonexistent/Leptos.toml")
        .env("SWITCHYARD_DATABASE_URL", db_url)
        .env("SWITCHYARD_ADMIN_EMAIL", "cm@example.com")
        .env("SWITCHYARD_ADMIN_PASSWORD", "correct horse battery")
        .env("SWITCHYARD_LISTENER_SYNC_BUDGET_MS", "0")
        .env("SWITCHYARD_WORKER_LEASE_SECONDS", "5")
        .env("SWITCHYARD_WORKER_POLL_INTERVAL_MS", "100")
        .env("SWITCHYARD_API_RATE_PER_SECOND", "1000000")
        .env("SWITCHYARD_API_RATE_BURST", "1000000")
        .env("LEPTOS_OUTPUT_NAME", "switchyard")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut address = None;
    while address.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        address = line
            .strip_prefix("Switchyard is running at ")
            .map(str::to_string);
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        address: address.expect("the server reports its address"),
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
        .unwrap()
}

/// A migrated database with a listener `bump` that adds 1 to the score of any of
/// `customers` customers.
async fn seeded(
    backend: Backend,
    customers: usize,
) -> (String, DatabaseConnection, common::Seeded) {
    let url = fresh_database(backend).await;
    let options = LeptosOptions::builder()
        .output_name("switchyard")
        .site_root("target/site")
        .build();
    let state = startup::prepare(Settings::for_database(&url), options)
        .await
        .unwrap();
    let s = seed_listener(
        &state.db,
        "bump",
        &[("adjust_score", "1")],
        false,
        customers,
    )
    .await;
    (url, state.db.clone(), s)
}

/// Posts one call; Some(run_id) when it was accepted (200 or 202).
async fn call(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    find: &str,
) -> Result<Option<String>, reqwest::Error> {
    let res = client
        .post(format!("{base}/api/v1/userMacroListeners/bump"))
        .query(&[("find", find), ("apiKey", key)])
        .send()
        .await?;
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await?;
    Ok(matches!(status, 200 | 202).then(|| body["run_id"].as_str().unwrap().to_string()))
}

async fn wait_for_empty_queue(db: &DatabaseConnection) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while count(
        db,
        "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')",
    )
    .await
        > 0
    {
        assert!(Instant::now() < deadline, "the queue never drained");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every completed run happened once: one audit entry each, and the scores add up to them.
async fn assert_each_run_once(db: &DatabaseConnection, accepted: &[String]) {
    for run in accepted {
        assert_eq!(
            count(
                db,
                &format!(
                    "SELECT COUNT(*) FROM macro_runs WHERE id = {run} AND status = 'completed'"
                )
            )
            .await,
            1,
            "accepted run {run} is completed"
        );
    }
    let completed = count(
        db,
        "SELECT COUNT(*) FROM macro_runs WHERE status = 'completed'",
    )
    .await;
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'macro.run'"
        )
        .await,
        completed,
        "no run twice"
    );
    assert_eq!(
        count(db, "SELECT COALESCE(SUM(score), 0) FROM users").await,
        completed,
        "each run added its point once"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM macro_runs WHERE status <> 'completed'"
        )
        .await,
        0,
        "nothing queued was left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_a_burst_loses_no_accepted_call_and_runs_none_twice() {
    let (url, db, s) = seeded(Backend::Sqlite, 20).await;
    let server = start(&url);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (client, base, key, tx) = (
            client.clone(),
            server.address.clone(),
            s.api_key.clone(),
            tx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let find = format!("c{}@example.com", (worker * 40 + i) % 20);
                match call(&client, &base, &key, &find).await {
                    Ok(Some(run)) => {
                        let _ = tx.send(run);
                    }
                    Ok(None) => panic!("a refused call"),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    drop(tx);
    // Kill the server once a good part of the burst has been accepted.
    let mut accepted = Vec::new();
    while accepted.len() < 150 {
        accepted.push(rx.recv().await.expect("calls are accepted"));
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    while let Ok(run) = rx.try_recv() {
        accepted.push(run);
    }
    let queued_at_kill = count(
        &db,
        "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')",
    )
    .await;

    // A new server finishes what the old one accepted.
    let _restarted = start(&url);
    wait_for_empty_queue(&db).await;
    assert_each_run_once(&db, &accepted).await;
    eprintln!(
        "accepted {} calls before the SIGKILL; {queued_at_kill} jobs were still queued or running",
        accepted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgresql_database_share_the_queue() {
    let (url, db, s) = seeded(Backend::Postgres, 20).await;
    let servers = [start(&url), start(&url)];
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (client, key) = (client.clone(), s.api_key.clone());
        let base = servers[worker % 2].address.clone();
        tasks.push(tokio::spawn(async move {
            let mut runs = Vec::new();
            for i in 0..25 {
                let find = format!("c{}@example.com", (worker * 25 + i) % 20);
                runs.push(
                    call(&client, &base, &key, &find)
                        .await
                        .unwrap()
                        .expect("accepted"),
                );
            }
            runs
        }));
    }
    let mut accepted = Vec::new();
    for t in tasks {
        accepted.extend(t.await.unwrap());
    }
    assert_eq!(accepted.len(), 200);
    wait_for_empty_queue(&db).await;
    assert_each_run_once(&db, &accepted).await;
    // Both processes worked the queue (worker names are host:pid:slot).
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT locked_by FROM jobs".to_string(),
        ))
        .await
        .unwrap();
    let mut by_process: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let name: String = row.try_get_by_index(0).unwrap();
        let pid = name.split(':').nth(1).unwrap_or_default().to_string();
        *by_process.entry(pid).or_default() += 1;
    }
    assert_eq!(by_process.len(), 2, "{by_process:?}");
}

/// A receiver on 127.0.0.1:0 that answers 200 after `delay` and counts the requests per
/// `webhook-id` (one id per delivery, kept across its attempts).
async fn counting_receiver(
    delay: Duration,
) -> (
    std::sync::Arc<std::sync::Mutex<HashMap<String, usize>>>,
    String,
) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let kept = kept.clone();
        async move {
            let id = headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            *kept.lock().unwrap().entry(id).or_default() += 1;
            tokio::time::sleep(delay).await;
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (seen, format!("http://{addr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_while_webhooks_are_sent_loses_no_queued_delivery() {
    use switchyard::server::admin::{Actor, webhooks};
    use switchyard::types::WebhookForm;
    let (seen, receiver) = counting_receiver(Duration::from_millis(250)).await;
    let url = fresh_database(Backend::Sqlite).await;
    let options = LeptosOptions::builder()
        .output_name("switchyard")
        .site_root("target/site")
        .build();
    let state = startup::prepare(Settings::for_database(&url), options)
        .await
        .unwrap();
    let s = seed_listener(&state.db, "bump", &[("adjust_score", "1")], false, 20).await;
    // Signed, so each request carries its delivery's webhook-id.
    webhooks::save(
        &state.db,
        &state.sealer,
        &Actor::system("test"),
        &WebhookForm {
            macro_id: s.macro_id.to_string(),
            name: "crm".into(),
            method: "POST".into(),
            url: format!("{receiver}/hook"),
            body: "{\"user\": ((user.id)), \"score\": ((user.score))}".into(),
            signing: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let db = state.db.clone();
    let env = [
        ("SWITCHYARD_OUTGOING_ALLOW_HOSTS", "127.0.0.1"),
        ("SWITCHYARD_OUTGOING_CONCURRENCY", "4"),
        ("SWITCHYARD_OUTGOING_TIMEOUT_SECONDS", "2"),
    ];
    let server = start_with(&url, &env);
    let client = reqwest::Client::new();
    for i in 0..60 {
        let find = format!("c{}@example.com", i % 20);
        call(&client, &server.address, &s.api_key, &find)
            .await
            .unwrap()
            .expect("accepted");
    }
    // Kill the server while it is sending (4 at a time, 250 ms each: about 4 s in all).
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().values().sum::<usize>() < 12 {
        assert!(Instant::now() < deadline, "nothing was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let at_kill = count(&db, "SELECT COUNT(*) FROM webhook_deliveries").await;
    let unsent = count(
        &db,
        "SELECT COUNT(*) FROM webhook_deliveries WHERE status IN ('queued', 'sending')",
    )
    .await;
    assert!(unsent > 0, "the kill came too late to test anything");

    // A new server sends what is left, those in flight at the kill once their lease runs out.
    let _restarted = start_with(&url, &env);
    wait_for_empty_queue(&db).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        &db,
        "SELECT COUNT(*) FROM webhook_deliveries WHERE status <> 'succeeded'",
    )
    .await
        > 0
    {
        assert!(Instant::now() < deadline, "deliveries were left unsent");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let runs = count(
        &db,
        "SELECT COUNT(*) FROM macro_runs WHERE status = 'completed'",
    )
    .await;
    assert_eq!(runs, 60);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM webhook_deliveries").await,
        runs,
        "one delivery per run"
    );
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT msg_id FROM webhook_deliveries".to_string(),
        ))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    for row in rows {
        let id: String = row.try_get_by_index(0).unwrap();
        assert!(
            seen.get(&id).copied().unwrap_or(0) >= 1,
            "delivery {id} never arrived"
        );
    }
    eprintln!(
        "{at_kill} deliveries queued at the SIGKILL, {unsent} not yet sent; {} requests arrived for {runs} deliveries",
        seen.values().sum::<usize>()
    );
}
