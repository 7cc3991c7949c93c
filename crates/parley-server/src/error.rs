//! The server's one error type, and the one place where errors become Twilio's wire shape
//! `{code, message, more_info, status}` with an HTTP status. A 500 is a bug: every user
//! mistake has a 4xx and a code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parley_store::StoreError;

/// Twilio error codes Parley uses. Where Twilio has a specific code, we use it.
pub mod codes {
    pub const INVALID_PARAMETER: u32 = 20001;
    pub const AUTHENTICATION_FAILED: u32 = 20003;
    pub const METHOD_NOT_ALLOWED: u32 = 20004;
    pub const NOT_FOUND: u32 = 20404;
    pub const CONFLICT: u32 = 20409;
    pub const TOO_MANY_REQUESTS: u32 = 20429;
    pub const INTERNAL: u32 = 20500;
    pub const UNAVAILABLE: u32 = 20503;
    pub const PAYLOAD_TOO_LARGE: u32 = 20413;
    pub const IDENTITY_WITH_BINDING: u32 = 50211;
    pub const USER_CONVERSATION_LIMIT: u32 = 50214;
    pub const ATTRIBUTES_TOO_LONG: u32 = 50303;
    pub const CONVERSATION_NOT_FOUND: u32 = 50350;
    pub const UNIQUE_NAME_EXISTS: u32 = 50353;
    pub const WEBHOOK_NOT_FOUND: u32 = 50360;
    pub const TOO_MANY_WEBHOOKS: u32 = 50361;
    pub const TOO_MANY_TRIGGERS: u32 = 50362;
    pub const BAD_WEBHOOK_TARGET: u32 = 50364;
    pub const BAD_WEBHOOK_FILTER: u32 = 50365;
    pub const BAD_TRIGGER: u32 = 50366;
    pub const NO_WEBHOOK_TARGET: u32 = 50368;
    pub const NO_WEBHOOK_URL: u32 = 50369;
    pub const NO_WEBHOOK_FILTER: u32 = 50370;
    pub const NO_TRIGGER: u32 = 50371;
    pub const WEBHOOK_URL_TOO_LONG: u32 = 50372;
    pub const INACTIVE_TIMER_TOO_SHORT: u32 = 50375;
    pub const CLOSED_TIMER_TOO_SHORT: u32 = 50376;
    pub const CONVERSATION_CLOSED: u32 = 50377;
    pub const BAD_INACTIVE_TIMER: u32 = 50379;
    pub const BAD_CLOSED_TIMER: u32 = 50380;
    pub const CREATE_CLOSED: u32 = 50384;
    pub const UNIQUE_NAME_LOOKS_LIKE_SID: u32 = 50390;
    pub const BAD_ADDRESS: u32 = 50407;
    pub const BAD_PROXY_ADDRESS: u32 = 50408;
    pub const ADDRESS_EQUALS_PROXY: u32 = 50409;
    pub const EMPTY_ADDRESS: u32 = 50411;
    pub const EMPTY_PROXY_ADDRESS: u32 = 50412;
    pub const BINDING_EXISTS: u32 = 50416;
    pub const TOO_MANY_PARTICIPANTS: u32 = 50417;
    pub const TOO_MANY_NON_CHAT: u32 = 50422;
    pub const CWP_BAD_PARTICIPANT: u32 = 50424;
    pub const CWP_BINDING_EXISTS: u32 = 50425;
    pub const CWP_TOO_MANY: u32 = 50426;
    pub const PARTICIPANT_NOT_FOUND: u32 = 50432;
    pub const IDENTITY_EXISTS: u32 = 50433;
    pub const CANNOT_ADD_IDENTITY: u32 = 50444;
    pub const MESSAGE_BODY_MISSING: u32 = 50503;
    pub const MESSAGE_BODY_TOO_LONG: u32 = 50504;
    pub const FLOW_INVALID: u32 = 81022;
    pub const EXECUTION_FAILED: u32 = 84002;
    pub const EXECUTION_BAD_PARAMETERS: u32 = 84004;
    pub const INVALID_PAGE_TOKEN: u32 = 21481;
}

/// The HTTP status each code travels with. Conflicts (a name or binding already taken)
/// are 409; Twilio does not document these statuses, so this is our documented choice.
fn status_for(code: u32) -> StatusCode {
    use codes::*;
    match code {
        AUTHENTICATION_FAILED => StatusCode::UNAUTHORIZED,
        METHOD_NOT_ALLOWED => StatusCode::METHOD_NOT_ALLOWED,
        NOT_FOUND | CONVERSATION_NOT_FOUND | WEBHOOK_NOT_FOUND | PARTICIPANT_NOT_FOUND => {
            StatusCode::NOT_FOUND
        }
        CONFLICT | UNIQUE_NAME_EXISTS | BINDING_EXISTS | IDENTITY_EXISTS | CWP_BINDING_EXISTS => {
            StatusCode::CONFLICT
        }
        TOO_MANY_REQUESTS => StatusCode::TOO_MANY_REQUESTS,
        PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        INTERNAL => StatusCode::INTERNAL_SERVER_ERROR,
        UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Twilio error with its code; the status comes from `status_for`.
    #[error("{message}")]
    Api {
        code: u32,
        message: String,
        details: Option<serde_json::Value>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn api(code: u32, message: impl Into<String>) -> Error {
        Error::Api {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(
        code: u32,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Error {
        Error::Api {
            code,
            message: message.into(),
            details: Some(details),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::api(codes::INVALID_PARAMETER, message)
    }

    pub fn missing(param: &str) -> Error {
        Error::api(
            codes::INVALID_PARAMETER,
            format!("Missing required parameter {param} in the post body"),
        )
    }

    /// A resource that does not exist, or belongs to another account (indistinguishable).
    pub fn not_found(path: &str) -> Error {
        Error::api(
            codes::NOT_FOUND,
            format!("The requested resource {path} was not found"),
        )
    }

    pub fn unauthorized() -> Error {
        Error::api(
            codes::AUTHENTICATION_FAILED,
            "Authentication Error - invalid username",
        )
    }

    pub fn code(&self) -> u32 {
        match self {
            Error::Api { code, .. } => *code,
            Error::Store(
                StoreError::Closed | StoreError::Unavailable(_) | StoreError::Conflict(_),
            ) => codes::UNAVAILABLE,
            Error::Store(_) => codes::INTERNAL,
        }
    }

    pub fn status(&self) -> StatusCode {
        status_for(self.code())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = status_for(code);
        let (message, details) = match self {
            Error::Api {
                message, details, ..
            } => (message, details),
            Error::Store(e) => {
                // Logged once here, inside the request span; the client gets no internals.
                tracing::error!(error = %e, "store error");
                let msg = match e {
                    StoreError::Closed => "The server is shutting down; retry shortly".to_string(),
                    // The reason says what is wrong with the storage (e.g. full), nothing secret.
                    StoreError::Unavailable(reason) => format!(
                        "The server cannot store anything right now ({reason}); nothing was changed, retry later"
                    ),
                    StoreError::Conflict(_) => "Another request changed the same data at the same moment; nothing was changed, retry it".to_string(),
                    _ => "Internal error: the request could not be completed; retry it".to_string(),
                };
                (msg, None)
            }
        };
        let mut body = serde_json::json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        });
        if let Some(d) = details {
            body["details"] = d;
        }
        let mut resp = crate::wire::json::json_response(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110 requires the challenge on a 401, and Twilio sends this one; curl and
            // browsers only offer credentials after seeing it.
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
        }
        resp
    }
}
