//! The opt-out dashboard: how many people were removed completely, on which day, by which
//! macro and at which listener's request, and the same events as CSV. Opt-out events hold no
//! personal data (when, how, which macro/listener, which teams: `docs/architecture.md`,
//! "Domain"), and nothing here adds any.
//!
//! Days are UTC days. Events are grouped in Rust rather than in SQL, so the one query works
//! the same on SQLite and PostgreSQL (date functions differ between the two).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::errors::AppError;
use crate::server::domain::format_time;
use crate::server::engine::erasure::Receipt;
use crate::server::entities::opt_out_event;
use crate::types::{OptOutDashboard, OptOutDay, OptOutTotal, ReceiptDelivery, ReceiptView};

pub const DEFAULT_DAYS: u32 = 30;
pub const MAX_DAYS: u32 = 366;
/// Where removals that no listener asked for are counted in the listener totals.
pub const MANUAL_RUN: &str = "(manual run)";
/// Receipts the dashboard lists (the newest of its days).
const RECEIPTS_SHOWN: u64 = 50;

/// Removals in the last `days` days (today, UTC, included; 1 to 366 days).
#[tracing::instrument(skip(db))]
pub async fn dashboard(db: &impl ConnectionTrait, days: u32) -> Result<OptOutDashboard, AppError> {
    dashboard_until(db, days, Utc::now().date_naive()).await
}

/// The dashboard for the `days` days that end with `last_day`.
pub async fn dashboard_until(
    db: &impl ConnectionTrait,
    days: u32,
    last_day: NaiveDate,
) -> Result<OptOutDashboard, AppError> {
    let days = days.clamp(1, MAX_DAYS);
    let first_day = last_day - Duration::days(i64::from(days) - 1);
    let events = opt_out_event::Entity::find()
        .filter(opt_out_event::Column::OccurredAt.gte(start_of(first_day)))
        .filter(opt_out_event::Column::OccurredAt.lt(start_of(last_day + Duration::days(1))))
        .all(db)
        .await?;
    let mut dashboard = summarise(days, first_day, &events);
    dashboard.receipts = crate::server::engine::erasure::receipts(
        db,
        start_of(first_day),
        start_of(last_day + Duration::days(1)),
        RECEIPTS_SHOWN,
    )
    .await?
    .into_iter()
    .map(receipt_view)
    .collect();
    Ok(dashboard)
}

