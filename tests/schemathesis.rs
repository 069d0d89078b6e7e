//! Fuzzes `/api/v1` with schemathesis (from PyPI, installed into .venv/ by
//! `scripts/setup.sh --test`) against the OpenAPI document the app serves: no 5xx, and no
//! status, header, content type or body that the document does not describe. The listener it
//! aims at is real (seeded), so the calls reach every step of the contract.

mod common;

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
            "--workers",
            "2",
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
