//! The machinery that runs without a screen: the lease claim, the job worker, the webhook and
//! email sender, group commit of accepted calls, target look-ups, refusal counting.

pub mod delivery;
pub mod finder;
pub mod ingest;
pub mod lease;
pub mod refusals;
pub mod runtime;
pub mod worker;
