//! Errors as HTTP responses: a status, a JSON body `{"error": {"code", "message"}}`, and
//! the headers RFC 6750 and RFC 9110 ask for (`WWW-Authenticate`, `Retry-After`).

use auth_core::{AuthError, ErrorCode};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    www_authenticate: Option<String>,
    retry_after: Option<i64>,
    required_scope: Option<String>,
    /// Boxed: errors travel in every `Result` of the layer, so they stay small.
    source: Option<Box<AuthError>>,
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine code, e.g. `SESSION_EXPIRED`.
    pub code: String,
    /// A human-readable message (never a secret).
    pub message: String,
    /// For `INSUFFICIENT_SCOPE`: the permission the request needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<String>,
}

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "api";

impl ApiError {
    /// An error with a code (its status is [`status_of`] the code) and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code: code.as_str(),
            message: message.into(),
            www_authenticate: None,
            retry_after: None,
            required_scope: None,
            source: None,
        }
    }

    /// `422 INVALID_BODY`: the body is not the JSON this route takes.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidBody, message)
    }

    /// `403 CSRF_REJECTED`: a cookie-authenticated unsafe request from another origin.
    pub fn csrf() -> Self {
        Self::new(
            ErrorCode::CsrfRejected,
            "cookie-authenticated requests must come from the app's origin",
        )
    }

    /// `500 NOT_CONFIGURED`: no `AuthState` reached the extractor.
    pub fn not_configured() -> Self {
        Self::new(
            ErrorCode::NotConfigured,
            "authentication is not configured for this route (add AuthState::layer)",
        )
    }

    /// The refusal of a credential the request presented: a `401` then names it
    /// `invalid_token` (RFC 6750 §3.1), also when it is merely unknown (`NOT_SIGNED_IN`).
    pub(crate) fn presented(error: AuthError) -> Self {
        let mut api = Self::from(error);
        if api.status == StatusCode::UNAUTHORIZED {
            api.www_authenticate =
                Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\""));
        }
        api
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// The HTTP status of an error code: one list for the codes of `auth-core` and those of
/// the HTTP layer.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::InvalidInput
        | C::InvalidEmail
        | C::WeakPassword
        | C::PasswordTooCommon
        | C::PasswordBreached
        | C::InvalidCursor
        | C::InvalidBody => StatusCode::UNPROCESSABLE_ENTITY,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::RouteNotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::CodeInvalid
        | C::CodeExpired
        | C::MfaChallengeInvalid
        | C::MfaChallengeExpired
        | C::CeremonyInvalid
        | C::CeremonyExpired
        | C::PasskeyRejected
        | C::PasskeyUnknownCredential
        | C::PasskeyUserMismatch
        | C::PasskeyOriginMismatch
        | C::PasskeyRpIdMismatch
        | C::PasskeyCounterRegression
        | C::DomainVerificationFailed
        | C::OidcProviderError
        | C::OidcStateInvalid
        | C::OidcFlowExpired
        | C::OidcIssuerMismatch
        | C::OidcTokenInvalid
        | C::SsoProtocolNotSupported
        | C::SamlResponseInvalid
        | C::SamlSignatureInvalid
        | C::SamlAudienceMismatch
        | C::SamlDestinationMismatch
        | C::SamlExpired
        | C::SamlRequestUnknown
        | C::SamlIdpInitiatedRefused
        | C::SamlReplayed
        | C::SamlStatus => StatusCode::BAD_REQUEST,
        C::InvalidToken
        | C::InvalidCredentials
        | C::NotSignedIn
        | C::SessionExpired
        | C::SessionRevoked
        | C::RefreshTokenInvalid
        | C::RefreshTokenReused
        | C::ApiKeyInvalid
        | C::ApiKeyRevoked
        | C::ApiKeyExpired => StatusCode::UNAUTHORIZED,
        C::EmailNotVerified
        | C::MfaRequired
        | C::MfaEnrollmentRequired
        | C::ReauthenticationRequired
        | C::Forbidden
        | C::InsufficientScope
        | C::CsrfRejected
        | C::InviteEmailMismatch
        | C::InviteInviterUnauthorized
        | C::InviteRequired
        | C::SsoRequired
        | C::SsoEmailNotAllowed
        | C::SsoEmailNotVerified => StatusCode::FORBIDDEN,
        C::UserNotFound
        | C::AccountNotFound
        | C::SessionNotFound
        | C::GroupNotFound
        | C::MemberNotFound
        | C::InviteNotFound
        | C::ApiKeyNotFound
        | C::PasskeyNotFound
        | C::SsoConnectionNotFound
        | C::DomainNotFound => StatusCode::NOT_FOUND,
        C::EmailInUse
        | C::AccountAlreadyLinked
        | C::LastSignInMethod
        | C::HasDependents
        | C::SlugTaken
        | C::GroupCycle
        | C::DuplicateMembership
        | C::DuplicateInvite
        | C::InviteNotPending
        | C::ApiKeyNotActive
        | C::LastOwner
        | C::TotpNotEnrolled
        | C::TotpAlreadyEnrolled
        | C::PasskeyAlreadyRegistered
        | C::DomainTaken
        | C::DomainNotVerified
        | C::SsoConnectionInactive
        | C::SsoConnectionNotReady
        | C::SsoLinkRefused => StatusCode::CONFLICT,
        C::InviteExpired => StatusCode::GONE,
        C::RateLimited | C::TooManyAttempts | C::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
        C::DeliveryFailed | C::OidcExchangeFailed | C::OidcDiscoveryFailed => {
            StatusCode::BAD_GATEWAY
        }
        C::StoreUnavailable | C::Overloaded | C::DnsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `404 NOT_FOUND` with the JSON error body: a fallback for the app's router
