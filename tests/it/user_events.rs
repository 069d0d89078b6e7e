//! User macros automated on user events (seed 003's "a message when a user registers"): a
//! user created on the *New user* screen or by a CSV import, or joining or leaving a team in
//! the user editor, queues a run of each user macro automated on it whose user filter they
//! pass, in the same transaction; a macro's own team changes do not set it off again. On
//! SQLite and PostgreSQL; the webhook goes to a local receiver on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{TestApp, wait_until};
use switchyard::server::admin::{Actor, filters, imports, macros, teams};
use switchyard::server_fns::macros::{RunMacro, SaveMacro};
use switchyard::server_fns::users::{DeleteUser, SaveUser};
use switchyard::types::{FilterForm, FilterRowForm, MacroActionForm, MacroForm, TeamForm};

/// Records the body of every request it gets; answers 200.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let seen = r.clone();
        let app = axum::Router::new().fallback(move |body: String| {
            let seen = seen.clone();
            async move {
                seen.bodies.lock().unwrap().push(body);
                "{}"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, format!("http://{addr}"))
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

fn actor() -> Actor {
    Actor::system("test")
}

async fn team(app: &TestApp, name: &str) -> i32 {
    teams::create(
        &app.db,
        &actor(),
        &TeamForm {
            name: name.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// A user filter "team is `team`".
async fn in_team(app: &TestApp, name: &str, team: &str) -> i32 {
    filters::save(
        &app.db,
        &actor(),
        &FilterForm {
            name: name.into(),
            scope: "user".into(),
            rows: vec![FilterRowForm {
                slot: "0".into(),
                field: "team".into(),
                op: "is".into(),
                value: team.into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// A user macro of `actions` (`(kind, value)`) with the automation fields of `extra`.
async fn user_macro(app: &TestApp, key: &str, actions: &[(&str, &str)], extra: MacroForm) -> i32 {
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
            ..extra
        },
    )
    .await
    .unwrap_or_else(|e| panic!("macro refused: {e:?}"))
}

/// Creates (`id` empty) or edits a participant through the users screen's server function,
/// with exactly `teams`; the user's id.
async fn save_user(app: &TestApp, id: &str, email: &str, first: &str, teams: &[i32]) -> i32 {
    let teams: Vec<String> = teams.iter().map(i32::to_string).collect();
    let mut form = vec![
        ("form[id]", id),
        ("form[email]", email),
        ("form[first_name]", first),
        ("form[last_name]", "Example"),
        ("form[role]", "participant"),
        ("form[score]", "0"),
    ];
    for t in &teams {
        form.push(("form[team_ids][]", t));
    }
    let res = app.call::<SaveUser>(&form).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app.count(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await as i32
}

async fn runs_of(app: &TestApp, macro_id: i32, user_id: i32) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM macro_runs WHERE macro_id = {macro_id} AND target_user_id = {user_id} AND trigger = 'automation'"
    ))
    .await
}

/// The Slack-on-registration case: a user macro ticked "When a user is created", guarded by a
/// filter, comments on the new user and posts their email to a webhook; a user the filter
/// leaves out gets no run. The macros list and the macro's page say what the automation is.
async fn creating_a_user_runs_the_macros_automated_on_it(app: TestApp) {
    let (receiver, base) = Receiver::start().await;
    app.sign_in().await;
    let customers = team(&app, "Customers").await;
    let testers = team(&app, "Testers").await;
    let in_customers = in_team(&app, "In Customers", "Customers").await.to_string();
    let url = format!("{base}/slack");
    let res = app
        .call::<SaveMacro>(&[
            ("form[name]", "Welcome"),
            ("form[key]", "welcome"),
            ("form[scope]", "user"),
            ("form[actions][0][slot]", "0"),
            ("form[actions][0][kind]", "add_comment"),
            ("form[actions][0][value]", "Welcome, ((user.first_name))!"),
            ("form[on_user_created]", "on"),
            ("form[automation_filter_id]", &in_customers),
            ("form[trigger_webhooks]", "on"),
            ("form[webhook][name]", "Slack"),
            ("form[webhook][method]", "POST"),
            ("form[webhook][url]", &url),
            ("form[webhook][content_type]", "json"),
            (
                "form[webhook][body]",
                "{\"text\": \"New user ((user.email))\"}",
            ),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let welcome = app
        .count("SELECT id FROM macros WHERE key = 'welcome'")
        .await as i32;

    let ada = save_user(&app, "", "ada@example.com", "Ada", &[customers]).await;
    // Queued with the user, in the same transaction: there as soon as the screen answered.
    assert_eq!(runs_of(&app, welcome, ada).await, 1);
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM macro_runs WHERE macro_id = {welcome} AND target_user_id = {ada} AND status = 'completed'"),
        1,
    )
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM comments WHERE user_id = {ada} AND body = 'Welcome, Ada!'"
        ))
        .await,
        1
    );
    for _ in 0..200 {
        if !receiver.bodies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        receiver.bodies(),
        vec!["{\"text\": \"New user ada@example.com\"}".to_string()]
    );
    // The user's run history names the trigger.
    let history = macros::runs_for_user(&app.db, ada).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].macro_name.as_str(),
            history[0].trigger.as_str(),
            history[0].status.as_str()
        ),
        ("Welcome", "automation", "completed")
    );

    // Outside the filter: no run at all.
    let bob = save_user(&app, "", "bob@example.com", "Bob", &[testers]).await;
    assert_eq!(runs_of(&app, welcome, bob).await, 0);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM comments WHERE user_id = {bob}"
        ))
        .await,
        0
    );

    // The list and the page say it in words.
    let list = app.get("/macros").await.text().await.unwrap();
    assert!(
        list.contains("When a user is created, if they pass In Customers"),
        "{list}"
    );
    let page = app
        .get(&format!("/macros/{welcome}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("When a user is created, if they pass In Customers"),
        "{page}"
    );
    assert_eq!(receiver.bodies().len(), 1, "nothing was sent for Bob");

    // A guard filter gone from under the macro (a delete racing its save: the screens refuse
    // to delete a filter in use) guards nothing: the macro is not run, and the user is still
    // created.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(&format!("DELETE FROM filters WHERE id = {in_customers}"))
        .await
        .unwrap();
    let cy = save_user(&app, "", "cy@example.com", "Cy", &[customers]).await;
    assert!(cy > 0);
    assert_eq!(runs_of(&app, welcome, cy).await, 0);
}

