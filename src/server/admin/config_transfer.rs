//! Configuration as code: the community's integration set-up (external-data groups, filters,
//! macros with their webhooks, listeners and external sources) as one JSON document
//! (`export`), and its import into another installation: first a plan of what would be
//! created, changed or left as it is, and of what stops it (`plan`); nothing is written until
//! the plan is applied (`apply`), which the screen does only on the manager's confirmation
//! and the command line only with `--apply`.
//!
//! The document names things, never ids: teams, projects, feedback types and statuses by
//! name; filters and data groups by name; macros, listeners and sources by key; a source's
//! default submitter by email. What is secret stays behind: API keys, signing secrets, and
//! the values of secret webhook headers (exported masked). A listener or source created by an
//! import takes the API key chosen for the import; a webhook whose secret header could not
//! come along is created paused until the secret is typed on its page.
//!
//! An import writes through the screens' own service functions (`filters::save`,
//! `macros::save`, `webhooks::save` …), so every rule and check of the screens applies, in
//! the order things depend on each other: groups, filters, macros, their webhooks, listeners,
//! sources. It creates and updates; it never deletes what the document does not name. Each
//! item is its own commit: an import stopped half-way (a check that only fails on writing, a
//! crash) leaves what it did, and importing the same document again finishes the rest, since
//! the items already there are then "unchanged".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Actor, external_data, external_sources, filters, listeners, macros, webhooks};
use crate::errors::AppError;
use crate::server::domain::inbound_signature::Scheme;
use crate::server::engine::outbox::{headers_from, mask_headers};
use crate::server::entities::{
    api_key, config_import, data_field, data_group, external_source, feedback_status,
    feedback_type, filter, listener, macro_def, project, user, webhook,
};
use crate::server::secrets::Sealer;
use crate::server::store::audit_trail;
use crate::shared::vocab::{DataScope, ListenerKind, Scope};
use crate::types::{
    ConfigImportRow, ConfigImportView, ConfigOutcome, ConfigOverview, ConfigPlan, ConfigPlanLine,
    DataFieldForm, DataGroupForm, ExternalSourceForm, FilterDefinition, FilterForm, FilterRowForm,
    ListenerForm, MASK, MacroAction, MacroActionForm, MacroForm, NewDataGroupForm, ROWS_PER_GROUP,
    TeamRef, WebhookForm, action_row, place_value,
};

/// The `format` of every document.
pub const FORMAT: &str = "switchyard.configuration";
/// The document version this installation writes and reads.
pub const VERSION: u32 = 1;
/// The largest document an import takes.
pub const MAX_DOCUMENT: usize = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The document

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub exported_at: String,
    #[serde(default)]
    pub data_groups: Vec<GroupDoc>,
    #[serde(default)]
    pub filters: Vec<FilterDoc>,
    #[serde(default)]
    pub macros: Vec<MacroDoc>,
    #[serde(default)]
    pub listeners: Vec<ListenerDoc>,
    #[serde(default)]
    pub external_sources: Vec<SourceDoc>,
}

