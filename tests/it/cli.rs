//! The server binary itself: settings errors, the subcommands, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn temp_db() -> String {
    let dir = std::env::temp_dir().join("switchyard-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("cli_{}_{nanos}.db", std::process::id()))
            .display()
    )
}

fn switchyard(db: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("SWITCHYARD_CONFIG", "/nonexistent/Leptos.toml")
        .env("SWITCHYARD_DATABASE_URL", db)
        .env("LEPTOS_OUTPUT_NAME", "switchyard")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env_remove("SWITCHYARD_ADMIN_EMAIL")
        .env_remove("SWITCHYARD_ADMIN_PASSWORD");
    cmd
}

#[test]
fn a_bad_setting_stops_start_up_and_names_the_key() {
    let out = switchyard(&temp_db())
        .env("SWITCHYARD_SESSION_IDLE_MINUTES", "soon")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("session.idle_minutes")
            && stderr.contains("SWITCHYARD_SESSION_IDLE_MINUTES"),
        "{stderr}"
    );

    let out = switchyard("mysql://nope").arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database_url"));
}

#[test]
fn create_admin_and_demo_data() {
    let db = temp_db();
    let out = switchyard(&db)
        .args(["create-admin", "--email", "Boss@Example.com"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("community manager boss@example.com is ready")
            || stdout.contains("Boss@Example.com is ready"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("generated password (shown once): "))
        .expect("a generated password is printed");
    assert_eq!(password.len(), 20);

    let out = switchyard(&db)
        .args([
            "create-admin",
            "--email",
            "x@example.com",
            "--password",
            "short",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("password: must be at least 10 characters")
    );

    let out = switchyard(&db)
        .args(["demo-data", "--users", "12"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("12 users"), "{said}");
    assert!(
        said.contains("project Aurora Beta (Bug Report, Feature Request)"),
        "{said}"
    );

    let out = switchyard(&db).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));

    // A flag the command does not know is an error, not ignored (the default would load 36).
    let out = switchyard(&db)
        .args(["demo-data", "--userz", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--userz") && said.contains("--users"),
        "{said}"
    );
    let out = switchyard(&db)
        .args(["demo-data", "--users", "many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("many"));
    let out = switchyard(&db).args(["erasure-check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));

    // Each command explains itself.
    for (command, says) in [
        ("erasure-check", "--name <NAME>"),
        ("create-admin", "--first-name"),
        ("demo-data", "How many users"),
    ] {
        let out = switchyard(&db).args([command, "--help"]).output().unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(says), "{command}: {help}");
    }
    let out = switchyard(&db).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for command in [
        "serve",
        "migrate",
        "create-admin",
        "demo-data",
        "erasure-check",
    ] {
        assert!(help.contains(command), "{help}");
    }
}

#[test]
fn first_start_creates_a_manager_serves_and_stops_cleanly_on_sigterm() {
    let mut child = switchyard(&temp_db())
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut generated = false;
    let mut address = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while address.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        generated |= line.contains("generated password");
        address = line
            .strip_prefix("Switchyard is running at ")
            .map(str::to_string);
    }
    assert!(generated, "the first manager's password is printed once");
    let address = address.expect("the server reports its address");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("{address}/healthz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "clean exit after SIGTERM, got {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `erasure-check` says clean only about a database it looked at: none at the path, or a file
/// that is not a Switchyard database, is an error (exit 2), and nothing is created.
#[test]
fn erasure_check_refuses_to_vouch_for_what_it_cannot_see() {
    let db = temp_db();
    let path = db
        .strip_prefix("sqlite://")
        .and_then(|p| p.split('?').next())
        .unwrap()
        .to_string();
    let out = switchyard(&db)
        .args(["erasure-check", "--email", "jim@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!std::path::Path::new(&path).exists(), "nothing was created");

    std::fs::write(&path, b"").unwrap();
    let out = switchyard(&db)
        .args(["erasure-check", "--email", "jim@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a Switchyard database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A real one, migrated: clean.
    std::fs::remove_file(&path).unwrap();
    assert!(switchyard(&db).arg("migrate").status().unwrap().success());
    let out = switchyard(&db)
        .args(["erasure-check", "--email", "jim@example.com"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("clean"));
    // A name too short to look for is said to be left out, not silently passed over.
    let out = switchyard(&db)
        .args([
            "erasure-check",
            "--email",
            "jim@example.com",
            "--name",
            "J S",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"J S\" is not looked for"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `export-config` writes the set-up; `import-config` previews a file (nothing applied) and,
/// with `--apply`, applies it; a file naming what is not here is refused with where.
#[test]
fn export_config_and_import_config() {
    let db = temp_db();
    let run = |args: &[&str]| {
        let out = switchyard(&db).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, _, err) = run(&["demo-data", "--users", "0"]);
    assert_eq!(code, Some(0), "{err}");
    let dir = std::env::temp_dir().join("switchyard-tests");
    let file = dir.join(format!("config_{}.json", std::process::id()));
    let (code, _, err) = run(&["export-config", "--output", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["format"], "switchyard.configuration");
    assert_eq!(doc["filters"], serde_json::json!([]));

    doc["filters"] = serde_json::json!([{
        "scope": "user", "name": "Testers only", "match": "all",
        "groups": [{"match": "all", "conditions": [{"field": "team", "op": "is", "value": "Testers"}]}]
    }]);
    std::fs::write(&file, doc.to_string()).unwrap();
    let (code, out, err) = run(&["import-config", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("create     filter Testers only"), "{out}");
    assert!(out.contains("nothing applied"), "{out}");
    let (code, out, _) = run(&["export-config"]);
    assert_eq!(code, Some(0));
    assert!(!out.contains("Testers only"), "the preview applied nothing");

    let (code, out, err) = run(&["import-config", file.to_str().unwrap(), "--apply"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("applied: 1 created, 0 updated, 0 unchanged, 0 left out"),
        "{out}"
    );
    let (code, out, _) = run(&["import-config", file.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("0 to create, 0 to update, 1 unchanged, 0 left out"),
        "{out}"
    );

    doc["filters"][0]["groups"][0]["conditions"][0]["value"] = "Ghosts".into();
    doc["filters"][0]["name"] = "Ghosts only".into();
    std::fs::write(&file, doc.to_string()).unwrap();
    let (code, _, err) = run(&["import-config", file.to_str().unwrap(), "--apply"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(
            "error: filter \"Ghosts only\": groups[0].conditions[0] (team): there is no team \"Ghosts\" here"
        ),
        "{err}"
    );
    let (_, out, _) = run(&["export-config"]);
    assert!(!out.contains("Ghosts only"));
    let _ = std::fs::remove_file(&file);
}
