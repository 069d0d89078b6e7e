//! Saved filters: conditions (field, operator, value) in AND/OR groups, over users or over
//! feedback tickets. One compiler per scope turns a definition into SQL, used for the list
//! counts, the previews, bulk runs, automation and the check whether one user or ticket passes
//! (listeners).

use std::collections::HashMap;

use chrono::{Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    Set,
};

use super::{Actor, audit, teams, users};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::entities::{
    data_field, data_group, data_value, feedback_field, feedback_status, feedback_type, filter,
    project, team_membership, ticket, user,
};
use crate::types::{
    Condition as Cond, ConditionGroup, FILTER_GROUPS, FilterCatalogue, FilterDefinition,
    FilterField, FilterForm, FilterListItem, FilterLivePreview, FilterPreview, FilterVerdict,
    FilterView, Match, ROWS_PER_GROUP, Role, TeamRef, UserQuery, filter_ops, op_label,
};

pub const SCOPE_USER: &str = "user";
pub const SCOPE_FEEDBACK: &str = "feedback";
const PREVIEW_ROWS: u32 = 20;
const LIVE_PREVIEW_ROWS: u32 = 5;

fn parse_match(v: &str) -> Match {
    if v.trim() == "any" {
        Match::Any
    } else {
        Match::All
    }
}

/// "user" or "feedback" from a form (anything else is a user filter).
pub fn parse_scope(raw: &str) -> &'static str {
    if raw.trim() == SCOPE_FEEDBACK {
        SCOPE_FEEDBACK
    } else {
        SCOPE_USER
    }
}

fn field(key: &str, label: &str, kind: &str) -> FilterField {
    FilterField {
        key: key.into(),
        label: label.into(),
        kind: kind.into(),
        choices: Vec::new(),
    }
}

/// The fields a filter of `scope` can test, with what their values may be: the fixed ones,
/// then (feedback) the custom fields of every form and the external data fields of the scope.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub scope: &'static str,
    pub fields: Vec<FilterField>,
    pub teams: Vec<TeamRef>,
    pub projects: Vec<(i32, String)>,
}

impl Catalogue {
    fn field(&self, key: &str) -> Option<&FilterField> {
        self.fields.iter().find(|f| f.key == key)
    }

    pub fn view(&self) -> FilterCatalogue {
        FilterCatalogue {
            scope: self.scope.to_string(),
            fields: self.fields.clone(),
        }
    }
}

/// The catalogue of `scope`, read from the database.
pub async fn catalogue(db: &impl ConnectionTrait, scope: &str) -> Result<Catalogue, AppError> {
    let scope = parse_scope(scope);
    let teams = teams::refs(db).await?;
    let team_names: Vec<(String, String)> = teams
        .iter()
        .map(|t| (t.id.to_string(), t.name.clone()))
        .collect();
    let mut fields = Vec::new();
    let mut projects: Vec<(i32, String)> = Vec::new();
    if scope == SCOPE_USER {
        fields.extend([
            field("email", "Email", "text"),
            field("first_name", "First name", "text"),
            field("last_name", "Last name", "text"),
            FilterField {
                choices: team_names,
                ..field("team", "Team", "choice")
            },
            FilterField {
                choices: Role::ALL
                    .iter()
                    .map(|r| (r.key().to_string(), r.label().to_string()))
                    .collect(),
                ..field("role", "Role", "choice")
            },
            field("score", "Score", "number"),
            field("created_at", "Joined", "date"),
        ]);
    } else {
        projects = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .column(project::Column::Name)
            .order_by_asc(project::Column::Name)
            .into_tuple()
            .all(db)
            .await?;
        let distinct = |mut v: Vec<String>| {
            v.sort_by_key(|s| s.to_lowercase());
            v.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
            v.into_iter()
                .map(|n| (n.to_lowercase(), n))
                .collect::<Vec<_>>()
        };
        let type_names: Vec<String> = feedback_type::Entity::find()
            .select_only()
            .column(feedback_type::Column::Name)
            .into_tuple()
            .all(db)
            .await?;
        let status_names: Vec<String> = feedback_status::Entity::find()
            .select_only()
            .column(feedback_status::Column::Name)
            .into_tuple()
            .all(db)
            .await?;
        fields.extend([
            FilterField {
                choices: projects
                    .iter()
                    .map(|(id, n)| (id.to_string(), n.clone()))
                    .collect(),
                ..field("project", "Project", "choice")
            },
            FilterField {
                choices: distinct(type_names),
                ..field("type", "Feedback type", "choice")
            },
            FilterField {
                choices: distinct(status_names),
                ..field("status", "Status", "choice")
            },
            FilterField {
                choices: team_names,
                ..field("team", "Team", "choice")
            },
            field("title", "Title", "text"),
            field("author", "Submitter's email", "text"),
            FilterField {
                choices: vec![
                    ("public".into(), "public".into()),
                    ("private".into(), "private".into()),
                ],
                ..field("visibility", "Visibility", "choice")
            },
            field("popularity", "Popularity", "number"),
            field("created_at", "Submitted", "date"),
            field("updated_at", "Last modified", "date"),
        ]);
        let mut custom: Vec<feedback_field::Model> = feedback_field::Entity::find()
            .order_by_asc(feedback_field::Column::Key)
            .all(db)
            .await?;
        custom.dedup_by(|a, b| a.key == b.key && a.kind == b.kind);
        for f in custom {
            let kind = match f.kind.as_str() {
                "number" => "number",
                "date" => "date",
                "boolean" => "yesno",
                _ => "text",
            };
            let choices = serde_json::from_str::<Vec<String>>(&f.choices)
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.clone(), c))
                .collect();
            fields.push(FilterField {
                key: format!("field:{kind}:{}", f.key),
                label: format!("Form: {}", f.label),
                kind: kind.into(),
                choices,
            });
        }
    }
    let groups = data_group::Entity::find()
        .filter(data_group::Column::Scope.eq(scope))
        .order_by_asc(data_group::Column::Name)
        .all(db)
        .await?;
    for g in groups {
        for f in data_field::Entity::find()
            .filter(data_field::Column::GroupId.eq(g.id))
            .order_by_asc(data_field::Column::Position)
            .all(db)
            .await?
        {
            let kind = match f.kind.as_str() {
                "integer" => "number",
                "datetime" => "date",
                "boolean" => "yesno",
                _ => "text",
            };
            fields.push(field(
                &format!("data:{}:{}", f.kind, f.id),
                &format!("{} · {}", g.name, f.label),
                kind,
            ));
        }
    }
    Ok(Catalogue {
        scope,
        fields,
        teams,
        projects,
    })
}

