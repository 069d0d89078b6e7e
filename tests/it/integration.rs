//! Integration tests: the real server on port 0, a fresh database per test, every test run on
//! SQLite and on PostgreSQL.

use crate::common;
use switchyard::server::engine::matching;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, error_of};
use leptos::server_fn::ServerFn;
use switchyard::errors::AppError;
use switchyard::server_fns::{
    api_keys as key_fns, auth, filters as filter_fns, listeners as listener_fns,
    macros as macro_fns, teams as team_fns, users as user_fns,
};

on_both_backends!(
    health_probes_answer,
    signed_out_pages_redirect_to_sign_in,
    sign_in_checks_password_and_sets_a_safe_cookie,
    failed_sign_ins_are_throttled,
    sign_in_issues_a_new_session_and_sign_out_ends_it,
    cross_site_writes_are_refused,
    users_are_created_validated_edited_and_deleted,
    project_managers_cannot_change_users,
    csv_import_reports_bad_rows_and_imports_the_rest,
    users_list_searches_filters_and_pages,
    teams_are_managed,
    audit_log_is_append_only,
    migrations_roll_back_and_forward,
    idle_sessions_expire,
    plain_form_posts_redirect_with_errors,
    api_keys_are_shown_once_and_stored_hashed,
    api_keys_authenticate_callers,
    filters_select_users_by_and_or_groups,
    macros_run_actions_and_remove_a_user_completely,
    user_macro_listener_answers_every_status,
    the_filter_editor_previews_unsaved_conditions,
    opt_out_dashboard_counts_removals_by_day_listener_and_macro,
    opt_out_csv_is_for_community_managers_only,
    listener_log_filters_by_listener_status_user_and_pages,
    sign_in_returns_only_to_paths_on_this_site,
    pages_escape_every_text_and_carry_security_headers,
    project_managers_see_no_audit_entries_anywhere,
    password_changes_and_sign_out_everywhere_end_other_sessions,
    people_with_sign_in_attempts_and_managers_are_erased_completely,
    a_missing_or_different_key_file_stops_start_up,
    servers_starting_beside_a_server_leave_its_pages_whole,
    project_managers_use_the_integration_screens_but_not_removals,
);

/// The server functions only community managers may call; every other one (but signing in
/// and out) is open to project managers too.
const COMMUNITY_MANAGERS_ONLY: &[&str] = &[
    "/api/load_audit_page",
    "/api/load_api_keys",
    "/api/load_api_key",
    "/api/save_api_key",
    "/api/toggle_api_key",
    "/api/delete_api_key",
    "/api/load_opt_out_dashboard",
    "/api/save_team",
    "/api/delete_team",
    "/api/load_user_form",
    "/api/save_user",
    "/api/delete_user",
    "/api/load_import_report",
    "/api/save_project",
    "/api/create_feedback_type",
    "/api/save_feedback_type",
    "/api/load_config_overview",
    "/api/load_config_import",
    "/api/apply_config_import",
];

/// Seed 001's "Community or Project Manager access": a project manager uses listeners, macros,
/// filters, webhooks, external data and sources, bulk runs and both logs; API keys, the audit
/// log, the opt-out dashboard, users, teams and projects' settings stay with community
/// managers, and so do macros that remove users (seen, never created, changed or run).
async fn project_managers_use_the_integration_screens_but_not_removals(app: TestApp) {
    app.sign_in().await;
    for (name, key, extra) in [
        ("Forget", "forget", ("form[remove_user]", "on")),
        (
            "Points",
            "points",
            ("form[actions][0][kind]", "adjust_score"),
        ),
    ] {
        let res = app
            .call::<macro_fns::SaveMacro>(&[
                ("form[name]", name),
                ("form[key]", key),
                ("form[actions][0][slot]", "0"),
                ("form[actions][0][value]", "3"),
                ("form[show_in_user_actions]", "on"),
                extra,
            ])
            .await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{name}"
        );
    }
    let removal = app
        .count("SELECT id FROM macros WHERE key = 'forget'")
        .await
        .to_string();
    let points = app
        .count("SELECT id FROM macros WHERE key = 'points'")
        .await
        .to_string();
    app.call::<filter_fns::SaveFilter>(&[
        ("form[name]", "Everyone"),
        ("form[rows][0][slot]", "0"),
        ("form[rows][0][field]", "email"),
        ("form[rows][0][op]", "contains"),
        ("form[rows][0][value]", "@"),
    ])
    .await;
    let filter = app.count("SELECT id FROM filters").await.to_string();
    let (key_id, _) = create_key(&app, "Jira", "jira", "").await;
    // The community manager's GDPR listener, guarded by the filter.
    let res = app
        .call::<listener_fns::SaveListener>(&[
            ("form[name]", "GDPR"),
            ("form[key]", "gdpr"),
            ("form[macro_id]", &removal),
            ("form[filter_id]", &filter),
            ("form[api_key_id]", &key_id.to_string()),
        ])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let pm = app.project_manager().await;
    app.call::<user_fns::SaveUser>(&[
        ("form[email]", "tess@example.com"),
        ("form[first_name]", "Tess"),
        ("form[last_name]", "Tester"),
    ])
    .await;
    let tess = app
        .count("SELECT id FROM users WHERE email = 'tess@example.com'")
        .await
        .to_string();

    // Every server function: refused (403) exactly when it is a community manager's. The
    // arguments fit every function's shape; what they name does not exist, so an allowed
    // call answers 404 or 422 and changes nothing.
    let args: &[(&str, &str)] = &[
        ("form[id]", "999999"),
        ("id", "999999"),
        ("page", "0"),
        ("days", "7"),
        ("scope", "user"),
        ("target", "nobody@example.com"),
        ("macro_id", "999999"),
        ("user_id", "999999"),
        ("ticket_id", "999999"),
        ("follow", "no"),
        ("find", "nobody@example.com"),
        ("preset", ""),
        ("project_id", "999999"),
        ("query[page]", "0"),
    ];
    let mut checked = 0;
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        if ["/api/sign_in", "/api/sign_out", "/api/current_user"].contains(&path) {
            continue;
        }
        let url = pm.url(path);
        let req = if method == http::Method::GET {
            pm.client.get(url).query(args)
        } else {
            pm.client.post(url).form(args)
        };
        let status = req.send().await.unwrap().status();
        // Ending sessions is every manager's for their own; these args name someone else.
        let refused = COMMUNITY_MANAGERS_ONLY.contains(&path) || path == "/api/end_sessions";
        assert_eq!(
            status == 403,
            refused,
            "{path} answered a project manager {status}"
        );
        checked += 1;
    }
    assert!(checked > 60, "every server function is called ({checked})");

    // The pages of the menu.
    for (page, allowed) in [
        ("/macros", true),
        ("/listeners", true),
        ("/listeners/log", true),
        ("/webhooks/log", true),
        ("/external-data", true),
        ("/filters/new", true),
        ("/api-keys", false),
        ("/api-keys/new", false),
        ("/users/import", false),
        ("/audit", false),
        ("/opt-out", false),
    ] {
        let status = pm.get(page).await.status();
        assert_eq!(status == 200, allowed, "{page}: {status}");
    }

    // Macros of their own, run on a user and in bulk.
    let res = pm
        .call::<macro_fns::SaveMacro>(&[
            ("form[name]", "Welcome"),
            ("form[key]", "welcome"),
            ("form[actions][0][slot]", "0"),
            ("form[actions][0][kind]", "add_comment"),
            ("form[actions][0][value]", "Welcome!"),
        ])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let res = pm
        .call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &points),
            ("form[user_id]", &tess),
            ("form[confirm]", "on"),
        ])
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{:?}",
        res.text().await
    );
    assert_eq!(
        pm.count(&format!("SELECT score FROM users WHERE id = {tess}"))
            .await,
        3
    );

    // Removal macros are not offered to them to run, on a user's page or in bulk; the
    // community manager gets both.
    for (who, removal_offered) in [(&pm, false), (&app, true)] {
        let detail: switchyard::types::UserDetail = who
            .call::<user_fns::LoadUserDetail>(&[("id", &tess)])
            .await
            .json()
            .await
            .unwrap();
        let preview: switchyard::types::FilterPreview = who
            .call::<filter_fns::LoadFilterPreview>(&[("id", &filter)])
            .await
            .json()
            .await
            .unwrap();
        let on_page: Vec<String> = detail.macros.iter().map(|m| m.0.to_string()).collect();
        let in_bulk: Vec<String> = preview.macros.iter().map(|m| m.0.to_string()).collect();
        for offered in [on_page, in_bulk] {
            assert!(offered.contains(&points), "{offered:?}");
            assert_eq!(offered.contains(&removal), removal_offered, "{offered:?}");
        }
    }

    // A removal macro: not made, changed, deleted, run, put on a listener or in a bulk run, its
    // webhooks left alone, and the filter that picks whom its listener may remove not widened.
    let key_id = key_id.to_string();
    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            macro_fns::SaveMacro::PATH,
            vec![
                ("form[name]", "Mine"),
                ("form[key]", "mine"),
                ("form[remove_user]", "on"),
            ],
        ),
        (
            macro_fns::SaveMacro::PATH,
            vec![
                ("form[id]", &removal),
                ("form[name]", "Forget"),
                ("form[key]", "forget"),
                ("form[actions][0][slot]", "0"),
                ("form[actions][0][kind]", "adjust_score"),
                ("form[actions][0][value]", "1"),
            ],
        ),
        (
            macro_fns::DeleteMacro::PATH,
            vec![("form[id]", &removal), ("form[confirm]", "on")],
        ),
        (
            macro_fns::RunMacro::PATH,
            vec![
                ("form[macro_id]", &removal),
                ("form[user_id]", &tess),
                ("form[confirm]", "on"),
            ],
        ),
        (
            switchyard::server_fns::bulk_runs::StartBulkRun::PATH,
            vec![
                ("form[filter_id]", &filter),
                ("form[macro_id]", &removal),
                ("form[confirm]", "on"),
            ],
        ),
        (
            listener_fns::SaveListener::PATH,
            vec![
                ("form[name]", "GDPR 2"),
                ("form[key]", "gdpr-2"),
                ("form[macro_id]", &removal),
                ("form[api_key_id]", &key_id),
            ],
        ),
        (
            filter_fns::SaveFilter::PATH,
            vec![
                ("form[id]", &filter),
                ("form[name]", "Everyone"),
                ("form[rows][0][slot]", "0"),
                ("form[rows][0][field]", "email"),
                ("form[rows][0][op]", "contains"),
                ("form[rows][0][value]", "."),
            ],
        ),
        (
            switchyard::server_fns::webhooks::SaveWebhook::PATH,
            vec![
                ("form[macro_id]", &removal),
                ("form[name]", "Tell the CRM"),
                ("form[method]", "POST"),
                ("form[url]", "http://127.0.0.1:9/crm"),
            ],
        ),
    ];
    for (path, pairs) in &refused {
        let err = error_of(pm.call_with(&pm.client, path, pairs, &[]).await).await;
        assert!(matches!(err, AppError::Forbidden(_)), "{path}: {err:?}");
    }
    // Nor the filter that guards the removal's automation on user events (whom it removes when
    // they leave a team).
    let guard = app
        .call::<filter_fns::SaveFilter>(&[
            ("form[name]", "Leavers"),
            ("form[scope]", "user"),
            ("form[rows][0][slot]", "0"),
            ("form[rows][0][field]", "email"),
            ("form[rows][0][op]", "contains"),
            ("form[rows][0][value]", "@leavers.example.com"),
        ])
        .await;
    assert!(
        guard.status().is_success(),
        "{}",
        guard.text().await.unwrap()
    );
    let guard = app.count("SELECT MAX(id) FROM filters").await.to_string();
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(&format!(
            "UPDATE macros SET on_team_leave = TRUE, automation_filter_id = {guard} WHERE id = {removal}"
        ))
        .await
        .unwrap();
    let widen = [
        ("form[id]", guard.as_str()),
        ("form[name]", "Everyone"),
        ("form[rows][0][slot]", "0"),
        ("form[rows][0][field]", "email"),
        ("form[rows][0][op]", "contains"),
        ("form[rows][0][value]", "."),
    ];
    let err = error_of(pm.call::<filter_fns::SaveFilter>(&widen).await).await;
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    assert_eq!(
        pm.count("SELECT COUNT(*) FROM filters WHERE name = 'Leavers'")
            .await,
        1
    );
    assert_eq!(pm.count("SELECT COUNT(*) FROM webhooks").await, 0);
    assert_eq!(
        pm.count("SELECT COUNT(*) FROM macros WHERE key IN ('forget', 'mine')")
            .await,
        1,
        "the removal macro is as it was, and no other was made"
    );
    assert_eq!(
        pm.count("SELECT COUNT(*) FROM users WHERE email = 'tess@example.com'")
            .await,
        1
    );
    assert_eq!(pm.count("SELECT COUNT(*) FROM listeners").await, 1);
    assert_eq!(pm.count("SELECT COUNT(*) FROM bulk_runs").await, 0);
    // Pointing a listener at their own macro is theirs.
    let res = pm
        .call::<listener_fns::SaveListener>(&[
            ("form[name]", "Points"),
            ("form[key]", "points"),
            ("form[macro_id]", &points),
            ("form[api_key_id]", &key_id),
        ])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(pm.count("SELECT COUNT(*) FROM listeners").await, 2);

    // The screens say so before the server refuses: the removal's listener and webhook are
    // shown to them without their forms, test panels or delete controls, and the listener
    // editor does not offer the removal macro; the community manager sees all of it.
    let res = app
        .call::<switchyard::server_fns::webhooks::SaveWebhook>(&[
            ("form[macro_id]", &removal),
            ("form[name]", "Tell the CRM"),
            ("form[method]", "POST"),
            ("form[url]", "https://crm.example.com/forget"),
        ])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let hook = app.count("SELECT id FROM webhooks").await;
    let gdpr = app
        .count("SELECT id FROM listeners WHERE key = 'gdpr'")
        .await;
    for (who, locked) in [(&pm, true), (&app, false)] {
        let form: switchyard::types::ListenerFormOptions = who
            .call::<listener_fns::LoadListenerForm>(&[("id", &gdpr.to_string()), ("scope", "")])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(form.locked, locked);
        let offered: Vec<String> = form.macros.iter().map(|m| m.0.to_string()).collect();
        assert_eq!(offered.contains(&removal), !locked, "{offered:?}");
        assert!(offered.contains(&points));
        let listener_page = who
            .get(&format!("/listeners/{gdpr}"))
            .await
            .text()
            .await
            .unwrap();
        let webhook_page = who
            .get(&format!("/webhooks/{hook}"))
            .await
            .text()
            .await
            .unwrap();
        for page in [&listener_page, &webhook_page] {
            assert_eq!(page.contains("data-testid=\"removal-locked\""), locked);
        }
        assert_eq!(listener_page.contains("Save listener"), !locked);
        assert_eq!(listener_page.contains("Delete listener"), !locked);
        assert_eq!(webhook_page.contains("Delete webhook"), !locked);
        assert!(webhook_page.contains("https://crm.example.com/forget"));
    }
    // Their own listener is theirs to change.
    let own = pm
        .count("SELECT id FROM listeners WHERE key = 'points'")
        .await;
    let page = pm
        .get(&format!("/listeners/{own}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Save listener") && !page.contains("removal-locked"));
}

