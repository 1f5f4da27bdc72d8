//! One error type for everything a request can fail with.
//!
//! Rules: models return `QueryResult`; domain and handlers return
//! `AppError`, which renders Mastodon-style `{"error": "..."}` with the right
//! status. Internal details are logged, never sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Mastodon answers validation failures with 422.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    Unavailable(String),
    /// A remote server we needed did not answer usefully.
    #[error("{0}")]
    BadGateway(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn not_found() -> Self {
        AppError::NotFound("Record not found".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Storage failures (disk full, permissions) are ours, not the client's.
impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("media storage"))
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                AppError::Unavailable("Database unavailable".into())
            }
            DbError::Query(q) => q.into(),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::not_found(),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<activitypub_federation::error::Error> for AppError {
    fn from(e: activitypub_federation::error::Error) -> Self {
        use activitypub_federation::error::Error as F;
        match e {
            F::NotFound => AppError::not_found(),
            F::ActivitySignatureInvalid => AppError::Unauthorized("Invalid signature".into()),
            F::ActivityBodyDigestInvalid => AppError::BadRequest("Invalid digest".into()),
            F::ParseReceivedActivity { err, id } => AppError::BadRequest(match id {
                Some(id) => format!("Cannot parse activity {id}: {err}"),
                None => format!("Cannot parse activity: {err}"),
            }),
            F::UrlVerificationError(msg) => AppError::BadRequest(format!("URL refused: {msg}")),
            F::Other(msg) if msg.starts_with(crate::federation::policy::REFUSED) => {
                AppError::Forbidden(msg)
            }
            F::Other(msg) if msg.starts_with(crate::federation::policy::UNAVAILABLE) => {
                AppError::Unavailable(msg)
            }
            // The library reports malformed signatures and similar input
            // problems this way.
            F::Other(msg) => AppError::BadRequest(msg),
            F::DomainResolveError(_) | F::ResolveInternalIpError(..) => {
                AppError::BadRequest(e.to_string())
            }
            F::RequestLimit | F::ResponseBodyLimit | F::ObjectDeleted(_) => {
                AppError::BadRequest(e.to_string())
            }
            F::ParseFetchedObject(..) | F::FetchInvalidContentType(_) | F::FetchWrongId(_) => {
                AppError::BadRequest(e.to_string())
            }
            F::WebfingerResolveFailed(_) => AppError::NotFound(e.to_string()),
            // Remote side failed us: not the client's fault, but not ours either.
            F::Reqwest(_) | F::ReqwestMiddleware(_) => AppError::BadGateway(e.to_string()),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<url::ParseError> for AppError {
    fn from(e: url::ParseError) -> Self {
        AppError::BadRequest(format!("invalid URL: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                "Internal server error".to_string()
            }
            other => other.to_string(),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}
