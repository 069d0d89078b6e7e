use sea_orm::entity::prelude::*;

use crate::shared::vocab::{ListenerKind, Scope};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "listeners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub key: String,
    pub scope: Scope,
    pub kind: ListenerKind,
    pub filter_id: Option<i32>,
    pub macro_id: Option<i32>,
    pub api_key_id: Option<i32>,
    pub enabled: bool,
    pub author_field: String,
    pub comment_field: String,
    pub data_group_id: Option<i32>,
    pub find_field_id: Option<i32>,
    /// User Add Comment / External Data: the project the comment is about or the project
    /// data is stored on (None: community-level, or named per call by `project_param`).
    pub target_project_id: Option<i32>,
    /// User Add Comment / External Data: the body key naming the project (its key or id);
    /// empty: none.
    pub project_param: String,
    /// Where the body names the target when the URL has no `find`: a key or a path
    /// (`domain::body_path`); empty: only `find`.
    pub find_path: String,
    /// Also takes `application/x-www-form-urlencoded` bodies.
    pub accepts_form: bool,
    /// Signed calls (`domain::inbound_signature::Scheme`'s stored name; empty: none). A call
    /// then needs a valid signature, and counts as a call with the listener's API key.
    pub signature_scheme: String,
    /// The shared secret, sealed (`secrets::Sealer`).
    #[sea_orm(column_type = "Text", nullable)]
    pub signing_secret: Option<String>,
    /// The secret it replaced, sealed: it still passes until `old_secret_until`.
    #[sea_orm(column_type = "Text", nullable)]
    pub old_signing_secret: Option<String>,
    pub old_secret_until: Option<DateTimeUtc>,
    /// *Listen for a test call*: until then, the next call is kept as a test call and nothing
    /// runs (None: not listening).
    pub listening_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Feedback scope: the project it belongs to (None with `place_type_id` None: every
    /// project), and the feedback type within it (`domain::place::Place`).
    pub place_project_id: Option<i32>,
    pub place_type_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
