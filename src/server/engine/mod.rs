//! What runs without a screen: the lease claim, the job worker, the webhook and email sender,
//! group commit of accepted calls, target look-ups, refusal counting, API-key checks, the
//! filter compiler, the webhook outbox, external-data values, tags and erasure. Nothing here
//! uses `admin` (the worker's call into the macro runs is the one exception left, listed in
//! `layers.rs`).

pub mod delivery;
pub mod erasure;
pub mod external_values;
pub mod finder;
pub mod ingest;
pub mod keys;
pub mod lease;
pub mod matching;
pub mod outbox;
pub mod refusals;
pub mod runtime;
pub mod tags;
pub mod worker;