/// An external-data group: `scope` user, feedback or project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDoc {
    pub scope: String,
    pub name: String,
    #[serde(default)]
    pub fields: Vec<FieldDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDoc {
    pub label: String,
    pub parameter: String,
    /// boolean, datetime, integer or string.
    pub kind: String,
    #[serde(default)]
    pub favorite: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterDoc {
    /// user or feedback.
    pub scope: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// all or any: how the groups combine.
    #[serde(rename = "match", default = "all")]
    pub match_: String,
    pub groups: Vec<ConditionGroupDoc>,
}

fn all() -> String {
    "all".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionGroupDoc {
    #[serde(rename = "match", default = "all")]
    pub match_: String,
    pub conditions: Vec<ConditionDoc>,
}

/// A condition: `field` as the filter editor names it (`team`, `score`, `field:text:build` …),
/// except an external-data field, which is `data:<kind>` with its `group` and `parameter`.
/// A team or project condition's `value` is the team's or project's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionDoc {
    pub field: String,
    pub op: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroDoc {
    /// user or feedback.
    pub scope: String,
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// In order; a team by name. *Remove user completely* is `remove_user`, not a line here.
    #[serde(default)]
    pub actions: Vec<ActionDoc>,
    #[serde(default)]
    pub remove_user: bool,
    #[serde(default)]
    pub include_on_dashboard: bool,
    #[serde(default)]
    pub show_in_user_actions: bool,
    #[serde(default)]
    pub run_once_per_user: bool,
    #[serde(default)]
    pub suppress_confirmation: bool,
    #[serde(default)]
    pub automation: AutomationDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleDoc>,
    /// Feedback macros: where they run (none: every project).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceDoc>,
    #[serde(default)]
    pub trigger_webhooks: bool,
    #[serde(default)]
    pub webhooks: Vec<WebhookDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDoc {
    pub kind: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationDoc {
    #[serde(default)]
    pub on_submit: bool,
    #[serde(default)]
    pub on_modify: bool,
    #[serde(default)]
    pub on_user_created: bool,
    #[serde(default)]
    pub on_team_join: bool,
    #[serde(default)]
    pub on_team_leave: bool,
    /// The filter guarding the automation, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Joining or leaving this team only (none: any team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDoc {
    /// once, hourly, daily, weekly or monthly.
    pub frequency: String,
    /// The filter whose matches it runs on, by name.
    pub filter: String,
    /// UTC, RFC 3339.
    pub starts_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceDoc {
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_type: Option<String>,
}

/// A webhook or email of a macro, known within it by its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDoc {
    /// http or email.
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub url: String,
    /// `Name: value`; a secret header's value is masked (`••••••`).
    #[serde(default)]
    pub headers: Vec<String>,
    /// json or form.
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub email_to: String,
    #[serde(default)]
    pub email_subject: String,
    /// Signed with Standard Webhooks headers (a new webhook gets a new secret).
    #[serde(default)]
    pub signing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureDoc>,
    /// Its own retry delays (empty: the installation's schedule).
    #[serde(default)]
    pub retry_schedule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureDoc {
    pub group: GroupRef,
    /// A user macro capturing into a project group: the project, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// A data group by scope and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRef {
    pub scope: String,
    pub name: String,
}

/// A data field by its group's name and its parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRef {
    pub group: String,
    pub parameter: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerDoc {
    /// user or feedback.
    pub scope: String,
    /// macro, comment or data.
    pub kind: String,
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub enabled: bool,
    /// By name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The macro it runs, by key.
    #[serde(default, rename = "macro", skip_serializing_if = "Option::is_none")]
    pub macro_key: Option<String>,
    #[serde(default)]
    pub author_field: String,
    #[serde(default)]
    pub comment_field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_group: Option<GroupRef>,
    /// Feedback listeners: the external-data field `find` names a ticket by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find_field: Option<FieldRef>,
    #[serde(default)]
    pub find_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_project: Option<String>,
    #[serde(default)]
    pub project_param: String,
    #[serde(default)]
    pub accepts_form: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceDoc>,
    /// The signature scheme its callers sign with (empty: none). The secret stays behind.
    #[serde(default)]
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    pub key: String,
    pub name: String,
    pub project: String,
    pub feedback_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default)]
    pub status_param: String,
    /// The default submitter's email (empty: `submitter_param` names one per call).
    #[serde(default)]
    pub submitter: String,
    #[serde(default)]
    pub submitter_param: String,
    /// `parameter = field` lines.
    pub mapping: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub signature: String,
}

// ---------------------------------------------------------------------------------------------
// What an installation holds, by id and by name

#[derive(Debug, Clone)]
struct TypeRow {
    id: i32,
    project_id: i32,
    name: String,
}

#[derive(Debug, Clone)]
struct GroupRow {
    id: i32,
    scope: String,
    name: String,
    fields: Vec<data_field::Model>,
}

/// The names behind the ids a set-up refers to, read once.
#[derive(Debug, Default)]
struct Directory {
    teams: Vec<TeamRef>,
    projects: Vec<(i32, String)>,
    types: Vec<TypeRow>,
    statuses: Vec<feedback_status::Model>,
    groups: Vec<GroupRow>,
    filters: Vec<filter::Model>,
    macros: Vec<macro_def::Model>,
    listeners: Vec<listener::Model>,
    sources: Vec<external_source::Model>,
}

/// Names match as the services match them: whatever their ASCII letters' case.
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Directory {
    async fn load(db: &impl ConnectionTrait) -> Result<Self, AppError> {
        let fields = data_field::Entity::find()
            .order_by_asc(data_field::Column::Position)
            .order_by_asc(data_field::Column::Id)
            .all(db)
            .await?;
        let groups = data_group::Entity::find()
            .order_by_asc(data_group::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|g| GroupRow {
                id: g.id,
                scope: g.scope.as_str().to_string(),
                name: g.name,
                fields: fields
                    .iter()
                    .filter(|f| f.group_id == g.id)
                    .cloned()
                    .collect(),
            })
            .collect();
        Ok(Directory {
            teams: crate::server::store::lookups::team_refs(db).await?,
            projects: project::Entity::find()
                .order_by_asc(project::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect(),
            types: feedback_type::Entity::find()
                .order_by_asc(feedback_type::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(|t| TypeRow {
                    id: t.id,
                    project_id: t.project_id,
                    name: t.name,
                })
                .collect(),
            statuses: feedback_status::Entity::find()
                .order_by_asc(feedback_status::Column::Position)
                .all(db)
                .await?,
            groups,
            filters: filter::Entity::find()
                .order_by_asc(filter::Column::Name)
                .all(db)
                .await?,
            macros: macro_def::Entity::find()
                .order_by_asc(macro_def::Column::Key)
                .all(db)
                .await?,
            listeners: listener::Entity::find()
                .order_by_asc(listener::Column::Scope)
                .order_by_asc(listener::Column::Kind)
                .order_by_asc(listener::Column::Key)
                .all(db)
                .await?,
            sources: external_source::Entity::find()
                .order_by_asc(external_source::Column::Key)
                .all(db)
                .await?,
        })
    }

    // By id (export).

    fn team_name(&self, id: i32) -> String {
        self.teams
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    fn project_name(&self, id: i32) -> String {
        self.projects
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    }

    fn type_name(&self, id: i32) -> String {
        self.types
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    fn group_ref(&self, id: i32) -> Option<GroupRef> {
        self.groups.iter().find(|g| g.id == id).map(|g| GroupRef {
            scope: g.scope.clone(),
            name: g.name.clone(),
        })
    }

    fn field_ref(&self, id: i32) -> Option<(String, String)> {
        self.groups.iter().find_map(|g| {
            g.fields
                .iter()
                .find(|f| f.id == id)
                .map(|f| (g.name.clone(), f.parameter.clone()))
        })
    }

    fn filter_name(&self, id: i32) -> Option<String> {
        self.filters
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.name.clone())
    }

    fn place(&self, project_id: Option<i32>, type_id: Option<i32>) -> Option<PlaceDoc> {
        project_id.map(|p| PlaceDoc {
            project: self.project_name(p),
            feedback_type: type_id.map(|t| self.type_name(t)),
        })
    }

    // By name (import).

    fn team(&self, name: &str) -> Option<i32> {
        self.teams
            .iter()
            .find(|t| t.name == name)
            .or_else(|| self.teams.iter().find(|t| same(&t.name, name)))
            .map(|t| t.id)
    }

    fn project(&self, name: &str) -> Option<i32> {
        self.projects
            .iter()
            .find(|(_, n)| n == name)
            .or_else(|| self.projects.iter().find(|(_, n)| same(n, name)))
            .map(|(id, _)| *id)
    }

    fn feedback_type(&self, project_id: i32, name: &str) -> Option<i32> {
        let of_project = || self.types.iter().filter(|t| t.project_id == project_id);
        of_project()
            .find(|t| t.name == name)
            .or_else(|| of_project().find(|t| same(&t.name, name)))
            .map(|t| t.id)
    }

    fn status(&self, type_id: i32, name: &str) -> Option<i32> {
        self.statuses
            .iter()
            .filter(|s| s.feedback_type_id == type_id)
            .find(|s| same(&s.name, name))
            .map(|s| s.id)
    }

    fn group(&self, scope: &str, name: &str) -> Option<&GroupRow> {
        self.groups
            .iter()
            .find(|g| g.scope == scope && same(&g.name, name))
    }

    fn field(&self, scope: &str, group: &str, parameter: &str) -> Option<i32> {
        self.group(scope, group)?
            .fields
            .iter()
            .find(|f| f.parameter == parameter)
            .map(|f| f.id)
    }

    fn filter(&self, name: &str) -> Option<&filter::Model> {
        self.filters.iter().find(|f| same(&f.name, name))
    }

    fn macro_by_key(&self, key: &str) -> Option<&macro_def::Model> {
        self.macros.iter().find(|m| m.key == key)
    }

    fn place_value(&self, place: Option<&PlaceDoc>) -> Result<String, String> {
        let Some(p) = place else {
            return Ok(String::new());
        };
        let project = self
            .project(&p.project)
            .ok_or_else(|| format!("there is no project \"{}\" here", p.project))?;
        let feedback_type = match &p.feedback_type {
            Some(t) => Some(self.feedback_type(project, t).ok_or_else(|| {
                format!(
                    "project \"{}\" has no feedback type \"{t}\" here",
                    p.project
                )
            })?),
            None => None,
        };
        Ok(place_value(Some(project), feedback_type))
    }
}

// ---------------------------------------------------------------------------------------------
// Export

/// The set-up of this installation as a document, every list in a stable order.
pub async fn export(db: &impl ConnectionTrait) -> Result<Document, AppError> {
    export_from(db, &Directory::load(db).await?).await
}

/// `export` from what was already read of the installation.
async fn export_from(db: &impl ConnectionTrait, dir: &Directory) -> Result<Document, AppError> {
    let mut data_groups: Vec<GroupDoc> = dir.groups.iter().map(group_doc).collect();
    data_groups.sort_by(|a, b| (&a.scope, &a.name).cmp(&(&b.scope, &b.name)));
    let filters = dir
        .filters
        .iter()
        .map(|f| filter_doc(dir, f))
        .collect::<Result<Vec<_>, _>>()?;
    let webhooks = webhook::Entity::find()
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?;
    let mut macros = Vec::new();
    for m in &dir.macros {
        macros.push(macro_doc(
            dir,
            m,
            webhooks.iter().filter(|w| w.macro_id == m.id),
        )?);
    }
    let listeners = dir.listeners.iter().map(|l| listener_doc(dir, l)).collect();
    let mut external_sources = Vec::new();
    for s in &dir.sources {
        external_sources.push(source_doc(db, dir, s).await?);
    }
    Ok(Document {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        data_groups,
        filters,
        macros,
        listeners,
        external_sources,
    })
}

/// `export` as the JSON text a file holds.
pub async fn export_json(db: &impl ConnectionTrait) -> Result<String, AppError> {
    let doc = export(db).await?;
    serde_json::to_string_pretty(&doc).map_err(|e| AppError::internal(e))
}

fn group_doc(g: &GroupRow) -> GroupDoc {
    GroupDoc {
        scope: g.scope.clone(),
        name: g.name.clone(),
        fields: g
            .fields
            .iter()
            .map(|f| FieldDoc {
                label: f.label.clone(),
                parameter: f.parameter.clone(),
                kind: f.kind.clone(),
                favorite: f.favorite,
            })
            .collect(),
    }
}

fn filter_doc(dir: &Directory, f: &filter::Model) -> Result<FilterDoc, AppError> {
    let def: FilterDefinition =
        serde_json::from_str(&f.definition).map_err(|e| AppError::internal(e))?;
    let match_word = |m: crate::types::Match| match m {
        crate::types::Match::All => "all".to_string(),
        crate::types::Match::Any => "any".to_string(),
    };
    Ok(FilterDoc {
        scope: f.scope.as_str().to_string(),
        name: f.name.clone(),
        description: f.description.clone(),
        match_: match_word(def.match_),
        groups: def
            .groups
            .iter()
            .map(|g| ConditionGroupDoc {
                match_: match_word(g.match_),
                conditions: g
                    .conditions
                    .iter()
                    .map(|c| {
                        let mut doc = ConditionDoc {
                            field: c.field.clone(),
                            op: c.op.clone(),
                            value: c.value.clone(),
                            group: None,
                            parameter: None,
                        };
                        let id = |v: &str| v.trim().parse::<i32>().unwrap_or_default();
                        match c.field.as_str() {
                            "team" => doc.value = dir.team_name(id(&c.value)),
                            "project" => doc.value = dir.project_name(id(&c.value)),
                            key if key.starts_with("data:") => {
                                if let Some((kind, field_id)) = key["data:".len()..].split_once(':')
                                    && let Some((group, parameter)) = dir.field_ref(id(field_id))
                                {
                                    doc.field = format!("data:{kind}");
                                    doc.group = Some(group);
                                    doc.parameter = Some(parameter);
                                }
                            }
                            _ => {}
                        }
                        doc
                    })
                    .collect(),
            })
            .collect(),
    })
}

fn macro_doc<'a>(
    dir: &Directory,
    m: &macro_def::Model,
    hooks: impl Iterator<Item = &'a webhook::Model>,
) -> Result<MacroDoc, AppError> {
    let actions: Vec<MacroAction> =
        serde_json::from_str(&m.actions).map_err(|e| AppError::internal(e))?;
    let schedule = match (
        m.schedule_frequency.trim(),
        m.schedule_filter_id,
        m.schedule_starts_at,
    ) {
        ("", _, _) | (_, None, _) | (_, _, None) => None,
        (frequency, Some(filter_id), Some(starts_at)) => Some(ScheduleDoc {
            frequency: frequency.to_string(),
            filter: dir.filter_name(filter_id).unwrap_or_default(),
            starts_at,
            ends_at: m.schedule_ends_at,
            enabled: m.schedule_enabled,
        }),
    };
    Ok(MacroDoc {
        scope: m.scope.as_str().to_string(),
        key: m.key.clone(),
        name: m.name.clone(),
        description: m.description.clone(),
        remove_user: actions.contains(&MacroAction::RemoveUser),
        actions: actions
            .iter()
            .filter(|a| **a != MacroAction::RemoveUser)
            .map(|a| {
                let (kind, value) = action_row(a, &dir.teams);
                ActionDoc {
                    kind: kind.to_string(),
                    value,
                }
            })
            .collect(),
        include_on_dashboard: m.include_on_dashboard,
        show_in_user_actions: m.show_in_user_actions,
        run_once_per_user: m.run_once_per_user,
        suppress_confirmation: m.suppress_confirmation,
        automation: AutomationDoc {
            on_submit: m.on_submit,
            on_modify: m.on_modify,
            on_user_created: m.on_user_created,
            on_team_join: m.on_team_join,
            on_team_leave: m.on_team_leave,
            filter: m.automation_filter_id.and_then(|id| dir.filter_name(id)),
            team: m.event_team_id.map(|id| dir.team_name(id)),
        },
        schedule,
        place: dir.place(m.place_project_id, m.place_type_id),
        trigger_webhooks: m.trigger_webhooks,
        webhooks: hooks.map(|w| webhook_doc(dir, w)).collect(),
    })
}

fn webhook_doc(dir: &Directory, w: &webhook::Model) -> WebhookDoc {
    WebhookDoc {
        kind: w.kind.to_string(),
        name: w.name.clone(),
        method: w.method.clone(),
        url: masked_url(&w.url),
        headers: mask_headers(&headers_from(&w.headers))
            .into_iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect(),
        content_type: w.content_type.to_string(),
        body: masked_body(
            &w.body,
            w.content_type == crate::shared::vocab::ContentType::Form,
        ),
        email_to: w.email_to.clone(),
        email_subject: w.email_subject.clone(),
        signing: w.signing_secret.is_some(),
        capture: w
            .capture_group_id
            .and_then(|id| dir.group_ref(id))
            .map(|group| CaptureDoc {
                group,
                project: w.capture_project_id.map(|p| dir.project_name(p)),
            }),
        retry_schedule: w.retry_schedule.clone(),
    }
}

/// Hosts of incoming-webhook addresses whose path is the credential (Slack, Discord, Microsoft
/// Teams, Zapier): the path segments kept before the mask.
fn credential_path(host: &str) -> Option<usize> {
    match host {
        "hooks.slack.com" | "hooks.zapier.com" => Some(1),
        "discord.com" | "discordapp.com" => Some(2),
        h if h.ends_with(".webhook.office.com") => Some(1),
        _ => None,
    }
}

/// A webhook address as the export writes it: a path that is itself the credential, and the
/// values of query parameters with secret-looking names (`token`, `api_key` …), masked.
pub(crate) fn masked_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            // A password in the address (`user:password@host`).
            let host = match host.rsplit_once('@') {
                Some((user, at)) => match user.split_once(':') {
                    Some((name, _)) => format!("{name}:{MASK}@{at}"),
                    None => host.to_string(),
                },
                None => host.to_string(),
            };
            let host_name = host.rsplit('@').next().unwrap_or(&host);
            let host_name = host_name
                .trim_start_matches('[')
                .split([':', ']'])
                .next()
                .unwrap_or(host_name)
                .to_lowercase();
            match credential_path(&host_name) {
                Some(keep) if path.trim_matches('/').split('/').count() > keep => {
                    let kept: Vec<&str> =
                        path.trim_start_matches('/').split('/').take(keep).collect();
                    format!("{scheme}://{host}/{}/{MASK}", kept.join("/"))
                }
                _ => format!("{scheme}://{host}{path}"),
            }
        }
        None => base.to_string(),
    };
    if let Some(q) = query {
        out.push('?');
        out.push_str(&mask_pairs(q, '&'));
    }
    out
}

/// `key=value` pairs separated by `sep`, the values of secret-looking keys masked; the rest
/// exactly as written (tags included).
fn mask_pairs(text: &str, sep: char) -> String {
    text.split(sep)
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if secret_parameter(k) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

/// A webhook body template as the export writes it: in a JSON body the values of
/// secret-looking keys at any depth, in a form body those pairs, masked.
pub(crate) fn masked_body(body: &str, form: bool) -> String {
    if form {
        return mask_pairs(body, '&');
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(parsed) => {
            crate::server::engine::inbound::listeners::mask_body(body, false, Some(&parsed))
        }
        Err(_) => mask_json_text(body),
    }
}

/// A query or form parameter whose value is a credential: the secret-looking names of the
/// listener log (`token`, `api_key`, `client_secret` …), and the short names services use in
/// webhook addresses (`key` for Google Chat, `sig` for Teams workflows, `code` for Azure
/// Functions, `auth`).
fn secret_parameter(name: &str) -> bool {
    crate::server::engine::inbound::listeners::is_secret_key(name)
        || matches!(
            name.to_ascii_lowercase().as_str(),
            "key" | "sig" | "code" | "auth" | "access_key" | "private_key" | "accesskey"
        )
}

/// `"key": "value"` pairs of a JSON-like text whose key looks secret: the value masked, the
/// rest as written (a JSON template that is not JSON as written, such as one with an unquoted
/// `((user.score))`).
fn mask_json_text(text: &str) -> String {
    // The quoted strings of the text, as byte ranges including their quotes.
    let bytes = text.as_bytes();
    let mut strings = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i >= bytes.len() {
                break;
            }
            strings.push((start, i + 1));
        }
        i += 1;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for pair in strings.windows(2) {
        let ((ks, ke), (vs, ve)) = (pair[0], pair[1]);
        if text[ke..vs].trim() == ":"
            && vs >= copied
            && crate::server::engine::inbound::listeners::is_secret_key(&text[ks + 1..ke - 1])
        {
            out.push_str(&text[copied..vs]);
            out.push('"');
            out.push_str(MASK);
            out.push('"');
            copied = ve;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn listener_doc(dir: &Directory, l: &listener::Model) -> ListenerDoc {
    ListenerDoc {
        scope: l.scope.as_str().to_string(),
        kind: l.kind.as_str().to_string(),
        key: l.key.clone(),
        name: l.name.clone(),
        description: l.description.clone(),
        enabled: l.enabled,
        filter: l.filter_id.and_then(|id| dir.filter_name(id)),
        macro_key: l.macro_id.and_then(|id| {
            dir.macros
                .iter()
                .find(|m| m.id == id)
                .map(|m| m.key.clone())
        }),
        author_field: l.author_field.clone(),
        comment_field: l.comment_field.clone(),
        data_group: l.data_group_id.and_then(|id| dir.group_ref(id)),
        find_field: l
            .find_field_id
            .and_then(|id| dir.field_ref(id))
            .map(|(group, parameter)| FieldRef { group, parameter }),
        find_path: l.find_path.clone(),
        target_project: l.target_project_id.map(|id| dir.project_name(id)),
        project_param: l.project_param.clone(),
        accepts_form: l.accepts_form,
        place: dir.place(l.place_project_id, l.place_type_id),
        signature: l.signature_scheme.clone(),
    }
}

async fn source_doc(
    db: &impl ConnectionTrait,
    dir: &Directory,
    s: &external_source::Model,
) -> Result<SourceDoc, AppError> {
    let submitter = match s.submitter_user_id {
        Some(id) => user::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|u| u.email)
            .unwrap_or_default(),
        None => String::new(),
    };
    let map: BTreeMap<String, String> = serde_json::from_str(&s.field_map).unwrap_or_default();
    Ok(SourceDoc {
        key: s.key.clone(),
        name: s.name.clone(),
        project: dir.project_name(s.project_id),
        feedback_type: dir.type_name(s.feedback_type_id),
        team: s.team_id.map(|id| dir.team_name(id)),
        status: s.status_id.and_then(|id| {
            dir.statuses
                .iter()
                .find(|x| x.id == id)
                .map(|x| x.name.clone())
        }),
        status_param: s.status_param.clone(),
        submitter,
        submitter_param: s.submitter_param.clone(),
        mapping: map
            .iter()
            .map(|(param, field)| format!("{param} = {field}"))
            .collect::<Vec<_>>()
            .join("\n"),
        enabled: s.enabled,
        signature: s.signature_scheme.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// Plan

/// Reads a document's text: JSON of this format and version, or an error that says where it
/// is wrong.
pub fn parse(text: &str) -> Result<Document, AppError> {
    if text.len() > MAX_DOCUMENT {
        return Err(AppError::field(
            "document",
            format!("is larger than {} MiB", MAX_DOCUMENT / (1024 * 1024)),
        ));
    }
    // The format and version first, so a document of another kind or version is named as
    // such rather than by its first unknown field.
    let head: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| AppError::field("document", format!("is not JSON: {e}")))?;
    if head.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
        return Err(AppError::field(
            "document",
            format!("is not a Switchyard configuration (its \"format\" must be \"{FORMAT}\")"),
        ));
    }
    match head.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(AppError::field(
                "document",
                format!("is version {v}; this installation reads version {VERSION}"),
            ));
        }
        None => return Err(AppError::field("document", "has no \"version\"")),
    }
    let mut doc: Document =
        serde_json::from_str(text).map_err(|e| AppError::field("document", e.to_string()))?;
    // Keys as the services keep them (lower case), so a document that writes `Deploy` finds
    // `deploy` here.
    let key = |k: &mut String| *k = k.trim().to_ascii_lowercase();
    doc.macros.iter_mut().for_each(|m| key(&mut m.key));
    for l in &mut doc.listeners {
        key(&mut l.key);
        if let Some(m) = &mut l.macro_key {
            key(m);
        }
    }
    doc.external_sources
        .iter_mut()
        .for_each(|s| key(&mut s.key));
    Ok(doc)
}

/// Where things of the document stand against what is here: each item's line, keyed as the
/// document knows it.
struct Matched<'a> {
    dir: Directory,
    here: Document,
    doc: &'a Document,
}

impl Matched<'_> {
    fn here_group(&self, g: &GroupDoc) -> Option<&GroupDoc> {
        self.here
            .data_groups
            .iter()
            .find(|h| h.scope == g.scope && same(&h.name, &g.name))
    }
    fn here_filter(&self, f: &FilterDoc) -> Option<&FilterDoc> {
        self.here.filters.iter().find(|h| same(&h.name, &f.name))
    }
    fn here_macro(&self, m: &MacroDoc) -> Option<&MacroDoc> {
        self.here.macros.iter().find(|h| h.key == m.key)
    }
    fn here_listener(&self, l: &ListenerDoc) -> Option<&ListenerDoc> {
        self.here
            .listeners
            .iter()
            .find(|h| h.scope == l.scope && h.kind == l.kind && h.key == l.key)
    }
    fn here_source(&self, s: &SourceDoc) -> Option<&SourceDoc> {
        self.here.external_sources.iter().find(|h| h.key == s.key)
    }
}

/// A group as importing `g` leaves it: the fields here, each updated from the document's
/// field of its parameter, then the document's new fields. Nothing is removed.
fn merged_group(here: Option<&GroupDoc>, g: &GroupDoc) -> GroupDoc {
    let mut fields: Vec<FieldDoc> = here.map(|h| h.fields.clone()).unwrap_or_default();
    for f in &g.fields {
        match fields.iter_mut().find(|x| x.parameter == f.parameter) {
            Some(x) => *x = f.clone(),
            None => fields.push(f.clone()),
        }
    }
    GroupDoc {
        scope: g.scope.clone(),
        name: g.name.clone(),
        fields,
    }
}

/// The top-level settings in which two items differ, by their names in the document.
fn changes<T: Serialize>(here: &T, wanted: &T) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(here), serde_json::to_value(wanted))
    else {
        return vec!["everything".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.replace('_', " "))
        .collect()
}

