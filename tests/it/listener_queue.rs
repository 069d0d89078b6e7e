//! The listener endpoint's queue: 200 within the budget, 202 and the worker after it,
//! `Idempotency-Key`, per-key rate limits, leases, and workers that never run a job twice.
//! Every scenario runs on SQLite and on PostgreSQL.

use crate::common;
use crate::common::wait_until;

use std::time::Duration;

use common::{Backend, Seeded, TestApp, seed_listener, spawn_with};
use sea_orm::ConnectionTrait;
use switchyard::server::settings::Settings;
use switchyard::server::worker::{self, JobResult, Signals};

const REMOVE: &[(&str, &str)] = &[("remove_user", "")];
const PLUS_ONE: &[(&str, &str)] = &[("adjust_score", "1")];

/// Posts to a listener; returns (status, body, headers).
async fn post(
    app: &TestApp,
    s: &Seeded,
    find: &str,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/userMacroListeners/{}", s.listener_key)))
        .query(&[("find", find), ("apiKey", &s.api_key)]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap(), headers)
}

async fn answers_200_within_the_budget(app: TestApp) {
    let s = seed_listener(&app.db, "deleteuser", REMOVE, false, 2).await;
    let (status, body, _) = post(&app, &s, "c0@example.com", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    let run_id: i64 = body["run_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'c0@example.com'")
            .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_runs WHERE id = {run_id} AND status = 'completed' AND trigger = 'listener'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'done'")
            .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM listener_calls WHERE status = 200 AND code = 'completed' AND run_id = {run_id} AND target LIKE 'removed user %'"
        ))
        .await,
        1,
        "the log says what was answered, and the target is masked"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM opt_out_events WHERE listener_name = 'Listener deleteuser' AND source = 'listener'")
            .await,
        1
    );
    // The administrator is outside the filter; an unknown address is not found.
    let (status, body, _) = post(&app, &s, "admin@example.com", &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("target_not_in_filter"))
    );
    let (status, body, _) = post(&app, &s, "nobody@example.com", &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("target_not_found"))
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs").await,
        1,
        "refusals queue nothing"
    );
    // NUL bytes (which PostgreSQL refuses in text) in the path or in find are bad input, not
    // a server error, and the log keeps what it can print.
    let (status, body, _) = post(&app, &s, "c1\0@example.com", &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_find"))
    );
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/userMacroListeners/delete%00user"))
        .query(&[("find", "c1@example.com"), ("apiKey", &s.api_key)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls WHERE listener_key = 'deleteuser' AND target = 'c…@example.com'"
        )
        .await,
        1
    );
}

async fn answers_202_when_the_budget_runs_out_and_the_worker_finishes(backend: Backend) {
    let app = spawn_with(backend, |s: &mut Settings| {
        s.listener_sync_budget = Duration::ZERO;
    })
    .await;
    let s = seed_listener(&app.db, "deleteuser", REMOVE, false, 2).await;
    let (status, body, _) = post(&app, &s, "c1@example.com", &[]).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "accepted");
    let run_id = body["run_id"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM listener_calls WHERE status = 202 AND code = 'accepted' AND run_id = {run_id}"
        ))
        .await,
        1
    );
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM macro_runs WHERE id = {run_id} AND status = 'completed'"),
        1,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'c1@example.com'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE target LIKE '%c1@%'")
            .await,
        0,
        "the log row written before the run is masked by the removal"
    );
}

