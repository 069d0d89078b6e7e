//! What server and browser share, compiled for `ssr` and `hydrate` alike
//! (docs/architecture.md, "Where the code is going"): the words of the domain (`vocab`), the
//! error type (`errors`, also `crate::errors`), what is stored as a definition and edited on
//! a screen (`definitions`: macro actions, filter rules) and the views and forms of each area
//! (`views`, also `crate::types`), and the rule for keys in URLs (`keys`).

pub mod definitions;
pub mod errors;
pub mod keys;
pub mod views;
pub mod vocab;
