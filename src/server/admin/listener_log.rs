//! The listener log: every inbound listener call (`docs/listener-api.md`, "Listener log"),
//! newest first, narrowed by listener, status and target user, and paged. The listener
//! endpoint writes the rows; this module only reads them.

use sea_orm::sea_query::{Expr, ExprTrait, Query, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use super::format_time;
use crate::errors::AppError;
use crate::server::entities::{external_source, listener, listener_call, macro_run, user};
use crate::types::{
    CallQuery, LISTENER_STATUSES, ListenerCallPage, ListenerCallView, ListenerLogView,
};

pub const PER_PAGE: u32 = 50;

fn filtered(query: &CallQuery) -> Select<listener_call::Entity> {
    let mut select = listener_call::Entity::find();
    if let Some(id) = query.listener_id {
        select = select.filter(listener_call::Column::ListenerId.eq(id));
    }
    if let Some(status) = query.status {
        // Statuses are stored as i16; a status that does not fit matches nothing.
        select =
            select.filter(listener_call::Column::Status.eq(i16::try_from(status).unwrap_or(-1)));
    }
    if let Some(id) = query.user_id {
        select = select.filter(about_user(id));
    }
    select
}

/// The calls about one user: a call that queued a run is found through its run (runs are
/// indexed by target), any other by its own target, which is indexed only for calls without a
/// run (migration `calls_by_run`: accepting a call adds no entry in the middle of an index).
/// A union inside `IN`, not an `OR`: PostgreSQL would check an `OR` with a subquery row by row.
fn about_user(id: i32) -> Expr {
    use listener_call::Column as C;
    let runs = Query::select()
        .column(macro_run::Column::Id)
        .from(macro_run::Entity)
        .and_where(Expr::col(macro_run::Column::TargetUserId).eq(id))
        .to_owned();
    let through_runs = Query::select()
        .column(C::Id)
        .from(listener_call::Entity)
        .and_where(Expr::col(C::RunId).in_subquery(runs))
        .to_owned();
    let calls = Query::select()
        .column(C::Id)
        .from(listener_call::Entity)
        .and_where(Expr::col(C::TargetUserId).eq(id))
        .and_where(Expr::col(C::RunId).is_null())
        .union(UnionType::All, through_runs)
        .to_owned();
    C::Id.in_subquery(calls)
}

/// A log row as the table shows it.
#[derive(sea_orm::FromQueryResult)]
struct CallRow {
    id: i64,
    received_at: chrono::DateTime<chrono::Utc>,
    listener_id: Option<i32>,
    listener_key: String,
    caller_ip: String,
    target: String,
    status: i16,
    code: String,
    run_id: Option<i64>,
    source_id: Option<i32>,
    duration_ms: i32,
    repeats: i32,
}

/// (id, name) of every listener, by name.
async fn listener_names(db: &impl ConnectionTrait) -> Result<Vec<(i32, String)>, AppError> {
    Ok(listener::Entity::find()
        .select_only()
        .column(listener::Column::Id)
        .column(listener::Column::Name)
        .order_by_asc(listener::Column::Name)
        .into_tuple()
        .all(db)
        .await?)
}

/// One page (`PER_PAGE` calls) of the log, with the number of calls that match in all.
#[tracing::instrument(skip(db))]
pub async fn calls(
    db: &impl ConnectionTrait,
    query: &CallQuery,
) -> Result<ListenerCallPage, AppError> {
    page_of(db, query, query.page, PER_PAGE).await
}

/// The newest `limit` calls that match (the query's page is ignored), with the total.
pub async fn recent(
    db: &impl ConnectionTrait,
    query: &CallQuery,
    limit: u32,
) -> Result<ListenerCallPage, AppError> {
    page_of(db, query, 0, limit).await
}

async fn page_of(
    db: &impl ConnectionTrait,
    query: &CallQuery,
    page: u32,
    per_page: u32,
) -> Result<ListenerCallPage, AppError> {
    let select = filtered(query);
    let total = select.clone().count(db).await?;
    // The row without what the call brought (up to 64 KiB each): its own page shows that.
    use listener_call::Column as C;
    let rows = select
        .select_only()
        .columns([
            C::Id,
            C::ReceivedAt,
            C::ListenerId,
            C::ListenerKey,
            C::CallerIp,
            C::Target,
            C::Status,
            C::Code,
            C::RunId,
            C::SourceId,
            C::DurationMs,
            C::Repeats,
        ])
        .order_by_desc(C::Id)
        .offset(u64::from(page) * u64::from(per_page))
        .limit(u64::from(per_page))
        .into_model::<CallRow>()
        .all(db)
        .await?;
    let listeners = listener_names(db).await?;
    let sources: Vec<(i32, String)> = external_source::Entity::find()
        .select_only()
        .column(external_source::Column::Id)
        .column(external_source::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    let calls = rows
        .into_iter()
        .map(|c| ListenerCallView {
            id: c.id,
            received_at: format_time(&c.received_at),
            listener: c
                .listener_id
                .and_then(|id| {
                    listeners
                        .iter()
                        .find(|(i, _)| *i == id)
                        .map(|(_, n)| n.clone())
                })
                .or_else(|| {
                    let id = c.source_id?;
                    sources
                        .iter()
                        .find(|(i, _)| *i == id)
                        .map(|(_, n)| format!("source {n}"))
                })
                .unwrap_or_else(|| {
                    if c.listener_key == crate::server::refusals::UNKNOWN_KEYS {
                        "keys that name no listener".to_string()
                    } else {
                        format!("unknown key \"{}\"", c.listener_key)
                    }
                }),
            caller_ip: c.caller_ip,
            target: c.target,
            status: u16::try_from(c.status).unwrap_or_default(),
            code: c.code,
            run_id: c.run_id,
            duration_ms: c.duration_ms,
            repeats: c.repeats,
        })
        .collect();
    Ok(ListenerCallPage {
        calls,
        total,
        page,
        per_page,
    })
}

/// The log screen: a page of calls plus what its filters offer.
#[tracing::instrument(skip(db))]
pub async fn log(
    db: &impl ConnectionTrait,
    query: &CallQuery,
) -> Result<ListenerLogView, AppError> {
    let calls = calls(db, query).await?;
    let present: Vec<i16> = listener_call::Entity::find()
        .select_only()
        .column(listener_call::Column::Status)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut statuses: Vec<u16> = LISTENER_STATUSES
        .into_iter()
        .chain(present.into_iter().filter_map(|s| u16::try_from(s).ok()))
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    let user = match query.user_id {
        Some(id) => Some(match user::Entity::find_by_id(id).one(db).await? {
            Some(u) => (id, format!("{} {}", u.first_name, u.last_name)),
            // Removed people leave no name behind.
            None => (id, format!("user {id}")),
        }),
        None => None,
    };
    Ok(ListenerLogView {
        calls,
        listeners: listener_names(db).await?,
        statuses,
        user,
    })
}
