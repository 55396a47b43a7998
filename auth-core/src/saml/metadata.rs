//! Metadata both ways: this service provider's (for the IdP's admin), and the IdP's as
//! samael needs it, rebuilt from the connection's stored fields so that only the
//! connection's signing certificates are ever trusted.

use samael::metadata::{
    EntityDescriptor, HTTP_POST_BINDING, IndexedEndpoint, NameIdFormat, SpSsoDescriptor,
};
use samael::traits::ToXml as _;

use crate::error::AuthError;
use crate::sso::SamlConnection;

const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// The NameID formats this service provider accepts (any stable one; the subject can also
/// come from an attribute).
const NAME_ID_FORMATS: [NameIdFormat; 3] = [
    NameIdFormat::PersistentNameIDFormat,
    NameIdFormat::EmailAddressNameIDFormat,
    NameIdFormat::UnspecifiedNameIDFormat,
];

/// Escapes text for an XML attribute value or element content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The IdP as samael sees it: the connection's entity id, SSO URL and signing
/// certificates, nothing else from the metadata as given. `NOT_CONFIGURED` without a
/// signing certificate (samael would skip signature verification).
pub(super) fn idp_descriptor(config: &SamlConnection) -> Result<EntityDescriptor, AuthError> {
    if config.signing_certificates.is_empty() || config.idp_entity_id.is_empty() {
        return Err(AuthError::NotConfigured(
            "the SAML connection has no IdP entity id or signing certificate",
        ));
    }
    let keys: String = config
        .signing_certificates
        .iter()
        .map(|cert| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                escape(cert)
            )
        })
        .collect();
    let xml = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}"><md:IDPSSODescriptor protocolSupportEnumeration="{PROTOCOL}">{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        entity = escape(&config.idp_entity_id),
        sso = escape(&config.sso_url),
    );
    xml.parse::<EntityDescriptor>()
        .map_err(|_| AuthError::internal("SAML IdP descriptor"))
}

/// This service provider's metadata XML: its entity id, the ACS URL (HTTP-POST binding),
/// the NameID formats it accepts, `AuthnRequestsSigned="false"` (requests are not signed)
/// and `WantAssertionsSigned="true"`.
pub(super) fn sp_metadata_xml(config: &SamlConnection) -> Result<String, AuthError> {
    if config.sp_entity_id.is_empty() || config.acs_url.is_empty() {
        return Err(AuthError::NotConfigured(
            "the SAML connection has no SP entity id or ACS URL",
        ));
    }
    let descriptor = EntityDescriptor {
        entity_id: Some(config.sp_entity_id.clone()),
        sp_sso_descriptors: Some(vec![SpSsoDescriptor {
            protocol_support_enumeration: Some(PROTOCOL.to_owned()),
            name_id_formats: Some(
                NAME_ID_FORMATS
                    .iter()
                    .map(|f| f.value().to_owned())
                    .collect(),
            ),
            authn_requests_signed: Some(false),
            want_assertions_signed: Some(true),
            assertion_consumer_services: vec![IndexedEndpoint {
                binding: HTTP_POST_BINDING.to_owned(),
                location: config.acs_url.clone(),
                index: 0,
                is_default: Some(true),
                ..IndexedEndpoint::default()
            }],
            ..SpSsoDescriptor::default()
        }]),
        ..EntityDescriptor::default()
    };
    descriptor
        .to_string()
        .map_err(|_| AuthError::internal("SAML SP metadata"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sso::AttributeMapping;

    fn config() -> SamlConnection {
        SamlConnection {
            idp_metadata_xml: String::new(),
            idp_entity_id: "https://idp.example.com/m?a=1&b=\"2\"".into(),
            sso_url: "https://idp.example.com/sso?x=<y>".into(),
            signing_certificates: vec!["MIIBAA==".into()],
            sp_entity_id: "https://app.example.com/saml/metadata".into(),
            acs_url: "https://app.example.com/sso/saml/acs".into(),
            attributes: AttributeMapping::default(),
            sign_authn_requests: false,
            allow_idp_initiated: false,
        }
    }

    #[test]
    fn the_idp_descriptor_carries_only_the_connections_fields() {
        let idp = idp_descriptor(&config()).unwrap();
        assert_eq!(
            idp.entity_id.as_deref(),
            Some(config().idp_entity_id.as_str())
        );
        let descriptors = idp.idp_sso_descriptors.unwrap();
        assert_eq!(descriptors.len(), 1);
        let keys = &descriptors[0].key_descriptors;
        assert_eq!(keys.len(), 1);
        assert_eq!(
            keys[0].key_info.x509_data.as_ref().unwrap().certificates,
            vec!["MIIBAA==".to_owned()]
        );
        assert_eq!(
            descriptors[0].single_sign_on_services[0].location,
            config().sso_url
        );
    }

    #[test]
    fn no_certificate_no_descriptor() {
        let mut bare = config();
        bare.signing_certificates.clear();
        assert_eq!(
            idp_descriptor(&bare).unwrap_err().code(),
            crate::ErrorCode::NotConfigured
        );
    }

    #[test]
    fn sp_metadata_names_the_entity_and_the_post_acs() {
        let xml = sp_metadata_xml(&config()).unwrap();
        assert!(
            xml.contains(r#"entityID="https://app.example.com/saml/metadata""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"Location="https://app.example.com/sso/saml/acs""#),
            "{xml}"
        );
        assert!(xml.contains(HTTP_POST_BINDING), "{xml}");
        assert!(xml.contains(r#"AuthnRequestsSigned="false""#), "{xml}");
        assert!(xml.contains(r#"WantAssertionsSigned="true""#), "{xml}");
        assert!(xml.contains("nameid-format:persistent"), "{xml}");
        let parsed: EntityDescriptor = xml.parse().unwrap();
        assert!(parsed.sp_sso_descriptors.is_some());
    }
}
