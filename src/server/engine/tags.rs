//! Dynamic tags: `((user.email))`, `((feedback.title))`, `((external.Jira.Issue key))` … in
//! the text of macro actions. One catalogue says which tags exist for which macros; a template
//! is checked against it when the macro is saved (an unknown tag is an error naming it) and
//! rendered when the macro runs, from the run's user or ticket.

use crate::server::engine::external_values;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::errors::AppError;
use crate::server::engine::external_values::Subject;
use crate::server::engine::matching::SCOPE_FEEDBACK;
use crate::server::entities::{community, data_field, data_group, project, ticket, user};

/// Every fixed tag: (tag, what it stands for, the macro scopes that have it).
pub const CATALOGUE: &[(&str, &str, &[&str])] = &[
    (
        "user.email",
        "the user's email (feedback: the submitter's)",
        &["user", "feedback"],
    ),
    (
        "user.first_name",
        "the user's first name",
        &["user", "feedback"],
    ),
    (
        "user.last_name",
        "the user's last name",
        &["user", "feedback"],
    ),
    ("user.score", "the user's score", &["user", "feedback"]),
    ("user.id", "the user's id", &["user", "feedback"]),
    ("feedback.id", "the ticket's id", &["feedback"]),
    ("feedback.title", "the ticket's title", &["feedback"]),
    (
        "feedback.description",
        "the ticket's description",
        &["feedback"],
    ),
    ("feedback.status", "the ticket's status", &["feedback"]),
    ("feedback.type", "the ticket's feedback type", &["feedback"]),
    ("feedback.team", "the ticket's team", &["feedback"]),
    ("feedback.visibility", "public or private", &["feedback"]),
    (
        "feedback.popularity",
        "followers plus comments",
        &["feedback"],
    ),
    ("project.name", "the ticket's project", &["feedback"]),
    ("project.key", "the project's key", &["feedback"]),
    (
        "community.name",
        "the community's name",
        &["user", "feedback"],
    ),
    (
        "run.time",
        "when the run happens (UTC)",
        &["user", "feedback"],
    ),
];

/// Where a rendered value lands, which decides how it is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Plain text (a comment): as it is.
    Text,
    /// Inside a JSON string literal: quotes, backslashes and control characters escaped.
    Json,
    /// An `application/x-www-form-urlencoded` value.
    Form,
    /// A URL path segment or query value: everything but unreserved characters percent-encoded.
    Url,
    /// A header value: no CR, LF or other control character.
    Header,
}

/// `value` escaped for `place`.
pub fn escape(value: &str, place: Place) -> String {
    match place {
        Place::Text => value.to_string(),
        Place::Json => {
            let quoted = serde_json::Value::String(value.to_string()).to_string();
            quoted[1..quoted.len() - 1].to_string()
        }
        Place::Form => url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
        Place::Url => {
            let mut out = String::with_capacity(value.len());
            for b in value.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        }
        Place::Header => value
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    }
}

/// A template split into text and tags.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Tag(String),
}

/// Splits a template; `((` without `))` is an error.
pub fn parse(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("((") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("))")
            .ok_or_else(|| "a tag opened with (( is not closed with ))".to_string())?;
        parts.push(Part::Tag(after[..end].trim().to_string()));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(parts)
}

/// The external-data tags a macro of `scope` may use: `external.<group>.<label>` of the user
/// groups, and (feedback) of the feedback and project groups.
pub async fn external_tags(
    db: &impl ConnectionTrait,
    scope: &str,
) -> Result<Vec<String>, AppError> {
    let scopes: &[&str] = if scope == SCOPE_FEEDBACK {
        &["user", "feedback", "project"]
    } else {
        &["user"]
    };
    let groups = data_group::Entity::find()
        .filter(data_group::Column::Scope.is_in(scopes.iter().copied()))
        .order_by_asc(data_group::Column::Name)
        .all(db)
        .await?;
    let mut tags = Vec::new();
    for g in groups {
        for f in data_field::Entity::find()
            .filter(data_field::Column::GroupId.eq(g.id))
            .order_by_asc(data_field::Column::Position)
            .all(db)
            .await?
        {
            tags.push(format!("external.{}.{}", g.name, f.label));
        }
    }
    Ok(tags)
}

