//! Saved filters: conditions, groups, the catalogue of fields and operators, previews.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterView {
    pub id: i32,
    /// "user" or "feedback": what the filter selects.
    pub scope: String,
    pub name: String,
    pub description: String,
    pub definition: FilterDefinition,
    /// The rule in words, e.g. "team is Customers and score ≥ 10".
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterListItem {
    pub filter: FilterView,
    pub matching: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterPreview {
    pub filter: FilterView,
    pub matching: u64,
    /// The first matching users, in list order (user filters).
    pub sample: Vec<UserRow>,
    /// The first matching tickets, newest first (feedback filters).
    pub tickets: Vec<TicketRow>,
    /// The macros of the filter's scope, (id, name), for the bulk action. Loaded with the page,
    /// not by a resource of its own, so the page hydrates from one answer.
    pub macros: Vec<(i32, String)>,
}

/// One condition row of the filter form. `slot` is the row's position on the form (slots
/// `0..ROWS_PER_GROUP` are group 1, and so on): the form sends it, so grouping never depends
/// on how the browser or the decoder orders the rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterRowForm {
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// "user" (default) or "feedback"; fixed once the filter exists.
    #[serde(default)]
    pub scope: String,
    /// "all" or "any": how the groups combine.
    #[serde(default)]
    pub combine: String,
    /// "all" or "any" per group.
    #[serde(default)]
    pub group_match: Vec<String>,
    #[serde(default)]
    pub rows: Vec<FilterRowForm>,
}

pub const FILTER_GROUPS: usize = 3;
pub const ROWS_PER_GROUP: usize = 4;

/// A field a filter can test. `kind` decides the operators (`filter_ops`): text, choice,
/// number, date or yesno. Keys of custom form fields are `field:<kind>:<key>`, of external data
/// fields `data:<kind>:<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterField {
    pub key: String,
    pub label: String,
    pub kind: String,
    /// Values a choice field takes: (value as stored, label).
    pub choices: Vec<(String, String)>,
}

/// The operators of a kind of filter field.
pub fn filter_ops(kind: &str) -> &'static [&'static str] {
    match kind {
        "text" => &[
            "equals",
            "not_equals",
            "contains",
            "not_contains",
            "starts_with",
            "ends_with",
            "is_empty",
            "is_not_empty",
        ],
        "number" => &["eq", "ne", "gt", "gte", "lt", "lte"],
        "date" => &["before", "after", "within_days"],
        _ => &["is", "is_not"],
    }
}

/// What the filter editor offers for a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterCatalogue {
    pub scope: String,
    pub fields: Vec<FilterField>,
}

/// Words for an operator key.
pub fn op_label(op: &str) -> &'static str {
    match op {
        "equals" | "is" | "eq" => "is",
        "not_equals" | "is_not" | "ne" => "is not",
        "contains" => "contains",
        "not_contains" => "does not contain",
        "starts_with" => "starts with",
        "ends_with" => "ends with",
        "is_empty" => "is empty",
        "is_not_empty" => "is not empty",
        "gt" => ">",
        "gte" => "≥",
        "lt" => "<",
        "lte" => "≤",
        "before" => "before",
        "after" => "after",
        "within_days" => "within the last … days",
        _ => "?",
    }
}
