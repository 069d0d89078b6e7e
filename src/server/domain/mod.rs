//! Pure rules, with no database and no I/O: the retry schedule (`retry`), webhook signatures
//! (`signing`), where outgoing requests may go (`outgoing`), and the parsed inputs below.
//!
//! Parse, don't validate: each input that has rules becomes a type with one `parse()`.
//! Errors are plain sentences; callers attach them to the field they came from.

pub mod body_path;
pub mod inbound_signature;
pub mod macros;
pub mod outgoing;
pub mod place;
pub mod retry;
pub mod signing;

use std::fmt;

use crate::shared::definitions::Role;

/// Who is doing something, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i32>,
    pub label: String,
    pub ip: String,
    /// The id (a hash, never the token) of the admin session acting, when a manager acts.
    pub session: Option<String>,
    /// The role of the manager acting on a screen; None for the product itself, a listener or
    /// an external source (an API key's call is allowed by the key).
    pub role: Option<Role>,
}

impl Actor {
    pub fn system(label: &str) -> Actor {
        Actor {
            user_id: None,
            label: label.to_string(),
            ip: String::new(),
            session: None,
            role: None,
        }
    }
}

/// A time as the screens and logs print it: `2026-12-07 14:03 UTC`.
pub fn format_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Escapes text for an HTML text node or a quoted attribute value.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text that PostgreSQL can store: no NUL character (it refuses them in text).
pub fn check_storable(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err("must not contain NUL characters".into());
    }
    Ok(())
}

/// Text from a caller, fit for the log: control characters (NUL among them, which
/// PostgreSQL refuses in text) shown as `�`, at most `max` characters.
pub fn printable(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .take(max)
        .collect()
}

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

/// A required name (of a feedback type, a data group …): trimmed, 1 to `max` characters.
pub fn parse_name(input: &str, max: usize) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("is required".into());
    }
    if name.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(name.to_string())
}

/// A key that names something in URLs and JSON: the one rule, shared with the screens.
pub use crate::shared::keys::parse_key;

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
///
/// The input is resolved as a browser would resolve it (the WHATWG URL rules: tabs and new lines
/// dropped, backslashes read as slashes, `.` and `..` segments and percent-escapes applied)
/// against a stand-in origin, and only a result on that same origin is kept. What is
/// returned is the normalised path and query, so the `Location` header never carries a form
/// that another parser could read as a different host. Control characters, a path that would
/// still begin with `//` after normalising, and the API's own paths are refused.
pub fn safe_next_path(input: &str) -> String {
    const HOME: &str = "/";
    if !input.starts_with('/') || input.chars().any(|c| c.is_control()) {
        return HOME.to_string();
    }
    let base = url::Url::parse("http://switchyard.invalid/").expect("a constant URL parses");
    let Ok(target) = base.join(input) else {
        return HOME.to_string();
    };
    let path = target.path();
    // What the path still says once its percent-escapes are undone (a second decoder
    // downstream, or a proxy, must not find a host in it either).
    let decoded = percent_decoded(path);
    let same_origin = target.origin() == base.origin()
        && target.username().is_empty()
        && target.password().is_none();
    if !same_origin
        || path.starts_with("//")
        || decoded.starts_with("//")
        || decoded.contains('\\')
        || decoded.chars().any(|c| c.is_control())
        || path == "/api"
        || path.starts_with("/api/")
    {
        return HOME.to_string();
    }
    match target.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    }
}

/// `%XX` escapes undone (invalid UTF-8 replaced); anything else kept as it is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Callers an API key accepts: IP addresses and CIDR ranges (IPv4 or IPv6). Empty means
/// every caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowList(Vec<(std::net::IpAddr, u8)>);

