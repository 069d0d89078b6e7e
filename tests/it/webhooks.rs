//! Outgoing webhooks against a real local HTTP receiver on port 0 (127.0.0.1 only), on SQLite
//! and PostgreSQL: rendering byte for byte, each method and content type, retries with
//! Retry-After, 410, redirects, the address check, captured values, signatures and rotation,
//! resend and the log, and what removing a person leaves.

use crate::common;
use switchyard::server::engine::external_values;
use switchyard::server::engine::outbox;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine;
use common::{Backend, TestApp};
use hmac::{Hmac, Mac};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::Sha256;
use switchyard::server::admin::external_data::{self};
use switchyard::server::admin::macros;
use switchyard::server::admin::{Actor, imports, users, webhooks};
use switchyard::server::delivery::{self, Outbox};
use switchyard::server::engine::erasure;
use switchyard::server::engine::external_values::{Subject, Typed};
use switchyard::server::engine::runs;
use switchyard::server::entities::{webhook, webhook_attempt, webhook_delivery};
use switchyard::server::secrets::Sealer;
use switchyard::shared::vocab::DeliveryStatus;
use switchyard::shared::vocab::Trigger;
use switchyard::types::{
    DataFieldForm, DataGroupForm, MacroActionForm, MacroForm, NewDataGroupForm, UserForm,
    WebhookForm,
};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A scripted answer: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// Scripted answers, used in order; then 200 `{}`.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    plan: Arc<Mutex<Vec<Answer>>>,
    /// Requests whose path contains "slow" wait this long before the answer.
    slow: Arc<Mutex<Duration>>,
}

async fn receive(
    State(r): State<Receiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    r.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        uri: uri.to_string(),
        headers,
        body: body.to_vec(),
    });
    let next = {
        let mut plan = r.plan.lock().unwrap();
        (!plan.is_empty()).then(|| plan.remove(0))
    };
    let (status, extra, body) = next.unwrap_or((200, Vec::new(), b"{}".to_vec()));
    if uri.path().contains("slow") {
        let wait = *r.slow.lock().unwrap();
        tokio::time::sleep(wait).await;
    }
    let mut res = (StatusCode::from_u16(status).unwrap(), body).into_response();
    for (k, v) in extra {
        res.headers_mut().insert(k, v.parse().unwrap());
    }
    res
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let app = axum::Router::new().fallback(receive).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, format!("http://{addr}"))
    }

    fn answer(&self, status: u16, headers: Vec<(&'static str, String)>, body: &str) {
        self.answer_bytes(status, headers, body.as_bytes().to_vec());
    }

    fn answer_bytes(&self, status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8>) {
        self.plan.lock().unwrap().push((status, headers, body));
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Makes requests whose path contains "slow" wait `wait` before their answer.
    fn slow_down(&self, wait: Duration) {
        *self.slow.lock().unwrap() = wait;
    }
}

/// Sends every delivery that is due, until none is.
async fn drain(app: &TestApp, outbox: &Arc<Outbox>) {
    for _ in 0..50 {
        if delivery::try_deliver_due(&app.db, outbox, "test-sender")
            .await
            .unwrap()
            == 0
        {
            return;
        }
    }
    panic!("deliveries kept coming");
}

/// Drains until no delivery waits any more (retries come due meanwhile), at most `secs`.
async fn drain_until_settled(app: &TestApp, outbox: &Arc<Outbox>, secs: u64) {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        drain(app, outbox).await;
        if app
            .count("SELECT COUNT(*) FROM webhook_deliveries WHERE status IN ('queued', 'sending')")
            .await
            == 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries were still waiting after {secs} s");
}

fn actor() -> Actor {
    Actor::system("test")
}

fn outbox_for(app: &TestApp) -> (Arc<Sealer>, Arc<Outbox>) {
    let sealer = Arc::new(Sealer::load_or_create(&app.settings.secret_key_file).unwrap());
    let mut settings = app.settings.clone();
    settings.outgoing_concurrency = 64;
    let outbox = Arc::new(Outbox::new(&settings, sealer.clone()).unwrap());
    (sealer, outbox)
}

async fn member(app: &TestApp, email: &str, first: &str, last: &str) -> i32 {
    users::create(
        &app.db,
        &actor(),
        &UserForm {
            email: email.into(),
            first_name: first.into(),
            last_name: last.into(),
            role: "participant".into(),
            score: "7".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn user_macro(app: &TestApp, key: &str, actions: &[(&str, &str)]) -> i32 {
    macros::save(
        &app.db,
        &app.sealer,
        &actor(),
        &MacroForm {
            name: format!("Macro {key}"),
            key: key.into(),
            show_in_user_actions: Some("on".into()),
            suppress_confirmation: Some("on".into()),
            actions: actions
                .iter()
                .enumerate()
                .map(|(i, (kind, value))| MacroActionForm {
                    slot: i.to_string(),
                    kind: kind.to_string(),
                    value: value.to_string(),
                })
                .collect(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn hook(app: &TestApp, sealer: &Sealer, macro_id: i32, form: WebhookForm) -> i32 {
    webhooks::save(
        &app.db,
        sealer,
        &actor(),
        &WebhookForm {
            macro_id: macro_id.to_string(),
            ..form
        },
    )
    .await
    .unwrap_or_else(|e| panic!("webhook refused: {e:?}"))
}

/// A user data group `name` with `(label, parameter, kind)` fields; the field ids.
async fn user_group(app: &TestApp, name: &str, fields: &[(&str, &str, &str)]) -> (i32, Vec<i32>) {
    let group = external_data::create_group(
        &app.db,
        &actor(),
        &NewDataGroupForm {
            scope: "user".into(),
            name: name.into(),
        },
    )
    .await
    .unwrap();
    external_data::save_group(
        &app.db,
        &actor(),
        &DataGroupForm {
            id: group.to_string(),
            name: name.into(),
            fields: fields
                .iter()
                .enumerate()
                .map(|(i, (label, parameter, kind))| DataFieldForm {
                    slot: i.to_string(),
                    label: label.to_string(),
                    parameter: parameter.to_string(),
                    kind: kind.to_string(),
                    favorite: None,
                })
                .collect(),
        },
    )
    .await
    .unwrap();
    let fields = external_values::fields_of(&app.db, group)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    (group, fields)
}

async fn deliveries(app: &TestApp) -> Vec<webhook_delivery::Model> {
    webhook_delivery::Entity::find()
        .order_by_asc(webhook_delivery::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

async fn attempts_of(app: &TestApp, delivery_id: i64) -> Vec<webhook_attempt::Model> {
    webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(webhook_attempt::Column::Attempt)
        .all(&app.db)
        .await
        .unwrap()
}

const NOTE: &str = "He said \"hi\"\nthen left — ünïcödé ✓ & 100% {done}";

async fn each_method_and_content_type_is_rendered_byte_for_byte(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let jim = member(&app, "jim.o'neil@example.com", "Jim", "O'Neil").await;
    let (_, fields) = user_group(&app, "Profile", &[("Note", "note", "string")]).await;
    let note_field = external_values::fields_of(
        &app.db,
        app.count("SELECT id FROM data_groups").await as i32,
    )
    .await
    .unwrap()
    .into_iter()
    .find(|f| f.id == fields[0])
    .unwrap();
    external_values::store(
        &app.db,
        Subject::User(jim),
        &note_field,
        Typed::String(NOTE.into()),
    )
    .await
    .unwrap();
    let m = user_macro(&app, "hooks", &[("adjust_score", "5")]).await;
    let json_body = "{\"note\": \"((external.Profile.Note))\", \"who\": \"((user.first_name)) ((user.last_name))\", \"score\": ((user.score))}";
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "json post".into(),
            method: "POST".into(),
            url: format!("{base}/json"),
            headers: "Authorization: Bearer t0ps3cret\nX-Note: ((external.Profile.Note))".into(),
            content_type: "json".into(),
            body: json_body.into(),
            ..Default::default()
        },
    )
    .await;
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "form put".into(),
            method: "PUT".into(),
            url: format!("{base}/form"),
            content_type: "form".into(),
            body: "note=((external.Profile.Note))&email=((user.email))".into(),
            ..Default::default()
        },
    )
    .await;
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "get".into(),
            method: "GET".into(),
            url: format!(
                "{base}/users/((user.id))?email=((user.email))&note=((external.Profile.Note))"
            ),
            ..Default::default()
        },
    )
    .await;
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "patch".into(),
            method: "PATCH".into(),
            url: format!("{base}/patch"),
            content_type: "json".into(),
            body: "{\"score\": ((user.score))}".into(),
            ..Default::default()
        },
    )
    .await;
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "delete".into(),
            method: "DELETE".into(),
            url: format!("{base}/users/((user.id))"),
            ..Default::default()
        },
    )
    .await;

    // The macro lists its webhooks as steps after its actions.
    let steps = macros::get(&app.db, m).await.unwrap().steps;
    assert_eq!(steps[0], "Adjust score by +5");
    assert_eq!(steps[1], "Send webhook json post");
    assert_eq!(steps.len(), 6);
    let outcome = runs::execute(&app.db, &sealer, &actor(), m, jim, Trigger::Manual)
        .await
        .unwrap();
    assert!(
        outcome
            .steps
            .iter()
            .filter(|s| s.starts_with("Send webhook"))
            .count()
            == 5,
        "{:?}",
        outcome.steps
    );
    // Queued with the run, not sent yet.
    let queued = deliveries(&app).await;
    assert_eq!(queued.len(), 5);
    assert!(
        queued
            .iter()
            .all(|d| d.status == "queued" && d.run_id == Some(outcome.run_id))
    );
    drain(&app, &outbox).await;
    assert!(
        deliveries(&app)
            .await
            .iter()
            .all(|d| d.status == "succeeded"),
        "{:?}",
        deliveries(&app).await
    );

    let seen = receiver.seen();
    assert_eq!(seen.len(), 5);
    let by = |m: &str| {
        seen.iter()
            .find(|s| s.method == m)
            .unwrap_or_else(|| panic!("no {m}"))
    };
    let post = by("POST");
    let expected_note = serde_json::to_string(NOTE).unwrap();
    let expected = format!("{{\"note\": {expected_note}, \"who\": \"Jim O'Neil\", \"score\": 12}}");
    assert_eq!(
        String::from_utf8(post.body.clone()).unwrap(),
        expected,
        "JSON body byte for byte"
    );
    let parsed: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(parsed["note"], NOTE);
    assert_eq!(post.headers["content-type"], "application/json");
    assert_eq!(post.headers["authorization"], "Bearer t0ps3cret");
    let x_note = String::from_utf8(post.headers["x-note"].as_bytes().to_vec()).unwrap();
    assert_eq!(
        x_note,
        NOTE.replace('\n', " "),
        "a header value loses its line break"
    );

    let put = by("PUT");
    let form_body = String::from_utf8(put.body.clone()).unwrap();
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    assert_eq!(
        form_body,
        format!("note={}&email={}", enc(NOTE), enc("jim.o'neil@example.com"))
    );
    let decoded: Vec<(String, String)> = url::form_urlencoded::parse(&put.body)
        .into_owned()
        .collect();
    assert_eq!(decoded[0], ("note".to_string(), NOTE.to_string()));
    assert_eq!(
        put.headers["content-type"],
        "application/x-www-form-urlencoded"
    );

    let get = by("GET");
    assert!(get.body.is_empty());
    let uri: url::Url = format!("http://x{}", get.uri).parse().unwrap();
    assert_eq!(uri.path(), format!("/users/{jim}"));
    let q: Vec<(String, String)> = uri.query_pairs().into_owned().collect();
    assert_eq!(q[0], ("email".into(), "jim.o'neil@example.com".into()));
    assert_eq!(
        q[1],
        ("note".into(), NOTE.into()),
        "the tag in the URL is encoded and decodes back"
    );

    assert_eq!(
        String::from_utf8(by("PATCH").body.clone()).unwrap(),
        "{\"score\": 12}"
    );
    let delete = by("DELETE");
    assert_eq!(delete.uri, format!("/users/{jim}"));
    assert!(delete.body.is_empty());

    // The log masks the secret header; the delivery keeps what was sent.
    let d = deliveries(&app)
        .await
        .into_iter()
        .find(|d| d.method == "POST")
        .unwrap();
    let detail = webhooks::delivery(&app.db, &actor(), d.id).await.unwrap();
    let auth = detail
        .request
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .unwrap();
    assert_eq!(auth.1, "Bearer ••••••");
    let attempt = &detail.attempts[0];
    assert_eq!(attempt.response_status, Some(200));
    assert!(
        attempt
            .request_headers
            .iter()
            .all(|(_, v)| !v.contains("t0ps3cret")),
        "{:?}",
        attempt.request_headers
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_attempts WHERE request_headers LIKE '%t0ps3cret%'")
            .await,
        0
    );
}

