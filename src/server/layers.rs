//! The layer rule, checked (docs/architecture.md, sections 4 and 5): a module under
//! `src/server/` may use only its own layer and the layers below it:
//!
//! `shared` ← `domain` ← `infra` ← `store` ← `engine` ← `admin` ← `http`
//!
//! The test reads every `crate::server::…` path in the source (the `use` lines and paths
//! written inline), maps its first segment to a layer (the layer's own name, or a module the
//! flat re-exports of `server/mod.rs` name), and fails on a path that points up; a path to the
//! screens (`crate::app`, `crate::server_fns`) from below `http` points up too. The places
//! that still point up are listed in `KNOWN_UPWARD` (none today): the test also fails when one
//! of them is gone, so the list only shrinks. A second test keeps the screens' views out of the
//! engine and the layers below it the same way (`KNOWN_VIEW_USERS`, none today). Both read
//! every path from the crate root in the source text, brace groups expanded
//! (`use crate::{server::{…}, types::…}`); a type reached only through inference (a field of a
//! value another module returns), or a path through `super::`, is not seen.

use std::collections::BTreeSet;
use std::path::Path;

/// The layers from the bottom; a layer may use those at or below its rank.
const LAYERS: &[&str] = &["domain", "infra", "store", "engine", "admin", "http"];

/// The modules `server/mod.rs` re-exports under their old flat paths, and their layer.
const FLAT: &[(&str, &str)] = &[
    ("outgoing", "domain"),
    ("retry", "domain"),
    ("signing", "domain"),
    ("db", "infra"),
    ("lite", "infra"),
    ("rate_limit", "infra"),
    ("secrets", "infra"),
    ("settings", "infra"),
    ("cache", "store"),
    ("entities", "store"),
    ("delivery", "engine"),
    ("finder", "engine"),
    ("ingest", "engine"),
    ("lease", "engine"),
    ("refusals", "engine"),
    ("worker", "engine"),
    ("api", "http"),
    ("openapi", "http"),
    ("startup", "http"),
    ("state", "http"),
    ("web", "http"),
];

/// Paths that point up today, as (file under `src/server/`, layer pointed at). Each is debt:
/// the list only shrinks.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// The engine and the layers below it run without screens: they use the definitions the
/// screens edit (`shared::definitions`) and types of their own, but none of the screens' views
/// (`shared::views`, also `crate::types`). Files that still name a view, each debt (the list
/// only shrinks).
const KNOWN_VIEW_USERS: &[&str] = &[];

fn rank(layer: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| *l == layer)
        .unwrap_or_else(|| panic!("unknown layer {layer}"))
}

/// The layer a first path segment after `crate::server::` names, if any.
fn layer_of(segment: &str) -> Option<&'static str> {
    LAYERS
        .iter()
        .find(|l| **l == segment)
        .copied()
        .or_else(|| FLAT.iter().find(|(m, _)| *m == segment).map(|(_, l)| *l))
}

