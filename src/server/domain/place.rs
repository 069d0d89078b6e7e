//! Where a feedback macro or feedback listener belongs: every project, one project, or one
//! feedback type of a project (seed 001: listeners live in a project's or a feedback type's
//! automation). The one rule of what a place holds, used by every way a macro reaches a ticket
//! (`engine::runs::run_on_ticket`, `engine::automation::ticket_event`) and by listeners
//! finding their ticket (`engine::inbound::listeners::find_ticket`).

/// A place. A type implies its project; both None is every project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place {
    pub project_id: Option<i32>,
    pub type_id: Option<i32>,
}

impl Place {
    pub fn new(project_id: Option<i32>, type_id: Option<i32>) -> Self {
        Place {
            project_id,
            type_id,
        }
    }

    /// Every project.
    pub fn everywhere(&self) -> bool {
        self.project_id.is_none() && self.type_id.is_none()
    }

    /// Whether a ticket of `project_id` and feedback type `type_id` is inside the place.
    pub fn holds(&self, project_id: i32, type_id: i32) -> bool {
        self.project_id.is_none_or(|p| p == project_id) && self.type_id.is_none_or(|t| t == type_id)
    }

    /// The place as the editor's "Where" select sends it: "" (every project), "3" (project 3)
    /// or "3/7" (feedback type 7 of project 3). Whether the type is in the project is the
    /// caller's to check, against the database.
    pub fn parse(raw: &str) -> Result<Place, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Place::default());
        }
        let id = |v: &str| {
            v.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("choose every project, a project or a feedback type, not \"{raw}\"")
                })
        };
        match raw.split_once('/') {
            None => Ok(Place::new(Some(id(raw)?), None)),
            Some((p, t)) => Ok(Place::new(Some(id(p)?), Some(id(t)?))),
        }
    }
}

/// A place in words: "Every project", "Beta App" or "Beta App › Bug Report".
pub fn label(project: Option<&str>, feedback_type: Option<&str>) -> String {
    match (project, feedback_type) {
        (None, None) => "Every project".to_string(),
        (Some(p), None) => p.to_string(),
        (Some(p), Some(t)) => format!("{p} › {t}"),
        (None, Some(t)) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::Place;

    #[test]
    fn a_place_holds_the_tickets_of_its_project_and_type() {
        assert!(Place::default().holds(1, 2));
        let project = Place::new(Some(1), None);
        assert!(project.holds(1, 2) && project.holds(1, 3) && !project.holds(4, 2));
        let ty = Place::new(Some(1), Some(2));
        assert!(ty.holds(1, 2) && !ty.holds(1, 3) && !ty.holds(4, 2));
    }

    #[test]
    fn the_select_value_parses() {
        assert_eq!(Place::parse(" "), Ok(Place::default()));
        assert_eq!(Place::parse("3"), Ok(Place::new(Some(3), None)));
        assert_eq!(Place::parse("3/7"), Ok(Place::new(Some(3), Some(7))));
        for bad in ["x", "3/", "/7", "0", "3/-1", "3/7/8"] {
            assert!(Place::parse(bad).is_err(), "{bad}");
        }
    }
}