/// Joining and leaving teams in the user editor runs the macros automated on it (a team of
/// its own narrows it; the filter is judged after the change); a macro's own *add to team*
/// does not set it off again, and deleting a user is not leaving a team.
async fn joining_and_leaving_teams_runs_their_macros(app: TestApp) {
    app.sign_in().await;
    let customers = team(&app, "Customers").await;
    let testers = team(&app, "Testers").await;
    let in_customers = in_team(&app, "In Customers", "Customers").await;
    let joined_testers = user_macro(
        &app,
        "joined-testers",
        &[("add_comment", "Joined Testers")],
        MacroForm {
            on_team_join: Some("on".into()),
            event_team_id: testers.to_string(),
            ..Default::default()
        },
    )
    .await;
    let left_still_customer = user_macro(
        &app,
        "left-still-customer",
        &[("add_comment", "Left a team, still a customer")],
        MacroForm {
            on_team_leave: Some("on".into()),
            automation_filter_id: in_customers.to_string(),
            ..Default::default()
        },
    )
    .await;
    let left_testers = user_macro(
        &app,
        "left-testers",
        &[("adjust_score", "1")],
        MacroForm {
            on_team_leave: Some("on".into()),
            event_team_id: testers.to_string(),
            ..Default::default()
        },
    )
    .await;
    let promote = user_macro(
        &app,
        "promote",
        &[
            ("add_to_team", "Testers"),
            ("remove_from_team", "Customers"),
        ],
        MacroForm::default(),
    )
    .await;

    // Created in Customers: not the team the join macro waits for.
    let ada = save_user(&app, "", "ada@example.com", "Ada", &[customers]).await;
    assert_eq!(runs_of(&app, joined_testers, ada).await, 0);
    // Joins Testers.
    let id = ada.to_string();
    save_user(&app, &id, "ada@example.com", "Ada", &[customers, testers]).await;
    assert_eq!(runs_of(&app, joined_testers, ada).await, 1);
    assert_eq!(runs_of(&app, left_still_customer, ada).await, 0);
    // Leaves Testers, still in Customers: both leave macros run.
    save_user(&app, &id, "ada@example.com", "Ada", &[customers]).await;
    assert_eq!(runs_of(&app, left_still_customer, ada).await, 1);
    assert_eq!(runs_of(&app, left_testers, ada).await, 1);
    // Leaves Customers: as she is after leaving, the filter leaves her out.
    save_user(&app, &id, "ada@example.com", "Ada", &[]).await;
    assert_eq!(runs_of(&app, left_still_customer, ada).await, 1);
    // A name change with the same teams is no event.
    save_user(&app, &id, "ada@example.com", "Adah", &[]).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_runs WHERE target_user_id = {ada} AND trigger = 'automation'"
        ))
        .await,
        3
    );
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM macro_runs WHERE target_user_id = {ada} AND trigger = 'automation' AND status = 'completed'"),
        3,
    )
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM comments WHERE user_id = {ada} AND body = 'Joined Testers'"
        ))
        .await,
        1
    );

    // The macro's own Add to team puts her in Testers without setting anything off.
    let res = app
        .call::<RunMacro>(&[
            ("form[macro_id]", &promote.to_string()),
            ("form[user_id]", &id),
        ])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM team_memberships WHERE user_id = {ada} AND team_id = {testers}"
        ))
        .await,
        1
    );
    assert_eq!(runs_of(&app, joined_testers, ada).await, 1);

    // Deleting her (in Testers) is not leaving Testers.
    let res = app
        .call::<DeleteUser>(&[("form[id]", &id), ("form[confirm]", "on")])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_runs WHERE macro_id = {left_testers}"
        ))
        .await,
        1
    );
}