async fn failures_retry_with_backoff_and_retry_after_then_succeed(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let ann = member(&app, "ann@example.com", "Ann", "Lee").await;
    let m = user_macro(&app, "retry", &[("adjust_score", "1")]).await;
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "flaky".into(),
            method: "POST".into(),
            url: format!("{base}/flaky"),
            body: "{\"id\": ((user.id))}".into(),
            ..Default::default()
        },
    )
    .await;
    receiver.answer(503, vec![], "down");
    receiver.answer(429, vec![("retry-after", "2".into())], "slow down");
    receiver.answer(200, vec![], "{\"ok\": true}");
    runs::execute(&app.db, &sealer, &actor(), m, ann, Trigger::Manual)
        .await
        .unwrap();
    drain_until_settled(&app, &outbox, 20).await;
    let d = deliveries(&app).await.pop().unwrap();
    assert_eq!(d.status, "succeeded");
    assert_eq!(d.attempts, 3);
    let a = attempts_of(&app, d.id).await;
    assert_eq!(
        a.iter().map(|a| a.response_status).collect::<Vec<_>>(),
        vec![Some(503), Some(429), Some(200)]
    );
    // The first retry is immediate; the 429's Retry-After of 2 s is a lower bound for the next
    // (the schedule alone would have waited about 1 s).
    let wait = a[2].started_at - a[1].started_at;
    assert!(
        wait >= chrono::Duration::milliseconds(1900),
        "waited only {wait}"
    );
    assert!(a[1].next_retry_at.unwrap() - a[1].started_at >= chrono::Duration::seconds(2));
    assert_eq!(a[2].response_body, "{\"ok\": true}");
    assert_eq!(receiver.seen().len(), 3);

    // A receiver that keeps failing uses up the schedule: one try and two retries, then failed.
    for _ in 0..3 {
        receiver.answer(500, vec![], "broken");
    }
    runs::execute(&app.db, &sealer, &actor(), m, ann, Trigger::Manual)
        .await
        .unwrap();
    drain_until_settled(&app, &outbox, 20).await;
    let d = deliveries(&app).await.pop().unwrap();
    assert_eq!(
        (d.status.as_str(), d.attempts, d.last_status),
        ("failed", 3, Some(500))
    );
    assert!(d.finished_at.is_some());

    // Resend makes a new delivery of the same request, which now gets through.
    let again = webhooks::resend(&app.db, &actor(), d.id).await.unwrap();
    drain(&app, &outbox).await;
    let r = webhook_delivery::Entity::find_by_id(again)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.status.as_str(), r.resend_of), ("succeeded", Some(d.id)));
    assert_eq!(r.body, d.body);
    let log = webhooks::log(
        &app.db,
        &actor(),
        &switchyard::types::DeliveryQuery {
            status: Some("failed".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        log.deliveries.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![d.id]
    );
    let rate = &log.rates[0].counts;
    assert_eq!((rate.succeeded, rate.failed), (2, 1));

    // A webhook's own retry schedule wins over the installation's: one retry, then failed.
    let err = webhooks::save(
        &app.db,
        &sealer,
        &actor(),
        &WebhookForm {
            macro_id: m.to_string(),
            name: "own schedule".into(),
            method: "POST".into(),
            url: format!("{base}/own"),
            retry_schedule: "0s, 2 days".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(err.field_message("retry_schedule").is_some(), "{err:?}");
    let own = hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "own schedule".into(),
            method: "POST".into(),
            url: format!("{base}/own"),
            retry_schedule: " 0s ,".into(),
            ..Default::default()
        },
    )
    .await;
    let saved = webhooks::editor(&app.db, &actor(), Some(own), None, "", None)
        .await
        .unwrap();
    assert_eq!(saved.webhook.unwrap().retry_schedule, "0s");
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(&format!(
            "UPDATE webhooks SET enabled = FALSE WHERE id <> {own}"
        ))
        .await
        .unwrap();
    for _ in 0..3 {
        receiver.answer(500, vec![], "broken");
    }
    runs::execute(&app.db, &sealer, &actor(), m, ann, Trigger::Manual)
        .await
        .unwrap();
    drain_until_settled(&app, &outbox, 20).await;
    let d = deliveries(&app)
        .await
        .into_iter()
        .rfind(|d| d.webhook_id == Some(own))
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.attempts, d.last_status),
        ("failed", 2, Some(500)),
        "one try and the webhook's one retry"
    );
}

async fn gone_switches_the_webhook_off_and_redirects_are_not_followed(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let bo = member(&app, "bo@example.com", "Bo", "Ek").await;
    let m = user_macro(&app, "gone", &[("adjust_score", "1")]).await;
    let gone = hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "gone".into(),
            method: "POST".into(),
            url: format!("{base}/gone"),
            body: "{}".into(),
            ..Default::default()
        },
    )
    .await;
    receiver.answer(410, vec![], "gone");
    runs::execute(&app.db, &sealer, &actor(), m, bo, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let w = webhook::Entity::find_by_id(gone)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!w.enabled);
    assert!(w.disabled_reason.contains("410"), "{}", w.disabled_reason);
    let d = deliveries(&app).await.pop().unwrap();
    assert_eq!((d.status.as_str(), d.attempts), ("failed", 1));
    // Switched off, it is not sent on later runs; saving it switches it on again.
    let steps = runs::execute(&app.db, &sealer, &actor(), m, bo, Trigger::Manual)
        .await
        .unwrap()
        .steps;
    assert!(
        !steps.iter().any(|s| s.contains("Send webhook")),
        "{steps:?}"
    );
    assert_eq!(deliveries(&app).await.len(), 1);
    assert!(
        macros::get(&app.db, m)
            .await
            .unwrap()
            .steps
            .contains(&"Send webhook gone (switched off)".to_string())
    );
    assert!(webhooks::resend(&app.db, &actor(), d.id).await.is_err());

    // A redirect is an answer like any other: not followed, and the delivery fails.
    let (other, other_base) = Receiver::start().await;
    receiver.answer(
        302,
        vec![("location", format!("{other_base}/elsewhere"))],
        "",
    );
    let m2 = user_macro(&app, "redirect", &[("adjust_score", "1")]).await;
    hook(
        &app,
        &sealer,
        m2,
        WebhookForm {
            name: "moved".into(),
            method: "POST".into(),
            url: format!("{base}/moved"),
            body: "{}".into(),
            ..Default::default()
        },
    )
    .await;
    runs::execute(&app.db, &sealer, &actor(), m2, bo, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let d = deliveries(&app).await.pop().unwrap();
    assert_eq!((d.status.as_str(), d.last_status), ("failed", Some(302)));
    assert!(d.last_error.unwrap().contains("redirects are not followed"));
    assert!(other.seen().is_empty(), "the redirect was followed");
}

async fn the_capture_stores_typed_values_and_notes_what_does_not_fit(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let cy = member(&app, "cy@example.com", "Cy", "Ng").await;
    let (group, _) = user_group(
        &app,
        "Shipping",
        &[
            ("Tracking", "shipment.tracking", "string"),
            ("Parcels", "shipment.parcels", "integer"),
            ("Valid", "address.valid", "boolean"),
            ("Ships on", "shipment.date", "datetime"),
            ("Weight", "shipment.weight", "integer"),
            ("Missing", "shipment.nothing", "string"),
        ],
    )
    .await;
    let m = user_macro(&app, "capture", &[("adjust_score", "1")]).await;
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "validate address".into(),
            method: "POST".into(),
            url: format!("{base}/validate"),
            body: "{\"email\": \"((user.email))\"}".into(),
            capture: Some("on".into()),
            capture_group_id: group.to_string(),
            ..Default::default()
        },
    )
    .await;
    receiver.answer(
        200,
        vec![("content-type", "application/json".into())],
        r#"{"shipment": {"tracking": "1Z999", "parcels": "3", "date": "2026-12-24T10:00:00Z", "weight": "heavy"}, "address": {"valid": true}}"#,
    );
    runs::execute(&app.db, &sealer, &actor(), m, cy, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let values = external_values::values_for(&app.db, Subject::User(cy))
        .await
        .unwrap();
    let get = |label: &str| {
        values
            .iter()
            .find(|v| v.label == label)
            .map(|v| v.value.clone())
    };
    assert_eq!(get("Tracking").as_deref(), Some("1Z999"));
    assert_eq!(get("Parcels").as_deref(), Some("3"));
    assert_eq!(get("Valid").as_deref(), Some("True"));
    assert!(get("Ships on").unwrap().starts_with("2026-12-24 10:00"));
    assert_eq!(get("Weight"), None);
    assert_eq!(
        app.count(&format!("SELECT value_integer FROM data_values WHERE user_id = {cy} AND value_integer IS NOT NULL")).await,
        3
    );
    let d = deliveries(&app).await.pop().unwrap();
    let note = attempts_of(&app, d.id).await[0].capture_note.clone();
    assert!(
        note.contains("Weight: not stored, must be a whole number"),
        "{note}"
    );
    assert!(note.contains("Missing: not in the answer"), "{note}");
    assert_eq!(d.status, "succeeded");
}

fn verify(secret: &str, id: &str, ts: &str, body: &[u8], header: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let want = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    header.split(' ').any(|s| s == want)
}

async fn signed_deliveries_verify_and_rotation_signs_with_both_secrets(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let di = member(&app, "di@example.com", "Di", "Vo").await;
    let m = user_macro(&app, "signed", &[("adjust_score", "1")]).await;
    let id = hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "signed".into(),
            method: "POST".into(),
            url: format!("{base}/signed"),
            body: "{\"id\": ((user.id)), \"text\": \"ünïcödé\"}".into(),
            signing: Some("on".into()),
            ..Default::default()
        },
    )
    .await;
    let first = webhooks::editor(&app.db, &actor(), Some(id), None, "", Some(&sealer))
        .await
        .unwrap()
        .secrets;
    assert_eq!(first.len(), 1);
    assert!(first[0].starts_with("whsec_"));
    // At rest the secret is encrypted.
    let stored = webhook::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored
            .signing_secret
            .clone()
            .unwrap()
            .contains(first[0].trim_start_matches("whsec_"))
    );
    runs::execute(&app.db, &sealer, &actor(), m, di, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let s = receiver.seen().pop().unwrap();
    let (mid, ts, sig) = (
        s.headers["webhook-id"].to_str().unwrap().to_string(),
        s.headers["webhook-timestamp"].to_str().unwrap().to_string(),
        s.headers["webhook-signature"].to_str().unwrap().to_string(),
    );
    assert!(mid.starts_with("msg_"));
    let age = chrono::Utc::now().timestamp() - ts.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "timestamp {ts}");
    assert!(
        verify(&first[0], &mid, &ts, &s.body, &sig),
        "signature {sig}"
    );
    assert!(!verify(&first[0], &mid, &ts, b"tampered", &sig));

    webhooks::rotate_secret(&app.db, &sealer, &actor(), id)
        .await
        .unwrap();
    let both = webhooks::editor(&app.db, &actor(), Some(id), None, "", Some(&sealer))
        .await
        .unwrap()
        .secrets;
    assert_eq!(both.len(), 2);
    assert_eq!(both[1], first[0], "the previous secret still signs");
    runs::execute(&app.db, &sealer, &actor(), m, di, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let s = receiver.seen().pop().unwrap();
    let (mid, ts, sig) = (
        s.headers["webhook-id"].to_str().unwrap().to_string(),
        s.headers["webhook-timestamp"].to_str().unwrap().to_string(),
        s.headers["webhook-signature"].to_str().unwrap().to_string(),
    );
    assert_eq!(sig.split(' ').count(), 2);
    assert!(verify(&both[0], &mid, &ts, &s.body, &sig));
    assert!(verify(&first[0], &mid, &ts, &s.body, &sig));
}

