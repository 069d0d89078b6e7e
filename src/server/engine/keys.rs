//! API keys at call time: checking a presented key (digest, constant-time comparison, scope,
//! allow list) and recording its uses. Creating and editing keys is `admin::api_keys`.

use crate::errors::AppError;
use crate::server::domain::IpAllowList;
use crate::server::engine::inbound::Refusal;
use crate::server::entities::api_key;
use crate::server::settings::Secret;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

pub(crate) fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Equality that takes the same time wherever the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a presented key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    Missing,
    Unknown,
    Disabled,
    CallerNotAllowed,
}

impl KeyRejection {
    /// The refusal a listener or source answers with.
    pub fn refusal(self) -> Refusal {
        match self {
            KeyRejection::Missing => Refusal::MissingApiKey,
            KeyRejection::Unknown => Refusal::InvalidApiKey,
            KeyRejection::Disabled => Refusal::ApiKeyDisabled,
            KeyRejection::CallerNotAllowed => Refusal::IpNotAllowed,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            KeyRejection::Missing => {
                "no API key: send it as the apiKey query parameter, the X-Api-Key header or Authorization: Bearer"
            }
            KeyRejection::Unknown => "the API key is not known",
            KeyRejection::Disabled => "this API key is disabled",
            KeyRejection::CallerNotAllowed => {
                "this API key does not accept calls from your address"
            }
        }
    }
}

/// Checks a key presented by a caller and counts the use. The outer error is for failures of
/// our own; the inner one says why the key was refused.
#[tracing::instrument(skip_all, fields(caller = %caller))]
pub async fn authenticate(
    db: &impl ConnectionTrait,
    presented: Option<&Secret<String>>,
    caller: IpAddr,
) -> Result<Result<api_key::Model, KeyRejection>, AppError> {
    let checked = check(db, presented, caller).await?;
    if let Ok(key) = &checked {
        record_use(db, key.id).await?;
    }
    Ok(checked)
}

/// Checks a key presented by a caller without counting the use (the caller records it with
/// `record_use` in the transaction that logs the call).
pub async fn check(
    db: &impl ConnectionTrait,
    presented: Option<&Secret<String>>,
    caller: IpAddr,
) -> Result<Result<api_key::Model, KeyRejection>, AppError> {
    let Some(digest) = digest_of(presented) else {
        return Ok(Err(KeyRejection::Missing));
    };
    let found = find_by_digest(db, &digest).await?;
    Ok(verify(found.as_ref(), &digest, caller).cloned())
}

/// The SHA-256 of a presented key; None when no key was presented.
pub fn digest_of(presented: Option<&Secret<String>>) -> Option<[u8; 32]> {
    presented
        .map(|k| k.expose().trim())
        .filter(|k| !k.is_empty())
        .map(hash_key)
}

/// The stored key with this digest, if any.
pub async fn find_by_digest(
    db: &impl ConnectionTrait,
    digest: &[u8; 32],
) -> Result<Option<api_key::Model>, AppError> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hex::encode(digest)))
        .one(db)
        .await?)
}

/// Whether the stored key found for `digest` lets this caller in.
pub fn verify<'k>(
    found: Option<&'k api_key::Model>,
    digest: &[u8; 32],
    caller: IpAddr,
) -> Result<&'k api_key::Model, KeyRejection> {
    let Some(key) = found
        .filter(|k| hex::decode(&k.key_hash).is_ok_and(|stored| constant_time_eq(&stored, digest)))
    else {
        return Err(KeyRejection::Unknown);
    };
    admit(key, caller)
}

/// Whether a known key lets `caller` in: enabled, and the caller inside its allow-list (a
/// signed call counts as its listener's key, and is let in by the same rule).
pub fn admit(key: &api_key::Model, caller: IpAddr) -> Result<&api_key::Model, KeyRejection> {
    if !key.enabled {
        return Err(KeyRejection::Disabled);
    }
    match IpAllowList::parse(&key.allowed_ips) {
        Ok(allow) if allow.allows(caller) => Ok(key),
        Ok(_) => Err(KeyRejection::CallerNotAllowed),
        // A stored list that no longer parses lets nobody in.
        Err(_) => Err(KeyRejection::CallerNotAllowed),
    }
}

/// Counts one use of a key (use count and last use).
pub async fn record_use(db: &impl ConnectionTrait, key_id: i32) -> Result<(), AppError> {
    record_uses(db, key_id, 1).await
}

/// Counts `uses` uses of a key at once.
pub async fn record_uses(
    db: &impl ConnectionTrait,
    key_id: i32,
    uses: i64,
) -> Result<(), AppError> {
    uses_update(key_id, uses).exec(db).await?;
    Ok(())
}

/// The statement that counts `uses` uses of a key (and when it was last used).
pub fn uses_update(key_id: i32, uses: i64) -> sea_orm::UpdateMany<api_key::Entity> {
    // Always an i64 (the column is a BIGINT): PostgreSQL statements are prepared once per SQL
    // text, and the same text bound once with an i32 and once with an i64 fails.
    api_key::Entity::update_many()
        .col_expr(
            api_key::Column::UseCount,
            Expr::col(api_key::Column::UseCount).add(uses),
        )
        .col_expr(api_key::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::Id.eq(key_id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_equality() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
    }
}
