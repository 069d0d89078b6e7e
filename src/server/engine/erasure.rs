//! Erasure: removing a person (the *Remove user completely* action, or a plain "Delete user")
//! leaves no form of their email or name anywhere the product writes, and an operator can
//! prove it with `switchyard erasure-check --email E [--name "F L"]`.
//!
//! Two halves share one definition of "a form of the person":
//! - [`erase`] first does what each area knows about the person (rows tied to their id lose
//!   the link and their text: comments keep their body under "Removed user", deliveries about
//!   them are emptied, audit entries about them are redacted), then **sweeps** every text
//!   column of every table (found from the database's own schema, not a hand list) for the
//!   person's current and earlier emails and names, in every form they may have been written
//!   in ([`forms`]), and cuts each occurrence out. After the transaction commits, [`settle`]
//!   rewrites what the database keeps of deleted data: SQLite's WAL is checkpointed and
//!   truncated (`secure_delete` is on for every connection, so freed pages are zeroed);
//!   PostgreSQL vacuums the tables that changed.
//! - [`check`] runs the same scan without changing anything, and [`scan_file`] reads the
//!   SQLite file and its WAL byte by byte for the same forms.
//!
//! A form matches case-insensitively and only as a whole word: `jim@example.com` is not found
//! inside `tim.jim@example.com`, nor `Jim Smith` inside `Jim Smithers`. Names are looked for
//! everywhere except in the `users` table, where other members keep their own names (two
//! people may share one); the person's own row is deleted by the caller.

use crate::server::engine::outbox;
use crate::server::store::audit_trail;
use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};

use crate::errors::AppError;
use crate::server::entities::{
    erasure_receipt, person_alias, ticket, ticket_comment, ticket_event, ticket_follower, user,
    webhook_delivery,
};
use crate::server::store::lookups::recount_popularity;
use sea_orm::sea_query::Expr;

pub const REMOVED_LABEL: &str = "Removed user";

/// What replaces a form of the person wherever the sweep finds one.
pub const CUT: &str = "[removed]";

const KIND_EMAIL: &str = "email";
const KIND_NAME: &str = "name";

/// Tables the scan never reads: the migration bookkeeping.
const SKIPPED_TABLES: &[&str] = &["seaql_migrations"];
/// Tables where names are not looked for: each member's own record holds their own name.
const OWN_RECORD_TABLES: &[&str] = &["users", "person_aliases"];

/// Everyone a person was, as far as this installation knows: their current and earlier emails
/// and full names.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub emails: Vec<String>,
    pub names: Vec<String>,
}

impl Identity {
    /// An identity given by an operator (the checker's `--email` and `--name`).
    pub fn new(emails: Vec<String>, names: Vec<String>) -> Identity {
        let keep = |v: Vec<String>, long_enough: fn(&str) -> bool| {
            let mut out: Vec<String> = Vec::new();
            for s in v {
                let s = s.trim().to_string();
                if long_enough(&s) && !out.iter().any(|o| o.to_lowercase() == s.to_lowercase()) {
                    out.push(s);
                }
            }
            out
        };
        // A full name: two words and at least four letters ("Bo Li"), so that "A B" cuts
        // nothing; in Chinese, Japanese or Korean script three characters ("王 小明", not
        // "王 伟": two characters are also common words, and that script has no spaces to
        // tell a name from part of a longer word). Those are also looked for as written,
        // without the space, in either order ("王小明", as the family name comes first).
        let mut names = keep(names, |n| {
            let letters = n.chars().filter(|c| c.is_alphanumeric()).count();
            n.split_whitespace().count() >= 2
                && if n.chars().any(is_cjk) {
                    letters >= 3
                } else {
                    letters >= 4
                }
        });
        let spaceless: Vec<String> = names
            .iter()
            .filter(|n| n.chars().filter(|c| !c.is_whitespace()).all(is_cjk))
            .flat_map(|n| {
                let words: Vec<&str> = n.split_whitespace().collect();
                let reversed: String = words.iter().rev().copied().collect();
                [words.concat(), reversed]
            })
            .collect();
        for s in spaceless {
            if !names.contains(&s) {
                names.push(s);
            }
        }
        Identity {
            emails: keep(emails, |e| e.contains('@') && e.chars().count() >= 3),
            names,
        }
    }

    /// The names given that are too short to look for (the checker says it left them out).
    pub fn dropped_names(given: &[String]) -> Vec<String> {
        let kept = Identity::new(Vec::new(), given.to_vec()).names;
        given
            .iter()
            .filter(|g| {
                !kept
                    .iter()
                    .any(|k| k.to_lowercase() == g.trim().to_lowercase())
            })
            .cloned()
            .collect()
    }

    /// The user's current email and name and the earlier ones an edit replaced.
    pub async fn of(db: &impl ConnectionTrait, person: &user::Model) -> Result<Identity, AppError> {
        let mut emails = vec![person.email.clone()];
        let mut names = vec![full_name(person)];
        for alias in person_alias::Entity::find()
            .filter(person_alias::Column::UserId.eq(person.id))
            .all(db)
            .await?
        {
            match alias.kind.as_str() {
                KIND_EMAIL => {
                    // An earlier email someone else holds now is theirs, not the person's.
                    let taken = user::Entity::find()
                        .filter(user::Column::Email.eq(alias.value.to_lowercase()))
                        .filter(user::Column::Id.ne(person.id))
                        .one(db)
                        .await?
                        .is_some();
                    if !taken {
                        emails.push(alias.value);
                    }
                }
                _ => names.push(alias.value),
            }
        }
        Ok(Identity::new(emails, names))
    }

    /// `text` with every form of the person cut out (whole words, any case), as the sweep
    /// would leave it.
    pub fn cut(&self, text: &str) -> String {
        let needles = self.needles();
        let all: Vec<&Needle> = needles.iter().collect();
        cut_all(text, &all).unwrap_or_else(|| text.to_string())
    }

    /// Each word of each name (three letters or more), in every form: where a tag wrote a
    /// first or last name alone (`Hi ((user.first_name))`). Only cut in places tied to the
    /// person, never swept everywhere (other people share first names).
    fn part_needles(&self) -> Vec<Needle> {
        let mut out: Vec<Needle> = Vec::new();
        for name in &self.names {
            for word in name.split_whitespace() {
                if word.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
                    continue;
                }
                for form in forms(word) {
                    if !out
                        .iter()
                        .any(|n| n.form.to_lowercase() == form.to_lowercase())
                    {
                        out.push(Needle { form, name: true });
                    }
                }
            }
        }
        // Longer words first, so that a word holding another is cut whole.
        out.sort_by_key(|n| std::cmp::Reverse(n.form.chars().count()));
        out
    }

    /// Every (form, is it a name) pair to look for.
    fn needles(&self) -> Vec<Needle> {
        let mut out: Vec<Needle> = Vec::new();
        for (values, name) in [(&self.emails, false), (&self.names, true)] {
            for v in values {
                for form in forms(v) {
                    if !out
                        .iter()
                        .any(|n| n.form.to_lowercase() == form.to_lowercase())
                    {
                        out.push(Needle { form, name });
                    }
                }
            }
        }
        out
    }
}

fn full_name(u: &user::Model) -> String {
    format!("{} {}", u.first_name, u.last_name)
}