/// A removal macro may tell other systems to erase the same person (GDPR Art. 19): its
/// webhooks name the person, are rendered before the erasure and wait sealed (nothing of the
/// person readable in the database, even while a failing receiver makes them retry); once
/// sent they are cut, the log says so, and the removal's receipt counts what went and
/// what was told.
async fn removal_macros_tell_others_sealed_then_erase_what_they_sent(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let email = "gdpr.person@example.com";
    let ed = member(&app, email, "Eddie", "Gone").await;
    let who = erasure::Identity::new(vec![email.into()], vec!["Eddie Gone".into()]);
    // Earlier deliveries about the person hold their email.
    let m = user_macro(&app, "notify", &[("adjust_score", "1")]).await;
    hook(&app, &sealer, m, WebhookForm {
        name: "crm".into(),
        method: "POST".into(),
        url: format!("{base}/crm?who=((user.email))"),
        body: "{\"email\": \"((user.email))\", \"name\": \"((user.first_name)) ((user.last_name))\"}".into(),
        ..Default::default()
    })
    .await;
    receiver.answer(200, vec![], &format!("{{\"echo\": \"{email}\"}}"));
    runs::execute(&app.db, &sealer, &actor(), m, ed, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM webhook_attempts WHERE response_body LIKE '%{email}%'"
        ))
        .await,
        1
    );
    // The removal macro tells the CRM whom to erase: email in the URL, a header and the body.
    let remove = user_macro(&app, "remove", &[("remove_user", "")]).await;
    hook(
        &app,
        &sealer,
        remove,
        WebhookForm {
            name: "erase in crm".into(),
            method: "POST".into(),
            url: format!("{base}/erase?email=((user.email))"),
            headers: "X-Person: ((user.first_name)) ((user.last_name))".into(),
            body: "{\"email\": \"((user.email))\", \"id\": ((user.id))}".into(),
            ..Default::default()
        },
    )
    .await;
    // The CRM is down at first and its error names the person.
    receiver.answer(
        503,
        vec![
            ("x-echo", email.to_uppercase()),
            ("retry-after", "2".into()),
        ],
        &format!("{{\"error\": \"{email} (Eddie Gone) is locked\"}}"),
    );
    let outcome = runs::execute(&app.db, &sealer, &actor(), remove, ed, Trigger::Manual)
        .await
        .unwrap();
    let queued = deliveries(&app).await.pop().unwrap();
    assert!(queued.sealed && queued.erased_at.is_none());
    assert_eq!(queued.status, "queued");
    // What the key file opens: gone from the database's files too once it was sent.
    let ciphertext = queued.body.clone();
    assert!(ciphertext.starts_with("v1."), "{ciphertext}");
    let shown = webhooks::delivery(&app.db, &actor(), queued.id)
        .await
        .unwrap();
    assert_eq!(shown.request.url, "http://127.0.0.1/[sealed]");
    assert!(shown.request.body.is_empty() && shown.request.headers.is_empty());
    assert!(shown.delivery.sealed);
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "while sealed: {left:#?}");
    // The operator's check reads the sealed request with the key file and says it still names
    // the person, until it is sent.
    let sealed_left = erasure::check_sealed(&app.db, &sealer, &who).await.unwrap();
    assert!(
        sealed_left
            .iter()
            .any(|f| f.row == queued.id.to_string() && f.form == email),
        "{sealed_left:#?}"
    );
    assert!(
        sealed_left
            .iter()
            .all(|f| f.table == "webhook_deliveries" && f.column.contains("sealed, queued")),
        "{sealed_left:#?}"
    );
    let resend = webhooks::resend(&app.db, &actor(), queued.id)
        .await
        .unwrap_err();
    assert!(resend.to_string().contains("removed person"), "{resend}");

    // First try: 503, a retry; the attempt recorded keeps nothing of the person.
    drain(&app, &outbox).await;
    let tries = attempts_of(&app, queued.id).await;
    assert_eq!(tries.len(), 1);
    assert_eq!(tries[0].response_status, Some(503));
    assert_eq!(tries[0].response_body, delivery::SEALED_ANSWER);
    assert_eq!(
        (
            tries[0].request_headers.as_str(),
            tries[0].response_headers.as_str()
        ),
        ("[]", "[]"),
        "nothing sent or answered is kept"
    );
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "after a failed try: {left:#?}");
    let still = webhook_delivery::Entity::find_by_id(queued.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, "queued");
    assert!(
        !still.body.is_empty(),
        "still sealed, waiting for its retry"
    );

    // Then it goes through, as it was rendered before the erasure.
    drain_until_settled(&app, &outbox, 20).await;
    let sent: Vec<Seen> = receiver
        .seen()
        .into_iter()
        .filter(|s| s.uri.starts_with("/erase"))
        .collect();
    assert_eq!(sent.len(), 2, "the failed try and the retry");
    let last = sent.last().unwrap();
    assert_eq!(last.uri, "/erase?email=gdpr.person%40example.com");
    assert_eq!(last.headers["x-person"], "Eddie Gone");
    assert_eq!(
        String::from_utf8(last.body.clone()).unwrap(),
        format!("{{\"email\": \"{email}\", \"id\": {ed}}}")
    );
    let done = webhook_delivery::Entity::find_by_id(queued.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, "succeeded");
    assert!(done.body.is_empty() && done.erased_at.is_some());
    if let Some(path) = switchyard::server::db::sqlite_file_path(app.settings.database_url.expose())
    {
        for file in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let needle = &ciphertext.as_bytes()[..40];
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the sealed request is still in {file}"
            );
        }
    }
    let shown = webhooks::delivery(&app.db, &actor(), queued.id)
        .await
        .unwrap();
    assert!(shown.delivery.erased_at.is_some());
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "after it was sent: {left:#?}");
    let sealed_left = erasure::check_sealed(&app.db, &sealer, &who).await.unwrap();
    assert!(sealed_left.is_empty(), "{sealed_left:#?}");
    for (table, cols) in [
        (
            "webhook_deliveries",
            vec!["url", "headers", "body", "target_label", "last_error"],
        ),
        (
            "webhook_attempts",
            vec![
                "request_headers",
                "response_headers",
                "response_body",
                "capture_note",
                "error",
            ],
        ),
    ] {
        for col in cols {
            assert_eq!(
                app.count(&format!("SELECT COUNT(*) FROM {table} WHERE {col} LIKE '%{email}%' OR {col} LIKE '%Eddie Gone%'")).await,
                0,
                "{table}.{col} still names the person"
            );
        }
    }

    // The receipt: counts per kind and the downstream notification as it went, the same on
    // the run and on the dashboard.
    let of_run = erasure::receipt_of_run(&app.db, outcome.run_id)
        .await
        .unwrap()
        .expect("a removal leaves a receipt");
    let dashboard = switchyard::server::admin::opt_out::dashboard(&app.db, 7)
        .await
        .unwrap();
    assert_eq!(dashboard.receipts.len(), 1);
    let receipt = dashboard.receipts[0].clone();
    assert_eq!(
        switchyard::server::admin::opt_out::receipt_view(of_run.clone()),
        receipt
    );
    assert_eq!(receipt.trigger, "manual");
    assert_eq!(receipt.macro_name, "Macro remove");
    assert!(
        receipt.subject.starts_with("removed user "),
        "{}",
        receipt.subject
    );
    let count = |kind: &str| {
        receipt
            .counts
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    assert_eq!(
        count("webhook deliveries emptied"),
        1,
        "{:?}",
        receipt.counts
    );
    assert_eq!(receipt.downstream.len(), 1);
    assert_eq!(receipt.downstream[0].webhook, "erase in crm");
    assert_eq!(receipt.downstream[0].status, "succeeded");
    assert!(receipt.downstream[0].erased);
    let text = format!("{receipt:?} {of_run:?}");
    assert!(!text.contains(email) && !text.contains("Eddie"), "{text}");
}