/// Servers started in the same process while one renders pages (as tests do side by side)
/// leave its pages whole. Listing the app's routes suppresses resource loads through one flag
/// for the whole process, and a page whose resource first polled while it was on never
/// finished; the routes are now listed once per process, before any server serves.
async fn servers_starting_beside_a_server_leave_its_pages_whole(app: TestApp) {
    app.sign_in_as(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(app.get("/users").await.status(), 200, "signed in");
    // A second server's state, its router built again and again beside the pages.
    let settings = switchyard::server::settings::Settings::for_database(
        &common::fresh_database(common::Backend::Sqlite).await,
    );
    let options = leptos::config::LeptosOptions::builder()
        .output_name("switchyard")
        .site_root("target/site")
        .build();
    let state = switchyard::server::startup::prepare(settings, options)
        .await
        .expect("a second server prepares");
    let starting = tokio::task::spawn_blocking(move || {
        for _ in 0..200 {
            drop(switchyard::server::startup::router(state.clone()));
        }
    });
    let mut rounds = 0;
    while !starting.is_finished() || rounds < 3 {
        rounds += 1;
        let pages = ["/users", "/filters", "/macros", "/listeners/log"].map(|path| {
            let req = app.client.get(app.url(path));
            async move {
                let res = req.send().await;
                (path, res)
            }
        });
        for (path, res) in futures::future::join_all(pages).await {
            let res = res.unwrap_or_else(|e| panic!("{path} did not answer: {e}"));
            assert_eq!(res.status(), 200, "{path}");
            let body = res.text().await.unwrap();
            assert!(body.contains("</html>"), "{path} rendered whole");
        }
    }
    starting.await.unwrap();
}

/// A serving node records which key file the database is keyed with; starting it with none,
/// or another, then stops with what to do instead of making a new key that would match and
/// open nothing.
async fn a_missing_or_different_key_file_stops_start_up(app: TestApp) {
    use switchyard::server::startup;
    // `serve` (spawned by the harness) records it as it starts.
    for _ in 0..100 {
        if app
            .count("SELECT COUNT(*) FROM community WHERE key_check <> ''")
            .await
            == 1
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let options = || {
        leptos::config::LeptosOptions::builder()
            .output_name("switchyard")
            .site_root("target/site")
            .build()
    };
    let dir = std::env::temp_dir().join(format!("keys-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut missing = app.settings.clone();
    missing.secret_key_file = dir.join("secret.key");
    let err = startup::prepare(missing.clone(), options())
        .await
        .err()
        .expect("no key file: refused");
    assert!(err.contains("is missing"), "{err}");
    assert!(!missing.secret_key_file.exists(), "and no new key was made");

    std::fs::write(&missing.secret_key_file, "ab".repeat(32)).unwrap();
    let err = startup::prepare(missing.clone(), options())
        .await
        .err()
        .expect("another key file: refused");
    assert!(err.contains("is not the one"), "{err}");

    // The right one, copied elsewhere (another node), starts.
    let copied = dir.join("copied.key");
    std::fs::copy(&app.settings.secret_key_file, &copied).unwrap();
    let mut node = app.settings.clone();
    node.secret_key_file = copied;
    assert!(startup::prepare(node, options()).await.is_ok());

    // A one-off command on a new database (a migration in a container without the key file)
    // makes a key to work with but records none, so the real nodes' file is not locked out.
    let backend = if app.settings.database_url.expose().starts_with("sqlite") {
        crate::common::Backend::Sqlite
    } else {
        crate::common::Backend::Postgres
    };
    let mut one_off = switchyard::server::settings::Settings::for_database(
        &crate::common::fresh_database(backend).await,
    );
    one_off.secret_key_file = dir.join("throwaway.key");
    let state = startup::prepare(one_off.clone(), options()).await.unwrap();
    let recorded: Vec<(String,)> = {
        use sea_orm::{EntityTrait, QuerySelect};
        switchyard::server::entities::community::Entity::find()
            .select_only()
            .column(switchyard::server::entities::community::Column::KeyCheck)
            .into_tuple()
            .all(&state.db)
            .await
            .unwrap()
    };
    assert_eq!(recorded, [(String::new(),)]);
    assert!(one_off.secret_key_file.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn health_probes_answer(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

async fn signed_out_pages_redirect_to_sign_in(app: TestApp) {
    for path in ["/", "/users", "/users/1", "/teams", "/audit"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/login?next="), "{path} → {location}");
    }
    let login = app.get("/login").await;
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("Sign in"));
    // Server functions refuse without a session.
    let res = app.call::<user_fns::ListUsers>(&[("query[q]", "")]).await;
    assert_eq!(error_of(res).await, AppError::Unauthorized);
}

async fn sign_in_checks_password_and_sets_a_safe_cookie(app: TestApp) {
    let res = app.sign_in_as(ADMIN_EMAIL, "wrong password!").await;
    let err = error_of(res).await;
    assert!(
        err.field_message("password").unwrap().contains("not right"),
        "{err:?}"
    );
    assert_eq!(
        app.get("/users").await.status(),
        303,
        "no session after a failure"
    );

    let res = app.sign_in_as("CM@Example.com", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("switchyard_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http has no Secure flag");
    assert_eq!(res.headers()["location"], "/users");

    let page = app.get("/users").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("cm@example.com"),
        "the users list shows the manager"
    );

    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.failed'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.succeeded'")
            .await,
        1
    );
    // Only a hash of the token is stored.
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM admin_sessions WHERE id = '{token}'"
        ))
        .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM admin_sessions").await, 1);
}

async fn failed_sign_ins_are_throttled(app: TestApp) {
    for _ in 0..app.settings.login_max_failures {
        let err = error_of(app.sign_in_as(ADMIN_EMAIL, "not the password").await).await;
        assert!(matches!(err, AppError::Validation(_)), "{err:?}");
    }
    // Even the right password is refused now, for a moment: the wait grows with each
    // failure, but never locks the manager out.
    let res = app.sign_in_as(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let err = error_of(res).await;
    assert!(matches!(err, AppError::TooManyRequests { .. }), "{err:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.throttled'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM admin_sessions").await, 0);
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    app.sign_in().await;
}

async fn sign_in_issues_a_new_session_and_sign_out_ends_it(app: TestApp) {
    app.sign_in().await;
    let first = app.count("SELECT COUNT(*) FROM admin_sessions").await;
    assert_eq!(first, 1);
    // Signing in again from the same browser replaces the session rather than adding one.
    app.sign_in().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM admin_sessions").await, 1);
    assert_eq!(app.get("/users").await.status(), 200);

    let res = app.call::<auth::SignOut>(&[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["location"], "/login?notice=signed_out");
    assert_eq!(app.count("SELECT COUNT(*) FROM admin_sessions").await, 0);
    assert_eq!(app.get("/users").await.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_out'")
            .await,
        1
    );
}

async fn cross_site_writes_are_refused(app: TestApp) {
    app.sign_in().await;
    let form = [
        ("form[email]", "eve@example.com"),
        ("form[first_name]", "Eve"),
        ("form[last_name]", "Mallory"),
    ];
    let res = app
        .call_with(
            &app.client,
            user_fns::SaveUser::PATH,
            &form,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .call_with(
            &app.client,
            user_fns::SaveUser::PATH,
            &form,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'eve@example.com'")
            .await,
        0
    );
    // The same request from the app itself goes through.
    let res = app
        .call_with(
            &app.client,
            user_fns::SaveUser::PATH,
            &form,
            &[("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'eve@example.com'")
            .await,
        1
    );
}

async fn users_are_created_validated_edited_and_deleted(app: TestApp) {
    app.sign_in().await;
    let team = app
        .call::<team_fns::SaveTeam>(&[("form[name]", "Customers")])
        .await;
    assert_eq!(team.status(), 200);

    // Every bad field is named, and nothing is written.
    let before = app.count("SELECT COUNT(*) FROM users").await;
    let err = error_of(
        app.call::<user_fns::SaveUser>(&[
            ("form[email]", "not-an-email"),
            ("form[first_name]", ""),
            ("form[last_name]", "Lovelace"),
            ("form[score]", "lots"),
            ("form[role]", "project_manager"),
        ])
        .await,
    )
    .await;
    for field in ["email", "first_name", "score", "password"] {
        assert!(
            err.field_message(field).is_some(),
            "{field} not reported: {err:?}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, before);

    let team_id = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await
        .to_string();
    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[email]", "Ada@Example.com"),
            ("form[first_name]", "Ada"),
            ("form[last_name]", "Lovelace"),
            ("form[score]", "12"),
            ("form[role]", "participant"),
            ("form[team_ids][]", &team_id),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let id = app
        .count("SELECT id FROM users WHERE email = 'ada@example.com'")
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("/users/{id}?notice=user_created").as_str()
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM team_memberships WHERE user_id = {id}"
        ))
        .await,
        1
    );

    // Emails are unique whatever their case.
    let dup = error_of(
        app.call::<user_fns::SaveUser>(&[
            ("form[email]", "ADA@example.com"),
            ("form[first_name]", "Other"),
            ("form[last_name]", "Ada"),
        ])
        .await,
    )
    .await;
    assert!(
        dup.field_message("email")
            .unwrap()
            .contains("already exists")
    );

    let page = app.get(&format!("/users/{id}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Ada Lovelace") && html.contains("Customers"));

    let id_s = id.to_string();
    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[id]", &id_s),
            ("form[email]", "ada@example.com"),
            ("form[first_name]", "Augusta Ada"),
            ("form[last_name]", "King"),
            ("form[score]", "13"),
            ("form[role]", "participant"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.count(&format!("SELECT score FROM users WHERE id = {id}"))
            .await,
        13
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM team_memberships WHERE user_id = {id}"
        ))
        .await,
        0,
        "unticked team removed"
    );

    // Deleting needs the confirmation box.
    let err = error_of(
        app.call::<user_fns::DeleteUser>(&[("form[id]", &id_s)])
            .await,
    )
    .await;
    assert!(err.field_message("confirm").is_some());
    let res = app
        .call::<user_fns::DeleteUser>(&[("form[id]", &id_s), ("form[confirm]", "on")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM users WHERE id = {id}"))
            .await,
        0
    );
    assert_eq!(app.get(&format!("/users/{id}")).await.status(), 404);

    // The last community manager cannot delete themself.
    let me = app
        .count("SELECT id FROM users WHERE email = 'cm@example.com'")
        .await
        .to_string();
    let err = error_of(
        app.call::<user_fns::DeleteUser>(&[("form[id]", &me), ("form[confirm]", "on")])
            .await,
    )
    .await;
    assert!(
        err.field_message("confirm")
            .unwrap()
            .contains("your own account")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('user.created','user.updated','user.deleted')").await, 3);
}

async fn project_managers_cannot_change_users(app: TestApp) {
    app.sign_in().await;
    let pm = app.project_manager().await;
    assert_eq!(
        pm.get("/users").await.status(),
        200,
        "project managers see the list"
    );
    let err = error_of(
        pm.call::<user_fns::SaveUser>(&[
            ("form[email]", "x@example.com"),
            ("form[first_name]", "X"),
            ("form[last_name]", "Y"),
        ])
        .await,
    )
    .await;
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    assert_eq!(
        pm.count("SELECT COUNT(*) FROM users WHERE email = 'x@example.com'")
            .await,
        0
    );
}

async fn csv_import_reports_bad_rows_and_imports_the_rest(app: TestApp) {
    app.sign_in().await;
    app.call::<team_fns::SaveTeam>(&[("form[name]", "Customers")])
        .await;
    let csv = "email,first_name,last_name,teams,score\n\
               grace@example.com,Grace,Hopper,Customers,5\n\
               broken-email,No,Body,,\n\
               linus@example.com,Linus,Torvalds,Nope,x\n\
               GRACE@example.com,Grace,Again,,\n\
               zoe@example.com,Zoë,\"Ång, Jr\",customers,\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("people.csv"),
    );
    let res = app
        .client
        .post(app.url("/users/import/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/users/import/"), "{location}");
    let html = app.get(&location).await.text().await.unwrap();
    assert!(html.contains("2 of 5 rows imported, 3 rejected"), "{html}");
    assert!(html.contains("broken-email"));
    assert!(html.contains("unknown team"));
    assert!(html.contains("appears earlier in this file"));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM users WHERE email IN ('grace@example.com','zoe@example.com')"
        )
        .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'linus@example.com'")
            .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM team_memberships").await, 2);

    // A file without the required columns is refused as a whole.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"name\nx\n".to_vec()).file_name("bad.csv"),
    );
    let res = app
        .client
        .post(app.url("/users/import/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/users/import?error="), "{location}");
}

async fn users_list_searches_filters_and_pages(app: TestApp) {
    switchyard::server::admin::community::load_demo_data(&app.db, 120)
        .await
        .unwrap();
    app.sign_in().await;
    let html = app.get("/users").await.text().await.unwrap();
    assert!(
        html.contains("Page 1 of 3 · 121 in all"),
        "{}",
        &html[..html.len().min(3000)]
    );
    let html = app.get("/users?page=2").await.text().await.unwrap();
    assert!(html.contains("Page 3 of 3"));
    let admins = app
        .count("SELECT id FROM teams WHERE name = 'Administrators'")
        .await;
    let expected = app
        .count(&format!(
            "SELECT COUNT(*) FROM team_memberships WHERE team_id = {admins}"
        ))
        .await;
    let html = app
        .get(&format!("/users?team={admins}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("{expected} in all")), "team filter");
    let html = app.get("/users?q=HOPPER").await.text().await.unwrap();
    let hoppers = app
        .count("SELECT COUNT(*) FROM users WHERE last_name = 'Hopper'")
        .await;
    assert!(hoppers > 0);
    assert!(
        html.contains(&format!("{hoppers} in all")),
        "search is case-insensitive"
    );
    let html = app
        .get("/users?q=nobody-matches-this")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No users match."));
}

async fn teams_are_managed(app: TestApp) {
    app.sign_in().await;
    let err = error_of(
        app.call::<team_fns::SaveTeam>(&[("form[name]", "  ")])
            .await,
    )
    .await;
    assert!(err.field_message("name").is_some());
    assert_eq!(
        app.call::<team_fns::SaveTeam>(&[("form[name]", "Testers")])
            .await
            .status(),
        200
    );
    let dup = error_of(
        app.call::<team_fns::SaveTeam>(&[("form[name]", "Testers")])
            .await,
    )
    .await;
    assert!(
        dup.field_message("name")
            .unwrap()
            .contains("already exists")
    );
    let id = app
        .count("SELECT id FROM teams WHERE name = 'Testers'")
        .await
        .to_string();
    let res = app
        .call::<team_fns::SaveTeam>(&[
            ("form[id]", &id),
            ("form[name]", "Beta testers"),
            ("form[description]", "Invited"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let html = app.get("/teams").await.text().await.unwrap();
    assert!(html.contains("Beta testers") && html.contains("Invited"));
    let res = app
        .call::<team_fns::DeleteTeam>(&[("form[id]", &id), ("form[confirm]", "on")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM teams").await, 0);
}

async fn audit_log_is_append_only(app: TestApp) {
    app.sign_in().await;
    use sea_orm::ConnectionTrait;
    assert!(app.count("SELECT COUNT(*) FROM audit_log").await > 0);
    assert!(
        app.db
            .execute_unprepared("UPDATE audit_log SET action = 'x'")
            .await
            .is_err()
    );
    assert!(
        app.db
            .execute_unprepared("DELETE FROM audit_log")
            .await
            .is_err()
    );
    let html = app.get("/audit").await.text().await.unwrap();
    assert!(html.contains("sign_in.succeeded"));
}

async fn migrations_roll_back_and_forward(app: TestApp) {
    use migration::{Migrator, MigratorTrait};
    Migrator::down(&app.db, None)
        .await
        .expect("every migration has a working down");
    Migrator::up(&app.db, None)
        .await
        .expect("and applies again");
    assert_eq!(app.count("SELECT COUNT(*) FROM roles").await, 3);
}

async fn idle_sessions_expire(app: TestApp) {
    use sea_orm::ConnectionTrait;
    app.sign_in().await;
    assert_eq!(app.get("/users").await.status(), 200);
    let past = (chrono::Utc::now() - chrono::Duration::hours(5)).to_rfc3339();
    app.db
        .execute_unprepared(&format!(
            "UPDATE admin_sessions SET last_seen_at = '{past}'"
        ))
        .await
        .unwrap();
    assert_eq!(
        app.get("/users").await.status(),
        303,
        "idle for longer than the setting"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM admin_sessions").await, 0);

    // A session in use still ends at its absolute expiry.
    app.sign_in().await;
    assert_eq!(app.get("/users").await.status(), 200);
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    app.db
        .execute_unprepared(&format!("UPDATE admin_sessions SET expires_at = '{past}'"))
        .await
        .unwrap();
    assert_eq!(
        app.get("/users").await.status(),
        303,
        "past the absolute expiry"
    );
}

/// Without JavaScript a form posts straight to the server function: errors come back in the
/// redirect to the form's page, success redirects to the target.
async fn plain_form_posts_redirect_with_errors(app: TestApp) {
    let referer = app.url("/login");
    let headers = [("accept", "text/html"), ("referer", referer.as_str())];
    let res = app
        .call_with(
            &app.client,
            auth::SignIn::PATH,
            &[
                ("form[email]", ADMIN_EMAIL),
                ("form[password]", "nope nope"),
                ("form[next]", "/teams"),
            ],
            &headers,
        )
        .await;
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("{referer}?")) && location.contains("__err="),
        "{location}"
    );
    let html = app
        .client
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("The email or password is not right"),
        "the error shows on the page"
    );

    let res = app
        .call_with(
            &app.client,
            auth::SignIn::PATH,
            &[
                ("form[email]", ADMIN_EMAIL),
                ("form[password]", ADMIN_PASSWORD),
                ("form[next]", "/teams"),
            ],
            &headers,
        )
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/teams");
    assert_eq!(app.get("/teams").await.status(), 200);

    // A form the server function cannot read (a key given twice) is the caller's mistake: 400
    // with the error, for a script's call and again when repeated; never the framework's 500.
    app.sign_in().await;
    for _ in 0..2 {
        let res = app
            .call::<team_fns::SaveTeam>(&[("form[name]", "Early access"), ("form[name]", "Again")])
            .await;
        assert_eq!(res.status(), 400);
        match error_of(res).await {
            AppError::BadRequest(m) => assert!(m.contains("could not be read"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM teams WHERE name IN ('Early access', 'Again')")
            .await,
        0
    );
}

/// Creates a key through the admin screens' server function; returns (id, full key) as the
/// list page shows it once.
async fn create_key(app: &TestApp, name: &str, prefix: &str, ips: &str) -> (i64, String) {
    let res = app
        .call::<key_fns::SaveApiKey>(&[
            ("form[name]", name),
            ("form[prefix]", prefix),
            ("form[allowed_ips]", ips),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id = app
        .count(&format!("SELECT id FROM api_keys WHERE name = '{name}'"))
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("/api-keys?created={id}").as_str()
    );
    let html = app.get("/api-keys").await.text().await.unwrap();
    let marker = format!("value=\"{prefix}_");
    let start = html.find(&marker).expect("the new key is shown") + "value=\"".len();
    let key = html[start..].split('"').next().unwrap().to_string();
    (id, key)
}

async fn api_keys_are_shown_once_and_stored_hashed(app: TestApp) {
    app.sign_in().await;
    let err = error_of(
        app.call::<key_fns::SaveApiKey>(&[
            ("form[name]", ""),
            ("form[prefix]", "ji_ra"),
            ("form[allowed_ips]", "10.0.0.0/40"),
        ])
        .await,
    )
    .await;
    for field in ["name", "prefix", "allowed_ips"] {
        assert!(err.field_message(field).is_some(), "{field}: {err:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);

    let (id, key) = create_key(&app, "Jira", "jira", "").await;
    let random = key.strip_prefix("jira_").unwrap();
    assert_eq!(random.len(), 48, "192 random bits");
    assert!(random.chars().all(|c| c.is_ascii_hexdigit()));
    // Shown once: the next visit no longer has it.
    let html = app.get("/api-keys").await.text().await.unwrap();
    assert!(!html.contains(&key));
    assert!(html.contains("Jira"));
    // Only the SHA-256 is stored, nowhere the key itself.
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{digest}'"
        ))
        .await,
        1
    );
    for (table, text) in [
        (
            "api_keys",
            "name || description || prefix || hint || key_hash || allowed_ips",
        ),
        ("audit_log", "actor_label || action || subject || detail"),
    ] {
        let rows = app
            .count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {text} LIKE '%{random}%'"
            ))
            .await;
        assert_eq!(rows, 0, "{table}");
    }
    let dup = error_of(
        app.call::<key_fns::SaveApiKey>(&[("form[name]", "Jira")])
            .await,
    )
    .await;
    assert!(dup.field_message("name").is_some());

    let id_s = id.to_string();
    let err = error_of(
        app.call::<key_fns::DeleteApiKey>(&[("form[id]", &id_s)])
            .await,
    )
    .await;
    assert!(err.field_message("confirm").is_some());
    assert_eq!(
        app.call::<key_fns::DeleteApiKey>(&[("form[id]", &id_s), ("form[confirm]", "on")])
            .await
            .status(),
        200
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM api_keys").await, 0);
}

async fn api_keys_authenticate_callers(app: TestApp) {
    use switchyard::server::engine::keys::{self, KeyRejection};
    use switchyard::server::settings::Secret;
    app.sign_in().await;
    let (id, key) = create_key(&app, "Salesforce", "sf", "").await;
    let local: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let check = |presented: Option<String>, ip: std::net::IpAddr| {
        let db = app.db.clone();
        async move {
            keys::authenticate(&db, presented.map(Secret::new).as_ref(), ip)
                .await
                .unwrap()
        }
    };
    assert_eq!(check(Some(key.clone()), local).await.unwrap().id as i64, id);
    assert_eq!(
        app.count(&format!("SELECT use_count FROM api_keys WHERE id = {id}"))
            .await,
        1
    );

    // The same key with its last digit changed (to another digit: a key may end in 0).
    let last = if key.ends_with('0') { "1" } else { "0" };
    let wrong = format!("{}{last}", &key[..key.len() - 1]);
    assert_eq!(check(None, local).await.unwrap_err(), KeyRejection::Missing);
    assert_eq!(
        check(Some(String::new()), local).await.unwrap_err(),
        KeyRejection::Missing
    );
    assert_eq!(
        check(Some(wrong), local).await.unwrap_err(),
        KeyRejection::Unknown
    );

    let id_s = id.to_string();
    let res = app
        .call::<key_fns::ToggleApiKey>(&[("form[id]", &id_s), ("form[enabled]", "false")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        check(Some(key.clone()), local).await.unwrap_err(),
        KeyRejection::Disabled
    );
    app.call::<key_fns::ToggleApiKey>(&[("form[id]", &id_s), ("form[enabled]", "true")])
        .await;

    let res = app
        .call::<key_fns::SaveApiKey>(&[
            ("form[id]", &id_s),
            ("form[name]", "Salesforce"),
            ("form[allowed_ips]", "203.0.113.0/24"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        check(Some(key.clone()), local).await.unwrap_err(),
        KeyRejection::CallerNotAllowed
    );
    assert!(
        check(Some(key), "203.0.113.9".parse().unwrap())
            .await
            .is_ok()
    );
    assert_eq!(
        app.count(&format!("SELECT use_count FROM api_keys WHERE id = {id}"))
            .await,
        2
    );
    let page = app
        .get(&format!("/api-keys/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("203.0.113.0/24"));
}

async fn filters_select_users_by_and_or_groups(app: TestApp) {
    switchyard::server::admin::community::load_demo_data(&app.db, 60)
        .await
        .unwrap();
    app.sign_in().await;
    let customers = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await;

    // Bad rows are named by position; nothing is saved.
    let err = error_of(
        app.call::<filter_fns::SaveFilter>(&[
            ("form[name]", "Broken"),
            ("form[rows][0][slot]", "0"),
            ("form[rows][0][field]", "score"),
            ("form[rows][0][op]", "contains"),
            ("form[rows][0][value]", "1"),
            ("form[rows][5][slot]", "5"),
            ("form[rows][5][field]", "team"),
            ("form[rows][5][op]", "is"),
            ("form[rows][5][value]", "Nobody"),
        ])
        .await,
    )
    .await;
    assert!(
        err.field_message("rows.0").is_some() && err.field_message("rows.5").is_some(),
        "{err:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM filters").await, 0);

    // (team is Customers and score >= 50) or (last name contains "HOP")
    let res = app
        .call::<filter_fns::SaveFilter>(&[
            ("form[name]", "Keen customers"),
            ("form[combine]", "any"),
            ("form[group_match][0]", "all"),
            ("form[rows][0][slot]", "0"),
            ("form[rows][0][field]", "team"),
            ("form[rows][0][op]", "is"),
            ("form[rows][0][value]", "customers"),
            ("form[rows][1][slot]", "1"),
            ("form[rows][1][field]", "score"),
            ("form[rows][1][op]", "gte"),
            ("form[rows][1][value]", "50"),
            ("form[rows][4][slot]", "4"),
            ("form[rows][4][field]", "last_name"),
            ("form[rows][4][op]", "contains"),
            ("form[rows][4][value]", "HOP"),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id = app
        .count("SELECT id FROM filters WHERE name = 'Keen customers'")
        .await;
    let expected = app
        .count(&format!(
            "SELECT COUNT(*) FROM users u WHERE (u.score >= 50 AND u.id IN (SELECT user_id FROM team_memberships WHERE team_id = {customers})) OR LOWER(u.last_name) LIKE '%hop%'"
        ))
        .await;
    assert!(expected > 0);
    let html = app
        .get(&format!("/filters/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("{expected} matching users")),
        "preview count"
    );
    assert!(
        html.contains("(team is Customers and score ≥ 50) or (last name contains &quot;HOP&quot;)")
            || html.contains("(team is Customers and score ≥ 50) or (last name contains \"HOP\")"),
        "summary"
    );
    let list = app.get("/filters").await.text().await.unwrap();
    assert!(list.contains("Keen customers"));

    // One user's check agrees with the count.
    let hopper = app
        .count("SELECT MIN(id) FROM users WHERE last_name = 'Hopper'")
        .await as i32;
    let admin = app
        .count("SELECT id FROM users WHERE email = 'cm@example.com'")
        .await as i32;
    assert!(
        matching::user_matches(&app.db, id as i32, hopper)
            .await
            .unwrap()
    );
    assert!(
        !matching::user_matches(&app.db, id as i32, admin)
            .await
            .unwrap()
    );

    // Joined within the last day: everyone; before 2000-01-01: nobody.
    let res = app
        .call::<filter_fns::SaveFilter>(&[
            ("form[id]", &id.to_string()),
            ("form[name]", "Keen customers"),
            ("form[rows][0][slot]", "0"),
            ("form[rows][0][field]", "created_at"),
            ("form[rows][0][op]", "before"),
            ("form[rows][0][value]", "2000-01-01"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let html = app
        .get(&format!("/filters/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("0 matching users"));

    let id_s = id.to_string();
    assert_eq!(
        app.call::<filter_fns::DeleteFilter>(&[("form[id]", &id_s), ("form[confirm]", "on")])
            .await
            .status(),
        200
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM filters").await, 0);
}

/// Every text column that could hold personal data, for the erasure check.
const TEXT_COLUMNS: &[(&str, &str)] = &[
    ("listener_calls", "listener_key || target || code"),
    ("users", "email || first_name || last_name || search_text"),
    ("audit_log", "actor_label || subject || detail"),
    ("comments", "author_label || body"),
    ("user_imports", "file_name || report"),
    ("macro_runs", "outcome"),
    ("opt_out_events", "macro_name || teams"),
    ("macro_marks", "subject_hash"),
    ("admin_sessions", "ip || user_agent"),
];

async fn occurrences(app: &TestApp, needle: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (table, text) in TEXT_COLUMNS {
        let n = app
            .count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE LOWER({text}) LIKE '%{}%'",
                needle.to_lowercase()
            ))
            .await;
        if n > 0 {
            found.push(*table);
        }
    }
    found
}

async fn macros_run_actions_and_remove_a_user_completely(app: TestApp) {
    use sea_orm::ConnectionTrait;
    app.sign_in().await;
    for team in ["Customers", "Testers"] {
        app.call::<team_fns::SaveTeam>(&[("form[name]", team)])
            .await;
    }
    let customers = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await
        .to_string();
    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[email]", "Jim@Example.com"),
            ("form[first_name]", "Jim"),
            ("form[last_name]", "Tester"),
            ("form[team_ids][]", &customers),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let jim = app
        .count("SELECT id FROM users WHERE email = 'jim@example.com'")
        .await;
    let other = app
        .count("SELECT id FROM users WHERE email = 'cm@example.com'")
        .await;
    // Jim wrote a comment on someone else's profile.
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO comments (user_id, author_user_id, author_label, body, created_at) VALUES ({other}, {jim}, 'jim@example.com', 'Loving the beta', '2026-11-24T08:00:00+00:00')"
        ))
        .await
        .unwrap();

    let save = |name: &'static str,
                key: &'static str,
                rows: Vec<(&'static str, &'static str)>,
                opts: Vec<&'static str>| {
        let mut form: Vec<(String, String)> = vec![
            ("form[name]".into(), name.into()),
            ("form[key]".into(), key.into()),
        ];
        for (i, (kind, value)) in rows.into_iter().enumerate() {
            form.push((format!("form[actions][{i}][slot]"), i.to_string()));
            form.push((format!("form[actions][{i}][kind]"), kind.into()));
            form.push((format!("form[actions][{i}][value]"), value.into()));
        }
        for o in opts {
            form.push((format!("form[{o}]"), "on".into()));
        }
        form
    };
    let as_pairs = |v: &Vec<(String, String)>| {
        v.iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect::<Vec<_>>()
    };

    // A removal in the middle is refused, naming the problem.
    let bad = save(
        "Bad",
        "bad",
        vec![("remove_user", ""), ("adjust_score", "1")],
        vec![],
    );
    let pairs = as_pairs(&bad);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let err = error_of(app.call::<macro_fns::SaveMacro>(&refs).await).await;
    assert!(
        err.field_message("actions")
            .unwrap()
            .contains("last action"),
        "{err:?}"
    );

    let welcome = save(
        "Welcome",
        "welcome",
        vec![
            ("adjust_score", "5"),
            ("add_to_team", "testers"),
            ("add_comment", "Welcome to the beta!"),
        ],
        vec!["show_in_user_actions"],
    );
    let removal = save(
        "Delete user",
        "delete-user",
        vec![("remove_user", "")],
        vec![
            "show_in_user_actions",
            "include_on_dashboard",
            "run_once_per_user",
        ],
    );
    for form in [&welcome, &removal] {
        let pairs = as_pairs(form);
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let res = app.call::<macro_fns::SaveMacro>(&refs).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let welcome_id = app
        .count("SELECT id FROM macros WHERE key = 'welcome'")
        .await
        .to_string();
    let removal_id = app
        .count("SELECT id FROM macros WHERE key = 'delete-user'")
        .await
        .to_string();
    let jim_s = jim.to_string();

    // Manual runs need the confirmation unless the macro suppresses it.
    let err = error_of(
        app.call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &welcome_id),
            ("form[user_id]", &jim_s),
        ])
        .await,
    )
    .await;
    assert!(err.field_message("confirm").is_some());
    let res = app
        .call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &welcome_id),
            ("form[user_id]", &jim_s),
            ("form[confirm]", "on"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["location"],
        format!("/users/{jim}?notice=macro_completed").as_str()
    );
    assert_eq!(
        app.count(&format!("SELECT score FROM users WHERE id = {jim}"))
            .await,
        5
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM team_memberships WHERE user_id = {jim}"
        ))
        .await,
        2
    );
    let page = app
        .get(&format!("/users/{jim}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Welcome to the beta!") && page.contains("Adjust score by +5"));

    // The community manager is protected.
    let err = error_of(
        app.call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &removal_id),
            ("form[user_id]", &other.to_string()),
            ("form[confirm]", "on"),
        ])
        .await,
    )
    .await;
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");

    // Remove Jim completely.
    let res = app
        .call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &removal_id),
            ("form[user_id]", &jim_s),
            ("form[confirm]", "on"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["location"], "/users?notice=user_removed");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM users WHERE id = {jim}"))
            .await,
        0
    );
    assert_eq!(
        occurrences(&app, "jim@example.com").await,
        Vec::<&str>::new(),
        "the email is gone everywhere"
    );
    assert_eq!(
        occurrences(&app, "Jim").await,
        Vec::<&str>::new(),
        "so is the name"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM comments WHERE author_label = 'Removed user' AND author_user_id IS NULL").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comments WHERE body = 'Loving the beta'")
            .await,
        1,
        "others' threads keep the text"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM opt_out_events WHERE teams = 'Customers, Testers' AND macro_name = 'Delete user'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM macro_marks").await, 1);
    assert!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE redacted")
            .await
            > 0
            || app
                .count("SELECT COUNT(*) FROM audit_log WHERE redacted = 1")
                .await
                > 0
    );

    // Jim rejoins: "only run once per user" still holds.
    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[email]", "jim@example.com"),
            ("form[first_name]", "Jim"),
            ("form[last_name]", "Again"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let jim2 = app
        .count("SELECT id FROM users WHERE email = 'jim@example.com'")
        .await
        .to_string();
    let res = app
        .call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &removal_id),
            ("form[user_id]", &jim2),
            ("form[confirm]", "on"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["location"],
        format!("/users/{jim2}?notice=macro_skipped").as_str()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'jim@example.com'")
            .await,
        1
    );

    // The mark is keyed under the key file, and the database holds no key to test an email
    // against it; the label of the removal is not derived from the person either.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM macro_marks WHERE subject_hash LIKE 'k1:%'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM community WHERE hash_key = ''")
            .await,
        1,
        "a new installation keeps no hashing key in its database"
    );
    // The mark is the one the key file gives for Jim's email (in any case), and nothing
    // the database holds can make it: there is no key there to compute it with.
    let mark =
        switchyard::server::engine::runs::PersonMark::of(&app.db, &app.sealer, "JIM@example.com")
            .await
            .unwrap();
    assert_eq!(mark.legacy, None);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_marks WHERE subject_hash = '{}'",
            mark.keyed
        ))
        .await,
        1
    );

    // An installation from before: a mark keyed under the database's key still counts, the
    // key stays while such a mark does, and goes at the next start once none is left.
    let legacy_key = [7u8; 32];
    let ex_ann = "ann@example.com";
    let legacy = switchyard::server::engine::runs::subject_hash(&legacy_key, ex_ann).unwrap();
    app.db
        .execute_unprepared(&format!(
            "UPDATE community SET hash_key = '{}'",
            hex::encode(legacy_key)
        ))
        .await
        .unwrap();
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO macro_marks (macro_id, subject_hash, created_at) \
             VALUES ({removal_id}, '{legacy}', '2026-01-01 00:00:00')"
        ))
        .await
        .unwrap();
    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[email]", "Ann@Example.com"),
            ("form[first_name]", "Ann"),
            ("form[last_name]", "Old"),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let ann = app
        .count("SELECT id FROM users WHERE email = 'ann@example.com'")
        .await
        .to_string();
    let res = app
        .call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &removal_id),
            ("form[user_id]", &ann),
            ("form[confirm]", "on"),
        ])
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("/users/{ann}?notice=macro_skipped").as_str(),
        "a legacy mark still says the macro ran for Ann"
    );
    let name = app.settings.community_name.clone();
    switchyard::server::admin::community::ensure_community(&app.db, &name)
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM community WHERE hash_key = ''")
            .await,
        0,
        "the key stays while a legacy mark does"
    );
    app.db
        .execute_unprepared(&format!(
            "DELETE FROM macro_marks WHERE subject_hash = '{legacy}'"
        ))
        .await
        .unwrap();
    switchyard::server::admin::community::ensure_community(&app.db, &name)
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM community WHERE hash_key = ''")
            .await,
        1,
        "and goes once none is left"
    );
}

