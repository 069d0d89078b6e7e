//! Fuzzes `/api/v1` with schemathesis (from PyPI, installed into .venv/ by
//! `scripts/setup.sh --test`) against the OpenAPI document the app serves: no 5xx, and no
//! status, header, content type or body that the document does not describe. The listener it
//! aims at is real (seeded), so the calls reach every step of the contract.

use crate::common;

use std::process::Command;

use common::{Backend, seed_listener, spawn_with};
use switchyard::server::settings::Settings;

fn schemathesis() -> String {
    std::env::var("SCHEMATHESIS")
        .unwrap_or_else(|_| format!("{}/.venv/bin/st", env!("CARGO_MANIFEST_DIR")))
}

async fn fuzz(backend: Backend) {
    let app = spawn_with(backend, |s: &mut Settings| {
        s.api_rate_per_second = 1000;
        s.api_rate_burst = 1000;
    })
    .await;
    let seeded = seed_listener(&app.db, "deleteuser", &[("remove_user", "")], false, 3).await;
    seed_other_kinds(&app, &seeded).await;
    let dir =
        std::env::temp_dir().join(format!("switchyard-st-{}-{backend:?}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Aim every generated call at the seeded listener; `find` stays generated.
    std::fs::write(
        dir.join("schemathesis.toml"),
        "[parameters]\n\"path.key\" = \"deleteuser\"\n",
    )
    .unwrap();
    let bin = schemathesis();
    let out = Command::new(&bin)
        .current_dir(&dir)
        .args([
            "run",
            &app.url("/api/v1/openapi.json"),
            "--checks",
            "all",
            // Valid-looking input can name nobody: 404 target_not_found is the contract.
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "200",
            // One worker: with two threads, CPython 3.11's ast module (which Hypothesis uses
            // to describe filtered strategies) fails with "AST constructor recursion depth
            // mismatch", a crash of the tool, not a finding.
            "--workers",
            "1",
            "--header",
            &format!("X-Api-Key: {}", seeded.api_key),
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run schemathesis at {bin} ({e}); `scripts/setup.sh --test` installs it")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    // The runs really reached the listener: calls were logged with many outcomes.
    let outcomes = app
        .count("SELECT COUNT(DISTINCT code) FROM listener_calls")
        .await;
    assert!(outcomes >= 3, "only {outcomes} kinds of answers:\n{stdout}");
    eprintln!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_sqlite() {
    fuzz(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_postgres() {
    fuzz(Backend::Postgres).await
}

/// An Add Comment and an External Data listener, feedback listeners of each type, and an
/// external source under the same key as the macro listener, so the generated calls to every
/// path reach a real one.
async fn seed_other_kinds(app: &common::TestApp, seeded: &common::Seeded) {
    use switchyard::server::admin::{Actor, external_data, listeners};
    use switchyard::types::{DataFieldForm, DataGroupForm, ListenerForm, NewDataGroupForm};
    let actor = Actor::system("schemathesis seed");
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
            fields: vec![DataFieldForm {
                slot: "0".into(),
                label: "Points".into(),
                parameter: "points".into(),
                kind: "integer".into(),
                favorite: None,
            }],
        },
    )
    .await
    .unwrap();
    // An external source under the same key, on a type with no required field.
    let project = switchyard::server::admin::projects::save(
        &app.db,
        &actor,
        &switchyard::types::ProjectForm {
            name: "Fuzz".into(),
            key: "fuzz".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let feedback_type = switchyard::server::admin::projects::create_type(
        &app.db,
        &actor,
        &switchyard::types::NewFeedbackTypeForm {
            project_id: project.to_string(),
            name: "Bug Report".into(),
        },
    )
    .await
    .unwrap();
    switchyard::server::admin::external_sources::save(
        &app.db,
        &actor,
        &switchyard::types::ExternalSourceForm {
            project_id: project.to_string(),
            feedback_type_id: feedback_type.to_string(),
            name: "Fuzz".into(),
            key: "deleteuser".into(),
            api_key_id: seeded.api_key_id.to_string(),
            submitter: "admin@example.com".into(),
            mapping: "title = title\ndescription = description".into(),
            enabled: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for (kind, extra) in [
        (
            "comment",
            ListenerForm {
                author_field: "author".into(),
                comment_field: "comment".into(),
                ..Default::default()
            },
        ),
        (
            "data",
            ListenerForm {
                data_group_id: group.to_string(),
                ..Default::default()
            },
        ),
    ] {
        listeners::save(
            &app.db,
            &actor,
            &ListenerForm {
                name: format!("{kind} deleteuser"),
                key: "deleteuser".into(),
                kind: kind.into(),
                api_key_id: seeded.api_key_id.to_string(),
                enabled: Some("on".into()),
                ..extra
            },
        )
        .await
        .unwrap();
    }
    // Feedback listeners of each type under the same key, on a ticket (id 1) of the source's
    // type, with a feedback data group and a feedback macro.
    switchyard::server::admin::feedback::create(
        &app.db,
        &actor,
        &switchyard::types::TicketForm {
            feedback_type_id: feedback_type.to_string(),
            title: "Seeded".into(),
            author: "admin@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ticket_group = external_data::create_group(
        &app.db,
        &actor,
        &NewDataGroupForm {
            scope: "feedback".into(),
            name: "Jira issue".into(),
        },
    )
    .await
    .unwrap();
    external_data::save_group(
        &app.db,
        &actor,
        &DataGroupForm {
            id: ticket_group.to_string(),
            name: "Jira issue".into(),
            fields: vec![DataFieldForm {
                slot: "0".into(),
                label: "Issue key".into(),
                parameter: "issueKey".into(),
                kind: "string".into(),
                favorite: None,
            }],
        },
    )
    .await
    .unwrap();
    let close = switchyard::server::admin::macros::save(
        &app.db,
        &app.sealer,
        &actor,
        &switchyard::types::MacroForm {
            name: "Close".into(),
            key: "close".into(),
            scope: "feedback".into(),
            actions: vec![switchyard::types::MacroActionForm {
                slot: "0".into(),
                kind: "set_status".into(),
                value: "Closed".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for (kind, extra) in [
        (
            "macro",
            ListenerForm {
                macro_id: close.to_string(),
                ..Default::default()
            },
        ),
        (
            "comment",
            ListenerForm {
                author_field: "author".into(),
                comment_field: "comment".into(),
                ..Default::default()
            },
        ),
        (
            "data",
            ListenerForm {
                data_group_id: ticket_group.to_string(),
                ..Default::default()
            },
        ),
    ] {
        listeners::save(
            &app.db,
            &actor,
            &ListenerForm {
                name: format!("feedback {kind} deleteuser"),
                key: "deleteuser".into(),
                kind: kind.into(),
                scope: "feedback".into(),
                api_key_id: seeded.api_key_id.to_string(),
                enabled: Some("on".into()),
                ..extra
            },
        )
        .await
        .unwrap();
    }
}