/// Secret header values are stored encrypted (webhook and delivery rows), reach the receiver
/// as typed, show masked; a masked value is kept only while the webhook goes to the same host;
/// values stored in the clear before are sealed once at start.
async fn secret_headers_are_sealed_at_rest_and_stay_with_their_host(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let al = member(&app, "al@example.com", "Al", "Keys").await;
    let m = user_macro(&app, "sync", &[("adjust_score", "1")]).await;
    let form = WebhookForm {
        name: "crm".into(),
        method: "POST".into(),
        url: format!("{base}/crm"),
        headers: "Authorization: Bearer s3cret-token-1\nX-Api-Key: k-0123456789\nX-Team: beta"
            .into(),
        body: "{\"id\": ((user.id))}".into(),
        ..Default::default()
    };
    let id = hook(&app, &sealer, m, form.clone()).await;
    let plain = |col: &str, table: &str| {
        format!(
            "SELECT COUNT(*) FROM {table} WHERE {col} LIKE '%s3cret-token-1%' OR {col} LIKE '%k-0123456789%'"
        )
    };
    assert_eq!(app.count(&plain("headers", "webhooks")).await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhooks WHERE headers LIKE '%beta%'")
            .await,
        1
    );
    // The receiver echoes what it got (as debugging endpoints do), in a header and the body.
    receiver.answer(
        200,
        vec![("x-echo", "Bearer s3cret-token-1".into())],
        "{\"you_sent\": {\"authorization\": \"Bearer s3cret-token-1\", \"x-api-key\": \"k-0123456789\"}}",
    );
    runs::execute(&app.db, &sealer, &actor(), m, al, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(app.count(&plain("headers", "webhook_deliveries")).await, 0);
    drain(&app, &outbox).await;
    let got = receiver.seen().pop().unwrap();
    assert_eq!(got.headers["authorization"], "Bearer s3cret-token-1");
    assert_eq!(got.headers["x-api-key"], "k-0123456789");
    for col in ["request_headers", "response_headers", "response_body"] {
        assert_eq!(app.count(&plain(col, "webhook_attempts")).await, 0, "{col}");
    }
    let echoed = attempts_of(&app, deliveries(&app).await.pop().unwrap().id).await;
    assert!(
        echoed[0].response_body.contains(switchyard::types::MASK),
        "the echo is kept, its secrets masked: {}",
        echoed[0].response_body
    );
    let d = deliveries(&app).await.pop().unwrap();
    let shown = webhooks::delivery(&app.db, &actor(), d.id).await.unwrap();
    let auth = shown
        .request
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .unwrap();
    assert_eq!(auth.1, format!("Bearer {}", switchyard::types::MASK));
    let editor = webhooks::editor(&app.db, &actor(), Some(id), None, "", None)
        .await
        .unwrap();
    let masked = editor.webhook.unwrap().headers;
    assert!(
        !masked.contains("s3cret") && masked.contains("Bearer"),
        "{masked}"
    );

    // Saved again as shown (masked), same host: the secrets are kept and still sent.
    let again = WebhookForm {
        id: id.to_string(),
        url: format!("{base}/crm/v2"),
        headers: masked.clone(),
        ..form.clone()
    };
    hook(&app, &sealer, m, again).await;
    runs::execute(&app.db, &sealer, &actor(), m, al, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let got = receiver.seen().pop().unwrap();
    assert_eq!(got.uri, "/crm/v2");
    assert_eq!(got.headers["authorization"], "Bearer s3cret-token-1");
    // Pointed at another host, the masked secrets must be typed again.
    let moved = webhooks::save(
        &app.db,
        &sealer,
        &actor(),
        &WebhookForm {
            id: id.to_string(),
            macro_id: m.to_string(),
            url: "https://collector.example.net/crm".into(),
            headers: masked.clone(),
            ..form.clone()
        },
    )
    .await
    .unwrap_err();
    let why = moved.field_message("headers").unwrap();
    assert!(
        why.contains("type the value of Authorization again"),
        "{why}"
    );
    assert!(why.contains("https://collector.example.net"), "{why}");
    let stored = webhook::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.url.starts_with(&base),
        "nothing of the refused edit was saved"
    );

    // A value stored in the clear by an earlier version is sealed once at start.
    app.db
        .execute_unprepared(&format!(
            "UPDATE webhooks SET headers = '[[\"Authorization\",\"Bearer old-plain-secret\"]]' WHERE id = {id}; \
             UPDATE community SET secrets_sealed = FALSE"
        ))
        .await
        .unwrap();
    outbox::seal_stored_secret_headers(&app.db, &sealer)
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhooks WHERE headers LIKE '%old-plain-secret%'")
            .await,
        0
    );
    runs::execute(&app.db, &sealer, &actor(), m, al, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let got = receiver.seen().pop().unwrap();
    assert_eq!(got.headers["authorization"], "Bearer old-plain-secret");
}

/// A made-up person: random letters (some non-ASCII, or Chinese script) for names, a
/// `+`-tagged email in mixed case, and the email and first name they change to later.
struct Person {
    email: String,
    first: String,
    last: String,
    new_email: String,
    new_first: String,
}

impl Person {
    fn random() -> Person {
        let seed: u64 = std::env::var("SWITCHYARD_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("erasure test person: SWITCHYARD_TEST_SEED={seed}");
        let mut x = seed;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let letters: Vec<char> = "abcdefghijklmnopqrstuvwxyzäöüéèçñøåß".chars().collect();
        // One person in three has a name in Chinese script (given name, then family name,
        // as the form has them).
        let chinese = next(3) == 0;
        let mut word = |len: usize, capital: bool| -> String {
            let w: String = (0..len).map(|_| letters[next(letters.len())]).collect();
            if capital {
                let mut c = w.chars();
                let first: String = c.next().unwrap().to_uppercase().collect();
                first + c.as_str()
            } else {
                w
            }
        };
        let (first, last, new_first) = if chinese {
            let han: Vec<char> = "王李张刘陈杨黄赵周吴小明伟芳娜静秀英敏".chars().collect();
            let mut han_word =
                |len: usize| -> String { (0..len).map(|_| han[next(han.len())]).collect() };
            let (first, last) = (han_word(2), han_word(2));
            // The new name must differ, or the edit changes no name and leaves no alias.
            let new_first = loop {
                let w = han_word(2);
                if w != first {
                    break w;
                }
            };
            (first, last, new_first)
        } else {
            (
                word(5, true),
                format!("{}-{}", word(6, true), word(4, true)),
                word(6, true),
            )
        };
        let ascii = |w: &str| -> String { w.chars().filter(char::is_ascii_alphanumeric).collect() };
        let local = format!("p{}.{}x", ascii(&first), ascii(&last));
        Person {
            email: format!("{}+Beta{}@Example.com", capitalise(&local), seed % 1000),
            first,
            last,
            new_email: format!("{}.new{}@example.org", local.to_lowercase(), seed % 97),
            new_first,
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// Everything the product's own checker (`switchyard erasure-check`) finds of a person, in the
/// database and, on SQLite, in its file and WAL.
async fn left_of(app: &TestApp, who: &erasure::Identity) -> Vec<String> {
    let mut found: Vec<String> = erasure::check(&app.db, who)
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(path) = switchyard::server::db::sqlite_file_path(app.settings.database_url.expose())
    {
        for file in [path.clone(), format!("{path}-wal")] {
            let hits = erasure::scan_file(std::path::Path::new(&file), who).unwrap();
            for hit in erasure::unexplained(&app.db, hits).await.unwrap() {
                found.push(format!("{file} at {hit}"));
            }
        }
    }
    found
}

/// A person who went through every feature that stores text (an import that named them in
/// another case, a comment about them on someone else's profile, webhooks with their email and
/// name in URL, header and body to a failing then answering receiver that echoes them, an email
/// and name change, listener calls) is removed through the seed-000 listener: the checker
/// finds no form of any email or name they ever had. Then the same for a plain "Delete user".
async fn erasure_leaves_no_form_of_the_person_anywhere(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let s = common::seed_listener(&app.db, "deleteuser", &[("remove_user", "")], false, 1).await;
    let customers = switchyard::server::store::lookups::team_refs(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "Customers")
        .unwrap()
        .id;
    // A person made up afresh for every run (non-ASCII names, a `+` tag, mixed case), with
    // the seed printed so that a failure can be replayed: SWITCHYARD_TEST_SEED=<seed>.
    let p = Person::random();
    let first_email = p.email.as_str();
    let jorg = users::create(
        &app.db,
        &actor(),
        &UserForm {
            email: first_email.into(),
            first_name: p.first.clone(),
            last_name: p.last.clone(),
            team_ids: vec![customers.to_string()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // An import that names them again, in another case (the report keeps rows as typed).
    imports::import_users_csv(
        &app.db,
        &actor(),
        "crm-export.csv",
        format!(
            "email,first_name,last_name\n{},{},{}\nnew.person@example.com,New,Person\n",
            p.email.to_uppercase(),
            p.first,
            p.last
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // A manager's note about them on someone else's profile.
    let other = app
        .count("SELECT id FROM users WHERE email = 'c0@example.com'")
        .await as i32;
    switchyard::server::engine::writes::comment_on_user(
        &app.db,
        other,
        (None, "Casey Manager".into()),
        &format!(
            "Same household as {} {} ({})",
            p.first,
            p.last,
            p.email.to_lowercase()
        ),
        None,
    )
    .await
    .unwrap();
    // A webhook that carries them everywhere, to a receiver that fails once, then answers
    // with their email in a header and the body.
    let m = user_macro(&app, "sync-crm", &[("adjust_score", "1")]).await;
    hook(&app, &sealer, m, WebhookForm {
        name: "crm".into(),
        method: "POST".into(),
        url: format!("{base}/crm?who=((user.email))&name=((user.first_name))%20((user.last_name))"),
        headers: "X-Who: ((user.email))".into(),
        body: "{\"email\": \"((user.email))\", \"name\": \"((user.first_name)) ((user.last_name))\"}".into(),
        ..Default::default()
    })
    .await;
    receiver.answer(
        503,
        vec![("x-echo", p.email.to_uppercase())],
        &format!("{{\"error\": \"{} is locked\"}}", p.email),
    );
    // The answer names them JSON-escaped (non-ASCII as \uXXXX), as many APIs write.
    let escaped: String = format!("{} {}", p.first, p.last)
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("\\u{:04x}", c as u32)
            }
        })
        .collect();
    receiver.answer(200, vec![], &format!("{{\"ok\": \"{escaped}\"}}"));
    runs::execute(&app.db, &sealer, &actor(), m, jorg, Trigger::Manual)
        .await
        .unwrap();
    drain_until_settled(&app, &outbox, 20).await;
    assert!(receiver.seen().len() >= 2, "the receiver saw the retry");
    // They change their email and name.
    users::update(
        &app.db,
        &actor(),
        &UserForm {
            id: jorg.to_string(),
            email: p.new_email.clone(),
            first_name: p.new_first.clone(),
            last_name: p.last.clone(),
            role: "participant".into(),
            score: "1".into(),
            team_ids: vec![customers.to_string()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let who = erasure::Identity::new(
        vec![first_email.into(), p.new_email.clone()],
        vec![
            format!("{} {}", p.first, p.last),
            format!("{} {}", p.new_first, p.last),
        ],
    );
    assert!(
        left_of(&app, &who).await.len() > 5,
        "before the removal the checker finds them"
    );
    // The removal tells the CRM to erase the same person (every tag that names them), and
    // the CRM fails once with an answer that names them.
    hook(&app, &sealer, s.macro_id, WebhookForm {
        name: "erase in crm".into(),
        method: "POST".into(),
        url: format!("{base}/erase?who=((user.email))&name=((user.first_name))%20((user.last_name))"),
        headers: "X-Who: ((user.email))".into(),
        body: "{\"email\": \"((user.email))\", \"name\": \"((user.first_name)) ((user.last_name))\"}".into(),
        ..Default::default()
    })
    .await;
    receiver.answer(
        503,
        vec![("x-echo", p.new_email.clone()), ("retry-after", "1".into())],
        &format!("{{\"error\": \"{} {} is locked\"}}", p.new_first, p.last),
    );
    // The GDPR request: Jira calls the seed-000 listener with the current email, in its case.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/userMacroListeners/deleteuser"))
        .query(&[
            ("find", p.new_email.to_uppercase().as_str()),
            ("apiKey", &s.api_key),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let answer: serde_json::Value = res.json().await.unwrap();
    let receipt = &answer["receipt"];
    let counted = |kind: &str| {
        receipt["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .map(|c| c["count"].as_u64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(counted("team memberships removed"), 1, "{answer}");
    assert_eq!(counted("earlier emails and names forgotten"), 2, "{answer}");
    assert!(counted("webhook deliveries emptied") >= 1, "{answer}");
    assert_eq!(receipt["downstream"][0]["webhook"], "erase in crm");
    assert_eq!(receipt["downstream"][0]["status"], "queued");
    let text = answer.to_string().to_lowercase();
    assert!(!text.contains(&p.new_email.to_lowercase()), "{answer}");
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "the removal left: {left:#?}");
    // The CRM is told, once it answers, with the person as they were.
    drain_until_settled(&app, &outbox, 20).await;
    let told: Vec<Seen> = receiver
        .seen()
        .into_iter()
        .filter(|s| s.uri.starts_with("/erase"))
        .collect();
    assert_eq!(told.len(), 2, "a failed try, then the retry");
    assert_eq!(
        told[1].headers["x-who"].to_str().unwrap(),
        p.new_email.as_str()
    );
    assert!(
        String::from_utf8(told[1].body.clone())
            .unwrap()
            .contains(&format!("{} {}", p.new_first, p.last))
    );
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "after telling the CRM: {left:#?}");
    // What others wrote stays, without them.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM comments WHERE body = 'Same household as [removed] ([removed])'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'new.person@example.com'")
            .await,
        1,
        "the import's other row is untouched"
    );

    // A plain "Delete user" erases as completely.
    let pat = users::create(
        &app.db,
        &actor(),
        &UserForm {
            email: "Pat.Doe@Example.org".into(),
            first_name: "Pat".into(),
            last_name: "Doe-Ray".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    switchyard::server::engine::writes::comment_on_user(
        &app.db,
        other,
        (None, "Casey Manager".into()),
        "Referred by Pat Doe-Ray, pat.doe@example.org",
        None,
    )
    .await
    .unwrap();
    let pat_who = erasure::Identity::new(
        vec!["pat.doe@example.org".into()],
        vec!["Pat Doe-Ray".into()],
    );
    assert!(!left_of(&app, &pat_who).await.is_empty());
    users::delete(&app.db, &actor(), &pat.to_string(), true)
        .await
        .unwrap();
    let left = left_of(&app, &pat_who).await;
    assert!(left.is_empty(), "Delete user left: {left:#?}");
}

/// The other half of the same promise, for another person made up afresh: what the test above
/// leaves out. They are named by an email macro, a receiver that times out, listeners of every
/// type (user and feedback), a ticket an external source files for them, and a feedback macro
/// that writes their name and email into a comment. After the removal through the seed-000
/// listener the checker finds nothing of them; the ticket stays, no longer theirs.
async fn listeners_sources_tickets_mail_and_timeouts_keep_nothing_either(app: TestApp) {
    use serde_json::{Value, json};
    use switchyard::server::admin::{external_sources, listeners};
    use switchyard::types::{ExternalSourceForm, ListenerForm};
    let (receiver, base) = Receiver::start().await;
    let (sink, port) = SmtpSink::start().await;
    let sealer = Arc::new(Sealer::load_or_create(&app.settings.secret_key_file).unwrap());
    let mut settings = app.settings.clone();
    settings.outgoing_concurrency = 64;
    settings.smtp = Some(SmtpSink::settings(port));
    let outbox = Arc::new(Outbox::new(&settings, sealer.clone()).unwrap());
    let fb = crate::feedback::setup(&app).await;
    let s = common::seed_listener(&app.db, "deleteuser", &[("remove_user", "")], false, 1).await;
    let customers = switchyard::server::store::lookups::team_refs(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "Customers")
        .unwrap()
        .id;
    let p = Person::random();
    let name = format!("{} {}", p.first, p.last);
    let person = users::create(
        &app.db,
        &actor(),
        &UserForm {
            email: p.email.clone(),
            first_name: p.first.clone(),
            last_name: p.last.clone(),
            team_ids: vec![customers.to_string(), fb.testers.clone()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let filter_id = app.count("SELECT MIN(id) FROM filters").await.to_string();
    let listener = |form: ListenerForm| {
        let db = app.db.clone();
        let form = ListenerForm {
            name: format!("{} {}", form.kind, form.key),
            api_key_id: s.api_key_id.to_string(),
            enabled: Some("on".into()),
            ..form
        };
        async move { listeners::save(&db, &actor(), &form).await.unwrap() }
    };
    let post = |path: String, find: String, body: Value| {
        let req = reqwest::Client::new()
            .post(app.url(&format!("/api/v1/{path}")))
            .query(&[("find", find.as_str()), ("apiKey", s.api_key.as_str())])
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };

    // A user macro listener whose macro mails them and calls a receiver that is too slow
    // the first time (the timeout's error is kept), then answers.
    let sync = user_macro(&app, "sync", &[("adjust_score", "1")]).await;
    hook(
        &app,
        &sealer,
        sync,
        WebhookForm {
            name: "slow crm".into(),
            method: "POST".into(),
            url: format!(
                "{base}/slow?who=((user.email))&name=((user.first_name))+((user.last_name))"
            ),
            headers: "X-Who: ((user.email))".into(),
            body: "{\"email\": \"((user.email))\"}".into(),
            ..Default::default()
        },
    )
    .await;
    hook(
        &app,
        &sealer,
        sync,
        WebhookForm {
            kind: "email".into(),
            name: "welcome mail".into(),
            email_subject: "Welcome, ((user.first_name)) ((user.last_name))".into(),
            body: "Hello ((user.first_name)) ((user.last_name)), we wrote down ((user.email))."
                .into(),
            ..Default::default()
        },
    )
    .await;
    listener(ListenerForm {
        key: "sync".into(),
        kind: "macro".into(),
        macro_id: sync.to_string(),
        filter_id: filter_id.clone(),
        ..Default::default()
    })
    .await;
    // A user comment listener and a user data listener that name them.
    listener(ListenerForm {
        key: "notes".into(),
        kind: "comment".into(),
        filter_id: filter_id.clone(),
        author_field: "author".into(),
        comment_field: "comment".into(),
        ..Default::default()
    })
    .await;
    let (user_data, _) = user_group(&app, "CRM", &[("Contact", "contact", "string")]).await;
    listener(ListenerForm {
        key: "crm".into(),
        kind: "data".into(),
        filter_id: filter_id.clone(),
        data_group_id: user_data.to_string(),
        ..Default::default()
    })
    .await;
    // An external source that files a ticket for them, and the feedback listeners of every
    // type on that ticket.
    external_sources::save(
        &app.db,
        &actor(),
        &ExternalSourceForm {
            project_id: fb.project_id.clone(),
            feedback_type_id: fb.type_id.clone(),
            name: "Salesforce".into(),
            key: "salesforce".into(),
            api_key_id: s.api_key_id.to_string(),
            team_id: fb.testers.clone(),
            submitter: common::ADMIN_EMAIL.into(),
            submitter_param: "ContactEmail".into(),
            mapping: "Subject = title\nDetails = description\nPriority__c = severity".into(),
            enabled: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (ticket_data, _) = crate::feedback::jira_group(&app).await;
    let escalate = crate::feedback::feedback_macro(
        &app,
        "escalate",
        &[(
            "add_ticket_comment",
            "Escalated for ((user.first_name)) ((user.last_name)) <((user.email))>",
        )],
        Default::default(),
    )
    .await;
    for form in [
        ListenerForm {
            key: "fb-macro".into(),
            kind: "macro".into(),
            macro_id: escalate.to_string(),
            ..Default::default()
        },
        ListenerForm {
            key: "fb-notes".into(),
            kind: "comment".into(),
            author_field: "author".into(),
            comment_field: "comment".into(),
            ..Default::default()
        },
        ListenerForm {
            key: "fb-data".into(),
            kind: "data".into(),
            data_group_id: ticket_data.to_string(),
            ..Default::default()
        },
    ] {
        listener(ListenerForm {
            scope: "feedback".into(),
            ..form
        })
        .await;
    }

    // The calls, as the other systems make them.
    let filed = reqwest::Client::new()
        .post(app.url("/api/v1/externalSources/salesforce"))
        .header("X-Api-Key", &s.api_key)
        .json(&json!({
            "Subject": format!("Crash seen by {name}"),
            "Details": format!("Reported on the phone by {} ({name})", p.email.to_lowercase()),
            "Priority__c": "high",
            "ContactEmail": p.email.to_uppercase(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    let ticket = filed.json::<Value>().await.unwrap()["ticket_id"]
        .as_str()
        .unwrap()
        .to_string();
    receiver.slow_down(Duration::from_secs(6));
    for (path, find, body) in [
        ("userMacroListeners/sync", p.email.clone(), json!({})),
        (
            "userCommentListeners/notes",
            p.email.to_uppercase(),
            json!({ "author": common::ADMIN_EMAIL, "comment": format!("Spoke to {name} <{}>", p.email) }),
        ),
        (
            "userDataListeners/crm",
            p.email.clone(),
            json!({ "contact": format!("{name} <{}>", p.email.to_lowercase()) }),
        ),
        ("feedbackMacroListeners/fb-macro", ticket.clone(), json!({})),
        (
            "feedbackCommentListeners/fb-notes",
            ticket.clone(),
            json!({ "author": common::ADMIN_EMAIL, "comment": format!("{name} called again: {}", p.email) }),
        ),
        (
            "feedbackDataListeners/fb-data",
            ticket.clone(),
            json!({ "issueKey": p.email.to_lowercase() }),
        ),
    ] {
        let (status, answer) = post(path.to_string(), find, body).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
    // The slow receiver times out once, then answers; the mail goes out.
    drain(&app, &outbox).await;
    let timed_out = deliveries(&app)
        .await
        .into_iter()
        .find(|d| d.webhook_name == "slow crm")
        .unwrap();
    assert_eq!(timed_out.status, "queued", "a timeout is retried");
    assert!(
        timed_out
            .last_error
            .clone()
            .unwrap_or_default()
            .contains("timed out"),
        "{:?}",
        timed_out.last_error
    );
    receiver.slow_down(Duration::ZERO);
    drain_until_settled(&app, &outbox, 20).await;
    assert!(
        receiver
            .seen()
            .iter()
            .filter(|s| s.uri.starts_with("/slow"))
            .count()
            >= 2,
        "timed out, then tried again"
    );
    assert!(
        deliveries(&app)
            .await
            .iter()
            .all(|d| d.status == DeliveryStatus::Succeeded),
        "the slow receiver and the mail were reached in the end"
    );
    let mails = sink.messages.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].1, vec![format!("<{}>", p.email.to_lowercase())]);

    let who = erasure::Identity::new(vec![p.email.clone()], vec![name.clone()]);
    let before: std::collections::BTreeSet<String> = erasure::check(&app.db, &who)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.table)
        .collect();
    for table in [
        "comments",
        "data_values",
        "tickets",
        "ticket_comments",
        "webhook_deliveries",
        "webhook_attempts",
        "listener_calls",
    ] {
        assert!(
            before.contains(table),
            "{table} should name them: {before:?}"
        );
    }

    // A webhook about their ticket is on its way to a slow receiver that will echo them when
    // the removal comes: it is about the ticket, not them, so it is not cancelled, and what
    // the exchange carried is not kept.
    let notify = crate::feedback::feedback_macro(
        &app,
        "notify",
        &[("set_status", "Triaged")],
        Default::default(),
    )
    .await;
    hook(
        &app,
        &sealer,
        notify,
        WebhookForm {
            name: "tell jira".into(),
            method: "POST".into(),
            url: format!("{base}/slow-jira?reporter=((user.email))"),
            headers: "X-Reporter: ((user.first_name)) ((user.last_name))".into(),
            body: "{\"reporter\": \"((user.email))\"}".into(),
            ..Default::default()
        },
    )
    .await;
    runs::execute_on_ticket(
        &app.db,
        &actor(),
        notify,
        ticket.parse().unwrap(),
        Trigger::Manual,
    )
    .await
    .unwrap();
    receiver.slow_down(Duration::from_secs(2));
    receiver.answer(
        200,
        vec![("x-echo", p.email.clone())],
        &format!("{{\"reporter\": \"{}\", \"name\": \"{name}\"}}", p.email),
    );
    let sending = {
        let (db, outbox) = (app.db.clone(), outbox.clone());
        tokio::spawn(async move { delivery::try_deliver_due(&db, &outbox, "racing").await })
    };
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !receiver
        .seen()
        .iter()
        .any(|s| s.uri.starts_with("/slow-jira"))
    {
        assert!(
            std::time::Instant::now() < until,
            "the webhook was never sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The GDPR request, while that request waits for its answer.
    let (status, answer) = post(
        "userMacroListeners/deleteuser".into(),
        p.email.to_lowercase(),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(sending.await.unwrap().unwrap(), 1);
    receiver.slow_down(Duration::ZERO);
    let told = deliveries(&app)
        .await
        .into_iter()
        .find(|d| d.webhook_name == "tell jira")
        .unwrap();
    assert_eq!(
        told.status,
        DeliveryStatus::Succeeded,
        "the answer still counts"
    );
    let tries = attempts_of(&app, told.id).await;
    assert_eq!(tries.len(), 1);
    assert_eq!(
        tries[0].response_body,
        delivery::SEALED_ANSWER,
        "nothing of the echo is kept"
    );
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "the removal left: {left:#?}");
    // The ticket is the project's still, with what is not about them.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM tickets WHERE id = {ticket} AND title = 'Crash seen by [removed]' \
             AND author_user_id IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM users WHERE id = {person}"))
            .await,
        0
    );
}

async fn the_address_check_refuses_loopback_without_the_allow_list(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let fay = member(&app, "fay@example.com", "Fay", "Ro").await;
    let m = user_macro(&app, "ssrf", &[("adjust_score", "1")]).await;
    let port = base.rsplit(':').next().unwrap().to_string();
    for (name, url) in [
        ("by address", format!("{base}/x")),
        ("by name", format!("http://localhost:{port}/x")),
    ] {
        hook(
            &app,
            &sealer,
            m,
            WebhookForm {
                name: name.into(),
                method: "POST".into(),
                url,
                body: "{}".into(),
                ..Default::default()
            },
        )
        .await;
    }
    runs::execute(&app.db, &sealer, &actor(), m, fay, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let ds = deliveries(&app).await;
    assert_eq!(ds.len(), 2);
    for d in ds {
        assert_eq!(d.status, "failed", "{}", d.webhook_name);
        assert_eq!(d.attempts, 1, "refusals are not retried");
        let e = d.last_error.unwrap();
        assert!(
            e.contains("refused") && e.contains("loopback"),
            "{}: {e}",
            d.webhook_name
        );
    }
    assert!(
        receiver.seen().is_empty(),
        "a refused request reached the receiver"
    );
}

async fn timeouts_retry_big_answers_are_cut_and_a_host_gets_its_rate(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, _) = outbox_for(&app);
    // 2 requests per second to one host, in bursts of 2.
    let mut settings = app.settings.clone();
    settings.outgoing_host_rate_per_second = 2;
    settings.outgoing_host_rate_burst = 2;
    settings.outgoing_timeout = Duration::from_secs(1);
    let outbox = Arc::new(Outbox::new(&settings, sealer.clone()).unwrap());
    let gus = member(&app, "gus@example.com", "Gus", "Ho").await;
    let m = user_macro(&app, "edge", &[("adjust_score", "1")]).await;
    let slow = hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "slow".into(),
            method: "POST".into(),
            url: format!("{base}/slow"),
            body: "{}".into(),
            ..Default::default()
        },
    )
    .await;
    receiver.slow_down(Duration::from_millis(1500));
    runs::execute(&app.db, &sealer, &actor(), m, gus, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let d = deliveries(&app).await.pop().unwrap();
    assert_eq!(
        (d.status.as_str(), d.last_status),
        ("queued", None),
        "a timeout retries"
    );
    let a = attempts_of(&app, d.id).await;
    assert!(
        a[0].error.clone().unwrap().contains("timed out"),
        "{:?}",
        a[0].error
    );
    assert!(
        a[0].duration_ms < 1400,
        "the timeout cut it short: {} ms",
        a[0].duration_ms
    );
    receiver.slow_down(Duration::ZERO);
    drain_until_settled(&app, &outbox, 10).await;
    assert_eq!(
        webhook_delivery::Entity::find_by_id(d.id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .status,
        "succeeded"
    );
    webhooks::delete(&app.db, &actor(), &slow.to_string(), true)
        .await
        .unwrap();

    // An answer past 64 KiB is kept up to 64 KiB, and says so.
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "big".into(),
            method: "POST".into(),
            url: format!("{base}/big"),
            body: "{}".into(),
            ..Default::default()
        },
    )
    .await;
    // Compressed on the wire (about 100 bytes), cut after decompression.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, "x".repeat(100_000).as_bytes()).unwrap();
    receiver.answer_bytes(
        200,
        vec![("content-encoding", "gzip".into())],
        gz.finish().unwrap(),
    );
    for _ in 0..4 {
        receiver.answer(200, vec![], "ok");
    }
    // Five runs: five deliveries to one host, two at once, the rest when the rate allows.
    let started = std::time::Instant::now();
    for _ in 0..5 {
        runs::execute(&app.db, &sealer, &actor(), m, gus, Trigger::Manual)
            .await
            .unwrap();
    }
    drain_until_settled(&app, &outbox, 20).await;
    let elapsed = started.elapsed();
    let big: Vec<webhook_delivery::Model> = deliveries(&app)
        .await
        .into_iter()
        .filter(|d| d.webhook_name == "big")
        .collect();
    assert_eq!(big.len(), 5);
    assert!(
        big.iter()
            .all(|d| d.status == "succeeded" && d.attempts == 1),
        "{big:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(1200),
        "five requests at 2 per second after a burst of 2 take over a second, not {elapsed:?}"
    );
    let mut answers = Vec::new();
    for d in &big {
        answers.extend(attempts_of(&app, d.id).await);
    }
    // Which of the first two got the big answer depends on which arrived first.
    let first = answers
        .into_iter()
        .find(|a| a.response_body.len() > 1000)
        .expect("one answer was the big one");
    assert!(first.response_body.starts_with(&"x".repeat(65_536)));
    assert!(
        first.response_body.ends_with("[cut at 64 KiB]"),
        "{}",
        &first.response_body[65_530..]
    );
    assert_eq!(
        first.response_body.len(),
        65_536 + "\n[cut at 64 KiB]".len()
    );
}

/// A small SMTP server on 127.0.0.1:0 that keeps every message it accepts and refuses (550)
/// recipients at bounce.example.com.
#[derive(Clone, Default)]
struct SmtpSink {
    /// (sender, recipients, message) of each message accepted.
    messages: Arc<Mutex<Vec<Mail>>>,
}

type Mail = (String, Vec<String>, String);

impl SmtpSink {
    /// The SMTP settings that send to the sink on `port`.
    fn settings(port: u16) -> switchyard::server::settings::Smtp {
        switchyard::server::settings::Smtp {
            host: "127.0.0.1".into(),
            port,
            security: "none".into(),
            username: String::new(),
            password: switchyard::server::settings::Secret::new(String::new()),
            from: "Beta Team <beta@example.com>".into(),
        }
    }

    async fn start() -> (SmtpSink, u16) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let sink = SmtpSink::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let kept = sink.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                    let (mut from, mut to) = (String::new(), Vec::new());
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-sink.test\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            from = line[10..].trim().to_string();
                            b"250 OK\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            if upper.contains("@BOUNCE.EXAMPLE.COM") {
                                b"550 no such mailbox\r\n"
                            } else {
                                to.push(line[8..].trim().to_string());
                                b"250 OK\r\n"
                            }
                        } else if upper == "DATA" {
                            write.write_all(b"354 go ahead\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            kept.messages.lock().unwrap().push((
                                from.clone(),
                                std::mem::take(&mut to),
                                data,
                            ));
                            b"250 queued as 1\r\n"
                        } else if upper == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (sink, port)
    }
}

async fn emails_reach_a_real_smtp_server_through_the_same_queue(app: TestApp) {
    let (sink, port) = SmtpSink::start().await;
    let sealer = Arc::new(Sealer::load_or_create(&app.settings.secret_key_file).unwrap());
    let mut settings = app.settings.clone();
    settings.smtp = Some(SmtpSink::settings(port));
    let outbox = Arc::new(Outbox::new(&settings, sealer.clone()).unwrap());
    let zoe = member(&app, "zoe@example.com", "Zoë", "Ward").await;
    let m = user_macro(&app, "mail", &[("adjust_score", "3")]).await;
    let form = |name: &str, to: &str| WebhookForm {
        kind: "email".into(),
        name: name.into(),
        email_to: to.into(),
        email_subject: "Hi ((user.first_name)), news from ((community.name))".into(),
        body: "Hello ((user.first_name)),\nyour score is now ((user.score)).".into(),
        ..Default::default()
    };
    hook(&app, &sealer, m, form("to the user", "")).await;
    hook(&app, &sealer, m, form("to the team", "team@example.com")).await;
    hook(
        &app,
        &sealer,
        m,
        form("bounces", "nobody@bounce.example.com"),
    )
    .await;
    runs::execute(&app.db, &sealer, &actor(), m, zoe, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let messages = sink.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let to_user = messages
        .iter()
        .find(|(_, to, _)| to == &vec!["<zoe@example.com>".to_string()])
        .unwrap();
    assert_eq!(to_user.0, "<beta@example.com>");
    let data = &to_user.2;
    assert!(data.contains("To: zoe@example.com"), "{data}");
    assert!(
        data.contains("From: \"Beta Team\" <beta@example.com>"),
        "{data}"
    );
    // Non-ASCII travels encoded: the subject's word as RFC 2047 base64 ("Zoë,"), the text as
    // quoted-printable UTF-8; the text has the score the action left.
    let zoe_b64 = base64::engine::general_purpose::STANDARD.encode("Zoë,");
    assert!(
        data.contains(&format!(
            "Subject: Hi =?utf-8?b?{zoe_b64}?= news from My Community"
        )),
        "{data}"
    );
    assert!(data.contains("Hello Zo=C3=AB,"), "{data}");
    assert!(data.contains("your score is now 10."), "{data}");
    assert!(
        messages
            .iter()
            .any(|(_, to, _)| to == &vec!["<team@example.com>".to_string()])
    );
    let ds = deliveries(&app).await;
    let status = |name: &str| {
        let d = ds.iter().find(|d| d.webhook_name == name).unwrap();
        (d.status, d.last_status, d.method.clone())
    };
    assert_eq!(
        status("to the user"),
        (DeliveryStatus::Succeeded, Some(250), "EMAIL".into())
    );
    assert_eq!(status("to the team").0, "succeeded");
    let bounced = ds.iter().find(|d| d.webhook_name == "bounces").unwrap();
    assert_eq!(
        (bounced.status.as_str(), bounced.attempts),
        ("failed", 1),
        "a 550 is final"
    );
    assert!(
        bounced.last_error.clone().unwrap().contains("refused"),
        "{:?}",
        bounced.last_error
    );
    // The log shows the email like any request.
    let detail = webhooks::delivery(&app.db, &actor(), ds[0].id)
        .await
        .unwrap();
    assert_eq!(detail.request.url, "mailto:zoe@example.com");
    assert_eq!(detail.request.headers[0].0, "Subject");
    assert!(detail.request.headers[0].1.starts_with("Hi Zoë, news from"));

    // A removal confirms it to the person by email: addressed and written before the
    // erasure, sealed while queued, erased once the SMTP server took it.
    let remove = user_macro(&app, "forget", &[("remove_user", "")]).await;
    hook(
        &app,
        &sealer,
        remove,
        WebhookForm {
            kind: "email".into(),
            name: "confirm removal".into(),
            email_subject: "((user.first_name)), your data is erased".into(),
            body: "Dear ((user.first_name)) ((user.last_name)), we erased ((user.email)).".into(),
            ..Default::default()
        },
    )
    .await;
    runs::execute(&app.db, &sealer, &actor(), remove, zoe, Trigger::Manual)
        .await
        .unwrap();
    let who = erasure::Identity::new(vec!["zoe@example.com".into()], vec!["Zoë Ward".into()]);
    let queued = deliveries(&app).await.pop().unwrap();
    assert!(queued.sealed);
    assert_eq!(queued.url, "mailto:[sealed]");
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "while queued: {left:#?}");
    drain(&app, &outbox).await;
    let messages = sink.messages.lock().unwrap().clone();
    let confirm = messages.last().unwrap();
    assert_eq!(confirm.1, vec!["<zoe@example.com>".to_string()]);
    assert!(
        confirm.2.contains("erased zoe@example.com"),
        "{}",
        confirm.2
    );
    let sent = webhook_delivery::Entity::find_by_id(queued.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, "succeeded");
    assert!(sent.body.is_empty() && sent.erased_at.is_some());
    let left = left_of(&app, &who).await;
    assert!(left.is_empty(), "after it was sent: {left:#?}");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = {} AND request_headers LIKE '%Zo%'",
            queued.id
        ))
        .await,
        0,
        "the subject sent named her by first name: cut from what the log keeps"
    );
}

/// Runs each scenario on SQLite and PostgreSQL, with 127.0.0.1 allow-listed (or not), a
/// short retry schedule, and the background sender off (the tests drain the queue).
/// The macro editor's *Trigger webhooks* box: a webhook filled in beside a new macro is saved
/// with it through the editor's own server function, all or nothing; runs send it while the
/// box is ticked and keep it unsent (not deleted) while it is not; an edit may add another or
/// leave the fields empty.
async fn the_macro_editor_saves_its_webhook_with_it_and_the_box_decides_sending(app: TestApp) {
    use switchyard::server_fns::macros::SaveMacro;
    app.sign_in().await;
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let kim = member(&app, "kim@example.com", "Kim", "Lee").await;
    let url = format!("{base}/slack");
    let new_macro = |key: &'static str, url: String| {
        vec![
            ("form[name]", "Escalate".to_string()),
            ("form[key]", key.to_string()),
            ("form[scope]", "user".into()),
            ("form[actions][0][slot]", "0".into()),
            ("form[actions][0][kind]", "adjust_score".into()),
            ("form[actions][0][value]", "1".into()),
            ("form[trigger_webhooks]", "on".into()),
            ("form[webhook][name]", "Tell Slack".into()),
            ("form[webhook][method]", "POST".into()),
            ("form[webhook][content_type]", "json".into()),
            ("form[webhook][url]", url),
            (
                "form[webhook][body]",
                "{\"text\": \"((user.first_name)) escalated\"}".into(),
            ),
        ]
    };
    let pairs = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };
    let send = |v: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let borrowed: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call::<SaveMacro>(&borrowed).await
        }
    };
    // A bad address in the webhook fields: the error names the webhook's field, and neither
    // the macro nor the webhook is written.
    let res = send(new_macro("escalate", "ftp://example.com/x".into())).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("webhook.url"), "{body}");
    assert_eq!(app.count("SELECT COUNT(*) FROM macros").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
    // Ticked with empty fields on a new macro: the webhook's name and URL are asked for.
    let mut blank = new_macro("escalate", String::new());
    blank.retain(|(k, _)| !k.starts_with("form[webhook]"));
    let res = send(blank).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("webhook.name") && body.contains("webhook.url"),
        "{body}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM macros").await, 0);
    // Filled in: both saved, in one go.
    let res = send(new_macro("escalate", url.clone())).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let m = app
        .count("SELECT id FROM macros WHERE key = 'escalate'")
        .await as i32;
    let hooks = webhooks::list_for_macro(&app.db, m).await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        (hooks[0].name.as_str(), hooks[0].url.as_str()),
        ("Tell Slack", url.as_str())
    );
    let view = macros::get(&app.db, m).await.unwrap();
    assert!(view.trigger_webhooks);
    assert_eq!(view.webhook_count, 1);
    assert_eq!(view.steps.last().unwrap(), "Send webhook Tell Slack");
    receiver.answer(200, vec![], "{}");
    runs::execute(&app.db, &sealer, &actor(), m, kim, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&seen[0].body),
        "{\"text\": \"Kim escalated\"}"
    );
    // Edited with the box unticked: kept, not sent, and the macro says so.
    let mut edit = new_macro("escalate", String::new());
    edit.retain(|(k, _)| !k.starts_with("form[webhook]") && *k != "form[trigger_webhooks]");
    edit.push(("form[id]", m.to_string()));
    let res = send(pairs(&edit)).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let view = macros::get(&app.db, m).await.unwrap();
    assert!(!view.trigger_webhooks);
    assert_eq!(view.webhook_count, 1);
    assert!(
        view.steps.last().unwrap().contains("not sent"),
        "{:?}",
        view.steps
    );
    runs::execute(&app.db, &sealer, &actor(), m, kim, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    assert_eq!(receiver.seen().len(), 1, "nothing sent while unticked");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_deliveries").await,
        1
    );
    // Ticked again with empty fields: nothing added, and runs send again.
    edit.push(("form[trigger_webhooks]", "on".into()));
    let res = send(pairs(&edit)).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    assert_eq!(webhooks::list_for_macro(&app.db, m).await.unwrap().len(), 1);
    runs::execute(&app.db, &sealer, &actor(), m, kim, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    assert_eq!(receiver.seen().len(), 2);
    // And one more webhook added from the same form.
    edit.extend([
        ("form[webhook][name]", "Tell Jira".to_string()),
        ("form[webhook][method]", "PUT".into()),
        ("form[webhook][url]", format!("{base}/jira")),
    ]);
    let res = send(pairs(&edit)).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let names: Vec<String> = webhooks::list_for_macro(&app.db, m)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["Tell Slack", "Tell Jira"]);
}

/// *Capture return values* is a box; choosing "Create a new group" makes the group with its
/// fields in the same save as the webhook, all or nothing, on the webhook page and inside the
/// macro editor. The answer's values then land in the new group.
async fn capture_return_values_creates_its_group_in_place(app: TestApp) {
    use switchyard::server_fns::macros::SaveMacro;
    use switchyard::server_fns::webhooks::SaveWebhook;
    app.sign_in().await;
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let ada = member(&app, "ada@example.com", "Ada", "King").await;
    let m = user_macro(&app, "check-address", &[("adjust_score", "1")]).await;
    let url = format!("{base}/validate");
    let form = |rows: &[(&'static str, &'static str)]| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            ("form[macro_id]", m.to_string()),
            ("form[name]", "Validate address".into()),
            ("form[method]", "POST".into()),
            ("form[content_type]", "json".into()),
            ("form[url]", url.clone()),
            ("form[body]", "{\"email\": \"((user.email))\"}".into()),
            ("form[capture]", "on".into()),
            ("form[capture_group_id]", "new".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        v.extend(rows.iter().map(|(k, val)| (k.to_string(), val.to_string())));
        v
    };
    let call = |pairs: Vec<(String, String)>| {
        let app = &app;
        async move {
            let borrowed: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.call::<SaveWebhook>(&borrowed).await
        }
    };
    let row = |i: usize, label: &'static str, parameter: &'static str, favorite: bool| {
        let mut r = vec![
            (format!("form[new_group][fields][{i}][slot]"), i.to_string()),
            (
                format!("form[new_group][fields][{i}][label]"),
                label.to_string(),
            ),
            (
                format!("form[new_group][fields][{i}][parameter]"),
                parameter.to_string(),
            ),
            (
                format!("form[new_group][fields][{i}][kind]"),
                "string".to_string(),
            ),
        ];
        if favorite {
            r.push((
                format!("form[new_group][fields][{i}][favorite]"),
                "on".into(),
            ));
        }
        r
    };
    // A bad field row: the error names it, and neither the group nor the webhook is written.
    let mut bad = form(&[("form[new_group][name]", "Address check")]);
    bad.extend(row(0, "Zip", "result.zip", true));
    bad.extend(row(1, "Street", "not a path!", false));
    let res = call(bad).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("new_group.fields.1.parameter"), "{body}");
    // No name for the group, or no group chosen at all: refused too.
    let mut nameless = form(&[]);
    nameless.extend(row(0, "Zip", "result.zip", true));
    let body = call(nameless).await.text().await.unwrap();
    assert!(body.contains("new_group.name"), "{body}");
    let mut unchosen = form(&[]);
    unchosen.retain(|(k, _)| k != "form[capture_group_id]");
    let body = call(unchosen).await.text().await.unwrap();
    assert!(body.contains("capture_group_id"), "{body}");
    assert_eq!(app.count("SELECT COUNT(*) FROM data_groups").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
    // Right: one save makes both.
    let mut good = form(&[("form[new_group][name]", "Address check")]);
    good.extend(row(0, "Zip", "result.zip", true));
    let res = call(good).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let group = app
        .count("SELECT id FROM data_groups WHERE name = 'Address check' AND scope = 'user'")
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM data_fields WHERE group_id = {group} AND parameter = 'result.zip'"
        ))
        .await,
        1
    );
    let hooks = webhooks::list_for_macro(&app.db, m).await.unwrap();
    assert_eq!(
        hooks[0].capture_group.as_ref().map(|(id, _)| *id as i64),
        Some(group)
    );
    // The answer's value lands in the new group.
    receiver.answer(200, vec![], "{\"result\": {\"zip\": \"94107\"}}");
    runs::execute(&app.db, &sealer, &actor(), m, ada, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM data_values WHERE user_id = {ada} AND value_string = '94107'"
        ))
        .await,
        1
    );
    // Unticking the box stops capturing (the group stays).
    let hook = hooks[0].id.to_string();
    let mut off = form(&[]);
    off.retain(|(k, _)| !k.starts_with("form[capture"));
    off.push(("form[id]".into(), hook));
    let res = call(off).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(
        webhooks::list_for_macro(&app.db, m).await.unwrap()[0]
            .capture_group
            .is_none()
    );
    // Inside the macro editor, the same fields are nested under the webhook.
    let pairs: Vec<(&str, &str)> = vec![
        ("form[name]", "Ask Jira"),
        ("form[key]", "ask-jira"),
        ("form[scope]", "user"),
        ("form[actions][0][slot]", "0"),
        ("form[actions][0][kind]", "adjust_score"),
        ("form[actions][0][value]", "1"),
        ("form[trigger_webhooks]", "on"),
        ("form[webhook][name]", "Jira lookup"),
        ("form[webhook][method]", "POST"),
        ("form[webhook][url]", &url),
        ("form[webhook][capture]", "on"),
        ("form[webhook][capture_group_id]", "new"),
        ("form[webhook][new_group][fields][0][slot]", "0"),
        ("form[webhook][new_group][fields][0][label]", "Issue"),
        (
            "form[webhook][new_group][fields][0][parameter]",
            "issue.key",
        ),
        ("form[webhook][new_group][fields][0][kind]", "string"),
    ];
    let res = app.call::<SaveMacro>(&pairs).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("webhook.new_group.name"), "{body}");
    let mut named = pairs.clone();
    named.push(("form[webhook][new_group][name]", "Jira"));
    let res = app.call::<SaveMacro>(&named).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhooks WHERE capture_group_id = (SELECT id FROM data_groups WHERE name = 'Jira')")
            .await,
        1
    );
}

