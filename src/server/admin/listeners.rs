//! External listeners on the screens: their settings, the list and form, what stops a macro,
//! filter or data group from being deleted while a listener uses it, and the listener page's
//! dry run (what a call would do, without doing it). What a call does is
//! `engine::inbound::listeners`.

use crate::server::engine::matching;
use crate::server::store::audit_trail;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use super::{Actor, external_data, filters};
use crate::errors::{AppError, FieldErrors};
use crate::server::cache::Lookups;
use crate::server::domain::{parse_id, parse_key};
use crate::server::engine::inbound::Reply;
use crate::server::engine::inbound::listeners::{Logged, Resolved, Target, resolve};
use crate::server::engine::matching::SCOPE_FEEDBACK;
use crate::server::engine::runs;
use crate::server::entities::{
    api_key, data_field, data_group, listener, macro_def, project, ticket, user,
};
use crate::server::settings::Settings;
use crate::shared::vocab::{DataScope, ListenerKind, RunStatus};
use crate::types::{
    ListenerForm, ListenerFormOptions, ListenerTestView, ListenerView, NEW_DATA_GROUP,
    listener_endpoint,
};

async fn names<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    name_col: E::Column,
) -> Result<Vec<(i32, String)>, AppError> {
    Ok(E::find()
        .select_only()
        .column(id_col)
        .column(name_col)
        .into_tuple()
        .all(db)
        .await?)
}

/// The names a listener refers to, loaded once per request (for one scope, or for all).
struct Choices {
    filters: Vec<(i32, String)>,
    macros: Vec<(i32, String)>,
    data_groups: Vec<(i32, String)>,
    find_fields: Vec<(i32, String)>,
    api_keys: Vec<(i32, String)>,
    projects: Vec<(i32, String)>,
    places: super::places::Places,
}

async fn choices(db: &impl ConnectionTrait, scope: Option<&str>) -> Result<Choices, AppError> {
    let mut filters_q = crate::server::entities::filter::Entity::find()
        .select_only()
        .column(crate::server::entities::filter::Column::Id)
        .column(crate::server::entities::filter::Column::Name)
        .order_by_asc(crate::server::entities::filter::Column::Name);
    let mut macros_q = macro_def::Entity::find()
        .select_only()
        .column(macro_def::Column::Id)
        .column(macro_def::Column::Name)
        .order_by_asc(macro_def::Column::Name);
    let mut groups_q = data_group::Entity::find().order_by_asc(data_group::Column::Name);
    if let Some(scope) = scope {
        filters_q = filters_q.filter(crate::server::entities::filter::Column::Scope.eq(scope));
        macros_q = macros_q.filter(macro_def::Column::Scope.eq(scope));
        // Project groups too: a listener may store on a project (see `project_of`).
        groups_q = groups_q.filter(data_group::Column::Scope.is_in([scope, "project"]));
    }
    let mut find_fields = Vec::new();
    if scope.is_none_or(|s| s == SCOPE_FEEDBACK) {
        let feedback_groups = data_group::Entity::find()
            .filter(data_group::Column::Scope.eq(SCOPE_FEEDBACK))
            .all(db)
            .await?;
        for f in data_field::Entity::find()
            .filter(data_field::Column::GroupId.is_in(feedback_groups.iter().map(|g| g.id)))
            .filter(data_field::Column::Kind.is_in(["string", "integer"]))
            .order_by_asc(data_field::Column::Label)
            .all(db)
            .await?
        {
            let group = feedback_groups
                .iter()
                .find(|g| g.id == f.group_id)
                .map(|g| g.name.as_str())
                .unwrap_or("?");
            find_fields.push((f.id, format!("{group} · {}", f.label)));
        }
    }
    Ok(Choices {
        filters: filters_q.into_tuple().all(db).await?,
        macros: macros_q.into_tuple().all(db).await?,
        data_groups: groups_q
            .all(db)
            .await?
            .into_iter()
            .map(|g| {
                let label = if g.scope == DataScope::Project {
                    format!("{} (on a project)", g.name)
                } else {
                    g.name
                };
                (g.id, label)
            })
            .collect(),
        projects: names::<project::Entity>(db, project::Column::Id, project::Column::Name).await?,
        find_fields,
        api_keys: names::<api_key::Entity>(db, api_key::Column::Id, api_key::Column::Name).await?,
        places: super::places::load(db).await?,
    })
}

