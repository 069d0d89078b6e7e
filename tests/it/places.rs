//! Where feedback macros and listeners belong (issue 19, seeds 001 and 003): a macro placed
//! on a project or feedback type runs only on its tickets, however it is started; a listener
//! placed there finds only its tickets; the automation of a place lists what is placed there.
//! On SQLite and PostgreSQL.

use crate::common;
use crate::common::wait_until;
use crate::feedback::{feedback_macro, ok, setup};

use common::{TestApp, error_of};
use serde_json::{Value, json};
use switchyard::server::admin::{Actor, api_keys, bulk_runs, filters, listeners, macros};
use switchyard::server_fns::{automation as automation_fns, feedback as fb, macros as macro_fns};
use switchyard::types::{
    ApiKeyForm, BulkRunForm, FeedbackAutomationView, FilterForm, FilterRowForm, ListenerForm,
    MacroForm, MacroView, TicketView,
};

on_both_backends!(
    placed_macros_run_only_on_the_tickets_of_their_place,
    placed_listeners_find_only_the_tickets_of_their_place,
);

/// A second type "Idea" in the setup's project, and a project "Borealis" with a type
/// "Question" (both with the default workflow and no fields): their ids.
async fn more_places(app: &TestApp, project_id: &str) -> (String, String, String) {
    ok(app
        .call::<fb::CreateFeedbackType>(&[("form[project_id]", project_id), ("form[name]", "Idea")])
        .await)
    .await;
    ok(app
        .call::<fb::SaveProject>(&[("form[name]", "Borealis"), ("form[key]", "borealis")])
        .await)
    .await;
    let borealis = app
        .count("SELECT id FROM projects WHERE key = 'borealis'")
        .await
        .to_string();
    ok(app
        .call::<fb::CreateFeedbackType>(&[
            ("form[project_id]", &borealis),
            ("form[name]", "Question"),
        ])
        .await)
    .await;
    let id = |name: &str| {
        let sql = format!("SELECT id FROM feedback_types WHERE name = '{name}'");
        async move { app.count(&sql).await.to_string() }
    };
    (id("Idea").await, borealis, id("Question").await)
}

/// A ticket of `type_id` (a Bug Report gets its required Severity): its id.
async fn submit(app: &TestApp, type_id: &str, title: &str) -> String {
    let res = ok(app
        .call::<fb::CreateTicket>(&[
            ("form[feedback_type_id]", type_id),
            ("form[title]", title),
            ("form[description]", "Seen on the beta."),
            ("form[author]", common::ADMIN_EMAIL),
            ("form[fields][severity]", "high"),
        ])
        .await)
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    location
        .strip_prefix("/feedback/")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("unexpected redirect {location}"))
        .to_string()
}

async fn ticket(app: &TestApp, id: &str) -> TicketView {
    ok(app.call::<fb::GetTicket>(&[("id", id)]).await)
        .await
        .json()
        .await
        .unwrap()
}

async fn automation(app: &TestApp, project: &str, ty: Option<&str>) -> FeedbackAutomationView {
    let mut pairs = vec![("project_id", project)];
    if let Some(t) = ty {
        pairs.push(("type_id", t));
    }
    ok(app
        .call::<automation_fns::LoadFeedbackAutomation>(&pairs)
        .await)
    .await
    .json()
    .await
    .unwrap()
}

