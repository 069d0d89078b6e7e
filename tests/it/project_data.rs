//! What user and feedback listeners write about projects, over real HTTP on SQLite and
//! PostgreSQL: user Add Comment listeners writing project-level comments (a project set on the
//! listener, or named in the body), External Data listeners storing into project groups, the
//! project page's external data, and the erasure of project-level comments with their user.

use crate::common;
use crate::feedback::{ok, setup, submit};

use common::{ADMIN_EMAIL, Seeded, TestApp, data_group as group, error_of, seed_listener};
use serde_json::{Value, json};
use switchyard::server::admin::{Actor, users};
use switchyard::server::engine::external_values::{self, Subject};
use switchyard::server_fns::{
    external_data as data_fns, feedback as fb, listeners as listener_fns,
};

const PLUS_ONE: &[(&str, &str)] = &[("adjust_score", "1")];

async fn post(app: &TestApp, s: &Seeded, path: &str, find: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/{path}")))
        .query(&[("find", find), ("apiKey", &s.api_key)])
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// A project `name` with `key`, saved through its screen's server function; its id.
async fn project(app: &TestApp, name: &str, key: &str) -> i64 {
    ok(app
        .call::<fb::SaveProject>(&[("form[name]", name), ("form[key]", key)])
        .await)
    .await;
    app.count(&format!("SELECT id FROM projects WHERE key = '{key}'"))
        .await
}

/// Saves a listener through the editor's server function: its answer.
async fn save_listener(app: &TestApp, pairs: &[(&str, &str)]) -> reqwest::Response {
    app.call::<listener_fns::SaveListener>(pairs).await
}

async fn comments_about(app: &TestApp, email: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM comments c JOIN users u ON u.id = c.user_id WHERE u.email = '{email}'"
    ))
    .await
}

