//! *Listen for a test call* and what a past call brought.
//!
//! A manager wiring another system (Jira, GitHub, Stripe) to a listener asks it to listen:
//! until `LISTEN_FOR` has passed, the next call to its URL is kept in the listener log as a
//! test call, answered 200, and nothing runs (`inbound::listeners`). The listener page shows
//! that call's headers (secret values masked) and its body as a tree of paths; clicking a value
//! fills one of the listener's settings with its path, through the same `listeners::save` as
//! the editor. The call log shows what any successful call brought the same way
//! (`request_of`): headers and body are kept with the row (at most 64 KiB of body), for as
//! long as the log keeps it, and an erasure cuts the person out of them like any other text.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use super::format_time;
use crate::errors::AppError;
use crate::server::domain::Actor;
use crate::server::domain::body_path;
use crate::server::entities::{data_group, listener, listener_call};
use crate::server::store::audit_trail;
use crate::shared::vocab::{DataScope, ListenerKind};
use crate::types::{BodyRow, CallRequestView, ListenerForm, TestCallMapForm, TestCallView};

/// How long a listener listens for a test call.
pub const LISTEN_FOR: chrono::Duration = chrono::Duration::minutes(10);

use crate::server::engine::inbound::listeners::TEST_CALL;

/// At most this many values of a body are shown as a tree; lists show their first items.
const TREE_VALUES: usize = 400;
const LIST_ITEMS: usize = 5;

async fn listener_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i32,
) -> Result<listener::Model, AppError> {
    let l = listener::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("listener {id}")))?;
    // A removal's listener is the community manager's, its calls included.
    if let Some(macro_id) = l.macro_id {
        super::refuse_removal_to_project_managers(
            actor,
            super::macro_removes(db, macro_id).await?,
        )?;
    }
    Ok(l)
}

/// What listens for a test call: a listener or an external source (the forms' `target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Listener(i32),
    Source(i32),
}

impl Target {
    /// "source" names an external source; anything else a listener.
    pub fn of(kind: &str, id: i32) -> Target {
        if kind == "source" {
            Target::Source(id)
        } else {
            Target::Listener(id)
        }
    }
}

async fn source_for(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<crate::server::entities::external_source::Model, AppError> {
    crate::server::entities::external_source::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("external source {id}")))
}

