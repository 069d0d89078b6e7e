//! What real systems send, taken as they send it (issue 20): a Jira Cloud `jira:issue_updated`
//! webhook, a GitHub `issues` webhook and a Stripe `checkout.session.completed` event, each
//! shaped as the vendor documents it (written here, trimmed to the parts that matter), drive
//! listeners through paths into the body (`issue.fields.reporter.emailAddress`,
//! `issue.fields.labels[0]`, `data.object.customer_email`), the target found in the body when
//! the sender cannot put it in the URL. Over real HTTP, on SQLite and PostgreSQL.

use crate::common;

use common::{ADMIN_EMAIL, Seeded, TestApp, seed_listener};
use serde_json::{Value, json};
use switchyard::server::admin::{Actor, listeners};
use switchyard::types::ListenerForm;

const PLUS_ONE: &[(&str, &str)] = &[("adjust_score", "1")];

on_both_backends!(
    a_jira_issue_update_comments_and_stores_through_paths,
    github_and_stripe_payloads_drive_listeners_through_paths,
    form_encoded_bodies_reach_the_listeners_that_take_them,
    signed_calls_pass_without_an_api_key_and_forgeries_do_not,
    a_test_call_is_kept_without_running_and_its_values_fill_the_settings,
    a_listener_refusing_most_calls_raises_an_alert_until_they_go_through,
    a_signed_source_takes_stripe_events_without_an_api_key,
);

/// A Jira Cloud `jira:issue_updated` webhook with a comment: the reporter is the tester the
/// call is about, `user` the manager who commented.
fn jira_issue_updated(reporter: &str, commenter: &str) -> Value {
    json!({
        "timestamp": 1733580000000_i64,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_commented",
        "user": {
            "accountId": "5b10a2844c20165700ede21g",
            "emailAddress": commenter,
            "displayName": "Community Manager"
        },
        "issue": {
            "id": "10002",
            "key": "BETA-42",
            "fields": {
                "summary": "Crash on save",
                "labels": ["gdpr", "beta"],
                "priority": { "name": "High" },
                "reporter": { "emailAddress": reporter, "displayName": "Test Person" },
                "status": { "name": "In Progress" }
            }
        },
        "comment": {
            "id": "10000",
            "body": "Fixed in build 2.1, please try again.",
            "author": { "emailAddress": commenter }
        }
    })
}

/// A GitHub `issues` webhook (action `opened`).
fn github_issue_opened() -> Value {
    json!({
        "action": "opened",
        "issue": {
            "number": 1347,
            "title": "Found a bug",
            "state": "open",
            "labels": [{ "name": "bug" }, { "name": "beta" }],
            "user": { "login": "octocat", "id": 1 }
        },
        "repository": { "full_name": "octo-org/octo-repo" },
        "sender": { "login": "octocat", "id": 1 }
    })
}

/// A Stripe `checkout.session.completed` event.
fn stripe_checkout_completed(email: &str) -> Value {
    json!({
        "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_a1b2c3",
                "object": "checkout.session",
                "amount_total": 4900,
                "currency": "usd",
                "customer_email": email,
                "payment_status": "paid"
            }
        }
    })
}

