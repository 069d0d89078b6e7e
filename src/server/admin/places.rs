//! Where feedback macros and feedback listeners belong on the screens: the "Where" choices,
//! checking a chosen place, a place in words, and the automation of a place (the project and
//! feedback-type pages' *Feedback automation*, the *User automation* page). What a place holds
//! is `domain::place::Place::holds`.

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, QuerySelect};

use crate::errors::{AppError, FieldErrors};
use crate::server::domain::place::{self, Place};
use crate::server::engine::matching::{SCOPE_FEEDBACK, SCOPE_USER};
use crate::server::entities::{feedback_type, project};
use crate::server::settings::Settings;
use crate::types::{
    FeedbackAutomationView, PlaceChoice, PlaceView, UserAutomationView, place_value,
};

/// Every project and feedback type by name, loaded once per request.
#[derive(Debug, Clone, Default)]
pub struct Places {
    projects: Vec<(i32, String)>,
    /// (id, project id, name)
    types: Vec<(i32, i32, String)>,
}

pub async fn load(db: &impl ConnectionTrait) -> Result<Places, AppError> {
    Ok(Places {
        projects: project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .column(project::Column::Name)
            .order_by_asc(project::Column::Name)
            .into_tuple()
            .all(db)
            .await?,
        types: feedback_type::Entity::find()
            .select_only()
            .column(feedback_type::Column::Id)
            .column(feedback_type::Column::ProjectId)
            .column(feedback_type::Column::Name)
            .order_by_asc(feedback_type::Column::Name)
            .into_tuple()
            .all(db)
            .await?,
    })
}

impl Places {
    fn project(&self, id: i32) -> Option<&(i32, String)> {
        self.projects.iter().find(|(p, _)| *p == id)
    }

    /// A stored place as the screens show it.
    pub fn view(&self, project_id: Option<i32>, type_id: Option<i32>) -> PlaceView {
        let project = project_id.map(|id| {
            self.project(id)
                .cloned()
                .unwrap_or((id, "(unknown project)".into()))
        });
        let feedback_type = type_id.map(|id| {
            self.types
                .iter()
                .find(|(t, _, _)| *t == id)
                .map(|(t, _, n)| (*t, n.clone()))
                .unwrap_or((id, "(unknown type)".into()))
        });
        PlaceView {
            label: place::label(
                project.as_ref().map(|p| p.1.as_str()),
                feedback_type.as_ref().map(|t| t.1.as_str()),
            ),
            value: place_value(project_id, type_id),
            project,
            feedback_type,
        }
    }

    /// What the "Where" select offers: every project, then each project followed by its types.
    pub fn choices(&self) -> Vec<PlaceChoice> {
        let mut all = vec![PlaceChoice {
            value: String::new(),
            label: place::label(None, None),
            project_id: None,
            type_id: None,
        }];
        for (p, name) in &self.projects {
            all.push(PlaceChoice {
                value: place_value(Some(*p), None),
                label: place::label(Some(name), None),
                project_id: Some(*p),
                type_id: None,
            });
            for (t, _, type_name) in self.types.iter().filter(|(_, tp, _)| tp == p) {
                all.push(PlaceChoice {
                    value: place_value(Some(*p), Some(*t)),
                    label: place::label(Some(name), Some(type_name)),
                    project_id: Some(*p),
                    type_id: Some(*t),
                });
            }
        }
        all
    }
}

/// The place a form chose (`raw`, the "Where" select's value), checked: the project exists,
/// and the feedback type exists and is one of that project's. Errors go on `field`.
pub async fn check(
    db: &impl ConnectionTrait,
    raw: &str,
    field: &str,
    errors: &mut FieldErrors,
) -> Result<Place, AppError> {
    let Some(at) = errors.check(field, Place::parse(raw)) else {
        return Ok(Place::default());
    };
    if let Some(id) = at.project_id
        && project::Entity::find_by_id(id).one(db).await?.is_none()
    {
        errors.push(field, "that project does not exist");
        return Ok(Place::default());
    }
    if let Some(id) = at.type_id {
        match feedback_type::Entity::find_by_id(id).one(db).await? {
            None => errors.push(field, "that feedback type does not exist"),
            Some(t) if Some(t.project_id) != at.project_id => {
                errors.push(field, "that feedback type is not one of that project's")
            }
            Some(_) => {}
        }
    }
    Ok(at)
}

/// The automation of a project (`type_id` None: what is placed on the project or any of its
/// types) or of one of its feedback types (what is placed on the type or on the whole
/// project).
pub async fn feedback_automation(
    db: &impl ConnectionTrait,
    settings: &Settings,
    project_id: i32,
    type_id: Option<i32>,
) -> Result<FeedbackAutomationView, AppError> {
    let p = crate::server::store::lookups::find_project(db, project_id).await?;
    let feedback_type = match type_id {
        Some(id) => {
            let t = crate::server::store::lookups::find_type(db, id).await?;
            if t.project_id != project_id {
                return Err(AppError::NotFound(format!(
                    "feedback type {id} of project {project_id}"
                )));
            }
            Some((t.id, t.name))
        }
        None => None,
    };
    let here = |place: &PlaceView| {
        place.project.as_ref().map(|p| p.0) == Some(project_id)
            && match type_id {
                None => true,
                Some(t) => place.feedback_type.as_ref().is_none_or(|x| x.0 == t),
            }
    };
    let all_listeners = super::listeners::list(db, settings).await?;
    let all_macros = super::macros::list(db, SCOPE_FEEDBACK).await?;
    let everywhere = all_listeners
        .iter()
        .filter(|l| l.scope == SCOPE_FEEDBACK && l.place.project.is_none())
        .count()
        + all_macros
            .iter()
            .filter(|m| m.place.project.is_none())
            .count();
    let listeners = all_listeners
        .into_iter()
        .filter(|l| l.scope == SCOPE_FEEDBACK && here(&l.place))
        .collect();
    let macros = all_macros.into_iter().filter(|m| here(&m.place)).collect();
    let sources = super::external_sources::of_project(db, settings, project_id)
        .await?
        .into_iter()
        .filter(|s| type_id.is_none_or(|t| s.feedback_type_id == t))
        .collect();
    Ok(FeedbackAutomationView {
        project: (p.id, p.name),
        feedback_type,
        listeners,
        macros,
        sources,
        everywhere,
    })
}

/// User automation: the user listeners and user macros.
pub async fn user_automation(
    db: &impl ConnectionTrait,
    settings: &Settings,
) -> Result<UserAutomationView, AppError> {
    Ok(UserAutomationView {
        listeners: super::listeners::list(db, settings)
            .await?
            .into_iter()
            .filter(|l| l.scope == SCOPE_USER)
            .collect(),
        macros: super::macros::list(db, SCOPE_USER).await?,
    })
}

/// Whether a macro or listener shown placed `at` runs on a ticket of `project_id` and
/// `type_id` (the ticket page offers only those).
pub fn holds(at: &PlaceView, project_id: i32, type_id: i32) -> bool {
    Place::new(
        at.project.as_ref().map(|p| p.0),
        at.feedback_type.as_ref().map(|t| t.0),
    )
    .holds(project_id, type_id)
}
