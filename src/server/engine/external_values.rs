//! External data values: one coercion rule turns what a third party sends into the field's
//! type (Boolean, Date and Time, Integer, String), for listeners and captured webhook answers
//! alike, and stores it against a user, a feedback ticket or a project. Editing the groups and
//! their fields is `admin::external_data`.

use crate::server::domain::format_time;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::Value;

use crate::errors::AppError;
use crate::server::entities::{data_field, data_group, data_value};

const MAX_STRING: usize = 10_000;

/// One stored value with its group and field, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredValue {
    pub group: String,
    pub label: String,
    /// The value as text (a date and time in the product's format).
    pub value: String,
    pub favorite: bool,
    pub updated_at: DateTime<Utc>,
}

/// What a value is stored against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Subject {
    User(i32),
    Ticket(i32),
    Project(i32),
    /// A project value written by a call about a person (a user listener, a user macro's
    /// capture): it is the project's value, and it is erased with the person.
    ProjectAbout {
        project: i32,
        person: i32,
    },
}

impl Subject {
    fn condition(self) -> sea_orm::sea_query::SimpleExpr {
        match self {
            Subject::User(id) => data_value::Column::UserId.eq(id),
            Subject::Ticket(id) => data_value::Column::TicketId.eq(id),
            Subject::Project(id) | Subject::ProjectAbout { project: id, .. } => {
                data_value::Column::ProjectId.eq(id)
            }
        }
    }

    /// The person the value is about, when it is a project value written about one.
    fn about(self) -> Option<i32> {
        match self {
            Subject::ProjectAbout { person, .. } => Some(person),
            _ => None,
        }
    }
}

/// A value in its field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    String(String),
    Integer(i64),
    Boolean(bool),
    Datetime(DateTime<Utc>),
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("“{s}”"),
        other => other.to_string(),
    }
}

/// Turns a JSON value into the field's type, or says why it cannot be.
pub fn coerce(kind: &str, v: &Value) -> Result<Typed, String> {
    match kind {
        "string" => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => return Err("must be text, not null".into()),
                _ => return Err("must be text, not an object or a list".into()),
            };
            if s.chars().count() > MAX_STRING {
                return Err(format!("must be at most {MAX_STRING} characters"));
            }
            crate::server::domain::check_storable(&s)?;
            Ok(Typed::String(s))
        }
        "integer" => {
            let n = match v {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            n.map(Typed::Integer)
                .ok_or_else(|| format!("must be a whole number, not {}", shown(v)))
        }
        "boolean" => {
            let b = match v {
                Value::Bool(b) => Some(*b),
                Value::Number(n) => match n.as_i64() {
                    Some(1) => Some(true),
                    Some(0) => Some(false),
                    _ => None,
                },
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" | "on" => Some(true),
                    "false" | "no" | "0" | "off" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            b.map(Typed::Boolean)
                .ok_or_else(|| format!("must be true or false, not {}", shown(v)))
        }
        "datetime" => {
            let t = match v {
                Value::String(s) => parse_datetime(s.trim()),
                // Seconds since 1970 (what many systems send).
                Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
                _ => None,
            };
            t.map(Typed::Datetime).ok_or_else(|| {
                format!(
                    "must be a date and time such as 2026-11-25T14:30:00Z, not {}",
                    shown(v)
                )
            })
        }
        other => Err(format!("has an unknown type {other}")),
    }
}

/// RFC 3339, or a date and time without offset (taken as UTC), or a date alone (midnight UTC).
fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A stored value as text (a date and time in the product's format).
pub fn display(v: &data_value::Model) -> String {
    if let Some(s) = &v.value_string {
        return s.clone();
    }
    if let Some(n) = v.value_integer {
        return n.to_string();
    }
    if let Some(b) = v.value_boolean {
        return if b { "True" } else { "False" }.to_string();
    }
    v.value_datetime
        .as_ref()
        .map(format_time)
        .unwrap_or_default()
}

/// Stores (or replaces) one value of `field` against `subject`, in the caller's transaction.
pub async fn store(
    db: &impl ConnectionTrait,
    subject: Subject,
    field: &data_field::Model,
    value: Typed,
) -> Result<(), AppError> {
    let existing = data_value::Entity::find()
        .filter(data_value::Column::FieldId.eq(field.id))
        .filter(subject.condition())
        .one(db)
        .await?;
    let mut active = match existing {
        Some(v) => v.into_active_model(),
        None => {
            let (user, ticket, project) = match subject {
                Subject::User(id) => (Some(id), None, None),
                Subject::Ticket(id) => (None, Some(id), None),
                Subject::Project(id) | Subject::ProjectAbout { project: id, .. } => {
                    (None, None, Some(id))
                }
            };
            data_value::ActiveModel {
                field_id: Set(field.id),
                user_id: Set(user),
                ticket_id: Set(ticket),
                project_id: Set(project),
                ..Default::default()
            }
        }
    };
    // Whoever wrote the value last: a value replaced by a write about nobody in particular is
    // no longer the person's.
    active.about_user_id = Set(subject.about());
    active.value_string = Set(None);
    active.value_integer = Set(None);
    active.value_boolean = Set(None);
    active.value_datetime = Set(None);
    match value {
        Typed::String(s) => active.value_string = Set(Some(s)),
        Typed::Integer(n) => active.value_integer = Set(Some(n)),
        Typed::Boolean(b) => active.value_boolean = Set(Some(b)),
        Typed::Datetime(t) => active.value_datetime = Set(Some(t)),
    }
    active.updated_at = Set(Utc::now());
    active.save(db).await?;
    Ok(())
}

/// Every value stored against `subject`: favourites first, then by group and field order.
pub async fn values_for(
    db: &impl ConnectionTrait,
    subject: Subject,
) -> Result<Vec<StoredValue>, AppError> {
    let values = data_value::Entity::find()
        .filter(subject.condition())
        .all(db)
        .await?;
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let fields = data_field::Entity::find()
        .filter(data_field::Column::Id.is_in(values.iter().map(|v| v.field_id)))
        .all(db)
        .await?;
    let groups = data_group::Entity::find()
        .filter(data_group::Column::Id.is_in(fields.iter().map(|f| f.group_id)))
        .all(db)
        .await?;
    let mut rows: Vec<(bool, String, i32, StoredValue)> = values
        .iter()
        .filter_map(|v| {
            let f = fields.iter().find(|f| f.id == v.field_id)?;
            let g = groups.iter().find(|g| g.id == f.group_id)?;
            Some((
                !f.favorite,
                g.name.clone(),
                f.position,
                StoredValue {
                    group: g.name.clone(),
                    label: f.label.clone(),
                    value: display(v),
                    favorite: f.favorite,
                    updated_at: v.updated_at,
                },
            ))
        })
        .collect();
    rows.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    Ok(rows.into_iter().map(|r| r.3).collect())
}

pub async fn find_group(db: &impl ConnectionTrait, id: i32) -> Result<data_group::Model, AppError> {
    data_group::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("data group {id}")))
}

/// The fields of a group, in order.
pub async fn fields_of(
    db: &impl ConnectionTrait,
    group_id: i32,
) -> Result<Vec<data_field::Model>, AppError> {
    Ok(data_field::Entity::find()
        .filter(data_field::Column::GroupId.eq(group_id))
        .order_by_asc(data_field::Column::Position)
        .all(db)
        .await?)
}
