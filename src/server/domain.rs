//! Parse, don't validate: each input that has rules becomes a type with one `parse()`.
//! Errors are plain sentences; callers attach them to the field they came from.

use std::fmt;

use crate::types::Role;

/// An email address, trimmed and lower-cased so that uniqueness ignores case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, String> {
        let v = input.trim().to_lowercase();
        if v.is_empty() {
            return Err("is required".into());
        }
        if v.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let Some((local, domain)) = v.split_once('@') else {
            return Err("must look like name@example.com".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c.is_control());
        if !domain_ok || !local_ok {
            return Err("must look like name@example.com".into());
        }
        Ok(Email(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A first or last name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<PersonName, String> {
        let v = input.trim();
        if v.is_empty() {
            return Err("is required".into());
        }
        if v.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        if v.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(PersonName(v.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A team name: 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(input: &str) -> Result<TeamName, String> {
        let v = input.trim();
        if v.is_empty() {
            return Err("is required".into());
        }
        if v.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        if v.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(TeamName(v.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password for a manager account.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(input: &str) -> Result<NewPassword, String> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(format!("must be at least {} characters", Self::MIN_CHARS));
        }
        if n > 200 {
            return Err("must be at most 200 characters".into());
        }
        Ok(NewPassword(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// A score: a whole number; empty means 0.
pub fn parse_score(input: &str) -> Result<i32, String> {
    let v = input.trim();
    if v.is_empty() {
        return Ok(0);
    }
    v.parse::<i32>()
        .map_err(|_| format!("must be a whole number, got \"{v}\""))
}

pub fn parse_role(input: &str) -> Result<Role, String> {
    if input.trim().is_empty() {
        return Ok(Role::Participant);
    }
    Role::parse(input)
}

/// An id from a form or URL.
pub fn parse_id(input: &str) -> Result<i32, String> {
    input
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("\"{input}\" is not a valid id"))
}

/// A local path to return to after signing in; anything else becomes "/".
pub fn safe_next_path(input: &str) -> String {
    let ok = input.starts_with('/')
        && !input.starts_with("//")
        && !input.starts_with("/\\")
        && !input.contains(['\r', '\n'])
        && !input.starts_with("/api/");
    if ok {
        input.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Jim@Example.COM ").unwrap().as_str(),
            "jim@example.com"
        );
        for bad in [
            "",
            "jim",
            "jim@",
            "@example.com",
            "jim@example",
            "jim @example.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn names_and_scores() {
        assert!(PersonName::parse("  ").is_err());
        assert_eq!(PersonName::parse(" Zoë ").unwrap().as_str(), "Zoë");
        assert_eq!(parse_score("").unwrap(), 0);
        assert_eq!(parse_score("-5").unwrap(), -5);
        assert!(parse_score("5.5").unwrap_err().contains("whole number"));
    }

    #[test]
    fn password_rules() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough!").is_ok());
        assert_eq!(
            format!("{:?}", NewPassword::parse("long enough!").unwrap()),
            "NewPassword(***)"
        );
    }

    #[test]
    fn next_path_stays_local() {
        assert_eq!(safe_next_path("/users?page=2"), "/users?page=2");
        assert_eq!(safe_next_path("//evil.example"), "/");
        assert_eq!(safe_next_path("https://evil.example"), "/");
        assert_eq!(safe_next_path("/\\evil.example"), "/");
    }
}