/// Seeds 001/003: a user macro's webhook captures into a project group on the project chosen
/// on the webhook; without one it is refused at save, naming the field.
async fn a_user_capture_stores_on_the_webhook_s_project(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let ed = member(&app, "ed@example.com", "Ed", "Oak").await;
    let project = switchyard::server::admin::projects::save(
        &app.db,
        &actor(),
        &switchyard::types::ProjectForm {
            name: "Beta One".into(),
            key: "beta-one".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let group = external_data::create_group(
        &app.db,
        &actor(),
        &NewDataGroupForm {
            scope: "project".into(),
            name: "Build".into(),
        },
    )
    .await
    .unwrap();
    external_data::save_group(
        &app.db,
        &actor(),
        &DataGroupForm {
            id: group.to_string(),
            name: "Build".into(),
            fields: vec![DataFieldForm {
                slot: "0".into(),
                label: "Latest build".into(),
                parameter: "build.number".into(),
                kind: "integer".into(),
                favorite: Some("on".into()),
            }],
        },
    )
    .await
    .unwrap();
    let m = user_macro(&app, "build", &[("adjust_score", "1")]).await;
    let form = WebhookForm {
        macro_id: m.to_string(),
        name: "latest build".into(),
        method: "POST".into(),
        url: format!("{base}/build"),
        body: "{}".into(),
        capture: Some("on".into()),
        capture_group_id: group.to_string(),
        ..Default::default()
    };
    for chosen in ["", "999999"] {
        let err = webhooks::save(
            &app.db,
            &sealer,
            &actor(),
            &WebhookForm {
                capture_project_id: chosen.into(),
                ..form.clone()
            },
        )
        .await
        .unwrap_err();
        assert!(
            err.field_message("capture_project_id").is_some(),
            "{chosen:?}: {err:?}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
    hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            capture_project_id: project.to_string(),
            ..form
        },
    )
    .await;
    receiver.answer(
        200,
        vec![("content-type", "application/json".into())],
        r#"{"build": {"number": 4711}}"#,
    );
    runs::execute(&app.db, &sealer, &actor(), m, ed, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    let values = external_values::values_for(&app.db, Subject::Project(project))
        .await
        .unwrap();
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(
        (values[0].label.as_str(), values[0].value.as_str()),
        ("Latest build", "4711")
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM data_values WHERE user_id = {ed}"
        ))
        .await,
        0
    );
    // The answer came from a call about Ed: it is the project's value, and it goes with Ed.
    switchyard::server::admin::users::delete(&app.db, &actor(), &ed.to_string(), true)
        .await
        .unwrap();
    assert!(
        external_values::values_for(&app.db, Subject::Project(project))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Pause and resume (issue 20): while a webhook is paused its deliveries wait, queued, and
/// none is sent; resumed, they are due in the order they were made, and all go out.
async fn a_paused_webhook_holds_its_deliveries_then_sends_them_in_order(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let m = user_macro(&app, "paused", &[("adjust_score", "1")]).await;
    let id = hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "held".into(),
            method: "POST".into(),
            url: format!("{base}/held"),
            body: "{\"email\": \"((user.email))\"}".into(),
            ..Default::default()
        },
    )
    .await;
    let first = member(&app, "first@example.com", "Ada", "One").await;
    let second = member(&app, "second@example.com", "Bea", "Two").await;
    // One queued before the pause, one made while paused.
    runs::execute(&app.db, &sealer, &actor(), m, first, Trigger::Manual)
        .await
        .unwrap();
    webhooks::set_paused(&app.db, &actor(), id, true)
        .await
        .unwrap();
    runs::execute(&app.db, &sealer, &actor(), m, second, Trigger::Manual)
        .await
        .unwrap();
    drain(&app, &outbox).await;
    assert!(receiver.seen().is_empty(), "nothing is sent while paused");
    let held = deliveries(&app).await;
    assert_eq!(held.len(), 2);
    assert!(
        held.iter().all(|d| d.status == "queued" && d.attempts == 0),
        "{held:?}"
    );
    let log = webhooks::delivery(&app.db, &actor(), held[1].id)
        .await
        .unwrap();
    assert_eq!(
        log.delivery.next_attempt_at.as_deref(),
        Some("when its webhook is resumed (paused)")
    );
    webhooks::set_paused(&app.db, &actor(), id, false)
        .await
        .unwrap();
    // Due again from when each was made: the workers take the oldest first (a batch is sent
    // side by side, so the receiver may see them in either order).
    let due = deliveries(&app).await;
    assert!(due[0].next_attempt_at <= due[1].next_attempt_at);
    assert!(due[1].next_attempt_at <= chrono::Utc::now());
    drain(&app, &outbox).await;
    let mut bodies: Vec<String> = receiver
        .seen()
        .iter()
        .map(|s| String::from_utf8_lossy(&s.body).into_owned())
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [
            "{\"email\": \"first@example.com\"}",
            "{\"email\": \"second@example.com\"}"
        ]
    );
    assert!(
        deliveries(&app)
            .await
            .iter()
            .all(|d| d.status == "succeeded")
    );
}

