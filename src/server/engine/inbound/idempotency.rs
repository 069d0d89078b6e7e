//! `Idempotency-Key` on inbound calls (docs/listener-api.md, "Idempotency-Key"): the first call
//! with a key claims it; a repeat gets the stored answer, a call while the first is in flight
//! a 409, a key reused with another request a 422. Listener calls and external-source calls
//! share it.

use super::listeners::{InboundCall, answer_of};
use super::{Refusal, Reply};
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::errors::AppError;
use crate::server::engine::matching::SCOPE_USER;
use crate::server::engine::runtime::Runtime;
use crate::server::entities::idempotency_key;

/// An `Idempotency-Key` as it is stored: a keyed hash of what the caller sent (`stored`), so
/// a key that names a person (`gdpr-jim@example.com`) is not kept, an erasure has nothing to
/// rewrite in it, and a retry after the erasure still finds its first answer. `raw` is only
/// looked up for rows stored as sent, before keys were hashed (gone after a day).
pub struct IdemKey {
    pub stored: String,
    raw: String,
}

/// The `Idempotency-Key` header, checked: 1 to 255 visible ASCII characters.
pub fn idempotency_key_of(
    sealer: &crate::server::secrets::Sealer,
    raw: Option<&str>,
) -> Result<Option<IdemKey>, Reply> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > 255 || !k.chars().all(|c| c.is_ascii_graphic()) => {
            Err(Reply::refused(
                Refusal::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            ))
        }
        Some(k) => Ok(Some(IdemKey {
            stored: format!(
                "k1:{}",
                sealer.fingerprint(format!("idempotency-key\0{k}").as_bytes())
            ),
            raw: k.to_string(),
        })),
    }
}

/// The status of an `Idempotency-Key` whose first call is still being answered.
pub(crate) const IN_FLIGHT: i16 = 0;
/// The status of a run's 202, stored with the run while its first call still waits (up to
/// `listener.sync_budget_ms`) to answer 200: repeats get 409 meanwhile, then the first call's
/// own answer. Should that call's process stop, the 202 stands once the wait is over.
pub(crate) const PROVISIONAL: i16 = -202;
/// How long past the sync budget a provisional answer is still taken to be settling.
const SETTLING_SLACK: chrono::Duration = chrono::Duration::seconds(5);
/// A claim older than this without an answer is taken to be abandoned (the process answering
/// it stopped): the next call with the key takes it over.
const CLAIM_TIMEOUT: chrono::Duration = chrono::Duration::seconds(120);

/// An `Idempotency-Key` a call holds: the key, and the token of its claim (a claim abandoned
/// and taken over by a later call gets a new token, so the first call can neither store an
/// answer under it nor free it).
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub key: &'a str,
    pub token: &'a str,
}

pub(crate) fn claim_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Whether a call owns its `Idempotency-Key`, or what it answers instead.
pub enum Claim {
    /// This call is the first: it answers, and keeps its answer (`remember_answer`) or frees
    /// the key (`release`), both only while the claim is still this one (the token).
    Owned(String),
    /// The stored answer of the first call, 422 for a reused key, or 409 while the first is
    /// still in flight.
    Answer(Reply),
}