fn line<T: Serialize>(kind: &str, name: &str, here: Option<&T>, wanted: &T) -> ConfigPlanLine {
    let (action, changes) = match here {
        None => ("create", Vec::new()),
        Some(h) => match changes(h, wanted) {
            c if c.is_empty() => ("unchanged", c),
            c => ("update", c),
        },
    };
    ConfigPlanLine {
        kind: kind.into(),
        name: name.into(),
        action: action.into(),
        changes,
    }
}

/// A webhook's header lines that can go to the installation: a masked secret only where the
/// webhook here has that header and keeps its address's host. The rest need typing anew.
fn portable_headers(here: Option<&WebhookDoc>, w: &WebhookDoc) -> (Vec<String>, Vec<String>) {
    let mut kept = Vec::new();
    let mut missing = Vec::new();
    for h in &w.headers {
        let name = h.split_once(':').map(|(n, _)| n.trim()).unwrap_or(h);
        if !h.contains(MASK) {
            kept.push(h.clone());
            continue;
        }
        let stored = here.is_some_and(|x| {
            webhooks::authority(&x.url) == webhooks::authority(&w.url)
                && x.headers.iter().any(|o| {
                    o.split_once(':')
                        .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                })
        });
        if stored {
            kept.push(h.clone());
        } else {
            missing.push(name.to_string());
        }
    }
    (kept, missing)
}

/// The plan's word for a webhook an import cannot write.
pub const LEFT_OUT: &str = "left out";