/// (`Router::fallback(auth_axum::not_found)`), so unknown paths answer like the API.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, "no such route")
}

/// `405 METHOD_NOT_ALLOWED` with the JSON error body (axum still adds `Allow`): the
/// auth router uses it, and `Router::method_not_allowed_fallback` takes it for the app's.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not take that method",
    )
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let code = error.code();
        let status = status_of(code);
        let mut api = Self::new(code, error.public_message());
        api.www_authenticate = match code {
            // RFC 6750 §3: no error attribute when the request carried no credentials (or
            // a password, not a token); RFC 9110 §15.5.2: every 401 carries a challenge.
            ErrorCode::NotSignedIn | ErrorCode::InvalidCredentials => {
                Some(format!("Bearer realm=\"{REALM}\""))
            }
            _ if status == StatusCode::UNAUTHORIZED => {
                Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\""))
            }
            _ => None,
        };
        match &error {
            AuthError::RateLimited { retry_after } => {
                api.retry_after = Some(retry_after.whole_seconds().max(1));
            }
            AuthError::QuotaExceeded {
                retry_after: Some(retry_after),
            } => api.retry_after = Some(retry_after.whole_seconds().max(1)),
            AuthError::InsufficientScope { required } => {
                api.www_authenticate = Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{required}\""
                ));
                api.required_scope = Some(required.clone());
            }
            AuthError::Store(auth_core::StoreError::Unavailable(_)) | AuthError::Overloaded => {
                api.retry_after = Some(1);
            }
            _ => {}
        }
        api.source = Some(Box::new(error));
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => {
                    tracing::error!(code = self.code, error = %source, source = ?std::error::Error::source(source.as_ref()), "request failed")
                }
                None => {
                    tracing::error!(code = self.code, message = %self.message, "request failed")
                }
            }
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                required_scope: self.required_scope,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(value) = self
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_none_is_500_by_accident() {
        for code in ErrorCode::ALL {
            let status = status_of(*code);
            let expected_5xx = matches!(
                code,
                ErrorCode::Internal
                    | ErrorCode::StoreUnavailable
                    | ErrorCode::Overloaded
                    | ErrorCode::DnsUnavailable
                    | ErrorCode::DeliveryFailed
                    | ErrorCode::OidcExchangeFailed
                    | ErrorCode::OidcDiscoveryFailed
                    | ErrorCode::NotConfigured
            );
            assert_eq!(status.is_server_error(), expected_5xx, "{code}");
        }
    }

    #[test]
    fn scope_errors_name_the_scope_in_header_and_body() {
        let api = ApiError::from(AuthError::InsufficientScope {
            required: "data:read".into(),
        });
        assert_eq!(api.status(), StatusCode::FORBIDDEN);
        let response = api.into_response();
        let header = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(
            header.contains("error=\"insufficient_scope\"")
                && header.contains("scope=\"data:read\"")
        );
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let response = ApiError::from(AuthError::RateLimited {
            retry_after: time::Duration::seconds(42),
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn an_overloaded_hashing_pool_is_503_with_retry_after() {
        let api = ApiError::from(AuthError::Overloaded);
        assert_eq!(api.code, "OVERLOADED");
        let response = api.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
