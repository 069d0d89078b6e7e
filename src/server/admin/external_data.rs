//! External data: groups of typed fields (Boolean, Date and Time, Integer, String) whose values
//! third parties store against users, feedback tickets or projects. One coercion rule turns
//! what they send into the field's type, for listeners and captured webhook answers alike.

use crate::server::store::audit_trail;
use crate::shared::vocab::DataScope;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::Actor;
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::engine::external_values::{self, fields_of, find_group};
use crate::server::entities::{data_field, data_group, data_value};
use crate::types::{
    DATA_KINDS, DataColumn, DataFieldForm, DataFieldView, DataGroupForm, DataGroupView,
    DataValueView, ListColumns, NewDataGroupForm, column_ids,
};

#[derive(Debug, FromQueryResult)]
struct FieldCount {
    field_id: i32,
    n: i64,
}

/// The external-data fields a list of `scope` (users, feedback) offers as columns, favourites
/// first, then by group and position; and those `cols` shows (None: the favourites), in the
/// order offered. Ids that are not fields of the scope are left out.
pub async fn list_columns(
    db: &impl ConnectionTrait,
    scope: DataScope,
    cols: Option<&str>,
) -> Result<ListColumns, AppError> {
    let groups = data_group::Entity::find()
        .filter(data_group::Column::Scope.eq(scope))
        .all(db)
        .await?;
    if groups.is_empty() {
        return Ok(ListColumns::default());
    }
    let fields = data_field::Entity::find()
        .filter(data_field::Column::GroupId.is_in(groups.iter().map(|g| g.id)))
        .all(db)
        .await?;
    let mut offered: Vec<(bool, String, i32, DataColumn)> = fields
        .into_iter()
        .filter_map(|f| {
            let g = groups.iter().find(|g| g.id == f.group_id)?;
            Some((
                !f.favorite,
                g.name.clone(),
                f.position,
                DataColumn {
                    id: f.id,
                    label: format!("{} · {}", g.name, f.label),
                    favorite: f.favorite,
                },
            ))
        })
        .collect();
    offered.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    let offered: Vec<DataColumn> = offered.into_iter().map(|o| o.3).collect();
    let shown = match cols {
        None => offered.iter().filter(|c| c.favorite).cloned().collect(),
        Some(cols) => {
            let ids = column_ids(cols);
            offered
                .iter()
                .filter(|c| ids.contains(&c.id))
                .cloned()
                .collect()
        }
    };
    Ok(ListColumns { offered, shown })
}