/// A failing endpoint is noticed: after `warn_after_failures` failed attempts in a row the
/// managers are warned (a dashboard alert, an email through a real SMTP server); after
/// `pause_after_failures` (here over no minimum time) the webhook is paused, its deliveries kept
/// waiting; a resume resolves the alerts and sends them.
async fn a_failing_endpoint_warns_then_pauses_and_managers_are_emailed(app: TestApp) {
    app.sign_in().await;
    let (receiver, base) = Receiver::start().await;
    let (sink, port) = SmtpSink::start().await;
    let sealer = Arc::new(Sealer::load_or_create(&app.settings.secret_key_file).unwrap());
    let mut settings = app.settings.clone();
    settings.outgoing_concurrency = 64;
    settings.smtp = Some(SmtpSink::settings(port));
    settings.outgoing_warn_after_failures = 2;
    settings.outgoing_pause_after_failures = 4;
    settings.outgoing_pause_after = Duration::ZERO;
    settings.outgoing_retry_schedule = vec![Duration::ZERO, Duration::ZERO, Duration::ZERO];
    let outbox = Arc::new(Outbox::new(&settings, sealer.clone()).unwrap());
    let m = user_macro(&app, "failing", &[("adjust_score", "1")]).await;
    let id = hook(
        &app,
        &sealer,
        m,
        WebhookForm {
            name: "Escalations".into(),
            method: "POST".into(),
            url: format!("{base}/down"),
            body: "{\"email\": \"((user.email))\"}".into(),
            ..Default::default()
        },
    )
    .await;
    for _ in 0..4 {
        receiver.answer(503, Vec::new(), "down");
    }
    let a = member(&app, "a@example.com", "Ada", "One").await;
    let b = member(&app, "b@example.com", "Bea", "Two").await;
    for who in [a, b] {
        runs::execute(&app.db, &sealer, &actor(), m, who, Trigger::Manual)
            .await
            .unwrap();
    }
    // Attempts fail two at a time: a warning at 2, the pause at 4; the alert emails go out.
    drain(&app, &outbox).await;
    let w = webhook::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(w.paused, "paused after the streak");
    assert!(
        w.paused_reason.contains("4 failed attempts in a row"),
        "{}",
        w.paused_reason
    );
    assert_eq!(w.failure_streak, 4);
    assert_eq!(
        receiver.seen().len(),
        4,
        "nothing more is sent while paused"
    );
    // Its deliveries are kept, waiting for the resume.
    let mine: Vec<webhook_delivery::Model> = deliveries(&app)
        .await
        .into_iter()
        .filter(|d| d.webhook_id == Some(id))
        .collect();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|d| d.status == "queued"), "{mine:?}");
    // The dashboard shows both alerts.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM alerts WHERE webhook_id = {id} AND resolved_at IS NULL \
             AND kind IN ('webhook_failing', 'webhook_paused')"
        ))
        .await,
        2
    );
    let dash = app.get("/").await.text().await.unwrap();
    assert!(dash.contains("Needs attention"), "{dash}");
    assert!(
        dash.contains(
            "The webhook &quot;Escalations&quot; was paused after 4 failed attempts in a row"
        ) || dash
            .contains("The webhook \"Escalations\" was paused after 4 failed attempts in a row"),
        "{dash}"
    );
    assert!(dash.contains(&format!("href=\"/webhooks/{id}\"")));
    // The community manager got both by email, through the SMTP server.
    let mails = sink.messages.lock().unwrap().clone();
    let subjects: Vec<bool> = [
        "Subject: Webhook failing: Escalations",
        "Subject: Webhook paused: Escalations",
    ]
    .iter()
    .map(|subject| {
        mails.iter().any(|(_, to, data)| {
            to == &vec![format!("<{}>", common::ADMIN_EMAIL)] && data.contains(subject)
        })
    })
    .collect();
    assert_eq!(subjects, [true, true], "{mails:?}");
    let page = app
        .get(&format!("/webhooks/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Paused by Switchyard after 4 failed attempts"),
        "the page says why"
    );
    // A manager may dismiss the warning; the pause's alert stays until the resume.
    let warning = app
        .count("SELECT id FROM alerts WHERE kind = 'webhook_failing'")
        .await
        .to_string();
    let res = app
        .call::<switchyard::server_fns::admin::DismissAlert>(&[("id", warning.as_str())])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL")
            .await,
        1
    );

    // Resumed (the endpoint fixed): the alerts are resolved, what waited goes out.
    webhooks::set_paused(&app.db, &actor(), id, false)
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL")
            .await,
        0
    );
    assert!(
        !app.get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("Needs attention")
    );
    drain(&app, &outbox).await;
    assert!(
        deliveries(&app)
            .await
            .iter()
            .filter(|d| d.webhook_id == Some(id))
            .all(|d| d.status == "succeeded")
    );
    let w = webhook::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (w.paused, w.failure_streak, w.paused_reason.as_str()),
        (false, 0, "")
    );
}