/// Keeps a user's earlier email and/or name (an edit is replacing them) until they are erased.
pub async fn remember_aliases(
    db: &impl ConnectionTrait,
    user_id: i32,
    old_email: Option<&str>,
    old_name: Option<&str>,
) -> Result<(), AppError> {
    for (kind, value) in [(KIND_EMAIL, old_email), (KIND_NAME, old_name)] {
        let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        person_alias::ActiveModel {
            user_id: Set(user_id),
            kind: Set(kind.into()),
            value: Set(value.to_string()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Needle {
    form: String,
    name: bool,
}

/// The forms in which `text` may have been written down by the product or sent to it: as
/// typed, percent-encoded in a URL or query (all of it, or only `@`, `+`, spaces or
/// non-ASCII), form-encoded (`+` for spaces), escaped inside a JSON string (with non-ASCII
/// characters as they are or as `\uXXXX`) and escaped for HTML. Letter case never matters.
pub fn forms(text: &str) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let mut out: Vec<String> = Vec::new();
    // An accented letter may be one character or a letter and a combining accent (NFD, as
    // macOS and some APIs write): every form is made of each.
    let nfc: String = text.nfc().collect();
    let nfd: String = text.nfd().collect();
    for base in [text.to_string(), nfc, nfd] {
        forms_of(&base, &mut out);
    }
    out
}

fn forms_of(text: &str, out: &mut Vec<String>) {
    let mut add = |s: String| {
        if !s.is_empty()
            && !out
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&s) || o.to_lowercase() == s.to_lowercase())
        {
            out.push(s);
        }
    };
    add(text.to_string());
    // Percent-encoding of everything outside the unreserved set, spaces as %20 or +.
    add(percent(text, |c| !is_unreserved(c), "%20"));
    add(percent(text, |c| !is_unreserved(c), "+"));
    // application/x-www-form-urlencoded as the url crate writes it.
    add(url::form_urlencoded::byte_serialize(text.as_bytes()).collect());
    // Only some characters encoded (what many senders do in a query string).
    add(percent(text, |c| c == '@', " "));
    add(percent(text, |c| c == '+', " "));
    add(percent(text, |c| c == '@' || c == '+', " "));
    add(percent(text, |c| !c.is_ascii(), " "));
    add(percent(text, |c| !c.is_ascii() || c == '@', "%20"));
    add(percent(text, |c| !c.is_ascii() || c == '@', "+"));
    add(text.replace(' ', "+"));
    add(text.replace(' ', "%20"));
    // JSON strings.
    let json = serde_json::to_string(text).unwrap_or_default();
    add(json[1..json.len().saturating_sub(1).max(1)].to_string());
    add(json_ascii(text));
    // HTML text and attributes, and numeric character references (`&#64;`, `&#x40;`) for
    // everything but letters, digits, spaces and `.-_`.
    add(crate::server::domain::escape_html(text));
    add(html_numeric(text, false));
    add(html_numeric(text, true));
}

fn html_numeric(text: &str, hex: bool) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_') {
                c.to_string()
            } else if hex {
                format!("&#x{:x};", c as u32)
            } else {
                format!("&#{};", c as u32)
            }
        })
        .collect()
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// `text` with the characters `encode` picks as %XX (UTF-8 bytes, upper-case hex) and each
/// space as `space` (a space given as " " stays a space unless `encode` picks it).
fn percent(text: &str, encode: impl Fn(char) -> bool, space: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for c in text.chars() {
        if c == ' ' && space != " " {
            out.push_str(space);
        } else if encode(c) && c != ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON string's content with every non-ASCII character as `\uXXXX` (UTF-16 units).
fn json_ascii(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_default();
    let inner = &json[1..json.len().saturating_sub(1).max(1)];
    let mut out = String::with_capacity(inner.len());
    for c in inner.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// Chinese, Japanese and Korean script, written without spaces between words: a name there
/// ends a word wherever it ends.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}' | '\u{31f0}'..='\u{31ff}' | '\u{ff66}'..='\u{ff9f}' // kana
        | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' // han
        | '\u{20000}'..='\u{323af}' // han, extensions B to H
        | '\u{1100}'..='\u{11ff}' | '\u{3130}'..='\u{318f}' | '\u{ac00}'..='\u{d7af}' // hangul
    )
}

fn same_letter(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// Whether the characters around a match end a word: for an email, the local part and the
/// domain may not go on (`tim.jim@…`, `…@example.com.au` are other addresses); for a name, no
/// letter, digit or hyphen may touch it (`Jim Smith-Jones` is someone else). An escape next to
/// the match (`%XX` bytes of UTF-8, a JSON `\uXXXX`) stands for the character it encodes, so
/// an encoded letter goes on a word and an encoded CJK character does not. `+` before an
/// encoded form is a form-encoded space, so a boundary there (not before a form as typed:
/// `team+jim@…` is another address).
fn at_boundary(before: &[char], after: &[char], name: bool, encoded: bool) -> bool {
    let word = |c: char| {
        if name {
            (c.is_alphanumeric() && !is_cjk(c)) || c == '-'
        } else {
            c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
        }
    };
    let left_ok = match escaped_before(before).or_else(|| before.last().copied()) {
        None => true,
        Some('+') if encoded => true,
        Some(c) => !word(c),
    };
    let right = match escaped_after(after) {
        Some((c, used)) => Some((c, after.get(used).copied())),
        None => after.first().map(|c| (*c, after.get(1).copied())),
    };
    let right_ok = match right {
        None => true,
        Some((c, next)) => {
            if name {
                !word(c)
            } else {
                !(c.is_alphanumeric()
                    || c == '-'
                    || (c == '.' && next.is_some_and(|n| n.is_alphanumeric())))
            }
        }
    };
    left_ok && right_ok
}

fn hex_value(digits: &[char]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |v, d| Some(v * 16 + d.to_digit(16)?))
}

/// The byte a `%XX` escape at the start of `s` stands for.
fn percent_byte(s: &[char]) -> Option<u8> {
    match s {
        ['%', h, l, ..] => hex_value(&[*h, *l]).map(|v| v as u8),
        _ => None,
    }
}

/// The UTF-16 unit a JSON `\uXXXX` escape at the start of `s` stands for.
fn json_unit(s: &[char]) -> Option<u16> {
    match s {
        ['\\', 'u', a, b, c, d, ..] => hex_value(&[*a, *b, *c, *d]).map(|v| v as u16),
        _ => None,
    }
}

/// The character that the escapes ending `before` encode, if they end in one.
fn escaped_before(before: &[char]) -> Option<char> {
    // Up to four `%XX` bytes: the last whole UTF-8 character they make.
    let mut bytes = Vec::new();
    let mut end = before.len();
    while bytes.len() < 4 && end >= 3 {
        match percent_byte(&before[end - 3..]) {
            Some(b) => {
                bytes.insert(0, b);
                end -= 3;
                if let Some(c) = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|s| s.chars().next())
                {
                    return Some(c);
                }
                if b & 0xC0 != 0x80 {
                    // A lead byte that does not complete a character: no character here.
                    return Some(char::REPLACEMENT_CHARACTER);
                }
            }
            None => break,
        }
    }
    if !bytes.is_empty() {
        return Some(char::REPLACEMENT_CHARACTER);
    }
    let n = before.len();
    let unit = n.checked_sub(6).and_then(|i| json_unit(&before[i..]))?;
    // Only a high surrogate before a low one makes a pair with it; any other escape before
    // this one is a character of its own.
    let high = n
        .checked_sub(12)
        .and_then(|i| json_unit(&before[i..]))
        .filter(|h| (0xD800..0xDC00).contains(h) && (0xDC00..0xE000).contains(&unit));
    Some(match high {
        Some(h) => char::decode_utf16([h, unit])
            .next()
            .and_then(Result::ok)
            .unwrap_or(char::REPLACEMENT_CHARACTER),
        None => char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER),
    })
}

/// The character that the escapes starting `after` encode, and how many chars they take.
fn escaped_after(after: &[char]) -> Option<(char, usize)> {
    if let Some(first) = percent_byte(after) {
        let mut bytes = vec![first];
        let mut used = 3;
        while bytes.len() < 4 {
            if let Some(c) = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.chars().next())
            {
                return Some((c, used));
            }
            match percent_byte(&after[used..]) {
                Some(b) => {
                    bytes.push(b);
                    used += 3;
                }
                None => break,
            }
        }
        let c = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.chars().next());
        return Some((c.unwrap_or(char::REPLACEMENT_CHARACTER), used));
    }
    let unit = json_unit(after)?;
    let pair = json_unit(after.get(6..).unwrap_or_default())
        .and_then(|low| char::decode_utf16([unit, low]).next()?.ok());
    Some(match pair {
        Some(c) if (0xD800..0xDC00).contains(&unit) => (c, 12),
        _ => (
            char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER),
            6,
        ),
    })
}

/// Where `needle` stands in `hay` as a whole word, case-insensitively (char index ranges).
fn occurrences(hay: &[char], needle: &Needle) -> Vec<(usize, usize)> {
    let n: Vec<char> = needle.form.chars().collect();
    let mut found = Vec::new();
    if n.is_empty() || hay.len() < n.len() {
        return found;
    }
    let mut i = 0;
    while i + n.len() <= hay.len() {
        if hay[i..i + n.len()]
            .iter()
            .zip(&n)
            .all(|(a, b)| same_letter(*a, *b))
            && at_boundary(
                &hay[..i],
                &hay[i + n.len()..],
                needle.name,
                needle.form.contains('%'),
            )
        {
            found.push((i, i + n.len()));
            i += n.len();
        } else {
            i += 1;
        }
    }
    found
}

/// `text` with every whole-word occurrence of the needles cut out, or None when it holds none.
fn cut_all(text: &str, needles: &[&Needle]) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut changed = false;
    for needle in needles {
        let hits = occurrences(&chars, needle);
        if hits.is_empty() {
            continue;
        }
        changed = true;
        let mut next = Vec::with_capacity(chars.len());
        let mut from = 0;
        for (start, end) in hits {
            next.extend_from_slice(&chars[from..start]);
            next.extend(CUT.chars());
            from = end;
        }
        next.extend_from_slice(&chars[from..]);
        chars = next;
    }
    changed.then(|| chars.into_iter().collect())
}

/// One place a form of the person was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub table: String,
    pub column: String,
    /// The row: its SQLite rowid or PostgreSQL ctid.
    pub row: String,
    pub form: String,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{} (row {}): {:?}",
            self.table, self.column, self.row, self.form
        )
    }
}

/// A table and the columns of it that can hold text.
struct TextTable {
    name: String,
    /// (column, SQL type to cast a written value to on PostgreSQL, e.g. `jsonb`)
    columns: Vec<(String, String)>,
}

/// Every table and text column of the database, from its own catalogue.
async fn text_tables(db: &impl ConnectionTrait) -> Result<Vec<TextTable>, AppError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT m.name AS t, p.name AS c, upper(p.type) AS ty \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             ORDER BY m.name, p.cid"
        }
        _ => {
            "SELECT c.table_name::text AS t, c.column_name::text AS c, c.data_type::text AS ty \
             FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
               AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') \
             ORDER BY c.table_name, c.ordinal_position"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql.to_string()))
        .await?;
    let mut tables: Vec<TextTable> = Vec::new();
    for row in rows {
        let t: String = row.try_get("", "t")?;
        let c: String = row.try_get("", "c")?;
        let ty: String = row.try_get("", "ty")?;
        if SKIPPED_TABLES.contains(&t.as_str()) {
            continue;
        }
        if backend == DbBackend::Sqlite
            && [
                "INT", "REAL", "FLOA", "DOUB", "BOOL", "BLOB", "NUMERIC", "DECIMAL",
            ]
            .iter()
            .any(|k| ty.contains(k))
        {
            continue;
        }
        match tables.last_mut() {
            Some(last) if last.name == t => last.columns.push((c, ty)),
            _ => tables.push(TextTable {
                name: t,
                columns: vec![(c, ty)],
            }),
        }
    }
    Ok(tables)
}