fn view(settings: &Settings, choices: &Choices, l: listener::Model) -> ListenerView {
    let pick = |list: &[(i32, String)], id: Option<i32>| {
        id.and_then(|id| list.iter().find(|(i, _)| *i == id).cloned())
    };
    ListenerView {
        endpoint: listener_endpoint(
            settings.public_base_url.as_str(),
            l.scope.as_str(),
            l.kind,
            &l.key,
        ),
        filter: pick(&choices.filters, l.filter_id),
        macro_: pick(&choices.macros, l.macro_id),
        data_group: pick(&choices.data_groups, l.data_group_id),
        find_field: pick(&choices.find_fields, l.find_field_id),
        place: if l.scope.as_str() == SCOPE_FEEDBACK {
            choices.places.view(l.place_project_id, l.place_type_id)
        } else {
            Default::default()
        },
        scope: l.scope.to_string(),
        kind: l.kind,
        author_field: l.author_field,
        comment_field: l.comment_field,
        api_key: pick(&choices.api_keys, l.api_key_id),
        project: pick(&choices.projects, l.target_project_id),
        project_param: l.project_param,
        find_path: l.find_path,
        accepts_form: l.accepts_form,
        signature_label: crate::server::domain::inbound_signature::Scheme::parse(
            &l.signature_scheme,
        )
        .map(|s| s.label().to_string())
        .unwrap_or_default(),
        signature_scheme: l.signature_scheme,
        old_secret_until: l
            .old_secret_until
            .filter(|until| *until > Utc::now())
            .as_ref()
            .map(crate::server::domain::format_time),
        id: l.id,
        name: l.name,
        description: l.description,
        key: l.key,
        enabled: l.enabled,
    }
}

pub async fn list(
    db: &impl ConnectionTrait,
    settings: &Settings,
) -> Result<Vec<ListenerView>, AppError> {
    let choices = choices(db, None).await?;
    Ok(listener::Entity::find()
        .order_by_desc(listener::Column::Scope)
        .order_by_asc(listener::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|l| view(settings, &choices, l))
        .collect())
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<listener::Model, AppError> {
    listener::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("listener {id}")))
}

/// What the editor offers: for a listener being edited, its scope's choices; for a new one,
/// those of `scope`.
pub async fn form_options(
    db: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    id: Option<i32>,
    scope: &str,
) -> Result<ListenerFormOptions, AppError> {
    let existing = match id {
        Some(id) => Some(find(db, id).await?),
        None => None,
    };
    let scope = matching::parse_scope(existing.as_ref().map(|l| l.scope.as_str()).unwrap_or(scope));
    let choices = choices(db, Some(scope)).await?;
    let listener = existing.map(|l| view(settings, &choices, l));
    // A project manager is not offered removal macros, and a listener that runs one is
    // shown without its form and delete control (`save` and `delete` refuse them anyway).
    let locked_macros = super::removals_locked_for(db, actor).await?;
    let locked = listener
        .as_ref()
        .and_then(|l| l.macro_.as_ref())
        .is_some_and(|(id, _)| locked_macros.contains(id));
    Ok(ListenerFormOptions {
        scope: scope.to_string(),
        base_url: settings.public_base_url.to_string(),
        listener,
        locked,
        find_fields: choices.find_fields,
        filters: choices.filters,
        macros: choices
            .macros
            .into_iter()
            .filter(|(id, _)| !locked_macros.contains(id))
            .collect(),
        data_groups: choices.data_groups,
        api_keys: choices.api_keys,
        projects: choices.projects,
        places: if scope == SCOPE_FEEDBACK {
            choices.places.choices()
        } else {
            Vec::new()
        },
    })
}

