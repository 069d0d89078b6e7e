//! Test harness: the real app on 127.0.0.1:0 with a fresh database per test, on SQLite (a new
#![allow(dead_code)]
//! file) or PostgreSQL (a new database on the local server).

use std::sync::atomic::{AtomicU32, Ordering};

use leptos::config::LeptosOptions;
use leptos::server_fn::ServerFn;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use switchyard::server::admin::{Actor, community};
use switchyard::server::settings::Settings;
use switchyard::server::startup;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub db: DatabaseConnection,
    pub settings: Settings,
    /// Keeps cookies, does not follow redirects (tests look at them).
    pub client: reqwest::Client,
    /// The counts of refused calls (tests flush them instead of waiting a minute).
    pub refusals: std::sync::Arc<switchyard::server::refusals::Refusals>,
    /// The server's key file, for service functions called directly.
    pub sealer: std::sync::Arc<switchyard::server::secrets::Sealer>,
    /// The calls the server answered per listener (tests judge them instead of waiting).
    pub call_rates: std::sync::Arc<switchyard::server::engine::health::CallRates>,
}

pub const ADMIN_EMAIL: &str = "cm@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn pg_admin_url() -> String {
    std::env::var("SWITCHYARD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database URL for one test.
pub async fn fresh_database(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("switchyard-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{}.db", unique("t"))).display()
            )
        }
        Backend::Postgres => {
            let admin_url = pg_admin_url();
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for these tests and is not reachable at {admin_url}: {e}. \
                     Start it (pg_ctlcluster <version> main start) or point SWITCHYARD_TEST_PG_URL at a server."
                )
            });
            drop_stale_databases(&admin).await;
            let name = unique("sy_test");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let (prefix, _) = admin_url.rsplit_once('/').expect("database URL has a path");
            format!("{prefix}/{name}")
        }
    }
}

/// Drops test databases left by earlier test processes that are gone.
async fn drop_stale_databases(admin: &DatabaseConnection) {
    let rows = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'sy_test_%'".to_string(),
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    // The server's errors (with where they happened) go to the test's captured output, shown
    // when it fails; SWITCHYARD_TEST_LOG=warn (an EnvFilter) shows more.
    let filter = std::env::var("SWITCHYARD_TEST_LOG").unwrap_or_else(|_| "error".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
    let url = fresh_database(backend).await;
    let mut settings = Settings::for_database(&url);
    adjust(&mut settings);
    let options = LeptosOptions::builder()
        .output_name("switchyard")
        .site_root("target/site")
        .build();
    let state = startup::prepare(settings.clone(), options)
        .await
        .expect("app prepares");
    community::create_admin(
        &state.db,
        &Actor::system("test"),
        community::NewAdmin {
            email: ADMIN_EMAIL.into(),
            password: Some(ADMIN_PASSWORD.into()),
            first_name: "Casey".into(),
            last_name: "Manager".into(),
        },
    )
    .await
    .expect("admin created");
    let db = state.db.clone();
    let refusals = state.refusals.clone();
    let sealer = state.sealer.clone();
    let call_rates = state.call_rates.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(startup::serve(listener, state, std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        db,
        settings,
        client: client(),
        refusals,
        sealer,
        call_rates,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

impl TestApp {
    /// Creates the project manager Pat Manager (`pm@example.com`) through the users screen,
    /// as this app's signed-in community manager, and returns the same server with a client
    /// of its own signed in as Pat.
    pub async fn project_manager(&self) -> TestApp {
        let res = self
            .call::<switchyard::server_fns::users::SaveUser>(&[
                ("form[email]", "pm@example.com"),
                ("form[first_name]", "Pat"),
                ("form[last_name]", "Manager"),
                ("form[role]", "project_manager"),
                ("form[password]", "pm password 123"),
            ])
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let pm = TestApp {
            base: self.base.clone(),
            db: self.db.clone(),
            settings: self.settings.clone(),
            client: client(),
            refusals: self.refusals.clone(),
            sealer: self.sealer.clone(),
            call_rates: self.call_rates.clone(),
        };
        let res = pm.sign_in_as("pm@example.com", "pm password 123").await;
        assert_eq!(res.status(), 200, "the project manager signs in");
        pm
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Calls a server function the way a hydrated form does (url-encoded body).
    pub async fn call<S: ServerFn>(&self, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.call_with(&self.client, S::PATH, pairs, &[]).await
    }

    pub async fn call_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = client.post(self.url(path)).form(pairs);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    pub async fn sign_in_as(&self, email: &str, password: &str) -> reqwest::Response {
        self.call::<switchyard::server_fns::auth::SignIn>(&[
            ("form[email]", email),
            ("form[password]", password),
            ("form[next]", "/users"),
        ])
        .await
    }

    pub async fn sign_in(&self) {
        let res = self.sign_in_as(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(
            res.status(),
            200,
            "sign-in failed: {}",
            res.text().await.unwrap()
        );
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0)
            .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
            .unwrap()
    }
}

/// Waits (10 s at most) until the count `sql` reads is `want`: work the server finishes in the
/// background (a queued run, a delivery).
pub async fn wait_until(app: &TestApp, sql: &str, want: i64) {
    for _ in 0..200 {
        if app.count(sql).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "`{sql}` never reached {want} (now {})",
        app.count(sql).await
    );
}

/// A data group of `scope` (made through the services) with `(label, parameter, kind, favourite)` fields; its id.
pub async fn data_group(
    app: &TestApp,
    scope: &str,
    name: &str,
    fields: &[(&str, &str, &str, bool)],
) -> i32 {
    let actor = Actor::system("test");
    let id = switchyard::server::admin::external_data::create_group(
        &app.db,
        &actor,
        &switchyard::types::NewDataGroupForm {
            scope: scope.into(),
            name: name.into(),
        },
    )
    .await
    .unwrap();
    switchyard::server::admin::external_data::save_group(
        &app.db,
        &actor,
        &switchyard::types::DataGroupForm {
            id: id.to_string(),
            name: name.into(),
            fields: fields
                .iter()
                .enumerate()
                .map(
                    |(i, (label, parameter, kind, favourite))| switchyard::types::DataFieldForm {
                        slot: i.to_string(),
                        label: label.to_string(),
                        parameter: parameter.to_string(),
                        kind: kind.to_string(),
                        favorite: favourite.then(|| "on".to_string()),
                    },
                )
                .collect(),
        },
    )
    .await
    .unwrap();
    id
}

/// The error a refused server-function call answers with.
pub async fn error_of(res: reqwest::Response) -> switchyard::errors::AppError {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an AppError ({e}): {text}"))
}

/// Runs an async test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::spawn($crate::common::Backend::Sqlite).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::spawn($crate::common::Backend::Postgres).await).await
                }
            }
        )*
    };
}