fn quoted(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `%form%` for LIKE, with `!` as the escape character (it means the same whatever the
/// server's string settings). A non-ASCII character becomes `_` (any one character): LIKE
/// folds the case of ASCII letters only, and `Élodie` must also find `élodie`.
fn like_pattern(form: &str) -> String {
    let mut p = String::from("%");
    for c in form.chars() {
        if !c.is_ascii() {
            p.push('_');
            continue;
        }
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The LIKE patterns that find rows that may hold a needle (the exact, whole-word and
/// case-insensitive test is done on what they return).
fn patterns(needles: &[&Needle]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in needles {
        let p = like_pattern(&n.form);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// How a column is read as text, and the case-insensitive LIKE for ASCII letters, on `backend`.
fn text_search(backend: DbBackend) -> (fn(&str) -> String, &'static str) {
    match backend {
        DbBackend::Sqlite => (|c| format!("CAST({c} AS TEXT)"), "LIKE"),
        _ => (|c| format!("{c}::text"), "ILIKE"),
    }
}

/// A row that holds a form of the person: its id, and each column that does with its text
/// and the forms found in it.
struct Holding {
    row: String,
    columns: Vec<(String, String, Vec<String>)>,
}

/// `a OR b OR …` as a balanced tree: a flat chain of columns × patterns is as deep as it is
/// long, and SQLite refuses an expression deeper than 1000 ("Expression tree is too large"),
/// which a person with a few names and emails reaches on a table of 16 text columns.
fn any_of(conditions: &[String]) -> String {
    match conditions {
        [] => "FALSE".into(),
        [one] => one.clone(),
        _ => {
            let (a, b) = conditions.split_at(conditions.len() / 2);
            format!("({} OR {})", any_of(a), any_of(b))
        }
    }
}

/// The rows of one table that hold a needle.
async fn rows_holding(
    db: &impl ConnectionTrait,
    table: &TextTable,
    needles: &[&Needle],
    for_update: bool,
) -> Result<Vec<Holding>, AppError> {
    let backend = db.get_database_backend();
    let pats = patterns(needles);
    if pats.is_empty() {
        return Ok(Vec::new());
    }
    let row_id = match backend {
        DbBackend::Sqlite => "CAST(rowid AS TEXT)",
        _ => "ctid::text",
    };
    let (as_text, like) = text_search(backend);
    let mut select = vec![format!("{row_id} AS \"__row\"")];
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for (i, (col, _)) in table.columns.iter().enumerate() {
        let expr = as_text(&quoted(col));
        select.push(format!("{expr} AS \"c{i}\""));
        for p in &pats {
            values.push(p.clone().into());
            let param = match backend {
                DbBackend::Sqlite => "?".to_string(),
                _ => format!("${}", values.len()),
            };
            conditions.push(format!("{expr} {like} {param} ESCAPE '!'"));
        }
        // SQLite's LIKE stops reading a text at a NUL character, so text holding one is read
        // whole here instead (nothing of ours writes one, but a value may come from outside).
        if backend == DbBackend::Sqlite {
            conditions.push(format!("instr({expr}, char(0)) > 0"));
        }
    }
    // On PostgreSQL the sweep locks the rows until its transaction ends, so that none moves
    // to another ctid (a concurrent update) before it is written back.
    let lock = if backend == DbBackend::Sqlite || !for_update {
        ""
    } else {
        " FOR UPDATE"
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE {}{lock}",
        select.join(", "),
        quoted(&table.name),
        any_of(&conditions)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let mut holding = Holding {
            row: row.try_get("", "__row")?,
            columns: Vec::new(),
        };
        for (i, (col, _)) in table.columns.iter().enumerate() {
            let Some(text) = row.try_get::<Option<String>>("", &format!("c{i}"))? else {
                continue;
            };
            let chars: Vec<char> = text.chars().collect();
            let hits: Vec<String> = needles
                .iter()
                .filter(|n| !occurrences(&chars, n).is_empty())
                .map(|n| n.form.clone())
                .collect();
            if !hits.is_empty() {
                holding.columns.push((col.clone(), text, hits));
            }
        }
        if !holding.columns.is_empty() {
            out.push(holding);
        }
    }
    Ok(out)
}

/// The needles to look for in a table (names are not looked for in members' own records).
fn needles_for<'a>(table: &str, needles: &'a [Needle]) -> Vec<&'a Needle> {
    let own_records = OWN_RECORD_TABLES.contains(&table);
    needles
        .iter()
        .filter(|n| !(n.name && own_records))
        .collect()
}

/// Columns that name the author or actor of a row beside a link to them (`author_label` next
/// to `author_user_id`): the person's own rows there are handled through the link, and a name
/// in such a column may be another member who shares it, so names are not cut there.
fn is_label_column(column: &str) -> bool {
    column.ends_with("_label")
}

/// Every place in the database that still holds a form of the person. Changes nothing.
pub async fn check(db: &impl ConnectionTrait, who: &Identity) -> Result<Vec<Found>, AppError> {
    let needles = who.needles();
    let mut found = Vec::new();
    for table in text_tables(db).await? {
        let wanted = needles_for(&table.name, &needles);
        for holding in rows_holding(db, &table, &wanted, false).await? {
            for (column, _, forms) in holding.columns {
                let label = is_label_column(&column);
                for form in forms {
                    if label && needles.iter().any(|n| n.name && n.form == form) {
                        continue;
                    }
                    found.push(Found {
                        table: table.name.clone(),
                        column: column.clone(),
                        row: holding.row.clone(),
                        form,
                    });
                }
            }
        }
    }
    Ok(found)
}

/// Everything `switchyard erasure-check` looks at in the database: every table (`check`) and
/// the requests still sealed for sending (`check_sealed`, opened with the key file at
/// `key_file`). A database without Switchyard's tables, or sealed requests waiting while the
/// key file is missing, is an error: a check that could not look must not say "clean".
pub async fn check_all(
    db: &impl ConnectionTrait,
    key_file: &std::path::Path,
    who: &Identity,
) -> Result<Vec<Found>, AppError> {
    if db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM seaql_migrations",
        ))
        .await
        .is_err()
    {
        return Err(AppError::BadRequest(
            "this is not a Switchyard database (it has no migrations table)".into(),
        ));
    }
    let mut found = check(db, who).await?;
    let sealer = crate::server::secrets::Sealer::load(key_file).map_err(AppError::BadRequest)?;
    match sealer {
        Some(sealer) => found.extend(check_sealed(db, &sealer, who).await?),
        None => {
            let waiting = sea_orm::PaginatorTrait::count(sealed_waiting(), db).await?;
            if waiting > 0 {
                return Err(AppError::BadRequest(format!(
                    "{waiting} sealed request(s) wait to be sent and cannot be read without the key file {}",
                    key_file.display()
                )));
            }
        }
    }
    Ok(found)
}

/// The deliveries whose request is still sealed: not sent, given up or cancelled yet.
fn sealed_waiting() -> sea_orm::Select<crate::server::entities::webhook_delivery::Entity> {
    use crate::server::entities::webhook_delivery;
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Sealed.eq(true))
        .filter(webhook_delivery::Column::ErasedAt.is_null())
}

/// The requests of removal macros still sealed in `webhook_deliveries` (waiting to be sent or
/// retried) that name the person: opened with the key file, since the table scan of `check`
/// cannot read them. Each is cut once its delivery ends, so a place found here is one the
/// product will still empty by itself; until then it holds the person, and the check says so.
pub async fn check_sealed(
    db: &impl ConnectionTrait,
    sealer: &crate::server::secrets::Sealer,
    who: &Identity,
) -> Result<Vec<Found>, AppError> {
    use crate::server::engine::outbox::SealedRequest;
    let waiting = sealed_waiting().all(db).await?;
    let needles = who.needles();
    let mut found = Vec::new();
    for d in waiting {
        let text = match SealedRequest::open(sealer, &d) {
            Ok(r) => {
                let headers: Vec<String> =
                    r.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{}\n{}\n{}", r.url, headers.join("\n"), r.body)
            }
            // Not readable with this key file: it cannot be shown clean.
            Err(e) => {
                found.push(Found {
                    table: "webhook_deliveries".into(),
                    column: format!("body (sealed, {}; {e})", d.status),
                    row: d.id.to_string(),
                    form: "?".into(),
                });
                continue;
            }
        };
        for n in &needles {
            if cut_all(&text, &[n]).is_some() {
                found.push(Found {
                    table: "webhook_deliveries".into(),
                    column: format!("body (sealed, {}; cut when it ends)", d.status),
                    row: d.id.to_string(),
                    form: n.form.clone(),
                });
            }
        }
    }
    Ok(found)
}

/// Tables whose rows are deleted, not rewritten, when they name the person: a stored
/// `Idempotency-Key` answer is found by a key the caller chose, under a unique index, so a key
/// rewritten to the label could collide with another caller's key (`x-[label]`) and fail the
/// whole erasure. Deleting it loses only the replay of a call that named the person.
const DELETED_WHEN_NAMING: &[&str] = &["idempotency_keys"];

/// What a sweep cut out: the number of values changed (or rows deleted) per table.
pub type Swept = BTreeMap<String, u64>;

/// Cuts every form of the person out of every text column, except their own user row (the
/// caller deletes it) and other members' own records (see the module comment). Runs in the
/// caller's transaction.
pub async fn sweep(db: &impl ConnectionTrait, who: &Identity) -> Result<Swept, AppError> {
    let backend = db.get_database_backend();
    let needles = who.needles();
    let mut swept = Swept::new();
    let mut tables = text_tables(db).await?;
    // A delivery before its attempts: a sender recording an attempt waits on the delivery's
    // row lock taken here, then sees the request changed and keeps nothing of the exchange
    // (`delivery::record`); attempts swept first could be joined by one recorded after.
    tables.sort_by_key(|t| t.name != "webhook_deliveries");
    for table in tables {
        if table.name == "users" {
            continue;
        }
        let wanted = needles_for(&table.name, &needles);
        for holding in rows_holding(db, &table, &wanted, true).await? {
            if DELETED_WHEN_NAMING.contains(&table.name.as_str()) {
                let sql = match backend {
                    DbBackend::Sqlite => format!(
                        "DELETE FROM {} WHERE rowid = CAST(? AS INTEGER)",
                        quoted(&table.name)
                    ),
                    _ => format!(
                        "DELETE FROM {} WHERE ctid = CAST($1 AS tid)",
                        quoted(&table.name)
                    ),
                };
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [holding.row.clone().into()],
                ))
                .await?;
                *swept.entry(table.name.clone()).or_default() += 1;
                continue;
            }
            // One statement per row (a PostgreSQL row moves to a new ctid when updated).
            let mut sets = Vec::new();
            let mut values: Vec<Value> = Vec::new();
            for (column, text, _) in &holding.columns {
                let here: Vec<&Needle> = wanted
                    .iter()
                    .copied()
                    .filter(|n| !(n.name && is_label_column(column)))
                    .collect();
                let Some(cut) = cut_all(text, &here) else {
                    continue;
                };
                values.push(cut.into());
                let set = match backend {
                    DbBackend::Sqlite => format!("{} = ?", quoted(column)),
                    _ => {
                        let ty = table
                            .columns
                            .iter()
                            .find(|(c, _)| c == column)
                            .map(|(_, ty)| ty.as_str())
                            .unwrap_or("text");
                        let cast = if ty == "json" || ty == "jsonb" {
                            ty
                        } else {
                            "text"
                        };
                        format!("{} = CAST(${} AS {cast})", quoted(column), values.len())
                    }
                };
                sets.push(set);
            }
            if sets.is_empty() {
                continue;
            }
            if table.name == "audit_log" {
                // The log's trigger lets an entry change only while it is marked redacted.
                sets.push(format!(
                    "\"redacted\" = {}",
                    if backend == DbBackend::Sqlite {
                        "1"
                    } else {
                        "TRUE"
                    }
                ));
            }
            values.push(holding.row.clone().into());
            let sql = match backend {
                DbBackend::Sqlite => format!(
                    "UPDATE {} SET {} WHERE rowid = CAST(? AS INTEGER)",
                    quoted(&table.name),
                    sets.join(", ")
                ),
                _ => format!(
                    "UPDATE {} SET {} WHERE ctid = CAST(${} AS tid)",
                    quoted(&table.name),
                    sets.join(", "),
                    values.len()
                ),
            };
            db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
            *swept.entry(table.name.clone()).or_default() += 1;
        }
    }
    Ok(swept)
}