/// Claims `idem` for this call, before anything else is looked at: an in-flight row goes in
/// on its own (the unique index lets one call in), so concurrent calls with the same key
/// cannot both run.
pub async fn claim(
    db: &DatabaseConnection,
    api_key_id: i32,
    key: &IdemKey,
    fingerprint: &Fingerprint,
    wait: Duration,
) -> Result<Claim, AppError> {
    use sea_orm::sea_query::OnConflict;
    let now = Utc::now();
    // A row stored under the key as sent, before keys were hashed: its answer stands (a
    // claim of it left by a process that died is simply passed by).
    if let Some(row) = stored_answer(db, api_key_id, &key.raw).await?
        && (row.status != IN_FLIGHT || row.created_at >= now - CLAIM_TIMEOUT)
    {
        return Ok(Claim::Answer(answer_of(&row, fingerprint, wait)?));
    }
    let idem = key.stored.as_str();
    let token = claim_token();
    let inserted = {
        let (txn, _gate) = crate::server::db::begin_write(db).await?;
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            api_key_id: Set(api_key_id),
            idem_key: Set(idem.to_string()),
            request_hash: Set(fingerprint.keyed.clone()),
            status: Set(IN_FLIGHT),
            body: Set(String::new()),
            created_at: Set(now),
            claim_token: Set(token.clone()),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                idempotency_key::Column::ApiKeyId,
                idempotency_key::Column::IdemKey,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await;
        let inserted = match inserted {
            Ok(rows) => rows == 1,
            Err(sea_orm::DbErr::RecordNotInserted) => false,
            Err(e) => return Err(e.into()),
        };
        txn.commit().await?;
        inserted
    };
    if inserted {
        return Ok(Claim::Owned(token));
    }
    let Some(row) = stored_answer(db, api_key_id, idem).await? else {
        // Freed between our insert and this read: the caller may simply try again.
        return Ok(Claim::Answer(in_flight()));
    };
    if !fingerprint.matches(&row.request_hash) {
        return Ok(Claim::Answer(reused()));
    }
    if row.status != IN_FLIGHT {
        return Ok(Claim::Answer(stored_reply(&row, wait)?));
    }
    if row.created_at < now - CLAIM_TIMEOUT {
        let (txn, _gate) = crate::server::db::begin_write(db).await?;
        let taken = idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::CreatedAt, Expr::value(now))
            .col_expr(
                idempotency_key::Column::ClaimToken,
                Expr::value(token.clone()),
            )
            .filter(idempotency_key::Column::Id.eq(row.id))
            .filter(idempotency_key::Column::Status.eq(IN_FLIGHT))
            .filter(idempotency_key::Column::CreatedAt.eq(row.created_at))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        txn.commit().await?;
        if taken {
            return Ok(Claim::Owned(token));
        }
    }
    Ok(Claim::Answer(in_flight()))
}

/// Frees a key this call claimed and did not keep an answer for (not once another call took
/// the claim over).
pub async fn release(
    db: &DatabaseConnection,
    api_key_id: i32,
    idem: Held<'_>,
) -> Result<(), AppError> {
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ApiKeyId.eq(api_key_id))
        .filter(idempotency_key::Column::IdemKey.eq(idem.key))
        .filter(idempotency_key::Column::ClaimToken.eq(idem.token))
        .filter(idempotency_key::Column::Status.eq(IN_FLIGHT))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

pub(crate) fn in_flight() -> Reply {
    let mut reply = Reply::refused(
        Refusal::IdempotencyKeyInFlight,
        "a call with this Idempotency-Key is still being answered; try again after Retry-After seconds",
    );
    reply.retry_after = Some(1);
    reply
}

pub(crate) fn reused() -> Reply {
    Reply::refused(
        Refusal::IdempotencyKeyReused,
        "this Idempotency-Key was used for a different request",
    )
}

/// Stores `reply` as the answer to `idem`, claimed by this call, inside the call's
/// transaction. False when the claim is no longer this call's (it was abandoned and taken
/// over): the caller then rolls back and answers with `replay`.
pub async fn remember_answer(
    txn: &impl ConnectionTrait,
    api_key_id: i32,
    idem: Held<'_>,
    fingerprint: &Fingerprint,
    reply: &Reply,
) -> Result<bool, AppError> {
    remember_answer_as(
        txn,
        api_key_id,
        idem,
        fingerprint,
        reply,
        reply.status as i16,
    )
    .await
}

/// `remember_answer` with the status stored given (`PROVISIONAL` for a run's first 202).
pub(crate) async fn remember_answer_as(
    txn: &impl ConnectionTrait,
    api_key_id: i32,
    idem: Held<'_>,
    fingerprint: &Fingerprint,
    reply: &Reply,
    status: i16,
) -> Result<bool, AppError> {
    let stored = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::Status, Expr::value(status))
        .col_expr(
            idempotency_key::Column::Body,
            Expr::value(reply.body.to_string()),
        )
        .filter(idempotency_key::Column::ApiKeyId.eq(api_key_id))
        .filter(idempotency_key::Column::IdemKey.eq(idem.key))
        .filter(idempotency_key::Column::ClaimToken.eq(idem.token))
        .filter(
            idempotency_key::Column::RequestHash
                .is_in([fingerprint.keyed.as_str(), fingerprint.legacy.as_str()]),
        )
        .filter(idempotency_key::Column::Status.eq(IN_FLIGHT))
        .exec(txn)
        .await?;
    Ok(stored.rows_affected == 1)
}

