//! What server and browser share: the words of the domain (`vocab`). Compiled for `ssr` and
//! `hydrate` alike (docs/architecture.md, "Where the code is going").

pub mod vocab;