async fn placed_macros_run_only_on_the_tickets_of_their_place(app: TestApp) {
    let s = setup(&app).await;
    let (idea, borealis, question) = more_places(&app, &s.project_id).await;
    let bug_place = format!("{}/{}", s.project_id, s.type_id);

    // A type that is not the chosen project's is refused on "Where", and nothing is saved.
    let res = app
        .call::<macro_fns::SaveMacro>(&[
            ("form[name]", "Thank bug reporters"),
            ("form[key]", "thank-bugs"),
            ("form[scope]", "feedback"),
            ("form[actions][0][slot]", "0"),
            ("form[actions][0][kind]", "add_ticket_comment"),
            ("form[actions][0][value]", "Thanks for the bug report."),
            ("form[on_submit]", "on"),
            ("form[place]", &format!("{borealis}/{}", s.type_id)),
        ])
        .await;
    assert_eq!(res.status(), 422);
    let err = error_of(res).await;
    assert!(
        err.field_message("place")
            .is_some_and(|m| m.contains("not one of that project's")),
        "{err:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM macros WHERE key = 'thank-bugs'")
            .await,
        0
    );
    // Placed on Aurora › Bug Report, automated on submit.
    let thank = feedback_macro(
        &app,
        "thank-bugs",
        &[("add_ticket_comment", "Thanks for the bug report.")],
        MacroForm {
            on_submit: Some("on".into()),
            place: bug_place.clone(),
            ..Default::default()
        },
    )
    .await;
    let listed: Vec<MacroView> = ok(app
        .call::<macro_fns::LoadMacros>(&[("scope", "feedback")])
        .await)
    .await
    .json()
    .await
    .unwrap();
    let placed = listed.iter().find(|m| m.id == thank).unwrap();
    assert_eq!(placed.place.label, "Aurora › Bug Report");
    assert_eq!(placed.place.value, bug_place);
    // A project's feedback list offers it in its Actions, naming the type it is placed in;
    // another project's list does not offer it at all.
    let offered = |project: &str, kind: Option<&str>| {
        let project = project.to_string();
        let kind = kind.map(|k| k.parse::<i32>().unwrap());
        let app = &app;
        async move {
            bulk_runs::choices(
                &app.db,
                &Actor::system("test"),
                "feedback",
                (Some(project.parse().unwrap()), kind),
            )
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<String>>()
        }
    };
    assert_eq!(
        offered(&s.project_id, None).await,
        ["Macro thank-bugs (only Bug Report)"]
    );
    // Narrowed to Bug Reports, it needs no note; narrowed to Ideas, it is not offered.
    assert_eq!(
        offered(&s.project_id, Some(&s.type_id)).await,
        ["Macro thank-bugs"]
    );
    assert!(offered(&s.project_id, Some(&idea)).await.is_empty());
    assert!(offered(&borealis, None).await.is_empty());

    // Submitted: it runs on the bug, not on the idea beside it nor on Borealis' question.
    let bug = submit(&app, &s.type_id, "Crash on save").await;
    let an_idea = submit(&app, &idea, "Crash reporter idea").await;
    let a_question = submit(&app, &question, "Crash or feature?").await;
    wait_until(
        &app,
        &format!("SELECT COUNT(*) FROM macro_runs WHERE macro_id = {thank} AND target_ticket_id = {bug} AND status = 'completed'"),
        1,
    )
    .await;
    assert_eq!(
        ticket(&app, &bug)
            .await
            .comments
            .last()
            .map(|c| c.body.clone()),
        Some("Thanks for the bug report.".into())
    );
    for elsewhere in [&an_idea, &a_question] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM macro_runs WHERE macro_id = {thank} AND target_ticket_id = {elsewhere}"
            ))
            .await,
            0,
            "ticket {elsewhere}"
        );
        assert!(ticket(&app, elsewhere).await.comments.is_empty());
    }

    // The ticket page offers it on the bug only.
    assert!(ticket(&app, &bug).await.macros.iter().any(|m| m.0 == thank));
    assert!(
        !ticket(&app, &an_idea)
            .await
            .macros
            .iter()
            .any(|m| m.0 == thank)
    );
    // Run by hand on the idea anyway (a crafted form): skipped, saying why, nothing changed.
    ok(app
        .call::<macro_fns::RunTicketMacro>(&[
            ("form[macro_id]", &thank.to_string()),
            ("form[ticket_id]", &an_idea),
            ("form[confirm]", "on"),
        ])
        .await)
    .await;
    let t = ticket(&app, &an_idea).await;
    assert!(t.comments.is_empty());
    assert_eq!(t.runs[0].status, "skipped");
    assert_eq!(
        t.runs[0].outcome,
        "this macro runs only on tickets of Aurora › Bug Report"
    );

    // A bulk run over every "Crash" ticket: the bug is done, the others skipped.
    let actor = Actor::system("test");
    let crashes = filters::save(
        &app.db,
        &actor,
        &FilterForm {
            name: "Crashes".into(),
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
    .unwrap();
    let bulk = bulk_runs::start(
        &app.db,
        &actor,
        &BulkRunForm {
            filter_id: crashes.to_string(),
            macro_id: thank.to_string(),
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
        (progress.total, progress.completed, progress.skipped),
        (3, 1, 2)
    );
    assert!(ticket(&app, &a_question).await.comments.is_empty());

    // The automation of the places: the type's and the project's list it, the other type's
    // and the other project's do not; a macro of the whole project shows on the type page.
    let whole = feedback_macro(
        &app,
        "aurora-wide",
        &[("set_visibility", "private")],
        MacroForm {
            place: s.project_id.clone(),
            ..Default::default()
        },
    )
    .await;
    let ids = |v: &FeedbackAutomationView| v.macros.iter().map(|m| m.id).collect::<Vec<_>>();
    let on_bug = automation(&app, &s.project_id, Some(&s.type_id)).await;
    assert_eq!(ids(&on_bug), vec![whole, thank]);
    assert_eq!(on_bug.feedback_type.as_ref().unwrap().1, "Bug Report");
    assert_eq!(
        ids(&automation(&app, &s.project_id, Some(&idea)).await),
        vec![whole]
    );
    assert_eq!(
        ids(&automation(&app, &s.project_id, None).await),
        vec![whole, thank]
    );
    assert!(ids(&automation(&app, &borealis, None).await).is_empty());
    // A type asked for under another project is not found.
    let res = app
        .call::<automation_fns::LoadFeedbackAutomation>(&[
            ("project_id", borealis.as_str()),
            ("type_id", s.type_id.as_str()),
        ])
        .await;
    assert_eq!(res.status(), 404);
    // Saved again without a place, it runs everywhere again.
    macros::save(
        &app.db,
        &app.sealer,
        &actor,
        &MacroForm {
            id: whole.to_string(),
            name: "Macro aurora-wide".into(),
            key: "aurora-wide".into(),
            actions: vec![switchyard::types::MacroActionForm {
                slot: "0".into(),
                kind: "set_visibility".into(),
                value: "private".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&automation(&app, &s.project_id, None).await),
        vec![thank]
    );
    assert_eq!(automation(&app, &borealis, None).await.everywhere, 1);
}

async fn placed_listeners_find_only_the_tickets_of_their_place(app: TestApp) {
    let s = setup(&app).await;
    let (_idea, borealis, question) = more_places(&app, &s.project_id).await;
    let actor = Actor::system("test");
    let key = api_keys::create(
        &app.db,
        &actor,
        &ApiKeyForm {
            name: "Support desk".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let form = ListenerForm {
        name: "Support replies".into(),
        key: "support".into(),
        kind: "comment".into(),
        scope: "feedback".into(),
        author_field: "author".into(),
        comment_field: "comment".into(),
        api_key_id: key.id.to_string(),
        enabled: Some("on".into()),
        place: format!("{borealis}/{}", s.type_id),
        ..Default::default()
    };
    // A type of another project is refused on "Where".
    let err = listeners::save(&app.db, &actor, &form).await.unwrap_err();
    assert!(err.field_message("place").is_some(), "{err:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM listeners").await, 0);
    let id = listeners::save(
        &app.db,
        &actor,
        &ListenerForm {
            place: borealis.clone(),
            ..form
        },
    )
    .await
    .unwrap();
    let on_borealis = automation(&app, &borealis, Some(&question)).await;
    assert_eq!(
        on_borealis
            .listeners
            .iter()
            .map(|l| (l.id, l.place.label.as_str()))
            .collect::<Vec<_>>(),
        vec![(id, "Borealis")]
    );
    assert!(
        automation(&app, &s.project_id, None)
            .await
            .listeners
            .is_empty()
    );

    let bug = submit(&app, &s.type_id, "Crash on save").await;
    let a_question = submit(&app, &question, "How do I export?").await;
    let post = |find: &str| {
        let req = reqwest::Client::new()
            .post(app.url("/api/v1/feedbackCommentListeners/support"))
            .query(&[("find", find), ("apiKey", &key.key)])
            .json(&json!({ "author": common::ADMIN_EMAIL, "comment": "Answered by support." }));
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // A ticket of another project answers as one outside the filter, and is left alone.
    let (status, body) = post(&bug).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "target_not_in_filter");
    assert!(ticket(&app, &bug).await.comments.is_empty());
    // Asked again, the same answer.
    assert_eq!(post(&bug).await.0, 404);
    let (status, body) = post(&a_question).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ticket(&app, &a_question)
            .await
            .comments
            .last()
            .map(|c| c.body.clone()),
        Some("Answered by support.".into())
    );
}