/// Checks one condition row; returns it in canonical form (teams and projects become ids,
/// type and status names lower case, yes/no becomes true/false).
fn parse_condition(field: &str, op: &str, value: &str, cat: &Catalogue) -> Result<Cond, String> {
    let f = cat
        .field(field)
        .ok_or_else(|| format!("unknown field \"{field}\""))?;
    let ops = filter_ops(&f.kind);
    let label = f.label.as_str();
    // "is" and "is not" mean the same whichever group of the operator menu they came from.
    let op = match (op, ops) {
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
    let named = |list: &[(String, String)], what: &str| {
        list.iter()
            .find(|(v, n)| n.eq_ignore_ascii_case(value) || v.eq_ignore_ascii_case(value))
            .map(|(v, _)| v.clone())
            .ok_or_else(|| format!("there is no {what} \"{value}\""))
    };
    let value = match (field, f.kind.as_str()) {
        ("team", _) => cat
            .teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(value) || t.id.to_string() == value)
            .map(|t| t.id.to_string())
            .ok_or_else(|| format!("there is no team \"{value}\""))?,
        ("project", _) => cat
            .projects
            .iter()
            .find(|(id, n)| n.eq_ignore_ascii_case(value) || id.to_string() == value)
            .map(|(id, _)| id.to_string())
            .ok_or_else(|| format!("there is no project \"{value}\""))?,
        ("type", _) => named(&f.choices, "feedback type")?,
        ("status", _) => named(&f.choices, "status")?,
        ("visibility", _) => named(&f.choices, "visibility")?,
        ("role", _) => Role::parse(value)?.key().to_string(),
        // Scores, popularity and Integer data hold whole numbers; form fields any number.
        (_, "number")
            if field.starts_with("data:") || field == "score" || field == "popularity" =>
        {
            value
                .parse::<i64>()
                .map_err(|_| format!("{label} needs a whole number, not \"{value}\""))?
                .to_string()
        }
        (_, "number") => value
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("{label} needs a number, not \"{value}\""))?
            .to_string(),
        (_, "date") if op == "within_days" => value
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=36_500).contains(d))
            .ok_or_else(|| format!("a number of days from 1 to 36500, not \"{value}\""))?
            .to_string(),
        (_, "date") => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| format!("a date as YYYY-MM-DD, not \"{value}\""))?
            .to_string(),
        (_, "yesno") => match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" | "on" => "true".into(),
            "no" | "false" | "0" | "off" => "false".into(),
            _ => return Err(format!("{label} is yes or no, not \"{value}\"")),
        },
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

