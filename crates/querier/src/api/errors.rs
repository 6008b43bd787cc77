//! Errors of the Prometheus HTTP API: `{"status":"error","errorType":"bad_data","error":"…"}`
//! with the status code of the error type, as Prometheus's `respondError` answers
//! (`bad_data` 400, `execution` 422, `canceled` 499, `timeout` 503, `unavailable` 503,
//! `internal` 500, `not_found` 404).

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use norn_promql::PromqlError;

use crate::error::QueryError;

/// Prometheus's error types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorType {
    /// A parameter or the query is invalid (400).
    BadData,
    /// Evaluation failed or a limit was reached (422).
    Execution,
    /// The query was canceled (499).
    Canceled,
    /// The query ran out of time (503).
    Timeout,
    /// Storage could not answer (503).
    Unavailable,
    /// A bug (500).
    Internal,
}

impl ErrorType {
    /// Returns the `errorType` string.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Canceled => "canceled",
            ErrorType::Timeout => "timeout",
            ErrorType::Unavailable => "unavailable",
            ErrorType::Internal => "internal",
        }
    }

    fn from_str(name: &str) -> Self {
        match name {
            "bad_data" => ErrorType::BadData,
            "execution" => ErrorType::Execution,
            "canceled" => ErrorType::Canceled,
            "timeout" => ErrorType::Timeout,
            "unavailable" => ErrorType::Unavailable,
            _ => ErrorType::Internal,
        }
    }

    /// Returns the HTTP status of this error type.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Canceled => {
                StatusCode::from_u16(499).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ErrorType::Timeout | ErrorType::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An API error: its type and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    kind: ErrorType,
    message: String,
}

impl ApiError {
    /// Returns an error of `kind` with `message`.
    pub(crate) fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Returns a `bad_data` error.
    pub(crate) fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorType::BadData, message)
    }

    /// Returns Prometheus's `invalid parameter "<name>": <reason>` (`bad_data`).
    pub(crate) fn invalid_param(name: &str, reason: impl std::fmt::Display) -> Self {
        Self::bad_data(format!("invalid parameter {name:?}: {reason}"))
    }

    /// Returns the error type.
    pub(crate) fn kind(&self) -> ErrorType {
        self.kind
    }

    /// Returns the message.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl From<PromqlError> for ApiError {
    fn from(error: PromqlError) -> Self {
        let kind = ErrorType::from_str(error.error_type());
        let message = match &error {
            PromqlError::Parse(message) => format!("invalid parameter \"query\": {message}"),
            other => other.to_string(),
        };
        Self::new(kind, message)
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        let kind = match error.status_code() {
            StatusCode::UNPROCESSABLE_ENTITY => ErrorType::Execution,
            StatusCode::BAD_REQUEST => ErrorType::BadData,
            StatusCode::SERVICE_UNAVAILABLE => ErrorType::Unavailable,
            _ => ErrorType::Internal,
        };
        if kind != ErrorType::Execution && kind != ErrorType::BadData {
            tracing::warn!(%error, "a read of the query API failed");
        }
        Self::new(kind, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": "error",
            "errorType": self.kind.as_str(),
            "error": self.message,
        });
        (
            self.kind.status(),
            [(CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use norn_promql::StorageError;

    use super::*;

    #[test]
    fn engine_errors_keep_their_type_and_status() {
        for (error, kind, status) in [
            (
                PromqlError::Parse("1:1: parse error".into()),
                "bad_data",
                400,
            ),
            (PromqlError::Execution("boom".into()), "execution", 422),
            (
                PromqlError::Storage(StorageError::Limit("cap".into())),
                "execution",
                422,
            ),
            (PromqlError::Timeout("query execution"), "timeout", 503),
            (PromqlError::Canceled("query execution"), "canceled", 499),
            (
                PromqlError::Storage(StorageError::Unavailable("down".into())),
                "unavailable",
                503,
            ),
            (PromqlError::Internal("bug".into()), "internal", 500),
        ] {
            let api = ApiError::from(error);
            assert_eq!(api.kind().as_str(), kind);
            assert_eq!(api.kind().status().as_u16(), status);
        }
        let parse = ApiError::from(PromqlError::Parse("unexpected end of input".into()));
        assert_eq!(
            parse.message(),
            "invalid parameter \"query\": unexpected end of input"
        );
    }
}
