//! Keys: the names things have in URLs and JSON (a macro, a project, a form field, a listener).
//! Shared, so that a screen can show what a key will be as it is typed.

/// A key as it is stored: trimmed, in lower case, 1 to 60 letters, digits, `-` or `_`.
pub fn parse_key(input: &str) -> Result<String, String> {
    let v = input.trim().to_ascii_lowercase();
    if v.is_empty() {
        return Err("is required".into());
    }
    if v.len() > 60
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("must be 1 to 60 letters, digits, - or _".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::parse_key;

    #[test]
    fn keys_are_lower_case_and_refused_with_the_rule() {
        assert_eq!(parse_key("  DeleteUser_2 ").unwrap(), "deleteuser_2");
        assert_eq!(parse_key("   ").unwrap_err(), "is required");
        for bad in ["two words", "ключ", "a/b", &"k".repeat(61)] {
            assert_eq!(
                parse_key(bad).unwrap_err(),
                "must be 1 to 60 letters, digits, - or _",
                "{bad:?}"
            );
        }
    }
}
