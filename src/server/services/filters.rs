//! Saved user filters: conditions (field, operator, value) in AND/OR groups. One compiler
//! turns a definition into SQL, used for the list counts, the preview, bulk runs and the
//! check whether one user passes (listeners).

use chrono::{Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

use super::{Actor, audit, teams, users};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::entities::{filter, team_membership, user};
use crate::types::{
    Condition as Cond, ConditionGroup, FILTER_GROUPS, FilterDefinition, FilterForm, FilterListItem,
    FilterLivePreview, FilterPreview, FilterVerdict, FilterView, Match, ROWS_PER_GROUP, Role,
    TeamRef, UserQuery, filter_fields, op_label,
};

const SCOPE_USER: &str = "user";
const PREVIEW_ROWS: u32 = 20;
const LIVE_PREVIEW_ROWS: u32 = 5;

fn parse_match(v: &str) -> Match {
    if v.trim() == "any" {
        Match::Any
    } else {
        Match::All
    }
}

/// Checks one condition row; returns it in canonical form (team values become team ids).
fn parse_condition(field: &str, op: &str, value: &str, teams: &[TeamRef]) -> Result<Cond, String> {
    let (_, label, ops) = filter_fields()
        .iter()
        .find(|(key, _, _)| *key == field)
        .ok_or_else(|| format!("unknown field \"{field}\""))?;
    // "is" and "is not" mean the same whichever group of the operator menu they came from.
    let op = match (op, *ops) {
        ("equals" | "eq", o) if o.contains(&"is") => "is",
        ("not_equals" | "ne", o) if o.contains(&"is_not") => "is_not",
        ("equals" | "is", o) if o.contains(&"eq") => "eq",
        ("not_equals" | "is_not", o) if o.contains(&"ne") => "ne",
        ("is" | "eq", o) if o.contains(&"equals") => "equals",
        ("is_not" | "ne", o) if o.contains(&"not_equals") => "not_equals",
        (other, _) => other,
    };
    if !ops.contains(&op) {
        return Err(format!(
            "\"{}\" does not apply to {}",
            op_label(op),
            label.to_lowercase()
        ));
    }
    let value = value.trim();
    let needs_value = !matches!(op, "is_empty" | "is_not_empty");
    if needs_value && value.is_empty() {
        return Err(format!("{} {} needs a value", label, op_label(op)));
    }
    if value.chars().count() > 200 {
        return Err("the value must be at most 200 characters".into());
    }
    let value = match field {
        "team" => teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(value) || t.id.to_string() == value)
            .map(|t| t.id.to_string())
            .ok_or_else(|| format!("there is no team \"{value}\""))?,
        "role" => Role::parse(value)?.key().to_string(),
        "score" => value
            .parse::<i32>()
            .map_err(|_| format!("score needs a whole number, not \"{value}\""))?
            .to_string(),
        "created_at" if op == "within_days" => value
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=36_500).contains(d))
            .ok_or_else(|| format!("a number of days from 1 to 36500, not \"{value}\""))?
            .to_string(),
        "created_at" => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| format!("a date as YYYY-MM-DD, not \"{value}\""))?
            .to_string(),
        _ if needs_value => value.to_string(),
        _ => String::new(),
    };
    Ok(Cond {
        field: field.to_string(),
        op: op.to_string(),
        value,
    })
}

#[derive(Debug)]
struct ParsedFilter {
    name: String,
    description: String,
    definition: FilterDefinition,
}