/// What an erasure did: the label that now stands for the person in logs, the tables it
/// changed (for `settle`) and how many rows of each kind it removed or scrubbed (for the
/// receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub label: String,
    pub tables: Vec<String>,
    pub counts: Counts,
}

/// Rows removed or scrubbed, per kind, in the order they were counted; kinds with none are
/// left out.
pub type Counts = Vec<(String, u64)>;

/// Adds `n` things of `kind` (one line per kind, however many places counted it).
fn tally(counts: &mut Counts, kind: &str, n: u64) {
    if n == 0 {
        return;
    }
    match counts.iter_mut().find(|(k, _)| k == kind) {
        Some((_, total)) => *total += n,
        None => counts.push((kind.to_string(), n)),
    }
}

/// Removes a person's personal data from every place that holds it, in the caller's
/// transaction, apart from the user row itself (deleted by the caller, last: memberships,
/// sessions, aliases, follows and notifications go with it). Comments they wrote keep their
/// text under "Removed user"; deliveries about them are emptied (a queued one is cancelled);
/// audit entries about or by them are redacted to `label`; listener calls about them name
/// `label`; then the sweep cuts every remaining form of their emails and names out of every
/// text column.
pub async fn erase(
    db: &impl ConnectionTrait,
    target: &user::Model,
    label: &str,
) -> Result<Erased, AppError> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};

    use crate::server::entities::{comment, listener_call, ticket};
    // The person's row is locked first (PostgreSQL): a call that would write something
    // pointing at them (it takes the row FOR KEY SHARE) waits until the erasure has committed,
    // then finds them gone.
    // The person as they are now, read under the lock: an email or name changed after the
    // caller read `target` is swept too.
    let current = sea_orm::QuerySelect::lock(
        user::Entity::find_by_id(target.id),
        sea_orm::sea_query::LockType::Update,
    )
    .one(db)
    .await?
    .ok_or_else(|| AppError::NotFound("user".into()))?;
    let who = Identity::of(db, &current).await?;
    let mut counts = Counts::new();
    // What goes with the person's row (ON DELETE CASCADE), counted before the caller deletes it.
    for (table, column, kind) in [
        ("team_memberships", "user_id", "team memberships removed"),
        ("admin_sessions", "user_id", "admin sessions ended"),
        ("notifications", "user_id", "notifications removed"),
        ("data_values", "user_id", "external data values removed"),
        // Project values written by calls about them (`about_user_id`, indexed).
        (
            "data_values",
            "about_user_id",
            "external data values removed",
        ),
        (
            "person_aliases",
            "user_id",
            "earlier emails and names forgotten",
        ),
    ] {
        let backend = db.get_database_backend();
        let bind = match backend {
            DbBackend::Sqlite => "?",
            _ => "$1",
        };
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE {} = {bind}",
            quoted(table),
            quoted(column)
        );
        let n: i64 = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [target.id.into()],
            ))
            .await?
            .map(|r| r.try_get_by_index(0))
            .transpose()?
            .unwrap_or(0);
        tally(&mut counts, kind, n as u64);
    }
    let n = comment::Entity::update_many()
        .col_expr(
            comment::Column::AuthorUserId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(comment::Column::AuthorLabel, Expr::value(REMOVED_LABEL))
        .filter(comment::Column::AuthorUserId.eq(target.id))
        .exec(db)
        .await?
        .rows_affected;
    tally(&mut counts, "comments kept under \"Removed user\"", n);
    let their_tickets: Vec<i32> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .filter(ticket::Column::AuthorUserId.eq(target.id))
        .into_tuple()
        .all(db)
        .await?;
    for (kind, n) in erase_from_feedback(db, target.id).await? {
        tally(&mut counts, kind, n);
    }
    let n = outbox::erase_person(db, target, label).await?;
    tally(&mut counts, "webhook deliveries emptied", n);
    let n = audit_trail::redact(db, target.id, &who.emails, label).await?;
    tally(&mut counts, "audit entries redacted", n);
    let lowered: Vec<String> = who.emails.iter().map(|e| e.to_lowercase()).collect();
    // What a call about them brought (its headers and body) goes whole, not only the forms
    // of their email and name the sweep would find: a body says more about a person.
    let forget_request = |u: sea_orm::UpdateMany<listener_call::Entity>| {
        u.col_expr(listener_call::Column::RequestHeaders, Expr::value(""))
            .col_expr(listener_call::Column::RequestBody, Expr::value(""))
            .col_expr(listener_call::Column::RequestBytes, Expr::value(0))
    };
    let n = forget_request(listener_call::Entity::update_many())
        .col_expr(listener_call::Column::Target, Expr::value(label))
        .col_expr(
            listener_call::Column::TargetUserId,
            Expr::value(Option::<i32>::None),
        )
        .filter(
            sea_orm::Condition::any()
                .add(listener_call::Column::TargetUserId.eq(target.id))
                .add(
                    sea_orm::Condition::all()
                        .add(listener_call::Column::TargetUserId.is_null())
                        .add(
                            Expr::expr(Func::lower(Expr::col(listener_call::Column::Target)))
                                .is_in(lowered),
                        ),
                ),
        )
        .exec(db)
        .await?
        .rows_affected;
    tally(&mut counts, "listener calls relabelled", n);
    // Calls about their tickets (a feedback listener's, or the source call that created one).
    let mut emptied = 0;
    for chunk in their_tickets.chunks(500) {
        let labels: Vec<String> = chunk.iter().map(|id| format!("ticket #{id}")).collect();
        // By target where no run (the index `idx_calls_target_no_run`), else by the run.
        emptied += forget_request(listener_call::Entity::update_many())
            .filter(listener_call::Column::RunId.is_null())
            .filter(listener_call::Column::Target.is_in(labels))
            .filter(listener_call::Column::RequestHeaders.ne(""))
            .exec(db)
            .await?
            .rows_affected;
        let runs = sea_orm::sea_query::Query::select()
            .column(crate::server::entities::macro_run::Column::Id)
            .from(crate::server::entities::macro_run::Entity)
            .and_where(
                Expr::col(crate::server::entities::macro_run::Column::TargetTicketId)
                    .is_in(chunk.iter().copied()),
            )
            .to_owned();
        emptied += forget_request(listener_call::Entity::update_many())
            .filter(listener_call::Column::RunId.in_subquery(runs))
            .filter(listener_call::Column::RequestHeaders.ne(""))
            .exec(db)
            .await?
            .rows_affected;
    }
    // A test call is kept beside no target (nothing ran): one whose request names them goes
    // whole too.
    let mut mentions = sea_orm::Condition::any();
    for needle in who
        .emails
        .iter()
        .chain(who.names.iter())
        .map(|v| v.to_lowercase())
        .filter(|v| !v.trim().is_empty())
    {
        let pattern = format!("%{needle}%");
        for column in [
            listener_call::Column::RequestBody,
            listener_call::Column::RequestHeaders,
        ] {
            mentions =
                mentions.add(Expr::expr(Func::lower(Expr::col(column))).like(pattern.clone()));
        }
    }
    if !mentions.is_empty() {
        emptied += forget_request(listener_call::Entity::update_many())
            .filter(
                listener_call::Column::Code
                    .eq(crate::server::engine::inbound::listeners::TEST_CALL),
            )
            .filter(listener_call::Column::RequestHeaders.ne(""))
            .filter(mentions)
            .exec(db)
            .await?
            .rows_affected;
    }
    tally(&mut counts, "calls about their tickets emptied", emptied);
    let swept = sweep(db, &who).await?;
    let n = cut_name_parts(db, &their_tickets, &who).await?;
    tally(&mut counts, "first or last names cut on their tickets", n);
    for (table, n) in &swept {
        tally(&mut counts, &format!("rows scrubbed in {table}"), *n);
    }
    let mut tables: Vec<String> = ERASED_TABLES.iter().map(|t| t.to_string()).collect();
    tables.extend(swept.into_keys());
    tables.sort();
    tables.dedup();
    Ok(Erased {
        label: label.to_string(),
        tables,
        counts,
    })
}

