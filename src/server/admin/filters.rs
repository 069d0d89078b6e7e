//! Saved filters: conditions (field, operator, value) in AND/OR groups, over users or over
//! feedback tickets. One compiler per scope turns a definition into SQL, used for the list
//! counts, the previews, bulk runs, automation and the check whether one user or ticket passes
//! (listeners).

use crate::server::store::audit_trail;

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{Actor, users};
use crate::errors::{AppError, FieldErrors};
use crate::server::domain::parse_id;
use crate::server::engine::matching::{
    SCOPE_FEEDBACK, SCOPE_USER, combine, count_matching, definition_of, find, parse_scope,
    ticket_condition_expr, to_condition, to_ticket_condition, user_condition_expr,
};
use crate::server::entities::{
    data_field, data_group, feedback_field, feedback_status, feedback_type, filter, project,
    ticket, user,
};
use crate::types::{
    Condition as Cond, ConditionGroup, FILTER_GROUPS, FilterCatalogue, FilterDefinition,
    FilterField, FilterForm, FilterListItem, FilterLivePreview, FilterPreview, FilterVerdict,
    FilterView, Match, ROWS_PER_GROUP, Role, TeamRef, UserQuery, filter_ops, op_label,
};

const PREVIEW_ROWS: u32 = 20;
const LIVE_PREVIEW_ROWS: u32 = 5;

fn parse_match(v: &str) -> Match {
    if v.trim() == "any" {
        Match::Any
    } else {
        Match::All
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
    let teams = crate::server::store::lookups::team_refs(db).await?;
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

fn view(m: filter::Model, cat: &Catalogue) -> Result<FilterView, AppError> {
    let definition = definition_of(&m)?;
    Ok(FilterView {
        summary: summarise(&definition, cat),
        id: m.id,
        scope: m.scope.to_string(),
        name: m.name,
        description: m.description,
        definition,
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
    let cat = catalogue(db, m.scope.as_str()).await?;
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
            macros: Vec::new(),
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
        macros: Vec::new(),
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

/// Whether the filter picks whom a removal removes: the schedule filter or the user-event
/// automation's guard of a macro that removes users, or the guard of a listener whose macro
/// does (widening it widens the removal).
async fn picks_for_a_removal(db: &DatabaseConnection, id: i32) -> Result<bool, AppError> {
    use crate::server::entities::{listener, macro_def};
    let scheduled = macro_def::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(macro_def::Column::ScheduleFilterId.eq(id))
                .add(macro_def::Column::AutomationFilterId.eq(id)),
        )
        .all(db)
        .await?;
    for m in &scheduled {
        if crate::server::store::lookups::macro_of(m)?.removes() {
            return Ok(true);
        }
    }
    let guarded = listener::Entity::find()
        .filter(listener::Column::FilterId.eq(id))
        .all(db)
        .await?;
    for l in guarded {
        if let Some(macro_id) = l.macro_id
            && super::macro_removes(db, macro_id).await?
        {
            return Ok(true);
        }
    }
    Ok(false)
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
    if let Some(f) = &existing {
        super::refuse_removal_to_project_managers(actor, picks_for_a_removal(db, f.id).await?)?;
    }
    let scope = match &existing {
        Some(f) => parse_scope(f.scope.as_str()),
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
                scope: Set(crate::server::engine::matching::scope_of(scope)),
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
    audit_trail::record(&txn, actor, action, &parsed.name, &summary).await?;
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
    audit_trail::record(&txn, actor, "filter.deleted", &existing.name, "").await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(())
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
    let cat = catalogue(db, m.scope.as_str()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::engine::matching::*;

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