/// Posts `body` to `/api/v1/{path}` with the seeded key, and `find` in the URL if given.
async fn post(
    app: &TestApp,
    s: &Seeded,
    path: &str,
    find: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/{path}")))
        .header("X-Api-Key", &s.api_key)
        .json(body);
    if let Some(find) = find {
        req = req.query(&[("find", find)]);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn listener(app: &TestApp, s: &Seeded, kind: &str, key: &str, extra: ListenerForm) {
    listeners::save(
        &app.db,
        &Actor::system("test"),
        &ListenerForm {
            name: format!("{kind} {key}"),
            key: key.into(),
            kind: kind.into(),
            api_key_id: s.api_key_id.to_string(),
            enabled: Some("on".into()),
            ..extra
        },
    )
    .await
    .unwrap_or_else(|e| panic!("listener {key} refused: {e:?}"));
}

/// A user data group `name` with `(label, parameter, kind)` fields, the parameters paths.
async fn group(app: &TestApp, name: &str, fields: &[(&str, &str, &str)]) -> i32 {
    let fields: Vec<_> = fields.iter().map(|&(l, p, k)| (l, p, k, false)).collect();
    crate::common::data_group(app, "user", name, &fields).await
}

/// The text of `email`'s value of the field labelled `label`.
async fn value_of(app: &TestApp, email: &str, label: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let sql = "SELECT COALESCE(v.value_string, CAST(v.value_integer AS TEXT)) FROM data_values v \
               JOIN data_fields f ON f.id = v.field_id JOIN users u ON u.id = v.user_id \
               WHERE u.email = 'EMAIL' AND f.label = 'LABEL'"
        .replace("EMAIL", email)
        .replace("LABEL", label);
    let row = app
        .db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    row.and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten())
        .unwrap_or_default()
}

async fn a_jira_issue_update_comments_and_stores_through_paths(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    let jira = jira_issue_updated("c0@example.com", ADMIN_EMAIL);

    // Add Comment: the author and the comment are paths, and so is the person the call is
    // about: Jira's webhook URL is fixed, so there is no find= in it.
    listener(
        &app,
        &s,
        "comment",
        "jira-comment",
        ListenerForm {
            author_field: "comment.author.emailAddress".into(),
            comment_field: "comment.body".into(),
            find_path: "issue.fields.reporter.emailAddress".into(),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = post(&app, &s, "userCommentListeners/jira-comment", None, &jira).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM comments c JOIN users u ON u.id = c.user_id \
             WHERE u.email = 'c0@example.com' AND c.body = 'Fixed in build 2.1, please try again.'"
        )
        .await,
        1
    );
    // The log names the person found in the body.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE target = 'c0@example.com'")
            .await,
        1
    );

    // External Data: each parameter a path, a list's item included.
    let g = group(
        &app,
        "Jira",
        &[
            ("Issue key", "issue.key", "string"),
            ("First label", "issue.fields.labels[0]", "string"),
            ("Priority", "issue.fields.priority.name", "string"),
            ("Issue id", "issue.id", "integer"),
        ],
    )
    .await;
    listener(
        &app,
        &s,
        "data",
        "jira-data",
        ListenerForm {
            data_group_id: g.to_string(),
            find_path: "issue.fields.reporter.emailAddress".into(),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = post(&app, &s, "userDataListeners/jira-data", None, &jira).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["stored"],
        json!([
            "issue.key",
            "issue.fields.labels[0]",
            "issue.fields.priority.name",
            "issue.id"
        ])
    );
    for (label, want) in [
        ("Issue key", "BETA-42"),
        ("First label", "gdpr"),
        ("Priority", "High"),
        ("Issue id", "10002"),
    ] {
        assert_eq!(
            value_of(&app, "c0@example.com", label).await,
            want,
            "{label}"
        );
    }

    // The URL's find wins over the body's.
    let (status, body) = post(
        &app,
        &s,
        "userDataListeners/jira-data",
        Some("c1@example.com"),
        &jira,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        value_of(&app, "c1@example.com", "Issue key").await,
        "BETA-42"
    );

    // A body without the reporter, and no find: 400 naming where the listener looks.
    let mut no_reporter = jira.clone();
    no_reporter["issue"]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("reporter");
    let (status, body) = post(&app, &s, "userDataListeners/jira-data", None, &no_reporter).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "missing_find");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("issue.fields.reporter.emailAddress"),
        "{body}"
    );
    // A path that is not one is refused at save, naming the field.
    let err = listeners::save(
        &app.db,
        &Actor::system("test"),
        &ListenerForm {
            name: "Broken".into(),
            key: "broken".into(),
            kind: "comment".into(),
            api_key_id: s.api_key_id.to_string(),
            author_field: "comment.author..emailAddress".into(),
            comment_field: "comment.body".into(),
            find_path: "issue.fields.labels[first]".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(err.field_message("author_field").is_some(), "{err:?}");
    assert!(err.field_message("find_path").is_some(), "{err:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listeners WHERE key = 'broken'")
            .await,
        0
    );
}