/// A listener set up through the services, the way seed 000 sets it up by hand: an API key, a
/// macro, a filter on team Customers, a listener tying them together, and users.
#[allow(dead_code)]
pub struct Seeded {
    pub api_key: String,
    pub api_key_id: i32,
    pub macro_id: i32,
    pub listener_key: String,
}

/// Seeds `customers` users `c{i}@example.com` in team Customers and one administrator
/// `admin@example.com`, and a listener `key` running a macro of `actions` (`(kind, value)`).
#[allow(dead_code)]
pub async fn seed_listener(
    db: &DatabaseConnection,
    key: &str,
    actions: &[(&str, &str)],
    run_once: bool,
    customers: usize,
) -> Seeded {
    use switchyard::server::admin::{api_keys, filters, listeners, macros, teams, users};
    use switchyard::types::{
        ApiKeyForm, FilterForm, FilterRowForm, ListenerForm, MacroActionForm, MacroForm, TeamForm,
        UserForm,
    };
    let actor = Actor::system("test seed");
    let mut team_ids = Vec::new();
    for name in ["Customers", "Administrators"] {
        let id = match switchyard::server::store::lookups::team_refs(db)
            .await
            .unwrap()
            .iter()
            .find(|t| t.name == name)
        {
            Some(t) => t.id,
            None => teams::create(
                db,
                &actor,
                &TeamForm {
                    name: name.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        };
        team_ids.push(id);
    }
    let mut people: Vec<(String, i32)> = (0..customers)
        .map(|i| (format!("c{i}@example.com"), team_ids[0]))
        .collect();
    people.push(("admin@example.com".into(), team_ids[1]));
    for (email, team) in people {
        let parsed = switchyard::server::domain::Email::parse(&email).unwrap();
        if switchyard::server::store::lookups::find_user_by_email(db, &parsed)
            .await
            .unwrap()
            .is_some()
        {
            continue;
        }
        users::create(
            db,
            &actor,
            &UserForm {
                email,
                first_name: "Test".into(),
                last_name: "Person".into(),
                team_ids: vec![team.to_string()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let created = api_keys::create(
        db,
        &actor,
        &ApiKeyForm {
            name: format!("Key for {key}"),
            prefix: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let filter_id = filters::save(
        db,
        &actor,
        &FilterForm {
            name: format!("Customers for {key}"),
            rows: vec![FilterRowForm {
                slot: "0".into(),
                field: "team".into(),
                op: "is".into(),
                value: "Customers".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let macro_id = macros::save(
        db,
        // Saves no webhook: nothing is sealed.
        &switchyard::server::secrets::Sealer::from_key(&[0; 32]),
        &actor,
        &MacroForm {
            name: format!("Macro for {key}"),
            key: format!("m-{key}"),
            actions: actions
                .iter()
                .enumerate()
                .map(|(i, (kind, value))| MacroActionForm {
                    slot: i.to_string(),
                    kind: kind.to_string(),
                    value: value.to_string(),
                })
                .collect(),
            include_on_dashboard: Some("on".into()),
            run_once_per_user: run_once.then(|| "on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    listeners::save(
        db,
        &actor,
        &ListenerForm {
            name: format!("Listener {key}"),
            key: key.into(),
            filter_id: filter_id.to_string(),
            macro_id: macro_id.to_string(),
            api_key_id: created.id.to_string(),
            enabled: Some("on".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Seeded {
        api_key: created.key,
        api_key_id: created.id,
        macro_id,
        listener_key: key.into(),
    }
}
