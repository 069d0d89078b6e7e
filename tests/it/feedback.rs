//! Projects, feedback types, tickets, comments, followers and notifications through the admin
//! server functions, on SQLite and PostgreSQL.

use crate::common;
use crate::common::wait_until;
use switchyard::server::engine::external_values;

use common::{ADMIN_EMAIL, TestApp, error_of};
use switchyard::errors::AppError;
use switchyard::server_fns::{
    feedback as fb, macros as macro_fns, teams as team_fns, users as user_fns,
};
use switchyard::types::{TicketListPage, TicketView};

pub(crate) async fn ok(res: reqwest::Response) -> reqwest::Response {
    let status = res.status();
    assert!(
        status.is_success() || status.is_redirection(),
        "{status}: {}",
        res.text().await.unwrap()
    );
    res
}

pub(crate) struct Setup {
    pub(crate) project_id: String,
    pub(crate) type_id: String,
    pub(crate) testers: String,
}

/// A project Aurora with a Bug Report type: workflow New → Triaged → In Progress → Closed,
/// team Testers, fields Severity (choice, required), Build (number), Found on (date).
pub(crate) async fn setup(app: &TestApp) -> Setup {
    app.sign_in().await;
    ok(app
        .call::<team_fns::SaveTeam>(&[("form[name]", "Testers")])
        .await)
    .await;
    let testers = app
        .count("SELECT id FROM teams WHERE name = 'Testers'")
        .await
        .to_string();
    ok(app
        .call::<fb::SaveProject>(&[("form[name]", "Aurora"), ("form[key]", "aurora")])
        .await)
    .await;
    let project_id = app
        .count("SELECT id FROM projects WHERE key = 'aurora'")
        .await
        .to_string();
    ok(app
        .call::<fb::CreateFeedbackType>(&[
            ("form[project_id]", &project_id),
            ("form[name]", "Bug Report"),
        ])
        .await)
    .await;
    let type_id = app
        .count("SELECT id FROM feedback_types WHERE name = 'Bug Report'")
        .await
        .to_string();
    ok(app
        .call::<fb::SaveFeedbackType>(&[
            ("form[id]", &type_id),
            ("form[name]", "Bug Report"),
            ("form[statuses]", "New\nTriaged\nIn Progress\nClosed"),
            ("form[teams][]", &testers),
            ("form[fields][0][slot]", "0"),
            ("form[fields][0][label]", "Severity"),
            ("form[fields][0][kind]", "choice"),
            ("form[fields][0][required]", "on"),
            ("form[fields][0][choices]", "Low\nHigh"),
            ("form[fields][1][slot]", "1"),
            ("form[fields][1][label]", "Build"),
            ("form[fields][1][kind]", "number"),
            ("form[fields][2][slot]", "2"),
            ("form[fields][2][label]", "Found on"),
            ("form[fields][2][kind]", "date"),
            ("form[fields][3][slot]", "3"),
            ("form[fields][3][label]", ""),
            ("form[fields][3][kind]", "text"),
        ])
        .await)
    .await;
    Setup {
        project_id,
        type_id,
        testers,
    }
}

async fn add_user(app: &TestApp, email: &str, first: &str, last: &str) -> i64 {
    ok(app
        .call::<user_fns::SaveUser>(&[
            ("form[email]", email),
            ("form[first_name]", first),
            ("form[last_name]", last),
            ("form[score]", "0"),
            ("form[role]", "participant"),
        ])
        .await)
    .await;
    app.count(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
}

pub(crate) async fn submit(app: &TestApp, s: &Setup, title: &str, author: &str) -> String {
    let res = ok(app
        .call::<fb::CreateTicket>(&[
            ("form[feedback_type_id]", &s.type_id),
            ("form[title]", title),
            ("form[description]", "Tap Save twice.\nIt crashes."),
            ("form[author]", author),
            ("form[team_id]", &s.testers),
            ("form[fields][severity]", "high"),
            ("form[fields][build]", "412"),
            ("form[fields][found_on]", "2026-11-20"),
        ])
        .await)
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let id = location
        .strip_prefix("/feedback/")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("unexpected redirect {location}"));
    id.to_string()
}

async fn ticket(app: &TestApp, id: &str) -> TicketView {
    let res = ok(app.call::<fb::GetTicket>(&[("id", id)]).await).await;
    res.json().await.unwrap()
}

async fn tickets(app: &TestApp, s: &Setup, extra: &[(&str, &str)]) -> TicketListPage {
    let mut pairs = vec![("query[project_id]", s.project_id.as_str())];
    pairs.extend_from_slice(extra);
    let res = ok(app.call::<fb::ListTickets>(&pairs).await).await;
    res.json().await.unwrap()
}

async fn a_project_gets_feedback_types_with_form_workflow_and_teams(app: TestApp) {
    let s = setup(&app).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM feedback_statuses WHERE feedback_type_id = {}",
            s.type_id
        ))
        .await,
        4
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM feedback_fields").await,
        3,
        "the blank row is left out"
    );
    assert!(
        app.count("SELECT id FROM feedback_fields WHERE key = 'found_on'")
            .await
            > 0,
        "a key is made from the label"
    );

    // A bad project and a bad type form name their fields and write nothing.
    let err = error_of(
        app.call::<fb::SaveProject>(&[("form[name]", ""), ("form[key]", "no spaces")])
            .await,
    )
    .await;
    assert!(err.field_message("name").is_some() && err.field_message("key").is_some());
    let err = error_of(
        app.call::<fb::SaveProject>(&[("form[name]", "Other"), ("form[key]", "aurora")])
            .await,
    )
    .await;
    assert_eq!(
        err.field_message("key").as_deref(),
        Some("another project has this key")
    );
    let err = error_of(
        app.call::<fb::SaveFeedbackType>(&[
            ("form[id]", &s.type_id),
            ("form[name]", "Bug Report"),
            ("form[statuses]", "New\nnew"),
            ("form[fields][0][slot]", "0"),
            ("form[fields][0][label]", "Severity"),
            ("form[fields][0][kind]", "choice"),
        ])
        .await,
    )
    .await;
    assert!(err.field_message("statuses").unwrap().contains("twice"));
    assert!(err.field_message("fields.0.choices").is_some(), "{err:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM feedback_fields").await, 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM feedback_statuses").await, 4);
    let err = error_of(
        app.call::<fb::CreateFeedbackType>(&[
            ("form[project_id]", &s.project_id),
            ("form[name]", "Bug Report"),
        ])
        .await,
    )
    .await;
    assert!(err.field_message("name").is_some());

    let project: switchyard::types::ProjectView =
        ok(app.call::<fb::GetProject>(&[("id", &s.project_id)]).await)
            .await
            .json()
            .await
            .unwrap();
    let t = &project.types[0].definition;
    let workflow: Vec<&str> = t.statuses.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(workflow, ["New", "Triaged", "In Progress", "Closed"]);
    let labels: Vec<&str> = t.fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["Severity", "Build", "Found on"]);
    assert_eq!(t.teams.len(), 1);
}