fn parse_form(form: &FilterForm, cat: &Catalogue) -> Result<ParsedFilter, AppError> {
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
        match parse_condition(row.field.trim(), row.op.trim(), &row.value, cat) {
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

/// A text test on any expression (a column, a JSON value), ignoring case. Empty means empty
/// or absent.
fn text_test(subject: SimpleExpr, op: &str, value: &str) -> SimpleExpr {
    let lowered = Expr::expr(Func::lower(subject.clone()));
    let v = value.to_lowercase();
    let like = |pattern: String| LikeExpr::new(pattern).escape('\\');
    match op {
        "equals" => lowered.eq(v),
        "not_equals" => lowered.clone().ne(v).or(subject.is_null()),
        "contains" => lowered.like(like(format!("%{}%", escape_like(&v)))),
        "not_contains" => lowered
            .clone()
            .not_like(like(format!("%{}%", escape_like(&v))))
            .or(subject.is_null()),
        "starts_with" => lowered.like(like(format!("{}%", escape_like(&v)))),
        "ends_with" => lowered.like(like(format!("%{}", escape_like(&v)))),
        "is_empty" => subject.clone().eq("").or(subject.is_null()),
        _ => subject.clone().ne("").and(subject.is_not_null()),
    }
}

fn number_test(subject: SimpleExpr, op: &str, n: f64) -> SimpleExpr {
    match op {
        "eq" => subject.eq(n),
        "ne" => subject.clone().ne(n).or(subject.is_null()),
        "gt" => subject.gt(n),
        "gte" => subject.gte(n),
        "lt" => subject.lt(n),
        _ => subject.lte(n),
    }
}

/// Dates as stored timestamps: before the day, after the day, or within the last days.
fn date_test(subject: SimpleExpr, op: &str, value: &str) -> Result<SimpleExpr, ()> {
    if op == "within_days" {
        let days: i64 = value.parse().map_err(|_| ())?;
        return Ok(subject.gte(Utc::now() - ChronoDuration::days(days)));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| ())?;
    let start = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).ok_or(())?);
    Ok(if op == "before" {
        subject.lt(start)
    } else {
        subject.gte(start + ChronoDuration::days(1))
    })
}

/// `data:<kind>:<id>` conditions: the subject (user or ticket) has a value of the field that
/// passes (negative operators: has none that fails).
fn data_expr(
    c: &Cond,
    kind: &str,
    field_id: i32,
    subject_id: SimpleExpr,
    owner: data_value::Column,
) -> Result<SimpleExpr, ()> {
    let (negate, test) = match kind {
        "integer" => {
            let n: f64 = c.value.parse().map_err(|_| ())?;
            let col = Expr::col(data_value::Column::ValueInteger);
            match c.op.as_str() {
                "ne" => (true, number_test(col, "eq", n)),
                op => (false, number_test(col, op, n)),
            }
        }
        "datetime" => (
            false,
            date_test(
                Expr::col(data_value::Column::ValueDatetime),
                &c.op,
                &c.value,
            )?,
        ),
        "boolean" => (
            c.op == "is_not",
            Expr::col(data_value::Column::ValueBoolean).eq(c.value == "true"),
        ),
        _ => {
            let col: SimpleExpr = Expr::col(data_value::Column::ValueString);
            match c.op.as_str() {
                "not_equals" => (true, text_test(col, "equals", &c.value)),
                "not_contains" => (true, text_test(col, "contains", &c.value)),
                "is_empty" => (true, text_test(col, "is_not_empty", "")),
                op => (false, text_test(col, op, &c.value)),
            }
        }
    };
    let holders = Query::select()
        .column(owner)
        .from(data_value::Entity)
        .and_where(data_value::Column::FieldId.eq(field_id))
        .and_where(Expr::col(owner).is_not_null())
        .and_where(test)
        .to_owned();
    Ok(if negate {
        subject_id.not_in_subquery(holders)
    } else {
        subject_id.in_subquery(holders)
    })
}

/// Splits `data:<kind>:<id>` or `field:<kind>:<key>`.
fn dynamic_key<'a>(key: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    key.strip_prefix(prefix)?.split_once(':')
}