fn parse_form(form: &FilterForm, teams: &[TeamRef]) -> Result<ParsedFilter, AppError> {
    let mut errors = FieldErrors::new();
    let name = form.name.trim();
    if name.is_empty() {
        errors.push("name", "is required");
    } else if name.chars().count() > 100 {
        errors.push("name", "must be at most 100 characters");
    }
    if form.description.trim().chars().count() > 1000 {
        errors.push("description", "must be at most 1000 characters");
    }
    if form.rows.len() > FILTER_GROUPS * ROWS_PER_GROUP {
        errors.push(
            "rows",
            format!("at most {} conditions", FILTER_GROUPS * ROWS_PER_GROUP),
        );
    }
    let mut groups: Vec<ConditionGroup> = (0..FILTER_GROUPS)
        .map(|g| ConditionGroup {
            match_: parse_match(form.group_match.get(g).map(String::as_str).unwrap_or("all")),
            conditions: Vec::new(),
        })
        .collect();
    let mut rows: Vec<(usize, &crate::types::FilterRowForm)> = form
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.slot.trim().parse().unwrap_or(i), row))
        .collect();
    rows.sort_by_key(|(slot, _)| *slot);
    for (slot, row) in rows {
        if row.field.trim().is_empty() {
            continue;
        }
        if slot >= FILTER_GROUPS * ROWS_PER_GROUP {
            errors.push(&format!("rows.{slot}"), "there is no such row");
            continue;
        }
        match parse_condition(row.field.trim(), row.op.trim(), &row.value, teams) {
            Ok(c) => groups[slot / ROWS_PER_GROUP].conditions.push(c),
            Err(message) => errors.push(&format!("rows.{slot}"), message),
        }
    }
    groups.retain(|g| !g.conditions.is_empty());
    if groups.is_empty() && errors.is_empty() {
        errors.push("rows", "add at least one condition");
    }
    errors.into_result()?;
    Ok(ParsedFilter {
        name: name.to_string(),
        description: form.description.trim().to_string(),
        definition: FilterDefinition {
            match_: parse_match(&form.combine),
            groups,
        },
    })
}

fn escape_like(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `column` holds `needle`, whatever the case (on both backends), `%` and `_` taken literally.
pub(crate) fn contains_ignoring_case(
    column: impl sea_orm::ColumnTrait,
    needle: &str,
) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(column)))
        .like(LikeExpr::new(format!("%{}%", escape_like(&needle.to_lowercase()))).escape('\\'))
}

fn text_expr(column: user::Column, op: &str, value: &str) -> SimpleExpr {
    let lowered = Expr::expr(Func::lower(Expr::col(column)));
    let v = value.to_lowercase();
    let like = |pattern: String| LikeExpr::new(pattern).escape('\\');
    match op {
        "equals" => lowered.eq(v),
        "not_equals" => lowered.ne(v),
        "contains" => contains_ignoring_case(column, value),
        "not_contains" => lowered.not_like(like(format!("%{}%", escape_like(&v)))),
        "starts_with" => lowered.like(like(format!("{}%", escape_like(&v)))),
        "ends_with" => lowered.like(like(format!("%{}", escape_like(&v)))),
        "is_empty" => Expr::col(column).eq(""),
        _ => Expr::col(column).ne(""),
    }
}

fn condition_expr(c: &Cond) -> Result<SimpleExpr, AppError> {
    let bad = || AppError::internal(format!("stored filter condition is invalid: {c:?}"));
    Ok(match c.field.as_str() {
        "email" => text_expr(user::Column::Email, &c.op, &c.value),
        "first_name" => text_expr(user::Column::FirstName, &c.op, &c.value),
        "last_name" => text_expr(user::Column::LastName, &c.op, &c.value),
        "team" => {
            let team_id: i32 = c.value.parse().map_err(|_| bad())?;
            let members = Query::select()
                .column(team_membership::Column::UserId)
                .from(team_membership::Entity)
                .and_where(team_membership::Column::TeamId.eq(team_id))
                .to_owned();
            if c.op == "is" {
                user::Column::Id.in_subquery(members)
            } else {
                user::Column::Id.not_in_subquery(members)
            }
        }
        "role" if c.op == "is" => user::Column::Role.eq(c.value.clone()),
        "role" => user::Column::Role.ne(c.value.clone()),
        "score" => {
            let n: i32 = c.value.parse().map_err(|_| bad())?;
            match c.op.as_str() {
                "eq" => user::Column::Score.eq(n),
                "ne" => user::Column::Score.ne(n),
                "gt" => user::Column::Score.gt(n),
                "gte" => user::Column::Score.gte(n),
                "lt" => user::Column::Score.lt(n),
                _ => user::Column::Score.lte(n),
            }
        }
        "created_at" if c.op == "within_days" => {
            let days: i64 = c.value.parse().map_err(|_| bad())?;
            user::Column::CreatedAt.gte(Utc::now() - ChronoDuration::days(days))
        }
        "created_at" => {
            let day = NaiveDate::parse_from_str(&c.value, "%Y-%m-%d").map_err(|_| bad())?;
            let start = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).ok_or_else(bad)?);
            if c.op == "before" {
                user::Column::CreatedAt.lt(start)
            } else {
                user::Column::CreatedAt.gte(start + ChronoDuration::days(1))
            }
        }
        _ => return Err(bad()),
    })
}

