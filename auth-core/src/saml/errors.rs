//! samael's verification errors as typed refusals.

use samael::service_provider::Error;

use crate::error::{AuthError, SamlRefusal};

/// Shorthand for an [`AuthError::Saml`].
pub(super) fn refuse(refusal: SamlRefusal) -> AuthError {
    AuthError::Saml(refusal)
}

/// Shorthand for `SAML_RESPONSE_INVALID` with a reason.
pub(super) fn invalid(why: &'static str) -> AuthError {
    refuse(SamlRefusal::ResponseInvalid(why))
}

/// What a samael refusal means for the client. The error's own text (which may quote
/// values from the response) is never passed on.
pub(super) fn refusal_of(error: &Error) -> SamlRefusal {
    match error {
        // Unsigned, another key, tampered, or a signed part that is not a single SAML
        // response or assertion (wrapping).
        Error::FailedToValidateSignature | Error::FailedToParseSamlAssertion(_) => {
            SamlRefusal::SignatureInvalid
        }
        Error::DestinationValidationError { .. } | Error::AssertionRecipientMismatch { .. } => {
            SamlRefusal::DestinationMismatch
        }
        Error::AssertionConditionAudienceRestrictionFailed { .. } => SamlRefusal::AudienceMismatch,
        Error::AssertionExpired { .. }
        | Error::AssertionSubjectConfirmationExpired { .. }
        | Error::AssertionSubjectConfirmationExpiredBefore { .. }
        | Error::AssertionConditionExpired { .. }
        | Error::AssertionConditionExpiredBefore { .. }
        | Error::ResponseExpired { .. } => SamlRefusal::Expired,
        Error::AssertionInResponseToInvalid { .. } | Error::ResponseInResponseToInvalid { .. } => {
            SamlRefusal::RequestUnknown
        }
        Error::ResponseBadStatusCode { .. } => SamlRefusal::Status,
        Error::AssertionIssuerMismatch { .. } | Error::ResponseIssuerMismatch { .. } => {
            SamlRefusal::ResponseInvalid("issued by another identity provider")
        }
        Error::AssertionBearerSubjectConfirmationMissing
        | Error::AssertionSubjectConfirmationMissing => {
            SamlRefusal::ResponseInvalid("no bearer subject confirmation")
        }
        Error::EncryptedAssertionsNotYetSupported
        | Error::MissingPrivateKeySP
        | Error::MissingEncryptedKeyInfo
        | Error::MissingEncryptedValueInfo
        | Error::EncryptedAssertionKeyMethodUnsupported { .. }
        | Error::EncryptedAssertionValueMethodUnsupported { .. }
        | Error::EncryptedAssertionInvalid
        | Error::FailedToDecryptAssertion => {
            SamlRefusal::ResponseInvalid("encrypted assertions are not supported")
        }
        _ => SamlRefusal::ResponseInvalid("not a usable SAML response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samael_errors_map_to_their_refusals() {
        assert_eq!(
            refusal_of(&Error::FailedToValidateSignature),
            SamlRefusal::SignatureInvalid
        );
        assert_eq!(
            refusal_of(&Error::AssertionConditionAudienceRestrictionFailed {
                requirement: "x".into()
            }),
            SamlRefusal::AudienceMismatch
        );
        assert_eq!(
            refusal_of(&Error::DestinationValidationError {
                response_destination: None,
                sp_acs_url: None
            }),
            SamlRefusal::DestinationMismatch
        );
        assert_eq!(
            refusal_of(&Error::AssertionConditionExpired { time: "t".into() }),
            SamlRefusal::Expired
        );
        assert_eq!(
            refusal_of(&Error::ResponseInResponseToInvalid {
                possible_ids: vec![]
            }),
            SamlRefusal::RequestUnknown
        );
        assert_eq!(
            refusal_of(&Error::ResponseBadStatusCode { code: "c".into() }),
            SamlRefusal::Status
        );
        assert_eq!(
            refusal_of(&Error::UnexpectedError).code(),
            crate::ErrorCode::SamlResponseInvalid
        );
    }
}