/// On the tickets the person submitted, their first and last names written alone (feedback
/// macros' `((user.first_name))` is the submitter's) are cut from the deliveries about those
/// tickets, their attempts, and the tickets' comments. The rows changed.
async fn cut_name_parts(
    db: &impl ConnectionTrait,
    tickets: &[i32],
    who: &Identity,
) -> Result<u64, AppError> {
    use crate::server::entities::{ticket_comment, webhook_attempt, webhook_delivery};
    if tickets.is_empty() {
        return Ok(0);
    }
    let needles = who.part_needles();
    let parts: Vec<&Needle> = needles.iter().collect();
    let cut = |text: &str| cut_all(text, &parts);
    let mut changed = 0;
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::TargetTicketId.is_in(tickets.iter().copied()))
        .all(db)
        .await?;
    let delivery_ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
    for d in deliveries {
        let (url, headers, body) = (cut(&d.url), cut(&d.headers), cut(&d.body));
        let error = d.last_error.as_deref().and_then(cut);
        if url.is_none() && headers.is_none() && body.is_none() && error.is_none() {
            continue;
        }
        let mut a: webhook_delivery::ActiveModel = d.into();
        if let Some(v) = url {
            a.url = Set(v);
        }
        if let Some(v) = headers {
            a.headers = Set(v);
        }
        if let Some(v) = body {
            a.body = Set(v);
        }
        if let Some(v) = error {
            a.last_error = Set(Some(v));
        }
        a.update(db).await?;
        changed += 1;
    }
    for chunk in delivery_ids.chunks(500) {
        for t in webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            let request = cut(&t.request_headers);
            let answer_headers = cut(&t.response_headers);
            let answer = cut(&t.response_body);
            let error = t.error.as_deref().and_then(cut);
            let note = cut(&t.capture_note);
            if request.is_none()
                && answer_headers.is_none()
                && answer.is_none()
                && error.is_none()
                && note.is_none()
            {
                continue;
            }
            let mut a: webhook_attempt::ActiveModel = t.into();
            if let Some(v) = request {
                a.request_headers = Set(v);
            }
            if let Some(v) = answer_headers {
                a.response_headers = Set(v);
            }
            if let Some(v) = answer {
                a.response_body = Set(v);
            }
            if let Some(v) = error {
                a.error = Set(Some(v));
            }
            if let Some(v) = note {
                a.capture_note = Set(v);
            }
            a.update(db).await?;
            changed += 1;
        }
    }
    for c in ticket_comment::Entity::find()
        .filter(ticket_comment::Column::TicketId.is_in(tickets.iter().copied()))
        .all(db)
        .await?
    {
        if let Some(body) = cut(&c.body) {
            let mut a: ticket_comment::ActiveModel = c.into();
            a.body = Set(body);
            a.update(db).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Who or what asked for a removal, for its receipt.
#[derive(Debug, Clone)]
pub struct Requested {
    pub run_id: Option<i64>,
    pub macro_id: Option<i32>,
    pub macro_name: String,
    pub trigger: crate::shared::vocab::Trigger,
    pub listener_name: Option<String>,
    pub actor_label: String,
}

/// Writes the receipt of an erasure, in the erasure's transaction: when, who or what asked,
/// and the counts; never who was removed (only the label that stands for them).
pub async fn record_receipt(
    db: &impl ConnectionTrait,
    erased: &Erased,
    by: &Requested,
) -> Result<i64, AppError> {
    let counts = serde_json::to_string(&erased.counts).map_err(|e| AppError::internal(e))?;
    Ok(erasure_receipt::ActiveModel {
        occurred_at: Set(Utc::now()),
        run_id: Set(by.run_id),
        macro_id: Set(by.macro_id),
        macro_name: Set(by.macro_name.clone()),
        trigger: Set(by.trigger),
        listener_name: Set(by.listener_name.clone()),
        actor_label: Set(by.actor_label.clone()),
        subject_label: Set(erased.label.clone()),
        counts: Set(counts),
        ..Default::default()
    }
    .insert(db)
    .await?
    .id)
}

/// What one removal did, without saying who was removed: its stored row and its downstream
/// notifications (the deliveries of its run, first attempts only) as they stand.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub row: erasure_receipt::Model,
    pub downstream: Vec<Notice>,
}

/// One downstream notification of a removal: which webhook, and how it went (never what it
/// carried).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub delivery_id: i64,
    pub webhook: String,
    pub kind: crate::shared::vocab::WebhookKind,
    pub status: crate::shared::vocab::DeliveryStatus,
    pub attempts: i32,
    /// The person's identifier was cut out of it after it was sent or given up.
    pub erased: bool,
}

impl Receipt {
    /// Rows removed or scrubbed, per kind.
    pub fn counts(&self) -> Vec<(String, u64)> {
        serde_json::from_str(&self.row.counts).unwrap_or_default()
    }
}

/// Downstream notifications of removals (their runs' deliveries), with the run of each.
async fn downstream(
    db: &impl ConnectionTrait,
    run_ids: &[i64],
) -> Result<Vec<(i64, Notice)>, AppError> {
    if run_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::RunId.is_in(run_ids.iter().copied()))
        .filter(webhook_delivery::Column::ResendOf.is_null())
        .order_by_asc(webhook_delivery::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|d| {
            Some((
                d.run_id?,
                Notice {
                    delivery_id: d.id,
                    webhook: d.webhook_name,
                    kind: d.kind,
                    status: d.status,
                    attempts: d.attempts,
                    erased: d.erased_at.is_some(),
                },
            ))
        })
        .collect())
}

/// The latest receipts from `from` on and before `until` (newest first, at most `limit`),
/// each with its downstream notifications as they stand.
pub async fn receipts(
    db: &impl ConnectionTrait,
    from: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Receipt>, AppError> {
    let rows = erasure_receipt::Entity::find()
        .filter(erasure_receipt::Column::OccurredAt.gte(from))
        .filter(erasure_receipt::Column::OccurredAt.lt(until))
        .order_by_desc(erasure_receipt::Column::OccurredAt)
        .order_by_desc(erasure_receipt::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let runs: Vec<i64> = rows.iter().filter_map(|r| r.run_id).collect();
    let mut sent = downstream(db, &runs).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest) = sent
                .drain(..)
                .partition(|(run, _)| Some(*run) == row.run_id);
            sent = rest;
            Receipt {
                row,
                downstream: mine.into_iter().map(|(_, d)| d).collect(),
            }
        })
        .collect())
}

