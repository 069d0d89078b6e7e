//! The answer to an inbound call (docs/listener-api.md, "Answers"): a status, a JSON body and,
//! for 429, when to come back. A refusal's status comes from its `Refusal`; the three answers
//! that are not refusals are named here. `http::api` writes it out; an `Idempotency-Key` keeps
//! it (status and body) to answer repeats with.

use serde_json::json;

use super::Refusal;
use crate::shared::vocab::RunStatus;

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    pub retry_after: Option<u64>,
}

impl Reply {
    /// Done within the request: a comment, external data, a run that finished in time.
    pub const OK: u16 = 200;
    /// An external source's ticket.
    pub const CREATED: u16 = 201;
    /// A run queued durably, not finished within the wait.
    pub const ACCEPTED: u16 = 202;

    /// A refusal, with what the caller should change.
    pub fn refused(why: Refusal, message: &str) -> Reply {
        Reply {
            status: why.status(),
            body: json!({ "error": { "code": why.code(), "message": message } }),
            retry_after: None,
        }
    }

    /// Done within the request, answered with `body`.
    pub fn done(body: serde_json::Value) -> Reply {
        Reply {
            status: Reply::OK,
            body,
            retry_after: None,
        }
    }

    /// A run that ended while the call waited (completed, skipped or failed).
    pub fn finished(status: RunStatus, run_id: i64) -> Reply {
        Reply {
            status: Reply::OK,
            body: json!({ "status": status.as_str(), "run_id": run_id.to_string() }),
            retry_after: None,
        }
    }

    /// A run queued for the worker.
    pub fn accepted(run_id: i64) -> Reply {
        Reply {
            status: Reply::ACCEPTED,
            body: json!({ "status": "accepted", "run_id": run_id.to_string() }),
            retry_after: None,
        }
    }

    /// Not a refusal.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The refusal's code, or the run's status.
    pub fn code(&self) -> String {
        self.body["error"]["code"]
            .as_str()
            .or_else(|| self.body["status"].as_str())
            .unwrap_or("")
            .to_string()
    }
}
