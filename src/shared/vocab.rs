//! The words of the domain as enums: each with the key it is stored and sent under, the label
//! people read, and parsing, in one table (`vocabulary!`). On the server each is also a
//! SeaORM active enum over the same TEXT column it always used (no migration), so an entity
//! field holds the enum and a `match` on it is checked by the compiler.

/// Declares a vocabulary: `Name { Variant = "key", "Label"; … }`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $key:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
        #[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $key)]
                #[cfg_attr(feature = "ssr", sea_orm(string_value = $key))]
                $variant,
            )+
        }

        impl $name {
            /// Every word, in the table's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The key it is stored and sent under.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $key,)+
                }
            }

            /// What people read.
            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            /// The word stored or sent as `key`.
            pub fn parse(key: &str) -> Option<$name> {
                match key {
                    $($key => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with a stored key, as read back from a row or a JSON answer.
        impl PartialEq<&str> for $name {
            fn eq(&self, key: &&str) -> bool {
                self.as_str() == *key
            }
        }
    };
}

vocabulary! {
    /// Where a webhook or email delivery stands (`webhook_deliveries.status`).
    DeliveryStatus {
        /// Waiting for its first try or its next retry.
        Queued = "queued", "Queued (waiting to retry)";
        /// Claimed by a sender (a lease).
        Sending = "sending", "Sending";
        Succeeded = "succeeded", "Succeeded";
        /// Given up: a final answer, or the retry schedule used up.
        Failed = "failed", "Failed";
        /// Not sent: its webhook was deleted or switched off (410), or it was superseded.
        Cancelled = "cancelled", "Cancelled";
    }
}

impl DeliveryStatus {
    /// Still to be sent (queued or being sent).
    pub fn is_waiting(self) -> bool {
        matches!(self, DeliveryStatus::Queued | DeliveryStatus::Sending)
    }
}

vocabulary! {
    /// Where a queued job stands (`jobs.status`).
    JobStatus {
        Queued = "queued", "Queued";
        /// Claimed by a worker (a lease).
        Running = "running", "Running";
        Done = "done", "Done";
        Failed = "failed", "Failed";
    }
}

vocabulary! {
    /// Where a macro run stands (`macro_runs.status`).
    RunStatus {
        /// Written before any effect; a worker finishes it.
        Queued = "queued", "Queued";
        Completed = "completed", "Completed";
        /// Not run: the macro runs once per person and already ran for this one.
        Skipped = "skipped", "Skipped";
        /// Could not run: its target or its macro had gone by the time it ran.
        Failed = "failed", "Failed";
    }
}

vocabulary! {
    /// What a queued job does (`jobs.kind`). The column stays text on the entity: a kind this
    /// version does not know (written by a newer one) fails that job alone, not the queue.
    JobKind {
        /// Finishes a queued macro run (`MacroRunJob`).
        MacroRun = "macro_run", "Macro run";
    }
}

vocabulary! {
    /// What a macro sends out (`webhooks.kind`, `webhook_deliveries.kind`).
    WebhookKind {
        /// An HTTP request.
        Http = "http", "Webhook";
        /// An email through the configured SMTP server.
        Email = "email", "Email";
    }
}

vocabulary! {
    /// How a webhook's body is written (`webhooks.content_type`).
    ContentType {
        /// JSON, tags filled in JSON-escaped.
        Json = "json", "JSON";
        /// `application/x-www-form-urlencoded`.
        Form = "form", "Form";
        /// An email's plain text.
        Text = "text", "Text";
    }
}

vocabulary! {
    /// What a filter, a macro, a listener or a bulk run acts on (`*.scope`).
    Scope {
        User = "user", "Users";
        Feedback = "feedback", "Feedback";
    }
}

vocabulary! {
    /// What an external data group's values belong to (`data_groups.scope`): a wider set than
    /// `Scope`, since projects hold external data too.
    DataScope {
        User = "user", "Users";
        Feedback = "feedback", "Feedback tickets";
        Project = "project", "Projects";
    }
}

impl From<Scope> for DataScope {
    /// The data groups of what a listener or filter of `scope` acts on.
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::User => DataScope::User,
            Scope::Feedback => DataScope::Feedback,
        }
    }
}

vocabulary! {
    /// What a listener does with its target (`listeners.kind`). A new kind is a variant here
    /// and the code that does its work: the compiler points at every `match` left to extend.
    ListenerKind {
        /// Runs the listener's macro.
        Macro = "macro", "Macro Execution";
        /// Adds a comment by an author, both taken from the body.
        Comment = "comment", "Add Comment";
        /// Stores the body's parameters in a data group.
        Data = "data", "External Data";
    }
}