/// A removal's receipt as the dashboard shows it.
pub fn receipt_view(r: Receipt) -> ReceiptView {
    let counts = r.counts();
    ReceiptView {
        id: r.row.id,
        occurred_at: format_time(&r.row.occurred_at),
        run_id: r.row.run_id,
        macro_name: r.row.macro_name,
        trigger: r.row.trigger.to_string(),
        listener_name: r.row.listener_name,
        actor: r.row.actor_label,
        subject: r.row.subject_label,
        counts,
        downstream: r
            .downstream
            .into_iter()
            .map(|d| ReceiptDelivery {
                delivery_id: d.delivery_id,
                webhook: d.webhook,
                kind: d.kind.to_string(),
                status: d.status,
                attempts: d.attempts,
                erased: d.erased,
            })
            .collect(),
    }
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn summarise(days: u32, first_day: NaiveDate, events: &[opt_out_event::Model]) -> OptOutDashboard {
    let mut per_day: BTreeMap<NaiveDate, u64> = (0..days)
        .map(|i| (first_day + Duration::days(i64::from(i)), 0))
        .collect();
    let mut by_listener: HashMap<&str, u64> = HashMap::new();
    let mut by_macro: HashMap<&str, u64> = HashMap::new();
    for e in events {
        if let Some(n) = per_day.get_mut(&e.occurred_at.date_naive()) {
            *n += 1;
        }
        *by_listener
            .entry(e.listener_name.as_deref().unwrap_or(MANUAL_RUN))
            .or_default() += 1;
        *by_macro.entry(e.macro_name.as_str()).or_default() += 1;
    }
    OptOutDashboard {
        days,
        total: per_day.values().sum(),
        per_day: per_day
            .into_iter()
            .map(|(date, removals)| OptOutDay {
                date: date.format("%Y-%m-%d").to_string(),
                removals,
            })
            .collect(),
        by_listener: ranked(by_listener),
        by_macro: ranked(by_macro),
        receipts: Vec::new(),
    }
}

/// Most removals first, then by name.
fn ranked(counts: HashMap<&str, u64>) -> Vec<OptOutTotal> {
    let mut totals: Vec<OptOutTotal> = counts
        .into_iter()
        .map(|(name, removals)| OptOutTotal {
            name: name.to_string(),
            removals,
        })
        .collect();
    totals.sort_by(|a, b| {
        b.removals
            .cmp(&a.removals)
            .then_with(|| a.name.cmp(&b.name))
    });
    totals
}

pub const CSV_HEADER: [&str; 5] = ["occurred_at", "macro", "listener", "source", "teams"];

/// Every opt-out event, oldest first, as CSV: `occurred_at` (RFC 3339, UTC), `macro`,
/// `listener` (empty for removals no listener asked for), `source`, `teams`.
#[tracing::instrument(skip(db))]
pub async fn csv(db: &impl ConnectionTrait) -> Result<String, AppError> {
    let events = opt_out_event::Entity::find()
        .order_by_asc(opt_out_event::Column::OccurredAt)
        .order_by_asc(opt_out_event::Column::Id)
        .all(db)
        .await?;
    let mut out = ::csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)
        .map_err(|e| AppError::internal(e))?;
    for e in &events {
        out.write_record([
            e.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            cell(&e.macro_name),
            cell(e.listener_name.as_deref().unwrap_or_default()),
            cell(e.source.as_str()),
            cell(&e.teams),
        ])
        .map_err(|e| AppError::internal(e))?;
    }
    let bytes = out.into_inner().map_err(|e| AppError::internal(e))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(e))
}

/// A text cell that a spreadsheet will not run as a formula: names are chosen by managers,
/// and `=HYPERLINK(…)` in a macro name must stay text when the file is opened.
pub(crate) fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::vocab::Trigger;

    fn event(at: &str, macro_name: &str, listener: Option<&str>) -> opt_out_event::Model {
        opt_out_event::Model {
            id: 0,
            occurred_at: DateTime::parse_from_rfc3339(at).unwrap().to_utc(),
            macro_id: None,
            macro_name: macro_name.into(),
            source: if listener.is_some() {
                Trigger::Listener
            } else {
                Trigger::Manual
            },
            teams: String::new(),
            listener_name: listener.map(Into::into),
        }
    }

    #[test]
    fn every_day_is_present_and_totals_are_ranked() {
        let first = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let events = [
            event("2026-11-20T00:00:00Z", "Delete user", Some("GDPR")),
            event("2026-11-22T23:59:59Z", "Delete user", None),
            event("2026-11-22T10:00:00Z", "Offboard", Some("GDPR")),
        ];
        let d = summarise(4, first, &events);
        let per_day: Vec<(&str, u64)> = d
            .per_day
            .iter()
            .map(|x| (x.date.as_str(), x.removals))
            .collect();
        assert_eq!(
            per_day,
            [
                ("2026-11-20", 1),
                ("2026-11-21", 0),
                ("2026-11-22", 2),
                ("2026-11-23", 0)
            ]
        );
        assert_eq!(d.total, 3);
        let names = |t: &[OptOutTotal]| {
            t.iter()
                .map(|x| (x.name.clone(), x.removals))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&d.by_listener),
            [("GDPR".to_string(), 2), (MANUAL_RUN.to_string(), 1)]
        );
        assert_eq!(
            names(&d.by_macro),
            [("Delete user".to_string(), 2), ("Offboard".to_string(), 1)]
        );
    }

    #[test]
    fn formulas_stay_text() {
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("-5"), "'-5");
        assert_eq!(cell("Delete user"), "Delete user");
        assert_eq!(cell(""), "");
    }
}