#[tracing::instrument(skip(db, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &ListenerForm,
) -> Result<i32, AppError> {
    let existing = match form.id.trim() {
        "" => None,
        raw => Some(find(db, parse_id(raw).map_err(|m| AppError::field("id", m))?).await?),
    };
    let scope = matching::parse_scope(
        existing
            .as_ref()
            .map(|l| l.scope.as_str())
            .unwrap_or(&form.scope),
    );
    let mut errors = FieldErrors::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("name", "is required (at most 100 characters)");
    }
    let key = errors
        .check("key", parse_key(&form.key))
        .unwrap_or_default();
    let optional_id = |raw: &str| -> Result<Option<i32>, String> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            parse_id(raw).map(Some)
        }
    };
    let filter_id = errors
        .check("filter_id", optional_id(&form.filter_id))
        .flatten();
    let kind = match form.kind.trim() {
        "" => ListenerKind::Macro,
        k => ListenerKind::parse(k).unwrap_or_else(|| {
            errors.push(
                "kind",
                "must be Macro Execution, Add Comment or External Data",
            );
            ListenerKind::Macro
        }),
    };
    // A key of the body, or a path into it (`issue.fields.reporter.emailAddress`).
    let body_key = |raw: &str| -> Result<String, String> {
        crate::server::domain::body_path::BodyPath::parse(raw).map(|p| p.as_str().to_string())
    };
    let find_path = match form.find_path.trim() {
        "" if existing
            .as_ref()
            .is_some_and(|l| !l.signature_scheme.is_empty()) =>
        {
            errors.push(
                "find_path",
                "is needed while the listener takes signed calls (they name their target in the signed body): stop signing first",
            );
            String::new()
        }
        "" => String::new(),
        raw => errors.check("find_path", body_key(raw)).unwrap_or_default(),
    };
    let creates_group = kind == ListenerKind::Data && form.data_group_id.trim() == NEW_DATA_GROUP;
    // What each kind needs, and nothing of the others'.
    let (macro_id, (author_field, comment_field), data_group_id) = match kind {
        ListenerKind::Macro => (
            errors.check(
                "macro_id",
                parse_id(&form.macro_id).map_err(|_| "choose the macro to run".to_string()),
            ),
            (String::new(), String::new()),
            None,
        ),
        ListenerKind::Comment => {
            let a = errors.check("author_field", body_key(&form.author_field));
            let c = errors.check("comment_field", body_key(&form.comment_field));
            if a.is_some() && a == c {
                errors.push("comment_field", "must differ from the author field");
            }
            (None, (a.unwrap_or_default(), c.unwrap_or_default()), None)
        }
        ListenerKind::Data if creates_group => (None, (String::new(), String::new()), None),
        ListenerKind::Data => (
            None,
            (String::new(), String::new()),
            errors.check(
                "data_group_id",
                parse_id(&form.data_group_id).map_err(|_| {
                    "choose the data group the body's parameters belong to".to_string()
                }),
            ),
        ),
    };
    // A group created with the listener: checked here, written in the listener's transaction;
    // a project group, or one of the listener's own scope.
    let new_group_scope = match form.group_scope.trim() {
        "project" => DataScope::Project,
        _ => DataScope::from(matching::scope_of(scope)),
    };
    let new_group = if creates_group {
        if form.fields.iter().all(|f| f.label.trim().is_empty()) {
            errors.push(
                "fields",
                "give the new group at least one field: its label and the parameter the other system sends",
            );
        }
        external_data::check_new_group(
            db,
            new_group_scope,
            &form.group_name,
            "group_name",
            &form.fields,
            &mut errors,
        )
        .await?
    } else {
        None
    };
    let mut project_group = creates_group && new_group_scope == DataScope::Project;
    if let Some(id) = data_group_id {
        let group = data_group::Entity::find_by_id(id).one(db).await?;
        project_group = group
            .as_ref()
            .is_some_and(|g| g.scope == DataScope::Project);
        if group.is_none_or(|g| g.scope != scope && g.scope != DataScope::Project) {
            errors.push(
                "data_group_id",
                if scope == SCOPE_FEEDBACK {
                    "that data group does not exist for feedback or projects"
                } else {
                    "that data group does not exist for users or projects"
                },
            );
        }
    }
    // The project of a user listener: what its comments are about, or (a project group) what
    // its data is stored on; a fixed one, or one the body names per call. Feedback listeners
    // use the ticket's project.
    let takes_project = scope != SCOPE_FEEDBACK
        && (kind == ListenerKind::Comment || (kind == ListenerKind::Data && project_group));
    let (target_project_id, project_param) = if takes_project {
        let project_id = errors
            .check("target_project_id", optional_id(&form.target_project_id))
            .flatten();
        if let Some(id) = project_id
            && project::Entity::find_by_id(id).count(db).await? == 0
        {
            errors.push("target_project_id", "that project does not exist");
        }
        let param = match form.project_param.trim() {
            "" => String::new(),
            raw => errors
                .check("project_param", body_key(raw))
                .unwrap_or_default(),
        };
        if !param.is_empty()
            && kind == ListenerKind::Comment
            && (param == author_field || param == comment_field)
        {
            errors.push(
                "project_param",
                "must differ from the author and comment fields",
            );
        }
        if kind == ListenerKind::Data && project_id.is_none() && param.is_empty() {
            errors.push(
                "target_project_id",
                "choose the project the data is stored on, or name the body key that names it (a project group)",
            );
        }
        (project_id, param)
    } else {
        (None, String::new())
    };
    let find_field_id = if scope == SCOPE_FEEDBACK {
        errors
            .check(
                "find_field_id",
                match form.find_field_id.trim() {
                    "" => Ok(None),
                    raw => parse_id(raw).map(Some),
                },
            )
            .flatten()
    } else {
        None
    };
    if let Some(id) = find_field_id {
        let usable = match data_field::Entity::find_by_id(id).one(db).await? {
            Some(f) if f.kind == "string" || f.kind == "integer" => {
                data_group::Entity::find_by_id(f.group_id)
                    .one(db)
                    .await?
                    .is_some_and(|g| g.scope == SCOPE_FEEDBACK)
            }
            _ => false,
        };
        if !usable {
            errors.push(
                "find_field_id",
                "must be a String or Integer field of a feedback data group",
            );
        }
    }
    // Where a feedback listener finds its tickets: every project, a project, or a type of one.
    let place = if scope == SCOPE_FEEDBACK {
        super::places::check(db, &form.place, "place", &mut errors).await?
    } else {
        Default::default()
    };
    let api_key_id = errors.check(
        "api_key_id",
        parse_id(&form.api_key_id)
            .map_err(|_| "choose the API key callers must present".to_string()),
    );
    if let Some(id) = filter_id
        && let Err(e) = matching::find_in_scope(db, id, scope, "filter_id").await
    {
        errors.absorb(e)?;
    }
    if let Some(id) = macro_id
        && let Err(e) = runs::macro_in_scope(db, id, scope, "macro_id").await
    {
        errors.absorb(e)?;
    }
    // A listener that runs a removal, before or after the change, is a removal's to set.
    let mut removes = false;
    for id in [macro_id, existing.as_ref().and_then(|l| l.macro_id)]
        .into_iter()
        .flatten()
    {
        // A macro that is gone was already named in the errors above.
        if let Some(m) = macro_def::Entity::find_by_id(id).one(db).await? {
            removes |= crate::server::store::lookups::macro_of(&m)?.removes();
        }
    }
    super::refuse_removal_to_project_managers(actor, removes)?;
    if let Some(id) = api_key_id
        && api_key::Entity::find_by_id(id).count(db).await? == 0
    {
        errors.push("api_key_id", "that API key does not exist");
    }
    let mut clash = listener::Entity::find()
        .filter(listener::Column::Scope.eq(scope))
        .filter(listener::Column::Kind.eq(kind))
        .filter(listener::Column::Key.eq(key.clone()));
    if let Some(l) = &existing {
        clash = clash.filter(listener::Column::Id.ne(l.id));
    }
    if !key.is_empty() && clash.count(db).await? > 0 {
        errors.push("key", "another listener of this type has this key");
    }
    errors.into_result()?;
    let now = Utc::now();
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let data_group_id = match &new_group {
        Some(group) => Some(external_data::insert_group(&txn, actor, group).await?),
        None => data_group_id,
    };
    let mut active = match existing {
        Some(l) => l.into_active_model(),
        None => listener::ActiveModel {
            scope: Set(matching::scope_of(scope)),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.kind = Set(kind);
    active.author_field = Set(author_field);
    active.comment_field = Set(comment_field);
    active.data_group_id = Set(data_group_id);
    active.find_field_id = Set(find_field_id);
    active.target_project_id = Set(target_project_id);
    active.project_param = Set(project_param);
    active.find_path = Set(find_path);
    active.accepts_form = Set(form.accepts_form.is_some());
    active.place_project_id = Set(place.project_id);
    active.place_type_id = Set(place.type_id);
    active.name = Set(name.to_string());
    active.description = Set(form.description.trim().to_string());
    active.key = Set(key.clone());
    active.filter_id = Set(filter_id);
    active.macro_id = Set(macro_id);
    active.api_key_id = Set(api_key_id);
    active.enabled = Set(form.enabled.is_some());
    active.updated_at = Set(now);
    let saved = active.save(&txn).await?;
    let id = match saved.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => id,
        _ => return Err(AppError::internal("saved listener has no id")),
    };
    audit_trail::record(&txn, actor, "listener.saved", name, &key).await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(id)
}

