//! Macros as the engine runs them: the runnable part of a macro (its actions and options, not
//! the screen's schedule text), each action in words, and the schedule's arithmetic.

use chrono::Utc;

use crate::shared::definitions::{MacroAction, MacroOptions, TeamRef};
use crate::shared::vocab::Scope;

/// A macro as a run needs it, read from its row (`store::lookups::find_macro`).
#[derive(Debug, Clone, PartialEq)]
pub struct Macro {
    pub id: i32,
    pub name: String,
    /// What it runs on.
    pub scope: Scope,
    pub actions: Vec<MacroAction>,
    pub options: MacroOptions,
    /// Feedback macros: the tickets it may run on (every ticket when everywhere).
    pub place: crate::server::domain::place::Place,
}

impl Macro {
    /// Whether a run removes the person it runs on.
    pub fn removes(&self) -> bool {
        self.actions.contains(&MacroAction::RemoveUser)
    }
}

/// One action in words: its kind's label and what it acts with, `teams` naming the teams it
/// mentions ("Add to team Customers", "Adjust score by +5").
pub fn describe(action: &MacroAction, teams: &[TeamRef]) -> String {
    let team = |id: &i32| {
        teams
            .iter()
            .find(|t| t.id == *id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| "(deleted team)".into())
    };
    let with = match action {
        MacroAction::RemoveUser => return action.kind().label().to_string(),
        MacroAction::AdjustScore { delta } | MacroAction::AdjustSubmitterScore { delta } => {
            format!("{delta:+}")
        }
        MacroAction::AddToTeam { team_id } | MacroAction::RemoveFromTeam { team_id } => {
            team(team_id)
        }
        MacroAction::AddComment { text } | MacroAction::AddTicketComment { text } => {
            format!("\"{text}\"")
        }
        MacroAction::SetStatus { status } => status.clone(),
        MacroAction::SetTeam { team_id: Some(id) } => team(id),
        MacroAction::SetTeam { team_id: None } => "no team".into(),
        MacroAction::SetVisibility { visibility } => visibility.clone(),
    };
    format!("{} {with}", action.kind().label())
}

/// The occurrence of a schedule `k` periods after its start (None past the calendar's end).
fn occurrence(
    frequency: &str,
    start: chrono::DateTime<Utc>,
    k: u32,
) -> Option<chrono::DateTime<Utc>> {
    match frequency {
        "hourly" => start.checked_add_signed(chrono::Duration::hours(i64::from(k))),
        "daily" => start.checked_add_signed(chrono::Duration::days(i64::from(k))),
        "weekly" => start.checked_add_signed(chrono::Duration::weeks(i64::from(k))),
        "monthly" => start.checked_add_months(chrono::Months::new(k)),
        _ => (k == 0).then_some(start),
    }
}

/// When a schedule runs next, once it has run (or been switched on) at `now`: a one-off runs at
/// its start (at once if that has passed, unless it ran already); a repeating schedule at the
/// first occurrence after `now`, so missed ones are not caught up in a burst. None once the
/// end date has passed.
pub fn next_run(
    frequency: &str,
    start: chrono::DateTime<Utc>,
    end: Option<chrono::DateTime<Utc>>,
    now: chrono::DateTime<Utc>,
    ran_before: bool,
) -> Option<chrono::DateTime<Utc>> {
    let next = if frequency == "once" {
        (!ran_before).then_some(start)?
    } else if start > now {
        start
    } else {
        // Jump close by arithmetic, then step: months vary in length.
        let period = match frequency {
            "hourly" => 3_600,
            "daily" => 86_400,
            "weekly" => 604_800,
            _ => 28 * 86_400,
        };
        let mut k = std::cmp::max((now - start).num_seconds() / period, 0) as u32;
        loop {
            let t = occurrence(frequency, start, k)?;
            if t > now {
                break t;
            }
            k += 1;
        }
    };
    match end {
        Some(end) if next > end => None,
        _ => Some(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_run_at_their_occurrences_without_catching_up() {
        use chrono::TimeZone;
        let start = Utc.with_ymd_and_hms(2026, 1, 31, 9, 0, 0).unwrap();
        let at = |y, m, d, h, min| Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap();
        // Before the start: the start. A one-off: the start even once passed, never after a run.
        assert_eq!(
            next_run("daily", start, None, at(2026, 1, 1, 0, 0), false),
            Some(start)
        );
        assert_eq!(
            next_run("once", start, None, at(2026, 3, 1, 0, 0), false),
            Some(start)
        );
        assert_eq!(next_run("once", start, None, start, true), None);
        // Repeating: the first occurrence after now, missed ones skipped.
        assert_eq!(
            next_run("daily", start, None, at(2026, 2, 10, 9, 0), true),
            Some(at(2026, 2, 11, 9, 0))
        );
        assert_eq!(
            next_run("hourly", start, None, at(2026, 1, 31, 11, 30), true),
            Some(at(2026, 1, 31, 12, 0))
        );
        assert_eq!(
            next_run("weekly", start, None, at(2026, 2, 1, 0, 0), true),
            Some(at(2026, 2, 7, 9, 0))
        );
        // Monthly from the 31st: the last day of shorter months, back on the 31st after.
        assert_eq!(
            next_run("monthly", start, None, start, true),
            Some(at(2026, 2, 28, 9, 0))
        );
        assert_eq!(
            next_run("monthly", start, None, at(2026, 2, 28, 9, 0), true),
            Some(at(2026, 3, 31, 9, 0))
        );
        // Past the end date: no next run.
        assert_eq!(
            next_run(
                "daily",
                start,
                Some(at(2026, 2, 2, 0, 0)),
                at(2026, 2, 1, 10, 0),
                true
            ),
            None
        );
    }
}