async fn github_and_stripe_payloads_drive_listeners_through_paths(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;

    // GitHub cannot name a tester's email in its payload: the URL's find does.
    let g = group(
        &app,
        "GitHub",
        &[
            ("Issue number", "issue.number", "integer"),
            ("Opened by", "sender.login", "string"),
            ("Second label", "issue.labels[1].name", "string"),
        ],
    )
    .await;
    listener(
        &app,
        &s,
        "data",
        "github",
        ListenerForm {
            data_group_id: g.to_string(),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = post(
        &app,
        &s,
        "userDataListeners/github",
        Some("c0@example.com"),
        &github_issue_opened(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        value_of(&app, "c0@example.com", "Issue number").await,
        "1347"
    );
    assert_eq!(
        value_of(&app, "c0@example.com", "Opened by").await,
        "octocat"
    );
    assert_eq!(
        value_of(&app, "c0@example.com", "Second label").await,
        "beta"
    );

    // Stripe: the customer is found from data.object.customer_email, the macro runs on them.
    listener(
        &app,
        &s,
        "macro",
        "stripe-paid",
        ListenerForm {
            macro_id: s.macro_id.to_string(),
            find_path: "data.object.customer_email".into(),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = post(
        &app,
        &s,
        "userMacroListeners/stripe-paid",
        None,
        &stripe_checkout_completed("c1@example.com"),
    )
    .await;
    assert!(status == 200 || status == 202, "{status} {body}");
    for _ in 0..200 {
        if app
            .count("SELECT score FROM users WHERE email = 'c1@example.com'")
            .await
            == 1
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.count("SELECT score FROM users WHERE email = 'c1@example.com'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT score FROM users WHERE email = 'c0@example.com'")
            .await,
        0
    );
    // A customer outside the community: 404, as with find=.
    let (status, body) = post(
        &app,
        &s,
        "userMacroListeners/stripe-paid",
        None,
        &stripe_checkout_completed("stranger@example.com"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

/// Many tools can send nothing but a form: a listener with *Form bodies* reads one as an
/// object of texts (paths and the target in the body included); one without answers 415 and
/// writes nothing, and so does an external source.
async fn form_encoded_bodies_reach_the_listeners_that_take_them(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    let g = group(
        &app,
        "Survey",
        &[
            ("Answer", "answer", "string"),
            ("Rating", "rating", "integer"),
        ],
    )
    .await;
    for (key, form) in [("survey-form", Some("on")), ("survey-json", None)] {
        listener(
            &app,
            &s,
            "data",
            key,
            ListenerForm {
                data_group_id: g.to_string(),
                find_path: "email".into(),
                accepts_form: form.map(str::to_string),
                ..Default::default()
            },
        )
        .await;
    }
    let send = |key: &'static str| {
        let url = app.url(&format!("/api/v1/userDataListeners/{key}"));
        let api_key = s.api_key.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .header("X-Api-Key", api_key)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("email=c0%40example.com&answer=Loved+the+new+build&rating=5")
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send("survey-json").await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    assert_eq!(app.count("SELECT COUNT(*) FROM data_values").await, 0);
    let (status, body) = send("survey-form").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        value_of(&app, "c0@example.com", "Answer").await,
        "Loved the new build"
    );
    assert_eq!(value_of(&app, "c0@example.com", "Rating").await, "5");

    // External sources take JSON only.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/externalSources/anything"))
        .header("X-Api-Key", &s.api_key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("title=Crash")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

/// Signed calls (issue 20): for each scheme, a call signed with the listener's secret passes
/// without an API key; a tampered body, a wrong secret, a stale timestamp or no signature is
/// 401 `invalid_signature` and writes nothing; a new secret rotates (the old one still passes
/// for the overlap); the secret is stored sealed; switched off, the API key is needed again.
async fn signed_calls_pass_without_an_api_key_and_forgeries_do_not(app: TestApp) {
    use switchyard::server::domain::inbound_signature::{Scheme, sign};
    use switchyard::server_fns::listeners::SaveListenerSigning;
    app.sign_in().await;
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 1).await;
    let g = group(&app, "Signed", &[("Note", "note", "string")]).await;
    listener(
        &app,
        &s,
        "data",
        "signed",
        ListenerForm {
            data_group_id: g.to_string(),
            find_path: "email".into(),
            ..Default::default()
        },
    )
    .await;
    let id = app
        .count("SELECT id FROM listeners WHERE key = 'signed'")
        .await
        .to_string();
    let url = app.url("/api/v1/userDataListeners/signed");
    let call = |headers: Vec<(String, String)>, body: String, with_key: bool| {
        let url = url.clone();
        let key = s.api_key.clone();
        async move {
            let mut req = reqwest::Client::new()
                .post(url)
                .header("Content-Type", "application/json")
                .body(body);
            for (name, value) in headers {
                req = req.header(name, value);
            }
            if with_key {
                req = req.header("X-Api-Key", key);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let set = |scheme: &'static str, secret: &'static str| {
        let id = id.clone();
        let app = &app;
        async move {
            app.call::<SaveListenerSigning>(&[
                ("form[id]", id.as_str()),
                ("form[scheme]", scheme),
                ("form[secret]", secret),
            ])
            .await
        }
    };
    let note = |n: &str| json!({ "email": "c0@example.com", "note": n }).to_string();
    let now = chrono::Utc::now().timestamp();
    let secrets = |scheme: Scheme| match scheme {
        Scheme::StandardWebhooks => (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_dGhlIHNlY29uZCBzZWNyZXQgb2YgdGhlIHRlc3Q=",
        ),
        _ => ("first shared secret", "second shared secret"),
    };

    // Without a signature scheme, no key is no entry.
    let (status, body) = call(Vec::new(), note("no key"), false).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("missing_api_key"))
    );

    for scheme in Scheme::ALL {
        let (first, second) = secrets(scheme);
        let res = set(scheme.as_str(), first).await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{scheme:?}"
        );
        let signed = |secret: &str, body: &str, at: i64| {
            // A delivery id of its own per request (the same id again is a replay).
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (body, at).hash(&mut h);
            sign(
                scheme,
                secret,
                body.as_bytes(),
                at,
                &format!("msg_{:x}", h.finish()),
            )
            .unwrap()
        };
        let ok = note(&format!("signed {scheme:?}"));
        let (status, answer) = call(signed(first, &ok, now), ok.clone(), false).await;
        assert_eq!(status, 200, "{scheme:?}: {answer}");
        assert_eq!(
            value_of(&app, "c0@example.com", "Note").await,
            format!("signed {scheme:?}")
        );

        let mut forged = vec![
            (
                "tampered",
                call(signed(first, &ok, now), note("tampered"), false).await,
            ),
            (
                "wrong secret",
                call(signed(second, &ok, now), ok.clone(), false).await,
            ),
            (
                "unsigned, with the key",
                call(Vec::new(), ok.clone(), true).await,
            ),
        ];
        if scheme.has_timestamp() {
            forged.push((
                "stale",
                call(signed(first, &ok, now - 3600), ok.clone(), false).await,
            ));
        }
        for (what, (status, answer)) in forged {
            assert_eq!(status, 401, "{scheme:?} {what}: {answer}");
            assert_eq!(
                answer["error"]["code"], "invalid_signature",
                "{scheme:?} {what}"
            );
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(
                !message.contains(first) && !message.contains(second),
                "{message}"
            );
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM data_values WHERE value_string = 'tampered'")
                .await,
            0
        );

        // Rotation: the new secret passes, and so does the old one for the overlap.
        let res = set(scheme.as_str(), second).await;
        assert!(res.status().is_success() || res.status().is_redirection());
        for secret in [second, first] {
            let body = note(&format!("rotated {scheme:?} {}", secret.len()));
            let (status, answer) = call(signed(secret, &body, now), body.clone(), false).await;
            assert_eq!(status, 200, "{scheme:?} rotated: {answer}");
        }
        // A key brought along must be the listener's own, and passes with the signature.
        let (status, answer) = call(signed(second, &ok, now), ok.clone(), true).await;
        assert_eq!(status, 200, "{scheme:?} with key: {answer}");
        // The secret is sealed at rest.
        let stored: Vec<String> = {
            use sea_orm::{ConnectionTrait, Statement};
            let rows = app
                .db
                .query_all_raw(Statement::from_string(
                    app.db.get_database_backend(),
                    "SELECT COALESCE(signing_secret, '') || ' ' || COALESCE(old_signing_secret, '') FROM listeners",
                ))
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.try_get_by_index::<String>(0).unwrap())
                .collect()
        };
        assert!(
            stored
                .iter()
                .all(|v| !v.contains(first) && !v.contains(second)),
            "{stored:?}"
        );
        // Off again before the next scheme (no overlap across schemes).
        let res = set("", "").await;
        assert!(res.status().is_success() || res.status().is_redirection());
    }
    // A signature covers the body, not the URL: a signed call without a key may not name
    // its target in the URL's find (a recorded call could be pointed at anyone).
    let (first, _) = secrets(Scheme::GitHub);
    let res = set("github", first).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let body = note("pointed elsewhere");
    let headers = sign(Scheme::GitHub, first, body.as_bytes(), now, "").unwrap();
    let res = reqwest::Client::new()
        .post(format!("{url}?find=c0%40example.com"))
        .header("Content-Type", "application/json")
        .header(&headers[0].0, &headers[0].1)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_find"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_values WHERE value_string = 'pointed elsewhere'")
            .await,
        0
    );
    // The sender's delivery id keys the call: the same delivery again gets the first answer;
    // another body under that id is refused, not run.
    let delivery = |body: &str| {
        let mut h = sign(Scheme::GitHub, first, body.as_bytes(), now, "").unwrap();
        h.push((
            "X-GitHub-Delivery".into(),
            "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
        ));
        h
    };
    let once = note("delivered once");
    let first_answer = call(delivery(&once), once.clone(), false).await;
    assert_eq!(first_answer.0, 200, "{}", first_answer.1);
    assert_eq!(
        call(delivery(&once), once.clone(), false).await,
        first_answer
    );
    let other = note("another body, same delivery");
    let (status, answer) = call(delivery(&other), other, false).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // While it is signed, the target in the body stays.
    let err = listeners::save(
        &app.db,
        &Actor::system("test"),
        &ListenerForm {
            id: id.clone(),
            name: "data signed".into(),
            key: "signed".into(),
            kind: "data".into(),
            api_key_id: s.api_key_id.to_string(),
            data_group_id: g.to_string(),
            enabled: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(err.field_message("find_path").is_some(), "{err:?}");

    // Off: a signed call without the key is refused; with the key it passes.
    let res = set("", "").await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let body = note("keyed again");
    let headers = sign(Scheme::GitHub, first, body.as_bytes(), now, "").unwrap();
    let (status, _) = call(headers.clone(), body.clone(), false).await;
    assert_eq!(status, 401);
    let (status, answer) = call(headers, body, true).await;
    assert_eq!(status, 200, "{answer}");
    // A scheme without a secret, or a Standard Webhooks secret that is not one, is refused
    // naming the field.
    for (scheme, secret) in [("github", ""), ("standard_webhooks", "not base64 at all!")] {
        let err = common::error_of(set(scheme, secret).await).await;
        assert!(err.field_message("secret").is_some(), "{scheme}: {err:?}");
    }
    // Two rotations at once: each keeps the other's secret as the previous one, so both
    // pass and neither is lost (the listener is read in the write transaction).
    let res = set("github", "secret a").await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let rotate = |secret: &'static str| {
        let form = switchyard::types::ListenerSigningForm {
            id: id.clone(),
            scheme: "github".into(),
            secret: secret.into(),
        };
        let db = app.db.clone();
        let sealer = app.sealer.clone();
        async move {
            listeners::save_signing(&db, &sealer, &Actor::system("test"), &form)
                .await
                .unwrap()
        }
    };
    tokio::join!(rotate("secret b"), rotate("secret c"));
    for secret in ["secret b", "secret c"] {
        let body = note(&format!("after both rotations, {secret}"));
        let headers = sign(Scheme::GitHub, secret, body.as_bytes(), now, "").unwrap();
        let (status, answer) = call(headers, body, false).await;
        assert_eq!(status, 200, "{secret}: {answer}");
    }
    let res = set("", "").await;
    assert!(res.status().is_success() || res.status().is_redirection());

    // A listener without a target in the body cannot be signed.
    listener(
        &app,
        &s,
        "data",
        "unsigned",
        ListenerForm {
            data_group_id: g.to_string(),
            ..Default::default()
        },
    )
    .await;
    let plain = app
        .count("SELECT id FROM listeners WHERE key = 'unsigned'")
        .await
        .to_string();
    let err = common::error_of(
        app.call::<SaveListenerSigning>(&[
            ("form[id]", plain.as_str()),
            ("form[scheme]", "github"),
            ("form[secret]", "a secret"),
        ])
        .await,
    )
    .await;
    assert!(err.field_message("scheme").is_some(), "{err:?}");
}

/// *Listen for a test call*: the manager listens, Jira sends its webhook (no API key: it cannot
/// add one), the call is kept and answered 200 with nothing run, its headers masked and its
/// body a tree of paths; clicking values fills the listener's settings, and the next real call
/// works. What the call brought stays in the log, and a removal cuts the person out of it.
async fn a_test_call_is_kept_without_running_and_its_values_fill_the_settings(app: TestApp) {
    use switchyard::server::admin::test_calls;
    use switchyard::server_fns::listeners::{ListenForTestCall, MapTestCallValue};
    app.sign_in().await;
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    listener(
        &app,
        &s,
        "comment",
        "jira-wire",
        ListenerForm {
            author_field: "author".into(),
            comment_field: "comment".into(),
            ..Default::default()
        },
    )
    .await;
    let id = app
        .count("SELECT id FROM listeners WHERE key = 'jira-wire'")
        .await
        .to_string();
    let id_num: i32 = id.parse().unwrap();
    let actor = Actor::system("test");
    let jira = jira_issue_updated("c0@example.com", ADMIN_EMAIL);
    let comments = "SELECT COUNT(*) FROM comments c JOIN users u ON u.id = c.user_id \
                    WHERE u.email = 'c0@example.com'";
    let jira_call = |body: &Value| {
        reqwest::Client::new()
            .post(app.url("/api/v1/userCommentListeners/jira-wire"))
            .header("X-Webhook-Token", "jira-token-abc123")
            .header("X-Atlassian-Webhook-Identifier", "d1")
            .json(body)
    };

    // Not listening: a call without a key is refused, and nothing is kept.
    let res = jira_call(&jira).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .call::<ListenForTestCall>(&[("id", id.as_str()), ("listen", "on")])
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.text().await.unwrap()
    );
    let t = test_calls::view(&app.db, &actor, test_calls::Target::Listener(id_num))
        .await
        .unwrap();
    assert!(t.listening_until.is_some() && t.call.is_none(), "{t:?}");

    // The first call while listening is kept and answered 200; nothing runs.
    let res = jira_call(&jira).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["status"], "test_call", "{answer}");
    assert_eq!(app.count(comments).await, 0, "a test call runs nothing");
    // Listening ends with it: the next keyless call is refused again.
    let res = jira_call(&jira).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let t = test_calls::view(&app.db, &actor, test_calls::Target::Listener(id_num))
        .await
        .unwrap();
    assert!(t.listening_until.is_none());
    let call = t.call.expect("the test call is shown");
    let header = |name: &str| {
        call.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let token = header("x-webhook-token").expect("headers are kept");
    assert!(!token.is_empty() && !token.contains("abc123"), "{token}");
    assert_eq!(
        header("x-atlassian-webhook-identifier").as_deref(),
        Some("d1")
    );
    let path_of = |value: &str| {
        call.tree
            .iter()
            .find(|r| r.value.as_deref() == Some(value))
            .and_then(|r| r.path.clone())
    };
    assert_eq!(
        path_of("\"c0@example.com\"").as_deref(),
        Some("issue.fields.reporter.emailAddress")
    );
    assert_eq!(
        path_of("\"Fixed in build 2.1, please try again.\"").as_deref(),
        Some("comment.body")
    );
    assert_eq!(
        path_of("\"gdpr\"").as_deref(),
        Some("issue.fields.labels[0]")
    );
    // Objects head their values, once.
    assert_eq!(
        call.tree
            .iter()
            .filter(|r| r.value.is_none() && r.label == "fields")
            .count(),
        1
    );

    // Clicking values fills the settings (the same save as the editor's).
    for (field, path) in [
        ("find_path", "issue.fields.reporter.emailAddress"),
        ("author_field", "comment.author.emailAddress"),
        ("comment_field", "comment.body"),
    ] {
        let res = app
            .call::<MapTestCallValue>(&[
                ("form[id]", id.as_str()),
                ("form[field]", field),
                ("form[path]", path),
            ])
            .await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{field}: {}",
            res.text().await.unwrap()
        );
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listeners WHERE key = 'jira-wire' \
             AND find_path = 'issue.fields.reporter.emailAddress' \
             AND author_field = 'comment.author.emailAddress' AND comment_field = 'comment.body'"
        )
        .await,
        1
    );
    // A setting the listener does not read, a path that is none, or one the editor refuses
    // (the comment the same as the author): refused, naming the field, nothing changed.
    for (field, path, named) in [
        ("macro_id", "issue.key", "field"),
        ("find_path", "issue..key", "path"),
        ("comment_field", "comment.author.emailAddress", "field"),
    ] {
        let err = common::error_of(
            app.call::<MapTestCallValue>(&[
                ("form[id]", id.as_str()),
                ("form[field]", field),
                ("form[path]", path),
            ])
            .await,
        )
        .await;
        assert!(
            err.field_message(named).is_some(),
            "{field} {path}: {err:?}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listeners WHERE comment_field = 'comment.body'")
            .await,
        1
    );

    // Wired: the same payload, with the key, comments on the reporter.
    let (status, body) = post(&app, &s, "userCommentListeners/jira-wire", None, &jira).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.count(comments).await, 1);
    // The log keeps what that call brought, the key masked, and shows it.
    let call_id = app
        .count("SELECT MAX(id) FROM listener_calls WHERE code <> 'test_call' AND status = 200")
        .await;
    let past = test_calls::request_of(&app.db, &actor, call_id)
        .await
        .unwrap();
    assert!(past.body.contains("BETA-42"), "{past:?}");
    assert!(
        past.headers
            .iter()
            .any(|(n, v)| n == "x-api-key" && !v.contains(&s.api_key)),
        "{:?}",
        past.headers
    );
    assert!(
        past.tree
            .iter()
            .any(|r| r.path.as_deref() == Some("issue.key"))
    );
    let page = app
        .get(&format!("/listeners/log/{call_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("issue.fields.reporter.emailAddress"),
        "the page shows the tree"
    );
    assert!(!page.contains(&s.api_key));

    // Two calls at once while listening: one is kept, the other runs.
    test_calls::listen(&app.db, &actor, test_calls::Target::Listener(id_num), true)
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        post(&app, &s, "userCommentListeners/jira-wire", None, &jira),
        post(&app, &s, "userCommentListeners/jira-wire", None, &jira)
    );
    let kept = [&a, &b]
        .iter()
        .filter(|(_, body)| body["status"] == "test_call")
        .count();
    assert_eq!(kept, 1, "{a:?} {b:?}");
    assert!(a.0 == 200 && b.0 == 200, "{a:?} {b:?}");
    assert_eq!(app.count(comments).await, 2);

    // Removing the person cuts them out of every call the log kept.
    let c0 = app
        .count("SELECT id FROM users WHERE email = 'c0@example.com'")
        .await;
    switchyard::server::admin::users::delete(&app.db, &actor, &c0.to_string(), true)
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE request_body LIKE '%c0@example.com%'")
            .await,
        0
    );
    // The calls about them lose what they brought whole (a body says more than an email),
    // and so do the test calls whose request names them.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls WHERE code <> 'test_call' \
             AND (request_body <> '' OR request_headers <> '')"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls WHERE code = 'test_call' \
             AND request_body LIKE '%BETA-42%'"
        )
        .await,
        0,
        "the test calls that named them keep nothing"
    );
}