fn user_condition_expr(c: &Cond) -> Result<SimpleExpr, AppError> {
    let bad = || AppError::internal(format!("stored filter condition is invalid: {c:?}"));
    if let Some((kind, id)) = dynamic_key(&c.field, "data:") {
        let id: i32 = id.parse().map_err(|_| bad())?;
        return data_expr(
            c,
            kind,
            id,
            Expr::col((user::Entity, user::Column::Id)),
            data_value::Column::UserId,
        )
        .map_err(|_| bad());
    }
    let text = |col: user::Column| text_test(Expr::col(col), &c.op, &c.value);
    Ok(match c.field.as_str() {
        "email" => text(user::Column::Email),
        "first_name" => text(user::Column::FirstName),
        "last_name" => text(user::Column::LastName),
        "team" => {
            let team_id: i32 = c.value.parse().map_err(|_| bad())?;
            // A probe of the membership's key per user, not the team's member list built
            // first: a listener call looks at one user (or a batch of them) at a time.
            let membership = Query::select()
                .expr(Expr::val(1))
                .from(team_membership::Entity)
                .and_where(
                    Expr::col((team_membership::Entity, team_membership::Column::UserId))
                        .equals((user::Entity, user::Column::Id)),
                )
                .and_where(
                    Expr::col((team_membership::Entity, team_membership::Column::TeamId))
                        .eq(team_id),
                )
                .to_owned();
            if c.op == "is" {
                Expr::exists(membership)
            } else {
                Expr::exists(membership).not()
            }
        }
        "role" if c.op == "is" => user::Column::Role.eq(c.value.clone()),
        "role" => user::Column::Role.ne(c.value.clone()),
        "score" => {
            let n: f64 = c.value.parse().map_err(|_| bad())?;
            number_test(Expr::col(user::Column::Score), &c.op, n)
        }
        "created_at" => {
            date_test(Expr::col(user::Column::CreatedAt), &c.op, &c.value).map_err(|_| bad())?
        }
        _ => return Err(bad()),
    })
}

/// A custom form field's value inside the ticket's JSON, per backend (None when the ticket's
/// form has no such value, or it is not of the kind the condition expects).
fn json_value(backend: DatabaseBackend, kind: &str, key: &str) -> SimpleExpr {
    let path = format!("$.{key}");
    match (backend, kind) {
        (DatabaseBackend::Postgres, "number") => Expr::cust_with_values(
            "(CASE WHEN jsonb_typeof(\"tickets\".\"field_values\"::jsonb -> $1) = 'number' THEN (\"tickets\".\"field_values\"::jsonb ->> $2)::double precision END)",
            [key, key],
        ),
        (DatabaseBackend::Postgres, "yesno") => Expr::cust_with_values(
            "(CASE WHEN jsonb_typeof(\"tickets\".\"field_values\"::jsonb -> $1) = 'boolean' THEN (\"tickets\".\"field_values\"::jsonb ->> $2) END)",
            [key, key],
        ),
        (DatabaseBackend::Postgres, _) => {
            Expr::cust_with_values("(\"tickets\".\"field_values\"::jsonb ->> $1)", [key])
        }
        (_, "number") => Expr::cust_with_values(
            "(CASE WHEN json_type(\"tickets\".\"field_values\", ?) IN ('integer', 'real') THEN json_extract(\"tickets\".\"field_values\", ?) END)",
            [path.clone(), path],
        ),
        (_, "yesno") => Expr::cust_with_values(
            "(CASE json_type(\"tickets\".\"field_values\", ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END)",
            [path],
        ),
        _ => Expr::cust_with_values(
            "CAST(json_extract(\"tickets\".\"field_values\", ?) AS TEXT)",
            [path],
        ),
    }
}

