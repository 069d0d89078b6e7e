//! The inbound contract: what a call from outside (a listener URL, an external source) does
//! and answers, below HTTP. `http::api` reads the request into an `InboundCall` or
//! `InboundSource` and writes the `Reply` back.

pub mod idempotency;
pub mod listeners;
pub mod refusal;
pub mod reply;
pub mod signing;
pub mod sources;

pub use listeners::InboundCall;
pub use refusal::Refusal;
pub use reply::Reply;