async fn idempotency_keys_replay_the_first_answer(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    let idem = [("idempotency-key", "sf-req-42")];
    let (status, first, _) = post(&app, &s, "c0@example.com", &idem).await;
    assert_eq!(status, 200, "{first}");
    let (status, again, _) = post(&app, &s, "c0@example.com", &idem).await;
    assert_eq!((status, &again), (200, &first), "the same answer");
    assert_eq!(
        app.count("SELECT score FROM users WHERE email = 'c0@example.com'")
            .await,
        1,
        "and the macro ran once"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM macro_runs").await, 1);
    let first_run = first["run_id"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM listener_calls WHERE code = 'replayed' AND run_id = {first_run}"
        ))
        .await,
        1,
        "the log marks the replay and points at the first run"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE code = 'replayed' AND target = ''")
            .await,
        1,
        "and names nobody, not even masked: the run says who"
    );
    // The key and what it was used for are kept as HMACs under the key file, not as sent (a
    // key may name the person) nor as a plain hash a guessed email could be tested against.
    let plain = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(
            format!("{}\0c0@example.com", s.listener_key.to_ascii_lowercase()).as_bytes(),
        ))
    };
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'k1:%' AND length(idem_key) = 67 AND request_hash <> '{plain}' AND length(request_hash) = 64"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE '%sf-req%'")
            .await,
        0
    );
    // A key stored as sent with a plain SHA-256, before both were keyed, still replays.
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!(
            "UPDATE idempotency_keys SET idem_key = 'sf-req-42', request_hash = '{plain}' WHERE idem_key LIKE 'k1:%'"
        ),
    )
    .await
    .unwrap();
    let (status, again, _) = post(&app, &s, "c0@example.com", &idem).await;
    assert_eq!(
        (status, &again),
        (200, &first),
        "an upgrade keeps stored answers"
    );
    // The same key for another request is refused; another key runs again.
    let (status, body, _) = post(&app, &s, "c1@example.com", &idem).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    let (status, _, _) = post(
        &app,
        &s,
        "c0@example.com",
        &[("idempotency-key", "sf-req-43")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.count("SELECT score FROM users WHERE email = 'c0@example.com'")
            .await,
        2
    );
    // Concurrent repeats of one key still run once.
    let calls = (0..8).map(|_| post(&app, &s, "c1@example.com", &[("idempotency-key", "burst")]));
    let answers = futures::future::join_all(calls).await;
    let run_ids: std::collections::BTreeSet<String> = answers
        .iter()
        .filter_map(|(st, b, h)| {
            if *st == 409 {
                // The first call was still in flight: come back after Retry-After.
                assert_eq!(b["error"]["code"], "idempotency_key_in_flight", "{b}");
                assert_eq!(h.get("retry-after").unwrap(), "1");
                return None;
            }
            assert!(*st == 200 || *st == 202, "{st} {b}");
            Some(b["run_id"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(run_ids.len(), 1, "{answers:?}");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls WHERE code IN ('replayed', 'idempotency_key_in_flight') AND target <> ''"
        )
        .await,
        0,
        "repeats name nobody"
    );
    wait_until(
        &app,
        "SELECT score FROM users WHERE email = 'c1@example.com'",
        1,
    )
    .await;
    let (status, body, _) = post(
        &app,
        &s,
        "c1@example.com",
        &[("idempotency-key", &"x".repeat(300))],
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_idempotency_key"))
    );
}

async fn rate_limits_answer_429_with_retry_after(backend: Backend) {
    let app = spawn_with(backend, |s: &mut Settings| {
        s.api_rate_per_second = 1;
        s.api_rate_burst = 3;
    })
    .await;
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 1).await;
    // The burst of three answers; calls faster than one a second then run out of tokens.
    // (On a loaded machine a token may come back between calls: keep calling, a few more.)
    let mut answered = 0;
    let (status, body, headers) = loop {
        let (status, body, headers) = post(&app, &s, "c0@example.com", &[]).await;
        if status != 200 || answered == 10 {
            break (status, body, headers);
        }
        answered += 1;
    };
    assert!(
        answered >= 3,
        "the burst is three calls, {answered} answered"
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(
        app.count("SELECT score FROM users WHERE email = 'c0@example.com'")
            .await,
        answered,
        "the refused call ran nothing"
    );
    // Refused before the key was accepted: counted, written by the flush.
    app.refusals.flush(&app.db).await.unwrap();
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls WHERE status = 429 AND code = 'rate_limited'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT use_count FROM api_keys").await,
        answered,
        "a refused call is not a use of the key"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        post(&app, &s, "c0@example.com", &[]).await.0,
        200,
        "the bucket refills"
    );
}

async fn the_test_request_panel_explains_without_running(app: TestApp) {
    let s = seed_listener(&app.db, "deleteuser", REMOVE, false, 1).await;
    app.sign_in().await;
    let id = app.count("SELECT id FROM listeners").await;
    let app = &app;
    let panel = |find: &str| {
        let url = format!("/listeners/{id}?test={}", find.replace('@', "%40"));
        async move { app.get(&url).await.text().await.unwrap() }
    };
    let page = panel("admin@example.com").await;
    assert!(
        page.contains("A call would answer 404 target_not_in_filter"),
        "{page}"
    );
    assert!(page.contains("keeps this user out") && page.contains("✗ team is Customers"));
    assert!(
        page.contains("Test Person &lt;admin@example.com&gt;"),
        "the user is named"
    );
    let page = panel("C0@example.com").await;
    assert!(page.contains("A call would answer 200 completed"), "{page}");
    assert!(page.contains("✓ team is Customers") && page.contains("Remove user completely"));
    let page = panel("nobody@example.com").await;
    assert!(page.contains("404 target_not_found") && page.contains("nobody is found"));
    let page = panel("not-an-email").await;
    assert!(page.contains("400 invalid_find"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'c0@example.com'")
            .await,
        1,
        "nothing ran"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls").await,
        0,
        "nothing was logged"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 0);
    let _ = s;
}

async fn bulk_runs_queue_every_matching_user_and_report_progress(app: TestApp) {
    use switchyard::server::admin::{Actor, bulk_runs, filters, macros};
    use switchyard::server_fns::bulk_runs::StartBulkRun;
    use switchyard::types::{FilterForm, FilterRowForm, MacroActionForm, MacroForm};
    let s = seed_listener(&app.db, "points", PLUS_ONE, false, 4).await;
    app.sign_in().await;
    let customers = app
        .count("SELECT id FROM filters WHERE name = 'Customers for points'")
        .await
        .to_string();
    let plus_one = s.macro_id.to_string();
    // Without the confirmation nothing starts.
    let res = app
        .call::<StartBulkRun>(&[
            ("form[filter_id]", &customers),
            ("form[macro_id]", &plus_one),
        ])
        .await;
    assert_eq!(res.status(), 422, "{}", res.text().await.unwrap());
    assert_eq!(app.count("SELECT COUNT(*) FROM bulk_runs").await, 0);
    let res = app
        .call::<StartBulkRun>(&[
            ("form[filter_id]", &customers),
            ("form[macro_id]", &plus_one),
            ("form[confirm]", "on"),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id = app.count("SELECT id FROM bulk_runs").await;
    assert_eq!(
        res.headers()["location"],
        format!("/bulk-runs/{id}").as_str()
    );
    wait_until(
        &app,
        &format!(
            "SELECT COUNT(*) FROM macro_runs WHERE bulk_run_id = {id} AND status = 'completed'"
        ),
        4,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email LIKE 'c%@example.com' AND score = 1")
            .await,
        4,
        "each customer once"
    );
    let page = app
        .get(&format!("/bulk-runs/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Finished: 4 of 4 users done."), "{page}");
    assert!(page.contains("aria-valuenow=\"100\""));

    // A removal on everyone: the community manager is protected, the reason is reported.
    let actor = Actor::system("test");
    let everyone = filters::save(
        &app.db,
        &actor,
        &FilterForm {
            name: "Everyone".into(),
            rows: vec![FilterRowForm {
                slot: "0".into(),
                field: "email".into(),
                op: "contains".into(),
                value: "example.com".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let removal = macros::save(
        &app.db,
        &app.sealer,
        &actor,
        &MacroForm {
            name: "Remove".into(),
            key: "remove".into(),
            actions: vec![MacroActionForm {
                slot: "0".into(),
                kind: "remove_user".into(),
                value: String::new(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = bulk_runs::start(
        &app.db,
        &actor,
        &switchyard::types::BulkRunForm {
            filter_id: everyone.to_string(),
            macro_id: removal.to_string(),
            confirm: Some("on".into()),
        },
    )
    .await
    .unwrap();
    for _ in 0..200 {
        if bulk_runs::progress(&app.db, id).await.unwrap().finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let p = bulk_runs::progress(&app.db, id).await.unwrap();
    assert_eq!(
        (p.total, p.completed, p.failed, p.waiting),
        (6, 5, 1, 0),
        "{p:?}"
    );
    assert_eq!(
        p.failures,
        vec![(
            "community managers cannot be removed by a macro".to_string(),
            1
        )]
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        1,
        "only the manager is left"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_runs WHERE bulk_run_id = {id} AND status = 'failed' \
             AND target_user_id = (SELECT id FROM users)"
        ))
        .await,
        1,
        "the refused run is still about the manager (their listener log finds it)"
    );
    // A bulk removal erases as completely as any other, and leaves a receipt per person.
    use switchyard::server::engine::erasure;
    for i in 0..4 {
        let who = erasure::Identity::new(vec![format!("c{i}@example.com")], Vec::new());
        let left = erasure::check(&app.db, &who).await.unwrap();
        assert!(left.is_empty(), "c{i}: {left:?}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM erasure_receipts WHERE \"trigger\" = 'bulk'")
            .await,
        5
    );
}

/// A claim abandoned by a call that stalled is taken over by the next call with the key; the
/// stalled call, when it wakes, can neither store its answer under the key nor free it.
async fn a_taken_over_claim_is_no_longer_the_first_callers(app: TestApp) {
    use switchyard::server::engine::inbound::idempotency::{self, Claim, Held};
    use switchyard::server::engine::inbound::{Refusal, Reply};
    let s = seed_listener(&app.db, "points", PLUS_ONE, false, 1).await;
    let sealer = switchyard::server::secrets::Sealer::from_key(&[5; 32]);
    let f = &idempotency::Fingerprint::of(&sealer, b"f");
    let k = &idempotency::idempotency_key_of(&sealer, Some("k"))
        .unwrap()
        .unwrap();
    let owned = |c: Claim| match c {
        Claim::Owned(token) => token,
        Claim::Answer(r) => panic!("expected to own the key, got {r:?}"),
    };
    let first = owned(
        idempotency::claim(&app.db, s.api_key_id, k, f, Duration::ZERO)
            .await
            .unwrap(),
    );
    match idempotency::claim(&app.db, s.api_key_id, k, f, Duration::ZERO)
        .await
        .unwrap()
    {
        Claim::Answer(r) => assert_eq!(r.status, 409),
        Claim::Owned(_) => panic!("a fresh claim is not taken over"),
    }
    let old = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    app.db
        .execute_unprepared(&format!(
            "UPDATE idempotency_keys SET created_at = '{old}' WHERE idem_key = '{}'",
            k.stored
        ))
        .await
        .unwrap();
    let second = owned(
        idempotency::claim(&app.db, s.api_key_id, k, f, Duration::ZERO)
            .await
            .unwrap(),
    );
    assert_ne!(first, second);
    let stalled = Held {
        key: &k.stored,
        token: &first,
    };
    let current = Held {
        key: &k.stored,
        token: &second,
    };
    idempotency::release(&app.db, s.api_key_id, stalled)
        .await
        .unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 1);
    let late = Reply::refused(Refusal::TargetProtected, "the stalled call's answer");
    assert!(
        !idempotency::remember_answer(&app.db, s.api_key_id, stalled, f, &late)
            .await
            .unwrap()
    );
    let answer = Reply::refused(Refusal::TargetNotFound, "the current call's answer");
    assert!(
        idempotency::remember_answer(&app.db, s.api_key_id, current, f, &answer)
            .await
            .unwrap()
    );
    match idempotency::claim(&app.db, s.api_key_id, k, f, Duration::ZERO)
        .await
        .unwrap()
    {
        Claim::Answer(r) => assert_eq!(r.body, answer.body),
        Claim::Owned(_) => panic!("the key holds an answer"),
    }
}

async fn housekeeping_deletes_old_jobs_answers_and_log_rows(app: TestApp) {
    let s = seed_listener(&app.db, "points", PLUS_ONE, false, 2).await;
    for (find, idem) in [("c0@example.com", "a"), ("c1@example.com", "b")] {
        assert_eq!(
            post(&app, &s, find, &[("idempotency-key", idem)]).await.0,
            200
        );
    }
    assert_eq!(post(&app, &s, "nobody@example.com", &[]).await.0, 404);
    // Make one of each old: a finished job, a stored answer, and a log row.
    let old = (chrono::Utc::now() - chrono::Duration::days(100)).to_rfc3339();
    for sql in [
        format!("UPDATE jobs SET finished_at = '{old}' WHERE id = (SELECT MIN(id) FROM jobs)"),
        // The first stored answer: key "a" (keys are stored hashed).
        format!(
            "UPDATE idempotency_keys SET created_at = '{old}' WHERE id = (SELECT MIN(id) FROM idempotency_keys)"
        ),
        format!("UPDATE listener_calls SET received_at = '{old}' WHERE code = 'target_not_found'"),
    ] {
        app.db.execute_unprepared(&sql).await.unwrap();
    }
    let deleted = worker::housekeeping(&app.db, chrono::Duration::days(90))
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM idempotency_keys").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM listener_calls").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM macro_runs").await,
        2,
        "run history stays"
    );
}

async fn a_macro_or_filter_in_use_by_a_listener_is_not_deleted(app: TestApp) {
    use switchyard::errors::AppError;
    use switchyard::server::admin::{Actor, filters, macros};
    let s = seed_listener(&app.db, "deleteuser", REMOVE, false, 1).await;
    let actor = Actor::system("test");
    let err = macros::delete(&app.db, &actor, &s.macro_id.to_string(), true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("Listener deleteuser uses this macro")),
        "{err:?}"
    );
    let filter_id = app.count("SELECT id FROM filters").await.to_string();
    let err = filters::delete(&app.db, &actor, &filter_id, true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("filter")),
        "{err:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM macros").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM filters").await, 1);
}

/// No workers in the server: the test claims and runs jobs itself.
async fn idle_app(backend: Backend) -> TestApp {
    spawn_with(backend, |s: &mut Settings| {
        s.listener_sync_budget = Duration::ZERO;
        s.worker_concurrency = 0;
    })
    .await
}

async fn expired_leases_are_taken_again_and_lost_leases_write_nothing(backend: Backend) {
    let app = idle_app(backend).await;
    let s = seed_listener(&app.db, "deleteuser", REMOVE, false, 1).await;
    assert_eq!(post(&app, &s, "c0@example.com", &[]).await.0, 202);
    let signals = Signals::default();
    let lease = Duration::from_secs(60);
    let job = worker::claim(&app.db, "w1", lease)
        .await
        .unwrap()
        .expect("a job");
    assert!(
        worker::claim(&app.db, "w2", lease).await.unwrap().is_none(),
        "a leased job is not claimed twice"
    );
    // w1 dies: its lease runs out and w2 takes the job.
    app.db
        .execute_unprepared("UPDATE jobs SET locked_until = created_at")
        .await
        .unwrap();
    let again = worker::claim(&app.db, "w2", lease)
        .await
        .unwrap()
        .expect("taken again");
    assert_eq!((again.id, again.attempts), (job.id, 2));
    // w1 wakes up late: nothing it does counts.
    assert_eq!(
        worker::execute(&app.db, "w1", &job, &signals)
            .await
            .unwrap(),
        JobResult::LeaseLost
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'c0@example.com'")
            .await,
        1
    );
    let done = worker::execute(&app.db, "w2", &again, &signals)
        .await
        .unwrap();
    assert!(
        matches!(done, JobResult::Done(ref o) if o.status == "completed"),
        "{done:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'c0@example.com'")
            .await,
        0
    );
    assert!(worker::claim(&app.db, "w3", lease).await.unwrap().is_none());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'macro.run'")
            .await,
        1,
        "ran once"
    );
}

async fn failing_jobs_are_retried_later_then_given_up(backend: Backend) {
    let app = idle_app(backend).await;
    let signals = Signals::default();
    let lease = Duration::from_secs(60);
    // A job whose payload cannot be read fails every time.
    let (txn, gate) = switchyard::server::db::begin_write(&app.db).await.unwrap();
    worker::enqueue(
        &txn,
        switchyard::shared::vocab::JobKind::MacroRun,
        &"not a macro run",
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    drop(gate);
    let job = worker::claim(&app.db, "w1", lease).await.unwrap().unwrap();
    let result = worker::execute(&app.db, "w1", &job, &signals)
        .await
        .unwrap();
    assert!(matches!(result, JobResult::Failed(_)), "{result:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND last_error IS NOT NULL AND locked_by IS NULL")
            .await,
        1,
        "back in the queue with the error"
    );
    assert!(
        worker::claim(&app.db, "w1", lease).await.unwrap().is_none(),
        "not before its backoff"
    );
    // The last attempt gives it up for good.
    app.db
        .execute_unprepared(&format!(
            "UPDATE jobs SET run_after = created_at, attempts = {}",
            worker::MAX_ATTEMPTS - 1
        ))
        .await
        .unwrap();
    let job = worker::claim(&app.db, "w1", lease).await.unwrap().unwrap();
    worker::execute(&app.db, "w1", &job, &signals)
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'failed' AND finished_at IS NOT NULL")
            .await,
        1
    );
    assert!(worker::claim(&app.db, "w1", lease).await.unwrap().is_none());
}

/// A worker runs a batch of jobs in one transaction; one job that fails in it costs the
/// others nothing: they are done, it alone goes back to the queue.
async fn one_failing_job_in_a_batch_leaves_the_others_done(backend: Backend) {
    let app = idle_app(backend).await;
    let signals = Signals::default();
    let lease = Duration::from_secs(60);
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 4).await;
    for i in 0..2 {
        let (status, body, _) = post(&app, &s, &format!("c{i}@example.com"), &[]).await;
        assert_eq!(status, 202, "{body}");
    }
    let (txn, gate) = switchyard::server::db::begin_write(&app.db).await.unwrap();
    worker::enqueue(
        &txn,
        switchyard::shared::vocab::JobKind::MacroRun,
        &"not a macro run",
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    drop(gate);
    for i in 2..4 {
        let (status, body, _) = post(&app, &s, &format!("c{i}@example.com"), &[]).await;
        assert_eq!(status, 202, "{body}");
    }
    let jobs = worker::claim_many(&app.db, "w1", lease, 16).await.unwrap();
    assert_eq!(
        jobs.len(),
        5,
        "one claim takes every due job, up to the batch size"
    );
    let lookups = switchyard::server::cache::Lookups::default();
    let results = worker::execute_many(&app.db, &lookups, "w1", &jobs, &signals)
        .await
        .unwrap();
    let failed = results
        .iter()
        .filter(|r| matches!(r, JobResult::Failed(_)))
        .count();
    let done = results
        .iter()
        .filter(|r| matches!(r, JobResult::Done(_)))
        .count();
    assert_eq!((done, failed), (4, 1), "{results:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM macro_runs WHERE status = 'completed'")
            .await,
        4
    );
    assert_eq!(
        app.count("SELECT COALESCE(SUM(score), 0) FROM users").await,
        4
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND last_error IS NOT NULL")
            .await,
        1,
        "the broken job alone is back in the queue"
    );
}

/// Two separate connection pools, as two server processes have, each with four workers,
/// drain one queue: every job runs exactly once.
async fn two_worker_pools_never_run_a_job_twice(backend: Backend) {
    let app = idle_app(backend).await;
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 10).await;
    for round in 0..4 {
        for i in 0..10 {
            let (status, body, _) = post(&app, &s, &format!("c{i}@example.com"), &[]).await;
            assert_eq!(status, 202, "round {round}: {body}");
        }
    }
    let url = app.settings.database_url.expose().clone();
    let mut tasks = Vec::new();
    for pool in 0..2 {
        let db = switchyard::server::db::connect(&Settings::for_database(&url))
            .await
            .unwrap();
        for slot in 0..4 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("pool{pool}-w{slot}");
                let signals = Signals::default();
                let mut ran = 0;
                while let Some((_, result)) =
                    worker::try_execute_task(&db, &name, Duration::from_secs(60), &signals)
                        .await
                        .unwrap()
                {
                    assert!(matches!(result, JobResult::Done(_)), "{result:?}");
                    ran += 1;
                }
                ran
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 40);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE status = 'done' AND attempts = 1")
            .await,
        40
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email LIKE 'c%@example.com' AND score = 4")
            .await,
        10,
        "every customer's score went up exactly four times"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls c JOIN macro_runs r ON r.id = c.run_id \
             WHERE c.target_user_id = r.target_user_id"
        )
        .await,
        40,
        "each call's log row points at its own run, also when calls share a commit"
    );
    assert_eq!(
        app.count("SELECT CAST(SUM(use_count) AS BIGINT) FROM api_keys")
            .await,
        40
    );
}