/// Starts (or, `listen` false, stops) listening for a test call on a listener or source.
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn listen(
    db: &DatabaseConnection,
    actor: &Actor,
    target: Target,
    listen: bool,
) -> Result<(), AppError> {
    use crate::server::entities::external_source;
    let until = listen.then(|| Utc::now() + LISTEN_FOR);
    let (name, key, what) = match target {
        Target::Listener(id) => {
            let l = listener_for(db, actor, id).await?;
            (l.name, l.key, "listener")
        }
        Target::Source(id) => {
            let s = source_for(db, id).await?;
            (s.name, s.key, "external_source")
        }
    };
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    match target {
        Target::Listener(id) => {
            listener::Entity::update_many()
                .col_expr(listener::Column::ListeningUntil, Expr::value(until))
                .filter(listener::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        Target::Source(id) => {
            external_source::Entity::update_many()
                .col_expr(external_source::Column::ListeningUntil, Expr::value(until))
                .filter(external_source::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
    }
    let action = format!(
        "{what}.{}",
        if listen {
            "listening"
        } else {
            "listening_stopped"
        }
    );
    audit_trail::record(&txn, actor, &action, &name, &key).await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(())
}

/// The panel of a listener's or source's page: whether it listens, the last test call, and
/// what it can fill.
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn view(
    db: &impl ConnectionTrait,
    actor: &Actor,
    target: Target,
) -> Result<TestCallView, AppError> {
    let now = Utc::now();
    let (id, name, until, targets, column, kind) = match target {
        Target::Listener(id) => {
            let l = listener_for(db, actor, id).await?;
            let targets = targets(db, &l).await?;
            (
                id,
                l.name,
                l.listening_until,
                targets,
                listener_call::Column::ListenerId,
                "listener",
            )
        }
        Target::Source(id) => {
            let s = source_for(db, id).await?;
            let targets = super::external_sources::fillable(db, &s).await?;
            (
                id,
                s.name,
                s.listening_until,
                targets,
                listener_call::Column::SourceId,
                "source",
            )
        }
    };
    let call = listener_call::Entity::find()
        .filter(column.eq(id))
        .filter(listener_call::Column::Code.eq(TEST_CALL))
        .order_by_desc(listener_call::Column::Id)
        .one(db)
        .await?;
    Ok(TestCallView {
        listener_id: id,
        target: kind.to_string(),
        listening_until: until
            .filter(|until| *until > now)
            .map(|until| format_time(&until)),
        call: call.map(|c| request_view(c, &name)),
        targets,
    })
}

/// The settings of `l` a body path can fill: (field, label, current path).
async fn targets(
    db: &impl ConnectionTrait,
    l: &listener::Model,
) -> Result<Vec<(String, String, String)>, AppError> {
    let mut out = vec![(
        "find_path".to_string(),
        format!(
            "Target in the body (the {})",
            if l.scope.as_str() == "feedback" {
                "ticket"
            } else {
                "user's email"
            }
        ),
        l.find_path.clone(),
    )];
    if l.kind == ListenerKind::Comment {
        out.push((
            "author_field".into(),
            "Author's email".into(),
            l.author_field.clone(),
        ));
        out.push((
            "comment_field".into(),
            "Comment".into(),
            l.comment_field.clone(),
        ));
    }
    let project_group = match l.data_group_id {
        Some(g) => data_group::Entity::find_by_id(g)
            .one(db)
            .await?
            .is_some_and(|g| g.scope == DataScope::Project),
        None => false,
    };
    if l.scope.as_str() != "feedback"
        && (l.kind == ListenerKind::Comment || (l.kind == ListenerKind::Data && project_group))
    {
        out.push((
            "project_param".into(),
            "Project (its key or id)".into(),
            l.project_param.clone(),
        ));
    }
    Ok(out)
}

/// Fills the setting `form.field` of the listener with `form.path` (a path the test call's
/// body has), saved like the editor saves it: the same checks, the same audit entry.
#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn map(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &TestCallMapForm,
) -> Result<i32, AppError> {
    let id = crate::server::domain::parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    let path = body_path::BodyPath::parse(&form.path)
        .map_err(|m| AppError::field("path", m))?
        .as_str()
        .to_string();
    if let Target::Source(id) = Target::of(&form.target, id) {
        let s = source_for(db, id).await?;
        if !super::external_sources::fillable(db, &s)
            .await?
            .iter()
            .any(|(f, _, _)| *f == form.field)
        {
            return Err(AppError::field(
                "field",
                "choose one of the settings this source reads from the body",
            ));
        }
        return super::external_sources::fill_from_path(db, actor, &s, &form.field, &path)
            .await
            .map_err(one_field);
    }
    let l = listener_for(db, actor, id).await?;
    let offered = targets(db, &l).await?;
    if !offered.iter().any(|(f, _, _)| *f == form.field) {
        return Err(AppError::field(
            "field",
            "choose one of the settings this listener reads from the body",
        ));
    }
    let mut edit = form_of(&l);
    match form.field.as_str() {
        "find_path" => edit.find_path = path,
        "author_field" => edit.author_field = path,
        "comment_field" => edit.comment_field = path,
        _ => edit.project_param = path,
    }
    super::listeners::save(db, actor, &edit)
        .await
        .map_err(one_field)
}

/// The editor's own check names its fields; here the one field is the select.
fn one_field(e: AppError) -> AppError {
    match e {
        AppError::Validation(errors) => AppError::field(
            "field",
            errors
                .iter()
                .map(|e| format!("{} {}", field_label(&e.field), e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        e => e,
    }
}

fn field_label(field: &str) -> String {
    match field {
        "find_path" => "Target in the body".into(),
        "author_field" => "Author's email".into(),
        "comment_field" => "Comment".into(),
        "project_param" => "Project".into(),
        "mapping" => "Mapping".into(),
        "submitter_param" => "Submitter's email".into(),
        "status_param" => "Status".into(),
        f => f.replace('_', " "),
    }
}

/// The editor's form of a saved listener, unchanged.
fn form_of(l: &listener::Model) -> ListenerForm {
    let id = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
    ListenerForm {
        id: l.id.to_string(),
        name: l.name.clone(),
        description: l.description.clone(),
        key: l.key.clone(),
        filter_id: id(l.filter_id),
        kind: l.kind.as_str().to_string(),
        macro_id: id(l.macro_id),
        author_field: l.author_field.clone(),
        comment_field: l.comment_field.clone(),
        data_group_id: id(l.data_group_id),
        api_key_id: id(l.api_key_id),
        enabled: l.enabled.then(|| "on".to_string()),
        scope: l.scope.as_str().to_string(),
        find_field_id: id(l.find_field_id),
        target_project_id: id(l.target_project_id),
        project_param: l.project_param.clone(),
        find_path: l.find_path.clone(),
        accepts_form: l.accepts_form.then(|| "on".to_string()),
        place: crate::types::place_value(l.place_project_id, l.place_type_id),
        ..Default::default()
    }
}

/// One call of the log with what it brought (the call log's detail page).
#[tracing::instrument(skip(db, actor), fields(actor_id = ?actor.user_id))]
pub async fn request_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    call_id: i64,
) -> Result<CallRequestView, AppError> {
    let c = listener_call::Entity::find_by_id(call_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("call {call_id}")))?;
    // A call that ran a removal is the community manager's to read, whatever its listener
    // runs now.
    if let Some(run_id) = c.run_id {
        // A run or macro gone since is judged by nothing: the check fails closed, and only a
        // community manager reads the call.
        let macro_id = crate::server::entities::macro_run::Entity::find_by_id(run_id)
            .one(db)
            .await?
            .and_then(|run| run.macro_id);
        let removes = match macro_id {
            Some(id) => super::macro_removes(db, id).await.unwrap_or(true),
            None => true,
        };
        super::refuse_removal_to_project_managers(actor, removes)?;
    }
    let name = match (c.listener_id, c.source_id) {
        (Some(id), _) => listener_for(db, actor, id).await?.name,
        (None, Some(id)) => format!("source {}", source_for(db, id).await?.name),
        (None, None) => format!("key \"{}\"", c.listener_key),
    };
    Ok(request_view(c, &name))
}

fn request_view(c: listener_call::Model, listener: &str) -> CallRequestView {
    let headers: Vec<(String, String)> =
        serde_json::from_str(&c.request_headers).unwrap_or_default();
    let cut = usize::try_from(c.request_bytes).unwrap_or_default() > c.request_body.len();
    let form = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-type")
            && v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
    });
    let (tree, tree_note) = if c.request_headers.is_empty() {
        (
            Vec::new(),
            Some(
                "Not kept: only a call that was answered with success keeps its headers and body (a refused one may name someone the community does not know)."
                    .to_string(),
            ),
        )
    } else if c.request_body.trim().is_empty() {
        (Vec::new(), Some("The call had no body.".to_string()))
    } else if cut {
        (
            Vec::new(),
            Some(format!(
                "The body was {} bytes; the first {} KiB are kept, shown as text.",
                c.request_bytes,
                crate::server::engine::inbound::listeners::KEPT_BODY / 1024
            )),
        )
    } else if form {
        (
            tree_of(&body_path::form_object(c.request_body.as_bytes())),
            None,
        )
    } else {
        match serde_json::from_str::<serde_json::Value>(&c.request_body) {
            Ok(v) => (tree_of(&v), None),
            Err(_) => (
                Vec::new(),
                Some("The body is not JSON: shown as text.".to_string()),
            ),
        }
    };
    CallRequestView {
        call_id: c.id,
        received_at: format_time(&c.received_at),
        caller_ip: c.caller_ip,
        listener: listener.to_string(),
        status: u16::try_from(c.status).unwrap_or_default(),
        code: c.code,
        headers,
        body: c.request_body,
        bytes: c.request_bytes,
        cut,
        tree,
        tree_note,
    }
}

/// The steps of a path: keys and `[i]` list items (`a.b[0].c` → a, b, [0], c).
fn steps(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if !key.is_empty() {
            out.push(key.to_string());
        }
        for item in rest.split_inclusive(']') {
            out.push(item.to_string());
        }
    }
    out
}

/// A body's values as rows of a tree: each object or list that holds them once, above them,
/// then each value with its path.
pub fn tree_of(body: &serde_json::Value) -> Vec<BodyRow> {
    let mut rows = Vec::new();
    let mut open: Vec<String> = Vec::new();
    for (path, value) in body_path::leaves(body, LIST_ITEMS, TREE_VALUES) {
        let steps = steps(&path);
        let (last, parents) = steps.split_last().expect("a leaf has a path");
        let shared = open.iter().zip(parents).take_while(|(a, b)| a == b).count();
        open.truncate(shared);
        for step in &parents[shared..] {
            rows.push(BodyRow {
                depth: open.len() as u16,
                label: step.clone(),
                value: None,
                path: None,
            });
            open.push(step.clone());
        }
        rows.push(BodyRow {
            depth: open.len() as u16,
            label: last.clone(),
            value: Some(match &value {
                serde_json::Value::String(s) => {
                    serde_json::to_string(&s.chars().take(200).collect::<String>())
                        .unwrap_or_default()
                }
                v => v.to_string(),
            }),
            path: Some(path),
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_body_becomes_a_tree_of_paths() {
        let rows = tree_of(&json!({
            "issue": { "key": "BETA-42", "fields": { "labels": ["beta", "ios"] } },
            "user": { "emailAddress": "pm@example.com" },
            "n": 3
        }));
        let shown: Vec<(u16, &str, Option<&str>, Option<&str>)> = rows
            .iter()
            .map(|r| {
                (
                    r.depth,
                    r.label.as_str(),
                    r.value.as_deref(),
                    r.path.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (0, "issue", None, None),
                (1, "fields", None, None),
                (2, "labels", None, None),
                (3, "[0]", Some("\"beta\""), Some("issue.fields.labels[0]")),
                (3, "[1]", Some("\"ios\""), Some("issue.fields.labels[1]")),
                (1, "key", Some("\"BETA-42\""), Some("issue.key")),
                (0, "n", Some("3"), Some("n")),
                (0, "user", None, None),
                (
                    1,
                    "emailAddress",
                    Some("\"pm@example.com\""),
                    Some("user.emailAddress")
                ),
            ]
        );
        // Every path shown reads its value back.
        let body = json!({ "issue": { "fields": { "labels": ["beta"] } } });
        for r in tree_of(&body) {
            if let Some(p) = r.path {
                assert!(body_path::lookup(&body, &p).is_some(), "{p}");
            }
        }
    }

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(steps("a.b[0][1].c"), vec!["a", "b", "[0]", "[1]", "c"]);
        assert_eq!(steps("n"), vec!["n"]);
    }
}