async fn tickets_are_submitted_listed_changed_and_commented(app: TestApp) {
    let s = setup(&app).await;
    add_user(&app, "ada@example.com", "Ada", "Lovelace").await;

    // Every bad field is named; nothing is written.
    let err = error_of(
        app.call::<fb::CreateTicket>(&[
            ("form[feedback_type_id]", &s.type_id),
            ("form[title]", " "),
            ("form[author]", "nobody@example.com"),
            ("form[fields][severity]", "Urgent"),
            ("form[fields][build]", "two"),
            ("form[fields][found_on]", "20/11/2026"),
        ])
        .await,
    )
    .await;
    for field in [
        "title",
        "author",
        "fields.severity",
        "fields.build",
        "fields.found_on",
    ] {
        assert!(err.field_message(field).is_some(), "{field}: {err:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0);

    let id = submit(&app, &s, "Crash on save", "Ada@Example.com").await;
    submit(&app, &s, "Typo on the welcome screen", "ada@example.com").await;
    let t = ticket(&app, &id).await;
    assert_eq!(t.status, "New", "a new ticket starts in the first status");
    assert_eq!(t.author, "Ada Lovelace");
    assert_eq!(t.team.as_deref(), Some("Testers"));
    assert_eq!(
        t.fields,
        [
            ("Severity".to_string(), "High".to_string()),
            ("Build".to_string(), "412".to_string()),
            ("Found on".to_string(), "2026-11-20".to_string()),
        ]
    );
    assert_eq!(t.followers, ["Ada Lovelace"], "the author follows");
    assert!(!t.following, "the manager does not (yet)");

    // The list filters by words of the title, status and team, and pages.
    assert_eq!(tickets(&app, &s, &[]).await.total, 2);
    let found = tickets(&app, &s, &[("query[q]", "crash")]).await;
    assert_eq!(found.total, 1);
    assert_eq!(found.rows[0].title, "Crash on save");
    assert_eq!(tickets(&app, &s, &[("query[q]", "nothing")]).await.total, 0);

    // Status and team changes follow the workflow and go into the history.
    let triaged = t.feedback_type.statuses[1].id.to_string();
    ok(app
        .call::<fb::ChangeTicket>(&[
            ("form[ticket_id]", &id),
            ("form[what]", "status"),
            ("form[value]", &triaged),
        ])
        .await)
    .await;
    let err = error_of(
        app.call::<fb::ChangeTicket>(&[
            ("form[ticket_id]", &id),
            ("form[what]", "status"),
            ("form[value]", "99999"),
        ])
        .await,
    )
    .await;
    assert!(err.field_message("value").is_some());
    ok(app
        .call::<fb::ChangeTicket>(&[
            ("form[ticket_id]", &id),
            ("form[what]", "visibility"),
            ("form[value]", "private"),
        ])
        .await)
    .await;
    let by_status = tickets(&app, &s, &[("query[status]", &triaged)]).await;
    assert_eq!(by_status.total, 1);
    let t = ticket(&app, &id).await;
    assert_eq!(t.status, "Triaged");
    assert_eq!(t.visibility, "private");
    let history: Vec<&str> = t.history.iter().map(|e| e.change.as_str()).collect();
    assert_eq!(
        history,
        [
            "Submitted as Bug Report in status New",
            "Status: New → Triaged",
            "Visibility: private"
        ]
    );

    // A comment notifies the other followers, raises the popularity, and makes its author a
    // follower; an empty one is refused.
    let err = error_of(
        app.call::<fb::CommentOnTicket>(&[("form[ticket_id]", &id), ("form[body]", "  ")])
            .await,
    )
    .await;
    assert!(err.field_message("body").is_some());
    for text in ["Reproduced on 412.", "Fixed in 413?"] {
        ok(app
            .call::<fb::CommentOnTicket>(&[("form[ticket_id]", &id), ("form[body]", text)])
            .await)
        .await;
    }
    let ada_notes = app
        .count("SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.email = 'ada@example.com'")
        .await;
    assert_eq!(ada_notes, 2);
    let admin_notes = app
        .count(&format!("SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.email = '{ADMIN_EMAIL}'"))
        .await;
    assert_eq!(admin_notes, 0, "nobody is told of their own comment");
    let t = ticket(&app, &id).await;
    assert_eq!(t.comments.len(), 2);
    assert_eq!(t.comments[0].body, "Reproduced on 412.");
    assert!(t.following);
    assert_eq!(t.popularity, 4, "two followers and two comments");

    // Ada comments back (through the service, as the comment listener will): the manager,
    // now a follower, is notified and sees it in their list.
    let ada = switchyard::server::entities::user::Entity::find_by_id(
        app.count("SELECT id FROM users WHERE email = 'ada@example.com'")
            .await as i32,
    );
    use sea_orm::EntityTrait;
    let ada = ada.one(&app.db).await.unwrap().unwrap();
    let model = switchyard::server::store::lookups::find_ticket(&app.db, id.parse().unwrap())
        .await
        .unwrap();
    // Like the app's own writers (a deferred SQLite transaction that reads first can fail
    // when another writer commits in between).
    let (txn, gate) = switchyard::server::db::begin_write(&app.db).await.unwrap();
    switchyard::server::engine::writes::comment_on_ticket(
        &txn,
        &model,
        Some(&ada),
        "Yes, 413 works.",
        &switchyard::server::admin::Actor::system("test"),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    drop(gate);
    let notes: Vec<switchyard::types::NotificationView> =
        ok(app.call::<fb::ListNotifications>(&[]).await)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].body, "New comment on #1: Crash on save");
    assert!(!notes[0].read);
    ok(app.call::<fb::MarkNotificationsRead>(&[]).await).await;
    let notes: Vec<switchyard::types::NotificationView> =
        ok(app.call::<fb::ListNotifications>(&[]).await)
            .await
            .json()
            .await
            .unwrap();
    assert!(notes[0].read);

    // Following is a switch; it counts toward popularity.
    ok(app
        .call::<fb::FollowTicket>(&[("ticket_id", &id), ("follow", "0")])
        .await)
    .await;
    let t = ticket(&app, &id).await;
    assert!(!t.following);
    assert_eq!(
        t.popularity,
        3 + 1,
        "three comments and Ada, the one follower left"
    );

    // A status that tickets are in cannot leave the workflow.
    let err = error_of(
        app.call::<fb::SaveFeedbackType>(&[
            ("form[id]", &s.type_id),
            ("form[name]", "Bug Report"),
            ("form[statuses]", "New\nClosed"),
        ])
        .await,
    )
    .await;
    assert!(
        err.field_message("statuses")
            .unwrap()
            .contains("“Triaged” is the status of 1 ticket"),
        "{err:?}"
    );
}

async fn removing_an_author_leaves_their_tickets_as_removed_user(app: TestApp) {
    let s = setup(&app).await;
    let ada_id = add_user(&app, "ada@example.com", "Ada", "Lovelace").await;
    let id = submit(&app, &s, "Crash on save", "ada@example.com").await;
    ok(app
        .call::<fb::CommentOnTicket>(&[("form[ticket_id]", &id), ("form[body]", "Thanks Ada")])
        .await)
    .await;
    // A feedback macro greets the submitter by first name and tells a tracker their last
    // name alone: the erasure's sweep looks for full names, these are cut on their tickets.
    {
        use switchyard::server::admin::{Actor, webhooks};
        use switchyard::types::WebhookForm;
        let greet = feedback_macro(
            &app,
            "greet",
            &[("add_ticket_comment", "Welcome ((user.first_name))!")],
            Default::default(),
        )
        .await;
        let sealer =
            switchyard::server::secrets::Sealer::load_or_create(&app.settings.secret_key_file)
                .unwrap();
        webhooks::save(
            &app.db,
            &sealer,
            &Actor::system("test"),
            &WebhookForm {
                macro_id: greet.to_string(),
                name: "tracker".into(),
                method: "POST".into(),
                url: "https://tracker.example/t?by=((user.last_name))".into(),
                body: "{\"hi\": \"((user.first_name))\"}".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        switchyard::server::engine::runs::execute_on_ticket(
            &app.db,
            &Actor::system("test"),
            greet,
            id.parse().unwrap(),
            switchyard::shared::vocab::Trigger::Manual,
        )
        .await
        .unwrap();
        assert_eq!(
            app.count("SELECT COUNT(*) FROM webhook_deliveries WHERE url LIKE '%Lovelace%' AND body LIKE '%Ada%'")
                .await,
            1
        );
    }
    ok(app
        .call::<macro_fns::SaveMacro>(&[
            ("form[name]", "Delete user"),
            ("form[key]", "delete-user"),
            ("form[actions][0][slot]", "0"),
            ("form[actions][0][kind]", "remove_user"),
            ("form[suppress_confirmation]", "on"),
            ("form[show_in_user_actions]", "on"),
        ])
        .await)
    .await;
    let macro_id = app
        .count("SELECT id FROM macros WHERE key = 'delete-user'")
        .await
        .to_string();
    ok(app
        .call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &macro_id),
            ("form[user_id]", &ada_id.to_string()),
        ])
        .await)
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'ada@example.com'")
            .await,
        0
    );
    let t = ticket(&app, &id).await;
    assert_eq!(t.author, "Removed user");
    assert_eq!(t.author_user_id, None);
    assert_eq!(t.comments.len(), 2, "others' comments stay");
    let bodies: Vec<&str> = t.comments.iter().map(|c| c.body.as_str()).collect();
    assert!(bodies.contains(&"Thanks [removed]"), "{bodies:?}");
    assert!(bodies.contains(&"Welcome [removed]!"), "{bodies:?}");
    assert!(!t.followers.iter().any(|f| f.contains("Ada")));
    for sql in [
        "SELECT COUNT(*) FROM tickets WHERE author_label LIKE '%Ada%' OR author_label LIKE '%ada@%'",
        "SELECT COUNT(*) FROM ticket_events WHERE actor_label LIKE '%Ada%'",
        "SELECT COUNT(*) FROM webhook_deliveries WHERE url LIKE '%Lovelace%' OR body LIKE '%Ada%'",
        "SELECT COUNT(*) FROM webhook_attempts WHERE response_body LIKE '%Ada%' OR error LIKE '%Lovelace%'",
        "SELECT COUNT(*) FROM ticket_followers WHERE user_id NOT IN (SELECT id FROM users)",
    ] {
        assert_eq!(app.count(sql).await, 0, "{sql}");
    }
}

