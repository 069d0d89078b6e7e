//! Integration tests: the real server on port 0, a fresh database per test, every test run on
//! SQLite and on PostgreSQL.

mod common;

use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use leptos::server_fn::ServerFn;
use switchyard::errors::AppError;
use switchyard::server_fns::{
    api_keys as key_fns, auth, filters as filter_fns, listeners as listener_fns,
    macros as macro_fns, teams as team_fns, users as user_fns,
};

async fn error_of(res: reqwest::Response) -> AppError {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an AppError ({e}): {text}"))
}

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
);

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
    // Even the right password is refused now.
    let err = error_of(app.sign_in_as(ADMIN_EMAIL, ADMIN_PASSWORD).await).await;
    assert!(matches!(err, AppError::TooManyRequests { .. }), "{err:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in.throttled'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM admin_sessions").await, 0);
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
    let res = app
        .call::<user_fns::SaveUser>(&[
            ("form[email]", "pm@example.com"),
            ("form[first_name]", "Pat"),
            ("form[last_name]", "Manager"),
            ("form[role]", "project_manager"),
            ("form[password]", "pm password 123"),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let pm = TestApp {
        client: common::client(),
        ..app
    };
    let res = pm.sign_in_as("pm@example.com", "pm password 123").await;
    assert_eq!(res.status(), 200);
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
    switchyard::server::services::community::load_demo_data(&app.db, 120)
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
    use switchyard::server::services::api_keys::{self, KeyRejection};
    use switchyard::server::settings::Secret;
    app.sign_in().await;
    let (id, key) = create_key(&app, "Salesforce", "sf", "").await;
    let local: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let check = |presented: Option<String>, ip: std::net::IpAddr| {
        let db = app.db.clone();
        async move {
            api_keys::authenticate(&db, presented.map(Secret::new).as_ref(), ip)
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

    let wrong = format!("{}0", &key[..key.len() - 1]);
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
    use switchyard::server::services::filters;
    switchyard::server::services::community::load_demo_data(&app.db, 60)
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
        filters::user_matches(&app.db, id as i32, hopper)
            .await
            .unwrap()
    );
    assert!(
        !filters::user_matches(&app.db, id as i32, admin)
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
    let calls = app.count("SELECT COUNT(*) FROM listener_calls").await;
    assert_eq!(
        calls, 15,
        "every call but the 405 (no such method) is logged"
    );
    let random = key.strip_prefix("jira_").unwrap();
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM listener_calls WHERE listener_key || target || code LIKE '%{random}%'")).await, 0);
    let page = app.get("/listeners").await.text().await.unwrap();
    assert!(page.contains("target_not_in_filter") && page.contains("GDPR removal"));
}
