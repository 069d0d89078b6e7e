//! Add Comment and External Data listeners (user scope) over real HTTP, on SQLite and
//! PostgreSQL: what they write, every refusal with its code, idempotency and the log.

use crate::common;

use common::{ADMIN_EMAIL, Seeded, TestApp, seed_listener};
use serde_json::{Value, json};
use switchyard::server::admin::{Actor, external_data, listeners};
use switchyard::types::{DataFieldForm, DataGroupForm, ListenerForm, NewDataGroupForm};

const PLUS_ONE: &[(&str, &str)] = &[("adjust_score", "1")];

async fn post(
    app: &TestApp,
    s: &Seeded,
    path: &str,
    find: &str,
    body: Option<Value>,
    idem: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/{path}")))
        .query(&[("find", find), ("apiKey", &s.api_key)]);
    if let Some(body) = body {
        req = req.json(&body);
    }
    if let Some(k) = idem {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// A listener of `kind` with the seeded API key and filter (team Customers).
async fn listener(app: &TestApp, s: &Seeded, kind: &str, key: &str, extra: ListenerForm) -> i32 {
    let filter_id = app.count("SELECT MIN(id) FROM filters").await.to_string();
    listeners::save(
        &app.db,
        &Actor::system("test"),
        &ListenerForm {
            name: format!("{kind} {key}"),
            key: key.into(),
            kind: kind.into(),
            filter_id,
            api_key_id: s.api_key_id.to_string(),
            enabled: Some("on".into()),
            ..extra
        },
    )
    .await
    .unwrap()
}

/// A user data group "Jira" with `(label, parameter, kind)` fields; its id.
async fn jira_group(app: &TestApp, fields: &[(&str, &str, &str)]) -> i32 {
    let actor = Actor::system("test");
    let group = external_data::create_group(
        &app.db,
        &actor,
        &NewDataGroupForm {
            scope: "user".into(),
            name: "Jira".into(),
        },
    )
    .await
    .unwrap();
    external_data::save_group(
        &app.db,
        &actor,
        &DataGroupForm {
            id: group.to_string(),
            name: "Jira".into(),
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
    group
}

async fn add_comment_listeners_comment_as_a_manager(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    // Without author and comment keys the listener is refused, naming both.
    let err = listeners::save(
        &app.db,
        &Actor::system("test"),
        &ListenerForm {
            name: "Notes".into(),
            key: "notes".into(),
            kind: "comment".into(),
            api_key_id: s.api_key_id.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.field_message("author_field").is_some() && err.field_message("comment_field").is_some()
    );
    listener(
        &app,
        &s,
        "comment",
        "notes",
        ListenerForm {
            author_field: "author_name".into(),
            comment_field: "comment".into(),
            ..Default::default()
        },
    )
    .await;
    let path = "userCommentListeners/notes";

    let (status, body) = post(
        &app,
        &s,
        path,
        "c0@example.com",
        Some(json!({ "author_name": ADMIN_EMAIL, "comment": "Shipped in 2.1" })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert!(body["comment_id"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comments c JOIN users u ON u.id = c.user_id WHERE u.email = 'c0@example.com' AND c.body = 'Shipped in 2.1' AND c.author_user_id IS NOT NULL")
            .await,
        1
    );

    // Each refusal names what is wrong, and writes no comment.
    for (body, status_want, code_want) in [
        (None, 400, "invalid_body"),
        (Some(json!(["a list"])), 400, "invalid_body"),
        (Some(json!({ "comment": "x" })), 400, "missing_field"),
        (
            Some(json!({ "author_name": "c1@example.com", "comment": "x" })),
            400,
            "invalid_author",
        ),
        (
            Some(json!({ "author_name": "nobody@example.com", "comment": "x" })),
            400,
            "invalid_author",
        ),
        (
            Some(json!({ "author_name": ADMIN_EMAIL, "comment": "  " })),
            400,
            "missing_field",
        ),
        // PostgreSQL refuses NUL in text: a 400, not a 500.
        (
            Some(json!({ "author_name": ADMIN_EMAIL, "comment": "a\0b" })),
            400,
            "invalid_field",
        ),
    ] {
        let (status, answer) = post(&app, &s, path, "c0@example.com", body.clone(), None).await;
        assert_eq!(
            (status, code(&answer)),
            (status_want, code_want),
            "{body:?}: {answer}"
        );
    }
    let (status, answer) = post(
        &app,
        &s,
        path,
        "admin@example.com",
        Some(json!({ "author_name": ADMIN_EMAIL, "comment": "x" })),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (404, "target_not_in_filter"));
    let (status, answer) = post(
        &app,
        &s,
        "userMacroListeners/notes",
        "c0@example.com",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (404, "listener_not_found"),
        "a comment listener's key names no macro listener"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comments").await, 1);

    // A repeated Idempotency-Key adds the comment once; reused for another body it is refused.
    let body = json!({ "author_name": ADMIN_EMAIL, "comment": "Once" });
    let first = post(
        &app,
        &s,
        path,
        "c1@example.com",
        Some(body.clone()),
        Some("k-1"),
    )
    .await;
    let again = post(&app, &s, path, "c1@example.com", Some(body), Some("k-1")).await;
    assert_eq!(first, again);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comments WHERE body = 'Once'")
            .await,
        1
    );
    let (status, answer) = post(
        &app,
        &s,
        path,
        "c1@example.com",
        Some(json!({ "author_name": ADMIN_EMAIL, "comment": "Other" })),
        Some("k-1"),
    )
    .await;
    assert_eq!((status, code(&answer)), (422, "idempotency_key_reused"));

    // Every call is in the listener log, under this listener.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE listener_key = 'notes' AND listener_id IS NOT NULL")
            .await,
        12
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE code = 'completed'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE code = 'replayed'")
            .await,
        1
    );
}

async fn external_data_listeners_store_typed_values(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    let group = jira_group(
        &app,
        &[
            ("Issue key", "issueKey", "string"),
            ("Story points", "points", "integer"),
            ("Escalated", "escalated", "boolean"),
        ],
    )
    .await;
    listener(
        &app,
        &s,
        "data",
        "jira",
        ListenerForm {
            data_group_id: group.to_string(),
            ..Default::default()
        },
    )
    .await;
    let path = "userDataListeners/jira";

    let (status, body) = post(
        &app,
        &s,
        path,
        "c0@example.com",
        Some(json!({ "issueKey": "BETA-42", "points": "3", "unrelated": [1] })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "status": "completed", "stored": ["issueKey", "points"] })
    );
    assert_eq!(
        app.count("SELECT value_integer FROM data_values WHERE value_integer IS NOT NULL")
            .await,
        3
    );

    // A second call replaces values (one per field and user) and adds the missing one.
    let (status, _) = post(
        &app,
        &s,
        path,
        "c0@example.com",
        Some(json!({ "points": 5, "escalated": true })),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM data_values").await, 3);
    assert_eq!(
        app.count("SELECT value_integer FROM data_values WHERE value_integer IS NOT NULL")
            .await,
        5
    );

    // A value that cannot take its type is a 400 naming the parameter; nothing is stored.
    let (status, body) = post(
        &app,
        &s,
        path,
        "c1@example.com",
        Some(json!({ "issueKey": "BETA-7", "points": "three" })),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (400, "invalid_field"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"points\"")
    );
    let (status, body) = post(
        &app,
        &s,
        path,
        "c1@example.com",
        Some(json!({ "issueKey": "a\0b" })),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (400, "invalid_field"), "{body}");
    let (status, body) = post(
        &app,
        &s,
        path,
        "c1@example.com",
        Some(json!({ "x": 1 })),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (400, "missing_field"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("issueKey, points, escalated")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM data_values").await, 3);

    let (status, body) = post(
        &app,
        &s,
        path,
        "nobody@example.com",
        Some(json!({ "points": 1 })),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (404, "target_not_found"));

    // The group cannot be deleted while the listener uses it.
    let err =
        external_data::delete_group(&app.db, &Actor::system("test"), &group.to_string(), true)
            .await
            .unwrap_err();
    assert!(
        err.to_string().contains("Jira") || err.to_string().contains("listener"),
        "{err}"
    );
}

/// A sender's retry storm on a comment listener: 50 calls at once with one Idempotency-Key
/// add one comment; every answer is the first one's (or 409 while it was in flight), never a
/// 500; once settled, a repeat gets the first answer again.
async fn one_idempotency_key_adds_one_comment_under_a_storm(backend: common::Backend) {
    let app = common::spawn_with(backend, |s| s.api_rate_burst = 1000).await;
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    listener(
        &app,
        &s,
        "comment",
        "storm",
        ListenerForm {
            author_field: "author_name".into(),
            comment_field: "comment".into(),
            ..Default::default()
        },
    )
    .await;
    let body = json!({ "author_name": ADMIN_EMAIL, "comment": "Storm" });
    let calls = (0..50).map(|_| {
        post(
            &app,
            &s,
            "userCommentListeners/storm",
            "c0@example.com",
            Some(body.clone()),
            Some("jira-77"),
        )
    });
    let answers = futures::future::join_all(calls).await;
    let mut firsts = std::collections::BTreeSet::new();
    for (status, body) in &answers {
        match status {
            200 => {
                firsts.insert(body.to_string());
            }
            409 => assert_eq!(code(body), "idempotency_key_in_flight", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(firsts.len(), 1, "one answer for all: {firsts:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comments WHERE body = 'Storm'")
            .await,
        1
    );
    let (status, again) = post(
        &app,
        &s,
        "userCommentListeners/storm",
        "c0@example.com",
        Some(body),
        Some("jira-77"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(Some(&again.to_string()), firsts.iter().next());

    // The same storm on an External Data listener: one answer, the value stored once.
    let group = jira_group(&app, &[("Issue key", "issueKey", "string")]).await;
    listener(
        &app,
        &s,
        "data",
        "storm-data",
        ListenerForm {
            data_group_id: group.to_string(),
            ..Default::default()
        },
    )
    .await;
    let body = json!({ "issueKey": "BETA-77" });
    let calls = (0..50).map(|_| {
        post(
            &app,
            &s,
            "userDataListeners/storm-data",
            "c1@example.com",
            Some(body.clone()),
            Some("jira-78"),
        )
    });
    let mut firsts = std::collections::BTreeSet::new();
    for (status, body) in futures::future::join_all(calls).await {
        match status {
            200 => {
                firsts.insert(body.to_string());
            }
            409 => assert_eq!(code(&body), "idempotency_key_in_flight", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(firsts.len(), 1, "one answer for all: {firsts:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_values WHERE value_string = 'BETA-77'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls WHERE listener_key = 'storm-data' \
             AND code NOT IN ('replayed', 'idempotency_key_in_flight')"
        )
        .await,
        1,
        "one call stored the value, the others were answered with it"
    );
}

/// Saves a listener through its form, as the editor posts it.
async fn post_listener_form(app: &TestApp, pairs: &[(&str, &str)]) -> reqwest::Response {
    app.call::<switchyard::server_fns::listeners::SaveListener>(pairs)
        .await
}

/// The field errors of a refused form.
async fn refused(res: reqwest::Response) -> switchyard::errors::AppError {
    assert_eq!(res.status(), 422, "a refused form");
    common::error_of(res).await
}

/// An External Data listener whose editor creates its group in place ("Create a new group"):
/// saved, the group, its fields and the listener are written together; refused, none is.
async fn external_data_listener_creates_its_group_in_place(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    app.sign_in().await;
    let api_key = s.api_key_id.to_string();
    let form = [
        ("form[id]", ""),
        ("form[scope]", "user"),
        ("form[name]", "Jira sync"),
        ("form[key]", "Jira-Sync"),
        ("form[kind]", "data"),
        ("form[api_key_id]", api_key.as_str()),
        ("form[enabled]", "on"),
        ("form[data_group_id]", "new"),
        ("form[group_name]", "Jira issues"),
        ("form[fields][0][slot]", "0"),
        ("form[fields][0][label]", "Issue key"),
        ("form[fields][0][parameter]", "issueKey"),
        ("form[fields][0][kind]", "string"),
        ("form[fields][0][favorite]", "on"),
        ("form[fields][1][slot]", "1"),
        ("form[fields][1][label]", "Story points"),
        ("form[fields][1][kind]", "integer"),
    ];
    // The form with some pairs replaced.
    fn with<'a>(
        form: &[(&'a str, &'a str)],
        more: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut pairs: Vec<(&str, &str)> = form
            .iter()
            .filter(|(k, _)| !more.iter().any(|(m, _)| m == k))
            .copied()
            .collect();
        pairs.extend_from_slice(more);
        pairs
    }
    // The new group, its fields, the listener.
    let written = async || {
        (
            app.count("SELECT COUNT(*) FROM data_groups WHERE name = 'Jira issues'")
                .await,
            app.count(
                "SELECT COUNT(*) FROM data_fields f JOIN data_groups g ON g.id = f.group_id \
                 WHERE g.name = 'Jira issues'",
            )
            .await,
            app.count("SELECT COUNT(*) FROM listeners WHERE key = 'jira-sync'")
                .await,
        )
    };

    // A field's parameter with a space: refused, naming that row's parameter; nothing written.
    let err = refused(
        post_listener_form(
            &app,
            &with(&form, &[("form[fields][1][parameter]", "story points")]),
        )
        .await,
    )
    .await;
    assert!(err.field_message("fields.1.parameter").is_some(), "{err:?}");
    assert_eq!(written().await, (0, 0, 0));

    // No name and no field: both named, nothing written.
    let err = refused(
        post_listener_form(
            &app,
            &with(
                &form,
                &[
                    ("form[group_name]", " "),
                    ("form[fields][0][label]", ""),
                    ("form[fields][1][label]", ""),
                ],
            ),
        )
        .await,
    )
    .await;
    assert!(err.field_message("group_name").is_some(), "{err:?}");
    assert!(err.field_message("fields").is_some(), "{err:?}");
    assert_eq!(written().await, (0, 0, 0));

    // Group and fields are right but the key is another data listener's: no group either.
    let existing = jira_group(&app, &[("Issue key", "issueKey", "string")]).await;
    listener(
        &app,
        &s,
        "data",
        "taken",
        ListenerForm {
            data_group_id: existing.to_string(),
            ..Default::default()
        },
    )
    .await;
    let err = refused(
        post_listener_form(
            &app,
            &with(
                &form,
                &[
                    ("form[key]", "taken"),
                    ("form[fields][1][parameter]", "points"),
                ],
            ),
        )
        .await,
    )
    .await;
    assert!(err.field_message("key").is_some(), "{err:?}");
    assert_eq!(written().await, (0, 0, 0));

    // Right: the group, both fields and the listener, which stores into that group.
    let res = post_listener_form(
        &app,
        &with(&form, &[("form[fields][1][parameter]", "points")]),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id = app
        .count("SELECT id FROM listeners WHERE key = 'jira-sync'")
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("/listeners/{id}?notice=listener_saved").as_str()
    );
    assert_eq!(written().await, (1, 2, 1));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listeners l JOIN data_groups g ON g.id = l.data_group_id \
             WHERE l.key = 'jira-sync' AND g.name = 'Jira issues' AND g.scope = 'user'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'data_group.created' \
             AND subject = 'Jira issues'"
        )
        .await,
        1
    );
    let (status, body) = post(
        &app,
        &s,
        "userDataListeners/jira-sync",
        "c0@example.com",
        Some(json!({ "issueKey": "BETA-7", "points": 5 })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "status": "completed", "stored": ["issueKey", "points"] })
    );

    // Another type ignores the new group's fields the form still carries.
    let macro_id = s.macro_id.to_string();
    let res = post_listener_form(
        &app,
        &with(
            &form,
            &[
                ("form[key]", "jira-run"),
                ("form[kind]", "macro"),
                ("form[macro_id]", macro_id.as_str()),
                ("form[group_name]", "Never made"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_groups WHERE name = 'Never made'")
            .await,
        0
    );
}

on_both_backends!(
    add_comment_listeners_comment_as_a_manager,
    external_data_listeners_store_typed_values,
    external_data_listener_creates_its_group_in_place,
);

mod one_idempotency_key_adds_one_comment_under_a_storm {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::one_idempotency_key_adds_one_comment_under_a_storm(crate::common::Backend::Sqlite)
            .await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::one_idempotency_key_adds_one_comment_under_a_storm(crate::common::Backend::Postgres)
            .await
    }
}