/// What of a webhook's address or body is masked in the document and cannot be taken from
/// the same webhook here (none there, or another address or body).
fn secret_left_behind(here: Option<&WebhookDoc>, w: &WebhookDoc) -> Option<&'static str> {
    if w.url.contains(MASK) && here.is_none_or(|h| h.url != w.url) {
        return Some("address");
    }
    if w.body.contains(MASK) && here.is_none_or(|h| h.body != w.body) {
        return Some("body");
    }
    None
}

/// The schedule as an import sets it: a one-off whose start has passed is never switched on
/// (it would run at once on the import); it stays on only where the macro here has that very
/// one-off switched on (`here`: its start and whether it is on), which does not run twice.
fn imported_schedule(
    s: &ScheduleDoc,
    now: DateTime<Utc>,
    here: Option<(DateTime<Utc>, bool)>,
) -> ScheduleDoc {
    let mut s = s.clone();
    if s.frequency == "once" && s.starts_at <= now && here != Some((s.starts_at, true)) {
        s.enabled = false;
    }
    s
}

/// The one-off schedule a macro here has, if it has one: its start and whether it is on.
fn one_off_start(m: Option<&MacroDoc>) -> Option<(DateTime<Utc>, bool)> {
    m.and_then(|m| m.schedule.as_ref())
        .filter(|s| s.frequency == "once")
        .map(|s| (s.starts_at, s.enabled))
}

/// Which webhook here each of the document's webhooks of a macro is (by index into `here`):
/// by name, one with the same address first (a masked address is then the one stored here),
/// then in order among those of that name. A webhook whose address is masked and has no
/// match is left unpaired (it cannot be written), and takes no other webhook's place.
fn pair_webhooks(doc: &[WebhookDoc], here: &[WebhookDoc]) -> Vec<Option<usize>> {
    let mut paired: Vec<Option<usize>> = vec![None; doc.len()];
    let mut taken = vec![false; here.len()];
    for (i, w) in doc.iter().enumerate() {
        if let Some(j) =
            (0..here.len()).find(|&j| !taken[j] && here[j].name == w.name && here[j].url == w.url)
        {
            paired[i] = Some(j);
            taken[j] = true;
        }
    }
    for (i, w) in doc.iter().enumerate() {
        if paired[i].is_some() || w.url.contains(MASK) {
            continue;
        }
        if let Some(j) = (0..here.len()).find(|&j| !taken[j] && here[j].name == w.name) {
            paired[i] = Some(j);
            taken[j] = true;
        }
    }
    paired
}

/// How many webhooks before the `i`-th have its name (to tell them apart in the plan).
fn occurrence(hooks: &[WebhookDoc], i: usize) -> usize {
    hooks[..i]
        .iter()
        .filter(|w| w.name == hooks[i].name)
        .count()
}

/// A webhook's line in the plan: its macro's key and its name (and which of that name).
fn webhook_line(d: &MacroDoc, i: usize) -> String {
    match occurrence(&d.webhooks, i) {
        0 => format!("{} › {}", d.key, d.webhooks[i].name),
        n => format!("{} › {} ({})", d.key, d.webhooks[i].name, n + 1),
    }
}

/// A data group's line: its name and scope (names are unique per scope).
fn group_line(g: &GroupDoc) -> String {
    format!("{} ({})", g.name, g.scope)
}

/// A listener's line: its key, scope and kind (keys are unique per scope and kind).
fn listener_line(l: &ListenerDoc) -> String {
    format!("{} ({} {})", l.key, l.scope, l.kind)
}

fn label_of(kind: &str, name: &str) -> String {
    format!("{kind} \"{name}\"")
}

/// What importing the document would do here, and what stops it. Reads only.
pub async fn plan(db: &impl ConnectionTrait, text: &str) -> Result<ConfigPlan, AppError> {
    let doc = parse(text)?;
    plan_of(db, text, &doc).await
}

async fn plan_of(
    db: &impl ConnectionTrait,
    text: &str,
    doc: &Document,
) -> Result<ConfigPlan, AppError> {
    let dir = Directory::load(db).await?;
    let m = Matched {
        here: export_from(db, &dir).await?,
        dir,
        doc,
    };
    let mut plan = ConfigPlan::default();
    check_unique(doc, &mut plan.errors);
    let now = Utc::now();
    for g in &doc.data_groups {
        let at = label_of("data group", &g.name);
        if DataScope::parse(&g.scope).is_none() {
            plan.errors.push(format!(
                "{at}: scope must be user, feedback or project, not \"{}\"",
                g.scope
            ));
        }
        let here = m.here_group(g);
        plan.lines.push(line(
            "data group",
            &group_line(g),
            here,
            &merged_group(here, g),
        ));
    }
    for f in &doc.filters {
        let at = label_of("filter", &f.name);
        let here = m.here_filter(f);
        check_scope(
            &at,
            &f.scope,
            here.map(|h| h.scope.as_str()),
            &mut plan.errors,
        );
        if f.groups.len() > crate::types::FILTER_GROUPS
            || f.groups.iter().any(|g| g.conditions.len() > ROWS_PER_GROUP)
        {
            plan.errors.push(format!(
                "{at}: at most {} groups of {ROWS_PER_GROUP} conditions",
                crate::types::FILTER_GROUPS
            ));
        }
        for (gi, g) in f.groups.iter().enumerate() {
            for (ci, c) in g.conditions.iter().enumerate() {
                if let Err(e) = condition_value(&m.dir, doc, &f.scope, c) {
                    plan.errors.push(format!(
                        "{at}: groups[{gi}].conditions[{ci}] ({}): {e}",
                        c.field
                    ));
                }
            }
        }
        plan.lines.push(line("filter", &f.name, here, f));
    }
    for d in &doc.macros {
        let at = label_of("macro", &d.key);
        let here = m.here_macro(d);
        check_scope(
            &at,
            &d.scope,
            here.map(|h| h.scope.as_str()),
            &mut plan.errors,
        );
        check_macro(&m, d, &at, &mut plan.errors);
        let mut wanted = d.clone();
        let mut schedule_note = None;
        if let Some(s) = &d.schedule {
            let s2 = imported_schedule(s, now, one_off_start(here));
            if s2.enabled != s.enabled {
                schedule_note = Some(format!(
                    "{at}: its one-off schedule started {} and comes disabled (it would run at once)",
                    crate::server::domain::format_time(&s.starts_at)
                ));
            }
            wanted.schedule = Some(s2);
        }
        // Webhooks here that the document does not name stay; masked secrets stay where they
        // can.
        let here_hooks: Vec<WebhookDoc> = here.map(|h| h.webhooks.clone()).unwrap_or_default();
        // The macro's line goes before its webhooks'; it is known once they are.
        let macro_line = plan.lines.len();
        let mut merged = Vec::new();
        let pairs = pair_webhooks(&d.webhooks, &here_hooks);
        for (i, w) in d.webhooks.iter().enumerate() {
            let wat = format!("{at}, webhook \"{}\"", w.name);
            let hw = pairs[i].map(|j| &here_hooks[j]);
            let (kept, missing) = portable_headers(hw, w);
            let wanted_hook = WebhookDoc {
                headers: kept,
                ..w.clone()
            };
            let mut l = line("webhook", &webhook_line(d, i), hw, &wanted_hook);
            if let Some(what) = secret_left_behind(hw, w) {
                if l.action != "unchanged" {
                    l.action = LEFT_OUT.into();
                    plan.warnings.push(format!(
                        "{wat}: left out: its {what} holds a secret that stayed behind (masked in the file); add the webhook on the macro's page"
                    ));
                }
                plan.lines.push(l);
                merged.extend(hw.cloned());
                continue;
            }
            if l.action != "unchanged" {
                if !missing.is_empty() {
                    plan.warnings.push(format!(
                        "{wat}: comes paused; type the value of {} on its page, then resume it",
                        missing.join(", ")
                    ));
                }
                if w.signing && !hw.is_some_and(|x| x.signing) {
                    plan.warnings.push(format!(
                        "{wat}: gets a new signing secret; give it to the receiver"
                    ));
                }
            }
            plan.lines.push(l);
            merged.push(wanted_hook);
        }
        for (at_here, hw) in here_hooks.iter().enumerate() {
            if !pairs.contains(&Some(at_here)) {
                plan.warnings.push(format!(
                    "{at}: keeps its webhook \"{}\", which the document does not name",
                    hw.name
                ));
                merged.push(hw.clone());
            }
        }
        // Saving a webhook switches *Trigger webhooks* on; without any to send it stays off.
        wanted.trigger_webhooks = d.trigger_webhooks && !merged.is_empty();
        wanted.webhooks = merged;
        let mut l = line("macro", &d.key, here, &wanted);
        l.changes.retain(|c| c != "webhooks");
        if l.action == "update" && l.changes.is_empty() {
            l.action = "unchanged".into();
        }
        if l.action != "unchanged" {
            plan.warnings.extend(schedule_note);
            if d.remove_user {
                plan.warnings.push(format!(
                    "{at}: removes the users it runs on, completely{}",
                    match (
                        &d.schedule,
                        d.automation.on_user_created
                            || d.automation.on_team_join
                            || d.automation.on_team_leave
                    ) {
                        (Some(s), _) if imported_schedule(s, now, one_off_start(here)).enabled =>
                            ", on a schedule",
                        (_, true) => ", by itself (automation)",
                        _ => "",
                    }
                ));
            }
            if let Some(s) = wanted.schedule.as_ref().filter(|s| s.enabled) {
                plan.warnings.push(format!(
                    "{at}: its schedule ({}, on the filter \"{}\") is switched on and runs here",
                    s.frequency, s.filter
                ));
            }
        }
        plan.lines.insert(macro_line, l);
    }
    for d in &doc.listeners {
        let at = label_of("listener", &d.key);
        if Scope::parse(&d.scope).is_none() {
            plan.errors
                .push(format!("{at}: scope must be user or feedback"));
        }
        if ListenerKind::parse(&d.kind).is_none() {
            plan.errors
                .push(format!("{at}: kind must be macro, comment or data"));
        }
        check_listener(&m, d, &at, &mut plan.errors);
        let here = m.here_listener(d);
        signature_warning(
            &at,
            &d.signature,
            here.map(|h| h.signature.as_str()),
            &mut plan,
        );
        let wanted = ListenerDoc {
            // The scheme comes with the secret, which is typed here.
            signature: here.map(|h| h.signature.clone()).unwrap_or_default(),
            ..d.clone()
        };
        plan.needs_api_key |= here.is_none();
        plan.lines
            .push(line("listener", &listener_line(d), here, &wanted));
    }
    for d in &doc.external_sources {
        let at = label_of("external source", &d.key);
        check_source(&m, d, &at, &mut plan.errors);
        if !d.submitter.trim().is_empty() {
            let known = match crate::server::domain::Email::parse(d.submitter.trim()) {
                Ok(email) => crate::server::store::lookups::find_user_by_email(db, &email)
                    .await?
                    .is_some(),
                Err(_) => false,
            };
            if !known {
                plan.errors.push(format!(
                    "{at}: submitter: no user here has the email \"{}\"",
                    d.submitter.trim()
                ));
            }
        }
        let here = m.here_source(d);
        signature_warning(
            &at,
            &d.signature,
            here.map(|h| h.signature.as_str()),
            &mut plan,
        );
        let wanted = SourceDoc {
            signature: here.map(|h| h.signature.clone()).unwrap_or_default(),
            ..d.clone()
        };
        plan.needs_api_key |= here.is_none();
        plan.lines
            .push(line("external source", &d.key, here, &wanted));
    }
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    hasher.update(serde_json::to_vec(&plan.lines).unwrap_or_default());
    hasher.update(serde_json::to_vec(&plan.warnings).unwrap_or_default());
    hasher.update([u8::from(plan.needs_api_key)]);
    plan.fingerprint = hex::encode(hasher.finalize());
    Ok(plan)
}

