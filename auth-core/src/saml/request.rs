//! The AuthnRequest, sent by the HTTP-Redirect binding (DEFLATE, base64, URL-encoded,
//! with RelayState). Requests are not signed.

use samael::metadata::{HTTP_POST_BINDING, NameIdFormat};
use samael::schema::{AuthnRequest, Issuer, NameIdPolicy};
use time::OffsetDateTime;
use url::Url;

use crate::error::AuthError;
use crate::sso::SamlConnection;

const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// `time` to `chrono` (samael's time type), to the second.
pub(super) fn chrono_of(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), 0)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

/// The AuthnRequest with this `id` for the connection: Destination = the IdP's SSO URL,
/// AssertionConsumerServiceURL = the ACS URL (HTTP-POST), Issuer = the SP entity id,
/// NameIDPolicy persistent (AllowCreate).
pub(super) fn authn_request(
    id: String,
    at: OffsetDateTime,
    config: &SamlConnection,
) -> AuthnRequest {
    AuthnRequest {
        id,
        version: "2.0".to_owned(),
        issue_instant: chrono_of(at),
        destination: Some(config.sso_url.clone()),
        assertion_consumer_service_url: Some(config.acs_url.clone()),
        protocol_binding: Some(HTTP_POST_BINDING.to_owned()),
        issuer: Some(Issuer {
            format: Some(ENTITY_FORMAT.to_owned()),
            value: Some(config.sp_entity_id.clone()),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            format: Some(NameIdFormat::PersistentNameIDFormat.value().to_owned()),
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        ..AuthnRequest::default()
    }
}

/// The HTTP-Redirect URL of `request` (with `relay_state` unless empty).
pub(super) fn redirect_url(request: &AuthnRequest, relay_state: &str) -> Result<Url, AuthError> {
    request
        .redirect(relay_state)
        .ok()
        .flatten()
        .ok_or(AuthError::NotConfigured(
            "the SAML connection's SSO URL is not an absolute URL",
        ))
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use base64::Engine as _;

    use super::*;
    use crate::sso::AttributeMapping;

    #[test]
    fn the_redirect_carries_a_deflated_request_and_the_relay_state() {
        let config = SamlConnection {
            idp_metadata_xml: String::new(),
            idp_entity_id: "https://idp.example.com".into(),
            sso_url: "https://idp.example.com/sso?tenant=1".into(),
            signing_certificates: vec![],
            sp_entity_id: "https://app.example.com/sp".into(),
            acs_url: "https://app.example.com/acs".into(),
            attributes: AttributeMapping::default(),
            sign_authn_requests: false,
            allow_idp_initiated: false,
        };
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let request = authn_request("_abc".into(), at, &config);
        let url = redirect_url(&request, "back=/x").unwrap();
        assert!(
            url.as_str()
                .starts_with("https://idp.example.com/sso?tenant=1&SAMLRequest=")
        );
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["RelayState"], "back=/x");
        let deflated = base64::engine::general_purpose::STANDARD
            .decode(&pairs["SAMLRequest"])
            .unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&deflated[..])
            .read_to_string(&mut xml)
            .unwrap();
        for part in [
            r#"ID="_abc""#,
            r#"Destination="https://idp.example.com/sso?tenant=1""#,
            r#"AssertionConsumerServiceURL="https://app.example.com/acs""#,
            ">https://app.example.com/sp<",
            "nameid-format:persistent",
            "2027-01-15T08:00:00",
        ] {
            assert!(xml.contains(part), "{part} in {xml}");
        }
        assert!(
            !redirect_url(&request, "")
                .unwrap()
                .as_str()
                .contains("RelayState")
        );
    }
}