/// Many calls at once, on two listeners with filters of their own: their look-ups and writes
/// are shared (`finder`, `ingest`), yet each call gets the answer about its own target and
/// each accepted call runs once.
async fn concurrent_calls_each_get_their_own_answer(backend: Backend) {
    let app = spawn_with(backend, |s: &mut Settings| {
        s.listener_sync_budget = Duration::ZERO;
        // More calls at once than one key may make by default.
        s.api_rate_burst = 1000;
    })
    .await;
    let a = seed_listener(&app.db, "plus-a", PLUS_ONE, false, 20).await;
    let b = seed_listener(&app.db, "plus-b", PLUS_ONE, false, 20).await;
    let before = app.count("SELECT COALESCE(SUM(score), 0) FROM users").await;
    let mut calls = Vec::new();
    for i in 0..20 {
        calls.push((&a, format!("c{i}@example.com"), 202, "accepted"));
        calls.push((&b, format!("C{i}@Example.com"), 202, "accepted"));
        calls.push((
            &a,
            format!("nobody{i}@example.com"),
            404,
            "target_not_found",
        ));
    }
    for s in [&a, &b] {
        calls.push((
            s,
            "admin@example.com".to_string(),
            404,
            "target_not_in_filter",
        ));
    }
    let answers =
        futures::future::join_all(calls.iter().map(|(s, find, _, _)| post(&app, s, find, &[])))
            .await;
    for ((_, find, status, code), (got, body, _)) in calls.iter().zip(&answers) {
        assert_eq!(got, status, "{find}: {body}");
        let said = body["status"].as_str().or(body["error"]["code"].as_str());
        assert_eq!(said, Some(*code), "{find}: {body}");
    }
    wait_until(
        &app,
        "SELECT COUNT(*) FROM macro_runs WHERE status = 'completed'",
        40,
    )
    .await;
    assert_eq!(
        app.count("SELECT COALESCE(SUM(score), 0) FROM users").await - before,
        40,
        "each accepted call added its point once"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email LIKE 'c%' AND score = 2")
            .await,
        20,
        "every customer got one point from each listener"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls").await,
        calls.len() as i64,
        "every call is in the log"
    );
}

