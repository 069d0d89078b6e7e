//! Why an inbound call is refused: every `error.code` the contract answers with, and the HTTP
//! status that goes with it, in one table (docs/listener-api.md, "Status codes"). The contract
//! names a `Refusal`; `Reply::refused` turns it into the answer. The refusals given before a
//! call reaches the contract (body size, content type, JSON, method, a flooding address, an
//! error of ours) are `http::api`'s.

/// Declares the refusals: `Variant = "code", status;`.
macro_rules! refusals {
    ($($(#[$meta:meta])* $variant:ident = $code:literal, $status:literal;)+) => {
        /// Why a call is refused.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Refusal {
            $($(#[$meta])* $variant,)+
        }

        impl Refusal {
            /// Every refusal, in the table's order.
            pub const ALL: &'static [Refusal] = &[$(Refusal::$variant),+];

            /// The answer's `error.code`.
            pub const fn code(self) -> &'static str {
                match self {
                    $(Refusal::$variant => $code,)+
                }
            }

            /// The HTTP status of the answer.
            pub const fn status(self) -> u16 {
                match self {
                    $(Refusal::$variant => $status,)+
                }
            }
        }
    };
}

refusals! {
    /// No API key in the query, the `X-Api-Key` header or `Authorization: Bearer`.
    MissingApiKey = "missing_api_key", 401;
    /// A key nobody issued (or one deleted).
    InvalidApiKey = "invalid_api_key", 401;
    ApiKeyDisabled = "api_key_disabled", 403;
    /// The key's allow list does not hold the caller's address.
    IpNotAllowed = "ip_not_allowed", 403;
    /// A signed listener's call without a valid signature (missing, malformed, made with
    /// another secret or over another body, or with a timestamp too old or too new).
    InvalidSignature = "invalid_signature", 401;
    /// A valid key, but not the one this listener or source accepts.
    ApiKeyNotAllowed = "api_key_not_allowed", 403;
    /// Over the key's rate: try again after `Retry-After` seconds.
    RateLimited = "rate_limited", 429;
    ListenerNotFound = "listener_not_found", 404;
    ListenerDisabled = "listener_disabled", 403;
    /// The listener lacks what its kind needs (a macro, a data group, field names).
    ListenerNotConfigured = "listener_not_configured", 409;
    SourceNotFound = "source_not_found", 404;
    SourceDisabled = "source_disabled", 403;
    /// The source's mapping no longer fits its feedback type.
    SourceNotConfigured = "source_not_configured", 409;
    MissingFind = "missing_find", 400;
    InvalidFind = "invalid_find", 400;
    TargetNotFound = "target_not_found", 404;
    /// The target exists but the listener's filter leaves it out.
    TargetNotInFilter = "target_not_in_filter", 404;
    /// A community manager, whom no listener may remove.
    TargetProtected = "target_protected", 403;
    /// A form-encoded body to a listener that takes JSON only.
    UnsupportedMediaType = "unsupported_media_type", 415;
    /// The body is not a JSON object.
    InvalidBody = "invalid_body", 400;
    MissingField = "missing_field", 400;
    InvalidField = "invalid_field", 400;
    /// The comment's author is nobody, or nobody who may comment there.
    InvalidAuthor = "invalid_author", 400;
    /// The ticket's submitter is nobody the community knows.
    InvalidSubmitter = "invalid_submitter", 400;
    InvalidIdempotencyKey = "invalid_idempotency_key", 400;
    /// The first call with this `Idempotency-Key` is still being handled.
    IdempotencyKeyInFlight = "idempotency_key_in_flight", 409;
    /// The `Idempotency-Key` came with another request before.
    IdempotencyKeyReused = "idempotency_key_reused", 422;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_are_refusals() {
        let codes: std::collections::BTreeSet<&str> =
            Refusal::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Refusal::ALL.len());
        assert!(
            Refusal::ALL
                .iter()
                .all(|r| (400..500).contains(&r.status()))
        );
    }
}