/// The SQL condition of a definition: the one place a filter's meaning is decided.
pub fn to_condition(def: &FilterDefinition) -> Result<Condition, AppError> {
    let combine = |m: Match| {
        if m == Match::All {
            Condition::all()
        } else {
            Condition::any()
        }
    };
    let mut top = combine(def.match_);
    for group in &def.groups {
        let mut g = combine(group.match_);
        for c in &group.conditions {
            g = g.add(condition_expr(c)?);
        }
        top = top.add(g);
    }
    Ok(top)
}

/// One condition in words, e.g. `team is Customers` or `email contains "@example.com"`.
fn describe_condition(c: &Cond, teams: &[TeamRef]) -> String {
    let label = filter_fields()
        .iter()
        .find(|(k, _, _)| *k == c.field)
        .map(|(_, l, _)| l.to_lowercase())
        .unwrap_or_else(|| c.field.clone());
    let value = match c.field.as_str() {
        "team" => teams
            .iter()
            .find(|t| t.id.to_string() == c.value)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| "(deleted team)".into()),
        "role" => Role::parse(&c.value)
            .map(|r| r.label().to_string())
            .unwrap_or_default(),
        _ => c.value.clone(),
    };
    let value = match c.op.as_str() {
        "is_empty" | "is_not_empty" => String::new(),
        "within_days" => format!(" ({value} days)"),
        _ if matches!(c.field.as_str(), "email" | "first_name" | "last_name") => {
            format!(" \"{value}\"")
        }
        _ => format!(" {value}"),
    };
    format!("{label} {}{value}", op_label(&c.op))
}

fn summarise(def: &FilterDefinition, teams: &[TeamRef]) -> String {
    let words = |m: Match| if m == Match::All { " and " } else { " or " };
    let groups: Vec<String> = def
        .groups
        .iter()
        .map(|g| {
            g.conditions
                .iter()
                .map(|c| describe_condition(c, teams))
                .collect::<Vec<_>>()
                .join(words(g.match_))
        })
        .collect();
    if groups.len() == 1 {
        groups.into_iter().next().unwrap_or_default()
    } else {
        groups
            .iter()
            .map(|g| format!("({g})"))
            .collect::<Vec<_>>()
            .join(words(def.match_))
    }
}

fn definition_of(m: &filter::Model) -> Result<FilterDefinition, AppError> {
    serde_json::from_str(&m.definition).map_err(AppError::internal)
}

fn view(m: filter::Model, teams: &[TeamRef]) -> Result<FilterView, AppError> {
    let definition = definition_of(&m)?;
    Ok(FilterView {
        summary: summarise(&definition, teams),
        id: m.id,
        name: m.name,
        description: m.description,
        definition,
    })
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<filter::Model, AppError> {
    filter::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|f| f.scope == SCOPE_USER)
        .ok_or_else(|| AppError::NotFound(format!("filter {id}")))
}

/// How many users pass the definition.
pub async fn count_matching(
    db: &impl ConnectionTrait,
    def: &FilterDefinition,
) -> Result<u64, AppError> {
    Ok(user::Entity::find()
        .filter(to_condition(def)?)
        .count(db)
        .await?)
}

/// Whether one user passes the saved filter.
pub async fn user_matches(
    db: &impl ConnectionTrait,
    filter_id: i32,
    user_id: i32,
) -> Result<bool, AppError> {
    let def = definition(db, filter_id).await?;
    Ok(user::Entity::find()
        .filter(to_condition(&def)?)
        .filter(user::Column::Id.eq(user_id))
        .count(db)
        .await?
        > 0)
}

