//! What server and browser exchange: views the screens show and forms they submit, one file
//! per area (`crate::types` is this module under its old name).
//!
//! Form structs keep every field as text, exactly as the browser sends it; the service layer
//! parses them into domain types and reports each bad field by name.

mod bulk_runs;
mod config_transfer;
mod external_data;
mod external_sources;
mod feedback;
mod filters;
mod listeners;
mod macros;
mod opt_out;
mod people;
mod places;
mod webhooks;

pub use crate::shared::definitions::{
    Condition, ConditionGroup, FeedbackField, FeedbackTypeDefinition, FilterDefinition, MASK,
    MacroAction, MacroOptions, Match, Role, StatusRef, TeamRef,
};
pub use crate::shared::vocab::{DeliveryStatus, ListenerKind, Scope};

pub use bulk_runs::*;
pub use config_transfer::*;
pub use external_data::*;
pub use external_sources::*;
pub use feedback::*;
pub use filters::*;
pub use listeners::*;
pub use macros::*;
pub use opt_out::*;
pub use people::*;
pub use places::*;
pub use webhooks::*;