fn ticket_condition_expr(c: &Cond, backend: DatabaseBackend) -> Result<SimpleExpr, AppError> {
    let bad = || AppError::internal(format!("stored filter condition is invalid: {c:?}"));
    if let Some((kind, id)) = dynamic_key(&c.field, "data:") {
        let id: i32 = id.parse().map_err(|_| bad())?;
        return data_expr(
            c,
            kind,
            id,
            Expr::col((ticket::Entity, ticket::Column::Id)),
            data_value::Column::TicketId,
        )
        .map_err(|_| bad());
    }
    if let Some((kind, key)) = dynamic_key(&c.field, "field:") {
        if !key
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            return Err(bad());
        }
        let v = json_value(backend, kind, key);
        return Ok(match kind {
            "number" => number_test(v, &c.op, c.value.parse().map_err(|_| bad())?),
            "yesno" if c.op == "is" => v.eq(c.value.clone()),
            "yesno" => v.clone().ne(c.value.clone()).or(v.is_null()),
            // Dates are stored as YYYY-MM-DD text: compared as text.
            "date" if c.op == "within_days" => {
                let days: i64 = c.value.parse().map_err(|_| bad())?;
                let from = (Utc::now() - ChronoDuration::days(days))
                    .date_naive()
                    .to_string();
                v.gte(from)
            }
            "date" if c.op == "before" => v.lt(c.value.clone()),
            "date" => v.gt(c.value.clone()),
            _ => text_test(v, &c.op, &c.value),
        });
    }
    let by_name = |ids: sea_orm::sea_query::SelectStatement, col: ticket::Column| {
        if c.op == "is" {
            col.in_subquery(ids)
        } else {
            col.not_in_subquery(ids)
        }
    };
    Ok(match c.field.as_str() {
        "project" | "team" => {
            let id: i32 = c.value.parse().map_err(|_| bad())?;
            let col = if c.field == "project" {
                ticket::Column::ProjectId
            } else {
                ticket::Column::TeamId
            };
            if c.op == "is" {
                col.eq(id)
            } else {
                col.ne(id).or(col.is_null())
            }
        }
        "type" => by_name(
            Query::select()
                .column(feedback_type::Column::Id)
                .from(feedback_type::Entity)
                .and_where(
                    Expr::expr(Func::lower(Expr::col(feedback_type::Column::Name)))
                        .eq(c.value.clone()),
                )
                .to_owned(),
            ticket::Column::FeedbackTypeId,
        ),
        "status" => by_name(
            Query::select()
                .column(feedback_status::Column::Id)
                .from(feedback_status::Entity)
                .and_where(
                    Expr::expr(Func::lower(Expr::col(feedback_status::Column::Name)))
                        .eq(c.value.clone()),
                )
                .to_owned(),
            ticket::Column::StatusId,
        ),
        "visibility" if c.op == "is" => ticket::Column::Visibility.eq(c.value.clone()),
        "visibility" => ticket::Column::Visibility.ne(c.value.clone()),
        "title" => text_test(
            Expr::col((ticket::Entity, ticket::Column::Title)),
            &c.op,
            &c.value,
        ),
        "author" => {
            // The submitter's email; a ticket of a removed user has none.
            let positive = match c.op.as_str() {
                "not_equals" => Some("equals"),
                "not_contains" => Some("contains"),
                "is_empty" => Some("is_not_empty"),
                _ => None,
            };
            let op = positive.unwrap_or(&c.op);
            let authors = Query::select()
                .column(user::Column::Id)
                .from(user::Entity)
                .and_where(text_test(
                    Expr::col((user::Entity, user::Column::Email)),
                    op,
                    &c.value,
                ))
                .to_owned();
            if positive.is_some() {
                ticket::Column::AuthorUserId
                    .not_in_subquery(authors)
                    .or(ticket::Column::AuthorUserId.is_null())
            } else {
                ticket::Column::AuthorUserId.in_subquery(authors)
            }
        }
        "popularity" => number_test(
            Expr::col(ticket::Column::Popularity),
            &c.op,
            c.value.parse().map_err(|_| bad())?,
        ),
        "created_at" => {
            date_test(Expr::col(ticket::Column::CreatedAt), &c.op, &c.value).map_err(|_| bad())?
        }
        "updated_at" => {
            date_test(Expr::col(ticket::Column::UpdatedAt), &c.op, &c.value).map_err(|_| bad())?
        }
        _ => return Err(bad()),
    })
}

fn combine(
    def: &FilterDefinition,
    mut expr: impl FnMut(&Cond) -> Result<SimpleExpr, AppError>,
) -> Result<Condition, AppError> {
    let start = |m: Match| {
        if m == Match::All {
            Condition::all()
        } else {
            Condition::any()
        }
    };
    let mut top = start(def.match_);
    for group in &def.groups {
        let mut g = start(group.match_);
        for c in &group.conditions {
            g = g.add(expr(c)?);
        }
        top = top.add(g);
    }
    Ok(top)
}

/// The SQL condition of a user filter over `users`: the one place its meaning is decided.
pub fn to_condition(def: &FilterDefinition) -> Result<Condition, AppError> {
    combine(def, user_condition_expr)
}

/// The SQL condition of a feedback filter over `tickets`.
pub fn to_ticket_condition(
    def: &FilterDefinition,
    backend: DatabaseBackend,
) -> Result<Condition, AppError> {
    combine(def, |c| ticket_condition_expr(c, backend))
}