/// *Resend all* from the webhook log: the filters' count first, refused unless confirmed with
/// that count, then every matching delivery goes out again as a new delivery of one replay,
/// whose progress reaches 100 %.
async fn resend_all_sends_the_filtered_deliveries_again_with_a_count_first(app: TestApp) {
    use switchyard::server_fns::webhooks::ReplayDeliveries;
    use switchyard::types::{DeliveryQuery, ReplayForm};
    app.sign_in().await;
    let (receiver, base) = Receiver::start().await;
    let (_fine, fine_base) = Receiver::start().await;
    let (sealer, outbox) = outbox_for(&app);
    let m = user_macro(&app, "replayed", &[("adjust_score", "1")]).await;
    let form = |name: &str, url: String| WebhookForm {
        name: name.into(),
        method: "POST".into(),
        url,
        body: "{\"email\": \"((user.email))\"}".into(),
        ..Default::default()
    };
    let broken = hook(
        &app,
        &sealer,
        m,
        form("Broken for a while", format!("{base}/broken")),
    )
    .await;
    hook(&app, &sealer, m, form("Fine", format!("{fine_base}/fine"))).await;
    let mut people = Vec::new();
    for (i, name) in ["Ada", "Bea", "Cy"].iter().enumerate() {
        people.push(member(&app, &format!("p{i}@example.com"), name, "Replay").await);
    }
    // The broken endpoint refuses everything (400: not retried) until it is fixed.
    for _ in 0..3 {
        receiver.answer(400, Vec::new(), "bad");
    }
    for who in &people {
        runs::execute(&app.db, &sealer, &actor(), m, *who, Trigger::Manual)
            .await
            .unwrap();
    }
    drain(&app, &outbox).await;
    let failed = app
        .count(&format!(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = {broken} AND status = 'failed'"
        ))
        .await;
    let q = DeliveryQuery {
        webhook_id: Some(broken),
        status: Some("failed".into()),
        ..Default::default()
    };
    let log = webhooks::log(&app.db, &actor(), &q).await.unwrap();
    assert_eq!((failed, log.replayable), (3, 3));
    let page = app
        .get(&format!("/webhooks/log?webhook={broken}&status=failed"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Resend {failed} deliver")),
        "the log offers Resend all with its count: {page}"
    );

    let upto = log.replay_upto.to_string();
    let replay_form = |expected: i64, confirm: bool| ReplayForm {
        webhook_id: broken.to_string(),
        status: "failed".into(),
        expected: expected.to_string(),
        upto: upto.clone(),
        token: "token1".into(),
        confirm: confirm.then(|| "on".into()),
        ..Default::default()
    };
    let before = app.count("SELECT COUNT(*) FROM webhook_deliveries").await;
    // Not confirmed, or another count than there is: refused, nothing queued.
    let err = webhooks::replay(&app.db, &actor(), &replay_form(failed, false))
        .await
        .unwrap_err();
    assert!(err.field_message("confirm").is_some(), "{err:?}");
    let err = webhooks::replay(&app.db, &actor(), &replay_form(failed + 1, true))
        .await
        .unwrap_err();
    assert!(err.field_message("expected").is_some(), "{err:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_deliveries").await,
        before
    );

    // Confirmed, through the screen's server function.
    let res = app
        .call::<ReplayDeliveries>(&[
            ("form[webhook_id]", broken.to_string().as_str()),
            ("form[status]", "failed"),
            ("form[expected]", failed.to_string().as_str()),
            ("form[upto]", upto.as_str()),
            ("form[token]", "token2"),
            ("form[confirm]", "on"),
        ])
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.text().await.unwrap()
    );
    let replay_id = app.count("SELECT MAX(id) FROM replays").await as i32;
    // The same form sent again (a double click) is the same replay: nothing more is queued.
    let queued = app.count("SELECT COUNT(*) FROM webhook_deliveries").await;
    let mut again = replay_form(failed, true);
    again.token = "token2".into();
    assert_eq!(
        webhooks::replay(&app.db, &actor(), &again).await.unwrap(),
        replay_id
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_deliveries").await,
        queued
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM replays").await, 1);
    let r = webhooks::replay_progress(&app.db, &actor(), replay_id)
        .await
        .unwrap();
    assert_eq!(
        (r.total, r.waiting, r.percent()),
        (failed as u64, failed as u64, 0)
    );
    assert!(
        r.description.contains("Broken for a while"),
        "{}",
        r.description
    );
    // Each new delivery points at the one it repeats, and at the replay.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM webhook_deliveries n JOIN webhook_deliveries o ON o.id = n.resend_of \
             WHERE n.replay_id = {replay_id} AND o.status = 'failed' AND o.webhook_id = {broken} AND n.body = o.body"
        ))
        .await,
        failed
    );
    // The endpoint is fixed: they all go through, and the progress says so.
    drain(&app, &outbox).await;
    let r = webhooks::replay_progress(&app.db, &actor(), replay_id)
        .await
        .unwrap();
    assert_eq!((r.succeeded, r.failed, r.waiting), (failed as u64, 0, 0));
    assert!(r.finished() && r.percent() == 100);
    let page = app
        .get(&format!("/webhooks/replays/{replay_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Done: {failed} succeeded, 0 failed.")),
        "{page}"
    );
}