/// The receipt of the removal a run made, if it made one.
pub async fn receipt_of_run(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<Option<Receipt>, AppError> {
    let Some(row) = erasure_receipt::Entity::find()
        .filter(erasure_receipt::Column::RunId.eq(run_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let downstream = downstream(db, &[run_id])
        .await?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    Ok(Some(Receipt { row, downstream }))
}

/// After an erasure has committed: what the database still keeps of deleted data is rewritten.
/// On SQLite the WAL (which holds earlier versions of the changed pages) is checkpointed into
/// the file and truncated to nothing; freed pages were already zeroed (`secure_delete`). On
/// PostgreSQL the tables that changed are vacuumed, so their dead row versions are gone.
/// A failure is logged, not returned: the erasure itself has committed.
pub async fn settle(db: &sea_orm::DatabaseConnection, erased: &Erased) {
    compact(db, &erased.tables).await;
}

/// The delivery tables, compacted once a sealed request was cut from them.
pub const DELIVERY_TABLES: &[&str] = &["webhook_deliveries", "webhook_attempts"];

/// After a commit that cut personal data (an erasure, a sealed request cut once sent, secret
/// values sealed that were stored in the clear): the database's copies of what was cut are
/// rewritten — SQLite's WAL checkpointed and truncated, PostgreSQL's `tables` vacuumed. A
/// failure is logged, not returned: the cut itself has committed; the compaction is then tried
/// again by the worker's housekeeping (`compact_pending`) until it succeeds.
pub async fn compact<T: AsRef<str>>(db: &sea_orm::DatabaseConnection, tables: &[T]) {
    let tables: Vec<String> = tables.iter().map(|t| t.as_ref().to_string()).collect();
    let result = match db.get_database_backend() {
        DbBackend::Sqlite => checkpoint(db).await,
        _ => vacuum(db, &tables).await,
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "after personal data was cut, the database could not be compacted; it will be tried again");
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        pending.extend(tables);
        pending.sort();
        pending.dedup();
        pending.push(PENDING_MARK.into());
    }
}

/// Compacts every table that holds text (at start: whatever an earlier process owed).
pub async fn compact_all(db: &sea_orm::DatabaseConnection) {
    match text_tables(db).await {
        Ok(tables) => {
            let names: Vec<String> = tables.into_iter().map(|t| t.name).collect();
            compact(db, &names).await;
        }
        Err(e) => tracing::warn!(error = %e, "cannot list the tables to compact"),
    }
}

/// Tables whose compaction failed and is still owed (with [`PENDING_MARK`] when any is, so
/// an erasure that touched no table on PostgreSQL still gets its SQLite checkpoint retried).
static PENDING: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
const PENDING_MARK: &str = "";

/// Tries again a compaction that failed after an erasure committed (called by housekeeping).
/// Whether one was owed.
pub async fn compact_pending(db: &sea_orm::DatabaseConnection) -> bool {
    let owed: Vec<String> = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    if owed.is_empty() {
        return false;
    }
    let tables: Vec<String> = owed.into_iter().filter(|t| t != PENDING_MARK).collect();
    compact(db, &tables).await;
    true
}

async fn checkpoint(db: &sea_orm::DatabaseConnection) -> Result<(), AppError> {
    // Writers of this process wait while the WAL is emptied; readers elsewhere may hold it
    // back for a moment, so it is tried a few times.
    let _turn = crate::server::db::sqlite_write_turn().await;
    for attempt in 0..20 {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA wal_checkpoint(TRUNCATE)".to_string(),
            ))
            .await?;
        let busy = row
            .map(|r| r.try_get_by_index::<i32>(0).unwrap_or(0))
            .unwrap_or(0);
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10 * (attempt + 1))).await;
    }
    Err(AppError::internal("the WAL stayed busy"))
}

async fn vacuum(db: &sea_orm::DatabaseConnection, tables: &[String]) -> Result<(), AppError> {
    let mut names: Vec<&String> = tables.iter().collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = names.iter().map(|t| quoted(t)).collect();
    db.execute_unprepared(&format!("VACUUM {}", list.join(", ")))
        .await?;
    Ok(())
}

/// The tables whose rows an erasure changes besides what its sweep reports.
pub const ERASED_TABLES: &[&str] = &[
    "users",
    "person_aliases",
    "team_memberships",
    "admin_sessions",
    "comments",
    "tickets",
    "ticket_comments",
    "ticket_events",
    "ticket_followers",
    "notifications",
    "webhook_deliveries",
    "webhook_attempts",
    "listener_calls",
    "audit_log",
    "user_imports",
    "data_values",
];

/// A form of the person found in a file (the SQLite database or its WAL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHit {
    pub form: String,
    /// A name (not an email): what may touch it without it being part of a longer word.
    pub name: bool,
    /// Its byte offset in the file.
    pub at: u64,
    /// When the bytes around it go on as if it were part of a longer word: those bytes (up to
    /// `FILE_CONTEXT` on each side) and where the form starts in them. SQLite writes a row's
    /// columns back to back, so a form at the end of one column touches the next (a date, an
    /// integer's bytes): such a hit is only dropped when a live value that is not the person
    /// explains it (`unexplained`), never on the bytes alone.
    pub glued: Option<(Vec<u8>, usize)>,
}

impl std::fmt::Display for FileHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "byte {}: {:?}", self.at, self.form)
    }
}

/// Bytes kept on each side of a hit that touches other text.
const FILE_CONTEXT: usize = 512;

/// Looks for the person's forms in a file (the SQLite database and its WAL): byte for byte,
/// ASCII letters in any case. Returns each form found with its byte offset; a form that touches
/// other text comes with the bytes around it, for `unexplained` to judge.
pub fn scan_file(path: &std::path::Path, who: &Identity) -> std::io::Result<Vec<FileHit>> {
    use std::io::Read;
    let needles = who.needles();
    // Each form as UTF-8 bytes, also in lower and upper case for non-ASCII letters.
    let mut patterns: Vec<(Vec<u8>, &Needle)> = Vec::new();
    for n in &needles {
        for v in [n.form.clone(), n.form.to_lowercase(), n.form.to_uppercase()] {
            let bytes = v.into_bytes();
            if !patterns.iter().any(|(p, _)| p.eq_ignore_ascii_case(&bytes)) {
                patterns.push((bytes, n));
            }
        }
    }
    let longest = patterns.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found: Vec<FileHit> = Vec::new();
    // Chunks overlap by the longest pattern and the context on both sides, so that nothing
    // is missed at a seam and every hit has its context.
    let mut buf: Vec<u8> = Vec::new();
    let mut base: u64 = 0;
    let mut chunk = vec![0u8; 1 << 20];
    // Hits are looked for from here on in `buf` (what is before was looked at already, and is
    // kept only as context).
    let mut from = 0;
    loop {
        let n = file.read(&mut chunk)?;
        let at_end = n == 0;
        buf.extend_from_slice(&chunk[..n]);
        let limit = if at_end {
            buf.len()
        } else {
            buf.len().saturating_sub(longest + FILE_CONTEXT)
        };
        for (pat, needle) in &patterns {
            let mut i = from;
            while i + pat.len() <= buf.len() && i < limit {
                if buf[i..i + pat.len()].eq_ignore_ascii_case(pat) {
                    let end = i + pat.len();
                    let glued = (!byte_boundary(
                        &buf[..i],
                        &buf[end..],
                        needle.name,
                        needle.form.contains('%'),
                    ))
                    .then(|| {
                        let start = i.saturating_sub(FILE_CONTEXT);
                        let stop = (end + FILE_CONTEXT).min(buf.len());
                        (buf[start..stop].to_vec(), i - start)
                    });
                    found.push(FileHit {
                        form: needle.form.clone(),
                        name: needle.name,
                        at: base + i as u64,
                        glued,
                    });
                }
                i += 1;
            }
        }
        if at_end {
            break;
        }
        // Keep the context of what comes next; look on from where this round stopped.
        let looked_to = limit.max(from);
        let drop = looked_to.saturating_sub(FILE_CONTEXT);
        buf.drain(..drop);
        base += drop as u64;
        from = looked_to - drop;
    }
    found.sort_by(|a, b| (a.at, &a.form).cmp(&(b.at, &b.form)));
    found.dedup_by(|a, b| a.at == b.at && a.form == b.form);
    Ok(found)
}

/// The file hits that no live value explains. A hit that does not touch other text is always
/// kept. One that does is dropped only when a value stored in the database now, and holding the
/// form as part of something longer (another member's `tim.jim@example.com`), stands in the file
/// exactly around it: that value is live, and the table check judges it by its own words.
pub async fn unexplained(
    db: &impl ConnectionTrait,
    hits: Vec<FileHit>,
) -> Result<Vec<FileHit>, AppError> {
    let mut live: std::collections::HashMap<String, Vec<String>> = Default::default();
    // Read once, and only when a hit needs explaining.
    let mut tables: Option<Vec<TextTable>> = None;
    let mut out = Vec::new();
    for hit in hits {
        let Some((context, pos)) = &hit.glued else {
            out.push(hit);
            continue;
        };
        if !live.contains_key(&hit.form) {
            if tables.is_none() {
                tables = Some(text_tables(db).await?);
            }
            let values =
                live_values_holding(db, tables.as_deref().unwrap_or_default(), &hit.form).await?;
            live.insert(hit.form.clone(), values);
        }
        let form = hit.form.as_bytes();
        let encoded = hit.form.contains('%');
        // Only a value that holds the form as part of something longer explains it (another
        // member's `tim.jim@example.com`); one that holds it as a whole word (a label of
        // someone of the same name, or the person's own leftover) explains nothing.
        let explained = live[&hit.form].iter().any(|v| {
            let v = v.as_bytes();
            lies_over(v, form, context, *pos, |k| {
                !byte_boundary(&v[..k], &v[k + form.len()..], hit.name, encoded)
            })
        });
        if !explained {
            out.push(hit);
        }
    }
    Ok(out)
}

