use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{CallQuery, ListenerCallPage, ListenerLogView};

#[server(endpoint = "load_listener_log")]
pub async fn load_listener_log(query: CallQuery) -> Result<ListenerLogView, AppError> {
    use super::ctx;
    use crate::server::admin::listener_log;
    ctx::run(ctx::MANAGERS, |c| async move {
        c.state.refusals.flush_for_reading(&c.state.db).await;
        listener_log::log(&c.state.db, &query).await
    })
    .await
}

/// The newest listener calls about one user, for the user page.
#[server(endpoint = "load_user_listener_calls")]
pub async fn load_user_listener_calls(user_id: i32) -> Result<ListenerCallPage, AppError> {
    use super::ctx;
    use crate::server::admin::listener_log;
    ctx::run(ctx::MANAGERS, |c| async move {
        let query = CallQuery {
            user_id: Some(user_id),
            ..CallQuery::default()
        };
        listener_log::recent(&c.state.db, &query, 10).await
    })
    .await
}