on_both_backends!(
    feedback_listeners_find_tickets_by_id_or_stored_value,
    feedback_macros_run_manually_in_bulk_and_by_automation,
    feedback_filters_test_form_fields_and_external_data,
    schedules_run_once_per_occurrence_and_can_be_switched_off,
    user_comments_belong_to_the_community_or_a_project,
    a_project_gets_feedback_types_with_form_workflow_and_teams,
    tickets_are_submitted_listed_changed_and_commented,
    removing_an_author_leaves_their_tickets_as_removed_user,
);

async fn external_data_groups_hold_typed_values_shown_favourites_first(app: TestApp) {
    use switchyard::server::engine::external_values::Subject;
    use switchyard::server_fns::external_data as data_fns;
    app.sign_in().await;
    let ada = add_user(&app, "ada@example.com", "Ada", "Lovelace").await as i32;

    let err = error_of(
        app.call::<data_fns::CreateDataGroup>(&[("form[scope]", "planet"), ("form[name]", "")])
            .await,
    )
    .await;
    assert!(err.field_message("scope").is_some() && err.field_message("name").is_some());
    ok(app
        .call::<data_fns::CreateDataGroup>(&[("form[scope]", "user"), ("form[name]", "Jira")])
        .await)
    .await;
    // A group on projects keeps its scope, may share a user group's name, and is listed.
    ok(app
        .call::<data_fns::CreateDataGroup>(&[("form[scope]", "project"), ("form[name]", "Jira")])
        .await)
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM data_groups WHERE scope = 'project' AND name = 'Jira'")
            .await,
        1
    );
    let listed = switchyard::server::admin::external_data::list(&app.db)
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|g| g.scope == "project" && g.name == "Jira"),
        "{listed:?}"
    );
    let group = app
        .count("SELECT id FROM data_groups WHERE name = 'Jira' AND scope = 'user'")
        .await
        .to_string();
    let save = |kind_of_bugs: &'static str| {
        vec![
            ("form[id]", group.clone()),
            ("form[name]", "Jira".to_string()),
            ("form[fields][0][slot]", "0".into()),
            ("form[fields][0][label]", "Open bugs".into()),
            ("form[fields][0][parameter]", "openBugs".into()),
            ("form[fields][0][kind]", kind_of_bugs.into()),
            ("form[fields][1][slot]", "1".into()),
            ("form[fields][1][label]", "Issue key".into()),
            ("form[fields][1][parameter]", "issueKey".into()),
            ("form[fields][1][kind]", "string".into()),
            ("form[fields][1][favorite]", "on".into()),
            ("form[fields][2][slot]", "2".into()),
            ("form[fields][2][label]", "Reported".into()),
            ("form[fields][2][parameter]", "reported".into()),
            ("form[fields][2][kind]", "datetime".into()),
        ]
    };
    let pairs = save("integer");
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (*a, b.as_str())).collect();
    ok(app.call::<data_fns::SaveDataGroup>(&refs).await).await;

    // Values as a listener will store them: each coerced to its field's type.
    let fields = external_values::fields_of(&app.db, group.parse().unwrap())
        .await
        .unwrap();
    // Like the app's own writers (a deferred SQLite transaction that reads first can fail
    // when another writer commits in between).
    let (txn, gate) = switchyard::server::db::begin_write(&app.db).await.unwrap();
    for (f, raw) in fields.iter().zip([
        serde_json::json!("3"),
        serde_json::json!("BETA-42"),
        serde_json::json!("2026-11-25T15:30:00+01:00"),
    ]) {
        let typed = external_values::coerce(&f.kind, &raw).unwrap();
        external_values::store(&txn, Subject::User(ada), f, typed)
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    drop(gate);
    assert!(external_values::coerce("integer", &serde_json::json!("three")).is_err());

    let detail: switchyard::types::UserDetail = ok(app
        .call::<user_fns::LoadUserDetail>(&[("id", &ada.to_string())])
        .await)
    .await
    .json()
    .await
    .unwrap();
    let shown: Vec<(String, String, bool)> = detail
        .external_data
        .iter()
        .map(|v| (v.label.clone(), v.value.clone(), v.favorite))
        .collect();
    assert_eq!(
        shown,
        [
            ("Issue key".to_string(), "BETA-42".to_string(), true),
            ("Open bugs".to_string(), "3".to_string(), false),
            (
                "Reported".to_string(),
                "2026-11-25 14:30 UTC".to_string(),
                false
            ),
        ],
        "favourites first, then in the group's order"
    );
    assert_eq!(
        app.count("SELECT value_integer FROM data_values WHERE value_integer IS NOT NULL")
            .await,
        3,
        "stored as a number"
    );

    // A field that holds values keeps its type.
    let pairs = save("string");
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let err = error_of(app.call::<data_fns::SaveDataGroup>(&refs).await).await;
    assert!(
        err.field_message("fields")
            .unwrap()
            .contains("“Open bugs” holds 1 value"),
        "{err:?}"
    );

    // Removing the user removes their values.
    ok(app
        .call::<macro_fns::SaveMacro>(&[
            ("form[name]", "Delete user"),
            ("form[key]", "delete-user"),
            ("form[actions][0][slot]", "0"),
            ("form[actions][0][kind]", "remove_user"),
            ("form[show_in_user_actions]", "on"),
            ("form[suppress_confirmation]", "on"),
        ])
        .await)
    .await;
    let macro_id = app
        .count("SELECT id FROM macros WHERE key = 'delete-user'")
        .await
        .to_string();
    ok(app
        .call::<macro_fns::RunMacro>(&[
            ("form[macro_id]", &macro_id),
            ("form[user_id]", &ada.to_string()),
        ])
        .await)
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM data_values").await, 0);

    // Deleting a group asks for confirmation, then takes its fields along.
    let err = error_of(
        app.call::<data_fns::DeleteDataGroup>(&[("form[id]", &group)])
            .await,
    )
    .await;
    assert!(err.field_message("confirm").is_some());
    ok(app
        .call::<data_fns::DeleteDataGroup>(&[("form[id]", &group), ("form[confirm]", "on")])
        .await)
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM data_fields").await, 0);
}

on_both_backends!(external_data_groups_hold_typed_values_shown_favourites_first);