/// Whether `value`, laid over `context` so that one of its own occurrences of `form` falls on
/// the hit at `pos`, matches the bytes there (as far as the context reaches: a long value may
/// go on beyond it, or be split over overflow pages).
/// `longer(k)` says whether the value, with the form at its byte `k`, makes it part of a
/// longer word.
fn lies_over(
    value: &[u8],
    form: &[u8],
    context: &[u8],
    pos: usize,
    longer: impl Fn(usize) -> bool,
) -> bool {
    if value.len() < form.len() {
        return false;
    }
    (0..=value.len() - form.len())
        .filter(|k| value[*k..*k + form.len()].eq_ignore_ascii_case(form) && longer(*k))
        .any(|k| {
            // The value's byte j sits at context index pos - k + j.
            let first = k.saturating_sub(pos);
            let last = value.len().min(context.len() + k - pos);
            first < last
                && value[first..last]
                    .eq_ignore_ascii_case(&context[pos + first - k..pos + last - k])
        })
}

/// Every text value in the database that holds `form` as a substring, in any ASCII case.
async fn live_values_holding(
    db: &impl ConnectionTrait,
    tables: &[TextTable],
    form: &str,
) -> Result<Vec<String>, AppError> {
    let backend = db.get_database_backend();
    let lower = form.to_lowercase();
    let (as_text, like) = text_search(backend);
    let param = if backend == DbBackend::Sqlite {
        "?"
    } else {
        "$1"
    };
    let mut out = Vec::new();
    for table in tables {
        for (col, _) in &table.columns {
            let expr = as_text(&quoted(col));
            let sql = format!(
                "SELECT {expr} AS v FROM {} WHERE {expr} {like} {param} ESCAPE '!'",
                quoted(&table.name)
            );
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [like_pattern(form).into()],
                ))
                .await?;
            for row in rows {
                if let Some(v) = row.try_get::<Option<String>>("", "v")?
                    && v.to_lowercase().contains(&lower)
                {
                    out.push(v);
                }
            }
        }
    }
    Ok(out)
}

/// [`at_boundary`] on raw bytes: the bytes around a match are read as UTF-8, so an accented
/// letter next to it is a letter, while a byte that is no character (a record header, a page
/// pointer) is a boundary and cannot hide a match.
fn byte_boundary(before: &[u8], after: &[u8], name: bool, encoded: bool) -> bool {
    // Enough to read the longest escape next to the match: four `%XX` bytes, or a pair of
    // JSON `\uXXXX` units.
    let near = &before[before.len().saturating_sub(48)..];
    let tail: Vec<char> = String::from_utf8_lossy(near).chars().collect();
    let tail = &tail[tail.len().saturating_sub(12)..];
    let head: Vec<char> = String::from_utf8_lossy(&after[..after.len().min(52)])
        .chars()
        .take(13)
        .collect();
    at_boundary(tail, &head, name, encoded)
}

