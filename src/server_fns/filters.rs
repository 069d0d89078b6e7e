use leptos::prelude::*;

use crate::errors::AppError;
use crate::types::{
    DeleteForm, FilterCatalogue, FilterForm, FilterListItem, FilterPreview, FilterView,
};

#[server(endpoint = "load_filters")]
pub async fn load_filters() -> Result<Vec<FilterListItem>, AppError> {
    use super::ctx;
    use crate::server::admin::filters;
    ctx::run(ctx::MANAGERS, |c| async move {
        filters::list(&c.state.db).await
    })
    .await
}

#[server(endpoint = "load_filter_preview")]
pub async fn load_filter_preview(id: i32) -> Result<FilterPreview, AppError> {
    use super::ctx;
    use crate::server::admin::filters;
    use crate::server::admin::macros;
    ctx::run(ctx::MANAGERS, |c| async move {
        let mut preview = filters::preview(&c.state.db, id).await?;
        preview.macros = macros::offered_to(&c.state.db, &c.actor, &preview.filter.scope)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        Ok(preview)
    })
    .await
}

/// The filter editor's live preview: what the conditions on the form select, unsaved.
#[server(endpoint = "preview_filter")]
pub async fn preview_filter(form: FilterForm) -> Result<crate::types::FilterLivePreview, AppError> {
    use super::ctx;
    use crate::server::admin::filters;
    ctx::run(ctx::MANAGERS, |c| async move {
        filters::preview_form(&c.state.db, &form).await
    })
    .await
}

/// What the filter editor needs: the filter when editing, and the fields its scope (that of
/// the filter, or `scope` for a new one) can test.
#[server(endpoint = "load_filter_form")]
pub async fn load_filter_form(
    id: Option<i32>,
    scope: String,
) -> Result<(Option<FilterView>, FilterCatalogue), AppError> {
    use super::ctx;
    use crate::server::admin::filters;
    ctx::run(ctx::MANAGERS, |c| async move {
        let filter = match id {
            Some(id) => Some(filters::get(&c.state.db, id).await?),
            None => None,
        };
        let scope = filter.as_ref().map(|f| f.scope.clone()).unwrap_or(scope);
        let catalogue = filters::catalogue(&c.state.db, &scope).await?;
        Ok((filter, catalogue.view()))
    })
    .await
}

#[server(endpoint = "save_filter")]
pub async fn save_filter(form: FilterForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::filters;
    ctx::run(ctx::MANAGERS, |c| async move {
        let notice = if form.id.trim().is_empty() {
            "filter_created"
        } else {
            "filter_updated"
        };
        let id = filters::save(&c.state.db, &c.actor, &form).await?;
        leptos_axum::redirect(&format!("/filters/{id}?notice={notice}"));
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_filter")]
pub async fn delete_filter(form: DeleteForm) -> Result<(), AppError> {
    use super::ctx;
    use crate::server::admin::filters;
    ctx::run(ctx::MANAGERS, |c| async move {
        filters::delete(&c.state.db, &c.actor, &form.id, form.confirm.is_some()).await?;
        leptos_axum::redirect("/filters?notice=filter_deleted");
        Ok(())
    })
    .await
}