/// A sender's retry storm of a GDPR removal: 50 calls at once with one Idempotency-Key remove
/// the person once; every answer is the first one's (or 409 while it is in flight), never a
/// 500 and never a 404 from a second run that found nobody.
async fn a_removal_storm_with_one_key_runs_once(backend: Backend) {
    let app = spawn_with(backend, |s: &mut Settings| {
        s.api_rate_burst = 1000;
    })
    .await;
    let s = seed_listener(&app.db, "deleteuser", REMOVE, false, 3).await;
    let calls = (0..50).map(|_| post(&app, &s, "c0@example.com", &[("idempotency-key", "gdpr-7")]));
    let answers = futures::future::join_all(calls).await;
    let mut firsts = std::collections::BTreeSet::new();
    for (status, body, headers) in &answers {
        match status {
            200 | 202 => {
                firsts.insert((*status, body.to_string()));
            }
            409 => {
                assert_eq!(body["error"]["code"], "idempotency_key_in_flight");
                assert!(headers.contains_key("retry-after"));
            }
            other => panic!("{other}: {body}"),
        }
    }
    // One answer for all, the first call's own (its receipt included), never its 202 while
    // that call was still waiting to answer 200.
    assert_eq!(firsts.len(), 1, "{firsts:?}");
    let (first_status, first_body) = firsts.iter().next().unwrap().clone();
    assert_eq!(first_status, 200, "{first_body}");
    assert!(first_body.contains("\"receipt\""), "{first_body}");
    wait_until(
        &app,
        "SELECT COUNT(*) FROM users WHERE email = 'c0@example.com'",
        0,
    )
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM macro_runs").await, 1);
    let (status, body, _) =
        post(&app, &s, "c0@example.com", &[("idempotency-key", "gdpr-7")]).await;
    assert_eq!((status, body.to_string()), (first_status, first_body));
}