/// Every tag a macro of `scope` may use, with what it stands for: the catalogue's, then the
/// external-data tags.
pub async fn offered(
    db: &impl ConnectionTrait,
    scope: &str,
) -> Result<Vec<(String, String)>, AppError> {
    Ok(CATALOGUE
        .iter()
        .filter(|(_, _, scopes)| scopes.contains(&scope))
        .map(|(t, what, _)| (t.to_string(), what.to_string()))
        .chain(
            external_tags(db, scope)
                .await?
                .into_iter()
                .map(|t| (t, "external data".to_string())),
        )
        .collect())
}

/// Checks every tag of `template` against the catalogue of `scope` and the external tags.
pub fn check(template: &str, scope: &str, external: &[String]) -> Result<(), String> {
    for part in parse(template)? {
        if let Part::Tag(tag) = part {
            let known = CATALOGUE
                .iter()
                .any(|(t, _, scopes)| *t == tag && scopes.contains(&scope))
                || external.iter().any(|e| e.eq_ignore_ascii_case(&tag));
            if !known {
                return Err(format!(
                    "(({tag})) is not a tag of {} macros",
                    if scope == SCOPE_FEEDBACK {
                        "feedback"
                    } else {
                        "user"
                    }
                ));
            }
        }
    }
    Ok(())
}

/// What a run's tags stand for.
#[derive(Debug, Default)]
pub struct Values {
    fixed: Vec<(&'static str, String)>,
    external: Vec<(String, String)>,
}

impl Values {
    /// The values for a run on `target` (a user) or on `ticket` (with its submitter).
    pub async fn load(
        db: &impl ConnectionTrait,
        target: Option<&user::Model>,
        ticket: Option<(&ticket::Model, &str, &str, Option<&str>)>,
        now: DateTime<Utc>,
    ) -> Result<Values, AppError> {
        let mut v = Values::default();
        let community = community::Entity::find().one(db).await?;
        v.fixed.push((
            "community.name",
            community.map(|c| c.name).unwrap_or_default(),
        ));
        v.fixed
            .push(("run.time", now.format("%Y-%m-%d %H:%M UTC").to_string()));
        let submitter = match (target, &ticket) {
            (Some(u), _) => Some(u.clone()),
            (None, Some((t, ..))) => match t.author_user_id {
                Some(id) => user::Entity::find_by_id(id).one(db).await?,
                None => None,
            },
            _ => None,
        };
        if let Some(u) = &submitter {
            v.fixed.extend([
                ("user.email", u.email.clone()),
                ("user.first_name", u.first_name.clone()),
                ("user.last_name", u.last_name.clone()),
                ("user.score", u.score.to_string()),
                ("user.id", u.id.to_string()),
            ]);
            v.add_external(external_values::values_for(db, Subject::User(u.id)).await?);
        }
        if let Some((t, type_name, status, team)) = ticket {
            let p = project::Entity::find_by_id(t.project_id).one(db).await?;
            v.fixed.extend([
                ("feedback.id", t.id.to_string()),
                ("feedback.title", t.title.clone()),
                ("feedback.description", t.description.clone()),
                ("feedback.status", status.to_string()),
                ("feedback.type", type_name.to_string()),
                ("feedback.team", team.unwrap_or("").to_string()),
                ("feedback.visibility", t.visibility.clone()),
                ("feedback.popularity", t.popularity.to_string()),
                (
                    "project.name",
                    p.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                ),
                (
                    "project.key",
                    p.as_ref().map(|p| p.key.clone()).unwrap_or_default(),
                ),
            ]);
            v.add_external(external_values::values_for(db, Subject::Ticket(t.id)).await?);
            v.add_external(external_values::values_for(db, Subject::Project(t.project_id)).await?);
        }
        Ok(v)
    }

