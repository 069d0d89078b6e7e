//! One error type for the whole application.
//!
//! Server functions return it to the browser (serialised as JSON), the `/api/v1` routes and
//! the admin routes turn it into an HTTP response. Internal errors are opaque to callers: the
//! cause is logged on the server and the caller only sees a generic message.

use http::StatusCode;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A validation problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please correct the highlighted fields")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("please sign in")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// Busy for a moment (too much of something expensive at once): try again shortly.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// Opaque to the caller; the cause was logged where the error was created.
    #[error("something went wrong on our side; the error has been logged")]
    Internal,
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code, used in JSON error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::Unavailable { .. } => "unavailable",
            AppError::Internal => "internal_error",
        }
    }

    /// The message for one field, if validation failed on it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// The same error with each field named inside `group` (`url` becomes `webhook.url`), for
    /// a form nested in another.
    pub fn prefixed(self, group: &str) -> Self {
        match self {
            AppError::Validation(errors) => AppError::Validation(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("{group}.{}", e.field), e.message))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Log an unexpected failure with its cause and where it happened (the caller's file and
    /// line: call it directly or in a closure, since through a function pointer the place is
    /// lost), and return the opaque error.
    #[cfg(feature = "ssr")]
    #[track_caller]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(%cause, %at, "internal error");
        AppError::Internal
    }
}

/// Collects field errors while a form is parsed, so that every bad field is reported at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value when parsing succeeded, records the message otherwise.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(message) => {
                self.0.push(FieldError::new(field, message));
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Keeps the field errors of a validation error; any other error is returned.
    pub fn absorb(&mut self, e: AppError) -> Result<(), AppError> {
        match e {
            AppError::Validation(errors) => {
                self.0.extend(errors);
                Ok(())
            }
            other => Err(other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::BadRequest(format!("the form could not be read: {msg}"))
            }
            ServerFnErrorErr::Request(msg) => {
                AppError::BadRequest(format!("the server could not be reached: {msg}"))
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failure");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                AppError::Internal
            }
        }
    }
}

/// A database error is logged with the statement's place in our code: `?` passes its own
/// file and line to this conversion (`#[track_caller]`), so the log says which query failed,
/// not only how.
#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    #[track_caller]
    fn from(err: sea_orm::DbErr) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(cause = %err, %at, "database error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::TransactionError<AppError>> for AppError {
    #[track_caller]
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => AppError::from(e),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = self.status();
        let mut body = serde_json::json!({
            "error": { "code": self.code(), "message": self.to_string() }
        });
        if let AppError::Validation(fields) = &self {
            body["error"]["fields"] = serde_json::to_value(fields).unwrap_or_default();
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        }
        | AppError::Unavailable {
            retry_after_secs, ..
        } = &self
            && let Ok(v) = http::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        response
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::AppError;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn database_errors_are_logged_with_the_place_of_the_failed_query() {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        fn query(at: &mut u32) -> Result<(), AppError> {
            *at = line!() + 1;
            Err(sea_orm::DbErr::Custom("no such table: widgets".into()))?;
            Ok(())
        }
        let mut line = 0;
        let answer = tracing::subscriber::with_default(subscriber, || query(&mut line));
        assert_eq!(answer, Err(AppError::Internal), "opaque to the caller");
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("no such table: widgets"), "{text}");
        assert!(
            text.contains(&format!("src/shared/errors.rs:{line}")),
            "{text}"
        );
    }
}
