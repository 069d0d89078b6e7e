//! What runs without a screen: macro runs and the writes they share with the screens, automation
//! and schedules, the lease claim, the job worker, the webhook and email sender, group commit
//! of accepted calls, target look-ups, refusal counting, API-key checks, the filter compiler,
//! the webhook outbox, external-data values, tags and erasure. Nothing here uses `admin`
//! (`layers.rs` checks it).

pub mod automation;
pub mod delivery;
pub mod erasure;
pub mod external_values;
pub mod finder;
pub mod health;
pub mod inbound;
pub mod ingest;
pub mod keys;
pub mod lease;
pub mod matching;
pub mod outbox;
pub mod refusals;
pub mod runs;
pub mod runtime;
pub mod tags;
pub mod worker;
pub mod writes;
