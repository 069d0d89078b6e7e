//! Shared look-ups of listener targets. Under load many user listener calls wait at the same
//! moment for the same question: is there a user with this email, and does the listener's
//! filter let them through? One task takes every question waiting at that moment and answers
//! them with one query per filter (`matching::users_by_email`), so a read is shared by many
//! calls instead of paid by each, as `ingest` does for the writes. A call alone waits for
//! nobody: it is answered by a batch of one.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::matching::{self, Placed, Placing};
use crate::errors::AppError;
use crate::server::entities::user;
use crate::server::lite::{self, Lane};
use crate::shared::definitions::FilterDefinition;

/// At most this many questions share one batch.
const MAX_BATCH: usize = 256;
/// Batches under way at once: through the pool each reads on a connection of its own; on the
/// SQLite lane the next one is ready to run as soon as the one before is done.
const IN_FLIGHT: usize = 2;

struct Question {
    email: String,
    /// The listener's filter, as read for this call; questions with equal ones share a query.
    filter: Option<Arc<FilterDefinition>>,
    reply: oneshot::Sender<Result<Option<Placed>, String>>,
}

/// The handle calls ask through; cheap to clone.
#[derive(Clone)]
pub struct Finder {
    tx: mpsc::Sender<Question>,
}

impl Finder {
    /// Starts the task that answers for `db`, through `lane` when there is one (SQLite).
    pub fn start(db: DatabaseConnection, lane: Option<Lane>) -> Finder {
        let (tx, mut rx) = mpsc::channel::<Question>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT));
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let mut batch = Vec::with_capacity(MAX_BATCH);
                if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                    break;
                }
                let (db, lane) = (db.clone(), lane.clone());
                tokio::spawn(async move {
                    answer(&db, lane.as_ref(), batch).await;
                    drop(slot);
                });
            }
        });
        Finder { tx }
    }

    /// The user whose (normalised) email this is, placed inside or outside `filter`; None
    /// when nobody has it.
    pub async fn find(
        &self,
        email: &str,
        filter: Option<Arc<FilterDefinition>>,
    ) -> Result<Option<Placed>, AppError> {
        let (reply, answer) = oneshot::channel();
        let question = Question {
            email: email.to_string(),
            filter,
            reply,
        };
        let stopped = || AppError::internal("the target finder has stopped");
        self.tx.send(question).await.map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(|e| AppError::internal(e))
    }
}

/// Answers a batch: one look-up per filter among its questions (almost always one).
async fn answer(db: &DatabaseConnection, lane: Option<&Lane>, questions: Vec<Question>) {
    let mut groups: Vec<(Option<Arc<FilterDefinition>>, Vec<Question>)> = Vec::new();
    for q in questions {
        // Equal definitions (`Arc` of an `Eq` type compares the pointers first: the filter
        // cache hands every call the same copy).
        match groups.iter_mut().find(|(f, _)| *f == q.filter) {
            Some((_, members)) => members.push(q),
            None => groups.push((q.filter.clone(), vec![q])),
        }
    }
    for (filter, members) in groups {
        let mut emails: Vec<String> = members.iter().map(|q| q.email.clone()).collect();
        emails.sort_unstable();
        emails.dedup();
        let found = match lane {
            Some(lane) => {
                lane.run(move |conn| place(conn, &emails, filter.as_deref()))
                    .await
            }
            None => matching::users_by_email(db, &emails, filter.as_deref()).await,
        };
        match found {
            Ok(placed) => {
                for q in members {
                    let _ = q.reply.send(Ok(placed.get(&q.email).cloned()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "looking up listener targets failed");
                for q in members {
                    let _ = q.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// `matching::users_by_email` on the lane's connection: the same queries, run directly.
fn place(
    conn: &mut rusqlite::Connection,
    emails: &[String],
    filter: Option<&FilterDefinition>,
) -> Result<std::collections::HashMap<String, Placed>, AppError> {
    use sea_orm::{DbBackend, QueryTrait};
    let (mut placing, passing) = Placing::start(emails, filter)?;
    let passing = lite::rows(conn, &passing.build(DbBackend::Sqlite), user_of)?;
    if let Some(rest) = placing.inside(passing) {
        placing.outside(lite::rows(conn, &rest.build(DbBackend::Sqlite), user_of)?);
    }
    Ok(placing.done())
}

/// A row of `SELECT users.*` as its model.
fn user_of(row: &rusqlite::Row<'_>) -> Result<user::Model, AppError> {
    Ok(user::Model {
        id: lite::get(row, "id")?,
        email: lite::get(row, "email")?,
        first_name: lite::get(row, "first_name")?,
        last_name: lite::get(row, "last_name")?,
        role: lite::get(row, "role")?,
        score: lite::get(row, "score")?,
        password_hash: lite::get(row, "password_hash")?,
        search_text: lite::get(row, "search_text")?,
        created_at: lite::get_datetime(row, "created_at")?,
        updated_at: lite::get_datetime(row, "updated_at")?,
        get_started_hidden: lite::get(row, "get_started_hidden")?,
    })
}