/// How a listener's or source's calls are signed, as stored: the scheme (empty: none), the
/// sealed secret, and during a rotation the one it replaced, until when.
pub(crate) struct Signed {
    pub scheme: String,
    pub secret: Option<String>,
    pub old_secret: Option<String>,
    pub old_until: Option<chrono::DateTime<Utc>>,
}

/// What a listener or source has stored (the engine's view of it, `Signing`), to change.
impl From<&crate::server::engine::inbound::signing::Signing<'_>> for Signed {
    fn from(s: &crate::server::engine::inbound::signing::Signing<'_>) -> Self {
        Signed {
            scheme: s.scheme.to_string(),
            secret: s.secret.cloned(),
            old_secret: s.old_secret.cloned(),
            old_until: s.old_until,
        }
    }
}

impl Signed {
    /// What the *Signed calls* form makes of it, and the audit's words. A new secret rotates:
    /// the one it replaces keeps passing for `ROTATION_OVERLAP` (the same scheme only). No
    /// scheme: calls need the API key again, and the secrets are forgotten.
    pub(crate) fn change(
        self,
        sealer: &crate::server::secrets::Sealer,
        form: &crate::types::ListenerSigningForm,
        now: chrono::DateTime<Utc>,
    ) -> Result<(Signed, String), AppError> {
        use crate::server::domain::inbound_signature::{Scheme, check_secret};
        let raw = form.scheme.trim();
        if raw.is_empty() {
            let off = Signed {
                scheme: String::new(),
                secret: None,
                old_secret: None,
                old_until: None,
            };
            return Ok((off, "off".to_string()));
        }
        let scheme = Scheme::parse(raw)
            .ok_or_else(|| AppError::field("scheme", "choose one of the signature schemes"))?;
        let same_scheme = self.scheme == scheme.as_str();
        let secret = form.secret.trim();
        let mut next = Signed {
            scheme: scheme.as_str().to_string(),
            ..self
        };
        if secret.is_empty() {
            if !same_scheme || next.secret.is_none() {
                return Err(AppError::field(
                    "secret",
                    "give the shared secret the sender signs with",
                ));
            }
            return Ok((next, format!("{}, secret kept", scheme.label())));
        }
        if secret.chars().count() > 200 {
            return Err(AppError::field("secret", "must be at most 200 characters"));
        }
        check_secret(scheme, secret).map_err(|e| AppError::field("secret", e.message()))?;
        match (next.secret.take(), same_scheme) {
            (Some(current), true) => {
                next.old_secret = Some(current);
                next.old_until = Some(now + crate::server::engine::outbox::ROTATION_OVERLAP);
            }
            _ => {
                next.old_secret = None;
                next.old_until = None;
            }
        }
        next.secret = Some(sealer.seal(secret));
        Ok((next, format!("{}, new secret", scheme.label())))
    }
}