async fn external_sources_create_tickets_from_mapped_bodies(app: TestApp) {
    use serde_json::json;
    use switchyard::server::admin::{Actor, api_keys, external_sources};
    use switchyard::types::{ApiKeyForm, ExternalSourceForm};
    let s = setup(&app).await;
    add_user(&app, "ada@example.com", "Ada", "Lovelace").await;
    let actor = Actor::system("test");
    let key = api_keys::create(
        &app.db,
        &actor,
        &ApiKeyForm {
            name: "Salesforce".into(),
            prefix: "sf".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let form = |mapping: &str| ExternalSourceForm {
        project_id: s.project_id.clone(),
        feedback_type_id: s.type_id.clone(),
        name: "Salesforce".into(),
        key: "salesforce".into(),
        api_key_id: key.id.to_string(),
        team_id: s.testers.clone(),
        status_param: "Stage".into(),
        submitter: ADMIN_EMAIL.into(),
        submitter_param: "ContactEmail".into(),
        mapping: mapping.into(),
        enabled: Some("on".into()),
        ..Default::default()
    };
    let err = external_sources::save(&app.db, &actor, &form("Priority__c = severity"))
        .await
        .unwrap_err();
    assert!(
        err.field_message("mapping").unwrap().contains("title"),
        "{err:?}"
    );
    external_sources::save(
        &app.db,
        &actor,
        &form("Subject = title\nDetails = description\nPriority__c = severity\nBuild__c = build"),
    )
    .await
    .unwrap();

    let send = |body: Option<serde_json::Value>, api_key: &str, idem: Option<&str>| {
        let mut req = reqwest::Client::new()
            .post(app.url("/api/v1/externalSources/salesforce"))
            .header("X-Api-Key", api_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        async move {
            let res = req.send().await.unwrap();
            (
                res.status().as_u16(),
                res.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let good = json!({
        "Subject": "Crash on save", "Details": "Twice.", "Priority__c": "high",
        "Build__c": 412, "ContactEmail": "ada@example.com", "Stage": "triaged", "Other": [1]
    });
    let (status, body) = send(Some(good.clone()), &key.key, Some("sf-1")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "created");
    let id = body["ticket_id"].as_str().unwrap().to_string();
    let t = ticket(&app, &id).await;
    assert_eq!(t.title, "Crash on save");
    assert_eq!(t.description, "Twice.");
    assert_eq!(
        t.author, "Ada Lovelace",
        "the submitter comes from the body"
    );
    assert_eq!(t.status, "Triaged", "the status comes from the body");
    assert_eq!(t.team.as_deref(), Some("Testers"));
    assert_eq!(t.fields[0], ("Severity".into(), "High".into()));
    assert_eq!(t.fields[1], ("Build".into(), "412".into()));
    // The same Idempotency-Key creates nothing more.
    assert_eq!(
        send(Some(good), &key.key, Some("sf-1")).await,
        (status, body)
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 1);

    // Without the body's submitter, the default one; each bad input is named.
    let (status, body) = send(
        Some(json!({ "Subject": "Typo", "Priority__c": "Low" })),
        &key.key,
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let t = ticket(&app, body["ticket_id"].as_str().unwrap()).await;
    assert_eq!(t.author, "Casey Manager", "the default submitter");
    assert_eq!(t.status, "New");
    for (body, status_want, code_want, names) in [
        (
            json!({ "Priority__c": "Low" }),
            400,
            "missing_field",
            "Subject",
        ),
        (
            json!({ "Subject": "x" }),
            400,
            "missing_field",
            "Priority__c",
        ),
        (
            json!({ "Subject": "x", "Priority__c": "Urgent" }),
            400,
            "invalid_field",
            "Priority__c",
        ),
        (
            json!({ "Subject": "x", "Priority__c": "Low", "Build__c": "soon" }),
            400,
            "invalid_field",
            "Build__c",
        ),
        (
            json!({ "Subject": "x", "Priority__c": "Low", "Stage": "Shipped" }),
            400,
            "invalid_field",
            "Stage",
        ),
        (
            json!({ "Subject": "x", "Priority__c": "Low", "ContactEmail": "nobody@example.com" }),
            400,
            "invalid_submitter",
            "ContactEmail",
        ),
        (
            json!(["not", "an", "object"]),
            400,
            "invalid_body",
            "object",
        ),
    ] {
        let (status, answer) = send(Some(body.clone()), &key.key, None).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str().unwrap()),
            (status_want, code_want),
            "{body}: {answer}"
        );
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(names),
            "{answer}"
        );
    }
    assert_eq!(send(Some(json!({})), "sf_wrong", None).await.0, 401);
    let (status, _) = {
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/externalSources/nothing"))
            .header("X-Api-Key", &key.key)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), ())
    };
    assert_eq!(status, 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 2);
    // Calls refused before their key was accepted are counted, and written by the flush
    // (once a minute in a running server).
    app.refusals.flush(&app.db).await.unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE source_id IS NOT NULL")
            .await,
        11,
        "every call to the source is logged (the unknown key without a source)"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE code = 'replayed'")
            .await,
        1
    );

    // A sender's retry storm: 50 calls at once with one Idempotency-Key create one ticket,
    // and every answer is the first one's (or 409 while it is in flight), never a 500.
    let storm =
        json!({ "Subject": "Storm", "Priority__c": "Low", "ContactEmail": "ada@example.com" });
    let answers = futures::future::join_all(
        (0..50).map(|_| send(Some(storm.clone()), &key.key, Some("sf-storm"))),
    )
    .await;
    let mut firsts = std::collections::BTreeSet::new();
    for (status, body) in &answers {
        match status {
            201 => {
                firsts.insert(body.to_string());
            }
            409 => assert_eq!(body["error"]["code"], "idempotency_key_in_flight"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(firsts.len(), 1, "{firsts:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM tickets WHERE title = 'Storm'")
            .await,
        1
    );
}

/// A feedback macro of `actions` (`(kind, value)`), with automation and schedule fields.
pub(crate) async fn feedback_macro(
    app: &TestApp,
    key: &str,
    actions: &[(&str, &str)],
    extra: switchyard::types::MacroForm,
) -> i32 {
    use switchyard::server::admin::{Actor, macros};
    use switchyard::types::{MacroActionForm, MacroForm};
    macros::save(
        &app.db,
        &app.sealer,
        &Actor::system("test"),
        &MacroForm {
            name: format!("Macro {key}"),
            key: key.into(),
            scope: "feedback".into(),
            show_in_user_actions: Some("on".into()),
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
    .unwrap()
}

/// A saved filter of `scope` from (field, op, value) rows, all of which must hold.
async fn saved_filter(app: &TestApp, scope: &str, name: &str, rows: &[(&str, &str, &str)]) -> i32 {
    use switchyard::server::admin::{Actor, filters};
    use switchyard::types::{FilterForm, FilterRowForm};
    filters::save(
        &app.db,
        &Actor::system("test"),
        &FilterForm {
            name: name.into(),
            scope: scope.into(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, (field, op, value))| FilterRowForm {
                    slot: i.to_string(),
                    field: field.to_string(),
                    op: op.to_string(),
                    value: value.to_string(),
                })
                .collect(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// A feedback data group "Jira" with Issue key (string) and Story points (integer).
pub(crate) async fn jira_group(app: &TestApp) -> (i32, i64) {
    use switchyard::server::admin::{Actor, external_data};
    use switchyard::types::{DataFieldForm, DataGroupForm, NewDataGroupForm};
    let actor = Actor::system("test");
    let group = external_data::create_group(
        &app.db,
        &actor,
        &NewDataGroupForm {
            scope: "feedback".into(),
            name: "Jira".into(),
        },
    )
    .await
    .unwrap();
    let field = |slot: &str, label: &str, parameter: &str, kind: &str| DataFieldForm {
        slot: slot.into(),
        label: label.into(),
        parameter: parameter.into(),
        kind: kind.into(),
        favorite: None,
    };
    external_data::save_group(
        &app.db,
        &actor,
        &DataGroupForm {
            id: group.to_string(),
            name: "Jira".into(),
            fields: vec![
                field("0", "Issue key", "issueKey", "string"),
                field("1", "Story points", "points", "integer"),
            ],
        },
    )
    .await
    .unwrap();
    let issue_key = app
        .count("SELECT id FROM data_fields WHERE parameter = 'issueKey'")
        .await;
    (group, issue_key)
}

async fn feedback_listeners_find_tickets_by_id_or_stored_value(app: TestApp) {
    use serde_json::{Value, json};
    use switchyard::server::admin::{Actor, api_keys, listeners};
    use switchyard::types::{ApiKeyForm, ListenerForm};
    let s = setup(&app).await;
    add_user(&app, "ada@example.com", "Ada", "Lovelace").await;
    let id = submit(&app, &s, "Crash on save", "ada@example.com").await;
    let other = submit(&app, &s, "Slow start", "ada@example.com").await;
    let (group, issue_key) = jira_group(&app).await;
    let actor = Actor::system("test");
    let key = api_keys::create(
        &app.db,
        &actor,
        &ApiKeyForm {
            name: "Jira".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let close = feedback_macro(
        &app,
        "close",
        &[("set_status", "Closed")],
        Default::default(),
    )
    .await;
    let open_only = saved_filter(
        &app,
        "feedback",
        "Open bugs",
        &[("status", "is_not", "Closed")],
    )
    .await;
    let listener = |kind: &str, key_: &str, extra: ListenerForm| {
        let form = ListenerForm {
            name: format!("Jira {kind}"),
            key: key_.into(),
            kind: kind.into(),
            scope: "feedback".into(),
            api_key_id: key.id.to_string(),
            enabled: Some("on".into()),
            ..extra
        };
        let db = app.db.clone();
        async move { listeners::save(&db, &Actor::system("test"), &form).await }
    };
    // A user filter cannot guard a feedback listener.
    let user_filter = saved_filter(&app, "user", "Everyone", &[("email", "contains", "@")]).await;
    let err = listener(
        "macro",
        "jira-close",
        ListenerForm {
            macro_id: close.to_string(),
            filter_id: user_filter.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(err.field_message("filter_id").is_some(), "{err:?}");

    listener(
        "data",
        "jira-data",
        ListenerForm {
            data_group_id: group.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    listener(
        "comment",
        "jira-comment",
        ListenerForm {
            author_field: "author".into(),
            comment_field: "body".into(),
            find_field_id: issue_key.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    listener(
        "macro",
        "jira-close",
        ListenerForm {
            macro_id: close.to_string(),
            filter_id: open_only.to_string(),
            find_field_id: issue_key.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let post = |path: &str, find: &str, body: Option<Value>| {
        let mut req = reqwest::Client::new()
            .post(app.url(&format!("/api/v1/{path}")))
            .query(&[("find", find), ("apiKey", &key.key)]);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let code = |b: &Value| b["error"]["code"].as_str().unwrap_or("").to_string();

    // External Data by ticket id: values coerced to their types; a bad one names its parameter.
    let (status, body) = post(
        "feedbackDataListeners/jira-data",
        &id,
        Some(json!({ "issueKey": "BETA-42", "points": "3" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        "feedbackDataListeners/jira-data",
        &other,
        Some(json!({ "points": "many" })),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (400, "invalid_field"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("points")
    );
    let (status, body) = post(
        "feedbackDataListeners/jira-data",
        "99999",
        Some(json!({ "points": 1 })),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (404, "target_not_found"));
    let (status, body) = post(
        "feedbackDataListeners/jira-data",
        "not-a-number",
        Some(json!({ "points": 1 })),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (400, "invalid_find"));

    // Add Comment, finding the ticket by the stored Jira key; the author must be a member.
    let (status, body) = post(
        "feedbackCommentListeners/jira-comment",
        "BETA-42",
        Some(json!({ "author": "ghost@example.com", "body": "Hi" })),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (400, "invalid_author"));
    let (status, body) = post(
        "feedbackCommentListeners/jira-comment",
        "BETA-42",
        Some(json!({ "author": "ada@example.com" })),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (400, "missing_field"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"body\"")
    );
    let (status, body) = post(
        "feedbackCommentListeners/jira-comment",
        "BETA-42",
        Some(json!({ "author": "ada@example.com", "body": "Fixed in 2.1" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        "feedbackCommentListeners/jira-comment",
        "BETA-404",
        Some(json!({ "author": "ada@example.com", "body": "x" })),
    )
    .await;
    assert_eq!((status, code(&body).as_str()), (404, "target_not_found"));

    // Macro Execution by Jira key, guarded by "status is not Closed".
    let (status, body) = post("feedbackMacroListeners/jira-close", "BETA-42", None).await;
    assert!(status == 200 || status == 202, "{status} {body}");
    wait_until(
        &app,
        &format!(
            "SELECT COUNT(*) FROM macro_runs WHERE target_ticket_id = {id} AND status = 'completed'"
        ),
        1,
    )
    .await;
    let (status, body) = post("feedbackMacroListeners/jira-close", "BETA-42", None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (404, "target_not_in_filter")
    );

    let t = ticket(&app, &id).await;
    assert_eq!(t.status, "Closed");
    assert_eq!(t.comments.len(), 1);
    assert_eq!(t.comments[0].body, "Fixed in 2.1");
    assert_eq!(t.comments[0].author, "Ada Lovelace");
    let stored: Vec<(String, String)> = t
        .external_data
        .iter()
        .map(|v| (v.label.clone(), v.value.clone()))
        .collect();
    assert!(
        stored.contains(&("Issue key".into(), "BETA-42".into())),
        "{stored:?}"
    );
    assert!(
        stored.contains(&("Story points".into(), "3".into())),
        "{stored:?}"
    );
    assert!(t.history.iter().any(|e| e.change.contains("Closed")));
    assert_eq!(t.runs.len(), 1);
    // The log names the ticket, never a person.
    assert!(
        app.count("SELECT COUNT(*) FROM listener_calls WHERE target LIKE 'ticket #%'")
            .await
            >= 5
    );
    // The test panel works the same out for tickets.
    let test = listeners::test_request(
        &app.db,
        &app.sealer,
        &switchyard::server::admin::Actor::system("test"),
        app.count("SELECT id FROM listeners WHERE key = 'jira-close'")
            .await as i32,
        "BETA-42",
    )
    .await
    .unwrap();
    assert_eq!(
        (test.status, test.code.as_str()),
        (404, "target_not_in_filter")
    );
    assert!(test.user.unwrap().contains("Crash on save"));
    assert!(!test.filter.unwrap().passes);
}

/// A sender's retry storm on each feedback listener type: 50 calls at once with one
/// Idempotency-Key store the data once, add one comment, run the macro once; every answer is
/// the first one's, byte for byte, or 409 while it is in flight, never a 500; a repeat
/// afterwards gets the first answer.
async fn feedback_listeners_hold_one_idempotency_key_under_a_storm(backend: common::Backend) {
    use serde_json::{Value, json};
    use switchyard::server::admin::{Actor, api_keys, listeners};
    use switchyard::types::{ApiKeyForm, ListenerForm};
    let app = common::spawn_with(backend, |s| s.api_rate_burst = 1000).await;
    let s = setup(&app).await;
    add_user(&app, "ada@example.com", "Ada", "Lovelace").await;
    let id = submit(&app, &s, "Crash on save", "ada@example.com").await;
    let (group, _) = jira_group(&app).await;
    let actor = Actor::system("test");
    let key = api_keys::create(
        &app.db,
        &actor,
        &ApiKeyForm {
            name: "Jira".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let bump = feedback_macro(
        &app,
        "triage",
        &[("set_status", "Triaged")],
        Default::default(),
    )
    .await;
    for (kind, key_, extra) in [
        (
            "data",
            "storm-data",
            ListenerForm {
                data_group_id: group.to_string(),
                ..Default::default()
            },
        ),
        (
            "comment",
            "storm-comment",
            ListenerForm {
                author_field: "author".into(),
                comment_field: "body".into(),
                ..Default::default()
            },
        ),
        (
            "macro",
            "storm-macro",
            ListenerForm {
                macro_id: bump.to_string(),
                ..Default::default()
            },
        ),
    ] {
        listeners::save(
            &app.db,
            &actor,
            &ListenerForm {
                name: format!("Storm {kind}"),
                key: key_.into(),
                kind: kind.into(),
                scope: "feedback".into(),
                api_key_id: key.id.to_string(),
                enabled: Some("on".into()),
                ..extra
            },
        )
        .await
        .unwrap();
    }
    let post = |path: &'static str, body: Option<Value>| {
        let mut req = reqwest::Client::new()
            .post(app.url(&format!("/api/v1/{path}")))
            .query(&[("find", id.as_str()), ("apiKey", key.key.as_str())])
            .header("Idempotency-Key", format!("storm-{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    for (path, body) in [
        (
            "feedbackDataListeners/storm-data",
            Some(json!({ "issueKey": "BETA-9", "points": 5 })),
        ),
        (
            "feedbackCommentListeners/storm-comment",
            Some(json!({ "author": "ada@example.com", "body": "Storm note" })),
        ),
        ("feedbackMacroListeners/storm-macro", None),
    ] {
        let answers = futures::future::join_all((0..50).map(|_| post(path, body.clone()))).await;
        let mut firsts = std::collections::BTreeSet::new();
        for (status, answer) in &answers {
            match status {
                200 | 202 => {
                    firsts.insert((*status, answer.to_string()));
                }
                409 => assert_eq!(answer["error"]["code"], "idempotency_key_in_flight"),
                other => panic!("{path}: {other} {answer}"),
            }
        }
        assert_eq!(firsts.len(), 1, "{path}: {firsts:?}");
        let (status, again) = post(path, body.clone()).await;
        assert_eq!(
            Some(&(status, again.to_string())),
            firsts.iter().next(),
            "{path}: a repeat gets the first call's answer"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ticket_comments WHERE body = 'Storm note'")
            .await,
        1
    );
    wait_until(
        &app,
        &format!(
            "SELECT COUNT(*) FROM macro_runs WHERE target_ticket_id = {id} AND status = 'completed'"
        ),
        1,
    )
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM macro_runs WHERE target_ticket_id = {id}"
        ))
        .await,
        1,
        "one run for the whole storm"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM listener_calls WHERE code <> 'replayed' AND code <> 'idempotency_key_in_flight'"
        )
        .await,
        3,
        "one call of each storm did the work"
    );
}

mod feedback_listeners_hold_one_idempotency_key_under_a_storm {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::feedback_listeners_hold_one_idempotency_key_under_a_storm(
            crate::common::Backend::Sqlite,
        )
        .await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::feedback_listeners_hold_one_idempotency_key_under_a_storm(
            crate::common::Backend::Postgres,
        )
        .await
    }
}

async fn feedback_macros_run_manually_in_bulk_and_by_automation(app: TestApp) {
    use switchyard::server::admin::{Actor, bulk_runs, feedback as fb_svc};
    use switchyard::types::{BulkRunForm, MacroForm, TicketChangeForm};
    let s = setup(&app).await;
    let ada = add_user(&app, "ada@example.com", "Ada", "Lovelace").await;
    let first = submit(&app, &s, "Crash on save", "ada@example.com").await;
    let triage = feedback_macro(
        &app,
        "triage",
        &[
            ("set_status", "triaged"),
            ("set_team", "no team"),
            (
                "add_ticket_comment",
                "Thanks ((user.first_name)), we are on ((feedback.title)) [((feedback.status))].",
            ),
            ("adjust_submitter_score", "+2"),
            ("set_visibility", "Private"),
            // A status the workflow lacks is skipped, and says so.
        ],
        Default::default(),
    )
    .await;
    // Bad actions are named; a user action does not belong in a feedback macro.
    let err = switchyard::server::admin::macros::save(
        &app.db,
        &app.sealer,
        &Actor::system("test"),
        &MacroForm {
            name: "Bad".into(),
            key: "bad".into(),
            scope: "feedback".into(),
            actions: vec![
                switchyard::types::MacroActionForm {
                    slot: "0".into(),
                    kind: "remove_user".into(),
                    value: String::new(),
                },
                switchyard::types::MacroActionForm {
                    slot: "1".into(),
                    kind: "set_visibility".into(),
                    value: "secret".into(),
                },
                switchyard::types::MacroActionForm {
                    slot: "2".into(),
                    kind: "add_ticket_comment".into(),
                    value: "Hi ((feedback.nope))".into(),
                },
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.field_message("actions.0").is_some() && err.field_message("actions.1").is_some(),
        "{err:?}"
    );
    assert!(
        err.field_message("actions.2")
            .unwrap()
            .contains("((feedback.nope))"),
        "{err:?}"
    );

    // Manual run from the ticket page: confirmation first.
    let res = app
        .call::<macro_fns::RunTicketMacro>(&[
            ("form[macro_id]", &triage.to_string()),
            ("form[ticket_id]", &first),
        ])
        .await;
    assert!(error_of(res).await.field_message("confirm").is_some());
    ok(app
        .call::<macro_fns::RunTicketMacro>(&[
            ("form[macro_id]", &triage.to_string()),
            ("form[ticket_id]", &first),
            ("form[confirm]", "on"),
        ])
        .await)
    .await;
    let t = ticket(&app, &first).await;
    assert_eq!(t.status, "Triaged");
    assert_eq!(t.team, None);
    assert_eq!(t.visibility, "private");
    assert_eq!(
        t.comments.last().unwrap().body,
        "Thanks Ada, we are on Crash on save [Triaged]."
    );
    assert_eq!(
        app.count(&format!("SELECT score FROM users WHERE id = {ada}"))
            .await,
        2
    );
    assert_eq!(t.runs[0].status, "completed");
    assert_eq!(t.runs[0].trigger, "manual");

    // Automation: a macro on submitted High-severity tickets, another on modified ones.
    let high = saved_filter(
        &app,
        "feedback",
        "High bugs",
        &[("field:text:severity", "equals", "high")],
    )
    .await;
    let on_submit = feedback_macro(
        &app,
        "escalate",
        &[("set_status", "In Progress")],
        MacroForm {
            on_submit: Some("on".into()),
            automation_filter_id: high.to_string(),
            ..Default::default()
        },
    )
    .await;
    let _on_modify = feedback_macro(
        &app,
        "note-change",
        &[("add_ticket_comment", "Changed.")],
        MacroForm {
            on_modify: Some("on".into()),
            ..Default::default()
        },
    )
    .await;
    let second = submit(&app, &s, "Crash on open", "ada@example.com").await;
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM macro_runs WHERE target_ticket_id = {second} AND macro_id = {on_submit} AND status = 'completed'"),
        1,
    )
    .await;
    assert_eq!(ticket(&app, &second).await.status, "In Progress");
    // The macro's own change did not set off the modify automation; a manager's change does.
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM macro_runs WHERE target_ticket_id = {second} AND trigger = 'automation'")).await,
        1
    );
    let closed = ticket(&app, &second)
        .await
        .feedback_type
        .statuses
        .iter()
        .find(|x| x.name == "Closed")
        .unwrap()
        .id;
    fb_svc::change(
        &app.db,
        &Actor::system("test"),
        &TicketChangeForm {
            ticket_id: second.clone(),
            what: "status".into(),
            value: closed.to_string(),
        },
    )
    .await
    .unwrap();
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM macro_runs WHERE target_ticket_id = {second} AND trigger = 'automation' AND status = 'completed'"),
        2,
    )
    .await;
    assert_eq!(
        ticket(&app, &second).await.comments.last().unwrap().body,
        "Changed."
    );

    // Bulk: every Bug Report, with progress counted to the end.
    let bugs = saved_filter(
        &app,
        "feedback",
        "All bugs",
        &[("type", "is", "bug report"), ("title", "contains", "crash")],
    )
    .await;
    let bulk = bulk_runs::start(
        &app.db,
        &Actor::system("test"),
        &BulkRunForm {
            filter_id: bugs.to_string(),
            macro_id: triage.to_string(),
            confirm: Some("on".into()),
        },
    )
    .await
    .unwrap();
    let mut progress = bulk_runs::progress(&app.db, bulk).await.unwrap();
    for _ in 0..200 {
        if progress.finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        progress = bulk_runs::progress(&app.db, bulk).await.unwrap();
    }
    assert_eq!(
        (progress.total, progress.completed, progress.scope.as_str()),
        (2, 2, "feedback")
    );
    assert_eq!(ticket(&app, &second).await.status, "Triaged");
    // A user macro cannot run on a feedback filter.
    let err = bulk_runs::start(
        &app.db,
        &Actor::system("test"),
        &BulkRunForm {
            filter_id: bugs.to_string(),
            macro_id: "999".into(),
            confirm: Some("on".into()),
        },
    )
    .await
    .unwrap_err();
    assert!(err.field_message("macro_id").is_some(), "{err:?}");
}

async fn feedback_filters_test_form_fields_and_external_data(app: TestApp) {
    use serde_json::json;
    use switchyard::server::admin::{Actor, filters};
    let s = setup(&app).await;
    add_user(&app, "ada@example.com", "Ada", "Lovelace").await;
    let a = submit(&app, &s, "Crash on save", "ada@example.com").await;
    let b = submit(&app, &s, "Typo in menu", ADMIN_EMAIL).await;
    let (group, _) = jira_group(&app).await;
    let fields = external_values::fields_of(&app.db, group).await.unwrap();
    let points = fields.iter().find(|f| f.parameter == "points").unwrap();
    let (txn, gate) = switchyard::server::db::begin_write(&app.db).await.unwrap();
    external_values::store(
        &txn,
        external_values::Subject::Ticket(a.parse().unwrap()),
        points,
        external_values::coerce("integer", &json!(5)).unwrap(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    drop(gate);
    let data = format!("data:integer:{}", points.id);
    let data = data.as_str();
    assert_eq!(matching(&app, &[("title", "contains", "CRASH")]).await, 1);
    assert_eq!(
        matching(&app, &[("author", "equals", "ada@example.com")]).await,
        1
    );
    assert_eq!(
        matching(&app, &[("author", "not_equals", "ada@example.com")]).await,
        1
    );
    assert_eq!(
        matching(&app, &[("field:text:severity", "equals", "HIGH")]).await,
        2
    );
    assert_eq!(
        matching(&app, &[("field:number:build", "gte", "412")]).await,
        2
    );
    assert_eq!(
        matching(&app, &[("field:number:build", "gt", "412")]).await,
        0
    );
    assert_eq!(
        matching(&app, &[("field:date:found_on", "before", "2026-11-21")]).await,
        2
    );
    assert_eq!(matching(&app, &[(data, "gte", "5")]).await, 1);
    assert_eq!(matching(&app, &[(data, "ne", "5")]).await, 1);
    assert_eq!(
        matching(&app, &[("status", "is", "new"), ("team", "is", "Testers")]).await,
        2
    );
    assert_eq!(matching(&app, &[("project", "is_not", "Aurora")]).await, 0);
    // Bad values are named on their row.
    let err = filters::save(
        &app.db,
        &Actor::system("test"),
        &switchyard::types::FilterForm {
            name: "bad".into(),
            scope: "feedback".into(),
            rows: vec![
                switchyard::types::FilterRowForm {
                    slot: "0".into(),
                    field: "status".into(),
                    op: "is".into(),
                    value: "Nope".into(),
                },
                switchyard::types::FilterRowForm {
                    slot: "1".into(),
                    field: "email".into(),
                    op: "equals".into(),
                    value: "x".into(),
                },
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.field_message("rows.0").is_some() && err.field_message("rows.1").is_some(),
        "{err:?}"
    );
    // A field the filters above read stays while they do: gone, its "ne 5" would match every
    // ticket. Neither the group nor the field can be deleted under them.
    use switchyard::server::admin::external_data;
    use switchyard::types::{DataFieldForm, DataGroupForm};
    let err =
        external_data::delete_group(&app.db, &Actor::system("test"), &group.to_string(), true)
            .await
            .unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("use this data group")),
        "{err:?}"
    );
    let err = external_data::save_group(
        &app.db,
        &Actor::system("test"),
        &DataGroupForm {
            id: group.to_string(),
            name: "Jira".into(),
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
    .unwrap_err();
    assert!(
        matches!(&err, AppError::Conflict(m) if m.contains("use this field")),
        "{err:?}"
    );
    assert_eq!(matching(&app, &[(data, "ne", "5")]).await, 1);
    let _ = b;
}

/// How many tickets a new feedback filter of `rows` selects.
async fn matching(app: &TestApp, rows: &[(&str, &str, &str)]) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!("filter {}", N.fetch_add(1, Ordering::Relaxed));
    let id = saved_filter(app, "feedback", &name, rows).await;
    switchyard::server::admin::filters::preview(&app.db, id)
        .await
        .unwrap()
        .matching
}

async fn schedules_run_once_per_occurrence_and_can_be_switched_off(app: TestApp) {
    use chrono::{Duration, Timelike, Utc};
    use switchyard::server::admin::{Actor, macros};
    use switchyard::server::engine::automation;
    use switchyard::types::MacroForm;
    let s = setup(&app).await;
    add_user(&app, "ada@example.com", "Ada", "Lovelace").await;
    submit(&app, &s, "Crash on save", "ada@example.com").await;
    let bugs = saved_filter(&app, "feedback", "Bugs", &[("type", "is", "Bug Report")]).await;
    let start = (Utc::now() + Duration::hours(2))
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    let form = |frequency: &str| MacroForm {
        schedule_frequency: frequency.into(),
        schedule_filter_id: bugs.to_string(),
        schedule_starts_at: start.format("%Y-%m-%dT%H:%M").to_string(),
        schedule_enabled: Some("on".into()),
        ..Default::default()
    };
    // A schedule needs a filter of its own scope and a start; the end comes after the start.
    let err = macros::save(
        &app.db,
        &app.sealer,
        &Actor::system("test"),
        &MacroForm {
            name: "x".into(),
            key: "x".into(),
            scope: "feedback".into(),
            actions: vec![switchyard::types::MacroActionForm {
                slot: "0".into(),
                kind: "set_status".into(),
                value: "Closed".into(),
            }],
            schedule_frequency: "daily".into(),
            schedule_starts_at: "tomorrow".into(),
            schedule_ends_at: "2000-01-01T00:00".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    for field in ["schedule_filter_id", "schedule_starts_at"] {
        assert!(err.field_message(field).is_some(), "{field}: {err:?}");
    }
    let daily = feedback_macro(
        &app,
        "nightly",
        &[("add_ticket_comment", "Nightly check")],
        form("daily"),
    )
    .await;
    let once = feedback_macro(&app, "once", &[("set_status", "Triaged")], form("once")).await;
    // A user macro on a user filter, weekly.
    let adas = saved_filter(&app, "user", "Ada", &[("email", "starts_with", "ada@")]).await;
    macros::save(
        &app.db,
        &app.sealer,
        &Actor::system("test"),
        &MacroForm {
            name: "Weekly point".into(),
            key: "weekly-point".into(),
            actions: vec![switchyard::types::MacroActionForm {
                slot: "0".into(),
                kind: "adjust_score".into(),
                value: "1".into(),
            }],
            schedule_filter_id: adas.to_string(),
            ..form("weekly")
        },
    )
    .await
    .unwrap();
    let view = macros::get(&app.db, daily).await.unwrap();
    let sched = view.schedule.unwrap();
    assert_eq!(
        sched.next_run.as_deref(),
        Some(start.format("%Y-%m-%d %H:%M UTC").to_string().as_str())
    );
    assert_eq!(sched.last_run, None);

    // Not due yet: nothing starts.
    assert!(
        automation::run_due(&app.db, start - Duration::minutes(1))
            .await
            .unwrap()
            .is_empty()
    );
    // Due: both start a bulk run; a second look at the same moment starts nothing more.
    let started = automation::run_due(&app.db, start + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(started.len(), 3);
    assert!(
        automation::run_due(&app.db, start + Duration::seconds(5))
            .await
            .unwrap()
            .is_empty()
    );
    wait_until(
        &app,
        "SELECT COUNT(*) FROM macro_runs WHERE trigger = 'schedule' AND status = 'completed'",
        3,
    )
    .await;
    assert_eq!(
        app.count("SELECT score FROM users WHERE email = 'ada@example.com'")
            .await,
        1
    );
    let daily_view = macros::get(&app.db, daily).await.unwrap().schedule.unwrap();
    assert_eq!(
        daily_view.next_run.as_deref(),
        Some(
            (start + Duration::days(1))
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
                .as_str()
        )
    );
    assert!(daily_view.last_run.is_some());
    let once_view = macros::get(&app.db, once).await.unwrap().schedule.unwrap();
    assert_eq!(once_view.next_run, None, "a one-off schedule runs once");
    // Switched off and on again, it stays done; moved to a later start, it runs again then.
    macros::set_schedule_enabled(&app.db, &Actor::system("test"), once, false)
        .await
        .unwrap();
    macros::set_schedule_enabled(&app.db, &Actor::system("test"), once, true)
        .await
        .unwrap();
    assert_eq!(
        macros::get(&app.db, once)
            .await
            .unwrap()
            .schedule
            .unwrap()
            .next_run,
        None
    );
    let later = start + Duration::days(3);
    macros::save(
        &app.db,
        &app.sealer,
        &Actor::system("test"),
        &MacroForm {
            id: once.to_string(),
            name: "Macro once".into(),
            key: "once".into(),
            scope: "feedback".into(),
            actions: vec![switchyard::types::MacroActionForm {
                slot: "0".into(),
                kind: "set_status".into(),
                value: "Triaged".into(),
            }],
            schedule_starts_at: later.format("%Y-%m-%dT%H:%M").to_string(),
            ..form("once")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        macros::get(&app.db, once)
            .await
            .unwrap()
            .schedule
            .unwrap()
            .next_run
            .as_deref(),
        Some(later.format("%Y-%m-%d %H:%M UTC").to_string().as_str())
    );

    // Switched off, a due schedule does not run; switched on, it runs at the next occurrence.
    macros::set_schedule_enabled(&app.db, &Actor::system("test"), daily, false)
        .await
        .unwrap();
    assert!(
        automation::run_due(&app.db, start + Duration::days(2))
            .await
            .unwrap()
            .is_empty()
    );
    macros::set_schedule_enabled(&app.db, &Actor::system("test"), daily, true)
        .await
        .unwrap();
    assert!(
        macros::get(&app.db, daily)
            .await
            .unwrap()
            .schedule
            .unwrap()
            .next_run
            .is_some()
    );
    // A schedule that removes people erases them as completely as any other removal, and
    // leaves a receipt that says a schedule did it.
    let gone = add_user(&app, "old.tester@example.com", "Olda", "Testerová").await;
    let ada_id = app
        .count("SELECT id FROM users WHERE email = 'ada@example.com'")
        .await as i32;
    switchyard::server::engine::writes::comment_on_user(
        &app.db,
        ada_id,
        (None, "Casey Manager".into()),
        "Invited by Olda Testerová (old.tester@example.com)",
        None,
    )
    .await
    .unwrap();
    let inactive = saved_filter(
        &app,
        "user",
        "Inactive",
        &[("email", "starts_with", "old.tester@")],
    )
    .await;
    let cleanup = start + Duration::days(10);
    macros::save(
        &app.db,
        &app.sealer,
        &Actor::system("test"),
        &MacroForm {
            name: "Forget inactive testers".into(),
            key: "forget-inactive".into(),
            actions: vec![switchyard::types::MacroActionForm {
                slot: "0".into(),
                kind: "remove_user".into(),
                value: String::new(),
            }],
            schedule_filter_id: inactive.to_string(),
            schedule_starts_at: cleanup.format("%Y-%m-%dT%H:%M").to_string(),
            ..form("once")
        },
    )
    .await
    .unwrap();
    let who = switchyard::server::engine::erasure::Identity::new(
        vec!["old.tester@example.com".into()],
        vec!["Olda Testerová".into()],
    );
    assert!(
        !switchyard::server::engine::erasure::check(&app.db, &who)
            .await
            .unwrap()
            .is_empty()
    );
    automation::run_due(&app.db, cleanup + Duration::seconds(5))
        .await
        .unwrap();
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM users WHERE id = {gone}"),
        0,
    )
    .await;
    wait_until(
        &app,
        "SELECT COUNT(*) FROM erasure_receipts WHERE \"trigger\" = 'schedule'",
        1,
    )
    .await;
    let left = switchyard::server::engine::erasure::check(&app.db, &who)
        .await
        .unwrap();
    assert!(left.is_empty(), "the scheduled removal left: {left:#?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM comments WHERE body = 'Invited by [removed] ([removed])'")
            .await,
        1
    );

    // A filter a schedule uses cannot be deleted.
    let err = switchyard::server::admin::filters::delete(
        &app.db,
        &Actor::system("test"),
        &bugs.to_string(),
        true,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("nightly") || err.to_string().contains("Macro"),
        "{err}"
    );
}

async fn user_comments_belong_to_the_community_or_a_project(app: TestApp) {
    let s = setup(&app).await;
    let ada = add_user(&app, "ada@example.com", "Ada", "Lovelace")
        .await
        .to_string();
    // Bad input is named and writes nothing.
    let res = app
        .call::<user_fns::CommentOnUser>(&[
            ("form[user_id]", &ada),
            ("form[body]", "  "),
            ("form[project_id]", "999999"),
        ])
        .await;
    let err = error_of(res).await;
    assert!(err.field_message("body").is_some(), "{err:?}");
    let res = app
        .call::<user_fns::CommentOnUser>(&[
            ("form[user_id]", &ada),
            ("form[body]", "Great tester"),
            ("form[project_id]", "999999"),
        ])
        .await;
    assert!(error_of(res).await.field_message("project_id").is_some());
    assert_eq!(app.count("SELECT COUNT(*) FROM comments").await, 0);
    ok(app
        .call::<user_fns::CommentOnUser>(&[
            ("form[user_id]", &ada),
            ("form[body]", "Joined the beta"),
            ("form[project_id]", ""),
        ])
        .await)
    .await;
    ok(app
        .call::<user_fns::CommentOnUser>(&[
            ("form[user_id]", &ada),
            ("form[body]", "Found three crashes"),
            ("form[project_id]", &s.project_id),
        ])
        .await)
    .await;
    let res = ok(app.call::<user_fns::LoadUserDetail>(&[("id", &ada)]).await).await;
    let detail: switchyard::types::UserDetail = res.json().await.unwrap();
    let shown: Vec<(String, Option<String>, String)> = detail
        .comments
        .into_iter()
        .map(|c| (c.body, c.project, c.author))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "Found three crashes".into(),
                Some("Aurora".into()),
                "Casey Manager".into()
            ),
            ("Joined the beta".into(), None, "Casey Manager".into()),
        ]
    );
}

/// Spawned with room for a storm of 50 calls in the per-key rate limit.
mod external_sources_create_tickets_from_mapped_bodies {
    async fn app(backend: crate::common::Backend) -> crate::common::TestApp {
        crate::common::spawn_with(backend, |s| s.api_rate_burst = 1000).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::external_sources_create_tickets_from_mapped_bodies(
            app(crate::common::Backend::Sqlite).await,
        )
        .await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::external_sources_create_tickets_from_mapped_bodies(
            app(crate::common::Backend::Postgres).await,
        )
        .await
    }
}
