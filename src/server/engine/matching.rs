//! The filter compiler: a saved definition (conditions in AND/OR groups) becomes SQL, one
//! compiler per scope (users, feedback tickets), for list counts, previews, bulk runs,
//! automation and the check whether one user or ticket passes (listeners). Editing filters
//! and their previews is `admin::filters`.

use crate::errors::AppError;
use crate::server::entities::{
    data_value, feedback_status, feedback_type, filter, team_membership, ticket, user,
};
use crate::shared::definitions::{Condition as Cond, FilterDefinition, Match};
use crate::shared::vocab::Scope;
use chrono::{Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use std::collections::HashMap;

pub const SCOPE_USER: &str = "user";

pub const SCOPE_FEEDBACK: &str = "feedback";

/// The scope a checked key names (`parse_scope`'s answer).
pub fn scope_of(key: &str) -> Scope {
    if key == SCOPE_FEEDBACK {
        Scope::Feedback
    } else {
        Scope::User
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

pub(crate) fn escape_like(v: &str) -> String {
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

pub(crate) fn user_condition_expr(c: &Cond) -> Result<SimpleExpr, AppError> {
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

pub(crate) fn ticket_condition_expr(
    c: &Cond,
    backend: DatabaseBackend,
) -> Result<SimpleExpr, AppError> {
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

pub(crate) fn combine(
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

pub(crate) fn definition_of(m: &filter::Model) -> Result<FilterDefinition, AppError> {
    serde_json::from_str(&m.definition).map_err(|e| AppError::internal(e))
}

pub(crate) async fn find(db: &impl ConnectionTrait, id: i32) -> Result<filter::Model, AppError> {
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

/// The ids of what a filter of `scope` selects now, ascending.
pub async fn matching_ids(
    db: &impl ConnectionTrait,
    scope: &str,
    def: &FilterDefinition,
) -> Result<Vec<i32>, AppError> {
    Ok(if scope == SCOPE_FEEDBACK {
        ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .filter(to_ticket_condition(def, db.get_database_backend())?)
            .order_by_asc(ticket::Column::Id)
            .into_tuple()
            .all(db)
            .await?
    } else {
        user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(to_condition(def)?)
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