/// A macro that runs once per person, started eight times at once for one person (a bulk
/// run and listener calls, say) while a manager deletes someone else it is running on: it runs
/// once, the others are skipped, and a run whose person was deleted under it is a clean "not
/// found", never a 500.
async fn a_run_once_macro_runs_once_under_concurrency(app: TestApp) {
    use switchyard::errors::AppError;
    use switchyard::server::admin::{Actor, users};
    use switchyard::shared::vocab::RunStatus;
    let s = seed_listener(&app.db, "once", PLUS_ONE, true, 2).await;
    let c0 = app
        .count("SELECT id FROM users WHERE email = 'c0@example.com'")
        .await as i32;
    let c1 = app
        .count("SELECT id FROM users WHERE email = 'c1@example.com'")
        .await as i32;
    let actor = Actor::system("test");
    // Each run in a task of its own, so that on PostgreSQL they run truly side by side.
    let runs = (0..8).map(|_| {
        let (db, sealer, actor) = (app.db.clone(), app.sealer.clone(), actor.clone());
        tokio::spawn(async move {
            switchyard::server::engine::runs::execute(
                &db,
                &sealer,
                &actor,
                s.macro_id,
                c0,
                switchyard::shared::vocab::Trigger::Manual,
            )
            .await
        })
    });
    let outcomes = futures::future::join_all(runs).await;
    let statuses: Vec<RunStatus> = outcomes
        .into_iter()
        .map(|o| o.unwrap().expect("every run answers").status)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == RunStatus::Completed)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.count(&format!("SELECT score FROM users WHERE id = {c0}"))
            .await,
        1
    );
    // Runs on c1 while c1 is deleted: each either ran before or finds nobody.
    let c1_text = c1.to_string();
    let delete = users::delete(&app.db, &actor, &c1_text, true);
    let runs = futures::future::join_all((0..4).map(|_| {
        switchyard::server::engine::runs::execute(
            &app.db,
            &app.sealer,
            &actor,
            s.macro_id,
            c1,
            switchyard::shared::vocab::Trigger::Manual,
        )
    }));
    let (deleted, outcomes) = tokio::join!(delete, runs);
    deleted.expect("the deletion goes through");
    for o in outcomes {
        match o {
            Ok(_) | Err(AppError::NotFound(_)) => {}
            Err(e) => panic!("a run beside a deletion answered {e:?}"),
        }
    }
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM users WHERE id = {c1}"))
            .await,
        0
    );

    // Eight removals of one person at once: one removes them, the others find nobody; none
    // deadlocks into a 500 (PostgreSQL: two runs holding the row shared would each wait for
    // the other's upgrade to FOR UPDATE).
    let removal = seed_listener(&app.db, "removal", REMOVE, false, 3).await;
    let c2 = app
        .count("SELECT id FROM users WHERE email = 'c2@example.com'")
        .await as i32;
    let outcomes = futures::future::join_all((0..8).map(|_| {
        let (db, sealer, actor) = (app.db.clone(), app.sealer.clone(), actor.clone());
        tokio::spawn(async move {
            switchyard::server::engine::runs::execute(
                &db,
                &sealer,
                &actor,
                removal.macro_id,
                c2,
                switchyard::shared::vocab::Trigger::Manual,
            )
            .await
        })
    }))
    .await
    .into_iter()
    .map(|joined| joined.unwrap());
    let mut completed = 0;
    for o in outcomes {
        match o {
            Ok(run) if run.status == RunStatus::Completed => completed += 1,
            Ok(_) | Err(AppError::NotFound(_)) => {}
            Err(e) => panic!("a removal beside another answered {e:?}"),
        }
    }
    assert_eq!(completed, 1);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM users WHERE id = {c2}"))
            .await,
        0
    );
}

