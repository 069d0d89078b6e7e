//! Where a value sits in a JSON body: one path syntax for everything that names a body field
//! (a listener's author, comment, project and find fields, External Data parameters, an
//! external source's mappings) and for Capture Return Values reading a webhook's answer.
//!
//! A path is keys joined by dots, each optionally followed by list indexes in brackets:
//! `email`, `issue.key`, `issue.fields.reporter.emailAddress`, `issue.fields.labels[0]`,
//! `data.object.customer_email`, `items[2].id`. A number between dots indexes a list too
//! (`items.0.id`), as Capture Return Values has always read it. A body whose top level has a
//! key spelled exactly like the whole path (`"user.email": …`) is read by that key first, so a
//! flat key with a dot in it keeps working.

use serde_json::Value;

/// The longest path accepted, in characters.
pub const MAX_PATH: usize = 100;
/// The deepest path accepted, in steps.
const MAX_STEPS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object's key (a number here also indexes a list: `items.0`).
    Key(String),
    /// A list's index, written `[n]`.
    Index(usize),
}

/// A parsed path (see the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPath {
    raw: String,
    steps: Vec<Step>,
}

impl BodyPath {
    /// Parses `input` (trimmed). Errors are sentences for the field that holds it.
    pub fn parse(input: &str) -> Result<BodyPath, String> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err("is required".into());
        }
        if raw.chars().count() > MAX_PATH
            || raw.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "must be a key or a path into the body such as issue.fields.labels[0]: up to {MAX_PATH} characters without spaces"
            ));
        }
        let bad = |why: &str| {
            Err(format!(
                "is not a path into the body ({why}): write keys joined by dots, with [n] for a list's item, e.g. issue.fields.labels[0]"
            ))
        };
        let mut steps = Vec::new();
        for part in raw.split('.') {
            if part.is_empty() {
                return bad("an empty key between dots");
            }
            let (key, mut rest) = match part.find('[') {
                Some(at) => part.split_at(at),
                None => (part, ""),
            };
            if key.contains(']') {
                return bad("a ] without its [");
            }
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            } else if steps.is_empty() {
                return bad("it starts with [");
            }
            while !rest.is_empty() {
                let Some(close) = rest.find(']') else {
                    return bad("a [ without its ]");
                };
                let Ok(index) = rest[1..close].parse::<usize>() else {
                    return bad("what is inside [ ] must be a whole number");
                };
                steps.push(Step::Index(index));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return bad("text after ]");
                }
            }
        }
        if steps.len() > MAX_STEPS {
            return bad(&format!("more than {MAX_STEPS} steps"));
        }
        Ok(BodyPath {
            raw: raw.to_string(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the path is a single top-level key.
    pub fn is_key(&self) -> bool {
        matches!(self.steps.as_slice(), [Step::Key(_)])
    }

    /// The value at this path in `body`, if there is one.
    pub fn find<'a>(&self, body: &'a Value) -> Option<&'a Value> {
        match body {
            Value::Object(m) => self.find_in(m),
            other => self.steps.iter().try_fold(other, step),
        }
    }

    /// The value at this path in a body that is an object.
    pub fn find_in<'a>(&self, body: &'a serde_json::Map<String, Value>) -> Option<&'a Value> {
        if let Some(v) = body.get(&self.raw) {
            return Some(v);
        }
        let (Step::Key(first), rest) = self.steps.split_first()? else {
            return None;
        };
        rest.iter().try_fold(body.get(first)?, step)
    }
}

fn step<'a>(v: &'a Value, step: &Step) -> Option<&'a Value> {
    match (step, v) {
        (Step::Key(k), Value::Object(m)) => m.get(k),
        (Step::Key(k), Value::Array(a)) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
        (Step::Index(i), Value::Array(a)) => a.get(*i),
        _ => None,
    }
}

impl std::fmt::Display for BodyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The value at `path` in `body`: a path stored before it was checked (or a broken one) finds
/// nothing rather than failing.
pub fn lookup<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    match body {
        Value::Object(m) => lookup_in(m, path),
        other => BodyPath::parse(path).ok()?.find(other),
    }
}

/// The same, in a body that is an object.
pub fn lookup_in<'a>(body: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = body.get(path) {
        return Some(v);
    }
    BodyPath::parse(path).ok()?.find_in(body)
}

