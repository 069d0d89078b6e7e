use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The listener log is found by user in two ways: a call that queued a run through its run
/// (`macro_runs` is indexed by target), any other call by its own target. So the log's index
/// by target holds only the calls without a run, and a new index by run (of the calls with
/// one; it grows at its end) serves the rest. Both are partial, so that a query's
/// `run_id IS NULL` picks the first, not a scan of the second's NULL entries. An accepted
/// call then adds no entry in the middle of an index by user (a random page rewritten per
/// call under load), only entries at the end.
#[derive(DeriveIden)]
enum ListenerCalls {
    Table,
    TargetUserId,
    RunId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_calls_target")
                    .table(ListenerCalls::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_calls_target_no_run")
                    .table(ListenerCalls::Table)
                    .col(ListenerCalls::TargetUserId)
                    .and_where(Expr::col(ListenerCalls::RunId).is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_calls_run")
                    .table(ListenerCalls::Table)
                    .col(ListenerCalls::RunId)
                    .and_where(Expr::col(ListenerCalls::RunId).is_not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_calls_run", "idx_calls_target_no_run"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(ListenerCalls::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_calls_target")
                    .table(ListenerCalls::Table)
                    .col(ListenerCalls::TargetUserId)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
