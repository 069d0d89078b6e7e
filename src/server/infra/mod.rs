//! What everything else stands on: settings, the database (one way to open a write
//! transaction), the SQLite lane, the key file and its sealer, rate limits.

pub mod db;
pub mod lite;
pub mod rate_limit;
pub mod secrets;
pub mod settings;