/// Calls for a person whose removal is queued, arriving with calls for other people: a call
/// whose target was removed before it was written is a clean 404, and it never fails the
/// calls batched with it.
async fn calls_for_a_removed_person_never_fail_their_batch(backend: Backend) {
    let app = spawn_with(backend, |s: &mut Settings| {
        s.api_rate_burst = 1000;
        s.listener_sync_budget = Duration::ZERO;
    })
    .await;
    let remove = seed_listener(&app.db, "deleteuser", REMOVE, false, 10).await;
    let plus = seed_listener(&app.db, "plus", PLUS_ONE, false, 10).await;
    let others: Vec<String> = (5..10).map(|i| format!("c{i}@example.com")).collect();
    for round in 0..5 {
        let target = format!("c{round}@example.com");
        let mut calls = vec![post(&app, &remove, &target, &[])];
        for i in 0..10 {
            calls.push(post(&app, &plus, &target, &[]));
            calls.push(post(&app, &plus, &others[i % 5], &[]));
        }
        for (status, body, _) in futures::future::join_all(calls).await {
            assert!(
                status == 202 || (status == 404 && body["error"]["code"] == "target_not_found"),
                "{status} {body}"
            );
        }
    }
    wait_until(
        &app,
        "SELECT COUNT(*) FROM macro_runs WHERE status IN ('queued', 'running')",
        0,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email IN ('c0@example.com', 'c1@example.com', 'c2@example.com', 'c3@example.com', 'c4@example.com')")
            .await,
        0,
        "every removal ran"
    );
    assert_eq!(
        app.count("SELECT COALESCE(SUM(score), 0) FROM users WHERE email LIKE 'c%'")
            .await,
        50,
        "the others' points were all added"
    );
}