/// What a call asked for, fingerprinted for its `Idempotency-Key` row, so a reused key with
/// another request is refused rather than answered with someone else's result. The row stores
/// an HMAC under the key file (`Sealer::fingerprint`): the message names the target, and a
/// plain hash of it could be tested against guessed emails. Rows written before keyed
/// fingerprints hold the plain SHA-256 (`legacy`), still matched so a retry across the
/// upgrade gets its first answer; such rows are gone after `worker::KEEP_FINISHED`.
pub struct Fingerprint {
    keyed: String,
    legacy: String,
}

/// The message `request_fingerprint` keys: listener, target (`find`: as the URL or the body
/// named it) and (but for macro calls) body.
fn request_message(call: &InboundCall, find: Option<&str>) -> Vec<u8> {
    let mut h: Vec<u8> = Vec::new();
    // Macro calls read as they always did (legacy rows stay valid across an upgrade); the
    // other kinds add the kind and the body, which they read.
    if call.scope != SCOPE_USER {
        h.extend(call.scope.as_bytes());
        h.push(0);
    }
    if call.kind.reads_body() {
        h.extend(call.kind.as_str().as_bytes());
        h.push(0);
    }
    h.extend(call.key.to_ascii_lowercase().as_bytes());
    h.push(0);
    h.extend(find.unwrap_or("").trim().to_lowercase().as_bytes());
    if let (Some(body), true) = (&call.body, call.kind.reads_body()) {
        h.push(0);
        h.extend(body.to_string().as_bytes());
    }
    h
}

pub(crate) fn request_fingerprint(
    state: &Runtime,
    call: &InboundCall,
    find: Option<&str>,
) -> Fingerprint {
    Fingerprint::of(&state.sealer, &request_message(call, find))
}

async fn stored_answer(
    db: &impl ConnectionTrait,
    api_key_id: i32,
    idem: &str,
) -> Result<Option<idempotency_key::Model>, AppError> {
    Ok(idempotency_key::Entity::find()
        .filter(idempotency_key::Column::ApiKeyId.eq(api_key_id))
        .filter(idempotency_key::Column::IdemKey.eq(idem))
        .one(db)
        .await?)
}

/// The answer stored under a key; `wait` is how long a first call may wait for its run.
pub(crate) fn stored_reply(
    row: &idempotency_key::Model,
    wait: Duration,
) -> Result<Reply, AppError> {
    if row.status == IN_FLIGHT {
        return Ok(in_flight());
    }
    if row.status == PROVISIONAL {
        let wait = chrono::Duration::from_std(wait).unwrap_or_default() + SETTLING_SLACK;
        if row.created_at > Utc::now() - wait {
            return Ok(in_flight());
        }
    }
    Ok(Reply {
        status: row.status.unsigned_abs(),
        body: serde_json::from_str(&row.body).map_err(|e| AppError::internal(e))?,
        retry_after: None,
    })
}

/// The answer stored for an `Idempotency-Key`, if this key was seen before (409 while its
/// first call is still in flight, 422 when it was used for another request).
pub(crate) async fn replay(
    db: &impl ConnectionTrait,
    api_key_id: i32,
    idem: &str,
    fingerprint: &Fingerprint,
    wait: Duration,
) -> Result<Option<Reply>, AppError> {
    let Some(row) = stored_answer(db, api_key_id, idem).await? else {
        return Ok(None);
    };
    answer_of(&row, fingerprint, wait).map(Some)
}

impl Fingerprint {
    pub fn of(sealer: &crate::server::secrets::Sealer, message: &[u8]) -> Fingerprint {
        use sha2::{Digest, Sha256};
        Fingerprint {
            keyed: sealer.fingerprint(message),
            legacy: hex::encode(Sha256::digest(message)),
        }
    }

    pub(crate) fn matches(&self, stored: &str) -> bool {
        stored == self.keyed || stored == self.legacy
    }
}
