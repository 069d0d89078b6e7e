//! The server binary: `switchyard [serve]`, `switchyard migrate`,
//! `switchyard create-admin --email E [--password P] [--first-name F] [--last-name L]`,
//! `switchyard demo-data [--users N]`,
//! `switchyard erasure-check --email E [--email E2 …] [--name "F L" …]`.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use switchyard::server::services::{Actor, community};
use switchyard::server::settings::{LogFormat, Settings};
use switchyard::server::startup;
use tracing_subscriber::EnvFilter;

/// Requests allocate and free many small buffers on several threads at once; mimalloc's
/// per-thread free lists do that with less work than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: switchyard [serve | migrate | create-admin --email E [--password P] [--first-name F] [--last-name L] | demo-data [--users N] | erasure-check --email E [--name \"F L\"]]
settings: Leptos.toml (or the file in SWITCHYARD_CONFIG), overridden by SWITCHYARD_* variables";

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// `--name value` pairs after the subcommand.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Every value of a flag that may be given more than once.
fn flags(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == name)
        .map(|w| w[1].clone())
        .collect()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if matches!(command, "-h" | "--help" | "help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config_path =
        PathBuf::from(std::env::var("SWITCHYARD_CONFIG").unwrap_or_else(|_| "Leptos.toml".into()));
    let settings = match Settings::load(&config_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("switchyard: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(settings.log_format);
    if command == "erasure-check" {
        // Reads only: no migration, no start-up work.
        return erasure_check(&settings, &args).await;
    }
    let conf = if config_path.exists() {
        leptos::config::get_configuration(config_path.to_str())
    } else {
        leptos::config::get_configuration(None)
    };
    let leptos_options = match conf {
        Ok(c) => c.leptos_options,
        Err(e) => {
            eprintln!(
                "switchyard: cannot start: site settings in {}: {e}",
                config_path.display()
            );
            return ExitCode::from(2);
        }
    };
    let addr = leptos_options.site_addr;
    let state = match startup::prepare(settings, leptos_options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("switchyard: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };

    match command {
        "migrate" => {
            println!("migrations applied");
            ExitCode::SUCCESS
        }
        "create-admin" => {
            let Some(email) = flag(&args, "--email") else {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            };
            let input = community::NewAdmin {
                email: email.clone(),
                password: flag(&args, "--password")
                    .or_else(|| std::env::var("SWITCHYARD_ADMIN_PASSWORD").ok()),
                first_name: flag(&args, "--first-name").unwrap_or_else(|| "Community".into()),
                last_name: flag(&args, "--last-name").unwrap_or_else(|| "Manager".into()),
            };
            match community::create_admin(&state.db, &Actor::system("command line"), input).await {
                Ok(generated) => {
                    println!("community manager {email} is ready");
                    if let Some(pw) = generated {
                        println!("generated password (shown once): {pw}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("switchyard: create-admin failed: {}", describe(&e));
                    ExitCode::FAILURE
                }
            }
        }
        "demo-data" => {
            let users = match flag(&args, "--users").map(|v| v.parse::<u32>()) {
                None => 36,
                Some(Ok(n)) => n,
                Some(Err(_)) => {
                    eprintln!("switchyard: --users must be a whole number");
                    return ExitCode::from(2);
                }
            };
            match community::load_demo_data(&state.db, users).await {
                Ok(n) => {
                    println!(
                        "demo data loaded: {n} users, teams Customers, Testers and Administrators, project Aurora Beta (Bug Report, Feature Request)"
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("switchyard: demo-data failed: {}", describe(&e));
                    ExitCode::FAILURE
                }
            }
        }
        "serve" => serve(state, addr).await,
        other => {
            eprintln!("switchyard: unknown command \"{other}\"\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `switchyard erasure-check`: prints every place in the database (and, on SQLite, in its
/// file and WAL) that still holds a form of the person; exit 1 if there is any, 0 if none.
async fn erasure_check(settings: &Settings, args: &[String]) -> ExitCode {
    use switchyard::server::db;
    use switchyard::server::services::erasure::{self, Identity};
    let who = Identity::new(flags(args, "--email"), flags(args, "--name"));
    if who.emails.is_empty() && who.names.is_empty() {
        eprintln!(
            "switchyard: erasure-check needs --email E (and optionally --name \"F L\")\n{USAGE}"
        );
        return ExitCode::from(2);
    }
    let conn = match db::connect(settings).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchyard: cannot open the database: {e}");
            return ExitCode::from(2);
        }
    };
    let mut places: Vec<String> = match erasure::check(&conn, &who).await {
        Ok(found) => found.iter().map(|f| format!("table {f}")).collect(),
        Err(e) => {
            eprintln!("switchyard: erasure-check failed: {}", describe(&e));
            return ExitCode::from(2);
        }
    };
    // Requests still sealed for sending are read with the key file, which only this check and
    // the sender open.
    match switchyard::server::secrets::Sealer::load(&settings.secret_key_file) {
        Ok(Some(sealer)) => match erasure::check_sealed(&conn, &sealer, &who).await {
            Ok(found) => places.extend(found.iter().map(|f| format!("table {f}"))),
            Err(e) => {
                eprintln!("switchyard: erasure-check failed: {}", describe(&e));
                return ExitCode::from(2);
            }
        },
        Ok(None) => {}
        Err(e) => {
            eprintln!("switchyard: {e}");
            return ExitCode::from(2);
        }
    }
    let _ = conn.close().await;
    if let Some(path) = db::sqlite_file_path(settings.database_url.expose()) {
        for file in [path.clone(), format!("{path}-wal")] {
            match erasure::scan_file(std::path::Path::new(&file), &who) {
                Ok(found) => places.extend(
                    found
                        .into_iter()
                        .map(|(form, at)| format!("file {file} (byte {at}): {form:?}")),
                ),
                Err(e) => {
                    eprintln!("switchyard: cannot read {file}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let looked_for = who.emails.len() + who.names.len();
    if places.is_empty() {
        println!(
            "erasure-check: clean: no form of the {looked_for} identifier(s) given is left in the database{}",
            if db::sqlite_file_path(settings.database_url.expose()).is_some() {
                ", its file or its WAL"
            } else {
                ""
            }
        );
        ExitCode::SUCCESS
    } else {
        for p in &places {
            println!("{p}");
        }
        println!(
            "erasure-check: {} place(s) still hold the person",
            places.len()
        );
        ExitCode::FAILURE
    }
}

fn describe(e: &switchyard::errors::AppError) -> String {
    match e {
        switchyard::errors::AppError::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

async fn serve(state: switchyard::server::state::AppState, addr: std::net::SocketAddr) -> ExitCode {
    let admin_email = std::env::var("SWITCHYARD_ADMIN_EMAIL").ok();
    let admin_password = std::env::var("SWITCHYARD_ADMIN_PASSWORD").ok();
    match community::bootstrap_admin(&state.db, admin_email, admin_password).await {
        Ok(Some((email, generated))) => {
            println!("first start: community manager account {email} created");
            if let Some(pw) = generated {
                println!("its generated password (shown once, change it after signing in): {pw}");
            }
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!(
                "switchyard: cannot create the first community manager: {}",
                describe(&e)
            );
            return ExitCode::FAILURE;
        }
    }
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("switchyard: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(addr);
    tracing::info!(%addr, public_base_url = %state.settings.public_base_url, "switchyard is listening");
    let shutdown = shutdown_signal();
    println!("Switchyard is running at http://{addr}");
    match startup::serve(listener, state, shutdown).await {
        Ok(()) => {
            tracing::info!("shut down cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchyard: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C; the server then finishes in-flight requests. Both handlers
/// are installed here, before the server says it is running, not when the future is first
/// polled: a SIGTERM sent right after start would otherwise still kill the process outright.
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn received(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    let term = received(signal(SignalKind::terminate()).ok());
    let interrupt = received(signal(SignalKind::interrupt()).ok());
    async move {
        tokio::select! {
            _ = term => {},
            _ = interrupt => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}