/// One condition in words, e.g. `team is Customers` or `email contains "@example.com"`.
fn describe_condition(c: &Cond, cat: &Catalogue) -> String {
    let f = cat.field(&c.field);
    let label = f
        .map(|f| f.label.clone())
        .unwrap_or_else(|| "(deleted field)".into());
    let label = if c.field.starts_with("data:") || c.field.starts_with("field:") {
        label
    } else {
        label.to_lowercase()
    };
    let kind = f.map(|f| f.kind.as_str()).unwrap_or("text");
    let value = match c.field.as_str() {
        "team" => cat
            .teams
            .iter()
            .find(|t| t.id.to_string() == c.value)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| "(deleted team)".into()),
        "project" => cat
            .projects
            .iter()
            .find(|(id, _)| id.to_string() == c.value)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "(deleted project)".into()),
        "type" | "status" => f
            .and_then(|f| f.choices.iter().find(|(v, _)| *v == c.value))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| c.value.clone()),
        "role" => Role::parse(&c.value)
            .map(|r| r.label().to_string())
            .unwrap_or_default(),
        _ if kind == "yesno" => if c.value == "true" { "yes" } else { "no" }.to_string(),
        _ => c.value.clone(),
    };
    let value = match c.op.as_str() {
        "is_empty" | "is_not_empty" => String::new(),
        "within_days" => format!(" ({value} days)"),
        _ if kind == "text" => format!(" \"{value}\""),
        _ => format!(" {value}"),
    };
    format!("{label} {}{value}", op_label(&c.op))
}

fn summarise(def: &FilterDefinition, cat: &Catalogue) -> String {
    let words = |m: Match| if m == Match::All { " and " } else { " or " };
    let groups: Vec<String> = def
        .groups
        .iter()
        .map(|g| {
            g.conditions
                .iter()
                .map(|c| describe_condition(c, cat))
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
    serde_json::from_str(&m.definition).map_err(|e| AppError::internal(e))
}

fn view(m: filter::Model, cat: &Catalogue) -> Result<FilterView, AppError> {
    let definition = definition_of(&m)?;
    Ok(FilterView {
        summary: summarise(&definition, cat),
        id: m.id,
        scope: m.scope,
        name: m.name,
        description: m.description,
        definition,
    })
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<filter::Model, AppError> {
    filter::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("filter {id}")))
}

/// A saved filter of `scope`; another scope's filter is a field error on `field`.
pub async fn find_in_scope(
    db: &impl ConnectionTrait,
    id: i32,
    scope: &str,
    field: &str,
) -> Result<filter::Model, AppError> {
    match filter::Entity::find_by_id(id).one(db).await? {
        Some(f) if f.scope == scope => Ok(f),
        Some(_) => Err(AppError::field(
            field,
            format!(
                "that filter selects {}, not {}",
                scope_words(if scope == SCOPE_USER {
                    SCOPE_FEEDBACK
                } else {
                    SCOPE_USER
                }),
                scope_words(scope)
            ),
        )),
        None => Err(AppError::field(field, "that filter does not exist")),
    }
}

fn scope_words(scope: &str) -> &'static str {
    if scope == SCOPE_FEEDBACK {
        "feedback"
    } else {
        "users"
    }
}

/// How many users or tickets pass a filter of `scope`.
pub async fn count_matching(
    db: &impl ConnectionTrait,
    scope: &str,
    def: &FilterDefinition,
) -> Result<u64, AppError> {
    Ok(if scope == SCOPE_FEEDBACK {
        ticket::Entity::find()
            .filter(to_ticket_condition(def, db.get_database_backend())?)
            .count(db)
            .await?
    } else {
        user::Entity::find()
            .filter(to_condition(def)?)
            .count(db)
            .await?
    })
}

/// The ids of what a filter selects now, ascending.
pub async fn matching_ids(db: &impl ConnectionTrait, f: &FilterView) -> Result<Vec<i32>, AppError> {
    Ok(if f.scope == SCOPE_FEEDBACK {
        ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .filter(to_ticket_condition(
                &f.definition,
                db.get_database_backend(),
            )?)
            .order_by_asc(ticket::Column::Id)
            .into_tuple()
            .all(db)
            .await?
    } else {
        user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(to_condition(&f.definition)?)
            .order_by_asc(user::Column::Id)
            .into_tuple()
            .all(db)
            .await?
    })
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

/// Whether one ticket passes a feedback filter's definition.
pub async fn ticket_passes(
    db: &impl ConnectionTrait,
    def: &FilterDefinition,
    ticket_id: i32,
) -> Result<bool, AppError> {
    Ok(ticket::Entity::find()
        .filter(to_ticket_condition(def, db.get_database_backend())?)
        .filter(ticket::Column::Id.eq(ticket_id))
        .count(db)
        .await?
        > 0)
}

/// Where a user found by email stands with a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    /// The user passes the filter (or there is no filter).
    Inside(user::Model),
    /// The user exists but the filter leaves them out.
    Outside(user::Model),
}

