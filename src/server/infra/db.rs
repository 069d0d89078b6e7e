//! Database connection: SQLite (embedded default, WAL, foreign keys, busy timeout) or
//! PostgreSQL, chosen by the URL; migrations run at start-up.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::server::settings::Settings;

pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.database_url.expose().clone();
    if let Some(path) = sqlite_file_path(&url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbErr::Custom(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    let mut opts = ConnectOptions::new(url.clone());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
                // 16 MiB of page cache per connection and memory-mapped reads keep the
                // users list fast at 100,000 rows.
                .pragma("cache_size", "-16384")
                .pragma("mmap_size", "268435456")
                // Statements' scratch tables (RETURNING, sorting) in memory: on disk each
                // was a file created and deleted again.
                .pragma("temp_store", "memory")
                // Deleted content is overwritten with zeros, so an erased person cannot be
                // read back from the file's free pages (`engine::erasure`).
                .pragma("secure_delete", "on")
        });
    } else {
        opts.max_connections(16).min_connections(1);
    }
    Database::connect(opts).await
}

/// Held while a write transaction is open on SQLite (see `begin_write`).
pub type WriteGate = Option<tokio::sync::MutexGuard<'static, ()>>;

/// SQLite has one writer at a time. Writers that wait inside SQLite's busy handler sleep in
/// steps of up to 100 ms; writers of this process instead queue here, in order, and only one
/// of them holds the database's write lock at a time.
static SQLITE_WRITERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// This process's turn to write to SQLite, for a writer that opens its own transaction on a
/// connection outside the pool (the SQLite lane, `lite`).
pub async fn sqlite_write_turn() -> tokio::sync::MutexGuard<'static, ()> {
    SQLITE_WRITERS.lock().await
}

/// The one way to open a transaction that writes (a test keeps `begin()` out of the rest of
/// the code): a transaction that will write, and the gate to hold until it is committed or
/// dropped. Drop the gate right after the commit when the function goes on to write again.
/// On SQLite it takes the write lock at `BEGIN` (a deferred transaction that reads first and
/// writes later fails at once with "database is locked" when another writer committed in
/// between); PostgreSQL ignores the mode and needs no gate.
pub async fn begin_write(
    db: &DatabaseConnection,
) -> Result<(DatabaseTransaction, WriteGate), DbErr> {
    let gate = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => Some(SQLITE_WRITERS.lock().await),
        _ => None,
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok((txn, gate))
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The file behind a `sqlite:` URL, or None for in-memory databases and other backends.
pub fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    /// Every write transaction opens through `begin_write`: a plain `begin()` on SQLite is a
    /// deferred transaction that bypasses the writers' queue, and fails with "database is
    /// locked" when it writes after another writer committed.
    #[test]
    fn transactions_are_opened_through_begin_write_only() {
        fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    scan(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("server/infra/db.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        if line.contains(".begin().await") || line.contains(".begin_with_options(")
                        {
                            found.push(format!("{}:{}", path.display(), i + 1));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        scan(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.is_empty(), "use db::begin_write: {found:#?}");
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            super::sqlite_file_path("sqlite://data/x.db?mode=rwc").as_deref(),
            Some("data/x.db")
        );
        assert_eq!(super::sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(super::sqlite_file_path("postgres://x/y"), None);
    }
}