fn signature_warning(at: &str, wanted: &str, here: Option<&str>, plan: &mut ConfigPlan) {
    if wanted.is_empty() || here == Some(wanted) {
        return;
    }
    match Scheme::parse(wanted) {
        Some(s) => plan.warnings.push(format!(
            "{at}: its callers sign with {}; type the shared secret on its page (until then they need the API key)",
            s.label()
        )),
        None => plan
            .errors
            .push(format!("{at}: there is no signature scheme \"{wanted}\"")),
    }
}

fn check_scope(at: &str, scope: &str, here: Option<&str>, errors: &mut Vec<String>) {
    if Scope::parse(scope).is_none() {
        errors.push(format!(
            "{at}: scope must be user or feedback, not \"{scope}\""
        ));
    } else if let Some(h) = here
        && h != scope
    {
        errors.push(format!(
            "{at}: here it is a {h} one and the document's is a {scope} one; the scope of what exists cannot change"
        ));
    }
}

fn check_unique(doc: &Document, errors: &mut Vec<String>) {
    fn dupes(kind: &str, keys: impl Iterator<Item = String>, errors: &mut Vec<String>) {
        let mut seen: Vec<String> = Vec::new();
        for k in keys {
            if seen.contains(&k) {
                errors.push(format!("{kind} \"{k}\" is in the document twice"));
            } else {
                seen.push(k);
            }
        }
    }
    dupes(
        "data group",
        doc.data_groups
            .iter()
            .map(|g| format!("{}/{}", g.scope, g.name.to_lowercase())),
        errors,
    );
    dupes(
        "filter",
        doc.filters.iter().map(|f| f.name.to_lowercase()),
        errors,
    );
    dupes("macro", doc.macros.iter().map(|m| m.key.clone()), errors);
    dupes(
        "listener",
        doc.listeners
            .iter()
            .map(|l| format!("{}/{}/{}", l.scope, l.kind, l.key)),
        errors,
    );
    dupes(
        "external source",
        doc.external_sources.iter().map(|s| s.key.clone()),
        errors,
    );
}

/// Whether the document or the installation has a data group of `scope` named `name`.
fn group_known(m: &Matched, scope: &str, name: &str) -> bool {
    m.dir.group(scope, name).is_some()
        || m.doc
            .data_groups
            .iter()
            .any(|g| g.scope == scope && same(&g.name, name))
}

fn field_known(dir: &Directory, doc: &Document, scope: &str, group: &str, parameter: &str) -> bool {
    dir.field(scope, group, parameter).is_some()
        || doc.data_groups.iter().any(|g| {
            g.scope == scope
                && same(&g.name, group)
                && g.fields.iter().any(|f| f.parameter == parameter)
        })
}

fn filter_known(m: &Matched, name: &str, scope: &str) -> Result<(), String> {
    let here = m.dir.filter(name).map(|f| f.scope.as_str().to_string());
    let there = m
        .doc
        .filters
        .iter()
        .find(|f| same(&f.name, name))
        .map(|f| f.scope.clone());
    match there.or(here) {
        None => Err(format!("there is no filter \"{name}\"")),
        Some(s) if s != scope => Err(format!("the filter \"{name}\" is over {s}, not {scope}")),
        Some(_) => Ok(()),
    }
}

/// A condition's value as the filter form takes it: a team's or project's id, or a data
/// field's form key; a reference that is neither here nor in the document is an error.
fn condition_value(
    dir: &Directory,
    doc: &Document,
    scope: &str,
    c: &ConditionDoc,
) -> Result<(String, String), String> {
    match c.field.as_str() {
        "team" => match dir.team(&c.value) {
            Some(id) => Ok((c.field.clone(), id.to_string())),
            None => Err(format!("there is no team \"{}\" here", c.value)),
        },
        "project" => match dir.project(&c.value) {
            Some(id) => Ok((c.field.clone(), id.to_string())),
            None => Err(format!("there is no project \"{}\" here", c.value)),
        },
        key if key.starts_with("data:") => {
            let (Some(group), Some(parameter)) = (&c.group, &c.parameter) else {
                return Err("an external-data condition names its group and parameter".into());
            };
            if !field_known(dir, doc, scope, group, parameter) {
                return Err(format!(
                    "the data group \"{group}\" has no field \"{parameter}\""
                ));
            }
            // Before the group is written the id is not known; the plan only checks.
            let id = dir.field(scope, group, parameter).unwrap_or_default();
            Ok((format!("{key}:{id}"), c.value.clone()))
        }
        _ => Ok((c.field.clone(), c.value.clone())),
    }
}

fn check_macro(m: &Matched, d: &MacroDoc, at: &str, errors: &mut Vec<String>) {
    if d.actions.len() > crate::types::MACRO_ACTION_ROWS {
        errors.push(format!(
            "{at}: at most {} actions",
            crate::types::MACRO_ACTION_ROWS
        ));
    }
    for (i, a) in d.actions.iter().enumerate() {
        if matches!(
            a.kind.as_str(),
            "add_to_team" | "remove_from_team" | "set_team"
        ) && !(a.kind == "set_team" && (a.value.is_empty() || same(&a.value, "no team")))
            && m.dir.team(&a.value).is_none()
        {
            errors.push(format!(
                "{at}: actions[{i}]: there is no team \"{}\" here",
                a.value
            ));
        }
    }
    if let Some(f) = &d.automation.filter
        && let Err(e) = filter_known(m, f, &d.scope)
    {
        errors.push(format!("{at}: automation.filter: {e}"));
    }
    if let Some(t) = &d.automation.team
        && m.dir.team(t).is_none()
    {
        errors.push(format!(
            "{at}: automation.team: there is no team \"{t}\" here"
        ));
    }
    if let Some(s) = &d.schedule
        && let Err(e) = filter_known(m, &s.filter, &d.scope)
    {
        errors.push(format!("{at}: schedule.filter: {e}"));
    }
    if let Err(e) = m.dir.place_value(d.place.as_ref()) {
        errors.push(format!("{at}: place: {e}"));
    }
    for w in &d.webhooks {
        if let Some(c) = &w.capture {
            if !group_known(m, &c.group.scope, &c.group.name) {
                errors.push(format!(
                    "{at}, webhook \"{}\": capture: there is no {} data group \"{}\"",
                    w.name, c.group.scope, c.group.name
                ));
            }
            if let Some(p) = &c.project
                && m.dir.project(p).is_none()
            {
                errors.push(format!(
                    "{at}, webhook \"{}\": capture: there is no project \"{p}\" here",
                    w.name
                ));
            }
        }
    }
}

fn check_listener(m: &Matched, d: &ListenerDoc, at: &str, errors: &mut Vec<String>) {
    if let Some(f) = &d.filter
        && let Err(e) = filter_known(m, f, &d.scope)
    {
        errors.push(format!("{at}: filter: {e}"));
    }
    if let Some(k) = &d.macro_key {
        let scope = m
            .doc
            .macros
            .iter()
            .find(|x| &x.key == k)
            .map(|x| x.scope.clone())
            .or_else(|| m.dir.macro_by_key(k).map(|x| x.scope.as_str().to_string()));
        match scope {
            None => errors.push(format!("{at}: macro: there is no macro \"{k}\"")),
            Some(s) if s != d.scope => errors.push(format!(
                "{at}: macro: the macro \"{k}\" acts on {s}, not {}",
                d.scope
            )),
            Some(_) => {}
        }
    }
    if let Some(g) = &d.data_group
        && !group_known(m, &g.scope, &g.name)
    {
        errors.push(format!(
            "{at}: data group: there is no {} data group \"{}\"",
            g.scope, g.name
        ));
    }
    if let Some(f) = &d.find_field
        && !field_known(&m.dir, m.doc, "feedback", &f.group, &f.parameter)
    {
        errors.push(format!(
            "{at}: find field: the feedback data group \"{}\" has no field \"{}\"",
            f.group, f.parameter
        ));
    }
    if let Some(p) = &d.target_project
        && m.dir.project(p).is_none()
    {
        errors.push(format!(
            "{at}: target project: there is no project \"{p}\" here"
        ));
    }
    if let Err(e) = m.dir.place_value(d.place.as_ref()) {
        errors.push(format!("{at}: place: {e}"));
    }
}