impl ListenerKind {
    /// Whether a call of this kind reads its JSON body and acts within the request; a macro
    /// call takes any body, or none, and queues a run.
    pub const fn reads_body(self) -> bool {
        match self {
            ListenerKind::Macro => false,
            ListenerKind::Comment | ListenerKind::Data => true,
        }
    }

    /// The URL segment of the listeners of this kind on `scope`: `/api/v1/{path}/{key}`.
    pub const fn path(self, scope: Scope) -> &'static str {
        match (scope, self) {
            (Scope::User, ListenerKind::Macro) => "userMacroListeners",
            (Scope::User, ListenerKind::Comment) => "userCommentListeners",
            (Scope::User, ListenerKind::Data) => "userDataListeners",
            (Scope::Feedback, ListenerKind::Macro) => "feedbackMacroListeners",
            (Scope::Feedback, ListenerKind::Comment) => "feedbackCommentListeners",
            (Scope::Feedback, ListenerKind::Data) => "feedbackDataListeners",
        }
    }

    /// Every listener URL segment: (scope, kind, path).
    pub fn paths() -> impl Iterator<Item = (Scope, ListenerKind, &'static str)> {
        Scope::ALL
            .iter()
            .flat_map(|s| ListenerKind::ALL.iter().map(move |k| (*s, *k, k.path(*s))))
    }
}

vocabulary! {
    /// What a macro action does: the `type` of each `MacroAction` in `macros.actions`, and the
    /// rows of the macro form. A new action is a variant here, its `scope`, and a
    /// `MacroAction` variant; the compiler points at every `match` left to extend.
    ActionKind {
        RemoveUser = "remove_user", "Remove user completely";
        AdjustScore = "adjust_score", "Adjust score by";
        AddToTeam = "add_to_team", "Add to team";
        RemoveFromTeam = "remove_from_team", "Remove from team";
        AddComment = "add_comment", "Add user comment";
        SetStatus = "set_status", "Set status to";
        SetTeam = "set_team", "Set team to";
        AddTicketComment = "add_ticket_comment", "Add comment";
        AdjustSubmitterScore = "adjust_submitter_score", "Adjust submitter score by";
        SetVisibility = "set_visibility", "Set visibility to";
    }
}

impl ActionKind {
    /// What macros offer it: user macros act on a user, feedback macros on a ticket.
    pub const fn scope(self) -> Scope {
        match self {
            ActionKind::RemoveUser
            | ActionKind::AdjustScore
            | ActionKind::AddToTeam
            | ActionKind::RemoveFromTeam
            | ActionKind::AddComment => Scope::User,
            ActionKind::SetStatus
            | ActionKind::SetTeam
            | ActionKind::AddTicketComment
            | ActionKind::AdjustSubmitterScore
            | ActionKind::SetVisibility => Scope::Feedback,
        }
    }

    /// The actions macros of `scope` offer, in the table's order.
    pub fn of(scope: Scope) -> Vec<ActionKind> {
        ActionKind::ALL
            .iter()
            .copied()
            .filter(|k| k.scope() == scope)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_and_are_unique() {
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(*s));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(*s));
        }
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(*s));
        }
        for k in WebhookKind::ALL {
            assert_eq!(WebhookKind::parse(k.as_str()), Some(*k));
        }
        for c in ContentType::ALL {
            assert_eq!(ContentType::parse(c.as_str()), Some(*c));
        }
        for d in DataScope::ALL {
            assert_eq!(DataScope::parse(d.as_str()), Some(*d));
        }
        for k in ActionKind::ALL {
            assert_eq!(ActionKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(
            ActionKind::of(Scope::User).len() + ActionKind::of(Scope::Feedback).len(),
            ActionKind::ALL.len()
        );
        assert_eq!(DeliveryStatus::parse("Queued"), None, "keys are exact");
        let paths: std::collections::BTreeSet<&str> = ListenerKind::paths().map(|p| p.2).collect();
        assert_eq!(paths.len(), Scope::ALL.len() * ListenerKind::ALL.len());
    }
}

vocabulary! {
    /// Where a run (or a removal) came from (`macro_runs.trigger`, `opt_out_events.source`,
    /// `erasure_receipts.trigger`, job payloads).
    Trigger {
        /// Started by a manager from a user's or ticket's page.
        Manual = "manual", "Manual run";
        /// An external listener call.
        Listener = "listener", "Listener";
        /// A bulk run over a filter.
        Bulk = "bulk", "Bulk run";
        /// A feedback macro run because a ticket was submitted or modified.
        Automation = "automation", "Automation";
        /// A macro's schedule came due.
        Schedule = "schedule", "Schedule";
        /// *Delete user* on the user page (a removal without a macro).
        Delete = "delete", "Delete user";
    }
}