/// Sets how a listener's calls are signed (the listener page's *Signed calls*): a scheme and
/// its shared secret, sealed at rest. A new secret rotates: the one it replaces keeps passing
/// for `ROTATION_OVERLAP`, so the sender can switch without a refused call. No scheme: calls
/// need the API key again, and the secrets are forgotten.
#[tracing::instrument(skip(db, sealer, actor, form), fields(actor_id = ?actor.user_id))]
pub async fn save_signing(
    db: &DatabaseConnection,
    sealer: &crate::server::secrets::Sealer,
    actor: &Actor,
    form: &crate::types::ListenerSigningForm,
) -> Result<(), AppError> {
    let id = parse_id(&form.id).map_err(|m| AppError::field("id", m))?;
    // Read in the write transaction (locked on PostgreSQL): two rotations at once each keep
    // the secret the other one saved as the previous one, and none is lost.
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    let existing = listener::Entity::find_by_id(id)
        .lock(sea_orm::sea_query::LockType::Update)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("listener {id}")))?;
    if let Some(macro_id) = existing.macro_id {
        super::refuse_removal_to_project_managers(
            actor,
            super::macro_removes(&txn, macro_id).await?,
        )?;
    }
    let now = Utc::now();
    let current =
        Signed::from(&crate::server::engine::inbound::signing::Signing::of_listener(&existing));
    // A signature covers the body, not the URL: a signed call names its target there.
    if !form.scheme.trim().is_empty() && existing.find_path.is_empty() {
        return Err(AppError::field(
            "scheme",
            "needs the listener's Target in the body first: a signature covers the body, not the URL's find",
        ));
    }
    let (next, what) = current.change(sealer, form, now)?;
    let mut active = existing.clone().into_active_model();
    active.signature_scheme = Set(next.scheme);
    active.signing_secret = Set(next.secret);
    active.old_signing_secret = Set(next.old_secret);
    active.old_secret_until = Set(next.old_until);
    active.updated_at = Set(now);
    active.update(&txn).await?;
    audit_trail::record(&txn, actor, "listener.signing_set", &existing.name, &what).await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(())
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
    if let Some(macro_id) = existing.macro_id {
        super::refuse_removal_to_project_managers(
            actor,
            super::macro_removes(db, macro_id).await?,
        )?;
    }
    let (txn, gate) = crate::server::db::begin_write(db).await?;
    listener::Entity::delete_by_id(id).exec(&txn).await?;
    audit_trail::record(
        &txn,
        actor,
        "listener.deleted",
        &existing.name,
        &existing.key,
    )
    .await?;
    txn.commit().await?;
    drop(gate);
    crate::server::cache::changed();
    Ok(())
}

