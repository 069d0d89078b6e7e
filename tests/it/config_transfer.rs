//! Configuration as code: a set-up exported from one installation, previewed and imported
//! into a second database, behaves there as it did in the first.

use sea_orm::ConnectionTrait;
use serde_json::Value;
use switchyard::server::admin::{
    Actor, community, config_transfer, external_sources, filters, listeners, macros,
};
use switchyard::server_fns::config_transfer::{ApplyConfigImport, LoadConfigImport};
use switchyard::types::{
    ConfigImportView, ExternalSourceForm, FilterForm, FilterRowForm, ListenerForm,
    ListenerSigningForm, MacroActionForm, MacroForm, WebhookForm,
};

use crate::common::{
    ADMIN_EMAIL, Backend, TestApp, data_group, error_of, seed_listener, spawn, wait_until,
};

on_both_backends!(a_set_up_exported_and_imported_into_a_second_database_behaves_the_same);

fn on() -> Option<String> {
    Some("on".into())
}

async fn one_id(app: &TestApp, sql: &str) -> i32 {
    app.count(sql).await as i32
}

/// The set-up of the first installation, built through the screens' services: data groups
/// on users and tickets, a filter over a team and a data field, a feedback filter, a removal
/// macro behind a listener (seed 000), a feedback macro with an automation, a place and a
/// Slack webhook whose Authorization is a secret, a user macro with a capturing, signed
/// webhook and a one-off schedule that has passed, a Jira data listener finding tickets by a
/// data field from a body path, and a signed source creating bug reports.
async fn build_set_up(app: &TestApp) {
    let actor = Actor::system("test");
    let db = &app.db;
    community::load_demo_data(db, 0).await.unwrap();
    seed_listener(db, "gdpr", &[("remove_user", "")], false, 1).await;
    let project = one_id(app, "SELECT id FROM projects WHERE name = 'Aurora Beta'").await;
    data_group(
        app,
        "user",
        "CRM",
        &[
            ("Plan", "plan", "string", true),
            ("Seats", "seats", "integer", false),
        ],
    )
    .await;
    data_group(
        app,
        "feedback",
        "Jira",
        &[("Issue key", "key", "string", true)],
    )
    .await;
    let plan_field = one_id(app, "SELECT id FROM data_fields WHERE parameter = 'plan'").await;
    let enterprise = filters::save(
        db,
        &actor,
        &FilterForm {
            name: "Enterprise customers".into(),
            description: "Customers on the enterprise plan".into(),
            scope: "user".into(),
            combine: "all".into(),
            group_match: vec!["all".into(), "any".into()],
            rows: vec![
                FilterRowForm {
                    slot: "0".into(),
                    field: "team".into(),
                    op: "is".into(),
                    value: "Customers".into(),
                },
                FilterRowForm {
                    slot: "4".into(),
                    field: format!("data:string:{plan_field}"),
                    op: "equals".into(),
                    value: "enterprise".into(),
                },
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(enterprise > 0);
    filters::save(
        db,
        &actor,
        &FilterForm {
            name: "Bugs".into(),
            scope: "feedback".into(),
            rows: vec![FilterRowForm {
                slot: "0".into(),
                field: "type".into(),
                op: "is".into(),
                value: "bug report".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let bugs = one_id(app, "SELECT id FROM filters WHERE name = 'Bugs'").await;
    macros::save(
        db,
        &app.sealer,
        &actor,
        &MacroForm {
            name: "Escalate".into(),
            key: "escalate".into(),
            scope: "feedback".into(),
            actions: vec![
                MacroActionForm {
                    slot: "0".into(),
                    kind: "set_status".into(),
                    value: "In Progress".into(),
                },
                MacroActionForm {
                    slot: "1".into(),
                    kind: "add_ticket_comment".into(),
                    value: "Escalated: ((feedback.title))".into(),
                },
            ],
            on_submit: on(),
            automation_filter_id: bugs.to_string(),
            place: project.to_string(),
            trigger_webhooks: on(),
            webhook: WebhookForm {
                name: "Slack".into(),
                method: "POST".into(),
                url: "https://hooks.slack.example/services/T0/B0".into(),
                headers: "Authorization: Bearer s3cret-token-value\nX-Team: beta".into(),
                content_type: "json".into(),
                body: r#"{"text": "((feedback.title))"}"#.into(),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Slack's incoming-webhook address is itself the credential.
    let escalate = one_id(app, "SELECT id FROM macros WHERE key = 'escalate'").await;
    switchyard::server::admin::webhooks::save(
        db,
        &app.sealer,
        &actor,
        &WebhookForm {
            macro_id: escalate.to_string(),
            // The same name as the first: webhooks are told apart by address, then order.
            name: "Slack".into(),
            method: "POST".into(),
            url: "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX".into(),
            content_type: "json".into(),
            body: r#"{"text": "((feedback.title))"}"#.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let crm = one_id(app, "SELECT id FROM data_groups WHERE name = 'CRM'").await;
    macros::save(
        db,
        &app.sealer,
        &actor,
        &MacroForm {
            name: "CRM sync".into(),
            key: "crm-sync".into(),
            scope: "user".into(),
            actions: vec![MacroActionForm {
                slot: "0".into(),
                kind: "add_to_team".into(),
                value: "Testers".into(),
            }],
            schedule_frequency: "once".into(),
            schedule_filter_id: enterprise.to_string(),
            schedule_starts_at: "2026-01-05T09:00".into(),
            schedule_enabled: on(),
            trigger_webhooks: on(),
            webhook: WebhookForm {
                name: "CRM lookup".into(),
                method: "POST".into(),
                url: "http://127.0.0.1:9/crm".into(),
                content_type: "json".into(),
                body: r#"{"email": "((user.email))"}"#.into(),
                signing: on(),
                capture: on(),
                capture_group_id: crm.to_string(),
                retry_schedule: "0s, 1m".into(),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let jira = one_id(app, "SELECT id FROM data_groups WHERE name = 'Jira'").await;
    let jira_key = one_id(app, "SELECT id FROM data_fields WHERE parameter = 'key'").await;
    let key_id = one_id(app, "SELECT id FROM api_keys").await;
    listeners::save(
        db,
        &actor,
        &ListenerForm {
            name: "Jira sync".into(),
            key: "jira-sync".into(),
            scope: "feedback".into(),
            kind: "data".into(),
            data_group_id: jira.to_string(),
            find_field_id: jira_key.to_string(),
            find_path: "issue.key".into(),
            accepts_form: on(),
            api_key_id: key_id.to_string(),
            enabled: on(),
            place: project.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let bug_report = one_id(
        app,
        "SELECT id FROM feedback_types WHERE name = 'Bug Report'",
    )
    .await;
    let open = one_id(
        app,
        &format!(
            "SELECT id FROM feedback_statuses WHERE name = 'Open' AND feedback_type_id = {bug_report}"
        ),
    )
    .await;
    let testers = one_id(app, "SELECT id FROM teams WHERE name = 'Testers'").await;
    let source = external_sources::save(
        db,
        &actor,
        &ExternalSourceForm {
            project_id: project.to_string(),
            feedback_type_id: bug_report.to_string(),
            name: "Bugs from the field".into(),
            key: "bugs-in".into(),
            api_key_id: key_id.to_string(),
            team_id: testers.to_string(),
            status_id: open.to_string(),
            submitter: ADMIN_EMAIL.into(),
            mapping: "issue.summary = title\nissue.build = build\nissue.priority = severity".into(),
            enabled: on(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    external_sources::save_signing(
        db,
        &app.sealer,
        &actor,
        &ListenerSigningForm {
            id: source.to_string(),
            scheme: "stripe".into(),
            secret: "whsec_the-stripe-endpoint-secret".into(),
        },
    )
    .await
    .unwrap();
}

/// Posts a file to the configuration upload as the screen's form does; the import's id.
async fn upload(app: &TestApp, name: &str, text: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::text(text.to_string())
            .file_name(name.to_string())
            .mime_str("application/json")
            .unwrap(),
    );
    app.client
        .post(app.url("/configuration/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn uploaded(app: &TestApp, text: &str) -> i32 {
    let res = upload(app, "staging.json", text).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    to.strip_prefix("/configuration/imports/")
        .unwrap_or_else(|| panic!("redirected to {to}"))
        .parse()
        .unwrap()
}

async fn preview(app: &TestApp, id: i32) -> ConfigImportView {
    let res = app
        .call::<LoadConfigImport>(&[("id", &id.to_string())])
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The document's items a second export should hold: the same, but for what an import
/// cannot carry (a masked secret header on a new webhook, a signature scheme without its
/// secret) and a one-off schedule that has passed, which comes disabled.
fn as_imported(mut doc: Value) -> Value {
    doc["exported_at"] = Value::Null;
    for m in doc["macros"].as_array_mut().unwrap() {
        if let Some(s) = m.get_mut("schedule")
            && s["frequency"] == "once"
        {
            s["enabled"] = Value::Bool(false);
        }
        m["webhooks"]
            .as_array_mut()
            .unwrap()
            .retain(|w| !w["url"].as_str().unwrap().contains('•'));
        for w in m["webhooks"].as_array_mut().unwrap() {
            w["headers"]
                .as_array_mut()
                .unwrap()
                .retain(|h| !h.as_str().unwrap().contains('•'));
        }
    }
    for kind in ["listeners", "external_sources"] {
        for l in doc[kind].as_array_mut().unwrap() {
            l["signature"] = Value::String(String::new());
        }
    }
    doc
}

/// `b`'s export, narrowed to the items `a`'s names.
fn only_named_in(b: &Value, a: &Value) -> Value {
    let mut out = b.clone();
    out["exported_at"] = Value::Null;
    for (kind, key) in [
        ("data_groups", "name"),
        ("filters", "name"),
        ("macros", "key"),
        ("listeners", "key"),
        ("external_sources", "key"),
    ] {
        let wanted: Vec<&Value> = a[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x[key])
            .collect();
        out[kind]
            .as_array_mut()
            .unwrap()
            .retain(|x| wanted.contains(&&x[key]));
    }
    out
}

async fn a_set_up_exported_and_imported_into_a_second_database_behaves_the_same(a: TestApp) {
    let backend = if a.db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    build_set_up(&a).await;
    a.sign_in().await;

    // Export: a download of the whole set-up, no key or secret in it.
    let res = a.get("/configuration.json").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"switchyard-configuration-")
    );
    let text = res.text().await.unwrap();
    for secret in [
        "s3cret-token-value",
        "XXXXXXXXXXXX",
        "whsec_the-stripe-endpoint-secret",
        "sealed",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the export");
    }
    let key_hash: String = {
        let row =
            a.db.query_one_raw(sea_orm::Statement::from_string(
                a.db.get_database_backend(),
                "SELECT key_hash FROM api_keys".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    };
    assert!(!text.contains(&key_hash));
    let exported: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(exported["format"], "switchyard.configuration");
    let macro_keys: Vec<&str> = exported["macros"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(macro_keys, ["crm-sync", "escalate", "m-gdpr"]);
    let enterprise = exported["filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Enterprise customers")
        .unwrap();
    assert_eq!(
        enterprise["groups"][0]["conditions"][0]["value"],
        "Customers"
    );
    assert_eq!(enterprise["groups"][1]["conditions"][0]["group"], "CRM");
    assert_eq!(
        enterprise["groups"][1]["conditions"][0]["parameter"],
        "plan"
    );

    // A second installation with its own people, teams, project and API key.
    let b = spawn(backend).await;
    community::load_demo_data(&b.db, 0).await.unwrap();
    let other = seed_listener(&b.db, "other", &[("adjust_score", "1")], false, 2).await;
    b.sign_in().await;
    let macros_before = b.count("SELECT COUNT(*) FROM macros").await;

    // Upload: a preview, nothing applied.
    let id = uploaded(&b, &text).await;
    let v = preview(&b, id).await;
    assert_eq!(v.status, "pending");
    let plan = v.plan.clone().unwrap();
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert!(plan.needs_api_key);
    assert_eq!(
        plan.count("update") + plan.count("unchanged"),
        0,
        "{:?}",
        plan.lines
    );
    assert_eq!(plan.count("create"), plan.lines.len() - 1);
    assert_eq!(plan.count("left out"), 1);
    let warned = plan.warnings.join("\n");
    for expected in [
        "webhook \"Slack\": comes paused; type the value of Authorization",
        "webhook \"CRM lookup\": gets a new signing secret",
        "one-off schedule started",
        "external source \"bugs-in\": its callers sign with Stripe",
        "webhook \"Slack\": left out: its address holds a secret",
        "macro \"m-gdpr\": removes the users it runs on, completely",
    ] {
        assert!(warned.contains(expected), "{expected} not in {warned}");
    }
    assert_eq!(b.count("SELECT COUNT(*) FROM macros").await, macros_before);
    let page = b
        .get(&format!("/configuration/imports/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("would create"), "{page}");

    // Confirmation: an API key must be chosen, and the preview must still hold.
    let apply = |key: String, fingerprint: String| {
        let b = &b;
        async move {
            b.call::<ApplyConfigImport>(&[
                ("form[id]", &id.to_string()),
                ("form[fingerprint]", &fingerprint),
                ("form[api_key_id]", &key),
            ])
            .await
        }
    };
    let res = apply(String::new(), plan.fingerprint.clone()).await;
    assert_eq!(res.status(), 422);
    assert!(error_of(res).await.field_message("api_key_id").is_some());
    let res = apply(other.api_key_id.to_string(), "0".repeat(64)).await;
    assert_eq!(res.status(), 409);
    assert_eq!(b.count("SELECT COUNT(*) FROM macros").await, macros_before);
    // Confirmed twice at once: applied once, both answered alike.
    let (one, two) = tokio::join!(
        apply(other.api_key_id.to_string(), plan.fingerprint.clone()),
        apply(other.api_key_id.to_string(), plan.fingerprint.clone())
    );
    for res in [one, two] {
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{}",
            res.status()
        );
    }
    let v = preview(&b, id).await;
    assert_eq!(v.status, "applied");
    let outcome = v.outcome.unwrap();
    assert_eq!(outcome.error, None);
    assert_eq!(
        (outcome.created, outcome.left_out),
        (plan.lines.len() - 1, 1)
    );
    assert_eq!(
        b.count("SELECT COUNT(*) FROM macros").await,
        macros_before + 3
    );
    assert_eq!(
        b.count(&format!(
            "SELECT COUNT(*) FROM config_imports WHERE id = {id} AND document = ''"
        ))
        .await,
        1,
        "an applied document is not kept"
    );

    // The second installation's export holds the same set-up.
    let again: Value =
        serde_json::from_str(&b.get("/configuration.json").await.text().await.unwrap()).unwrap();
    assert_eq!(
        only_named_in(&again, &exported),
        as_imported(exported.clone())
    );
    assert_eq!(
        b.count("SELECT COUNT(*) FROM webhooks WHERE name = 'Slack' AND paused")
            .await,
        1,
        "the webhook whose secret stayed behind waits paused"
    );
    assert_eq!(
        b.count("SELECT COUNT(*) FROM macros WHERE key = 'crm-sync' AND schedule_enabled")
            .await,
        0
    );

    // It behaves the same: seed 000's removal through the imported listener and the key
    // chosen at import ...
    let res = reqwest::Client::new()
        .post(b.url("/api/v1/userMacroListeners/gdpr"))
        .query(&[
            ("find", "c0@example.com"),
            ("apiKey", other.api_key.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    wait_until(
        &b,
        "SELECT COUNT(*) FROM users WHERE email = 'c0@example.com'",
        0,
    )
    .await;
    // ... and a bug report from the imported source, mapped from body paths, in the status
    // and team it names.
    let res = reqwest::Client::new()
        .post(b.url("/api/v1/externalSources/bugs-in"))
        .query(&[("apiKey", other.api_key.as_str())])
        .json(&serde_json::json!({"issue": {"summary": "Crash on boot", "build": "1.4.2", "priority": "High"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    assert_eq!(
        b.count(
            "SELECT COUNT(*) FROM tickets t JOIN feedback_statuses s ON s.id = t.status_id \
             JOIN teams m ON m.id = t.team_id \
             WHERE t.title = 'Crash on boot' AND s.name = 'Open' AND m.name = 'Testers'"
        )
        .await,
        1
    );

    // The same file again: nothing to do.
    let id2 = uploaded(&b, &text).await;
    let plan2 = preview(&b, id2).await.plan.unwrap();
    assert_eq!(
        (plan2.count("create"), plan2.count("update")),
        (0, 0),
        "{:?}",
        plan2.lines
    );

    // A changed file: the preview names what changes; fields are added, never removed.
    let mut changed = exported.clone();
    for f in changed["filters"].as_array_mut().unwrap() {
        if f["name"] == "Bugs" {
            f["description"] = Value::String("Every bug report".into());
        }
    }
    for g in changed["data_groups"].as_array_mut().unwrap() {
        if g["name"] == "CRM" {
            g["fields"] = serde_json::json!([
                {"label": "Region", "parameter": "region", "kind": "string", "favorite": false}
            ]);
        }
    }
    let plan3 = config_transfer::plan(&b.db, &changed.to_string())
        .await
        .unwrap();
    let updates: Vec<(String, Vec<String>)> = plan3
        .lines
        .iter()
        .filter(|l| l.action == "update")
        .map(|l| (l.name.clone(), l.changes.clone()))
        .collect();
    assert_eq!(
        updates,
        [
            ("CRM (user)".to_string(), vec!["fields".to_string()]),
            ("Bugs".to_string(), vec!["description".to_string()])
        ]
    );
    let outcome = config_transfer::apply(
        &b.db,
        &b.sealer,
        &Actor::system("test"),
        &changed.to_string(),
        None,
        Some(&plan3.fingerprint),
    )
    .await
    .unwrap();
    assert_eq!(
        (outcome.updated, outcome.created, outcome.error),
        (2, 0, None)
    );
    assert_eq!(
        b.count(
            "SELECT COUNT(*) FROM data_fields f JOIN data_groups g ON g.id = f.group_id \
             WHERE g.name = 'CRM'"
        )
        .await,
        3
    );

    // A file naming what is not here: refused with where, and nothing written.
    let mut foreign = exported.clone();
    foreign["macros"][0]["actions"][0]["value"] = Value::String("Ghosts".into());
    foreign["macros"][0]["key"] = Value::String("ghostly".into());
    let plan4 = config_transfer::plan(&b.db, &foreign.to_string())
        .await
        .unwrap();
    assert_eq!(
        plan4.errors,
        ["macro \"ghostly\": actions[0]: there is no team \"Ghosts\" here"]
    );
    let set_up = "SELECT (SELECT COUNT(*) FROM macros) + (SELECT COUNT(*) FROM filters) \
                  + (SELECT COUNT(*) FROM webhooks) + (SELECT COUNT(*) FROM listeners) \
                  + (SELECT COUNT(*) FROM data_fields) + (SELECT COUNT(*) FROM external_sources)";
    let items = b.count(set_up).await;
    let before = b
        .count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'configuration.%'")
        .await;
    let refused = config_transfer::apply(
        &b.db,
        &b.sealer,
        &Actor::system("test"),
        &foreign.to_string(),
        Some(other.api_key_id),
        None,
    )
    .await;
    assert!(refused.is_err());
    assert_eq!(
        b.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'configuration.%'")
            .await,
        before
    );
    assert_eq!(b.count(set_up).await, items);
    assert_eq!(
        b.count("SELECT COUNT(*) FROM macros WHERE key = 'ghostly'")
            .await,
        0
    );
    // Not a configuration at all: the upload says so, and keeps nothing.
    let res = upload(&b, "users.csv", "email\nada@example.com\n").await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/configuration?error=the+file+is+not+JSON"),
        "{to}"
    );
    assert_eq!(b.count("SELECT COUNT(*) FROM config_imports").await, 2);

    // Community managers only: a project manager neither downloads nor uploads.
    let pm = b.project_manager().await;
    assert_eq!(pm.get("/configuration.json").await.status(), 403);
    assert_eq!(upload(&pm, "staging.json", &text).await.status(), 403);
    assert_eq!(b.count("SELECT COUNT(*) FROM config_imports").await, 2);
}
