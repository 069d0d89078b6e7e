//! Calls refused before their API key was accepted (an unknown listener or source, no key or a
//! wrong one, a disabled key, a caller outside its allow-list, a wrong method, a body that is
//! not JSON) cost no database write each: they are counted here, in memory, and written to the
//! listener log once a minute as one row per listener (or source) and reason, calls to keys
//! that name none sharing one row per reason (`repeats` says how many calls a row stands for). A caller address that keeps being refused gets 429 at once,
//! before anything is looked up, until its budget refills (`api.refused_per_second` and
//! `api.refused_burst`).
//!
//! Everything held is bounded: at most [`MAX_TALLIES`] keys per minute (the rest are counted
//! under one "other keys" row) and at most [`MAX_ADDRESSES`] caller addresses.

use crate::server::engine::inbound::Refusal;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, Set};

use crate::errors::AppError;
use crate::server::entities::{external_source, listener, listener_call};
use crate::server::rate_limit::RateLimiter;

/// Distinct (key, reason) pairs counted between two flushes.
pub const MAX_TALLIES: usize = 1_000;
/// Caller addresses whose refusals are budgeted at once.
pub const MAX_ADDRESSES: usize = 100_000;
/// How often the counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(60);
/// The scope (and kind) of external sources' calls.
pub const SOURCE: &str = "source";
/// What the log says for calls to keys that name no listener or source.
pub const UNKNOWN_KEYS: &str = "(unknown keys)";
/// The key under which calls beyond [`MAX_TALLIES`] distinct keys are counted.
const OTHER_KEYS: &str = "(other keys)";

/// What one log row will say.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Reason {
    /// `user` or `feedback` and the listener kind, or `source` twice (external sources).
    scope: &'static str,
    kind: &'static str,
    /// The key as called (printable, at most 100 characters).
    key: String,
    status: u16,
    code: String,
}

#[derive(Debug, Clone)]
struct Tally {
    count: i32,
    first: DateTime<Utc>,
    last_caller: IpAddr,
}

/// One refused call, as the counter receives it.
pub struct Refused<'a> {
    /// The URL called: `user`/`feedback` and the listener kind, or `source` twice.
    pub scope: &'static str,
    pub kind: &'static str,
    pub key: &'a str,
    pub caller: IpAddr,
    pub status: u16,
    pub code: &'a str,
}

/// The budget's key for a caller: its IPv4 address, or the /64 of its IPv6 address (one
/// customer's network; anyone can hold a whole /64).
pub fn budget_key(caller: IpAddr) -> IpAddr {
    match caller {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().expect("checked")),
        v4 => v4,
    }
}

pub struct Refusals {
    tallies: Mutex<HashMap<Reason, Tally>>,
    budget: RateLimiter<IpAddr>,
    /// How long a 429 to an address over its budget waits before it goes out (`hold`).
    hold: Duration,
    /// 429s being held at once; beyond it they go out at once.
    holding: tokio::sync::Semaphore,
}

/// 429s held at once at most (each holds a connection and a sleeping task, nothing more).
const HELD_AT_ONCE: usize = 4096;

impl Refusals {
    pub fn new(per_second: u32, burst: u32, hold: Duration) -> Refusals {
        Refusals {
            tallies: Mutex::new(HashMap::new()),
            budget: RateLimiter::bounded(per_second, burst, MAX_ADDRESSES),
            hold,
            holding: tokio::sync::Semaphore::new(HELD_AT_ONCE),
        }
    }

    /// Holds the 429 of an address over its budget for `api.refused_hold_ms` before it is
    /// sent, so that a flood paces itself (a sender that waits for each answer sends one call
    /// per connection per hold) instead of taking the cores from the calls that count. At most
    /// [`HELD_AT_ONCE`] are held; past that they are answered at once.
    pub async fn hold(&self) {
        if self.hold.is_zero() {
            return;
        }
        if let Ok(_held) = self.holding.try_acquire() {
            tokio::time::sleep(self.hold).await;
        }
    }

    /// When `caller` has used up its budget of refused calls: how long until it may call again.
    pub fn blocked(&self, caller: IpAddr) -> Option<Duration> {
        self.budget.peek(budget_key(caller)).err()
    }

