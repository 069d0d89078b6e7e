//! The opt-out dashboard and erasure receipts.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// Removals on one day (UTC) of the opt-out dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub removals: u64,
}

/// Removals attributed to one listener or one macro.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutTotal {
    pub name: String,
    pub removals: u64,
}

/// A downstream notification a removal sent (a delivery of its run) and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptDelivery {
    pub delivery_id: i64,
    pub webhook: String,
    /// "http" or "email".
    pub kind: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The person's identifier was cut out of it after it was sent or given up.
    pub erased: bool,
}

/// What one removal did, without saying who was removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub id: i64,
    pub occurred_at: String,
    pub run_id: Option<i64>,
    pub macro_name: String,
    /// manual, listener, bulk, automation, schedule, or delete (a plain "Delete user").
    pub trigger: String,
    pub listener_name: Option<String>,
    /// The manager, listener or API key that asked.
    pub actor: String,
    /// The label that stands for the removed person in every log.
    pub subject: String,
    /// Rows removed or scrubbed, per kind.
    pub counts: Vec<(String, u64)>,
    pub downstream: Vec<ReceiptDelivery>,
}

/// The opt-out dashboard for the last `days` days (today included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOutDashboard {
    pub days: u32,
    /// One entry per day, oldest first, days without removals included.
    pub per_day: Vec<OptOutDay>,
    /// Most removals first; removals no listener asked for count as "(manual run)".
    pub by_listener: Vec<OptOutTotal>,
    pub by_macro: Vec<OptOutTotal>,
    pub total: u64,
    /// The latest removals' receipts, newest first (whatever their macro's dashboard option).
    pub receipts: Vec<ReceiptView>,
}
