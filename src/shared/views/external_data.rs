//! External data: groups, typed fields and stored values.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

/// The types an external data field can have.
pub const DATA_KINDS: [(&str, &str); 4] = [
    ("boolean", "Boolean"),
    ("datetime", "Date and time"),
    ("integer", "Integer"),
    ("string", "String"),
];

/// Blank rows of the field editor below the existing fields.
pub const NEW_DATA_FIELD_ROWS: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFieldView {
    pub id: i32,
    pub label: String,
    pub parameter: String,
    pub kind: String,
    pub favorite: bool,
    /// How many users, tickets or projects hold a value of it.
    pub value_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataGroupView {
    pub id: i32,
    pub scope: String,
    pub name: String,
    pub fields: Vec<DataFieldView>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewDataGroupForm {
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataFieldForm {
    #[serde(default)]
    pub slot: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub parameter: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub favorite: Option<String>,
}

/// The data group editor: its name and fields (rows without a label are left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataGroupForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub fields: Vec<DataFieldForm>,
}

/// One stored value, as the user summary and the ticket page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataValueView {
    pub group: String,
    pub label: String,
    pub value: String,
    pub favorite: bool,
    pub updated_at: String,
}

/// An external-data field a list (users, feedback) can show as a column, and export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataColumn {
    pub id: i32,
    /// "Group · Label".
    pub label: String,
    pub favorite: bool,
}

/// The external-data columns of a list: what its *Columns* form offers (favourites first) and
/// which are shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListColumns {
    pub offered: Vec<DataColumn>,
    pub shown: Vec<DataColumn>,
}

/// The `cols` of a list's query as its URL carries them: each ticked field as `col=ID`, and
/// `columns=chosen` once the *Columns* form was sent (so that ticking none shows none).
/// None: nothing chosen yet, the favourite fields show.
pub fn columns_from_url(chosen: bool, ids: &[String]) -> Option<String> {
    if !chosen && ids.is_empty() {
        return None;
    }
    Some(
        ids.iter()
            .filter_map(|v| v.trim().parse::<i32>().ok())
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// The query-string part that keeps a list's chosen columns (empty: none chosen yet).
pub fn columns_in_url(cols: &Option<String>) -> String {
    match cols {
        None => String::new(),
        Some(list) => {
            let mut out = "&columns=chosen".to_string();
            for id in list.split(',').filter(|v| !v.is_empty()) {
                out.push_str(&format!("&col={id}"));
            }
            out
        }
    }
}

/// The field ids of a list's `cols`.
pub fn column_ids(cols: &str) -> Vec<i32> {
    cols.split(',')
        .filter_map(|v| v.trim().parse::<i32>().ok())
        .collect()
}
