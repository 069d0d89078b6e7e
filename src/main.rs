//! The server binary and its commands (`switchyard --help`, `switchyard <command> --help`):
//! `serve` (the default), `migrate`, `create-admin`, `demo-data`, `erasure-check`,
//! `export-config`, `import-config`.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard::server::admin::{Actor, community, config_transfer};
use switchyard::server::settings::{LogFormat, Settings};
use switchyard::server::startup;
use switchyard::server::state::AppState;
use tracing_subscriber::EnvFilter;

/// Requests allocate and free many small buffers on several threads at once; mimalloc's
/// per-thread free lists do that with less work than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchyard, the self-hosted integration hub for beta-test and customer-validation
/// communities.
#[derive(Parser, Debug)]
#[command(
    name = "switchyard",
    version,
    after_help = "Settings: Leptos.toml (or the file in SWITCHYARD_CONFIG), overridden by SWITCHYARD_* variables."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Migrates the database and serves the app (what runs without a command); on the first
    /// start it creates a community manager (SWITCHYARD_ADMIN_EMAIL / _PASSWORD, or generated).
    Serve,
    /// Applies the database migrations and exits.
    Migrate,
    /// Creates (or promotes) a community manager; without a password one is generated and
    /// printed once.
    CreateAdmin {
        /// The manager's email address.
        #[arg(long)]
        email: String,
        /// At least 10 characters.
        #[arg(long, env = "SWITCHYARD_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "Community")]
        first_name: String,
        #[arg(long, default_value = "Manager")]
        last_name: String,
    },
    /// Loads teams Customers, Testers and Administrators, users, and project Aurora Beta with
    /// the feedback types Bug Report and Feature Request.
    DemoData {
        /// How many users.
        #[arg(long, default_value_t = 36)]
        users: u32,
    },
    /// Writes the integration set-up (external-data groups, filters, macros with their
    /// webhooks, listeners, external sources) as a JSON document; no key or secret is in it.
    ExportConfig {
        /// The file to write (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Shows what importing a configuration document would create and change here; with
    /// --apply, applies it. Nothing is deleted. Exits 1 if it cannot be imported.
    ImportConfig {
        /// The document, as `export-config` writes it.
        file: PathBuf,
        /// Apply it (without: only the preview).
        #[arg(long)]
        apply: bool,
        /// The API key (by name) that new listeners and sources accept.
        #[arg(long, value_name = "NAME")]
        api_key: Option<String>,
    },
    /// Proves an erasure: prints every place that still holds a form of the person's emails
    /// or names (tables, sealed requests waiting to be sent, the SQLite file and WAL); exits 1
    /// if there is any, 0 when clean. It only reads.
    ErasureCheck {
        /// An email the person had (repeat for each).
        #[arg(
            long = "email",
            value_name = "EMAIL",
            required_unless_present = "names"
        )]
        emails: Vec<String>,
        /// A full name the person had, "First Last" (repeat for each).
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
    },
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match cli.command.unwrap_or(Command::Serve) {
        // Reads only: no migration, no start-up work.
        Command::ErasureCheck { emails, names } => erasure_check(&settings, emails, names).await,
        Command::Serve => with_state(settings, &config_path, serve).await,
        Command::Migrate => {
            with_state(settings, &config_path, async |_| {
                println!("migrations applied");
                ExitCode::SUCCESS
            })
            .await
        }
        Command::CreateAdmin {
            email,
            password,
            first_name,
            last_name,
        } => {
            let input = community::NewAdmin {
                email: email.clone(),
                password,
                first_name,
                last_name,
            };
            with_state(settings, &config_path, async |state| {
                let actor = Actor::system("command line");
                match community::create_admin(&state.db, &actor, input).await {
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
            })
            .await
        }
        Command::ExportConfig { output } => {
            with_state(settings, &config_path, async |state| {
                let json = match config_transfer::export_json(&state.db).await {
                    Ok(j) => j,
                    Err(e) => {
                        eprintln!("switchyard: export-config failed: {}", describe(&e));
                        return ExitCode::FAILURE;
                    }
                };
                match output {
                    None => {
                        println!("{json}");
                        ExitCode::SUCCESS
                    }
                    Some(path) => match std::fs::write(&path, json + "\n") {
                        Ok(()) => {
                            eprintln!("configuration written to {}", path.display());
                            ExitCode::SUCCESS
                        }
                        Err(e) => {
                            eprintln!("switchyard: cannot write {}: {e}", path.display());
                            ExitCode::FAILURE
                        }
                    },
                }
            })
            .await
        }
        Command::ImportConfig {
            file,
            apply,
            api_key,
        } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("switchyard: cannot read {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            with_state(settings, &config_path, async |state| {
                import_config(&state, &text, apply, api_key.as_deref()).await
            })
            .await
        }
        Command::DemoData { users } => {
            with_state(settings, &config_path, async |state| {
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
            })
            .await
        }
    }
}