/// The users with these emails (already normalised), each placed inside or outside `filter`;
/// an email nobody has is absent from the map. One query when every user is inside (the
/// usual case), a second only for those the filter left out, to tell "outside" from
/// "nobody". Listener calls ask one by one and in batches (`finder`).
pub async fn users_by_email(
    db: &impl ConnectionTrait,
    emails: &[String],
    filter: Option<&FilterDefinition>,
) -> Result<HashMap<String, Placed>, AppError> {
    let (mut placing, passing) = Placing::start(emails, filter)?;
    if let Some(rest) = placing.inside(passing.all(db).await?) {
        placing.outside(rest.all(db).await?);
    }
    Ok(placing.done())
}

/// The steps of `users_by_email`, apart from running its queries (which the SQLite lane runs
/// too): the first query, then what its rows say and whether a second one is needed.
pub struct Placing {
    filtered: bool,
    emails: Vec<String>,
    placed: HashMap<String, Placed>,
}

impl Placing {
    /// The look-up of the users passing `filter` among `emails`.
    pub fn start(
        emails: &[String],
        filter: Option<&FilterDefinition>,
    ) -> Result<(Placing, Select<user::Entity>), AppError> {
        let mut passing = by_emails(emails);
        if let Some(def) = filter {
            passing = passing.filter(to_condition(def)?);
        }
        let placing = Placing {
            filtered: filter.is_some(),
            emails: emails.to_vec(),
            placed: HashMap::with_capacity(emails.len()),
        };
        Ok((placing, passing))
    }

    /// The users who passed; then the look-up of the others, when a filter may have left
    /// someone out.
    pub fn inside(&mut self, users: Vec<user::Model>) -> Option<Select<user::Entity>> {
        for u in users {
            self.placed.insert(u.email.clone(), Placed::Inside(u));
        }
        let rest: Vec<String> = self
            .emails
            .iter()
            .filter(|e| !self.placed.contains_key(*e))
            .cloned()
            .collect();
        (self.filtered && !rest.is_empty()).then(|| by_emails(&rest))
    }

    /// The users the filter left out.
    pub fn outside(&mut self, users: Vec<user::Model>) {
        for u in users {
            self.placed.insert(u.email.clone(), Placed::Outside(u));
        }
    }

    pub fn done(self) -> HashMap<String, Placed> {
        self.placed
    }
}

fn by_emails(emails: &[String]) -> Select<user::Entity> {
    user::Entity::find().filter(user::Column::Email.is_in(emails.iter().map(String::as_str)))
}

/// A saved filter's definition.
pub async fn definition(
    db: &impl ConnectionTrait,
    filter_id: i32,
) -> Result<FilterDefinition, AppError> {
    definition_of(&find(db, filter_id).await?)
}

/// Why one user (or, for a feedback filter, one ticket) passes a saved filter or not: the
/// verdict, and each condition with its own.
pub async fn explain(
    db: &impl ConnectionTrait,
    filter_id: i32,
    subject_id: i32,
) -> Result<FilterVerdict, AppError> {
    let m = find(db, filter_id).await?;
    let def = definition_of(&m)?;
    let cat = catalogue(db, &m.scope).await?;
    let backend = db.get_database_backend();
    let feedback = m.scope == SCOPE_FEEDBACK;
    let passes = |cond: Condition| async move {
        let n = if feedback {
            ticket::Entity::find()
                .filter(cond)
                .filter(ticket::Column::Id.eq(subject_id))
                .count(db)
                .await?
        } else {
            user::Entity::find()
                .filter(cond)
                .filter(user::Column::Id.eq(subject_id))
                .count(db)
                .await?
        };
        Ok::<_, AppError>(n > 0)
    };
    let expr = |c: &Cond| {
        if feedback {
            ticket_condition_expr(c, backend)
        } else {
            user_condition_expr(c)
        }
    };
    let mut conditions = Vec::new();
    for group in &def.groups {
        for c in &group.conditions {
            conditions.push((
                describe_condition(c, &cat),
                passes(Condition::all().add(expr(c)?)).await?,
            ));
        }
    }
    let whole = combine(&def, expr)?;
    Ok(FilterVerdict {
        name: m.name,
        summary: summarise(&def, &cat),
        passes: passes(whole).await?,
        conditions,
    })
}