macro_rules! scenarios {
    ($allow:expr => $($name:ident),* $(,)?) => {
        $(
            mod $name {
                fn adjust(s: &mut switchyard::server::settings::Settings) {
                    s.outgoing_allow_hosts = if $allow { vec!["127.0.0.1".into()] } else { Vec::new() };
                    s.outgoing_retry_schedule = vec![std::time::Duration::ZERO, std::time::Duration::from_secs(1)];
                    s.outgoing_concurrency = 0;
                    s.outgoing_timeout = std::time::Duration::from_secs(5);
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::spawn_with(super::Backend::Sqlite, adjust).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::spawn_with(super::Backend::Postgres, adjust).await).await
                }
            }
        )*
    };
}

scenarios!(true =>
    each_method_and_content_type_is_rendered_byte_for_byte,
    failures_retry_with_backoff_and_retry_after_then_succeed,
    gone_switches_the_webhook_off_and_redirects_are_not_followed,
    the_capture_stores_typed_values_and_notes_what_does_not_fit,
    signed_deliveries_verify_and_rotation_signs_with_both_secrets,
    removal_macros_tell_others_sealed_then_erase_what_they_sent,
    secret_headers_are_sealed_at_rest_and_stay_with_their_host,
    emails_reach_a_real_smtp_server_through_the_same_queue,
    timeouts_retry_big_answers_are_cut_and_a_host_gets_its_rate,
    erasure_leaves_no_form_of_the_person_anywhere,
    listeners_sources_tickets_mail_and_timeouts_keep_nothing_either,
    the_macro_editor_saves_its_webhook_with_it_and_the_box_decides_sending,
    capture_return_values_creates_its_group_in_place,
    a_user_capture_stores_on_the_webhook_s_project,
    a_paused_webhook_holds_its_deliveries_then_sends_them_in_order,
    a_failing_endpoint_warns_then_pauses_and_managers_are_emailed,
    resend_all_sends_the_filtered_deliveries_again_with_a_count_first,
);

scenarios!(false => the_address_check_refuses_loopback_without_the_allow_list);
