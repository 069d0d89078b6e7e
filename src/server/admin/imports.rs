//! CSV import of users. Each good row is created on its own (user and memberships in one
//! transaction); bad rows are reported by line with every problem named, and the report is
//! kept so the screen can show it later.
//!
//! Columns (header row required, any order, case-insensitive): `email`, `first_name`,
//! `last_name`, and optionally `role`, `score`, `teams` (team names separated by `;`).

use crate::server::store::audit_trail;
use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set};

use super::{Actor, format_time, users};
use crate::errors::AppError;
use crate::server::entities::user_import;
use crate::types::{ImportReport, ImportRowError, UserForm};

pub const MAX_BYTES: usize = 20 * 1024 * 1024;
const REQUIRED: [&str; 3] = ["email", "first_name", "last_name"];
const KNOWN: [&str; 6] = ["email", "first_name", "last_name", "role", "score", "teams"];

#[tracing::instrument(skip(db, actor, file_name, bytes), fields(actor_id = ?actor.user_id, size = bytes.len()))]
pub async fn import_users_csv(
    db: &DatabaseConnection,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
) -> Result<i32, AppError> {
    if bytes.is_empty() {
        return Err(AppError::field("file", "choose a CSV file to import"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(AppError::field(
            "file",
            format!("the file is larger than {} MB", MAX_BYTES / 1024 / 1024),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| AppError::field("file", "the file must be UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| AppError::field("file", format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
        .collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !headers.iter().any(|h| h == r))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::field(
            "file",
            format!("the header row lacks the column(s): {}", missing.join(", ")),
        ));
    }
    if let Some(unknown) = headers.iter().find(|h| !KNOWN.contains(&h.as_str())) {
        return Err(AppError::field(
            "file",
            format!(
                "unknown column \"{unknown}\"; the columns are {}",
                KNOWN.join(", ")
            ),
        ));
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let known_teams = crate::server::store::lookups::team_refs(db).await?;

    let mut errors = Vec::new();
    let mut total = 0u64;
    let mut imported = 0u64;
    let mut seen = HashSet::new();
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 2;
        total += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(ImportRowError {
                    line,
                    email: String::new(),
                    messages: vec![format!("unreadable row: {e}")],
                });
                continue;
            }
        };
        let get = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_string()
        };
        let mut messages = Vec::new();
        let mut team_ids = Vec::new();
        for name in get("teams")
            .split(';')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            match known_teams
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
            {
                Some(t) => team_ids.push(t.id.to_string()),
                None => messages.push(format!("teams: unknown team \"{name}\"")),
            }
        }
        let form = UserForm {
            email: get("email"),
            first_name: get("first_name"),
            last_name: get("last_name"),
            role: get("role"),
            score: get("score"),
            team_ids,
            ..Default::default()
        };
        let parsed = match users::parse_user_form(&form, None, &known_teams) {
            Ok(p) if messages.is_empty() => Some(p),
            Ok(_) => None,
            Err(AppError::Validation(fields)) => {
                messages.extend(
                    fields
                        .into_iter()
                        .map(|f| format!("{}: {}", f.field, f.message)),
                );
                None
            }
            Err(other) => return Err(other),
        };
        let Some(parsed) = parsed else {
            errors.push(ImportRowError {
                line,
                email: form.email,
                messages,
            });
            continue;
        };
        if !seen.insert(parsed.email.to_string()) {
            errors.push(ImportRowError {
                line,
                email: form.email,
                messages: vec!["email: appears earlier in this file".into()],
            });
            continue;
        }
        if crate::server::store::lookups::find_user_by_email(db, &parsed.email)
            .await?
            .is_some()
        {
            errors.push(ImportRowError {
                line,
                email: form.email,
                messages: vec!["email: a user with this email already exists".into()],
            });
            continue;
        }
        let password_hash = users::password_hash_of(&parsed).await?;
        let (txn, gate) = crate::server::db::begin_write(db).await?;
        users::insert_parsed(&txn, actor, &parsed, password_hash).await?;
        txn.commit().await?;
        drop(gate);
        imported += 1;
    }

    let failed = errors.len() as u64;
    let report = serde_json::to_string(&errors).map_err(|e| AppError::internal(e))?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let saved = user_import::ActiveModel {
        created_at: Set(Utc::now()),
        created_by: Set(actor.user_id),
        file_name: Set(file_name.chars().take(255).collect()),
        total_rows: Set(total as i64),
        imported: Set(imported as i64),
        failed: Set(failed as i64),
        report: Set(report),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit_trail::record(
        &txn,
        actor,
        "users.imported",
        file_name,
        &format!("{imported} imported, {failed} rejected of {total} rows"),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    Ok(saved.id)
}

pub async fn report(db: &impl ConnectionTrait, id: i32) -> Result<ImportReport, AppError> {
    let m = user_import::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("import {id}")))?;
    let errors: Vec<ImportRowError> =
        serde_json::from_str(&m.report).map_err(|e| AppError::internal(e))?;
    Ok(ImportReport {
        id: m.id,
        file_name: m.file_name,
        created_at: format_time(&m.created_at),
        total_rows: m.total_rows as u64,
        imported: m.imported as u64,
        failed: m.failed as u64,
        errors,
    })
}
