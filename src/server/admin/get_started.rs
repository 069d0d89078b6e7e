//! The dashboard's "Get started" checklist: setting up a removal that another system asks for
//! (an API key, a macro that removes users, a filter, a listener that runs a macro, a first
//! call), each step read from what exists. Every step is one small query: a first row or none;
//! the listener log is asked through its `(listener_id, id)` index, never scanned.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};

use super::Actor;
use crate::errors::AppError;
use crate::server::entities::{api_key, filter, listener, listener_call, user};
use crate::shared::vocab::{ListenerKind, Scope};
use crate::types::{GetStarted, Role, SetupStep, StepState};

/// Whether `actor` may take `step`: API keys are community managers', and so are macros that
/// remove users (`may_use_removals`); a project manager sees the other steps.
fn may_take(actor: &Actor, step: SetupStep) -> bool {
    match step {
        SetupStep::ApiKey => actor.role == Some(Role::CommunityManager),
        SetupStep::RemovalMacro => super::may_use_removals(actor),
        SetupStep::Filter | SetupStep::Listener | SetupStep::TryListener => true,
    }
}

/// The checklist as `actor` (a signed-in manager) sees it: nothing when they hid it.
pub async fn checklist(db: &impl ConnectionTrait, actor: &Actor) -> Result<GetStarted, AppError> {
    let me = actor.user_id.ok_or(AppError::Unauthorized)?;
    let hidden = user::Entity::find_by_id(me)
        .select_only()
        .column(user::Column::GetStartedHidden)
        .into_tuple::<bool>()
        .one(db)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if hidden {
        return Ok(GetStarted {
            hidden,
            steps: Vec::new(),
        });
    }
    // The listeners whose page the manager cannot use (a project manager's removals).
    let locked = super::removals_locked_for(db, actor).await?;
    let mut steps = Vec::new();
    for step in SetupStep::ALL {
        if may_take(actor, step) {
            let (done, item) = state_of(db, &locked, step).await?;
            steps.push(StepState { step, done, item });
        }
    }
    Ok(GetStarted { hidden, steps })
}

/// Whether `step` is done, and the (id, name) of what it made (for a listener not yet called,
/// the listener to try).
async fn state_of(
    db: &impl ConnectionTrait,
    locked: &[i32],
    step: SetupStep,
) -> Result<(bool, Option<(i32, String)>), AppError> {
    let made = |item: Option<(i32, String)>| (item.is_some(), item);
    Ok(match step {
        SetupStep::ApiKey => made(
            api_key::Entity::find()
                .select_only()
                .columns([api_key::Column::Id, api_key::Column::Name])
                .filter(api_key::Column::Enabled.eq(true))
                .order_by_asc(api_key::Column::Id)
                .into_tuple()
                .one(db)
                .await?,
        ),
        SetupStep::RemovalMacro => made(super::removal_macros(db).await?.into_iter().next()),
        SetupStep::Filter => made(
            filter::Entity::find()
                .select_only()
                .columns([filter::Column::Id, filter::Column::Name])
                .filter(filter::Column::Scope.eq(Scope::User))
                .order_by_asc(filter::Column::Id)
                .into_tuple()
                .one(db)
                .await?,
        ),
        SetupStep::Listener => made(macro_listeners(db, locked).await?.into_iter().next()),
        SetupStep::TryListener => {
            let listeners = macro_listeners(db, locked).await?;
            let ids: Vec<i32> = listeners.iter().map(|(id, _)| *id).collect();
            let called: Option<Option<i32>> = if ids.is_empty() {
                None
            } else {
                listener_call::Entity::find()
                    .select_only()
                    .column(listener_call::Column::ListenerId)
                    .filter(listener_call::Column::ListenerId.is_in(ids))
                    .into_tuple()
                    .one(db)
                    .await?
            };
            match called.flatten() {
                Some(id) => (true, listeners.into_iter().find(|(l, _)| *l == id)),
                None => (false, listeners.into_iter().next()),
            }
        }
    })
}

/// The user listeners that run a macro not `locked` (`removals_locked_for`), (id, name),
/// oldest first: a project manager's checklist does not point at a listener whose page they
/// cannot use.
async fn macro_listeners(
    db: &impl ConnectionTrait,
    locked: &[i32],
) -> Result<Vec<(i32, String)>, AppError> {
    let mut q = listener::Entity::find()
        .select_only()
        .columns([listener::Column::Id, listener::Column::Name])
        .filter(listener::Column::Scope.eq(Scope::User))
        .filter(listener::Column::Kind.eq(ListenerKind::Macro))
        .filter(listener::Column::MacroId.is_not_null());
    if !locked.is_empty() {
        q = q.filter(listener::Column::MacroId.is_not_in(locked.iter().copied()));
    }
    Ok(q.order_by_asc(listener::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Hides the checklist from the signed-in manager, or shows it again.
pub async fn set_hidden(
    db: &DatabaseConnection,
    actor: &Actor,
    hidden: bool,
) -> Result<(), AppError> {
    let me = actor.user_id.ok_or(AppError::Unauthorized)?;
    user::Entity::update_many()
        .col_expr(user::Column::GetStartedHidden, Expr::value(hidden))
        .filter(user::Column::Id.eq(me))
        .exec(db)
        .await?;
    Ok(())
}