/// A CSV import queues one run per imported user as it writes them; rejected rows and a
/// refused file queue none.
async fn a_csv_import_queues_a_run_per_imported_user(app: TestApp) {
    let customers = team(&app, "Customers").await;
    let noted = user_macro(
        &app,
        "imported",
        &[("add_comment", "Imported as ((user.email))")],
        MacroForm {
            on_user_created: Some("on".into()),
            ..Default::default()
        },
    )
    .await;
    let joined = user_macro(
        &app,
        "joined",
        &[("adjust_score", "2")],
        MacroForm {
            on_team_join: Some("on".into()),
            event_team_id: customers.to_string(),
            ..Default::default()
        },
    )
    .await;
    let csv = "email,first_name,last_name,teams\n\
               grace@example.com,Grace,Hopper,Customers\n\
               broken-email,No,Body,\n\
               linus@example.com,Linus,Torvalds,\n\
               alan@example.com,Alan,Turing,Customers\n\
               GRACE@example.com,Grace,Again,\n";
    imports::import_users_csv(&app.db, &actor(), "people.csv", csv.as_bytes())
        .await
        .unwrap();
    // Written with the users: three runs of the creation macro, two of the join macro, at once.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email IN ('grace@example.com', 'linus@example.com', 'alan@example.com')")
            .await,
        3
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_runs WHERE macro_id = {noted} AND trigger = 'automation'"
        ))
        .await,
        3
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_runs WHERE macro_id = {joined} AND trigger = 'automation'"
        ))
        .await,
        2
    );
    wait_until(
        &app,
        "SELECT COUNT(*) FROM comments WHERE body LIKE 'Imported as %'",
        3,
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comments c JOIN users u ON u.id = c.user_id WHERE c.body = 'Imported as ' || u.email").await,
        3
    );
    // A refused file writes nothing and queues nothing.
    let refused =
        imports::import_users_csv(&app.db, &actor(), "bad.csv", b"name\nzoe@example.com\n").await;
    assert!(refused.is_err());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM macro_runs WHERE trigger = 'automation'")
            .await,
        5
    );
}

/// The editor's rules: the guarding filter must be a user filter, the team must exist, and a
/// removal macro automated on user events is for community managers only.
async fn the_user_event_automation_is_checked_and_kept_from_project_managers(app: TestApp) {
    app.sign_in().await;
    let pm = app.project_manager().await;
    let feedback_filter = filters::save(
        &app.db,
        &actor(),
        &FilterForm {
            name: "Titled".into(),
            scope: "feedback".into(),
            rows: vec![FilterRowForm {
                slot: "0".into(),
                field: "title".into(),
                op: "contains".into(),
                value: "crash".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .to_string();
    let base = [
        ("form[name]", "Greet"),
        ("form[key]", "greet"),
        ("form[scope]", "user"),
        ("form[actions][0][slot]", "0"),
        ("form[actions][0][kind]", "adjust_score"),
        ("form[actions][0][value]", "1"),
        ("form[on_user_created]", "on"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&'static str, &'static str)> = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let mut wrong: Vec<(&str, &str)> = base.to_vec();
    wrong.push(("form[automation_filter_id]", &feedback_filter));
    let res = app.call::<SaveMacro>(&wrong).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("automation_filter_id"), "{body}");
    let res = app
        .call::<SaveMacro>(&with(&[
            ("form[on_team_join]", "on"),
            ("form[event_team_id]", "9999"),
        ]))
        .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("event_team_id"), "{body}");
    assert_eq!(app.count("SELECT COUNT(*) FROM macros").await, 0);

    // A project manager may automate a macro that does not remove anyone …
    let res = pm.call::<SaveMacro>(&with(&[])).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // … but not a removal on user creation; a community manager may.
    let removal = [
        ("form[name]", "Reject"),
        ("form[key]", "reject"),
        ("form[scope]", "user"),
        ("form[remove_user]", "on"),
        ("form[on_user_created]", "on"),
    ];
    let res = pm.call::<SaveMacro>(&removal).await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM macros WHERE key = 'reject'")
            .await,
        0
    );
    let res = app.call::<SaveMacro>(&removal).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM macros WHERE key = 'reject' AND on_user_created")
            .await,
        1
    );
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                fn adjust(s: &mut switchyard::server::settings::Settings) {
                    s.outgoing_allow_hosts = vec!["127.0.0.1".into()];
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::spawn_with($crate::common::Backend::Sqlite, adjust).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::spawn_with($crate::common::Backend::Postgres, adjust).await).await
                }
            }
        )*
    };
}

scenarios!(
    creating_a_user_runs_the_macros_automated_on_it,
    joining_and_leaving_teams_runs_their_macros,
    a_csv_import_queues_a_run_per_imported_user,
    the_user_event_automation_is_checked_and_kept_from_project_managers,
);
