//! Reading what a SAML service provider needs from an IdP's metadata XML: the IdP's entity
//! id, its single sign-on URL and its signing certificates. Elements are matched by local
//! name (prefixes vary between IdPs); quick-xml expands no DTD or external entity, so
//! metadata cannot make the parser fetch or blow up anything.

use base64::Engine as _;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::AuthError;

/// Largest metadata document accepted, in bytes.
pub const MAX_METADATA_BYTES: usize = 512 * 1024;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;
/// Most signing certificates kept.
const MAX_CERTIFICATES: usize = 8;

const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// What was read from IdP metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's entity id (`EntityDescriptor/@entityID`).
    pub entity_id: String,
    /// The single sign-on URL: the HTTP-Redirect binding's, else the HTTP-POST binding's.
    pub sso_url: String,
    /// The signing certificates (base64 DER, whitespace removed): `KeyDescriptor`s with
    /// `use="signing"` or no `use`.
    pub signing_certificates: Vec<String>,
}

fn invalid(reason: &'static str) -> AuthError {
    AuthError::invalid("idp_metadata_xml", reason)
}

/// The value of `e`'s attribute with this local name, decoded, normalised and trimmed.
pub(crate) fn attribute(
    e: &BytesStart<'_>,
    name: &[u8],
    decoder: quick_xml::Decoder,
) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.decoded_and_normalized_value(XmlVersion::Implicit1_0, decoder)
                .ok()
        })
        .map(|v| v.trim().to_owned())
}

/// Parses IdP metadata. `INVALID_INPUT` (field `idp_metadata_xml`) if it is too large, not
/// well-formed, has no IdP descriptor, no entity id, no usable SSO URL or no signing
/// certificate.
pub fn parse_idp_metadata(xml: &str) -> Result<IdpMetadata, AuthError> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(invalid("must be at most 512 KiB"));
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    reader.config_mut().check_end_names = true;
    let decoder = reader.decoder();

    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut entity_id: Option<String> = None;
    let mut in_idp = false;
    let mut idp_seen = false;
    let mut redirect: Option<String> = None;
    let mut post: Option<String> = None;
    let mut signing_key = false;
    let mut in_certificate = false;
    let mut certificate = String::new();
    let mut certificates: Vec<String> = Vec::new();

    loop {
        let event = reader
            .read_event()
            .map_err(|_| invalid("is not well-formed XML"))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name().as_ref().to_vec();
                match name.as_slice() {
                    b"EntityDescriptor" if entity_id.is_none() => {
                        entity_id = attribute(e, b"entityID", decoder);
                    }
                    b"IDPSSODescriptor" => {
                        in_idp = !empty;
                        idp_seen = true;
                    }
                    b"SingleSignOnService" if in_idp => {
                        let binding = attribute(e, b"Binding", decoder);
                        let location = attribute(e, b"Location", decoder);
                        match (binding.as_deref(), location) {
                            (Some(REDIRECT_BINDING), Some(l)) if redirect.is_none() => {
                                redirect = Some(l);
                            }
                            (Some(POST_BINDING), Some(l)) if post.is_none() => post = Some(l),
                            _ => {}
                        }
                    }
                    b"KeyDescriptor" if in_idp => {
                        signing_key =
                            !empty && attribute(e, b"use", decoder).is_none_or(|u| u == "signing");
                    }
                    b"X509Certificate" if in_idp && signing_key && !empty => {
                        in_certificate = true;
                        certificate.clear();
                    }
                    _ => {}
                }
                if !empty {
                    if stack.len() >= MAX_DEPTH {
                        return Err(invalid("is nested too deeply"));
                    }
                    stack.push(name);
                }
            }
            Event::Text(t) if in_certificate => {
                let text = t.decode().map_err(|_| invalid("is not valid text"))?;
                certificate.push_str(&text);
            }
            Event::End(e) => {
                match e.local_name().as_ref() {
                    b"IDPSSODescriptor" => in_idp = false,
                    b"KeyDescriptor" => signing_key = false,
                    b"X509Certificate" if in_certificate => {
                        in_certificate = false;
                        let cleaned: String = certificate
                            .chars()
                            .filter(|c| !c.is_ascii_whitespace())
                            .collect();
                        let der = base64::engine::general_purpose::STANDARD
                            .decode(&cleaned)
                            .map_err(|_| invalid("has a certificate that is not base64"))?;
                        if der.first() != Some(&0x30) {
                            return Err(invalid("has a certificate that is not DER"));
                        }
                        if !certificates.contains(&cleaned) && certificates.len() < MAX_CERTIFICATES
                        {
                            certificates.push(cleaned);
                        }
                    }
                    _ => {}
                }
                stack.pop();
            }
            Event::DocType(_) => return Err(invalid("must not have a DOCTYPE")),
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(invalid("is not well-formed XML"));
    }
    if !idp_seen {
        return Err(invalid("has no IDPSSODescriptor"));
    }
    let entity_id = entity_id
        .filter(|e| !e.is_empty())
        .ok_or_else(|| invalid("has no entityID"))?;
    let sso_url = redirect
        .or(post)
        .ok_or_else(|| invalid("has no SingleSignOnService with the Redirect or POST binding"))?;
    if certificates.is_empty() {
        return Err(invalid("has no signing certificate"));
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        signing_certificates: certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER SEQUENCE, enough for the parser's sanity check.
    const CERT: &str = "MIIBAA==";

    fn metadata(extra: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/meta">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>MIIBAQ==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>
      {CERT}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso?a=1&amp;b=2"/>
    {extra}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    #[test]
    fn reads_entity_id_redirect_url_and_signing_certificates() {
        let m = parse_idp_metadata(&metadata("")).unwrap();
        assert_eq!(m.entity_id, "https://idp.example.com/meta");
        assert_eq!(m.sso_url, "https://idp.example.com/sso?a=1&b=2");
        assert_eq!(m.signing_certificates, vec![CERT.to_owned()]);
    }

    #[test]
    fn refuses_what_is_not_usable_metadata() {
        for bad in [
            "",
            "not xml",
            "<a><b></a>",
            "<!DOCTYPE x [<!ENTITY e \"boom\">]><EntityDescriptor entityID=\"x\"/>",
            r#"<EntityDescriptor entityID="x"><SPSSODescriptor/></EntityDescriptor>"#,
            r#"<EntityDescriptor entityID="x"><IDPSSODescriptor><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://x"/></IDPSSODescriptor></EntityDescriptor>"#,
        ] {
            let err = parse_idp_metadata(bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidInput, "{bad}");
        }
        let huge = "x".repeat(MAX_METADATA_BYTES + 1);
        assert!(parse_idp_metadata(&huge).is_err());
        let bad_cert = metadata("").replace(CERT, "!!notbase64!!");
        assert!(parse_idp_metadata(&bad_cert).is_err());
    }
}
