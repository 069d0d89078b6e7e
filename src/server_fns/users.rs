use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{
    DeleteForm, ImportReport, UserDetail, UserForm, UserFormOptions, UserListPage, UserQuery,
};

#[server]
pub async fn list_users(query: UserQuery) -> Result<UserListPage, AppError> {
    use super::ctx;
    use crate::server::services::users;
    let c = ctx::require(ctx::MANAGERS).await?;
    ctx::with_status(users::list(&c.state.db, &query).await)
}

#[server]
pub async fn load_user_detail(id: i32) -> Result<UserDetail, AppError> {
    use super::ctx;
    use crate::server::services::users;
    let c = ctx::require(ctx::MANAGERS).await?;
    ctx::with_status(users::detail(&c.state.db, id).await)
}

/// What the user form needs: the teams, and the user when editing.
#[server]
pub async fn load_user_form(id: Option<i32>) -> Result<UserFormOptions, AppError> {
    use super::ctx;
    use crate::server::services::{teams, users};
    let c = ctx::require(ctx::COMMUNITY_MANAGERS).await?;
    let user = match id {
        Some(id) => Some(ctx::with_status(users::get_row(&c.state.db, id).await)?),
        None => None,
    };
    Ok(UserFormOptions {
        teams: teams::refs(&c.state.db).await?,
        user,
    })
}

/// Creates the user when `form.id` is empty, updates it otherwise.
#[server]
pub async fn save_user(form: UserForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::services::users;
    let c = ctx::require(ctx::COMMUNITY_MANAGERS).await?;
    let (id, notice) = if form.id.trim().is_empty() {
        (
            users::create(&c.state.db, &c.actor, &form).await?,
            "user_created",
        )
    } else {
        (
            users::update(&c.state.db, &c.actor, &form).await?,
            "user_updated",
        )
    };
    leptos_axum::redirect(&format!("/users/{id}?notice={notice}"));
    Ok(())
}

#[server]
pub async fn delete_user(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::services::users;
    let c = ctx::require(ctx::COMMUNITY_MANAGERS).await?;
    users::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
    leptos_axum::redirect("/users?notice=user_deleted");
    Ok(())
}

#[server]
pub async fn load_import_report(id: i32) -> Result<ImportReport, AppError> {
    use super::ctx;
    use crate::server::services::imports;
    let c = ctx::require(ctx::COMMUNITY_MANAGERS).await?;
    ctx::with_status(imports::report(&c.state.db, id).await)
}
