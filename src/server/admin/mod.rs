//! The admin layer: what each area does for the screens (forms, CRUD, previews, logs,
//! dashboards), each rule once. Server functions, the `/api/v1` routes, the CLI and the tests
//! call these functions; what runs without a screen is in `engine`.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod bulk_runs;
pub mod community;
pub mod config_transfer;
pub mod external_data;
pub mod external_sources;
pub mod feedback;
pub mod filters;
pub mod get_started;
pub mod imports;
pub mod listener_log;
pub mod listeners;
pub mod macros;
pub mod opt_out;
pub mod places;
pub mod projects;
pub mod teams;
pub mod test_calls;
pub mod users;
pub mod webhooks;

pub use crate::server::domain::{Actor, format_time};

/// The refusal to delete something still in use: "the listeners A, B use this filter: …".
pub(crate) fn in_use(
    holder: &str,
    names: &[String],
    what: &str,
    advice: &str,
) -> crate::errors::AppError {
    let one = names.len() == 1;
    crate::errors::AppError::Conflict(format!(
        "the {holder}{} {} use{} this {what}: {advice}",
        if one { "" } else { "s" },
        names.join(", "),
        if one { "s" } else { "" },
    ))
}

/// Macros that remove users are the community managers': a project manager sees them but may
/// not create, change, delete, schedule or run one, point a listener or a bulk run at one,
/// change the filter that picks whom it removes, or change, reveal or resend its webhooks. The
/// one check every such screen action makes (`removes`: whether what it touches, before or
/// after the change, removes users). It fails closed: a manager acting (an actor with a user)
/// whose role is not known is refused too; the product itself (no user) is not.
pub(crate) fn refuse_removal_to_project_managers(
    actor: &Actor,
    removes: bool,
) -> Result<(), crate::errors::AppError> {
    if removes && !may_use_removals(actor) {
        return Err(crate::errors::AppError::Forbidden(
            "only a community manager can change or run a macro that removes users".into(),
        ));
    }
    Ok(())
}

/// Whether `actor` may change or run a macro that removes users (the rule above); the screens
/// offer such a macro only to those who may.
pub(crate) fn may_use_removals(actor: &Actor) -> bool {
    actor.user_id.is_none()
        || actor.role == Some(crate::shared::definitions::Role::CommunityManager)
}

/// Whether the macro `id` removes users.
pub(crate) async fn macro_removes(
    db: &impl sea_orm::ConnectionTrait,
    id: i32,
) -> Result<bool, crate::errors::AppError> {
    Ok(crate::server::store::lookups::find_macro(db, id)
        .await?
        .removes())
}

/// The macros that remove users, (id, name), oldest first: whether a macro removes is read
/// from its actions (`Macro::removes`); only user macros can, and a community holds a handful.
pub(crate) async fn removal_macros(
    db: &impl sea_orm::ConnectionTrait,
) -> Result<Vec<(i32, String)>, crate::errors::AppError> {
    use crate::server::entities::macro_def;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let mut found = Vec::new();
    for m in macro_def::Entity::find()
        .filter(macro_def::Column::Scope.eq(crate::shared::vocab::Scope::User))
        .order_by_asc(macro_def::Column::Id)
        .all(db)
        .await?
    {
        if crate::server::store::lookups::macro_of(&m)?.removes() {
            found.push((m.id, m.name));
        }
    }
    Ok(found)
}

/// The macros `actor` may not change or run (those that remove users, for a project
/// manager; none for a community manager): what the screens lock or leave out of their choices.
pub(crate) async fn removals_locked_for(
    db: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<i32>, crate::errors::AppError> {
    if may_use_removals(actor) {
        return Ok(Vec::new());
    }
    Ok(removal_macros(db)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

/// The id of a record to delete, once the manager ticked the confirmation box.
pub(crate) fn confirmed_deletion(
    id_input: &str,
    confirmed: bool,
) -> Result<i32, crate::errors::AppError> {
    use crate::errors::AppError;
    let id = crate::server::domain::parse_id(id_input).map_err(|m| AppError::field("id", m))?;
    if !confirmed {
        return Err(AppError::field(
            "confirm",
            "tick the box to confirm the deletion",
        ));
    }
    Ok(id)
}

/// A CSV text cell that a spreadsheet will not run as a formula (the users and feedback
/// exports, the opt-out export).
pub(crate) fn csv_cell(value: &str) -> String {
    opt_out::cell(value)
}