/// Every filter, user filters first, with how many users or tickets each selects now.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<FilterListItem>, AppError> {
    let mut out = Vec::new();
    for scope in [SCOPE_USER, SCOPE_FEEDBACK] {
        let cat = catalogue(db, scope).await?;
        for m in filter::Entity::find()
            .filter(filter::Column::Scope.eq(scope))
            .order_by_asc(filter::Column::Name)
            .all(db)
            .await?
        {
            let filter = view(m, &cat)?;
            let matching = count_matching(db, scope, &filter.definition).await?;
            out.push(FilterListItem { filter, matching });
        }
    }
    Ok(out)
}

/// (id, name) of the filters of `scope`, by name.
pub async fn names(db: &impl ConnectionTrait, scope: &str) -> Result<Vec<(i32, String)>, AppError> {
    Ok(filter::Entity::find()
        .select_only()
        .column(filter::Column::Id)
        .column(filter::Column::Name)
        .filter(filter::Column::Scope.eq(scope))
        .order_by_asc(filter::Column::Name)
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<FilterView, AppError> {
    let m = find(db, id).await?;
    let cat = catalogue(db, &m.scope).await?;
    view(m, &cat)
}

/// The saved filter with its count and the first matching users or tickets.
pub async fn preview(db: &impl ConnectionTrait, id: i32) -> Result<FilterPreview, AppError> {
    let filter = get(db, id).await?;
    if filter.scope == SCOPE_FEEDBACK {
        let cond = to_ticket_condition(&filter.definition, db.get_database_backend())?;
        let (matching, tickets) = super::feedback::rows_where(db, cond, PREVIEW_ROWS).await?;
        return Ok(FilterPreview {
            filter,
            matching,
            sample: Vec::new(),
            tickets,
            macros: None,
        });
    }
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
        tickets: Vec::new(),
        macros: None,
    })
}

/// The live preview of the filter editor: how many users or tickets the conditions on the
/// form select now, and the first few, before anything is saved. The name is not needed for
/// that.
pub async fn preview_form(
    db: &impl ConnectionTrait,
    form: &FilterForm,
) -> Result<FilterLivePreview, AppError> {
    let cat = catalogue(db, &form.scope).await?;
    let mut form = form.clone();
    if form.name.trim().is_empty() {
        form.name = "preview".into();
    }
    let parsed = parse_form(&form, &cat)?;
    let summary = summarise(&parsed.definition, &cat);
    if cat.scope == SCOPE_FEEDBACK {
        let cond = to_ticket_condition(&parsed.definition, db.get_database_backend())?;
        let (matching, rows) = super::feedback::rows_where(db, cond, LIVE_PREVIEW_ROWS).await?;
        return Ok(FilterLivePreview {
            summary,
            matching,
            first: rows
                .into_iter()
                .map(|t| format!("#{} {}", t.id, t.title))
                .collect(),
        });
    }
    let page = users::page_where(
        db,
        Some(to_condition(&parsed.definition)?),
        &UserQuery::default(),
        LIVE_PREVIEW_ROWS,
    )
    .await?;
    Ok(FilterLivePreview {
        summary,
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

/// Creates (empty `form.id`) or updates a filter; returns its id. A filter keeps the scope it
/// was created with.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &FilterForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let scope = match &existing {
        Some(f) => parse_scope(&f.scope),
        None => parse_scope(&form.scope),
    };
    let cat = catalogue(db, scope).await?;
    let parsed = parse_form(form, &cat)?;
    if name_taken(db, &parsed.name, existing.as_ref().map(|f| f.id)).await? {
        return Err(AppError::field("name", "another filter has this name"));
    }
    let definition =
        serde_json::to_string(&parsed.definition).map_err(|e| AppError::internal(e))?;
    let summary = summarise(&parsed.definition, &cat);
    let now = Utc::now();
    let (txn, gate) = crate::server::db::begin_write(db).await?;
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
                scope: Set(scope.into()),
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
    drop(gate);
    crate::server::cache::changed();
    Ok(id)
}

/// A filter a listener, an automation or a schedule uses cannot be deleted.
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
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
    super::macros::refuse_if_filter_used(db, id).await?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    filter::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(&txn, actor, "filter.deleted", &existing.name, "").await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn teams() -> Catalogue {
        let mut cat = Catalogue {
            scope: SCOPE_USER,
            teams: vec![TeamRef {
                id: 4,
                name: "Customers".into(),
            }],
            ..Default::default()
        };
        cat.fields = vec![
            field("email", "Email", "text"),
            field("team", "Team", "choice"),
            field("role", "Role", "choice"),
            field("score", "Score", "number"),
            field("created_at", "Joined", "date"),
        ];
        cat
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
