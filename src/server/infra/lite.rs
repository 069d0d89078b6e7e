//! A direct line to the SQLite file for the two hot paths of listener calls: looking up their
//! targets (`finder`) and writing the accepted ones (`ingest`). Through the pool every
//! statement is handed to the connection's own thread and its rows handed back, a thread
//! switch each way; here a thread of ours owns a connection and runs a whole batch of
//! statements, prepared once, in one turn. The statements are the same SeaORM builds for the
//! pool (`build(DbBackend::Sqlite)`), bound the way the pool binds them, and rows are read back as
//! the pool reads them. PostgreSQL, and every other path, goes through the pool.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::Value as Lite;
use sea_orm::Statement;
use sea_orm::sea_query::Value;
use tokio::sync::oneshot;

use crate::errors::AppError;

type Task = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// A thread that owns one connection to the database file and runs what it is sent, in order.
#[derive(Clone)]
pub struct Lane {
    tx: std::sync::mpsc::Sender<Task>,
}

impl Lane {
    /// Opens `path` with the settings of the pool's connections and starts the thread.
    pub fn open(path: &Path, name: &str) -> Result<Lane, AppError> {
        let mut conn = rusqlite::Connection::open(path).map_err(fault)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(fault)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;
             PRAGMA secure_delete = ON;",
        )
        .map_err(fault)?;
        conn.set_prepared_statement_cache_capacity(64);
        let (tx, rx) = std::sync::mpsc::channel::<Task>();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                while let Ok(task) = rx.recv() {
                    task(&mut conn);
                }
            })
            .map_err(fault)?;
        Ok(Lane { tx })
    }

    /// Runs `f` on the lane's connection and returns what it returned.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<R, AppError> + Send + 'static,
    ) -> Result<R, AppError> {
        let (reply, answer) = oneshot::channel();
        let task: Task = Box::new(move |conn| {
            let _ = reply.send(f(conn));
        });
        let stopped = || AppError::internal("the SQLite lane has stopped");
        self.tx.send(task).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

pub fn fault(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("sqlite: {e}"))
}

/// A statement's values as the pool binds them on SQLite (sqlx's encodings): booleans and
/// integers as integers, dates as RFC 3339 text, JSON as its text.
fn bind(values: &[Value]) -> Result<Vec<Lite>, AppError> {
    fn or_null<T>(v: &Option<T>, f: impl FnOnce(&T) -> Lite) -> Lite {
        v.as_ref().map_or(Lite::Null, f)
    }
    values
        .iter()
        .map(|v| {
            Ok(match v {
                Value::Bool(b) => or_null(b, |b| Lite::Integer(i64::from(*b))),
                Value::TinyInt(i) => or_null(i, |i| Lite::Integer(i64::from(*i))),
                Value::SmallInt(i) => or_null(i, |i| Lite::Integer(i64::from(*i))),
                Value::Int(i) => or_null(i, |i| Lite::Integer(i64::from(*i))),
                Value::BigInt(i) => or_null(i, |i| Lite::Integer(*i)),
                Value::TinyUnsigned(i) => or_null(i, |i| Lite::Integer(i64::from(*i))),
                Value::SmallUnsigned(i) => or_null(i, |i| Lite::Integer(i64::from(*i))),
                Value::Unsigned(i) => or_null(i, |i| Lite::Integer(i64::from(*i))),
                Value::Float(f) => or_null(f, |f| Lite::Real(f64::from(*f))),
                Value::Double(f) => or_null(f, |f| Lite::Real(*f)),
                Value::String(s) => or_null(s, |s| Lite::Text(s.clone())),
                Value::Char(c) => or_null(c, |c| Lite::Text(c.to_string())),
                Value::Bytes(b) => or_null(b, |b| Lite::Blob(b.clone())),
                Value::Json(j) => or_null(j, |j| Lite::Text(j.to_string())),
                Value::ChronoDateTimeUtc(t) => or_null(t, |t| {
                    Lite::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
                }),
                Value::ChronoDateTime(t) => {
                    or_null(t, |t| Lite::Text(t.format("%F %T%.f").to_string()))
                }
                Value::ChronoDate(d) => or_null(d, |d| Lite::Text(d.format("%F").to_string())),
                other => {
                    return Err(AppError::internal(format!(
                        "sqlite lane: cannot bind {other:?}"
                    )));
                }
            })
        })
        .collect()
}

fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    stmt: &Statement,
) -> Result<(rusqlite::CachedStatement<'c>, Vec<Lite>), AppError> {
    let values = bind(stmt.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]))?;
    Ok((conn.prepare_cached(&stmt.sql).map_err(fault)?, values))
}

/// Runs a statement that returns no rows; the number of rows it changed.
pub fn execute(conn: &rusqlite::Connection, stmt: &Statement) -> Result<usize, AppError> {
    let (mut prepared, values) = prepare(conn, stmt)?;
    prepared
        .execute(rusqlite::params_from_iter(values))
        .map_err(fault)
}

/// Runs a statement whose rows hold one integer each (`… RETURNING id`).
pub fn ids(conn: &rusqlite::Connection, stmt: &Statement) -> Result<Vec<i64>, AppError> {
    let (mut prepared, values) = prepare(conn, stmt)?;
    let rows = prepared
        .query_map(rusqlite::params_from_iter(values), |r| r.get::<_, i64>(0))
        .map_err(fault)?;
    rows.collect::<Result<_, _>>().map_err(fault)
}

/// Runs a SELECT and reads each row with `read`.
pub fn rows<T>(
    conn: &rusqlite::Connection,
    stmt: &Statement,
    mut read: impl FnMut(&rusqlite::Row<'_>) -> Result<T, AppError>,
) -> Result<Vec<T>, AppError> {
    let (mut prepared, values) = prepare(conn, stmt)?;
    let mut rows = prepared
        .query(rusqlite::params_from_iter(values))
        .map_err(fault)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(fault)? {
        out.push(read(row)?);
    }
    Ok(out)
}

/// A column by name, as `T`.
pub fn get<T: rusqlite::types::FromSql>(
    row: &rusqlite::Row<'_>,
    name: &str,
) -> Result<T, AppError> {
    row.get(name).map_err(fault)
}

/// A date-and-time column by name (stored as text, see `bind`).
pub fn get_datetime(row: &rusqlite::Row<'_>, name: &str) -> Result<DateTime<Utc>, AppError> {
    datetime(&get::<String>(row, name)?)
}

/// A stored date and time: RFC 3339 as the pool writes it, or SQLite's own `YYYY-MM-DD
/// HH:MM:SS[.fff]` (UTC).
fn datetime(t: &str) -> Result<DateTime<Utc>, AppError> {
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(d.and_utc());
        }
    }
    Err(AppError::internal(format!(
        "sqlite lane: unreadable date {t:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_read_back_as_written() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 5).unwrap()
            + chrono::Duration::microseconds(250);
        let Lite::Text(stored) = bind(&[Value::ChronoDateTimeUtc(Some(t))])
            .unwrap()
            .remove(0)
        else {
            panic!("a date is stored as text");
        };
        assert_eq!(stored, "2026-12-01T10:30:05.000250+00:00");
        assert_eq!(datetime(&stored).unwrap(), t);
        assert_eq!(
            datetime("2026-12-01 10:30:05").unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 5).unwrap()
        );
        assert!(datetime("yesterday").is_err());
    }

    #[test]
    fn values_bind_as_the_pool_binds_them() {
        let bound = bind(&[
            Value::Bool(Some(true)),
            Value::Int(None),
            Value::SmallInt(Some(202)),
            Value::String(Some("x".into())),
        ])
        .unwrap();
        assert_eq!(
            bound,
            vec![
                Lite::Integer(1),
                Lite::Null,
                Lite::Integer(202),
                Lite::Text("x".into())
            ]
        );
    }
}