/// A listener whose calls are mostly refused over the last hour (here: a sender pointing it
/// at people the community does not have) raises one dashboard alert and an email to each
/// community manager; once its calls go through again, the alert is resolved.
async fn a_listener_refusing_most_calls_raises_an_alert_until_they_go_through(app: TestApp) {
    use switchyard::server::engine::health::{self, CallRates, Policy};
    app.sign_in().await;
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    let mut settings = app.settings.clone();
    settings.smtp = Some(switchyard::server::settings::Smtp {
        host: "127.0.0.1".into(),
        port: 2525,
        security: "none".into(),
        username: String::new(),
        password: switchyard::server::settings::Secret::new(String::new()),
        from: "Beta Team <beta@example.com>".into(),
    });
    settings.listener_alert_min_calls = 10;
    let policy = Policy::of(&settings);
    let call = |find: &str| {
        reqwest::Client::new()
            .post(app.url("/api/v1/userMacroListeners/score"))
            .query(&[("find", find), ("apiKey", s.api_key.as_str())])
            .send()
    };
    for i in 0..9 {
        let res = call(&format!("nobody{i}@example.com")).await.unwrap();
        assert_eq!(res.status(), 404);
    }
    assert_eq!(
        call("c0@example.com").await.unwrap().status().as_u16() / 100,
        2
    );
    let rates = app.call_rates.last_hour();
    assert_eq!(
        rates.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        [(10, 9)]
    );
    let now = chrono::Utc::now();
    let open =
        "SELECT COUNT(*) FROM alerts WHERE kind = 'listener_refusing' AND resolved_at IS NULL";
    // Twice: one alert, one email per manager.
    for _ in 0..2 {
        health::judge_listeners(&app.db, &policy, &rates, now)
            .await
            .unwrap();
    }
    assert_eq!(app.count(open).await, 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_name = '{}' \
             AND url = 'mailto:{ADMIN_EMAIL}' AND status = 'queued'",
            health::ALERT_EMAIL
        ))
        .await,
        1
    );
    let dash = app.get("/").await.text().await.unwrap();
    assert!(
        dash.contains("refused 9 of its last 10 calls in the past hour (90%)"),
        "{dash}"
    );
    // Below the minimum of calls, nothing is judged; calls that go through resolve it.
    let quiet = CallRates::default();
    quiet.note(rates[0].0, false);
    health::judge_listeners(&app.db, &policy, &quiet.last_hour(), now)
        .await
        .unwrap();
    assert_eq!(app.count(open).await, 1, "too few calls to judge");
    let fine = CallRates::default();
    for _ in 0..10 {
        fine.note(rates[0].0, true);
    }
    health::judge_listeners(&app.db, &policy, &fine.last_hour(), now)
        .await
        .unwrap();
    assert_eq!(app.count(open).await, 0);
}