/// Every path from the crate root in `source` (what follows `crate::`), brace groups expanded
/// at any depth: `crate::{server::{db::begin_write, entities::job}, types::X}` gives
/// `server::db::begin_write`, `server::entities::job` and `types::X`.
fn crate_paths(source: &str) -> Vec<String> {
    const PREFIX: &str = "crate::";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = source[from..].find(PREFIX) {
        let at = from + at;
        from = at + PREFIX.len();
        // `mycrate::` is another path.
        let before = source[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        out.extend(use_tree(&source[from..]).0);
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The paths of one use tree at the start of `s` (a path, `*`, or a path ending in a brace
/// group), and how many bytes it took.
fn use_tree(s: &str) -> (Vec<String>, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    let mut path = String::new();
    let join = |head: &str, tail: &str| {
        if head.is_empty() {
            tail.to_string()
        } else {
            format!("{head}::{tail}")
        }
    };
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            i += 1;
            let mut out = Vec::new();
            while i < b.len() {
                match b[i] {
                    b'}' => return (out, i + 1),
                    c if c.is_ascii_whitespace() || c == b',' => i += 1,
                    _ => {
                        let (inner, used) = use_tree(&s[i..]);
                        out.extend(inner.iter().map(|p| join(&path, p)));
                        i += used.max(1);
                        // What may follow a tree in a group: `as name`.
                        while i < b.len() && b[i] != b',' && b[i] != b'}' {
                            i += 1;
                        }
                    }
                }
            }
            return (out, i);
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'*') {
            i += 1;
        }
        if i > start {
            path = join(&path, &s[start..i]);
        }
        if i > start && s[i..].starts_with("::") {
            i += 2;
        } else {
            return (vec![path], i);
        }
    }
}

/// The first segment of every `crate::server::…` path in `source`. A path that stops at
/// `crate::server` (`use crate::server;`, then `server::admin::…`) gives `server`, which names
/// no layer: the test asks for the whole path instead.
fn server_paths(source: &str) -> Vec<String> {
    crate_paths(source)
        .iter()
        .filter_map(|p| {
            if p == "server" {
                return Some("server".to_string());
            }
            let rest = p.strip_prefix("server::")?;
            Some(rest.split("::").next().unwrap_or_default().to_string())
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether `source` names the screens or their adapters (`crate::app`, `crate::server_fns`).
fn names_screens(source: &str) -> bool {
    crate_paths(source).iter().any(|p| {
        let first = p.split("::").next().unwrap_or_default();
        first == "app" || first == "server_fns"
    })
}

/// Whether `source` names a screen's view (`crate::types`, `crate::shared::views`), or imports
/// `crate::shared` whole (then `shared::views::…` would go unseen).
fn names_a_view(source: &str) -> bool {
    crate_paths(source).iter().any(|p| {
        p == "types" || p.starts_with("types::") || p.starts_with("shared::views") || p == "shared"
    })
}

/// Comments are prose, not paths.
fn without_comments(source: &str) -> String {
    source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every upward path in the tree, as (file under `src/server/`, layer pointed at).
fn upward(root: &Path) -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let Some(own) = rel.split('/').next().and_then(|d| layer_of(d)) else {
            // `mod.rs` and this file: the crate's own wiring.
            continue;
        };
        let source = without_comments(&std::fs::read_to_string(&file).unwrap());
        // The screens and their adapters sit beside `http`, above every layer here.
        if own != "http" && names_screens(&source) {
            found.insert((rel.clone(), "app".to_string()));
        }
        for segment in server_paths(&source) {
            let target = layer_of(&segment)
                .unwrap_or_else(|| panic!("{rel}: crate::server::{segment} names no layer"));
            if rank(target) > rank(own) {
                found.insert((rel.clone(), target.to_string()));
            }
        }
    }
    found
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let found = upward(&root);
    let known: BTreeSet<(String, String)> = KNOWN_UPWARD
        .iter()
        .map(|(f, l)| (f.to_string(), l.to_string()))
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "these modules use a layer above their own (move the code down, or the caller up): \
         {new:?}"
    );
    let paid: Vec<_> = known.difference(&found).collect();
    assert!(
        paid.is_empty(),
        "these no longer point up: take them off KNOWN_UPWARD: {paid:?}"
    );
}

/// The files of the engine and the layers below it that name a view type.
fn engine_view_users(root: &Path) -> BTreeSet<String> {
    let mut files = Vec::new();
    for layer in ["domain", "infra", "store", "engine"] {
        if root.join(layer).is_dir() {
            walk(&root.join(layer), &mut files);
        }
    }
    files
        .into_iter()
        .filter(|f| {
            let source = without_comments(&std::fs::read_to_string(f).unwrap());
            names_a_view(&source)
        })
        .map(|f| {
            f.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

#[test]
fn the_engine_uses_no_view() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let found = engine_view_users(&root);
    let known: BTreeSet<String> = KNOWN_VIEW_USERS.iter().map(|f| f.to_string()).collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "these modules below admin use a screen's view (use shared::definitions, or a type of \
         the engine's own): {new:?}"
    );
    let paid: Vec<_> = known.difference(&found).collect();
    assert!(
        paid.is_empty(),
        "these no longer use a view: take them off KNOWN_VIEW_USERS: {paid:?}"
    );
}

#[test]
fn paths_are_read_from_use_lines_and_brace_groups() {
    let src = "use crate::server::{db::begin_write, entities::{job, user}};\n\
               // crate::server::http in a comment\n\
               let x = crate::server::admin::macros::run();";
    assert_eq!(
        server_paths(&without_comments(src)),
        ["db", "entities", "entities", "admin"]
    );
    let grouped = "use crate::{\n    errors::AppError,\n    server::{engine::runs as r, http},\n    \
                   types::{A, B},\n};\nfn f(x: mycrate::server::admin::X) {}";
    assert_eq!(
        crate_paths(grouped),
        [
            "errors::AppError",
            "server::engine::runs",
            "server::http",
            "types::A",
            "types::B"
        ]
    );
    assert_eq!(server_paths(grouped), ["engine", "http"]);
    assert!(names_a_view(grouped));
    assert!(!names_a_view(
        "use crate::shared::definitions::MacroAction;"
    ));
    assert!(names_a_view("let v: crate::shared::views::UserView;"));
    assert!(names_a_view("use crate::shared;"));
    assert_eq!(server_paths("use crate::server;"), ["server"]);
    assert_eq!(layer_of("server"), None);
    // Odd input ends the parse, never loops.
    assert_eq!(crate_paths("crate::"), Vec::<String>::new());
    assert_eq!(crate_paths("use crate::{a::{b, c"), ["a::b", "a::c"]);
    assert_eq!(crate_paths("x = crate::é"), Vec::<String>::new());
    assert!(names_screens("use crate::{app::pages, errors::AppError};"));
    assert!(!names_screens("use crate::application::X;"));
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server"),
        &mut files,
    );
    assert!(files.len() > 50, "the walk sees the tree");
}

#[test]
fn an_upward_path_and_a_view_in_the_engine_are_found() {
    let root = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
    std::fs::create_dir_all(root.join("infra")).unwrap();
    std::fs::create_dir_all(root.join("engine")).unwrap();
    std::fs::write(
        root.join("infra/db.rs"),
        "use crate::server::{settings, worker::Signals};\nfn f() { crate::server::domain::x(); }\n\
         fn g() { crate::app::escape(); }",
    )
    .unwrap();
    std::fs::write(
        root.join("engine/worker.rs"),
        "use crate::server::{db, admin::macros};",
    )
    .unwrap();
    std::fs::write(
        root.join("engine/runs.rs"),
        "// crate::types in a comment\nuse crate::types::MacroView;",
    )
    .unwrap();
    std::fs::write(root.join("engine/lease.rs"), "// crate::types::X\n").unwrap();
    std::fs::write(root.join("infra/lite.rs"), "use crate::shared;\n").unwrap();
    let found = upward(&root);
    let views = engine_view_users(&root);
    std::fs::remove_dir_all(&root).unwrap();
    assert_eq!(
        views.into_iter().collect::<Vec<_>>(),
        ["engine/runs.rs", "infra/lite.rs"]
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        [
            ("engine/worker.rs".to_string(), "admin".to_string()),
            ("infra/db.rs".to_string(), "app".to_string()),
            ("infra/db.rs".to_string(), "engine".to_string()),
        ]
    );
}
