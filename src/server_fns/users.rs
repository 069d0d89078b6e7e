use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{
    DeleteForm, ImportReport, UserCommentForm, UserDetail, UserForm, UserFormOptions, UserListPage,
    UserQuery,
};

/// A comment about a user from the user page.
#[server(endpoint = "comment_on_user")]
pub async fn comment_on_user(form: UserCommentForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::users;
    ctx::run(ctx::MANAGERS, |c| async move {
        users::add_comment(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/users/{}?notice=user_comment_added",
            form.user_id.trim()
        ));
        Ok(())
    })
    .await
}

/// "Sign out everywhere": ends a manager's other sessions (one's own, or anyone's for a
/// community manager).
#[server(endpoint = "end_sessions")]
pub async fn end_sessions(user_id: String) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::auth;
    use crate::server::domain::parse_id;
    use crate::types::Role;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = parse_id(&user_id).map_err(|m| AppError::field("user_id", m))?;
        auth::sign_out_everywhere(&c.state.db, &c.actor, id, c.role == Role::CommunityManager)
            .await?;
        leptos_axum::redirect(&format!("/users/{id}?notice=sessions_ended"));
        Ok(())
    })
    .await
}

#[server(endpoint = "list_users")]
pub async fn list_users(query: UserQuery) -> Result<UserListPage, AppError> {
    use super::ctx;
    use crate::server::admin::users;
    ctx::run(ctx::MANAGERS, |c| async move {
        users::list(&c.state.db, &query).await
    })
    .await
}

#[server(endpoint = "load_user_detail")]
pub async fn load_user_detail(id: i32) -> Result<UserDetail, AppError> {
    use super::ctx;
    use crate::server::admin::users;
    use crate::types::Role;
    ctx::run(ctx::MANAGERS, |c| async move {
        // The audit log is for community managers only, here as on its own screen.
        users::detail(&c.state.db, id, &c.actor, c.role == Role::CommunityManager).await
    })
    .await
}

/// What the user form needs: the teams, and the user when editing.
#[server(endpoint = "load_user_form")]
pub async fn load_user_form(id: Option<i32>) -> Result<UserFormOptions, AppError> {
    use super::ctx;
    use crate::server::admin::users;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        let user = match id {
            Some(id) => Some(users::get_row(&c.state.db, id).await?),
            None => None,
        };
        Ok(UserFormOptions {
            teams: crate::server::store::lookups::team_refs(&c.state.db).await?,
            user,
        })
    })
    .await
}

/// Creates the user when `form.id` is empty, updates it otherwise.
#[server(endpoint = "save_user")]
pub async fn save_user(form: UserForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::users;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
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
    })
    .await
}

#[server(endpoint = "delete_user")]
pub async fn delete_user(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::users;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        users::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
        leptos_axum::redirect("/users?notice=user_deleted");
        Ok(())
    })
    .await
}

#[server(endpoint = "load_import_report")]
pub async fn load_import_report(id: i32) -> Result<ImportReport, AppError> {
    use super::ctx;
    use crate::server::admin::imports;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        imports::report(&c.state.db, id).await
    })
    .await
}