impl IpAllowList {
    /// Entries separated by commas, spaces or new lines, e.g. `203.0.113.7, 10.0.0.0/8`.
    pub fn parse(input: &str) -> Result<IpAllowList, String> {
        let mut entries = Vec::new();
        for item in input
            .split([',', ' ', '\n', '\r', '\t'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let ip: std::net::IpAddr = addr
                .parse()
                .map_err(|_| format!("\"{item}\" is not an IP address or CIDR range"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("\"{item}\" has a prefix length outside 0–{max}"))?,
            };
            entries.push((ip, bits));
        }
        if entries.len() > 100 {
            return Err("at most 100 entries".into());
        }
        Ok(IpAllowList(entries))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn allows(&self, caller: std::net::IpAddr) -> bool {
        let caller = match caller {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(std::net::IpAddr::V4)
                .unwrap_or(caller),
            v4 => v4,
        };
        self.0.is_empty()
            || self.0.iter().any(|(net, bits)| match (net, caller) {
                (std::net::IpAddr::V4(n), std::net::IpAddr::V4(c)) => {
                    let mask = if *bits == 0 {
                        0
                    } else {
                        u32::MAX << (32 - bits)
                    };
                    u32::from(*n) & mask == u32::from(c) & mask
                }
                (std::net::IpAddr::V6(n), std::net::IpAddr::V6(c)) => {
                    let mask = if *bits == 0 {
                        0
                    } else {
                        u128::MAX << (128 - bits)
                    };
                    u128::from(*n) & mask == u128::from(c) & mask
                }
                _ => false,
            })
    }

    /// The canonical text form stored in the database.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|(ip, bits)| {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                if *bits == max {
                    ip.to_string()
                } else {
                    format!("{ip}/{bits}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The readable start of an API key: 1 to 20 lower-case letters and digits.
pub fn parse_key_prefix(input: &str) -> Result<String, String> {
    let v = input.trim().to_ascii_lowercase();
    if v.is_empty() {
        return Ok("sy".into());
    }
    if v.len() > 20
        || !v
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err("must be 1 to 20 letters and digits".into());
    }
    Ok(v)
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
        assert_eq!(safe_next_path("/feedback/7#comments"), "/feedback/7");
        assert_eq!(safe_next_path("/users/../teams"), "/teams");
        // Known open-redirect forms: every one of them must land on "/".
        let attacks = [
            "/\t/evil.example/",
            "/%09/evil.example",
            "\t//evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\\/evil.example",
            "\\\\evil.example",
            "/\\/evil.example",
            "/\\\\evil.example",
            "//evil.example/%2F..",
            "///evil.example",
            "////evil.example",
            "/.//evil.example",
            "/./\\evil.example",
            "/..//evil.example",
            "/%2e%2e//evil.example",
            "/%2F%2Fevil.example",
            "/%5C%5Cevil.example",
            "/%5Cevil.example",
            "/x/..//evil.example",
            "https:evil.example",
            "https:/evil.example",
            "http://evil.example",
            "HTTP://evil.example",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "/javascript:alert(1)//",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "//evil.example@switchyard.invalid",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/ /evil.example",
            "evil.example",
            "@evil.example",
            "",
            "/api/v1/openapi.json",
        ];
        let mut escaped = Vec::new();
        for attack in attacks {
            let out = safe_next_path(attack);
            let lands_home = out == "/";
            // What a browser makes of the Location header must be this site.
            let base = url::Url::parse("https://app.example/").unwrap();
            let stays_local = out.starts_with('/')
                && !out.starts_with("//")
                && !out.contains(['\\', '\t', '\n', '\r'])
                && base.join(&out).is_ok_and(|u| u.origin() == base.origin());
            if !(lands_home || stays_local) {
                escaped.push((attack, out));
            }
        }
        assert!(escaped.is_empty(), "these left the site: {escaped:?}");
        for must_be_home in [
            "/\t/evil.example/",
            "/%09/evil.example",
            "\\/evil.example",
            "/\\/evil.example",
            "/.//evil.example",
            "/x/..//evil.example",
            "https:evil.example",
            "javascript:alert(1)",
            "/\u{0}/evil.example",
        ] {
            assert_eq!(safe_next_path(must_be_home), "/", "{must_be_home:?}");
        }
    }

    #[test]
    fn ip_allow_lists() {
        let list = IpAllowList::parse("203.0.113.7, 10.0.0.0/8\n2001:db8::/32").unwrap();
        assert!(list.allows("203.0.113.7".parse().unwrap()));
        assert!(!list.allows("203.0.113.8".parse().unwrap()));
        assert!(list.allows("10.20.30.40".parse().unwrap()));
        assert!(
            list.allows("::ffff:10.1.2.3".parse().unwrap()),
            "IPv4-mapped IPv6 callers match IPv4 ranges"
        );
        assert!(list.allows("2001:db8:1::5".parse().unwrap()));
        assert!(!list.allows("2001:db9::1".parse().unwrap()));
        assert_eq!(list.to_text(), "203.0.113.7, 10.0.0.0/8, 2001:db8::/32");
        assert!(
            IpAllowList::parse("")
                .unwrap()
                .allows("198.51.100.1".parse().unwrap())
        );
        assert!(
            IpAllowList::parse("10.0.0.0/33")
                .unwrap_err()
                .contains("prefix length")
        );
        assert!(
            IpAllowList::parse("localhost")
                .unwrap_err()
                .contains("not an IP")
        );
        assert!(
            IpAllowList::parse("0.0.0.0/0")
                .unwrap()
                .allows("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn key_prefixes() {
        assert_eq!(parse_key_prefix("").unwrap(), "sy");
        assert_eq!(parse_key_prefix("Jira").unwrap(), "jira");
        assert!(parse_key_prefix("ji_ra").is_err());
    }
}