    /// Counts a refused call, and takes one from its caller's budget unless the call carried a
    /// valid key (a key over its rate, or at the wrong listener, is its owner's business, not a
    /// stranger's guessing).
    pub fn count(&self, r: Refused<'_>) {
        let with_valid_key = [Refusal::RateLimited, Refusal::ApiKeyNotAllowed]
            .iter()
            .any(|why| why.code() == r.code);
        if !with_valid_key {
            let _ = self.budget.check(budget_key(r.caller));
        }
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let mut reason = Reason {
            scope: r.scope,
            kind: r.kind,
            key: crate::server::domain::printable(r.key, 100),
            status: r.status,
            code: r.code.to_string(),
        };
        if !tallies.contains_key(&reason) && tallies.len() >= MAX_TALLIES {
            reason.key = OTHER_KEYS.into();
        }
        let tally = tallies.entry(reason).or_insert(Tally {
            count: 0,
            first: Utc::now(),
            last_caller: r.caller,
        });
        tally.count = tally.count.saturating_add(1);
        tally.last_caller = r.caller;
    }

    /// Writes what was counted since the last flush (one row per key and reason) and forgets
    /// it; returns the number of calls written. On failure the counts are kept for the next
    /// flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<u64, AppError> {
        let taken: Vec<(Reason, Tally)> = {
            let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
            tallies.drain().collect()
        };
        if taken.is_empty() {
            return Ok(0);
        }
        let counted: u64 = taken.iter().map(|(_, t)| t.count as u64).sum();
        let written = self.write(db, taken.clone()).await;
        match written {
            Ok(()) => Ok(counted),
            Err(e) => {
                // Put the counts back (merged with what arrived meanwhile).
                let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
                for (reason, tally) in taken {
                    let kept = tallies.entry(reason).or_insert(Tally {
                        count: 0,
                        first: tally.first,
                        last_caller: tally.last_caller,
                    });
                    kept.count = kept.count.saturating_add(tally.count);
                    kept.first = kept.first.min(tally.first);
                }
                Err(e)
            }
        }
    }

    /// One row per tally, naming the listener or source its key belongs to (read here, once
    /// per flush, not per call).
    async fn write(
        &self,
        db: &DatabaseConnection,
        taken: Vec<(Reason, Tally)>,
    ) -> Result<(), AppError> {
        use sea_orm::QuerySelect;
        let listeners: Vec<(i32, String, String, String)> = listener::Entity::find()
            .select_only()
            .column(listener::Column::Id)
            .column(listener::Column::Scope)
            .column(listener::Column::Kind)
            .column(listener::Column::Key)
            .into_tuple()
            .all(db)
            .await?;
        let sources: Vec<(i32, String)> = external_source::Entity::find()
            .select_only()
            .column(external_source::Column::Id)
            .column(external_source::Column::Key)
            .into_tuple()
            .all(db)
            .await?;
        // Keys that name no listener or source (guesses, typos) share one row per reason.
        // (listener, source, key, status, code): one log row each.
        type Row = (Option<i32>, Option<i32>, String, u16, String);
        let mut merged: HashMap<Row, Tally> = HashMap::new();
        for (reason, tally) in taken {
            let key = reason.key.to_ascii_lowercase();
            let (listener_id, source_id) = if reason.scope == SOURCE {
                (
                    None,
                    sources.iter().find(|(_, k)| *k == key).map(|(id, _)| *id),
                )
            } else {
                let id = listeners
                    .iter()
                    .find(|(_, s, k, l)| s == reason.scope && k == reason.kind && *l == key)
                    .map(|(id, ..)| *id);
                (id, None)
            };
            let label = if listener_id.is_some() || source_id.is_some() {
                reason.key.clone()
            } else {
                UNKNOWN_KEYS.to_string()
            };
            let row = merged
                .entry((
                    listener_id,
                    source_id,
                    label,
                    reason.status,
                    reason.code.clone(),
                ))
                .or_insert(Tally {
                    count: 0,
                    first: tally.first,
                    last_caller: tally.last_caller,
                });
            row.count = row.count.saturating_add(tally.count);
            row.first = row.first.min(tally.first);
            row.last_caller = tally.last_caller;
        }
        // Oldest first, so that the log (newest id first) shows them in the order they came.
        let mut merged: Vec<_> = merged.into_iter().collect();
        merged.sort_by_key(|(_, tally)| tally.first);
        let rows: Vec<listener_call::ActiveModel> = merged
            .into_iter()
            .map(|((listener_id, source_id, key, status, code), tally)| {
                listener_call::ActiveModel {
                    received_at: Set(tally.first),
                    listener_id: Set(listener_id),
                    source_id: Set(source_id),
                    listener_key: Set(key),
                    caller_ip: Set(tally.last_caller.to_string()),
                    target: Set(String::new()),
                    target_user_id: Set(None),
                    status: Set(status as i16),
                    code: Set(code),
                    run_id: Set(None),
                    duration_ms: Set(0),
                    repeats: Set(tally.count),
                    ..Default::default()
                }
            })
            .collect();
        let (txn, _gate) = crate::server::db::begin_write(db).await?;
        listener_call::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Before the listener log is read: what this process counted is written first, so the
    /// log a manager opens is current (other processes' counts arrive within the minute). A
    /// failure is logged; the counts are kept for the next flush.
    pub async fn flush_for_reading(&self, db: &DatabaseConnection) {
        if let Err(e) = self.flush(db).await {
            tracing::warn!(error = %e, "cannot write the counts of refused calls before reading the log");
        }
    }

    /// Flushes every [`FLUSH_EVERY`] until `stop` says so, then once more.
    pub async fn run(&self, db: DatabaseConnection, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = self.flush(&db).await {
                tracing::warn!(error = %e, "cannot write the counts of refused calls; kept for the next minute");
            }
        }
        if let Err(e) = self.flush(&db).await {
            tracing::warn!(error = %e, "cannot write the counts of refused calls at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(key: &str, caller: [u8; 4]) -> Refused<'_> {
        Refused {
            scope: "user",
            kind: "macro",
            key,
            caller: IpAddr::from(caller),
            status: 404,
            code: "listener_not_found",
        }
    }

    #[test]
    fn counts_are_bounded_and_grouped() {
        let r = Refusals::new(1, 1_000_000, Duration::ZERO);
        for i in 0..(MAX_TALLIES + 500) {
            r.count(refused(&format!("key{i}"), [10, 0, 0, 1]));
        }
        r.count(refused("key1", [10, 0, 0, 2]));
        let tallies = r.tallies.lock().unwrap();
        assert_eq!(tallies.len(), MAX_TALLIES + 1, "the rest share one row");
        let other = tallies
            .iter()
            .find(|(k, _)| k.key == OTHER_KEYS)
            .map(|(_, t)| t.count);
        assert_eq!(other, Some(500));
        let key1 = tallies.iter().find(|(k, _)| k.key == "key1").unwrap().1;
        assert_eq!(key1.count, 2);
        assert_eq!(key1.last_caller, IpAddr::from([10, 0, 0, 2]));
    }

    #[test]
    fn a_flooding_address_is_blocked_and_others_are_not() {
        let r = Refusals::new(1, 3, Duration::ZERO);
        for _ in 0..3 {
            assert!(r.blocked(IpAddr::from([10, 0, 0, 1])).is_none());
            r.count(refused("x", [10, 0, 0, 1]));
        }
        assert!(r.blocked(IpAddr::from([10, 0, 0, 1])).is_some());
        assert!(r.blocked(IpAddr::from([10, 0, 0, 2])).is_none());
        // One IPv6 /64 is one caller.
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for _ in 0..3 {
            r.count(Refused {
                caller: a,
                ..refused("x", [0, 0, 0, 0])
            });
        }
        assert!(r.blocked(b).is_some());
        // A valid key over its rate does not spend the address's budget.
        let c = IpAddr::from([10, 0, 0, 3]);
        for _ in 0..10 {
            r.count(Refused {
                caller: c,
                code: "rate_limited",
                ..refused("x", [0, 0, 0, 0])
            });
        }
        assert!(r.blocked(c).is_none());
    }
}
