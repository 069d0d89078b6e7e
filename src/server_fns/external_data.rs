//! External data groups and their fields.

use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{DataGroupForm, DataGroupView, DataValueView, DeleteForm, NewDataGroupForm};

#[server(endpoint = "list_data_groups")]
pub async fn list_data_groups() -> Result<Vec<DataGroupView>, AppError> {
    use super::ctx;
    use crate::server::admin::external_data;
    ctx::run(ctx::MANAGERS, |c| async move {
        external_data::list(&c.state.db).await
    })
    .await
}

#[server(endpoint = "create_data_group")]
pub async fn create_data_group(form: NewDataGroupForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::external_data;
    ctx::run(ctx::MANAGERS, |c| async move {
        let id = external_data::create_group(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!("/external-data/{id}?notice=data_group_created"));
        Ok(())
    })
    .await
}

#[server(endpoint = "get_data_group")]
pub async fn get_data_group(id: i32) -> Result<DataGroupView, AppError> {
    use super::ctx;
    use crate::server::admin::external_data;
    ctx::run(ctx::MANAGERS, |c| async move {
        external_data::get(&c.state.db, id).await
    })
    .await
}

#[server(endpoint = "save_data_group")]
pub async fn save_data_group(form: DataGroupForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::external_data;
    ctx::run(ctx::MANAGERS, |c| async move {
        external_data::save_group(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!(
            "/external-data/{}?notice=data_group_saved",
            form.id.trim()
        ));
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_data_group")]
pub async fn delete_data_group(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::external_data;
    ctx::run(ctx::MANAGERS, |c| async move {
        external_data::delete_group(&c.state.db, &c.actor, &form.id, form.confirm.is_some())
            .await?;
        leptos_axum::redirect("/external-data?notice=data_group_deleted");
        Ok(())
    })
    .await
}

/// The external data stored on a project (its page's card): favourites first.
#[server(endpoint = "project_external_data")]
pub async fn project_external_data(id: i32) -> Result<Vec<DataValueView>, AppError> {
    use super::ctx;
    use crate::server::admin::external_data;
    ctx::run(ctx::MANAGERS, |c| async move {
        external_data::project_values(&c.state.db, id).await
    })
    .await
}