/// Refused calls (unknown listener, no or a wrong key, wrong method) write nothing each: they
/// are counted and flushed as one row per key and reason; a flooding address gets 429, while
/// calls with a good key from elsewhere go on.
async fn refused_calls_are_counted_not_written(backend: Backend) {
    let app = spawn_with(backend, |s: &mut Settings| {
        s.api_refused_burst = 200;
        s.api_refused_per_second = 1;
        s.api_rate_burst = 1000;
        s.api_refused_hold = Duration::ZERO;
    })
    .await;
    let s = seed_listener(&app.db, "plus", PLUS_ONE, false, 2).await;
    let before = app.count("SELECT COUNT(*) FROM listener_calls").await;
    let client = reqwest::Client::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..300 {
        let url = match i % 3 {
            0 => app.url(&format!(
                "/api/v1/userMacroListeners/nope{i}?find=c0@example.com"
            )),
            1 => app.url("/api/v1/userMacroListeners/plus?find=c0@example.com&apiKey=wrong"),
            _ => app.url(&format!(
                "/api/v1/userMacroListeners/nope{i}?find=c0@example.com&apiKey={}",
                s.api_key
            )),
        };
        let status = client.post(url).send().await.unwrap().status().as_u16();
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls").await,
        before,
        "no row per refused call: {statuses:?}"
    );
    assert!(
        statuses.get(&429).copied().unwrap_or(0) >= 90,
        "the flood was cut off: {statuses:?}"
    );
    // The key is checked first: an unknown listener says 401 to a caller without a good key.
    assert!(statuses.get(&401).copied().unwrap_or(0) > 0, "{statuses:?}");
    let flushed = app.refusals.flush(&app.db).await.unwrap();
    assert_eq!(flushed, 300);
    let rows = app.count("SELECT COUNT(*) FROM listener_calls").await - before;
    assert!(rows > 0 && rows < 250, "aggregated rows: {rows}");
    assert_eq!(
        app.count("SELECT COALESCE(SUM(repeats), 0) FROM listener_calls")
            .await
            - before,
        300
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE listener_key = 'plus' AND code = 'invalid_api_key' AND listener_id = (SELECT id FROM listeners WHERE key = 'plus')")
        .await,
        1,
        "a refusal at a real listener is filed under it, as one row"
    );
}

/// Once an address has used up its refusal budget, its 429s are held (`api.refused_hold_ms`)
/// so that a flood paces itself; a good call from another address is not.
async fn a_flooding_address_gets_its_429s_late(backend: Backend) {
    use switchyard::server::domain::IpAllowList;
    let app = spawn_with(backend, |s: &mut Settings| {
        s.api_refused_burst = 3;
        s.api_refused_per_second = 1;
        s.api_refused_hold = Duration::from_millis(400);
        s.trusted_proxies = Some(IpAllowList::parse("127.0.0.0/8").unwrap());
        s.listener_sync_budget = Duration::ZERO;
    })
    .await;
    let s = seed_listener(&app.db, "plus", PLUS_ONE, false, 1).await;
    let client = reqwest::Client::new();
    let refused = || {
        client
            .post(app.url("/api/v1/userMacroListeners/nope?find=c0@example.com"))
            .header("x-forwarded-for", "198.51.100.66")
            .send()
    };
    for _ in 0..3 {
        assert_eq!(refused().await.unwrap().status(), 401);
    }
    let started = std::time::Instant::now();
    let res = refused().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "held for the hold: {:?}",
        started.elapsed()
    );
    let (status, body, _) = post(
        &app,
        &s,
        "c0@example.com",
        &[("x-forwarded-for", "203.0.113.5")],
    )
    .await;
    assert_eq!(status, 202, "{body}");
}

/// The caller in the listener log (and for the key's allow-list) is the peer, unless the peer
/// is a trusted proxy: then it is the address the proxy forwarded.
async fn forwarded_addresses_count_only_from_trusted_proxies(backend: Backend) {
    use switchyard::server::domain::IpAllowList;
    for (trusted, want) in [(None, "127.0.0.1"), (Some("127.0.0.0/8"), "203.0.113.9")] {
        let app = spawn_with(backend, |s: &mut Settings| {
            s.trusted_proxies = trusted.map(|t| IpAllowList::parse(t).unwrap());
            s.listener_sync_budget = Duration::ZERO;
        })
        .await;
        let s = seed_listener(&app.db, "plus", PLUS_ONE, false, 1).await;
        let (status, body, _) = post(
            &app,
            &s,
            "c0@example.com",
            &[("x-forwarded-for", "198.51.100.7, 203.0.113.9")],
        )
        .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM listener_calls WHERE caller_ip = '{want}'"
            ))
            .await,
            1,
            "trusted: {trusted:?}"
        );
    }
}

