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