    /// The values for a run on a ticket whose type (workflow) and the teams are at hand: its
    /// status and team by name.
    pub async fn for_ticket(
        db: &impl ConnectionTrait,
        t: &ticket::Model,
        feedback_type: &crate::shared::definitions::FeedbackTypeDefinition,
        teams: &[crate::shared::definitions::TeamRef],
        now: DateTime<Utc>,
    ) -> Result<Values, AppError> {
        let status = feedback_type
            .statuses
            .iter()
            .find(|s| s.id == t.status_id)
            .map(|s| s.name.as_str())
            .unwrap_or("");
        let team = t
            .team_id
            .and_then(|id| teams.iter().find(|x| x.id == id))
            .map(|x| x.name.as_str());
        Values::load(db, None, Some((t, &feedback_type.name, status, team)), now).await
    }

    fn add_external(&mut self, values: Vec<external_values::StoredValue>) {
        self.external.extend(
            values
                .into_iter()
                .map(|d| (format!("external.{}.{}", d.group, d.label), d.value)),
        );
    }

    /// The value of one tag, when the run has it.
    pub fn get(&self, tag: &str) -> Option<&str> {
        self.fixed
            .iter()
            .find(|(k, _)| *k == tag)
            .map(|(_, v)| v.as_str())
            .or_else(|| {
                self.external
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(tag))
                    .map(|(_, v)| v.as_str())
            })
    }

    /// The template with each tag replaced by its value (empty when the run has none, e.g. a
    /// removed submitter or an external field never stored).
    pub fn render(&self, template: &str) -> String {
        self.render_in(template, Place::Text)
    }