/// The users list's *Actions*: a macro offered there runs on the ticked users, or on every
/// user matching the search, as a bulk run; the confirmation is needed unless the macro
/// suppresses it, and a macro not offered there is refused.
async fn list_actions_run_a_macro_on_ticked_or_every_matching_user(app: TestApp) {
    use switchyard::server::admin::{Actor, bulk_runs, macros};
    use switchyard::server_fns::bulk_runs::StartSelectionRun;
    use switchyard::types::{MacroActionForm, MacroForm};
    let s = seed_listener(&app.db, "points", PLUS_ONE, false, 4).await;
    app.sign_in().await;
    let actor = Actor::system("test");
    let tick = macros::save(
        &app.db,
        &app.sealer,
        &actor,
        &MacroForm {
            name: "Tick".into(),
            key: "tick".into(),
            actions: vec![MacroActionForm {
                slot: "0".into(),
                kind: "adjust_score".into(),
                value: "1".into(),
            }],
            show_in_user_actions: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let offered: Vec<String> = bulk_runs::choices(&app.db, &actor, "user", (None, None))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(offered, ["Tick"], "only macros shown in user actions");
    let id_of = |n: usize| {
        let app = &app;
        async move {
            app.count(&format!(
                "SELECT id FROM users WHERE email = 'c{n}@example.com'"
            ))
            .await
            .to_string()
        }
    };
    let (c0, c1) = (id_of(0).await, id_of(1).await);
    let tick = tick.to_string();
    let run = |pairs: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let mut all = vec![("form[scope]", "user".to_string())];
            all.extend(pairs);
            let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call::<StartSelectionRun>(&borrowed).await
        }
    };
    // Without the confirmation, with a macro not offered here, or with nothing ticked:
    // refused, naming the field, and nothing starts.
    for (pairs, field) in [
        (
            vec![
                ("form[macro_id]", tick.clone()),
                ("form[ids][0]", c0.clone()),
            ],
            "confirm",
        ),
        (
            vec![
                ("form[macro_id]", s.macro_id.to_string()),
                ("form[ids][0]", c0.clone()),
                ("form[confirm]", "on".into()),
            ],
            "macro_id",
        ),
        (
            vec![
                ("form[macro_id]", tick.clone()),
                ("form[confirm]", "on".into()),
            ],
            "ids",
        ),
    ] {
        let res = run(pairs).await;
        assert_eq!(res.status(), 422);
        let body = res.text().await.unwrap();
        assert!(body.contains(&format!("\"{field}\"")), "{field}: {body}");
    }
    // More rows than a list shows are refused before anything is looked up.
    let mut many = vec![
        ("form[macro_id]", tick.clone()),
        ("form[confirm]", "on".into()),
    ];
    let keys: Vec<&'static str> = (0..=bulk_runs::MAX_TICKED)
        .map(|i| &*Box::leak(format!("form[ids][{i}]").into_boxed_str()))
        .collect();
    many.extend(keys.iter().map(|k| (*k, c0.clone())));
    let res = run(many).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("tick at most"));
    // A macro that suppresses confirmation still asks for it on every match of a search.
    let quiet = macros::save(
        &app.db,
        &app.sealer,
        &actor,
        &MacroForm {
            name: "Quiet".into(),
            key: "quiet".into(),
            actions: vec![MacroActionForm {
                slot: "0".into(),
                kind: "add_comment".into(),
                value: "Noted in bulk".into(),
            }],
            show_in_user_actions: Some("on".into()),
            suppress_confirmation: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .to_string();
    let res = run(vec![
        ("form[macro_id]", quiet.clone()),
        ("form[all]", "all".into()),
        ("form[users][q]", String::new()),
    ])
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("\"confirm\""));
    assert_eq!(app.count("SELECT COUNT(*) FROM bulk_runs").await, 0);
    let res = run(vec![
        ("form[macro_id]", quiet),
        ("form[all]", String::new()),
        ("form[ids][0]", c0.clone()),
    ])
    .await;
    assert_eq!(
        res.status(),
        200,
        "ticked rows need no confirmation for such a macro"
    );
    let quiet_run = app.count("SELECT MAX(id) FROM bulk_runs").await;
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM macro_runs WHERE bulk_run_id = {quiet_run} AND status = 'completed'"),
        1,
    )
    .await;
    // Two ticked users (one ticked twice, as a resubmitted form might send).
    let res = run(vec![
        ("form[macro_id]", tick.clone()),
        ("form[ids][0]", c0.clone()),
        ("form[ids][3]", c1.clone()),
        ("form[ids][5]", c1.clone()),
        ("form[confirm]", "on".into()),
    ])
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let first = app.count("SELECT MAX(id) FROM bulk_runs").await;
    assert_eq!(
        res.headers()["location"],
        format!("/bulk-runs/{first}").as_str()
    );
    wait_until(
        &app,
        &format!(
            "SELECT COUNT(*) FROM macro_runs WHERE bulk_run_id = {first} AND status = 'completed'"
        ),
        2,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email IN ('c0@example.com', 'c1@example.com') AND score = 1")
            .await,
        2
    );
    // Every user of the team Customers (the list's search), on every page.
    let customers = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await
        .to_string();
    let res = run(vec![
        ("form[macro_id]", tick.clone()),
        ("form[all]", "all".into()),
        ("form[users][q]", String::new()),
        ("form[users][team]", customers),
        ("form[confirm]", "on".into()),
    ])
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let second = app.count("SELECT MAX(id) FROM bulk_runs").await;
    assert_ne!(first, second);
    wait_until(
        &app,
        &format!(
            "SELECT COUNT(*) FROM macro_runs WHERE bulk_run_id = {second} AND status = 'completed'"
        ),
        4,
    )
    .await;
    assert_eq!(
        app.count("SELECT SUM(score) FROM users WHERE email LIKE 'c%@example.com'")
            .await,
        2 + 4
    );
    let page = app
        .get(&format!("/bulk-runs/{second}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("On every matching user (4), started"),
        "{page}"
    );
    assert!(page.contains("Finished: 4 of 4 users done."), "{page}");
}

macro_rules! on_both {
    ($($name:ident: $kind:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    on_both!(@run $kind, super::$name, $crate::common::Backend::Sqlite)
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    on_both!(@run $kind, super::$name, $crate::common::Backend::Postgres)
                }
            }
        )*
    };
    (@run app, $f:path, $b:expr) => { $f($crate::common::spawn($b).await).await };
    (@run backend, $f:path, $b:expr) => { $f($b).await };
}

on_both!(
    answers_200_within_the_budget: app,
    answers_202_when_the_budget_runs_out_and_the_worker_finishes: backend,
    idempotency_keys_replay_the_first_answer: app,
    a_taken_over_claim_is_no_longer_the_first_callers: app,
    the_test_request_panel_explains_without_running: app,
    bulk_runs_queue_every_matching_user_and_report_progress: app,
    list_actions_run_a_macro_on_ticked_or_every_matching_user: app,
    housekeeping_deletes_old_jobs_answers_and_log_rows: app,
    a_macro_or_filter_in_use_by_a_listener_is_not_deleted: app,
    rate_limits_answer_429_with_retry_after: backend,
    expired_leases_are_taken_again_and_lost_leases_write_nothing: backend,
    failing_jobs_are_retried_later_then_given_up: backend,
    one_failing_job_in_a_batch_leaves_the_others_done: backend,
    two_worker_pools_never_run_a_job_twice: backend,
    concurrent_calls_each_get_their_own_answer: backend,
    a_removal_storm_with_one_key_runs_once: backend,
    a_run_once_macro_runs_once_under_concurrency: app,
    calls_for_a_removed_person_never_fail_their_batch: backend,
    refused_calls_are_counted_not_written: backend,
    a_flooding_address_gets_its_429s_late: backend,
    forwarded_addresses_count_only_from_trusted_proxies: backend,
);
