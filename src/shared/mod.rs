//! What server and browser share, compiled for `ssr` and `hydrate` alike
//! (docs/architecture.md, "Where the code is going"): the words of the domain (`vocab`), the
//! error type (`errors`, also `crate::errors`) and the views and forms of each area (`views`,
//! also `crate::types`).

pub mod errors;
pub mod views;
pub mod vocab;
