//! The dashboard's "Get started" checklist: seed 000's set-up (API key, removal macro, filter,
//! listener, a first call), each step ticked from what exists, as each manager may see it.

use crate::common::{self, TestApp};
use switchyard::server::admin::{Actor, api_keys, filters, listeners, macros};
use switchyard::server_fns::admin::{LoadDashboard, SetGetStartedHidden};
use switchyard::types::{
    ApiKeyForm, DashboardStats, FilterForm, FilterRowForm, GetStarted, ListenerForm,
    MacroActionForm, MacroForm, SetupStep, StepState,
};

on_both_backends!(the_checklist_ticks_each_step_as_it_is_done);

async fn checklist(app: &TestApp) -> GetStarted {
    let res = app.call::<LoadDashboard>(&[]).await;
    assert_eq!(res.status(), 200);
    res.json::<DashboardStats>().await.unwrap().get_started
}

/// A step, whether it is done, and the (id, name) it links to.
fn state(step: SetupStep, done: bool, item: Option<(i32, &str)>) -> StepState {
    StepState {
        step,
        done,
        item: item.map(|(id, name)| (id, name.to_string())),
    }
}

async fn hide(app: &TestApp, hidden: bool) {
    let res = app
        .call::<SetGetStartedHidden>(&[("hidden", &hidden.to_string())])
        .await;
    assert!(res.status().is_success(), "{}", res.status());
}

async fn the_checklist_ticks_each_step_as_it_is_done(app: TestApp) {
    use SetupStep::*;
    app.sign_in().await;
    let actor = Actor::system("test");
    let db = &app.db;

    // A fresh community: five steps in order, all to do, nothing to link to.
    let fresh = checklist(&app).await;
    assert!(!fresh.hidden);
    assert_eq!(
        fresh.steps,
        [ApiKey, RemovalMacro, Filter, Listener, TryListener].map(|s| state(s, false, None))
    );

    // A disabled key does not count; an enabled one does.
    let key = api_keys::create(
        db,
        &actor,
        &ApiKeyForm {
            name: "Jira".into(),
            prefix: "jira".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    api_keys::set_enabled(db, &actor, &key.id.to_string(), false)
        .await
        .unwrap();
    assert!(!checklist(&app).await.steps[0].done);
    api_keys::set_enabled(db, &actor, &key.id.to_string(), true)
        .await
        .unwrap();
    let g = checklist(&app).await;
    assert_eq!(g.steps[0], state(ApiKey, true, Some((key.id, "Jira"))));
    assert!(g.steps[1..].iter().all(|s| !s.done));

    // A macro that only adjusts the score is not a removal; one that removes is.
    let save_macro = |name: &str, key: &str, removes: bool| MacroForm {
        name: name.into(),
        key: key.into(),
        actions: vec![MacroActionForm {
            slot: "0".into(),
            kind: "adjust_score".into(),
            value: "1".into(),
        }],
        remove_user: removes.then(|| "on".into()),
        ..Default::default()
    };
    macros::save(
        db,
        &app.sealer,
        &actor,
        &save_macro("Points", "points", false),
    )
    .await
    .unwrap();
    assert!(!checklist(&app).await.steps[1].done);
    let forget = macros::save(
        db,
        &app.sealer,
        &actor,
        &save_macro("Forget me", "forget", true),
    )
    .await
    .unwrap();
    assert_eq!(
        checklist(&app).await.steps[1],
        state(RemovalMacro, true, Some((forget, "Forget me")))
    );

    // A feedback filter is not a user filter.
    let rows = |field: &str, value: &str| {
        vec![FilterRowForm {
            slot: "0".into(),
            field: field.into(),
            op: "contains".into(),
            value: value.into(),
        }]
    };
    filters::save(
        db,
        &actor,
        &FilterForm {
            name: "Crashes".into(),
            scope: "feedback".into(),
            rows: rows("title", "crash"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!checklist(&app).await.steps[2].done);
    let filter = filters::save(
        db,
        &actor,
        &FilterForm {
            name: "Customers".into(),
            rows: rows("email", "@"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        checklist(&app).await.steps[2],
        state(Filter, true, Some((filter, "Customers")))
    );

    // The listener: step four ticks, and step five points at the listener to try.
    listeners::save(
        db,
        &actor,
        &ListenerForm {
            name: "GDPR removal".into(),
            key: "gdpr".into(),
            filter_id: filter.to_string(),
            macro_id: forget.to_string(),
            api_key_id: key.id.to_string(),
            enabled: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let listener = app.count("SELECT id FROM listeners").await as i32;
    let named = Some((listener, "GDPR removal"));
    let g = checklist(&app).await;
    assert_eq!(g.steps[3], state(Listener, true, named));
    assert_eq!(g.steps[4], state(TryListener, false, named));

    // A real call, even one that finds nobody, is in the listener log: the listener was tried.
    let res = common::client()
        .post(app.url("/api/v1/userMacroListeners/gdpr"))
        .query(&[("find", "nobody@example.com")])
        .header("X-Api-Key", &key.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let g = checklist(&app).await;
    assert_eq!(g.steps[4], state(TryListener, true, named));
    assert!(g.all_done());

    // A project manager sees the steps that are theirs: API keys and removal macros are not,
    // nor a listener that runs a removal (its page has nothing for them to set or try).
    let pm = app.project_manager().await;
    assert_eq!(
        checklist(&pm).await.steps,
        [
            state(Filter, true, Some((filter, "Customers"))),
            state(Listener, false, None),
            state(TryListener, false, None),
        ]
    );

    // Hidden by one manager, for that manager only, until they show it again.
    hide(&app, true).await;
    let g = checklist(&app).await;
    assert!(g.hidden && g.steps.is_empty());
    assert!(!checklist(&pm).await.hidden);
    hide(&app, false).await;
    assert_eq!(checklist(&app).await.steps.len(), 5);
}