/// A saved filter's definition.
pub async fn definition(
    db: &impl ConnectionTrait,
    filter_id: i32,
) -> Result<FilterDefinition, AppError> {
    definition_of(&find(db, filter_id).await?)
}

/// Why one user passes a saved filter or not: the verdict, and each condition with its own.
pub async fn explain(
    db: &impl ConnectionTrait,
    filter_id: i32,
    user_id: i32,
) -> Result<FilterVerdict, AppError> {
    let m = find(db, filter_id).await?;
    let def = definition_of(&m)?;
    let teams = teams::refs(db).await?;
    let passes = |cond: Condition| async move {
        Ok::<_, AppError>(
            user::Entity::find()
                .filter(cond)
                .filter(user::Column::Id.eq(user_id))
                .count(db)
                .await?
                > 0,
        )
    };
    let mut conditions = Vec::new();
    for group in &def.groups {
        for c in &group.conditions {
            conditions.push((
                describe_condition(c, &teams),
                passes(Condition::all().add(condition_expr(c)?)).await?,
            ));
        }
    }
    Ok(FilterVerdict {
        name: m.name,
        summary: summarise(&def, &teams),
        passes: passes(to_condition(&def)?).await?,
        conditions,
    })
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<FilterListItem>, AppError> {
    let teams = teams::refs(db).await?;
    let mut out = Vec::new();
    for m in filter::Entity::find()
        .filter(filter::Column::Scope.eq(SCOPE_USER))
        .order_by_asc(filter::Column::Name)
        .all(db)
        .await?
    {
        let filter = view(m, &teams)?;
        let matching = count_matching(db, &filter.definition).await?;
        out.push(FilterListItem { filter, matching });
    }
    Ok(out)
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<FilterView, AppError> {
    let teams = teams::refs(db).await?;
    view(find(db, id).await?, &teams)
}

/// The saved filter with its count and the first matching users.
pub async fn preview(db: &impl ConnectionTrait, id: i32) -> Result<FilterPreview, AppError> {
    let filter = get(db, id).await?;
    let page = users::page_where(
        db,
        Some(to_condition(&filter.definition)?),
        &UserQuery::default(),
        PREVIEW_ROWS,
    )
    .await?;
    Ok(FilterPreview {
        filter,
        matching: page.total,
        sample: page.rows,
    })
}

/// The live preview of the filter editor: how many users the conditions on the form select
/// now, and the first few, before anything is saved. The name is not needed for that.
pub async fn preview_form(
    db: &impl ConnectionTrait,
    form: &FilterForm,
) -> Result<FilterLivePreview, AppError> {
    let teams = teams::refs(db).await?;
    let mut form = form.clone();
    if form.name.trim().is_empty() {
        form.name = "preview".into();
    }
    let parsed = parse_form(&form, &teams)?;
    let page = users::page_where(
        db,
        Some(to_condition(&parsed.definition)?),
        &UserQuery::default(),
        LIVE_PREVIEW_ROWS,
    )
    .await?;
    Ok(FilterLivePreview {
        summary: summarise(&parsed.definition, &teams),
        matching: page.total,
        first: page
            .rows
            .into_iter()
            .map(|u| format!("{} {}", u.first_name, u.last_name))
            .collect(),
    })
}

async fn name_taken(
    db: &impl ConnectionTrait,
    name: &str,
    except: Option<i32>,
) -> Result<bool, AppError> {
    let mut q = filter::Entity::find().filter(filter::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(filter::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// Creates (empty `form.id`) or updates a filter; returns its id.
#[tracing::instrument(skip(db, actor, form), fields(actor = %actor.label))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &FilterForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let teams = teams::refs(db).await?;
    let parsed = parse_form(form, &teams)?;
    if name_taken(db, &parsed.name, existing.as_ref().map(|f| f.id)).await? {
        return Err(AppError::field("name", "another filter has this name"));
    }
    let definition = serde_json::to_string(&parsed.definition).map_err(AppError::internal)?;
    let summary = summarise(&parsed.definition, &teams);
    let now = Utc::now();
    let txn = db.begin().await?;
    let (id, action) = match existing {
        Some(m) => {
            let mut active = m.into_active_model();
            active.name = Set(parsed.name.clone());
            active.description = Set(parsed.description);
            active.definition = Set(definition);
            active.updated_at = Set(now);
            (active.update(&txn).await?.id, "filter.updated")
        }
        None => {
            let created = filter::ActiveModel {
                name: Set(parsed.name.clone()),
                description: Set(parsed.description),
                scope: Set(SCOPE_USER.into()),
                definition: Set(definition),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            (created.id, "filter.created")
        }
    };
    audit::record(&txn, actor, action, &parsed.name, &summary).await?;
    txn.commit().await?;
    crate::server::cache::changed();
    Ok(id)
}

#[tracing::instrument(skip(db, actor), fields(actor = %actor.label))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id_input: &str,
    confirmed: bool,
) -> Result<(), AppError> {
    let id = super::confirmed_deletion(id_input, confirmed)?;
    let existing = find(db, id).await?;
    super::listeners::refuse_if_used(
        db,
        crate::server::entities::listener::Column::FilterId,
        id,
        "filter",
    )
    .await?;
    let txn = db.begin().await?;
    filter::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(&txn, actor, "filter.deleted", &existing.name, "").await?;
    txn.commit().await?;
    crate::server::cache::changed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn teams() -> Vec<TeamRef> {
        vec![TeamRef {
            id: 4,
            name: "Customers".into(),
        }]
    }

    fn row(field: &str, op: &str, value: &str) -> crate::types::FilterRowForm {
        crate::types::FilterRowForm {
            slot: String::new(),
            field: field.into(),
            op: op.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_form_becomes_a_definition_with_team_ids() {
        let mut rows = vec![row("team", "is", "customers"), row("score", "gte", "10")];
        rows.resize(ROWS_PER_GROUP, Default::default());
        rows.push(row("role", "is", "project manager"));
        let form = FilterForm {
            name: "Loyal".into(),
            combine: "any".into(),
            rows,
            ..Default::default()
        };
        let p = parse_form(&form, &teams()).unwrap();
        assert_eq!(p.definition.match_, Match::Any);
        assert_eq!(p.definition.groups.len(), 2);
        assert_eq!(p.definition.groups[0].conditions[0].value, "4");
        assert_eq!(
            p.definition.groups[1].conditions[0].value,
            "project_manager"
        );
        assert_eq!(
            summarise(&p.definition, &teams()),
            "(team is Customers and score ≥ 10) or (role is Project manager)"
        );
    }

    #[test]
    fn bad_rows_are_named() {
        let form = FilterForm {
            name: "".into(),
            rows: vec![
                row("score", "contains", "x"),
                row("team", "is", "Nobody"),
                row("created_at", "before", "yesterday"),
            ],
            ..Default::default()
        };
        let err = parse_form(&form, &teams()).unwrap_err();
        for field in ["name", "rows.0", "rows.1", "rows.2"] {
            assert!(err.field_message(field).is_some(), "{field}: {err:?}");
        }
        let empty = FilterForm {
            name: "x".into(),
            ..Default::default()
        };
        assert!(
            parse_form(&empty, &teams())
                .unwrap_err()
                .field_message("rows")
                .is_some()
        );
    }

    #[test]
    fn equal_operators_are_interchangeable() {
        let c = parse_condition("team", "equals", "Customers", &teams()).unwrap();
        assert_eq!((c.op.as_str(), c.value.as_str()), ("is", "4"));
        assert_eq!(
            parse_condition("score", "is", "3", &teams()).unwrap().op,
            "eq"
        );
        assert_eq!(
            parse_condition("email", "ne", "a@b.c", &teams())
                .unwrap()
                .op,
            "not_equals"
        );
        assert!(parse_condition("score", "contains", "3", &teams()).is_err());
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}