/// Every leaf of `body` with its path, in document order: what *Listen for a test call* shows
/// as a tree and offers to map. Lists show their first `per_list` items; at most `max` leaves.
pub fn leaves(body: &Value, per_list: usize, max: usize) -> Vec<(String, Value)> {
    fn walk(v: &Value, at: String, per_list: usize, max: usize, out: &mut Vec<(String, Value)>) {
        if out.len() >= max {
            return;
        }
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    // A key that the path syntax cannot spell is left out.
                    if k.is_empty()
                        || k.contains(['.', '[', ']'])
                        || k.contains(char::is_whitespace)
                    {
                        continue;
                    }
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    walk(child, path, per_list, max, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, child) in a.iter().take(per_list).enumerate() {
                    walk(child, format!("{at}[{i}]"), per_list, max, out);
                }
            }
            leaf => {
                if !at.is_empty() && at.chars().count() <= MAX_PATH {
                    out.push((at, leaf.clone()));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(body, String::new(), per_list, max, &mut out);
    out
}

/// A form-encoded body as a JSON object of texts (a repeated key's as a list, in order).
pub fn form_object(body: &[u8]) -> serde_json::Value {
    use serde_json::Value;
    let mut map = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let v = Value::String(v.into_owned());
        match map.get_mut(k.as_ref()) {
            Some(Value::Array(list)) => list.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
            None => {
                map.insert(k.into_owned(), v);
            }
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jira() -> Value {
        json!({
            "webhookEvent": "jira:issue_updated",
            "user": { "emailAddress": "pm@example.com" },
            "issue": {
                "key": "BETA-42",
                "fields": {
                    "labels": ["gdpr", "urgent"],
                    "reporter": { "emailAddress": "jim@example.com" }
                }
            },
            "comment": { "body": "Shipped in 2.1" },
            "items": [{ "id": 1 }, { "id": 2 }],
            "user.email": "flat@example.com"
        })
    }

    #[test]
    fn paths_reach_keys_nested_objects_and_list_items() {
        let body = jira();
        for (path, want) in [
            ("webhookEvent", json!("jira:issue_updated")),
            ("issue.key", json!("BETA-42")),
            (
                "issue.fields.reporter.emailAddress",
                json!("jim@example.com"),
            ),
            ("issue.fields.labels[0]", json!("gdpr")),
            ("issue.fields.labels[1]", json!("urgent")),
            ("items[1].id", json!(2)),
            ("items.0.id", json!(1)),
            ("comment.body", json!("Shipped in 2.1")),
            // A flat key with a dot is read as that key first.
            ("user.email", json!("flat@example.com")),
            ("user.emailAddress", json!("pm@example.com")),
        ] {
            assert_eq!(lookup(&body, path), Some(&want), "{path}");
        }
        for missing in [
            "issue.fields.labels[2]",
            "issue.key.deeper",
            "issue.fields[0]",
            "nope",
            "items[0].id[0]",
        ] {
            assert_eq!(lookup(&body, missing), None, "{missing}");
        }
    }

    #[test]
    fn malformed_paths_are_refused_with_a_reason() {
        for (bad, why) in [
            ("", "is required"),
            ("a..b", "an empty key between dots"),
            (".a", "an empty key between dots"),
            ("a.", "an empty key between dots"),
            ("a[", "a [ without its ]"),
            ("a]", "a ] without its ["),
            ("a[x]", "whole number"),
            ("a[-1]", "whole number"),
            ("a[0]b", "text after ]"),
            ("[0]", "starts with ["),
            ("a b", "without spaces"),
        ] {
            let err = BodyPath::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        let long = "a.".repeat(17) + "a";
        assert!(
            BodyPath::parse(&long)
                .unwrap_err()
                .contains("more than 16 steps")
        );
        assert!(BodyPath::parse(&"x".repeat(101)).is_err());
        assert!(BodyPath::parse("data.object.customer_email").is_ok());
        assert!(BodyPath::parse("a[0][1]").is_ok());
        assert!(BodyPath::parse("email").unwrap().is_key());
        assert!(!BodyPath::parse("a.b").unwrap().is_key());
    }

    #[test]
    fn leaves_list_every_value_with_a_path_that_finds_it() {
        let body = jira();
        let leaves = leaves(&body, 5, 100);
        assert!(leaves.contains(&("issue.fields.labels[0]".to_string(), json!("gdpr"))));
        assert!(leaves.contains(&("items[1].id".to_string(), json!(2))));
        // A key the syntax cannot spell is left out rather than offered wrong.
        assert!(!leaves.iter().any(|(p, _)| p == "user.email"));
        for (path, value) in &leaves {
            assert_eq!(lookup(&body, path), Some(value), "{path}");
        }
        assert_eq!(super::leaves(&body, 5, 3).len(), 3);
        let list = json!({ "n": [1, 2, 3, 4] });
        assert_eq!(super::leaves(&list, 2, 100).len(), 2);
    }
}