/// Seed 001: user-based Add Comment listeners add community- or project-level user comments.
async fn user_comment_listeners_write_project_level_comments(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    app.sign_in().await;
    let beta = project(&app, "Beta One", "beta-one").await;
    let gamma = project(&app, "Gamma", "gamma").await;
    let key = s.api_key_id.to_string();
    let base = |extra: &[(&'static str, String)]| {
        let mut pairs: Vec<(&str, String)> = vec![
            ("form[id]", String::new()),
            ("form[scope]", "user".into()),
            ("form[name]", "Milestones".into()),
            ("form[key]", "milestones".into()),
            ("form[kind]", "comment".into()),
            ("form[api_key_id]", key.clone()),
            ("form[enabled]", "on".into()),
            ("form[author_field]", "author_name".into()),
            ("form[comment_field]", "comment".into()),
        ];
        pairs.extend(extra.iter().cloned());
        pairs
    };
    // A project that does not exist, and a project key that clashes with the author's key, are
    // refused naming the field; no listener is written.
    for (extra, field) in [
        (
            vec![("form[target_project_id]", "999999".to_string())],
            "target_project_id",
        ),
        (
            vec![("form[project_param]", "author_name".to_string())],
            "project_param",
        ),
        (
            vec![("form[project_param]", "two words".to_string())],
            "project_param",
        ),
    ] {
        let pairs = base(&extra);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = save_listener(&app, &pairs).await;
        assert_eq!(res.status(), 422, "{extra:?}");
        let err = error_of(res).await;
        assert!(err.field_message(field).is_some(), "{extra:?}: {err:?}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listeners WHERE key = 'milestones'")
            .await,
        0
    );
    // Project Beta One by default; the body's "project" (a key or an id) wins.
    let pairs = base(&[
        ("form[target_project_id]", beta.to_string()),
        ("form[project_param]", "project".to_string()),
    ]);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(save_listener(&app, &pairs).await).await;
    let path = "userCommentListeners/milestones";
    let (status, body) = post(
        &app,
        &s,
        path,
        "c0@example.com",
        json!({ "author_name": ADMIN_EMAIL, "comment": "Reached level 2" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["project_id"], beta.to_string());
    for (named, want) in [
        (json!("GAMMA"), gamma),
        (json!(gamma), gamma),
        (json!(gamma.to_string()), gamma),
        (json!("beta-one"), beta),
    ] {
        let (status, body) = post(
            &app,
            &s,
            path,
            "c0@example.com",
            json!({ "author_name": ADMIN_EMAIL, "comment": format!("About {named}"), "project": named }),
        )
        .await;
        assert_eq!(status, 200, "{named}: {body}");
        assert_eq!(body["project_id"], want.to_string(), "{named}");
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM comments WHERE project_id = {gamma} AND body LIKE 'About %'"
        ))
        .await,
        3
    );
    // A project the body names but that does not exist: 400 naming the key, nothing written.
    let before = comments_about(&app, "c0@example.com").await;
    for named in [json!("no-such-project"), json!(["gamma"]), json!(987654)] {
        let (status, body) = post(
            &app,
            &s,
            path,
            "c0@example.com",
            json!({ "author_name": ADMIN_EMAIL, "comment": "x", "project": named }),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (400, "invalid_field"),
            "{named}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"project\""),
            "{body}"
        );
    }
    assert_eq!(comments_about(&app, "c0@example.com").await, before);
    // A community-level listener (no project) writes community-level comments.
    let pairs: Vec<(&str, String)> = base(&[])
        .into_iter()
        .map(|(k, v)| match k {
            "form[name]" => (k, "Notes".to_string()),
            "form[key]" => (k, "notes".to_string()),
            _ => (k, v),
        })
        .collect();
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(save_listener(&app, &pairs).await).await;
    let (status, body) = post(
        &app,
        &s,
        "userCommentListeners/notes",
        "c0@example.com",
        json!({ "author_name": ADMIN_EMAIL, "comment": "Community note", "project": "gamma" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("project_id").is_none(), "{body}");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM comments WHERE body = 'Community note' AND project_id IS NULL"
        )
        .await,
        1
    );
    // The user's page shows each comment's project.
    let c0 = app
        .count("SELECT id FROM users WHERE email = 'c0@example.com'")
        .await;
    let page = app.get(&format!("/users/{c0}")).await.text().await.unwrap();
    assert!(
        page.contains("project Gamma"),
        "the user page names the project"
    );
    assert!(page.contains("project Beta One"));
    // The comments about a user are theirs: removing the user removes them, project-level too.
    users::delete(&app.db, &Actor::system("test"), &c0.to_string(), true)
        .await
        .unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM comments WHERE user_id = {c0}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM comments WHERE body LIKE 'About %' OR body = 'Reached level 2'"
        )
        .await,
        0
    );
}