fn check_source(m: &Matched, d: &SourceDoc, at: &str, errors: &mut Vec<String>) {
    let Some(project) = m.dir.project(&d.project) else {
        errors.push(format!(
            "{at}: project: there is no project \"{}\" here",
            d.project
        ));
        return;
    };
    let Some(type_id) = m.dir.feedback_type(project, &d.feedback_type) else {
        errors.push(format!(
            "{at}: feedback type: project \"{}\" has no feedback type \"{}\" here",
            d.project, d.feedback_type
        ));
        return;
    };
    if let Some(t) = &d.team
        && m.dir.team(t).is_none()
    {
        errors.push(format!("{at}: team: there is no team \"{t}\" here"));
    }
    if let Some(s) = &d.status
        && m.dir.status(type_id, s).is_none()
    {
        errors.push(format!(
            "{at}: status: {} has no status \"{s}\" here",
            d.feedback_type
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Apply

/// One line of the audit log about the import.
async fn note(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    detail: &str,
) -> Result<(), AppError> {
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    audit_trail::record(&txn, actor, action, "configuration", detail).await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

fn on(b: bool) -> Option<String> {
    b.then(|| "on".to_string())
}

fn id_text(id: Option<i32>) -> String {
    id.map(|v| v.to_string()).unwrap_or_default()
}

/// An error of a service call, in words, under the item it was about.
fn explain(at: &str, e: AppError) -> String {
    match e {
        AppError::Validation(fields) => format!(
            "{at}: {}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field.replace('_', " "), f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => format!("{at}: {other}"),
    }
}

/// Applies a document: re-plans it, refuses it if the plan has errors or no longer matches
/// the fingerprint the manager confirmed, then writes item by item. New listeners and sources
/// take `api_key_id`. The outcome says what was done and, if it stopped, why.
#[tracing::instrument(skip(db, sealer, actor, text), fields(actor_id = ?actor.user_id))]
pub async fn apply(
    db: &DatabaseConnection,
    sealer: &Sealer,
    actor: &Actor,
    text: &str,
    api_key_id: Option<i32>,
    fingerprint: Option<&str>,
) -> Result<ConfigOutcome, AppError> {
    let doc = parse(text)?;
    let plan = plan_of(db, text, &doc).await?;
    if !plan.errors.is_empty() {
        return Err(AppError::BadRequest(format!(
            "the document cannot be imported: {}",
            plan.errors.join("; ")
        )));
    }
    if let Some(f) = fingerprint
        && f != plan.fingerprint
    {
        return Err(AppError::Conflict(
            "the set-up here changed since the preview: look at the preview again".into(),
        ));
    }
    if plan.needs_api_key {
        match api_key_id {
            Some(id)
                if api_key::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .is_some_and(|k| k.enabled) => {}
            Some(_) => {
                return Err(AppError::field(
                    "api_key_id",
                    "choose an API key that exists and is switched on",
                ));
            }
            None => {
                return Err(AppError::field(
                    "api_key_id",
                    "choose the API key the new listeners and sources accept",
                ));
            }
        }
    }
    let mut outcome = ConfigOutcome {
        warnings: plan.warnings.clone(),
        ..Default::default()
    };
    note(
        db,
        actor,
        "configuration.import_started",
        &format!(
            "{} to create, {} to update",
            plan.count("create"),
            plan.count("update")
        ),
    )
    .await?;
    let result = apply_items(db, sealer, actor, &doc, api_key_id, &plan, &mut outcome).await;
    if let Err(message) = result {
        outcome.error = Some(message);
    }
    // What was written stands whatever happens to this line.
    let closing = note(
        db,
        actor,
        "configuration.imported",
        &format!(
            "{} created, {} updated, {} unchanged{}",
            outcome.created,
            outcome.updated,
            outcome.unchanged,
            outcome
                .error
                .as_deref()
                .map(|e| format!("; stopped: {e}"))
                .unwrap_or_default()
        ),
    )
    .await;
    if let Err(e) = closing {
        tracing::error!(error = %e, "the import's closing audit line was not written");
    }
    crate::server::cache::changed();
    Ok(outcome)
}

async fn apply_items(
    db: &DatabaseConnection,
    sealer: &Sealer,
    actor: &Actor,
    doc: &Document,
    api_key_id: Option<i32>,
    plan: &ConfigPlan,
    outcome: &mut ConfigOutcome,
) -> Result<(), String> {
    // What the plan said of an item; it is counted once done.
    let step = |kind: &str, name: &str| {
        plan.lines
            .iter()
            .find(|l| l.kind == kind && l.name == name)
            .map(|l| l.action.clone())
            .unwrap_or_default()
    };
    fn tally(outcome: &mut ConfigOutcome, action: &str) {
        match action {
            "create" => outcome.created += 1,
            "update" => outcome.updated += 1,
            LEFT_OUT => outcome.left_out += 1,
            _ => outcome.unchanged += 1,
        }
    }
    let fail = |at: &str| {
        let at = at.to_string();
        move |e: AppError| explain(&at, e)
    };
    // 1. Data groups.
    for g in &doc.data_groups {
        let at = label_of("data group", &g.name);
        let action = step("data group", &group_line(g));
        if action == "unchanged" {
            tally(outcome, &action);
            continue;
        }
        let dir = Directory::load(db).await.map_err(fail(&at))?;
        let id = match dir.group(&g.scope, &g.name) {
            Some(h) => h.id,
            None => external_data::create_group(
                db,
                actor,
                &NewDataGroupForm {
                    scope: g.scope.clone(),
                    name: g.name.clone(),
                },
            )
            .await
            .map_err(fail(&at))?,
        };
        let here = Directory::load(db).await.map_err(fail(&at))?;
        let merged = merged_group(here.group(&g.scope, &g.name).map(group_doc).as_ref(), g);
        let form = DataGroupForm {
            id: id.to_string(),
            name: g.name.clone(),
            fields: merged
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| DataFieldForm {
                    slot: i.to_string(),
                    label: f.label.clone(),
                    parameter: f.parameter.clone(),
                    kind: f.kind.clone(),
                    favorite: on(f.favorite),
                })
                .collect(),
        };
        external_data::save_group(db, actor, &form)
            .await
            .map_err(fail(&at))?;
        tally(outcome, &action);
    }
    // 2. Filters.
    for f in &doc.filters {
        let at = label_of("filter", &f.name);
        let action = step("filter", &f.name);
        if action == "unchanged" {
            tally(outcome, &action);
            continue;
        }
        let dir = Directory::load(db).await.map_err(fail(&at))?;
        let mut rows = Vec::new();
        for (gi, g) in f.groups.iter().enumerate() {
            if gi >= crate::types::FILTER_GROUPS || g.conditions.len() > ROWS_PER_GROUP {
                return Err(format!(
                    "{at}: at most {} groups of {ROWS_PER_GROUP} conditions",
                    crate::types::FILTER_GROUPS
                ));
            }
            for (ci, c) in g.conditions.iter().enumerate() {
                let (field, value) = condition_value(&dir, doc, &f.scope, c)
                    .map_err(|e| format!("{at}: groups[{gi}].conditions[{ci}]: {e}"))?;
                rows.push(FilterRowForm {
                    slot: (gi * ROWS_PER_GROUP + ci).to_string(),
                    field,
                    op: c.op.clone(),
                    value,
                });
            }
        }
        let form = FilterForm {
            id: id_text(dir.filter(&f.name).map(|x| x.id)),
            name: f.name.clone(),
            description: f.description.clone(),
            scope: f.scope.clone(),
            combine: f.match_.clone(),
            group_match: f.groups.iter().map(|g| g.match_.clone()).collect(),
            rows,
        };
        filters::save(db, actor, &form).await.map_err(fail(&at))?;
        tally(outcome, &action);
    }
    // 3. Macros, without sending webhooks until they have theirs; then their webhooks; then
    //    *Trigger webhooks* where the document has it.
    let now = Utc::now();
    for d in &doc.macros {
        let at = label_of("macro", &d.key);
        let action = step("macro", &d.key);
        let dir = Directory::load(db).await.map_err(fail(&at))?;
        let existing = dir.macro_by_key(&d.key);
        let has_webhooks = match existing {
            Some(x) => {
                webhooks::count_of_macro(db, x.id)
                    .await
                    .map_err(fail(&at))?
                    > 0
            }
            None => false,
        };
        let form = macro_form(&dir, d, existing.map(|x| x.id), has_webhooks, now)
            .map_err(|e| format!("{at}: {e}"))?;
        let macro_id = if action == "unchanged" {
            existing.map(|x| x.id).unwrap_or_default()
        } else {
            macros::save(db, sealer, actor, &form)
                .await
                .map_err(fail(&at))?
        };
        tally(outcome, &action);
        for (i, w) in d.webhooks.iter().enumerate() {
            let wat = format!("{at}, webhook \"{}\"", w.name);
            let action = step("webhook", &webhook_line(d, i));
            if action == "unchanged" || action == LEFT_OUT {
                tally(outcome, &action);
                continue;
            }
            let stored = webhook::Entity::find()
                .filter(webhook::Column::MacroId.eq(macro_id))
                .order_by_asc(webhook::Column::Id)
                .all(db)
                .await
                .map_err(|e| explain(&wat, e.into()))?;
            let dir = Directory::load(db).await.map_err(fail(&wat))?;
            let stored_docs: Vec<WebhookDoc> =
                stored.iter().map(|h| webhook_doc(&dir, h)).collect();
            // Paired against the webhooks as they are now, those written just before
            // included: the plan paired the same way against what was there.
            let here = pair_webhooks(&d.webhooks[..=i], &stored_docs)[i].map(|j| stored[j].clone());
            let here_doc = here.as_ref().map(|h| webhook_doc(&dir, h));
            let (kept, missing) = portable_headers(here_doc.as_ref(), w);
            let capture_group = match &w.capture {
                Some(c) => Some(
                    dir.group(&c.group.scope, &c.group.name)
                        .map(|g| g.id)
                        .ok_or_else(|| format!("{wat}: its capture group is missing"))?,
                ),
                None => None,
            };
            let form = WebhookForm {
                id: id_text(here.as_ref().map(|h| h.id)),
                macro_id: macro_id.to_string(),
                kind: w.kind.clone(),
                name: w.name.clone(),
                method: w.method.clone(),
                // A masked address or body is the one stored here (the plan left the webhook
                // out otherwise).
                url: match (&here, w.url.contains(MASK)) {
                    (Some(h), true) => h.url.clone(),
                    _ => w.url.clone(),
                },
                headers: kept.join("\n"),
                content_type: w.content_type.clone(),
                body: match (&here, w.body.contains(MASK)) {
                    (Some(h), true) => h.body.clone(),
                    _ => w.body.clone(),
                },
                email_to: w.email_to.clone(),
                email_subject: w.email_subject.clone(),
                signing: on(w.signing),
                capture: on(w.capture.is_some()),
                capture_group_id: id_text(capture_group),
                capture_project_id: id_text(
                    w.capture
                        .as_ref()
                        .and_then(|c| c.project.as_deref())
                        .and_then(|p| dir.project(p)),
                ),
                new_group: Default::default(),
                retry_schedule: w.retry_schedule.clone(),
            };
            // Without its secret header it is paused as it is written: it never goes out
            // before someone types the secret and resumes it.
            let held = (!missing.is_empty()).then(|| {
                format!(
                    "imported without the value of {}: type it, then resume",
                    missing.join(", ")
                )
            });
            webhooks::save_held(db, sealer, actor, &form, held.as_deref())
                .await
                .map_err(fail(&wat))?;
            tally(outcome, &action);
        }
        // *Trigger webhooks* as the document has it, once the macro has webhooks to send
        // (saving a webhook switches it on).
        let now_has = webhooks::count_of_macro(db, macro_id)
            .await
            .map_err(fail(&at))?
            > 0;
        let stored = macro_def::Entity::find_by_id(macro_id)
            .one(db)
            .await
            .map_err(|e| explain(&at, e.into()))?
            .is_some_and(|m| m.trigger_webhooks);
        if stored != (d.trigger_webhooks && now_has) {
            let dir = Directory::load(db).await.map_err(fail(&at))?;
            let form = macro_form(&dir, d, Some(macro_id), now_has, now)
                .map_err(|e| format!("{at}: {e}"))?;
            macros::save(db, sealer, actor, &form)
                .await
                .map_err(fail(&at))?;
        }
    }
    // 4. Listeners.
    for d in &doc.listeners {
        let at = label_of("listener", &d.key);
        let action = step("listener", &listener_line(d));
        if action == "unchanged" {
            tally(outcome, &action);
            continue;
        }
        let dir = Directory::load(db).await.map_err(fail(&at))?;
        let form = listener_form(&dir, d, api_key_id).map_err(|e| format!("{at}: {e}"))?;
        listeners::save(db, actor, &form).await.map_err(fail(&at))?;
        tally(outcome, &action);
    }
    // 5. External sources.
    for d in &doc.external_sources {
        let at = label_of("external source", &d.key);
        let action = step("external source", &d.key);
        if action == "unchanged" {
            tally(outcome, &action);
            continue;
        }
        let dir = Directory::load(db).await.map_err(fail(&at))?;
        let form = source_form(&dir, d, api_key_id).map_err(|e| format!("{at}: {e}"))?;
        external_sources::save(db, actor, &form)
            .await
            .map_err(fail(&at))?;
        tally(outcome, &action);
    }
    Ok(())
}

fn macro_form(
    dir: &Directory,
    d: &MacroDoc,
    id: Option<i32>,
    has_webhooks: bool,
    now: DateTime<Utc>,
) -> Result<MacroForm, String> {
    let filter_id = |name: &Option<String>| -> Result<String, String> {
        match name {
            None => Ok(String::new()),
            Some(n) => dir
                .filter(n)
                .map(|f| f.id.to_string())
                .ok_or_else(|| format!("there is no filter \"{n}\"")),
        }
    };
    let here_start = dir
        .macro_by_key(&d.key)
        .filter(|m| m.schedule_frequency == "once")
        .and_then(|m| m.schedule_starts_at.map(|at| (at, m.schedule_enabled)));
    let schedule = d
        .schedule
        .as_ref()
        .map(|s| imported_schedule(s, now, here_start));
    let moment = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    Ok(MacroForm {
        id: id_text(id),
        name: d.name.clone(),
        description: d.description.clone(),
        key: d.key.clone(),
        actions: d
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| MacroActionForm {
                slot: i.to_string(),
                kind: a.kind.clone(),
                value: a.value.clone(),
            })
            .collect(),
        remove_user: on(d.remove_user),
        include_on_dashboard: on(d.include_on_dashboard),
        show_in_user_actions: on(d.show_in_user_actions),
        run_once_per_user: on(d.run_once_per_user),
        suppress_confirmation: on(d.suppress_confirmation),
        scope: d.scope.clone(),
        on_submit: on(d.automation.on_submit),
        on_modify: on(d.automation.on_modify),
        automation_filter_id: filter_id(&d.automation.filter)?,
        on_user_created: on(d.automation.on_user_created),
        on_team_join: on(d.automation.on_team_join),
        on_team_leave: on(d.automation.on_team_leave),
        event_team_id: match &d.automation.team {
            None => String::new(),
            Some(t) => dir
                .team(t)
                .map(|id| id.to_string())
                .ok_or_else(|| format!("there is no team \"{t}\""))?,
        },
        schedule_frequency: schedule
            .as_ref()
            .map(|s| s.frequency.clone())
            .unwrap_or_default(),
        schedule_filter_id: filter_id(&schedule.as_ref().map(|s| s.filter.clone()))?,
        schedule_starts_at: schedule
            .as_ref()
            .map(|s| moment(&s.starts_at))
            .unwrap_or_default(),
        schedule_ends_at: schedule
            .as_ref()
            .and_then(|s| s.ends_at.as_ref())
            .map(moment)
            .unwrap_or_default(),
        schedule_enabled: on(schedule.as_ref().is_some_and(|s| s.enabled)),
        trigger_webhooks: on(d.trigger_webhooks && has_webhooks),
        webhook: WebhookForm::default(),
        place: dir.place_value(d.place.as_ref())?,
    })
}

fn listener_form(
    dir: &Directory,
    d: &ListenerDoc,
    api_key_id: Option<i32>,
) -> Result<ListenerForm, String> {
    let existing = dir
        .listeners
        .iter()
        .find(|l| l.scope.as_str() == d.scope && l.kind.as_str() == d.kind && l.key == d.key);
    Ok(ListenerForm {
        id: id_text(existing.map(|l| l.id)),
        name: d.name.clone(),
        description: d.description.clone(),
        key: d.key.clone(),
        filter_id: match &d.filter {
            None => String::new(),
            Some(n) => id_text(Some(
                dir.filter(n)
                    .ok_or_else(|| format!("there is no filter \"{n}\""))?
                    .id,
            )),
        },
        kind: d.kind.clone(),
        macro_id: match &d.macro_key {
            None => String::new(),
            Some(k) => id_text(Some(
                dir.macro_by_key(k)
                    .ok_or_else(|| format!("there is no macro \"{k}\""))?
                    .id,
            )),
        },
        author_field: d.author_field.clone(),
        comment_field: d.comment_field.clone(),
        data_group_id: match &d.data_group {
            None => String::new(),
            Some(g) => id_text(Some(
                dir.group(&g.scope, &g.name)
                    .ok_or_else(|| format!("there is no data group \"{}\"", g.name))?
                    .id,
            )),
        },
        group_name: String::new(),
        group_scope: String::new(),
        fields: Vec::new(),
        // A listener here keeps the key its callers present.
        api_key_id: id_text(existing.and_then(|l| l.api_key_id).or(api_key_id)),
        enabled: on(d.enabled),
        scope: d.scope.clone(),
        find_field_id: match &d.find_field {
            None => String::new(),
            Some(f) => id_text(Some(
                dir.field("feedback", &f.group, &f.parameter)
                    .ok_or_else(|| format!("there is no field \"{}\"", f.parameter))?,
            )),
        },
        target_project_id: match &d.target_project {
            None => String::new(),
            Some(p) => id_text(Some(
                dir.project(p)
                    .ok_or_else(|| format!("there is no project \"{p}\""))?,
            )),
        },
        project_param: d.project_param.clone(),
        find_path: d.find_path.clone(),
        accepts_form: on(d.accepts_form),
        place: dir.place_value(d.place.as_ref())?,
    })
}

fn source_form(
    dir: &Directory,
    d: &SourceDoc,
    api_key_id: Option<i32>,
) -> Result<ExternalSourceForm, String> {
    let existing = dir.sources.iter().find(|s| s.key == d.key);
    let project = dir
        .project(&d.project)
        .ok_or_else(|| format!("there is no project \"{}\"", d.project))?;
    let type_id = dir
        .feedback_type(project, &d.feedback_type)
        .ok_or_else(|| format!("there is no feedback type \"{}\"", d.feedback_type))?;
    Ok(ExternalSourceForm {
        id: id_text(existing.map(|s| s.id)),
        project_id: project.to_string(),
        feedback_type_id: type_id.to_string(),
        name: d.name.clone(),
        key: d.key.clone(),
        api_key_id: id_text(existing.and_then(|s| s.api_key_id).or(api_key_id)),
        team_id: id_text(d.team.as_deref().and_then(|t| dir.team(t))),
        status_id: id_text(d.status.as_deref().and_then(|s| dir.status(type_id, s))),
        status_param: d.status_param.clone(),
        submitter: d.submitter.clone(),
        submitter_param: d.submitter_param.clone(),
        mapping: d.mapping.clone(),
        enabled: on(d.enabled),
    })
}

// ---------------------------------------------------------------------------------------------
// Imports from the screen: the document waits for the manager's confirmation

const PENDING: &str = "pending";
const APPLYING: &str = "applying";
const FAILED: &str = "failed";

/// Keeps an uploaded document for its preview; its id. A document that cannot be read is
/// refused here, with why.
#[tracing::instrument(skip_all, fields(actor_id = ?actor.user_id))]
pub async fn upload(
    db: &DatabaseConnection,
    actor: &Actor,
    file_name: &str,
    bytes: &[u8],
) -> Result<i32, AppError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| AppError::field("document", "is not UTF-8 text"))?;
    parse(text)?;
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let row = config_import::ActiveModel {
        file_name: Set(file_name.chars().take(200).collect()),
        document: Set(text.to_string()),
        status: Set(PENDING.into()),
        outcome: Set(String::new()),
        created_by: Set(actor.label.chars().take(200).collect()),
        created_at: Set(Utc::now()),
        applied_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit_trail::record(&txn, actor, "configuration.uploaded", file_name, "").await?;
    txn.commit().await?;
    drop(gate);
    Ok(row.id)
}

/// An import taken for applying 15 minutes ago and never finished (the server stopped while
/// applying it) is marked failed, saying so; whether it was.
async fn settle_interrupted(
    db: &DatabaseConnection,
    row: &config_import::Model,
) -> Result<bool, AppError> {
    let stale = row.status == APPLYING
        && row
            .applied_at
            .is_some_and(|started| Utc::now() - started > chrono::Duration::minutes(15));
    if !stale {
        return Ok(false);
    }
    let interrupted = ConfigOutcome {
        error: Some(
            "the import was interrupted (the server stopped while applying it); import the same file again to finish".into(),
        ),
        ..Default::default()
    };
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    config_import::Entity::update_many()
        .col_expr(config_import::Column::Status, Expr::value(FAILED))
        .col_expr(config_import::Column::Document, Expr::value(""))
        .col_expr(
            config_import::Column::Outcome,
            Expr::value(serde_json::to_string(&interrupted).map_err(|e| AppError::internal(e))?),
        )
        .filter(config_import::Column::Id.eq(row.id))
        .filter(config_import::Column::Status.eq(APPLYING))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    drop(gate);
    Ok(true)
}

async fn find_import(db: &impl ConnectionTrait, id: i32) -> Result<config_import::Model, AppError> {
    config_import::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("import {id}")))
}

/// An uploaded import: while pending, its plan against the installation as it is now.
pub async fn view(db: &DatabaseConnection, id: i32) -> Result<ConfigImportView, AppError> {
    let mut row = find_import(db, id).await?;
    if settle_interrupted(db, &row).await? {
        row = find_import(db, id).await?;
    }
    let plan = match row.status.as_str() {
        PENDING => Some(plan(db, &row.document).await?),
        _ => None,
    };
    let api_keys = api_key::Entity::find()
        .filter(api_key::Column::Enabled.eq(true))
        .order_by_asc(api_key::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|k| (k.id, k.name))
        .collect();
    Ok(ConfigImportView {
        id: row.id,
        file_name: row.file_name,
        created_at: crate::server::domain::format_time(&row.created_at),
        created_by: row.created_by,
        status: row.status,
        plan,
        outcome: serde_json::from_str(&row.outcome).ok(),
        api_keys,
    })
}

/// Applies a pending import the manager confirmed. Confirmed twice (a double click, two
/// tabs), it is applied once: the second confirmation waits for the first and gets the same
/// outcome.
#[tracing::instrument(skip(db, sealer, actor), fields(actor_id = ?actor.user_id))]
pub async fn confirm(
    db: &DatabaseConnection,
    sealer: &std::sync::Arc<Sealer>,
    actor: &Actor,
    id: i32,
    fingerprint: &str,
    api_key_id: Option<i32>,
) -> Result<ConfigOutcome, AppError> {
    let mut row = find_import(db, id).await?;
    // Another confirmation is applying it: its outcome is this one's too.
    let waiting_since = std::time::Instant::now();
    while row.status == APPLYING {
        if settle_interrupted(db, &row).await? {
            row = find_import(db, id).await?;
            continue;
        }
        if waiting_since.elapsed() > std::time::Duration::from_secs(120) {
            return Err(AppError::Unavailable {
                message: "this import is still being applied: reload the page in a moment".into(),
                retry_after_secs: 5,
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        row = find_import(db, id).await?;
    }
    if row.status != PENDING {
        return serde_json::from_str::<ConfigOutcome>(&row.outcome)
            .map_err(|e| AppError::internal(e));
    }
    // Take it first: only one confirmation moves it out of pending, and one that comes
    // meanwhile waits for its outcome above. `apply` then checks the plan, the fingerprint and
    // the key before it writes anything; refused, the import waits again.
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let taken = config_import::Entity::update_many()
        .col_expr(config_import::Column::Status, Expr::value(APPLYING))
        // While applying: when it was taken.
        .col_expr(config_import::Column::AppliedAt, Expr::value(Utc::now()))
        .filter(config_import::Column::Id.eq(id))
        .filter(config_import::Column::Status.eq(PENDING))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    drop(gate);
    if taken == 0 {
        return Box::pin(confirm(db, sealer, actor, id, fingerprint, api_key_id)).await;
    }
    // Applied on a task of its own: a request the browser gives up on does not stop an
    // import half-way.
    let task = {
        let (db, sealer, actor) = (db.clone(), sealer.clone(), actor.clone());
        let (document, fingerprint) = (row.document.clone(), fingerprint.to_string());
        tokio::spawn(async move {
            let result = apply(
                &db,
                &sealer,
                &actor,
                &document,
                api_key_id,
                Some(&fingerprint),
            )
            .await;
            finish(&db, id, &result).await?;
            result
        })
    };
    task.await.map_err(|e| AppError::internal(e))?
}

/// Records how applying an import ended, unless it was meanwhile marked interrupted.
async fn finish(
    db: &DatabaseConnection,
    id: i32,
    result: &Result<ConfigOutcome, AppError>,
) -> Result<(), AppError> {
    let update = config_import::Entity::update_many()
        .filter(config_import::Column::Id.eq(id))
        .filter(config_import::Column::Status.eq(APPLYING));
    let update = match result {
        Ok(o) => update
            .col_expr(
                config_import::Column::Status,
                Expr::value(if o.error.is_none() { "applied" } else { FAILED }),
            )
            // What was applied is in the installation now; the file is not kept.
            .col_expr(config_import::Column::Document, Expr::value(""))
            .col_expr(
                config_import::Column::Outcome,
                Expr::value(serde_json::to_string(o).map_err(|e| AppError::internal(e))?),
            )
            .col_expr(config_import::Column::AppliedAt, Expr::value(Utc::now())),
        // Refused before anything was written: it waits again (the document as it is now:
        // an erasure may have cut it meanwhile).
        Err(_) => update
            .col_expr(config_import::Column::Status, Expr::value(PENDING))
            .col_expr(
                config_import::Column::AppliedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            ),
    };
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    update.exec(&txn).await?;
    txn.commit().await?;
    drop(gate);
    Ok(())
}

/// What an export holds now, and the latest imports.
pub async fn overview(db: &impl ConnectionTrait) -> Result<ConfigOverview, AppError> {
    let doc = export(db).await?;
    let counts = [
        ("data group", doc.data_groups.len()),
        ("filter", doc.filters.len()),
        ("macro", doc.macros.len()),
        ("webhook", doc.macros.iter().map(|m| m.webhooks.len()).sum()),
        ("listener", doc.listeners.len()),
        ("external source", doc.external_sources.len()),
    ]
    .into_iter()
    .map(|(k, n)| {
        (
            if n == 1 {
                k.to_string()
            } else {
                format!("{k}s")
            },
            n,
        )
    })
    .collect();
    let imports = config_import::Entity::find()
        .order_by_desc(config_import::Column::Id)
        .limit(20)
        .all(db)
        .await?
        .into_iter()
        .map(|r| ConfigImportRow {
            id: r.id,
            file_name: r.file_name,
            created_at: crate::server::domain::format_time(&r.created_at),
            created_by: r.created_by,
            status: r.status,
        })
        .collect();
    Ok(ConfigOverview { counts, imports })
}

/// The id of the API key of this name (the command line names keys).
pub async fn api_key_named(db: &impl ConnectionTrait, name: &str) -> Result<Option<i32>, AppError> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::Name.eq(name.trim()))
        .one(db)
        .await?
        .map(|k| k.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_are_credentials_are_masked_in_the_export() {
        for (url, masked) in [
            (
                "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
                "https://hooks.slack.com/services/••••••",
            ),
            (
                "https://discord.com/api/webhooks/123/abc-def",
                "https://discord.com/api/webhooks/••••••",
            ),
            (
                "https://acme.webhook.office.com/webhookb2/aaa@bbb/IncomingWebhook/ccc",
                "https://acme.webhook.office.com/webhookb2/••••••",
            ),
            (
                "https://crm.example/api/((user.id))?api_key=k-123&lang=en",
                "https://crm.example/api/((user.id))?api_key=••••••&lang=en",
            ),
            (
                "https://x.example/hook?Token=((user.email))",
                "https://x.example/hook?Token=••••••",
            ),
            // Nothing secret: exactly as written.
            (
                "https://jira.example/rest/api/2/issue/((external.Jira.key))?expand=names",
                "https://jira.example/rest/api/2/issue/((external.Jira.key))?expand=names",
            ),
            ("https://hooks.slack.com/", "https://hooks.slack.com/"),
            (
                "https://bot:hunter2@crm.example/hook",
                "https://bot:••••••@crm.example/hook",
            ),
            (
                "https://chat.googleapis.com/v1/spaces/X/messages?key=K&token=T",
                "https://chat.googleapis.com/v1/spaces/X/messages?key=••••••&token=••••••",
            ),
            (
                "http://[::1]:8080/x?sig=abc",
                "http://[::1]:8080/x?sig=••••••",
            ),
            ("https://", "https://"),
            ("?a=b", "?a=b"),
        ] {
            assert_eq!(masked_url(url), masked, "{url}");
        }
    }

    #[test]
    fn secret_values_in_bodies_are_masked_in_the_export() {
        assert_eq!(
            masked_body(
                r#"{"text": "((feedback.title))", "auth": {"client_secret": "s3cret"}}"#,
                false
            ),
            r#"{"auth":{"client_secret":"••••••"},"text":"((feedback.title))"}"#
        );
        // A body without a secret stays as written, spacing and all.
        let plain = "{\n  \"email\": \"((user.email))\"\n}";
        assert_eq!(masked_body(plain, false), plain);
        assert_eq!(
            masked_body("email=((user.email))&token=abc&x=1", true),
            "email=((user.email))&token=••••••&x=1"
        );
        // Not JSON as written (an unquoted tag): the secret's value masked where it stands.
        assert_eq!(
            masked_body(
                r#"{"api_key": "abc\"def", "score": ((user.score)), "name": "((user.first_name))"}"#,
                false
            ),
            r#"{"api_key": "••••••", "score": ((user.score)), "name": "((user.first_name))"}"#
        );
        assert_eq!(masked_body(r#"{"token": "#, false), r#"{"token": "#);
        assert_eq!(masked_body(r#"{"token": "é"#, false), r#"{"token": "é"#);
    }

    #[test]
    fn keys_are_read_as_the_services_keep_them() {
        let doc = parse(
            r#"{"format": "switchyard.configuration", "version": 1,
                "macros": [{"scope": "user", "key": " Deploy ", "name": "D"}],
                "listeners": [{"scope": "user", "kind": "macro", "key": "Hook", "name": "H", "macro": "DEPLOY"}]}"#,
        )
        .unwrap();
        assert_eq!(doc.macros[0].key, "deploy");
        assert_eq!(doc.listeners[0].key, "hook");
        assert_eq!(doc.listeners[0].macro_key.as_deref(), Some("deploy"));
    }

    #[test]
    fn a_document_of_another_kind_or_version_is_named_as_such() {
        let message = |text: &str| match parse(text) {
            Err(AppError::Validation(f)) => f[0].message.clone(),
            other => panic!("{other:?}"),
        };
        assert!(message("nope").starts_with("is not JSON"));
        assert!(message(r#"{"users": []}"#).contains("is not a Switchyard configuration"));
        assert_eq!(
            message(r#"{"format": "switchyard.configuration", "version": 2}"#),
            "is version 2; this installation reads version 1"
        );
        assert!(
            message(r#"{"format": "switchyard.configuration", "version": 1, "macross": []}"#)
                .contains("unknown field `macross`")
        );
    }
}