    /// As `render`, each value escaped for `place` (the template's own text is kept as it is).
    pub fn render_in(&self, template: &str, place: Place) -> String {
        let Ok(parts) = parse(template) else {
            return template.to_string();
        };
        parts
            .into_iter()
            .map(|p| match p {
                Part::Text(t) => t,
                Part::Tag(tag) => escape(
                    &self
                        .fixed
                        .iter()
                        .find(|(k, _)| *k == tag)
                        .map(|(_, v)| v.clone())
                        .or_else(|| {
                            self.external
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(&tag))
                                .map(|(_, v)| v.clone())
                        })
                        .unwrap_or_default(),
                    place,
                ),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_text_and_tags() {
        assert_eq!(
            parse("Hi ((user.first_name)), ((  feedback.title ))!").unwrap(),
            vec![
                Part::Text("Hi ".into()),
                Part::Tag("user.first_name".into()),
                Part::Text(", ".into()),
                Part::Tag("feedback.title".into()),
                Part::Text("!".into()),
            ]
        );
        assert!(parse("Hi ((user.first_name").is_err());
        assert_eq!(
            parse("no tags").unwrap(),
            vec![Part::Text("no tags".into())]
        );
    }

    #[test]
    fn tags_are_checked_per_scope() {
        let external = vec!["external.Jira.Issue key".to_string()];
        assert!(check("((user.email))", "user", &[]).is_ok());
        assert!(
            check(
                "((feedback.title)) ((external.jira.issue key))",
                "feedback",
                &external
            )
            .is_ok()
        );
        let err = check("((feedback.title))", "user", &[]).unwrap_err();
        assert!(
            err.contains("((feedback.title))") && err.contains("user macros"),
            "{err}"
        );
        assert!(check("((user.password))", "user", &[]).is_err());
    }

    /// Strings that break naive escaping, then random ones (seeded: a failure is reproducible).
    fn nasty_strings() -> Vec<String> {
        use rand::{Rng, SeedableRng};
        let mut all: Vec<String> = [
            "",
            "\"",
            "\\",
            "\\\"",
            "'",
            "\n\r\t",
            "\u{0}",
            "\u{1f}\u{7f}",
            "((user.email))",
            "))((",
            "a&b=c",
            "100%",
            "+ +",
            "é ü ß",
            "日本語",
            "🎉",
            "\u{2028}\u{2029}",
            "</script>",
            "Content-Length: 0\r\n\r\nGET /",
            "{\"x\": 1}",
            "%00",
            "#?/",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let pool: Vec<char> = "\"\\'\n\r\t\u{0}\u{8}\u{1b}{}[]:,&=+%#?/ aZ09éß日🎉\u{2028}\u{fffd}"
            .chars()
            .collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261125);
        for _ in 0..3000 {
            let len = rng.gen_range(0..40);
            all.push(
                (0..len)
                    .map(|_| {
                        if rng.gen_bool(0.2) {
                            char::from_u32(rng.gen_range(0..0x11000)).unwrap_or('x')
                        } else {
                            pool[rng.gen_range(0..pool.len())]
                        }
                    })
                    .collect(),
            );
        }
        all
    }

    fn with_name(name: &str) -> Values {
        Values {
            fixed: vec![("user.first_name", name.to_string())],
            external: Vec::new(),
        }
    }

    #[test]
    fn any_string_in_a_tag_keeps_a_json_body_valid_and_holding_it() {
        for s in nasty_strings() {
            let body = with_name(&s).render_in(
                r#"{"text": "Hi ((user.first_name))!", "raw": "((user.first_name))", "n": 1}"#,
                Place::Json,
            );
            let parsed: serde_json::Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{s:?} made invalid JSON ({e}): {body}"));
            assert_eq!(parsed["raw"], serde_json::Value::String(s.clone()), "{s:?}");
            assert_eq!(
                parsed["text"],
                serde_json::Value::String(format!("Hi {s}!"))
            );
            assert_eq!(parsed["n"], 1);
        }
    }

    #[test]
    fn any_string_in_any_tag_of_the_catalogue_keeps_a_json_body_holding_it() {
        let strings = nasty_strings();
        for (i, (tag, _, _)) in CATALOGUE.iter().enumerate() {
            // A different sample of the strings for each tag keeps the test quick.
            for s in strings.iter().skip(i % 7).step_by(7) {
                let v = Values {
                    fixed: vec![(*tag, s.clone())],
                    external: vec![("external.Jira.Issue key".into(), s.clone())],
                };
                let body = v.render_in(
                    &format!(r#"{{"v": "(({tag}))", "x": "((external.jira.issue key))"}}"#),
                    Place::Json,
                );
                let parsed: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| {
                    panic!("(({tag})) = {s:?} made invalid JSON ({e}): {body}")
                });
                assert_eq!(parsed["v"], serde_json::Value::String(s.clone()), "{tag}");
                assert_eq!(parsed["x"], serde_json::Value::String(s.clone()));
            }
        }
    }

    #[test]
    fn any_string_survives_form_and_url_encoding_and_never_breaks_a_header() {
        for s in nasty_strings() {
            let form = with_name(&s).render_in("name=((user.first_name))&x=1", Place::Form);
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(
                pairs,
                vec![("name".into(), s.clone()), ("x".into(), "1".into())],
                "{s:?}"
            );
            let path = with_name(&s).render_in("/users/((user.first_name))/x", Place::Url);
            let segment = path.split('/').nth(2).unwrap();
            let decoded: Vec<u8> = url::form_urlencoded::parse(
                format!("v={}", segment.replace('+', "%2B")).as_bytes(),
            )
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())
            .unwrap_or_default();
            assert_eq!(String::from_utf8(decoded).unwrap(), s, "{path}");
            let header = with_name(&s).render_in("Bearer ((user.first_name))", Place::Header);
            assert!(!header.contains(['\r', '\n', '\0']), "{header:?}");
        }
    }

    #[test]
    fn rendering_fills_known_tags_and_leaves_missing_ones_empty() {
        let v = Values {
            fixed: vec![("user.first_name", "Ada".into())],
            external: vec![("external.Jira.Issue key".into(), "BETA-42".into())],
        };
        assert_eq!(
            v.render("Hi ((user.first_name)) about ((external.Jira.Issue key))((user.score))"),
            "Hi Ada about BETA-42"
        );
    }
}