/// An external source signed like a listener: a Stripe event with a valid `Stripe-Signature`
/// creates its ticket without an API key, keyed by the event's id (the same event again gets
/// the first answer, one ticket); a tampered or stale one is refused with 401 and writes
/// nothing; the source's page says which scheme it expects; switched off, the key is needed.
async fn a_signed_source_takes_stripe_events_without_an_api_key(app: TestApp) {
    use switchyard::server::admin::{api_keys, external_sources};
    use switchyard::server::domain::inbound_signature::{Scheme, sign};
    use switchyard::server_fns::feedback::SaveSourceSigning;
    use switchyard::types::{ApiKeyForm, ExternalSourceForm};
    let setup = crate::feedback::setup(&app).await;
    let actor = Actor::system("test");
    let key = api_keys::create(
        &app.db,
        &actor,
        &ApiKeyForm {
            name: "Stripe".into(),
            prefix: "st".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = external_sources::save(
        &app.db,
        &actor,
        &ExternalSourceForm {
            project_id: setup.project_id.clone(),
            feedback_type_id: setup.type_id.clone(),
            name: "Stripe checkouts".into(),
            key: "stripe".into(),
            api_key_id: key.id.to_string(),
            submitter: ADMIN_EMAIL.into(),
            mapping: "data.object.id = title\ndata.object.currency = severity".into(),
            enabled: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .to_string();
    let secret = "whsec_stripe_test_secret";
    let res = app
        .call::<SaveSourceSigning>(&[
            ("form[id]", id.as_str()),
            ("form[scheme]", "stripe"),
            ("form[secret]", secret),
        ])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let page = app
        .get(&format!("/external-sources/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("On: Stripe (Stripe-Signature)."),
        "the page names the scheme"
    );
    assert!(!page.contains(secret));

    let mut event = stripe_checkout_completed("c0@example.com");
    event["data"]["object"]["currency"] = json!("High");
    let body = event.to_string();
    let now = chrono::Utc::now().timestamp();
    let post = |headers: Vec<(String, String)>, body: String| {
        let url = app.url("/api/v1/externalSources/stripe");
        async move {
            let mut req = reqwest::Client::new()
                .post(url)
                .header("Content-Type", "application/json")
                .body(body);
            for (name, value) in headers {
                req = req.header(name, value);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let tickets = "SELECT COUNT(*) FROM tickets WHERE title = 'cs_test_a1b2c3'";
    let signed = sign(Scheme::Stripe, secret, body.as_bytes(), now, "").unwrap();
    let (status, first) = post(signed.clone(), body.clone()).await;
    assert_eq!(status, 201, "{first}");
    // Stripe sends the same event again: the first answer, still one ticket.
    let (status, again) = post(signed.clone(), body.clone()).await;
    assert_eq!((status, &again), (201, &first));
    assert_eq!(app.count(tickets).await, 1);
    // Recorded and replayed with an Idempotency-Key of the replayer's own (the header is not
    // signed): still the first answer, still one ticket.
    let mut replayed = signed.clone();
    replayed.push(("Idempotency-Key".into(), "replayer-1".into()));
    let (status, again) = post(replayed, body.clone()).await;
    assert_eq!((status, &again), (201, &first));
    assert_eq!(app.count(tickets).await, 1);
    // Forgeries: a tampered body, a wrong secret, a stale timestamp, no signature.
    let tampered = body.replace("\"paid\"", "\"unpaid\"");
    assert_ne!(tampered, body);
    for (what, headers, body) in [
        (
            "tampered",
            sign(Scheme::Stripe, secret, body.as_bytes(), now, "").unwrap(),
            tampered.clone(),
        ),
        (
            "wrong secret",
            sign(Scheme::Stripe, "whsec_other", tampered.as_bytes(), now, "").unwrap(),
            tampered.clone(),
        ),
        (
            "stale",
            sign(Scheme::Stripe, secret, tampered.as_bytes(), now - 3600, "").unwrap(),
            tampered.clone(),
        ),
        ("unsigned", Vec::new(), tampered.clone()),
    ] {
        let (status, answer) = post(headers, body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (401, Some("invalid_signature")),
            "{what}: {answer}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 1);
    // What the created call brought is kept in the log; the signature header is masked.
    let call_id = app
        .count("SELECT MAX(id) FROM listener_calls WHERE status = 201 AND code = 'created'")
        .await;
    let kept = switchyard::server::admin::test_calls::request_of(&app.db, &actor, call_id)
        .await
        .unwrap();
    assert!(kept.body.contains("cs_test_a1b2c3"));
    let sig = kept
        .headers
        .iter()
        .find(|(n, _)| n == "stripe-signature")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(!sig.contains("v1="), "{sig}");

    // Listening for a test call on the source: the next call is kept, no ticket is made, and
    // a value's path fills a setting (here the submitter's email and the description).
    use switchyard::server::admin::test_calls::{self, Target};
    let source_id: i32 = id.parse().unwrap();
    test_calls::listen(&app.db, &actor, Target::Source(source_id), true)
        .await
        .unwrap();
    let (status, answer) = post(Vec::new(), tampered.clone()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("test_call")),
        "{answer}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 1);
    let t = test_calls::view(&app.db, &actor, Target::Source(source_id))
        .await
        .unwrap();
    assert!(t.listening_until.is_none());
    let call = t.call.expect("the test call is shown");
    assert!(
        call.tree
            .iter()
            .any(|r| r.path.as_deref() == Some("data.object.customer_email"))
    );
    for (field, path) in [
        ("submitter_param", "data.object.customer_email"),
        ("field:description", "data.object.payment_status"),
    ] {
        let res = app
            .call::<switchyard::server_fns::listeners::MapTestCallValue>(&[
                ("form[target]", "source"),
                ("form[id]", id.as_str()),
                ("form[field]", field),
                ("form[path]", path),
            ])
            .await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{field}: {}",
            res.text().await.unwrap()
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM external_sources WHERE id = {id} \
             AND submitter_param = 'data.object.customer_email' \
             AND field_map LIKE '%data.object.payment_status%description%'"
        ))
        .await,
        1
    );

    // Switched off: the API key is needed again.
    let res = app
        .call::<SaveSourceSigning>(&[("form[id]", id.as_str()), ("form[scheme]", "")])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let (status, answer) = post(Vec::new(), tampered).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("missing_api_key"))
    );
}