async fn user_macro_listener_answers_every_status(app: TestApp) {
    app.sign_in().await;
    for team in ["Customers", "Administrators"] {
        app.call::<team_fns::SaveTeam>(&[("form[name]", team)])
            .await;
    }
    let customers = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await
        .to_string();
    let admins = app
        .count("SELECT id FROM teams WHERE name = 'Administrators'")
        .await
        .to_string();
    for (email, team) in [
        ("tony@example.com", &customers),
        ("ann@example.com", &admins),
    ] {
        let res = app
            .call::<user_fns::SaveUser>(&[
                ("form[email]", email),
                ("form[first_name]", "T"),
                ("form[last_name]", "U"),
                ("form[team_ids][]", team),
            ])
            .await;
        assert_eq!(res.status(), 200);
    }
    app.call::<filter_fns::SaveFilter>(&[
        ("form[name]", "Customers only"),
        ("form[rows][0][slot]", "0"),
        ("form[rows][0][field]", "team"),
        ("form[rows][0][op]", "is"),
        ("form[rows][0][value]", "Customers"),
    ])
    .await;
    app.call::<macro_fns::SaveMacro>(&[
        ("form[name]", "Delete user"),
        ("form[key]", "delete-user"),
        ("form[actions][0][slot]", "0"),
        ("form[actions][0][kind]", "remove_user"),
        ("form[include_on_dashboard]", "on"),
    ])
    .await;
    let (key_id, key) = create_key(&app, "Jira", "jira", "").await;
    let (_, other_key) = create_key(&app, "Other", "other", "").await;
    let filter_id = app.count("SELECT id FROM filters").await.to_string();
    let macro_id = app.count("SELECT id FROM macros").await.to_string();
    let err = error_of(
        app.call::<listener_fns::SaveListener>(&[("form[name]", "x"), ("form[key]", "bad key!")])
            .await,
    )
    .await;
    for f in ["key", "macro_id", "api_key_id"] {
        assert!(err.field_message(f).is_some(), "{f}: {err:?}");
    }
    let res = app
        .call::<listener_fns::SaveListener>(&[
            ("form[name]", "GDPR removal"),
            ("form[key]", "deleteuser"),
            ("form[filter_id]", &filter_id),
            ("form[macro_id]", &macro_id),
            ("form[api_key_id]", &key_id.to_string()),
            ("form[enabled]", "on"),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    let api = reqwest::Client::new();
    let url = app.url("/api/v1/userMacroListeners/deleteuser");
    let post = |query: Vec<(&'static str, String)>,
                headers: Vec<(&'static str, String)>,
                body: Option<(&'static str, Vec<u8>)>| {
        let mut req = api.post(&url).query(&query);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if let Some((ct, b)) = body {
            req = req.header("content-type", ct).body(b);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
            (
                status,
                body["error"]["code"]
                    .as_str()
                    .or(body["status"].as_str())
                    .unwrap_or("")
                    .to_string(),
            )
        }
    };
    let find = |e: &str| ("find", e.to_string());
    let q = |k: &str| ("apiKey", k.to_string());

    assert_eq!(
        post(vec![find("tony@example.com")], vec![], None).await,
        (401, "missing_api_key".into())
    );
    assert_eq!(
        post(vec![find("tony@example.com"), q("jira_nope")], vec![], None).await,
        (401, "invalid_api_key".into())
    );
    assert_eq!(
        post(vec![find("tony@example.com"), q(&other_key)], vec![], None).await,
        (403, "api_key_not_allowed".into())
    );
    assert_eq!(
        post(vec![q(&key)], vec![], None).await,
        (400, "missing_find".into())
    );
    assert_eq!(
        post(vec![find("not an email"), q(&key)], vec![], None).await,
        (400, "invalid_find".into())
    );
    assert_eq!(
        post(vec![find("nobody@example.com"), q(&key)], vec![], None).await,
        (404, "target_not_found".into())
    );
    assert_eq!(
        post(vec![find("ann@example.com"), q(&key)], vec![], None).await,
        (404, "target_not_in_filter".into())
    );
    assert_eq!(
        post(vec![find("cm@example.com"), q(&key)], vec![], None).await,
        (404, "target_not_in_filter".into())
    );
    assert_eq!(
        post(
            vec![find("tony@example.com"), q(&key)],
            vec![],
            Some(("text/plain", b"hello".to_vec()))
        )
        .await,
        (415, "unsupported_media_type".into())
    );
    assert_eq!(
        post(
            vec![find("tony@example.com"), q(&key)],
            vec![],
            Some(("application/json", b"{nope".to_vec()))
        )
        .await,
        (400, "invalid_json".into())
    );
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(
        post(
            vec![find("tony@example.com"), q(&key)],
            vec![],
            Some(("application/json", big.into_bytes()))
        )
        .await
        .0,
        413
    );
    let wrong_listener = api
        .post(app.url("/api/v1/userMacroListeners/nope"))
        .query(&[("find", "tony@example.com"), ("apiKey", &key)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_listener.status(), 404);
    assert_eq!(api.get(&url).send().await.unwrap().status(), 405);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'tony@example.com'")
            .await,
        1,
        "nothing ran yet"
    );

    // Salesforce-style: the key in a header, a JSON body. Tony is removed.
    let (status, code) = post(
        vec![find("Tony@Example.com")],
        vec![("x-api-key", key.clone())],
        Some(("application/json", b"{\"reason\": \"gdpr\"}".to_vec())),
    )
    .await;
    assert_eq!((status, code.as_str()), (200, "completed"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'tony@example.com'")
            .await,
        0
    );
    assert_eq!(
        occurrences(&app, "tony@example.com").await,
        Vec::<&str>::new()
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE target LIKE '%tony%'")
            .await,
        0,
        "log targets masked"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM opt_out_events").await, 1);
    // Again: now the user is gone (Bearer this time).
    assert_eq!(
        post(
            vec![find("tony@example.com")],
            vec![("authorization", format!("Bearer {key}"))],
            None
        )
        .await,
        (404, "target_not_found".into())
    );

    assert_eq!(
        occurrences(&app, "tony@example.com").await,
        Vec::<&str>::new(),
        "later calls do not bring the email back"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE target = 'n…@example.com'")
            .await,
        1,
        "unknown targets are masked"
    );

    // A disabled key.
    app.call::<key_fns::ToggleApiKey>(&[
        ("form[id]", &key_id.to_string()),
        ("form[enabled]", "false"),
    ])
    .await;
    assert_eq!(
        post(vec![find("ann@example.com"), q(&key)], vec![], None).await,
        (403, "api_key_disabled".into())
    );

    // Every call is in the log, and the key itself is nowhere.
    // The listeners page lists the listener and the newest calls; the log has them all (both
    // write the counted refusals first, so what they show is current).
    let page = app.get("/listeners").await.text().await.unwrap();
    assert!(page.contains("GDPR removal") && page.contains("api_key_disabled"));
    let log = app.get("/listeners/log").await.text().await.unwrap();
    assert!(log.contains("target_not_in_filter") && log.contains("missing_api_key"));
    // Everything counted is in the log now (the pages flushed it; this flushes nothing more).
    app.refusals.flush(&app.db).await.unwrap();
    let calls = app
        .count("SELECT COALESCE(SUM(repeats), 0) FROM listener_calls")
        .await;
    assert_eq!(calls, 16, "every call is logged, the 405 too");
    let random = key.strip_prefix("jira_").unwrap();
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM listener_calls WHERE listener_key || target || code LIKE '%{random}%'")).await, 0);
}

// ---- Opt-out dashboard and listener log -------------------------------------------------

/// Saves a macro that removes the user completely and reports to the opt-out dashboard.
async fn removal_macro(app: &TestApp, name: &str, key: &str) -> String {
    let res = app
        .call::<macro_fns::SaveMacro>(&[
            ("form[name]", name),
            ("form[key]", key),
            ("form[actions][0][slot]", "0"),
            ("form[actions][0][kind]", "remove_user"),
            ("form[include_on_dashboard]", "on"),
            ("form[show_in_user_actions]", "on"),
            ("form[suppress_confirmation]", "on"),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app.count(&format!("SELECT id FROM macros WHERE key = '{key}'"))
        .await
        .to_string()
}

/// Creates a participant (in the given teams) and returns their id.
async fn participant(app: &TestApp, email: &str, first: &str, teams: &[&str]) -> String {
    let mut form = vec![
        ("form[email]", email),
        ("form[first_name]", first),
        ("form[last_name]", "Tester"),
    ];
    for t in teams {
        form.push(("form[team_ids][]", t));
    }
    let res = app.call::<user_fns::SaveUser>(&form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app.count(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
        .to_string()
}

async fn remove_with(app: &TestApp, macro_id: &str, user_id: &str) {
    let res = app
        .call::<macro_fns::RunMacro>(&[("form[macro_id]", macro_id), ("form[user_id]", user_id)])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["location"], "/users?notice=user_removed");
}

/// An opt-out event on an earlier day. Removals only ever happen "now", so the past is
/// written directly; the listener name is what a listener-run removal records.
async fn past_opt_out(app: &TestApp, days_ago: i64, macro_name: &str, listener: Option<&str>) {
    use sea_orm::{ActiveModelTrait, Set};
    use switchyard::server::entities::opt_out_event;
    opt_out_event::ActiveModel {
        occurred_at: Set(chrono::Utc::now() - chrono::Duration::days(days_ago)),
        macro_id: Set(None),
        macro_name: Set(macro_name.into()),
        source: Set(if listener.is_some() {
            switchyard::shared::vocab::Trigger::Listener
        } else {
            switchyard::shared::vocab::Trigger::Manual
        }),
        teams: Set("Customers".into()),
        listener_name: Set(listener.map(Into::into)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

fn totals(list: &[switchyard::types::OptOutTotal]) -> Vec<(String, u64)> {
    list.iter().map(|t| (t.name.clone(), t.removals)).collect()
}

async fn opt_out_dashboard_counts_removals_by_day_listener_and_macro(app: TestApp) {
    use switchyard::server::admin::opt_out;
    use switchyard::server_fns::opt_out as opt_out_fns;
    use switchyard::types::OptOutDashboard;
    app.sign_in().await;
    app.call::<team_fns::SaveTeam>(&[("form[name]", "Customers")])
        .await;
    let customers = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await
        .to_string();
    let delete = removal_macro(&app, "Delete user", "delete-user").await;
    let offboard = removal_macro(&app, "Offboard", "offboard").await;
    // Three removals today, from the user page.
    for (email, macro_id) in [
        ("ann@example.com", &delete),
        ("bob@example.com", &delete),
        ("cy@example.com", &offboard),
    ] {
        let id = participant(&app, email, "P", &[&customers]).await;
        remove_with(&app, macro_id, &id).await;
    }
    // And one today through a listener: its name is what the dashboard counts it under.
    let dan = participant(&app, "dan@example.com", "Dan", &[&customers]).await;
    let (key_id, key) = create_key(&app, "Web", "web", "").await;
    let res = app
        .call::<listener_fns::SaveListener>(&[
            ("form[name]", "Web form"),
            ("form[key]", "web-form"),
            ("form[macro_id]", &delete),
            ("form[api_key_id]", &key_id.to_string()),
            ("form[enabled]", "on"),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/userMacroListeners/web-form"))
        .query(&[("find", "dan@example.com"), ("apiKey", key.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        [200, 202].contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
    // 202 means the queue's worker finishes the run shortly.
    for _ in 0..100 {
        if app.count("SELECT COUNT(*) FROM opt_out_events").await == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM users WHERE id = {dan}"))
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM opt_out_events WHERE source = 'listener' AND listener_name = 'Web form'")
            .await,
        1
    );
    past_opt_out(&app, 2, "Delete user", Some("GDPR removal")).await;
    past_opt_out(&app, 2, "Delete user", Some("GDPR removal")).await;
    past_opt_out(&app, 10, "Offboard", Some("Salesforce")).await;
    past_opt_out(&app, 40, "Delete user", None).await;
    past_opt_out(&app, 200, "Delete user", None).await;

    let today = chrono::Utc::now().date_naive();
    let week = opt_out::dashboard(&app.db, 7).await.unwrap();
    assert_eq!(week.days, 7);
    let per_day: Vec<(String, u64)> = week
        .per_day
        .iter()
        .map(|d| (d.date.clone(), d.removals))
        .collect();
    let expected: Vec<(String, u64)> = (0..7)
        .rev()
        .map(|ago| {
            let date = today - chrono::Duration::days(ago);
            let n = match ago {
                0 => 4,
                2 => 2,
                _ => 0,
            };
            (date.format("%Y-%m-%d").to_string(), n)
        })
        .collect();
    assert_eq!(per_day, expected, "every day, zeros included, oldest first");
    assert_eq!(week.total, 6);
    assert_eq!(
        totals(&week.by_listener),
        [
            ("(manual run)".into(), 3),
            ("GDPR removal".into(), 2),
            ("Web form".into(), 1)
        ]
    );
    assert_eq!(
        totals(&week.by_macro),
        [("Delete user".into(), 5), ("Offboard".into(), 1)]
    );

    let month = opt_out::dashboard(&app.db, 30).await.unwrap();
    assert_eq!((month.per_day.len(), month.total), (30, 7));
    assert_eq!(
        totals(&month.by_listener),
        [
            ("(manual run)".into(), 3),
            ("GDPR removal".into(), 2),
            ("Salesforce".into(), 1),
            ("Web form".into(), 1)
        ]
    );
    assert_eq!(
        totals(&month.by_macro),
        [("Delete user".into(), 5), ("Offboard".into(), 2)]
    );
    let quarter = opt_out::dashboard(&app.db, 90).await.unwrap();
    assert_eq!((quarter.per_day.len(), quarter.total), (90, 8));
    assert_eq!(
        quarter.by_listener[0],
        switchyard::types::OptOutTotal {
            name: "(manual run)".into(),
            removals: 4
        }
    );

    // The server function serves the same numbers to community managers.
    let res = app
        .call::<opt_out_fns::LoadOptOutDashboard>(&[("days", "7")])
        .await;
    assert_eq!(res.status(), 200);
    let served: OptOutDashboard = res.json().await.unwrap();
    assert_eq!(served, week);

    // The page: chart with its summary, totals, range links, the CSV link.
    let res = app.get("/opt-out").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("role=\"img\""), "{html}");
    let busiest = today.format("%Y-%m-%d");
    assert!(
        html.contains(&format!(
            "Removals per day over the last 30 days: 7 in all; the busiest day was {busiest} with 4 removals."
        )),
        "{html}"
    );
    assert_eq!(html.matches("<rect").count(), 60, "two rects per day");
    for text in [
        "GDPR removal",
        "Salesforce",
        "(manual run)",
        "Offboard",
        "href=\"/opt-out.csv\"",
        "href=\"/opt-out?days=7\"",
        "href=\"/opt-out?days=90\"",
    ] {
        assert!(html.contains(text), "{text}");
    }
    let html = app.get("/opt-out?days=7").await.text().await.unwrap();
    assert!(html.contains("over the last 7 days: 6 in all"));
    assert!(!html.contains("Salesforce"), "outside the range");
    for email in ["ann@example.com", "dan@example.com"] {
        assert!(!html.contains(email), "no personal data on the dashboard");
    }
}

async fn opt_out_csv_is_for_community_managers_only(app: TestApp) {
    use switchyard::server_fns::opt_out as opt_out_fns;
    let res = app.get("/opt-out.csv").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=%2Fopt-out.csv");

    app.sign_in().await;
    for team in ["Customers", "Testers"] {
        app.call::<team_fns::SaveTeam>(&[("form[name]", team)])
            .await;
    }
    let customers = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await
        .to_string();
    let testers = app
        .count("SELECT id FROM teams WHERE name = 'Testers'")
        .await
        .to_string();
    let delete = removal_macro(&app, "Delete user", "delete-user").await;
    let jim = participant(&app, "jim@example.com", "Jim", &[&customers, &testers]).await;
    remove_with(&app, &delete, &jim).await;
    // A name a spreadsheet would run as a formula.
    past_opt_out(&app, 1, "=HYPERLINK(\"http://x\")", Some("GDPR removal")).await;

    let res = app.get("/opt-out.csv").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"opt-outs-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let body = res.text().await.unwrap();
    assert!(
        !body.to_lowercase().contains("jim"),
        "no personal data: {body}"
    );
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["occurred_at", "macro", "listener", "source", "teams"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{body}");
    // Oldest first: yesterday's listener removal, then today's manual one.
    assert_eq!(
        rows[0][1..],
        [
            "'=HYPERLINK(\"http://x\")".to_string(),
            "GDPR removal".into(),
            "listener".into(),
            "Customers".into()
        ]
    );
    assert_eq!(
        rows[1][1..],
        [
            "Delete user".to_string(),
            String::new(),
            "manual".into(),
            "Customers, Testers".into()
        ]
    );
    for row in &rows {
        let at = chrono::DateTime::parse_from_rfc3339(&row[0]).unwrap();
        assert!(row[0].ends_with('Z'), "{}", row[0]);
        assert!(chrono::Utc::now() - at.to_utc() < chrono::Duration::days(2));
    }

    // Project managers get neither the file nor the dashboard.
    let pm = app.project_manager().await;
    let res = pm.get("/opt-out.csv").await;
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    let err = error_of(
        pm.call::<opt_out_fns::LoadOptOutDashboard>(&[("days", "30")])
            .await,
    )
    .await;
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    let page = pm.get("/opt-out").await;
    assert_eq!(page.status(), 403);
    assert!(!page.text().await.unwrap().contains("Removals per day"));
}

async fn listener_log_filters_by_listener_status_user_and_pages(app: TestApp) {
    use sea_orm::{EntityTrait, Set};
    use switchyard::server::admin::listener_log;
    use switchyard::server::entities::{listener_call, macro_run};
    use switchyard::server_fns::listener_log as log_fns;
    use switchyard::types::{CallQuery, LISTENER_STATUSES, ListenerCallPage, ListenerLogView};

    assert_eq!(app.get("/listeners/log").await.status(), 303);
    app.sign_in().await;
    app.call::<macro_fns::SaveMacro>(&[
        ("form[name]", "Bump"),
        ("form[key]", "bump"),
        ("form[actions][0][slot]", "0"),
        ("form[actions][0][kind]", "adjust_score"),
        ("form[actions][0][value]", "1"),
    ])
    .await;
    let macro_id = app.count("SELECT id FROM macros").await.to_string();
    let (key_id, api_key) = create_key(&app, "Jira", "jira", "").await;
    for (name, key) in [("Salesforce", "sf"), ("Jira sync", "jira")] {
        let res = app
            .call::<listener_fns::SaveListener>(&[
                ("form[name]", name),
                ("form[key]", key),
                ("form[macro_id]", &macro_id),
                ("form[api_key_id]", &key_id.to_string()),
                ("form[enabled]", "on"),
            ])
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let jira = app
        .count("SELECT id FROM listeners WHERE key = 'jira'")
        .await as i32;
    let sf = app.count("SELECT id FROM listeners WHERE key = 'sf'").await as i32;
    let jim = participant(&app, "jim@example.com", "Jim", &[]).await;
    let jim_id: i32 = jim.parse().unwrap();

    // One real call, to a key no listener has.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/userMacroListeners/nope"))
        .query(&[("find", "jim@example.com"), ("apiKey", api_key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.refusals.flush(&app.db).await.unwrap();
    // Volume for the pages, as the endpoint writes it: a call that was accepted carries its
    // run (the per-user view finds such calls through the run's target).
    let run = |target: i32| macro_run::ActiveModel {
        trigger: Set(switchyard::shared::vocab::Trigger::Listener),
        target_user_id: Set(Some(target)),
        status: Set(switchyard::shared::vocab::RunStatus::Completed),
        outcome: Set("score +1".into()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    let jims_run = macro_run::Entity::insert(run(jim_id))
        .exec(&app.db)
        .await
        .unwrap()
        .last_insert_id;
    let row = |listener: Option<i32>, status: i16, code: &str, user: Option<i32>| {
        listener_call::ActiveModel {
            received_at: Set(chrono::Utc::now()),
            listener_id: Set(listener),
            listener_key: Set(match listener {
                Some(id) if id == jira => "jira".into(),
                Some(_) => "sf".into(),
                None => "gone".into(),
            }),
            caller_ip: Set("203.0.113.7".into()),
            target: Set(if user.is_some() {
                "jim@example.com".into()
            } else {
                "n…@example.com".into()
            }),
            target_user_id: Set(user),
            status: Set(status),
            code: Set(code.into()),
            run_id: Set((status == 200).then_some(jims_run)),
            duration_ms: Set(3),
            ..Default::default()
        }
    };
    let mut rows = Vec::new();
    for _ in 0..55 {
        rows.push(row(Some(jira), 404, "target_not_found", None));
    }
    for _ in 0..3 {
        rows.push(row(Some(sf), 200, "completed", Some(jim_id)));
    }
    for _ in 0..2 {
        rows.push(row(Some(sf), 403, "listener_disabled", Some(jim_id)));
    }
    // Another tester's accepted call, found through a run of theirs: not in Jim's view.
    let kim: i32 = participant(&app, "kim@example.com", "Kim", &[])
        .await
        .parse()
        .unwrap();
    let kims_run = macro_run::Entity::insert(run(kim))
        .exec(&app.db)
        .await
        .unwrap()
        .last_insert_id;
    let mut kims = row(Some(sf), 200, "completed", Some(kim));
    kims.target = Set("kim@example.com".into());
    kims.run_id = Set(Some(kims_run));
    rows.push(kims);
    rows.push(row(None, 404, "listener_not_found", None));
    listener_call::Entity::insert_many(rows)
        .exec(&app.db)
        .await
        .unwrap();

    let q = |listener_id: Option<i32>, status: Option<u16>, user_id: Option<i32>, page: u32| {
        CallQuery {
            listener_id,
            status,
            user_id,
            page,
        }
    };
    let all = listener_log::calls(&app.db, &q(None, None, None, 0))
        .await
        .unwrap();
    assert_eq!((all.total, all.calls.len(), all.per_page), (63, 50, 50));
    assert!(
        all.calls.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    assert_eq!(all.calls[0].listener, "unknown key \"gone\"");
    let second = listener_log::calls(&app.db, &q(None, None, None, 1))
        .await
        .unwrap();
    assert_eq!((second.page, second.calls.len()), (1, 13));
    assert_eq!(
        second.calls.last().unwrap().listener,
        "keys that name no listener",
        "the oldest call is the real one (refused calls to unknown keys share a row)"
    );
    assert_eq!(second.calls.last().unwrap().status, 404);

    let count = |page: ListenerCallPage| (page.total, page.calls.len());
    let check = |query: CallQuery| {
        let db = app.db.clone();
        async move { listener_log::calls(&db, &query).await.unwrap() }
    };
    assert_eq!(count(check(q(Some(jira), None, None, 0)).await), (55, 50));
    assert_eq!(count(check(q(Some(jira), None, None, 1)).await), (55, 5));
    assert_eq!(count(check(q(Some(sf), None, None, 0)).await), (6, 6));
    assert_eq!(count(check(q(None, Some(404), None, 0)).await), (57, 50));
    assert_eq!(count(check(q(None, Some(200), None, 0)).await), (4, 4));
    assert_eq!(
        count(check(q(Some(jira), Some(200), None, 0)).await),
        (0, 0)
    );
    assert_eq!(count(check(q(None, None, Some(jim_id), 0)).await), (5, 5));
    let kims_view = check(q(None, None, Some(kim), 0)).await;
    assert_eq!(count(kims_view.clone()), (1, 1));
    assert_eq!(kims_view.calls[0].run_id, Some(kims_run));
    let refused = check(q(None, Some(403), Some(jim_id), 0)).await;
    assert_eq!(count(refused.clone()), (2, 2));
    assert!(
        refused
            .calls
            .iter()
            .all(|c| c.listener == "Salesforce" && c.code == "listener_disabled")
    );
    let ok = check(q(Some(sf), Some(200), Some(jim_id), 0)).await;
    assert_eq!(count(ok.clone()), (3, 3), "Kim's call is not Jim's");
    assert!(
        ok.calls
            .iter()
            .all(|c| c.run_id == Some(jims_run) && c.duration_ms == 3)
    );

    // The screen's loader: what the filters offer, and who the log is narrowed to.
    let res = app
        .call::<log_fns::LoadListenerLog>(&[("query[user_id]", &jim), ("query[status]", "200")])
        .await;
    assert_eq!(res.status(), 200);
    let log: ListenerLogView = res.json().await.unwrap();
    assert_eq!(log.calls.total, 3);
    assert_eq!(log.user, Some((jim_id, "Jim Tester".into())));
    assert_eq!(
        log.listeners,
        [
            (jira, "Jira sync".to_string()),
            (sf, "Salesforce".to_string())
        ]
    );
    assert_eq!(log.statuses, LISTENER_STATUSES);

    // The pages, as a browser without JavaScript gets them.
    let html = app
        .get(&format!("/listeners/log?listener={jira}&status=404&page=1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 2 of 2 · 55 in all"), "{html}");
    // The page also carries its data for hydration, so rows are counted, not words.
    assert_eq!(html.matches("<tr").count(), 1 + 5, "header and five calls");
    assert!(
        html.contains(&format!(
            "href=\"/listeners/log?listener={jira}&amp;status=404\""
        )) || html.contains(&format!(
            "href=\"/listeners/log?listener={jira}&status=404\""
        ))
    );
    let html = app
        .get(&format!("/listeners/log?user={jim}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Calls about") && html.contains("Jim Tester"));
    assert!(html.contains("Page 1 of 1 · 5 in all"), "{html}");
    let html = app
        .get(&format!("/users/{jim}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Listener calls"));
    assert!(html.contains(&format!("href=\"/listeners/log?user={jim}\"")));
    assert!(html.contains("All 5 in the listener log"));
    let html = app.get("/listeners").await.text().await.unwrap();
    assert!(html.contains("Open the listener log (63 calls)"));
    assert_eq!(
        html.matches("<tr").count(),
        (1 + 2) + (1 + 10),
        "both listeners and the newest ten calls"
    );

    // Project managers see the calls on the user page, and the log.
    let pm = app.project_manager().await;
    let page = pm.get(&format!("/users/{jim}")).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("All 5 in the listener log")
    );
    let res = pm
        .call::<log_fns::LoadUserListenerCalls>(&[("user_id", &jim)])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<ListenerCallPage>().await.unwrap().total, 5);
    let res = pm
        .call::<log_fns::LoadListenerLog>(&[("query[page]", "0")])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<ListenerLogView>().await.unwrap().calls.total, 63);
}

async fn the_filter_editor_previews_unsaved_conditions(app: TestApp) {
    app.sign_in().await;
    app.call::<team_fns::SaveTeam>(&[("form[name]", "Customers")])
        .await;
    let customers = app
        .count("SELECT id FROM teams WHERE name = 'Customers'")
        .await
        .to_string();
    for email in ["p1@example.com", "p2@example.com"] {
        let res = app
            .call::<user_fns::SaveUser>(&[
                ("form[email]", email),
                ("form[first_name]", "Pre"),
                ("form[last_name]", "View"),
                ("form[team_ids][]", &customers),
            ])
            .await;
        assert_eq!(res.status(), 200);
    }
    let rows = [
        ("form[rows][0][slot]", "0"),
        ("form[rows][0][field]", "team"),
        ("form[rows][0][op]", "is"),
        ("form[rows][0][value]", "customers"),
    ];
    let res = app.call::<filter_fns::PreviewFilter>(&rows).await;
    assert_eq!(res.status(), 200);
    let p: switchyard::types::FilterLivePreview = res.json().await.unwrap();
    assert_eq!(
        (p.matching, p.summary.as_str(), p.first.len()),
        (2, "team is Customers", 2)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM filters").await,
        0,
        "nothing saved"
    );
    let err = error_of(
        app.call::<filter_fns::PreviewFilter>(&[
            ("form[rows][0][slot]", "0"),
            ("form[rows][0][field]", "team"),
            ("form[rows][0][op]", "is"),
            ("form[rows][0][value]", "Nobody"),
        ])
        .await,
    )
    .await;
    assert_eq!(
        err.field_message("rows.0").as_deref(),
        Some("there is no team \"Nobody\"")
    );
}

/// After signing in, the browser goes back only to a path of this site: the known
/// open-redirect forms (as a no-JS form post and as the hydrated call) all land on `/`.
async fn sign_in_returns_only_to_paths_on_this_site(app: TestApp) {
    let referer = app.url("/login");
    for (next, want) in [
        ("/teams?page=2", "/teams?page=2"),
        ("/\t/evil.example/", "/"),
        ("/%09/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\/evil.example", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(document.domain)", "/"),
        ("/.//evil.example", "/"),
    ] {
        for headers in [
            vec![("accept", "text/html"), ("referer", referer.as_str())],
            vec![],
        ] {
            let client = common::client();
            let res = app
                .call_with(
                    &client,
                    auth::SignIn::PATH,
                    &[
                        ("form[email]", ADMIN_EMAIL),
                        ("form[password]", ADMIN_PASSWORD),
                        ("form[next]", next),
                    ],
                    &headers,
                )
                .await;
            assert!(res.status() == 302 || res.status() == 200, "{next:?}");
            assert_eq!(res.headers()["location"], want, "{next:?}");
        }
    }
}

/// A name holding markup reaches every page escaped, the document title included, and every
/// page answers with the security headers (a CSP whose nonce is the hydration script's).
async fn pages_escape_every_text_and_carry_security_headers(app: TestApp) {
    app.sign_in().await;
    let payload = "</title><script>alert(1)</script><img src=x onerror=alert(2)>";
    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[email]", "mallory@example.com"),
            ("form[first_name]", "Mal"),
            ("form[last_name]", payload),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id = app
        .count("SELECT id FROM users WHERE email = 'mallory@example.com'")
        .await;
    for path in [
        format!("/users/{id}"),
        "/users".to_string(),
        "/audit".into(),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200, "{path}");
        let headers = res.headers().clone();
        let html = res.text().await.unwrap();
        assert!(!html.contains("<script>alert(1)"), "{path}: raw script");
        assert!(!html.contains("<img src=x"), "{path}: raw tag");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"));
        assert!(nonce.len() >= 16, "{nonce}");
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: the hydration script carries the response's nonce"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "plain http"
        );
        if path.starts_with("/users/") {
            let title = html
                .split("<title>")
                .nth(1)
                .and_then(|t| t.split("</title>").next())
                .unwrap();
            assert_eq!(
                title,
                "Mal &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; · Switchyard"
            );
        }
    }
    let nonces: std::collections::BTreeSet<String> =
        futures::future::join_all((0..3).map(|_| app.get("/users")))
            .await
            .iter()
            .map(|r| {
                r.headers()["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
    assert_eq!(nonces.len(), 3, "a new nonce for every answer");
    let api = reqwest::Client::new()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert!(api.headers().contains_key("content-security-policy"));
}

/// The audit log is for community managers: a project manager sees it neither on its own
/// screen nor on the dashboard nor on a user's page.
async fn project_managers_see_no_audit_entries_anywhere(app: TestApp) {
    app.sign_in().await;
    let pm = app.project_manager().await;
    let pm_id = app
        .count("SELECT id FROM users WHERE email = 'pm@example.com'")
        .await;
    let cm_dashboard = app.get("/").await.text().await.unwrap();
    assert!(cm_dashboard.contains("Recent activity"));
    let dashboard = pm.get("/").await.text().await.unwrap();
    assert!(!dashboard.contains("Recent activity"), "dashboard");
    assert!(!dashboard.contains("user.created"), "dashboard");
    let page = pm
        .get(&format!("/users/{pm_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("user.created") && !page.contains("sign_in.succeeded"),
        "user page"
    );
    let audit = pm.get("/audit").await.text().await.unwrap();
    assert!(!audit.contains("user.created"), "audit screen");
}

/// A second browser of the same manager: a password change made from the first ends the
/// second's session and keeps the first's; so does "Sign out everywhere else". The user page
/// lists the sessions, marking the viewer's own.
async fn password_changes_and_sign_out_everywhere_end_other_sessions(app: TestApp) {
    app.sign_in().await;
    let second = common::client();
    assert_eq!(sign_in_with(&app, &second, ADMIN_PASSWORD).await, 200);
    assert_eq!(status_of(&app, &second).await, 200);
    let me = app
        .count(&format!(
            "SELECT id FROM users WHERE email = '{ADMIN_EMAIL}'"
        ))
        .await
        .to_string();
    let page = app.get(&format!("/users/{me}")).await.text().await.unwrap();
    assert!(
        page.contains("Admin sessions") && page.contains("(this session)"),
        "sessions listed"
    );
    assert!(page.contains("Sign out everywhere else"));

    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[id]", &me),
            ("form[email]", ADMIN_EMAIL),
            ("form[first_name]", "Casey"),
            ("form[last_name]", "Manager"),
            ("form[role]", "community_manager"),
            ("form[score]", "0"),
            ("form[password]", "a brand new password"),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        status_of(&app, &app.client).await,
        200,
        "the session it was changed from stays"
    );
    assert_eq!(
        status_of(&app, &second).await,
        303,
        "every other session ended"
    );

    assert_eq!(
        sign_in_with(&app, &second, "a brand new password").await,
        200
    );
    assert_eq!(status_of(&app, &second).await, 200);
    let res = app
        .call::<user_fns::EndSessions>(&[("user_id", me.as_str())])
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    assert_eq!(status_of(&app, &app.client).await, 200);
    assert_eq!(
        status_of(&app, &second).await,
        303,
        "signed out everywhere else"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'sessions.ended'")
            .await,
        1
    );
}

async fn sign_in_with(app: &TestApp, client: &reqwest::Client, password: &str) -> u16 {
    sign_in_with_email(app, client, ADMIN_EMAIL, password).await
}

async fn status_of(app: &TestApp, client: &reqwest::Client) -> u16 {
    client
        .get(app.url("/users"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Sign-in attempts leave audit entries by and about a person (a failed attempt that typed a
/// member's email; a manager's own sign-ins), and an entry can name two people: deleting them,
/// one after the other, erases them completely (the log's append-only rule lets a redacted
/// entry be redacted further).
async fn people_with_sign_in_attempts_and_managers_are_erased_completely(app: TestApp) {
    use switchyard::server::engine::erasure::{self, Identity};
    app.sign_in().await;
    for (email, first, role, password) in [
        ("member.one@example.com", "Member", "participant", ""),
        (
            "pm.two@example.com",
            "Manager",
            "project_manager",
            "pm password 123",
        ),
    ] {
        let res = app
            .call::<user_fns::SaveUser>(&[
                ("form[email]", email),
                ("form[first_name]", first),
                ("form[last_name]", "Tested"),
                ("form[role]", role),
                ("form[password]", password),
            ])
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    // Someone guesses at the member's account; the project manager signs in and out.
    let stranger = common::client();
    app.call_with(
        &stranger,
        auth::SignIn::PATH,
        &[
            ("form[email]", "Member.One@Example.com"),
            ("form[password]", "guess guess"),
            ("form[next]", "/"),
        ],
        &[],
    )
    .await;
    assert_eq!(
        sign_in_with_email(&app, &stranger, "pm.two@example.com", "pm password 123").await,
        200
    );
    let who = Identity::new(
        vec!["member.one@example.com".into(), "pm.two@example.com".into()],
        vec!["Member Tested".into(), "Manager Tested".into()],
    );
    assert!(!erasure::check(&app.db, &who).await.unwrap().is_empty());
    for email in ["member.one@example.com", "pm.two@example.com"] {
        let id = app
            .count(&format!("SELECT id FROM users WHERE email = '{email}'"))
            .await
            .to_string();
        let res = app
            .call::<user_fns::DeleteUser>(&[("form[id]", id.as_str()), ("form[confirm]", "on")])
            .await;
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{email}: {} {}",
            res.status(),
            res.text().await.unwrap()
        );
    }
    let left = erasure::check(&app.db, &who).await.unwrap();
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user.deleted'")
            .await,
        2
    );
}

async fn sign_in_with_email(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> u16 {
    app.call_with(
        client,
        auth::SignIn::PATH,
        &[
            ("form[email]", email),
            ("form[password]", password),
            ("form[next]", "/"),
        ],
        &[],
    )
    .await
    .status()
    .as_u16()
}
