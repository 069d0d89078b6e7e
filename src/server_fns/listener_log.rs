use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{CallQuery, ListenerCallPage, ListenerLogView};

#[server(endpoint = "load_listener_log")]
pub async fn load_listener_log(query: CallQuery) -> Result<ListenerLogView, AppError> {
    use super::ctx;
    use crate::server::admin::listener_log;
    ctx::run(ctx::COMMUNITY_MANAGERS, |c| async move {
        c.state.refusals.flush_for_reading(&c.state.db).await;
        listener_log::log(&c.state.db, &query).await
    })
    .await
}

/// The newest listener calls about one user, for the user page. The page is open to every
/// manager but the listener log is not: a project manager gets `None`, not an error.
#[server(endpoint = "load_user_listener_calls")]
pub async fn load_user_listener_calls(user_id: i32) -> Result<Option<ListenerCallPage>, AppError> {
    use super::ctx;
    use crate::server::admin::listener_log;
    ctx::run(ctx::MANAGERS, |c| async move {
        let community_manager = ctx::signed_in_user()
            .await
            .is_some_and(|u| u.can_manage_users());
        if !community_manager {
            return Ok(None);
        }
        let query = CallQuery {
            user_id: Some(user_id),
            ..CallQuery::default()
        };
        Ok(Some(listener_log::recent(&c.state.db, &query, 10).await?))
    })
    .await
}