/// The values of `columns` on the users or tickets `rows` (by `scope`): for each row, the
/// values in the columns' order ("" where none is stored). One query per 500 rows.
pub async fn column_values(
    db: &impl ConnectionTrait,
    scope: DataScope,
    rows: &[i32],
    columns: &[DataColumn],
) -> Result<std::collections::HashMap<i32, Vec<String>>, AppError> {
    let mut out = std::collections::HashMap::new();
    if columns.is_empty() || rows.is_empty() {
        return Ok(out);
    }
    let owner = match scope {
        DataScope::User => data_value::Column::UserId,
        DataScope::Feedback => data_value::Column::TicketId,
        DataScope::Project => data_value::Column::ProjectId,
    };
    for chunk in rows.chunks(500) {
        let values = data_value::Entity::find()
            .filter(data_value::Column::FieldId.is_in(columns.iter().map(|c| c.id)))
            .filter(owner.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for v in values {
            let row = match scope {
                DataScope::User => v.user_id,
                DataScope::Feedback => v.ticket_id,
                DataScope::Project => v.project_id,
            };
            let (Some(row), Some(at)) = (row, columns.iter().position(|c| c.id == v.field_id))
            else {
                continue;
            };
            let cells = out
                .entry(row)
                .or_insert_with(|| vec![String::new(); columns.len()]);
            cells[at] = external_values::display(&v);
        }
    }
    Ok(out)
}

/// The values stored on project `id` (404 when there is no such project).
pub async fn project_values(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Vec<DataValueView>, AppError> {
    if crate::server::entities::project::Entity::find_by_id(id)
        .count(db)
        .await?
        == 0
    {
        return Err(AppError::NotFound(format!("project {id}")));
    }
    values_of(db, external_values::Subject::Project(id)).await
}

/// The values stored against `subject` as a user's or ticket's page shows them: favourites
/// first, then by group and field order.
pub async fn values_of(
    db: &impl ConnectionTrait,
    subject: external_values::Subject,
) -> Result<Vec<DataValueView>, AppError> {
    Ok(external_values::values_for(db, subject)
        .await?
        .into_iter()
        .map(|v| DataValueView {
            group: v.group,
            label: v.label,
            value: v.value,
            favorite: v.favorite,
            updated_at: crate::server::domain::format_time(&v.updated_at),
        })
        .collect())
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<DataGroupView>, AppError> {
    let groups = data_group::Entity::find()
        .order_by_asc(data_group::Column::Scope)
        .order_by_asc(data_group::Column::Name)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(groups.len());
    for g in groups {
        views.push(group_view(db, g).await?);
    }
    Ok(views)
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<DataGroupView, AppError> {
    let g = find_group(db, id).await?;
    group_view(db, g).await
}

async fn group_view(
    db: &impl ConnectionTrait,
    g: data_group::Model,
) -> Result<DataGroupView, AppError> {
    let fields = fields_of(db, g.id).await?;
    let counts: Vec<FieldCount> = data_value::Entity::find()
        .select_only()
        .column(data_value::Column::FieldId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(data_value::Column::FieldId.is_in(fields.iter().map(|f| f.id)))
        .group_by(data_value::Column::FieldId)
        .into_model::<FieldCount>()
        .all(db)
        .await?;
    Ok(DataGroupView {
        id: g.id,
        scope: g.scope.to_string(),
        name: g.name,
        fields: fields
            .into_iter()
            .map(|f| DataFieldView {
                value_count: counts
                    .iter()
                    .find(|c| c.field_id == f.id)
                    .map(|c| c.n as u64)
                    .unwrap_or(0),
                id: f.id,
                label: f.label,
                parameter: f.parameter,
                kind: f.kind,
                favorite: f.favorite,
            })
            .collect(),
    })
}

fn parse_name(input: &str) -> Result<String, String> {
    crate::server::domain::parse_name(input, 100)
}

async fn name_taken(
    db: &impl ConnectionTrait,
    scope: &str,
    name: &str,
    except: Option<i32>,
) -> Result<bool, AppError> {
    let mut q = data_group::Entity::find()
        .filter(data_group::Column::Scope.eq(scope))
        .filter(data_group::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(data_group::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn create_group(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &NewDataGroupForm,
) -> Result<i32, AppError> {
    let mut errors = FieldErrors::new();
    let group = match DataScope::parse(form.scope.trim()) {
        Some(scope) => check_new_group(db, scope, &form.name, "name", &[], &mut errors).await?,
        None => {
            errors.push("scope", "must be users, feedback tickets or projects");
            errors.check("name", parse_name(&form.name));
            None
        }
    };
    errors.into_result()?;
    let group = group.expect("checked");
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let id = insert_group(&txn, actor, &group).await?;
    txn.commit().await?;
    drop(gate);
    Ok(id)
}

/// A new data group whose name and fields were checked (`check_new_group`), ready to be
/// written (`insert_group`).
pub(crate) struct NewGroup {
    scope: DataScope,
    name: String,
    /// Where a clash of names is reported.
    name_field: String,
    fields: Vec<ParsedField>,
}

/// Checks a new group of `scope`: its name (reported under `name_field`, and free in the
/// scope) and its field rows (under `fields.{slot}.…`). What is wrong goes into `errors`;
/// nothing is written.
pub(crate) async fn check_new_group(
    db: &impl ConnectionTrait,
    scope: DataScope,
    name: &str,
    name_field: &str,
    rows: &[DataFieldForm],
    errors: &mut FieldErrors,
) -> Result<Option<NewGroup>, AppError> {
    let name = errors.check(name_field, parse_name(name));
    let fields = parse_fields(rows, errors);
    let Some(name) = name else {
        return Ok(None);
    };
    if name_taken(db, scope.as_str(), &name, None).await? {
        errors.push(name_field, "another group of this scope has this name");
        return Ok(None);
    }
    Ok(Some(NewGroup {
        scope,
        name,
        name_field: name_field.to_string(),
        fields,
    }))
}

/// Writes a checked new group, its fields and the audit entry within `txn` (the caller's
/// transaction, which may write more); the group's id.
pub(crate) async fn insert_group(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    group: &NewGroup,
) -> Result<i32, AppError> {
    let g = data_group::ActiveModel {
        scope: Set(group.scope),
        name: Set(group.name.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        // Another save made a group of this name since the check (PostgreSQL runs saves side
        // by side): the same answer as the check's.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::field(
            &group.name_field,
            "another group of this scope has this name",
        ),
        _ => e.into(),
    })?;
    write_fields(txn, g.id, &[], &group.fields).await?;
    audit_trail::record(
        txn,
        actor,
        "data_group.created",
        &group.name,
        group.scope.as_str(),
    )
    .await?;
    Ok(g.id)
}

/// A parameter as third parties send it: a key of the body (or of a webhook's answer), or a
/// path into it such as `issue.fields.labels[0]` (`body_path`).
fn parse_parameter(input: &str) -> Result<String, String> {
    crate::server::domain::body_path::BodyPath::parse(input).map(|p| p.as_str().to_string())
}

struct ParsedField {
    label: String,
    parameter: String,
    kind: String,
    favorite: bool,
}

fn parse_fields(rows: &[DataFieldForm], errors: &mut FieldErrors) -> Vec<ParsedField> {
    let mut rows: Vec<(usize, &DataFieldForm)> = rows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.slot.trim().parse().unwrap_or(i), f))
        .collect();
    rows.sort_by_key(|(slot, _)| *slot);
    let mut fields: Vec<ParsedField> = Vec::new();
    for (slot, f) in rows {
        let label = f.label.trim();
        if label.is_empty() {
            continue;
        }
        let at = |what: &str| format!("fields.{slot}.{what}");
        if label.chars().count() > 100 {
            errors.push(&at("label"), "must be at most 100 characters");
        }
        let parameter = match parse_parameter(&f.parameter) {
            Ok(p) if fields.iter().any(|x| x.parameter == p) => {
                errors.push(
                    &at("parameter"),
                    format!("“{p}” is the parameter of another field"),
                );
                None
            }
            Ok(p) => Some(p),
            Err(m) => {
                errors.push(&at("parameter"), m);
                None
            }
        };
        let kind = f.kind.trim();
        if !DATA_KINDS.iter().any(|(k, _)| *k == kind) {
            errors.push(&at("kind"), "must be one of the listed types");
        }
        if let Some(parameter) = parameter {
            fields.push(ParsedField {
                label: label.to_string(),
                parameter,
                kind: kind.to_string(),
                favorite: f.favorite.is_some(),
            });
        }
    }
    if fields.len() > 100 {
        errors.push("fields", "a group may have at most 100 fields");
    }
    fields
}

/// Refuses to remove `fields` (external-data field ids, of the `what` removed) while a filter
/// reads one: gone, the filter's negative conditions ("is not", "is empty") would match
/// everyone. The refusal names the filters.
async fn refuse_if_filters_read(
    db: &impl ConnectionTrait,
    fields: &[i32],
    what: &str,
) -> Result<(), AppError> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut names = Vec::new();
    for f in crate::server::entities::filter::Entity::find()
        .all(db)
        .await?
    {
        let reads = crate::server::engine::matching::definition_of(&f)?
            .groups
            .iter()
            .flat_map(|g| &g.conditions)
            .filter_map(|c| c.field.strip_prefix("data:")?.split_once(':'))
            .any(|(_, id)| id.parse::<i32>().is_ok_and(|id| fields.contains(&id)));
        if reads {
            names.push(f.name);
        }
    }
    if names.is_empty() {
        return Ok(());
    }
    Err(super::in_use(
        "filter",
        &names,
        what,
        "change those filters before removing it",
    ))
}

/// Saves a group's name and fields. Fields are matched by parameter; a field that holds values
/// keeps its type (the values are stored in it) and can only be removed with them, which the
/// editor says.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save_group(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &DataGroupForm,
) -> Result<(), AppError> {
    let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    let group = find_group(db, id).await?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_name(&form.name));
    let fields = parse_fields(&form.fields, &mut errors);
    errors.into_result()?;
    let name = name.expect("checked");
    if name_taken(db, group.scope.as_str(), &name, Some(id)).await? {
        return Err(AppError::field(
            "name",
            "another group of this scope has this name",
        ));
    }
    // Reads what it then changes: on SQLite the write lock is taken first.
    let (txn, _gate) = crate::server::db::begin_write(db).await?;
    let old = fields_of(&txn, id).await?;
    let dropped: Vec<i32> = old
        .iter()
        .filter(|o| !fields.iter().any(|f| f.parameter == o.parameter))
        .map(|o| o.id)
        .collect();
    refuse_if_filters_read(&txn, &dropped, "field").await?;
    for o in &old {
        let kept = fields.iter().find(|f| f.parameter == o.parameter);
        let held = data_value::Entity::find()
            .filter(data_value::Column::FieldId.eq(o.id))
            .count(&txn)
            .await?;
        match kept {
            Some(f) if f.kind != o.kind && held > 0 => {
                return Err(AppError::field(
                    "fields",
                    format!(
                        "“{}” holds {held} value{}: it keeps the type {}",
                        o.label,
                        if held == 1 { "" } else { "s" },
                        o.kind
                    ),
                ));
            }
            Some(_) => {}
            None => {
                data_field::Entity::delete_by_id(o.id).exec(&txn).await?;
            }
        }
    }
    write_fields(&txn, id, &old, &fields).await?;
    let mut g = group.into_active_model();
    g.name = Set(name.clone());
    g.update(&txn).await?;
    audit_trail::record(
        &txn,
        actor,
        "data_group.saved",
        &name,
        &format!(
            "{} field{}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Writes a group's `fields` in their order: a field of `old` with the same parameter is
/// updated, any other is added.
async fn write_fields(
    txn: &impl ConnectionTrait,
    group_id: i32,
    old: &[data_field::Model],
    fields: &[ParsedField],
) -> Result<(), AppError> {
    for (i, f) in fields.iter().enumerate() {
        let mut active = match old.iter().find(|o| o.parameter == f.parameter) {
            Some(o) => o.clone().into_active_model(),
            None => data_field::ActiveModel {
                group_id: Set(group_id),
                parameter: Set(f.parameter.clone()),
                ..Default::default()
            },
        };
        active.label = Set(f.label.clone());
        active.kind = Set(f.kind.clone());
        active.favorite = Set(f.favorite);
        active.position = Set(i as i32);
        active.save(txn).await?;
    }
    Ok(())
}

#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn delete_group(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    confirmed: bool,
) -> Result<(), AppError> {
    let id = super::confirmed_deletion(id_input, confirmed)?;
    let group = find_group(db, id).await?;
    super::listeners::refuse_if_used(
        db,
        crate::server::entities::listener::Column::DataGroupId,
        id,
        "data group",
    )
    .await?;
    let fields: Vec<i32> = fields_of(db, id).await?.iter().map(|f| f.id).collect();
    refuse_if_filters_read(db, &fields, "data group").await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    // Fields and their values go with the group (ON DELETE CASCADE).
    data_group::Entity::delete_by_id(id).exec(&txn).await?;
    audit_trail::record(&txn, actor, "data_group.deleted", &group.name, "").await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::engine::external_values::*;
    use serde_json::json;

    #[test]
    fn values_take_the_field_type_or_say_why_not() {
        assert_eq!(coerce("integer", &json!(42)).unwrap(), Typed::Integer(42));
        assert_eq!(coerce("integer", &json!("42")).unwrap(), Typed::Integer(42));
        assert_eq!(coerce("integer", &json!(42.0)).unwrap(), Typed::Integer(42));
        assert_eq!(
            coerce("integer", &json!("4.5")).unwrap_err(),
            "must be a whole number, not “4.5”"
        );
        assert_eq!(
            coerce("boolean", &json!("Yes")).unwrap(),
            Typed::Boolean(true)
        );
        assert_eq!(coerce("boolean", &json!(0)).unwrap(), Typed::Boolean(false));
        assert!(coerce("boolean", &json!("maybe")).is_err());
        assert_eq!(
            coerce("string", &json!(7)).unwrap(),
            Typed::String("7".into())
        );
        assert!(coerce("string", &json!({"a": 1})).is_err());
        let t = |s: &str| match coerce("datetime", &json!(s)).unwrap() {
            Typed::Datetime(t) => t.to_rfc3339(),
            other => panic!("{other:?}"),
        };
        assert_eq!(t("2026-11-25T15:30:00+01:00"), "2026-11-25T14:30:00+00:00");
        assert_eq!(t("2026-11-25 14:30"), "2026-11-25T14:30:00+00:00");
        assert_eq!(t("2026-11-25"), "2026-11-25T00:00:00+00:00");
        assert!(coerce("datetime", &json!("next Tuesday")).is_err());
        assert!(matches!(
            coerce("datetime", &json!(1_764_000_000)),
            Ok(Typed::Datetime(_))
        ));
    }

    #[test]
    fn the_field_rows_name_each_problem() {
        let row = |slot: &str, label: &str, parameter: &str, kind: &str| DataFieldForm {
            slot: slot.into(),
            label: label.into(),
            parameter: parameter.into(),
            kind: kind.into(),
            favorite: None,
        };
        let mut errors = FieldErrors::new();
        let fields = parse_fields(
            &[
                row("0", "Jira key", "issueKey", "string"),
                row("1", "Again", "issueKey", "string"),
                row("2", "Bad", "has space", "colour"),
                row("3", "", "", ""),
            ],
            &mut errors,
        );
        assert_eq!(fields.len(), 1);
        let AppError::Validation(list) = errors.into_result().unwrap_err() else {
            unreachable!()
        };
        let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["fields.1.parameter", "fields.2.parameter", "fields.2.kind"]
        );
    }
}
