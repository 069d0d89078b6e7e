//! Community API keys: what third-party systems present to the `/api/v1` endpoints.
//! A key is 192 random bits behind a readable prefix (`jira_3f9c…`); only its SHA-256 is
//! stored, so the full key is shown once, when it is created.

use crate::server::store::audit_trail;

use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{Actor, format_time};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::{IpAllowList, parse_id, parse_key_prefix};
use crate::server::engine::keys::hash_key;
use crate::server::entities::api_key;
use crate::types::{ApiKeyForm, ApiKeyView, CreatedKey};

const RANDOM_BYTES: usize = 24;

fn view(m: api_key::Model) -> ApiKeyView {
    ApiKeyView {
        id: m.id,
        name: m.name,
        description: m.description,
        prefix: m.prefix,
        hint: format!("{}…", m.hint),
        allowed_ips: m.allowed_ips,
        enabled: m.enabled,
        created_at: format_time(&m.created_at),
        last_used_at: m.last_used_at.as_ref().map(format_time),
        use_count: u64::try_from(m.use_count).unwrap_or(0),
    }
}

struct ParsedKeyForm {
    name: String,
    description: String,
    allowed_ips: IpAllowList,
}

fn parse_common(form: &ApiKeyForm, errors: &mut FieldErrors) -> Option<ParsedKeyForm> {
    let name = form.name.trim();
    if name.is_empty() {
        errors.push("name", "is required");
    } else if name.chars().count() > 100 {
        errors.push("name", "must be at most 100 characters");
    }
    let description = form.description.trim();
    if description.chars().count() > 1000 {
        errors.push("description", "must be at most 1000 characters");
    }
    let allowed_ips = errors.check("allowed_ips", IpAllowList::parse(&form.allowed_ips))?;
    Some(ParsedKeyForm {
        name: name.to_string(),
        description: description.to_string(),
        allowed_ips,
    })
}

async fn name_taken(
    db: &impl ConnectionTrait,
    name: &str,
    except: Option<i32>,
) -> Result<bool, AppError> {
    let mut q = api_key::Entity::find().filter(api_key::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(api_key::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &ApiKeyForm,
) -> Result<CreatedKey, AppError> {
    let mut errors = FieldErrors::new();
    let prefix = errors.check("prefix", parse_key_prefix(&form.prefix));
    let parsed = parse_common(form, &mut errors);
    if let Some(p) = &parsed
        && !p.name.is_empty()
        && name_taken(db, &p.name, None).await?
    {
        errors.push("name", "another API key has this name");
    }
    errors.into_result()?;
    let (prefix, parsed) = (prefix.expect("checked"), parsed.expect("checked"));

    let mut random = [0u8; RANDOM_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let key = format!("{prefix}_{}", hex::encode(random));
    let hint: String = key.chars().take(prefix.len() + 1 + 6).collect();
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let created = api_key::ActiveModel {
        name: Set(parsed.name.clone()),
        description: Set(parsed.description),
        prefix: Set(prefix),
        hint: Set(hint),
        key_hash: Set(hex::encode(hash_key(&key))),
        allowed_ips: Set(parsed.allowed_ips.to_text()),
        enabled: Set(true),
        created_at: Set(Utc::now()),
        created_by: Set(actor.user_id),
        last_used_at: Set(None),
        use_count: Set(0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit_trail::record(&txn, actor, "api_key.created", &created.name, &created.hint).await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(CreatedKey {
        id: created.id,
        name: created.name,
        key,
    })
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ApiKeyView>, AppError> {
    Ok(api_key::Entity::find()
        .order_by_asc(api_key::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<api_key::Model, AppError> {
    api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("API key {id}")))
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<ApiKeyView, AppError> {
    Ok(view(find(db, id).await?))
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &ApiKeyForm,
) -> Result<i32, AppError> {
    let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    let existing = find(db, id).await?;
    let mut errors = FieldErrors::new();
    let parsed = parse_common(form, &mut errors);
    if let Some(p) = &parsed
        && !p.name.is_empty()
        && name_taken(db, &p.name, Some(id)).await?
    {
        errors.push("name", "another API key has this name");
    }
    errors.into_result()?;
    let parsed = parsed.expect("checked");
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let mut active = existing.into_active_model();
    active.name = Set(parsed.name.clone());
    active.description = Set(parsed.description);
    active.allowed_ips = Set(parsed.allowed_ips.to_text());
    active.update(&txn).await?;
    audit_trail::record(
        &txn,
        actor,
        "api_key.updated",
        &parsed.name,
        &format!("allowed IPs: {}", parsed.allowed_ips.to_text()),
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(id)
}

#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn set_enabled(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    enabled: bool,
) -> Result<i32, AppError> {
    let id = parse_id(id_input).map_err(|m| AppError::field("id", m))?;
    let existing = find(db, id).await?;
    let name = existing.name.clone();
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let mut active = existing.into_active_model();
    active.enabled = Set(enabled);
    active.update(&txn).await?;
    let action = if enabled {
        "api_key.enabled"
    } else {
        "api_key.disabled"
    };
    audit_trail::record(&txn, actor, action, &name, "").await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(id)
}

#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    confirmed: bool,
) -> Result<(), AppError> {
    let id = super::confirmed_deletion(id_input, confirmed)?;
    let existing = find(db, id).await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    api_key::Entity::delete_by_id(id).exec(&txn).await?;
    audit_trail::record(
        &txn,
        actor,
        "api_key.deleted",
        &existing.name,
        &existing.hint,
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(())
}