/// Seeds 001/003: External Data listeners store on projects as well as users and tickets; the
/// project page shows the project's values, favourites first.
async fn data_listeners_store_on_projects(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    let fb_setup = setup(&app).await;
    let aurora: i64 = fb_setup.project_id.parse().unwrap();
    let beta = project(&app, "Beta One", "beta-one").await;
    let roadmap = group(
        &app,
        "project",
        "Roadmap",
        &[
            ("Stage", "stage", "string", true),
            ("Testers wanted", "wanted", "integer", false),
        ],
    )
    .await
    .to_string();
    let key = s.api_key_id.to_string();
    let form = |name: &'static str, listener_key: &'static str, scope: &'static str| {
        vec![
            ("form[id]", String::new()),
            ("form[scope]", scope.to_string()),
            ("form[name]", name.to_string()),
            ("form[key]", listener_key.to_string()),
            ("form[kind]", "data".to_string()),
            ("form[api_key_id]", key.clone()),
            ("form[enabled]", "on".to_string()),
            ("form[data_group_id]", roadmap.clone()),
        ]
    };
    // A user listener storing into a project group needs the project (or the body's key).
    let pairs = form("Roadmap sync", "roadmap", "user");
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = save_listener(&app, &refs).await;
    assert_eq!(res.status(), 422);
    let err = error_of(res).await;
    assert!(err.field_message("target_project_id").is_some(), "{err:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listeners WHERE key = 'roadmap'")
            .await,
        0
    );
    let mut pairs = form("Roadmap sync", "roadmap", "user");
    pairs.push(("form[project_param]", "project".to_string()));
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(save_listener(&app, &refs).await).await;

    let path = "userDataListeners/roadmap";
    let (status, body) = post(
        &app,
        &s,
        path,
        "c0@example.com",
        json!({ "project": "beta-one", "stage": "Closed beta", "wanted": "12" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let values = external_values::values_for(&app.db, Subject::Project(beta as i32))
        .await
        .unwrap();
    let shown: Vec<(&str, &str)> = values
        .iter()
        .map(|v| (v.label.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(shown, [("Stage", "Closed beta"), ("Testers wanted", "12")]);
    // Nothing lands on the user.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_values WHERE user_id IS NOT NULL")
            .await,
        0
    );
    // No project, or one that does not exist: 400 naming the key, nothing written.
    for (body, want) in [
        (json!({ "stage": "Open beta" }), "missing_field"),
        (
            json!({ "project": "nope", "stage": "Open beta" }),
            "invalid_field",
        ),
    ] {
        let (status, answer) = post(&app, &s, path, "c0@example.com", body.clone()).await;
        assert_eq!((status, code(&answer)), (400, want), "{body}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"project\""),
            "{answer}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_values WHERE value_string = 'Open beta'")
            .await,
        0
    );

    // A feedback listener stores a project group's values on the ticket's project.
    let ticket = submit(&app, &fb_setup, "Crash on save", "c1@example.com").await;
    let pairs = form("Ticket roadmap", "ticket-roadmap", "feedback");
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(save_listener(&app, &refs).await).await;
    let (status, body) = post(
        &app,
        &s,
        "feedbackDataListeners/ticket-roadmap",
        &ticket,
        json!({ "stage": "Release candidate" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM data_values WHERE project_id = {aurora} AND value_string = 'Release candidate'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_values WHERE ticket_id IS NOT NULL")
            .await,
        0
    );

    // The project page's card: favourites first, every value in "All external data".
    let res = ok(app
        .call::<data_fns::ProjectExternalData>(&[("id", &beta.to_string())])
        .await)
    .await;
    let values: Value = res.json().await.unwrap();
    assert_eq!(values[0]["label"], "Stage");
    assert_eq!(values[0]["favorite"], true);
    assert_eq!(values[1]["label"], "Testers wanted");
    let res = app
        .call::<data_fns::ProjectExternalData>(&[("id", "999999")])
        .await;
    assert_eq!(res.status(), 404);
    let page = app
        .get(&format!("/projects/{beta}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Closed beta"),
        "the project page shows the value"
    );
    assert!(page.contains("All external data (2)"));

    // What a call about c0 wrote on a project is theirs: removing them removes it (the
    // receipt counts it), while the value a feedback listener wrote on Aurora stays.
    let c0 = app
        .count("SELECT id FROM users WHERE email = 'c0@example.com'")
        .await;
    users::delete(&app.db, &Actor::system("test"), &c0.to_string(), true)
        .await
        .unwrap();
    let receipt = switchyard::server::engine::erasure::receipts(
        &app.db,
        chrono::Utc::now() - chrono::Duration::hours(1),
        chrono::Utc::now() + chrono::Duration::hours(1),
        1,
    )
    .await
    .unwrap();
    let counts = receipt[0].counts();
    assert!(
        counts.contains(&("external data values removed".to_string(), 2)),
        "{counts:?}"
    );
    assert!(
        external_values::values_for(&app.db, Subject::Project(beta as i32))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM data_values WHERE project_id = {aurora}"
        ))
        .await,
        1
    );
    let page = app
        .get(&format!("/projects/{beta}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Closed beta"));

    // A group created in place with the listener can be a project group: the listener then
    // stores on its project.
    let pairs = [
        ("form[id]", String::new()),
        ("form[scope]", "user".to_string()),
        ("form[name]", "Launch sync".to_string()),
        ("form[key]", "launch".to_string()),
        ("form[kind]", "data".to_string()),
        ("form[api_key_id]", key.clone()),
        ("form[enabled]", "on".to_string()),
        ("form[data_group_id]", "new".to_string()),
        ("form[group_name]", "Launch".to_string()),
        ("form[group_scope]", "project".to_string()),
        ("form[fields][0][slot]", "0".to_string()),
        ("form[fields][0][label]", "Launch date".to_string()),
        ("form[fields][0][parameter]", "launch".to_string()),
        ("form[fields][0][kind]", "string".to_string()),
        ("form[target_project_id]", beta.to_string()),
    ];
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ok(save_listener(&app, &refs).await).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_groups WHERE name = 'Launch' AND scope = 'project'")
            .await,
        1
    );
    let (status, body) = post(
        &app,
        &s,
        "userDataListeners/launch",
        "c1@example.com",
        json!({ "launch": "March" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let values = external_values::values_for(&app.db, Subject::Project(beta as i32))
        .await
        .unwrap();
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(values[0].value, "March");
}

/// Seed 001/003: external data fields are shown in user and feedback management: chosen as
/// columns of the users and feedback lists (favourites by default), kept in the URL, and
/// exported with the lists as CSV, in one query for a page's values.
async fn lists_show_external_data_columns_and_export_them(app: TestApp) {
    let s = seed_listener(&app.db, "score", PLUS_ONE, false, 2).await;
    let fb_setup = setup(&app).await;
    let crm = group(
        &app,
        "user",
        "CRM",
        &[
            ("Tier", "tier", "string", true),
            ("Seats", "seats", "integer", false),
        ],
    )
    .await;
    let field = |label: &str| {
        let sql =
            format!("SELECT id FROM data_fields WHERE group_id = {crm} AND label = '{label}'");
        let app = &app;
        async move { app.count(&sql).await }
    };
    let (tier, seats) = (field("Tier").await, field("Seats").await);
    let key = s.api_key_id.to_string();
    let crm_text = crm.to_string();
    ok(save_listener(
        &app,
        &[
            ("form[id]", ""),
            ("form[scope]", "user"),
            ("form[name]", "CRM sync"),
            ("form[key]", "crm"),
            ("form[kind]", "data"),
            ("form[api_key_id]", &key),
            ("form[enabled]", "on"),
            ("form[data_group_id]", &crm_text),
        ],
    )
    .await)
    .await;
    for (email, body) in [
        ("c0@example.com", json!({ "tier": "Gold", "seats": 40 })),
        ("c1@example.com", json!({ "tier": "=HYPERLINK(\"x\")" })),
    ] {
        let (status, answer) = post(&app, &s, "userDataListeners/crm", email, body).await;
        assert_eq!(status, 200, "{answer}");
    }
    let list = |pairs: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = ok(app
                .call::<switchyard::server_fns::users::ListUsers>(&refs)
                .await)
            .await;
            res.json::<switchyard::types::UserListPage>().await.unwrap()
        }
    };
    let cells = |page: &switchyard::types::UserListPage, email: &str| {
        page.rows
            .iter()
            .find(|r| r.email == email)
            .map(|r| r.extra.clone())
            .unwrap()
    };
    // Nothing chosen: the favourite fields, offered first.
    let page = list(vec![("query[q]", "example.com".into())]).await;
    let labels = |cols: &[switchyard::types::DataColumn]| -> Vec<String> {
        cols.iter().map(|c| c.label.clone()).collect()
    };
    assert_eq!(labels(&page.columns.offered), ["CRM · Tier", "CRM · Seats"]);
    assert_eq!(labels(&page.columns.shown), ["CRM · Tier"]);
    assert_eq!(cells(&page, "c0@example.com"), ["Gold"]);
    // Chosen columns, in the order offered; a row without a value has an empty cell.
    let page = list(vec![
        ("query[q]", "example.com".into()),
        ("query[cols]", format!("{seats},{tier},999999")),
    ])
    .await;
    assert_eq!(labels(&page.columns.shown), ["CRM · Tier", "CRM · Seats"]);
    assert_eq!(cells(&page, "c0@example.com"), ["Gold", "40"]);
    assert_eq!(cells(&page, "c1@example.com"), ["=HYPERLINK(\"x\")", ""]);
    assert_eq!(cells(&page, ADMIN_EMAIL), ["", ""]);
    // The page without JavaScript: the choice lives in the URL.
    let html = app
        .get(&format!("/users?q=example.com&columns=chosen&col={seats}"))
        .await
        .text()
        .await
        .unwrap();
    // (without the hydration markers)
    let html = html.replace("<!>", "");
    assert!(
        html.contains("CRM · Seats</th>"),
        "the chosen column heads the table"
    );
    assert!(html.contains(">40</td>"));
    assert!(
        !html.contains("CRM · Tier</th>"),
        "an unticked favourite is not shown"
    );
    // The CSV export: the list's matches with the same columns; formulas stay text.
    let res = app
        .get(&format!(
            "/users.csv?q=example.com&columns=chosen&col={tier}&col={seats}"
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "email,first_name,last_name,role,teams,score,joined,CRM · Tier,CRM · Seats"
    );
    let c0 = csv
        .lines()
        .find(|l| l.starts_with("c0@example.com"))
        .unwrap();
    assert!(c0.ends_with(",Gold,40"), "{c0}");
    let c1 = csv
        .lines()
        .find(|l| l.starts_with("c1@example.com"))
        .unwrap();
    assert!(c1.contains("'=HYPERLINK"), "{c1}");
    // Signed out, the export sends to the sign-in page and shows nothing.
    let res = common::client()
        .get(app.url("/users.csv"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());

    // The feedback list: a feedback field as a column, and the list's CSV export.
    let jira = group(
        &app,
        "feedback",
        "Jira",
        &[("Issue", "issue", "string", true)],
    )
    .await;
    let ticket = submit(&app, &fb_setup, "Crash on save", "c0@example.com").await;
    submit(&app, &fb_setup, "Slow start", "c1@example.com").await;
    let jira_text = jira.to_string();
    ok(save_listener(
        &app,
        &[
            ("form[id]", ""),
            ("form[scope]", "feedback"),
            ("form[name]", "Jira sync"),
            ("form[key]", "jira"),
            ("form[kind]", "data"),
            ("form[api_key_id]", &key),
            ("form[enabled]", "on"),
            ("form[data_group_id]", &jira_text),
        ],
    )
    .await)
    .await;
    let (status, answer) = post(
        &app,
        &s,
        "feedbackDataListeners/jira",
        &ticket,
        json!({ "issue": "BETA-7" }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let res = ok(app
        .call::<fb::ListTickets>(&[("query[project_id]", fb_setup.project_id.as_str())])
        .await)
    .await;
    let page: switchyard::types::TicketListPage = res.json().await.unwrap();
    assert_eq!(labels(&page.columns.shown), ["Jira · Issue"]);
    let crash = page
        .rows
        .iter()
        .find(|r| r.title == "Crash on save")
        .unwrap();
    assert_eq!(crash.extra, ["BETA-7"]);
    let slow = page.rows.iter().find(|r| r.title == "Slow start").unwrap();
    assert_eq!(slow.extra, [""]);
    let csv = app
        .get(&format!("/feedback.csv?project_id={}", fb_setup.project_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("id,title,type,status,team,submitter,popularity,updated,Jira · Issue\n"),
        "{csv}"
    );
    let line = csv.lines().find(|l| l.contains("Crash on save")).unwrap();
    assert!(
        line.starts_with(&format!("{ticket},")) && line.ends_with(",BETA-7"),
        "{line}"
    );
    // No columns chosen: none in the export either.
    let csv = app
        .get(&format!(
            "/feedback.csv?project_id={}&columns=chosen",
            fb_setup.project_id
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("id,title,type,status,team,submitter,popularity,updated\n"),
        "{csv}"
    );
    assert_eq!(
        app.get("/feedback.csv?project_id=999999").await.status(),
        404
    );
}

on_both_backends!(
    user_comment_listeners_write_project_level_comments,
    data_listeners_store_on_projects,
    lists_show_external_data_columns_and_export_them,
);