/// A filter or macro that a listener uses cannot be deleted: the listener would stop working
/// without anyone having decided so.
pub(crate) async fn refuse_if_used(
    db: &impl ConnectionTrait,
    column: listener::Column,
    id: i32,
    what: &str,
) -> Result<(), AppError> {
    let names: Vec<String> = listener::Entity::find()
        .select_only()
        .column(listener::Column::Name)
        .filter(column.eq(id))
        .order_by_asc(listener::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    if names.is_empty() {
        return Ok(());
    }
    Err(super::in_use(
        "listener",
        &names,
        what,
        &format!("choose another {what} there first"),
    ))
}

/// The test-request panel: what a call with `find` would do now, worked out by the same checks
/// as a real call (`resolve`), without running or logging anything. The API key is left out:
/// the panel says which key callers must present.
#[tracing::instrument(skip(db, sealer, actor, find_input), fields(actor_id = ?actor.user_id))]
pub async fn test_request(
    db: &impl ConnectionTrait,
    sealer: &crate::server::secrets::Sealer,
    actor: &Actor,
    listener_id: i32,
    find_input: &str,
) -> Result<ListenerTestView, AppError> {
    let l = find(db, listener_id).await?;
    // What a removal's listener would do to a person is the community manager's to ask.
    if let Some(macro_id) = l.macro_id {
        super::refuse_removal_to_project_managers(
            actor,
            super::macro_removes(db, macro_id).await?,
        )?;
    }
    let mut logged = Logged::new(String::new());
    // No copies: the panel shows what the database says now.
    let resolved = resolve(
        db,
        &Lookups::default(),
        None,
        &l,
        Some(find_input),
        &mut logged,
    )
    .await?;
    let target = match logged.target_user_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let user = match &target {
        Some(u) => {
            let teams = runs::teams_of(
                db,
                u.id,
                &crate::server::store::lookups::team_refs(db).await?,
            )
            .await?;
            let role = crate::types::Role::parse(&u.role)
                .map(|r| r.label().to_string())
                .unwrap_or_else(|_| u.role.clone());
            let teams = if teams.is_empty() {
                "no team".to_string()
            } else {
                teams
            };
            Some(format!(
                "{} {} <{}> ({role}; {teams})",
                u.first_name, u.last_name, u.email
            ))
        }
        None => None,
    };
    // A feedback listener's target is the ticket the log line names.
    let ticket = match logged
        .target
        .strip_prefix("ticket #")
        .map(str::parse::<i32>)
    {
        Some(Ok(id)) if l.scope == SCOPE_FEEDBACK => ticket::Entity::find_by_id(id).one(db).await?,
        _ => None,
    };
    let user = match &ticket {
        Some(t) => Some(format!(
            "#{} {} (submitted by {})",
            t.id, t.title, t.author_label
        )),
        None => user,
    };
    let filter = match (l.filter_id, &target, &ticket) {
        (Some(filter_id), _, Some(t)) => Some(filters::explain(db, filter_id, t.id).await?),
        (Some(filter_id), Some(u), None) => Some(filters::explain(db, filter_id, u.id).await?),
        _ => None,
    };
    let (reply, actions) = match resolved {
        Resolved::Refused(reply) => (reply, Vec::new()),
        Resolved::Act { listener, .. } => {
            let on = if listener.scope == SCOPE_FEEDBACK {
                "ticket"
            } else {
                "user"
            };
            let what = match listener.kind {
                ListenerKind::Comment if listener.scope == SCOPE_FEEDBACK => format!(
                    "Add a comment to the ticket: the text from the body's \"{}\", by the member whose email is in \"{}\"",
                    listener.comment_field, listener.author_field
                ),
                ListenerKind::Comment => format!(
                    "Add a user comment: the text from the body's \"{}\", by the manager whose email is in \"{}\"; {}",
                    listener.comment_field,
                    listener.author_field,
                    project_words(db, &listener, "community-level").await?
                ),
                ListenerKind::Data
                    if listener.target_project_id.is_some()
                        || !listener.project_param.is_empty() =>
                {
                    format!(
                        "Store the body's parameters of the listener's project data group; {}",
                        project_words(db, &listener, "on no project").await?
                    )
                }
                ListenerKind::Data | ListenerKind::Macro => {
                    format!("Store the body's parameters of the listener's data group on this {on}")
                }
            };
            (Reply::done(json!({ "status": "completed" })), vec![what])
        }
        Resolved::Run {
            macro_,
            target: Target::Ticket(_),
            ..
        } => (
            Reply::finished(RunStatus::Completed, 0),
            super::macros::get(db, macro_.id).await?.steps,
        ),
        Resolved::Run {
            macro_,
            target: Target::User(target),
            ..
        } => {
            if runs::already_ran_for(db, sealer, &macro_, &target).await? {
                (Reply::finished(RunStatus::Skipped, 0), Vec::new())
            } else {
                (
                    Reply::finished(RunStatus::Completed, 0),
                    super::macros::get(db, macro_.id).await?.steps,
                )
            }
        }
    };
    let message = match reply.body["error"]["message"].as_str() {
        Some(m) => m.to_string(),
        None if reply.code() == "skipped" => {
            "the macro runs once per person and already ran for this one: nothing would run"
                .to_string()
        }
        None if l.kind.reads_body() => format!(
            "the call would be done at once on this {} (if its body is right)",
            if l.scope == SCOPE_FEEDBACK {
                "ticket"
            } else {
                "user"
            }
        ),
        None => format!(
            "the macro would run on this {} (202 instead of 200 when it takes longer than the time budget)",
            if l.scope == SCOPE_FEEDBACK {
                "ticket"
            } else {
                "user"
            }
        ),
    };
    Ok(ListenerTestView {
        find: find_input.trim().to_string(),
        status: reply.status,
        code: reply.code(),
        message,
        user,
        filter,
        actions,
    })
}

/// Which project a user listener's call is about, in words for the test panel.
async fn project_words(
    db: &impl ConnectionTrait,
    l: &listener::Model,
    otherwise: &str,
) -> Result<String, AppError> {
    let fixed = match l.target_project_id {
        Some(id) => project::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|p| format!("project {}", p.name)),
        None => None,
    };
    Ok(match (l.project_param.as_str(), fixed) {
        ("", Some(p)) => format!("about {p}"),
        ("", None) => otherwise.to_string(),
        (param, Some(p)) => {
            format!("about the project the body's \"{param}\" names (its key or id), else {p}")
        }
        (param, None) => format!(
            "about the project the body's \"{param}\" names (its key or id), else {otherwise}"
        ),
    })
}