/// Part of *Remove user completely*: the person's name leaves the tickets they submitted, the
/// comments they wrote and the history lines of what they did (the tickets, comments and
/// lines stay, as "Removed user", where others' work needs them). Their follows and
/// notifications go with the user row.
async fn erase_from_feedback(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<(&'static str, u64)>, AppError> {
    // Their follows go now, so the tickets' popularity can be counted without them.
    let followed: Vec<i32> = ticket_follower::Entity::find()
        .select_only()
        .column(ticket_follower::Column::TicketId)
        .filter(ticket_follower::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let follows = ticket_follower::Entity::delete_many()
        .filter(ticket_follower::Column::UserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected;
    for ticket_id in followed {
        recount_popularity(db, ticket_id).await?;
    }
    let tickets = ticket::Entity::update_many()
        .col_expr(
            ticket::Column::AuthorUserId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(ticket::Column::AuthorLabel, Expr::value(REMOVED_LABEL))
        .filter(ticket::Column::AuthorUserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected;
    let comments = ticket_comment::Entity::update_many()
        .col_expr(
            ticket_comment::Column::AuthorUserId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(
            ticket_comment::Column::AuthorLabel,
            Expr::value(REMOVED_LABEL),
        )
        .filter(ticket_comment::Column::AuthorUserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected;
    let events = ticket_event::Entity::update_many()
        .col_expr(
            ticket_event::Column::ActorUserId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(ticket_event::Column::ActorLabel, Expr::value(REMOVED_LABEL))
        .filter(ticket_event::Column::ActorUserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(vec![
        ("ticket follows removed", follows),
        ("tickets kept under \"Removed user\"", tickets),
        ("ticket comments kept under \"Removed user\"", comments),
        ("ticket events kept under \"Removed user\"", events),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compaction owed (its first try failed) is done by the next housekeeping, once.
    #[tokio::test]
    async fn a_failed_compaction_is_tried_again() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        PENDING
            .lock()
            .unwrap()
            .extend(["comments".to_string(), PENDING_MARK.to_string()]);
        assert!(compact_pending(&db).await, "it was owed");
        assert!(!compact_pending(&db).await, "and is no longer");
    }

    /// 2,000 conditions (more than 16 columns × the patterns of a person with several names
    /// and emails): SQLite refuses them as a flat chain and takes them as a balanced tree.
    #[tokio::test]
    async fn many_conditions_stay_within_sqlite_expression_depth() {
        assert_eq!(
            any_of(&["a".into(), "b".into(), "c".into()]),
            "(a OR (b OR c))"
        );
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let conditions: Vec<String> = (0..2000).map(|i| format!("'x' LIKE '%{i}%'")).collect();
        let run = |sql: String| db.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql));
        let flat = run(format!("SELECT 1 WHERE {}", conditions.join(" OR "))).await;
        assert!(
            flat.unwrap_err().to_string().contains("too large"),
            "the flat chain is what failed"
        );
        let rows = run(format!("SELECT 1 WHERE {}", any_of(&conditions)))
            .await
            .unwrap();
        assert!(rows.is_empty());
    }

    /// An in-memory SQLite database on one connection (each connection would have its own).
    async fn memory_db() -> sea_orm::DatabaseConnection {
        let mut opts = sea_orm::ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1).sqlx_logging(false);
        sea_orm::Database::connect(opts).await.unwrap()
    }

    /// SQLite's LIKE stops at a NUL character: text after one is still found and cut.
    #[tokio::test]
    async fn text_after_a_nul_character_is_found_and_cut() {
        let db = memory_db().await;
        db.execute_unprepared(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, at TEXT); \
             INSERT INTO notes (body, at) VALUES \
             ('Note:' || char(0) || ' reporter Jim@Example.com', '2026-12-06'), ('nobody', '')",
        )
        .await
        .unwrap();
        let who = Identity::new(vec!["jim@example.com".into()], Vec::new());
        let found = check(&db, &who).await.unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        sweep(&db, &who).await.unwrap();
        assert!(check(&db, &who).await.unwrap().is_empty());
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT body FROM notes WHERE instr(body, 'Example') > 0",
            ))
            .await
            .unwrap();
        assert!(rows.is_empty());
    }

    fn email(s: &str) -> Needle {
        Needle {
            form: s.into(),
            name: false,
        }
    }

    fn name(s: &str) -> Needle {
        Needle {
            form: s.into(),
            name: true,
        }
    }

    fn finds(hay: &str, n: &Needle) -> bool {
        !occurrences(&hay.chars().collect::<Vec<_>>(), n).is_empty()
    }

    #[test]
    fn the_file_scan_reads_neighbours_as_utf8() {
        let n = name("Zoë Ward");
        // A record header byte (0x95) right before the name is no letter: found.
        assert!(byte_boundary(&[0x01, 0x95], b" and", n.name, false));
        // An accented letter right before it is: "éZoë Ward" is another word.
        assert!(!byte_boundary("xé".as_bytes(), b" and", n.name, false));
        // A lone continuation byte after it is no letter either.
        assert!(byte_boundary(b" ", &[0xA9, 0x00], n.name, false));
        assert!(!byte_boundary(b" ", "ö".as_bytes(), n.name, false));
    }

    #[test]
    fn forms_cover_the_ways_an_email_is_written() {
        let f = forms("jim+x@example.com");
        for expected in [
            "jim+x@example.com",
            "jim%2Bx%40example.com",
            "jim+x%40example.com",
            "jim%2Bx@example.com",
            "jim&#43;x&#64;example.com",
            "jim&#x2b;x&#x40;example.com",
        ] {
            assert!(
                f.iter().any(|g| g == expected),
                "{expected} missing from {f:?}"
            );
        }
        let n = forms("José O'Brien");
        for expected in [
            "José O'Brien",
            "Jos%C3%A9+O%27Brien",
            "Jos%C3%A9%20O%27Brien",
            "José+O'Brien",
            "Jos\\u00e9 O'Brien",
            "José O&#39;Brien",
            "Jos&#233; O&#39;Brien",
            "Jos&#xe9; O&#x27;Brien",
            // The accent as a combining character (NFD), as is and percent-encoded.
            "Jose\u{301} O'Brien",
            "Jose%CC%81%20O%27Brien",
        ] {
            assert!(
                n.iter().any(|g| g == expected),
                "{expected} missing from {n:?}"
            );
        }
    }

    #[test]
    fn short_names_and_names_in_cjk_script_are_cut() {
        // As the form has them: first name, then family name.
        let who = Identity::new(
            Vec::new(),
            vec![
                "Bo Li".into(),
                "小明 王".into(),
                "A B".into(),
                "Al".into(),
                "伟 王".into(),
            ],
        );
        assert_eq!(who.names, ["Bo Li", "小明 王", "小明王", "王小明"]);
        assert_eq!(
            who.cut("bo li wrote; 王小明说了; Bo Lin stays; 王伟 stays"),
            "[removed] wrote; [removed]说了; Bo Lin stays; 王伟 stays"
        );
        // Next to encoded text: an encoded CJK character is no letter of a word that goes on,
        // an encoded accented letter is.
        for text in [
            "q=%E6%9D%8E%E7%8E%8B%E5%B0%8F%E6%98%8E%E8%AF%B4",
            "{\"n\":\"\\u674e\\u738b\\u5c0f\\u660e\\u8bf4\"}",
            "\\ud840\\udc0b\\u738b\\u5c0f\\u660e",
            "王小明%F0%A0%80%8B",
        ] {
            assert_ne!(who.cut(text), text, "{text}");
            assert!(!who.cut(text).contains("%E7%8E%8B"), "{text}");
        }
        // JSON with every non-ASCII character escaped (as Python writes it): the escape
        // right before the match is the neighbour, not the one before it.
        let mail = Identity::new(vec!["jim@example.com".into()], Vec::new());
        let text = "{\"n\":\"\\u90ae\\u7bb1\\uff1ajim@example.com\"}";
        assert_ne!(mail.cut(text), text);
        let zoe = Identity::new(Vec::new(), vec!["Jim Tester".into()]);
        let text = "Zo\\u00eb\\u2014Jim Tester";
        assert_eq!(zoe.cut(text), "Zo\\u00eb\\u2014[removed]");
        for text in ["x=%C3%A4Bo%20Li", "{\"n\":\"Bo Li\\u00e4\"}", "Bo Li%C3%B6"] {
            assert_eq!(who.cut(text), text, "another word: {text}");
        }
        assert_eq!(who.cut("x=%2BBo%20Li%2C"), "x=%2B[removed]%2C");
        let bytes = "x%E6%9D%8E王小明\u{20000}".as_bytes();
        let at = bytes.iter().position(|b| *b == 0xE7).unwrap();
        assert!(byte_boundary(&bytes[..at], &bytes[at + 9..], true, false));
        let given: Vec<String> = ["A B", "Bo Li", "Al", "伟 王"].map(String::from).to_vec();
        assert_eq!(Identity::dropped_names(&given), ["A B", "Al", "伟 王"]);
    }

    #[test]
    fn matches_are_whole_words_in_any_case() {
        let e = email("jim@example.com");
        assert!(finds("to JIM@Example.COM, please", &e));
        assert!(finds("\"jim@example.com\"", &e));
        assert!(
            finds("find=%22jim@example.com%22", &e),
            "after an escape of a quote"
        );
        assert!(
            !finds("find=x%2Bjim@example.com", &e),
            "x+jim@… is another address, escaped or not"
        );
        assert!(!finds("team+jim@example.com", &e));
        assert!(
            finds(
                "note=contact+jim%40example.com",
                &email("jim%40example.com")
            ),
            "a form-encoded space before an encoded form"
        );
        assert!(!finds("tim.jim@example.com", &e));
        assert!(!finds("jim@example.community", &e));
        assert!(!finds("jim@example.com.au", &e));
        assert!(finds("jim@example.com.", &e), "a full stop ends a sentence");
        let n = name("Jim Smith");
        assert!(finds("Thanks, jim smith!", &n));
        assert!(!finds("Jim Smithers", &n));
        assert!(
            !finds("Jim Smith-Jones", &n),
            "a double-barrelled name is someone else"
        );
        assert!(finds("ÉLODIE DURAND", &name("élodie durand")));
    }

    #[test]
    fn cutting_replaces_every_occurrence() {
        let e = email("jim@example.com");
        let n = name("Jim Smith");
        assert_eq!(
            cut_all(
                "Jim Smith <JIM@example.com> / tim.jim@example.com",
                &[&e, &n]
            )
            .unwrap(),
            "[removed] <[removed]> / tim.jim@example.com"
        );
        assert_eq!(cut_all("nothing here", &[&e]), None);
    }

    proptest::proptest! {
        // A failure prints its smallest case; nothing is written into the repository.
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Any email and name (non-ASCII letters, `+` tags, any case), written in any of the
        /// forms the product or a caller may use and set in any punctuation, is cut out whole:
        /// cutting again finds nothing, and no case of the email is left.
        #[test]
        fn every_written_form_of_a_person_is_cut(
            local in "[a-zA-Z][a-zA-Z0-9._+-]{0,10}[a-zA-Z0-9]",
            domain in "[a-z]{1,8}\\.(com|org|de)",
            first in "[A-ZÄÖÉ][a-zäöüéèçñ]{2,8}",
            last in "[A-ZÄÖÉ][a-zäöüéèçñ]{2,8}",
            which in proptest::prelude::any::<proptest::sample::Index>(),
            upper in proptest::prelude::any::<bool>(),
            before in "( |\"|<|,|\n|find=|%22|\\(|: )",
            after in "( |\"|>|,|\n|&|%22|\\)|\\.|;)",
        ) {
            let email = format!("{local}@{domain}");
            let name = format!("{first} {last}");
            let who = Identity::new(vec![email.clone()], vec![name]);
            let mut written = forms(&email);
            written.extend(forms(&who.names[0]));
            let form = which.get(&written);
            let form = if upper { form.to_uppercase() } else { form.clone() };
            let text = format!("note{before}{form}{after} end");
            let cut = who.cut(&text);
            proptest::prop_assert_ne!(&cut, &text, "nothing cut of {:?}", form);
            proptest::prop_assert_eq!(who.cut(&cut), cut.clone());
            proptest::prop_assert!(
                !cut.to_lowercase().contains(&email.to_lowercase()),
                "{:?} left in {:?}", email, cut
            );
        }
    }

    #[test]
    fn identities_drop_blanks_and_repeats() {
        let who = Identity::new(
            vec!["A@x.io".into(), "a@X.io".into(), " ".into()],
            vec!["Joan Do".into(), "A B".into(), "Cher".into()],
        );
        assert_eq!(who.emails, vec!["A@x.io".to_string()]);
        assert_eq!(
            who.names,
            vec!["Joan Do".to_string()],
            "a name needs two words and five letters"
        );
    }

    #[test]
    fn files_are_scanned_across_chunk_seams() {
        let dir = std::env::temp_dir().join(format!("sy-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        let mut bytes = vec![0u8; (1 << 20) - 5];
        bytes.extend_from_slice(b"Jim%40Example.com\0");
        bytes.extend_from_slice(b"xjim@example.com\0");
        std::fs::write(&path, &bytes).unwrap();
        let who = Identity::new(vec!["jim@example.com".into()], vec![]);
        let found = scan_file(&path, &who).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            (found[0].at, found[0].glued.is_none()),
            ((1 << 20) - 5, true)
        );
        let (context, pos) = found[1].glued.clone().expect("touches the x before it");
        assert_eq!(&context[pos - 1..pos + 15], b"xjim@example.com");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// SQLite writes a row's columns back to back: a form that touches the next column (a
    /// date) or an integer's bytes is reported, unless a live value of someone else stands
    /// exactly around it.
    #[tokio::test]
    async fn glued_hits_are_reported_unless_a_live_value_explains_them() {
        let db = memory_db().await;
        db.execute_unprepared(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, at TEXT); \
             INSERT INTO people (email, at) VALUES ('tim.jim@example.com', '2026-12-06')",
        )
        .await
        .unwrap();
        let dir = std::env::temp_dir().join(format!("sy-glued-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.db");
        let mut bytes = b"\x01\x17tim.jim@example.com2026-12-06\x00".to_vec();
        bytes.extend_from_slice(b"\x03\x61jim@example.com2026-12-07\x00");
        bytes.extend_from_slice(b"note: Jim@Example.COM2026-12-07\x00");
        std::fs::write(&path, &bytes).unwrap();
        let who = Identity::new(vec!["jim@example.com".into()], vec![]);
        let hits = scan_file(&path, &who).unwrap();
        assert_eq!(hits.len(), 3, "{hits:?}");
        assert!(hits.iter().all(|h| h.glued.is_some()), "{hits:?}");
        let left = unexplained(&db, hits.clone()).await.unwrap();
        assert_eq!(
            left,
            hits[1..].to_vec(),
            "only the live other address is explained"
        );
        // A live value that holds the form as a whole word (another member of the same name,
        // a label) explains nothing.
        db.execute_unprepared("INSERT INTO people (email, at) VALUES ('Jim Tester', '')")
            .await
            .unwrap();
        std::fs::write(&path, b"\x01\x02Jim Tester2026-12-07\x00").unwrap();
        let who = Identity::new(Vec::new(), vec!["Jim Tester".into()]);
        let hits = scan_file(&path, &who).unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(unexplained(&db, hits.clone()).await.unwrap(), hits);
        // A value shorter in bytes than the form (Ⱥ is two bytes, ⱥ three) is no match.
        assert!(!lies_over(
            "Ⱥlan Test".as_bytes(),
            "ⱥlan Test".as_bytes(),
            b"",
            0,
            |_| true
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