/// `switchyard import-config`: the plan, printed; with `apply`, the import and its outcome.
async fn import_config(
    state: &AppState,
    text: &str,
    apply: bool,
    api_key: Option<&str>,
) -> ExitCode {
    let plan = match config_transfer::plan(&state.db, text).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("switchyard: import-config: {}", describe(&e));
            return ExitCode::FAILURE;
        }
    };
    // The document's names may hold anything: no control character reaches the terminal.
    let shown = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect()
    };
    for l in &plan.lines {
        let what = match l.action.as_str() {
            "update" => format!("update ({})", l.changes.join(", ")),
            other => other.to_string(),
        };
        println!("{what:<10} {} {}", l.kind, shown(&l.name));
    }
    for w in &plan.warnings {
        println!("note: {}", shown(w));
    }
    for e in &plan.errors {
        eprintln!("error: {}", shown(e));
    }
    println!(
        "{} to create, {} to update, {} unchanged, {} left out",
        plan.count("create"),
        plan.count("update"),
        plan.count("unchanged"),
        plan.count("left out")
    );
    if !plan.errors.is_empty() {
        eprintln!("switchyard: import-config: the document cannot be imported here");
        return ExitCode::FAILURE;
    }
    if !apply {
        println!("nothing applied (run again with --apply to apply it)");
        return ExitCode::SUCCESS;
    }
    let key_id = match api_key {
        None => None,
        Some(name) => match config_transfer::api_key_named(&state.db, name).await {
            Ok(Some(id)) => Some(id),
            Ok(None) => {
                eprintln!("switchyard: import-config: there is no API key named {name:?}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("switchyard: import-config: {}", describe(&e));
                return ExitCode::FAILURE;
            }
        },
    };
    let actor = Actor::system("command line");
    match config_transfer::apply(
        &state.db,
        &state.sealer,
        &actor,
        text,
        key_id,
        Some(&plan.fingerprint),
    )
    .await
    {
        Ok(o) => {
            println!(
                "applied: {} created, {} updated, {} unchanged, {} left out",
                o.created, o.updated, o.unchanged, o.left_out
            );
            match o.error {
                Some(e) => {
                    eprintln!(
                        "switchyard: import-config stopped at {e}; import the same file again once it is fixed"
                    );
                    ExitCode::FAILURE
                }
                None => ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("switchyard: import-config: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// Runs `command` once the site settings are read and the database is ready (migrated, the
/// community set up): what every command but `erasure-check` needs. A failure on the way is
/// printed and ends the process with its exit code.
async fn with_state(
    settings: Settings,
    config_path: &std::path::Path,
    command: impl AsyncFnOnce(AppState) -> ExitCode,
) -> ExitCode {
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
    match startup::prepare(settings, leptos_options).await {
        Ok(state) => command(state).await,
        Err(e) => {
            eprintln!("switchyard: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `switchyard erasure-check`: prints every place in the database (and, on SQLite, in its
/// file and WAL) that still holds a form of the person; exit 1 if there is any, 0 if none.
async fn erasure_check(settings: &Settings, emails: Vec<String>, names: Vec<String>) -> ExitCode {
    use switchyard::server::db;
    use switchyard::server::engine::erasure::{self, Identity};
    for dropped in Identity::dropped_names(&names) {
        eprintln!(
            "switchyard: the name {dropped:?} is not looked for: a name needs two words and four letters (three characters in Chinese, Japanese or Korean script)"
        );
    }
    let who = Identity::new(emails, names);
    if who.emails.is_empty() && who.names.is_empty() {
        eprintln!(
            "switchyard: erasure-check needs an --email or a --name that can be looked for (see switchyard erasure-check --help)"
        );
        return ExitCode::from(2);
    }
    let sqlite = db::sqlite_file_path(settings.database_url.expose());
    let mut places: Vec<String> = Vec::new();
    let mut file_hits: Vec<(String, Vec<erasure::FileHit>)> = Vec::new();
    if let Some(path) = &sqlite {
        // A check of a database that is not there would find nothing: say so instead (and
        // never create one).
        if !std::path::Path::new(path).is_file() {
            eprintln!(
                "switchyard: erasure-check: there is no database at {path} (set SWITCHYARD_DATABASE_URL or SWITCHYARD_CONFIG)"
            );
            return ExitCode::from(2);
        }
        // The file and its WAL are read first: closing the connection below may checkpoint
        // the WAL and delete it.
        for file in [path.clone(), format!("{path}-wal")] {
            match erasure::scan_file(std::path::Path::new(&file), &who) {
                Ok(found) => file_hits.push((file, found)),
                Err(e) => {
                    eprintln!("switchyard: cannot read {file}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let conn = match db::connect(settings).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchyard: cannot open the database: {e}");
            return ExitCode::from(2);
        }
    };
    // A form in the file that touches other text is reported unless a live value of someone
    // else explains it.
    for (file, hits) in file_hits {
        match erasure::unexplained(&conn, hits).await {
            Ok(left) => places.extend(
                left.iter()
                    .map(|h| format!("file {file} (byte {}): {:?}", h.at, h.form)),
            ),
            Err(e) => {
                eprintln!("switchyard: erasure-check failed: {}", describe(&e));
                return ExitCode::from(2);
            }
        }
    }
    match erasure::check_all(&conn, &settings.secret_key_file, &who).await {
        Ok(found) => places.extend(found.iter().map(|f| format!("table {f}"))),
        Err(e) => {
            eprintln!("switchyard: erasure-check failed: {}", describe(&e));
            return ExitCode::from(2);
        }
    }
    let _ = conn.close().await;
    let looked_for = who.emails.len() + who.names.len();
    if places.is_empty() {
        println!(
            "erasure-check: clean: no form of the {looked_for} identifier(s) given is left in the database{}",
            if sqlite.is_some() {
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

async fn serve(state: AppState) -> ExitCode {
    let addr = state.leptos_options.site_addr;
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
