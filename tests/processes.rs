//! The queue across real server processes: a SIGKILL in the middle of a burst of listener
//! calls loses nothing and runs nothing twice, and two servers on one PostgreSQL database
//! share the queue without running a job twice.

mod common;

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
    (url, state.db, s)
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
