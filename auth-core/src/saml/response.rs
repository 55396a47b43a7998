//! The response posted to the ACS: decoding with limits, a first look at its envelope
//! (before any signature is checked, only to find the request it claims to answer and a
//! failure status), and the checks made again on the verified assertion with the
//! injected clock, then the attribute mapping.

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use samael::schema::Assertion;
use time::{Duration, OffsetDateTime};

use super::errors::{invalid, refuse};
use super::request::chrono_of;
use crate::error::{AuthError, SamlRefusal};
use crate::sso::metadata::attribute;
use crate::sso::{AttributeMapping, ExternalIdentity, SamlConnection};

/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;
/// Longest identity field taken from attributes (bytes), and most groups.
const MAX_VALUE: usize = 1024;
const MAX_GROUPS: usize = 1000;
/// Longest ID (request or assertion) accepted.
const MAX_ID: usize = 256;
/// How long after its issue instant a response is accepted (samael's own limit, 90 s).
pub(super) const MAX_ISSUE_AGE: Duration = Duration::seconds(90);

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// Decodes the posted `SAMLResponse` (base64, line breaks tolerated) into XML text, at
/// most `max_bytes` of input. `SAML_RESPONSE_INVALID` otherwise.
pub(super) fn decode(encoded: &str, max_bytes: usize) -> Result<String, AuthError> {
    if encoded.len() > max_bytes {
        return Err(invalid("too large"));
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| invalid("not base64"))?;
    String::from_utf8(bytes).map_err(|_| invalid("not UTF-8"))
}

/// What the response's envelope claims, read before its signature is checked: used only
/// to find the request it answers and to report a failure status (a refusal either way).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Envelope {
    /// The Response's `InResponseTo`.
    pub in_response_to: Option<String>,
    /// The top-level StatusCode's `Value`.
    pub status: Option<String>,
}

impl Envelope {
    /// Whether the IdP reported success (an absent status counts as success; samael
    /// checks it again on the signed response).
    pub fn succeeded(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == SUCCESS)
    }
}

/// Reads the envelope of a response: well-formed XML, no DOCTYPE, at most
/// [`MAX_DEPTH`] levels, a `Response` root (`SAML_RESPONSE_INVALID` otherwise), at most
/// one `Assertion` or `EncryptedAssertion` element anywhere (`SAML_SIGNATURE_INVALID`
/// otherwise: signature wrapping).
pub(super) fn envelope(xml: &str) -> Result<Envelope, AuthError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let decoder = reader.decoder();
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut in_status = false;
    let mut assertions = 0usize;
    let mut envelope = Envelope::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|_| invalid("not well-formed XML"))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name();
                if matches!(name.as_ref(), b"Assertion" | b"EncryptedAssertion") {
                    // An IdP sends one assertion; a second one anywhere is a wrapping
                    // attempt (a forged assertion beside or around the signed one).
                    assertions += 1;
                    if assertions > 1 {
                        return Err(refuse(SamlRefusal::SignatureInvalid));
                    }
                }
                match (depth, name.as_ref()) {
                    (0, b"Response") if !root_seen => {
                        root_seen = true;
                        envelope.in_response_to = attribute(e, b"InResponseTo", decoder);
                    }
                    (0, _) => return Err(invalid("not a SAML Response")),
                    (1, b"Status") => in_status = !empty,
                    (2, b"StatusCode") if in_status && envelope.status.is_none() => {
                        envelope.status = attribute(e, b"Value", decoder);
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(invalid("nested too deeply"));
                    }
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_status = false;
                }
            }
            Event::DocType(_) => return Err(invalid("a DOCTYPE is not allowed")),
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen || depth != 0 {
        return Err(invalid("not a SAML Response"));
    }
    if let Some(id) = &envelope.in_response_to
        && (id.is_empty() || id.len() > MAX_ID)
    {
        return Err(refuse(SamlRefusal::RequestUnknown));
    }
    Ok(envelope)
}

/// The checks made again on the verified assertion with the injected clock `now` (samael
/// reads the system clock itself), plus what samael leaves out: an AudienceRestriction is
/// required and every one must name this service provider, and the bearer confirmation
/// must answer exactly `in_response_to` (`None`: unsolicited). Returns until when the
/// assertion could be accepted (how long its id must be remembered against replay).
pub(super) fn check_assertion(
    assertion: &Assertion,
    config: &SamlConnection,
    in_response_to: Option<&str>,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<OffsetDateTime, AuthError> {
    if assertion.id.is_empty() || assertion.id.len() > MAX_ID {
        return Err(invalid("no usable assertion ID"));
    }
    let early = chrono_of(now - skew);
    let late = chrono_of(now + skew);
    let expired = || refuse(SamlRefusal::Expired);
    let issued = assertion.issue_instant;
    if issued > late || issued + chrono::Duration::seconds(MAX_ISSUE_AGE.whole_seconds()) < early {
        return Err(expired());
    }
    let mut until = issued + chrono::Duration::seconds(MAX_ISSUE_AGE.whole_seconds());

    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or(refuse(SamlRefusal::AudienceMismatch))?;
    if conditions.not_before.is_some_and(|t| t > late) {
        return Err(expired());
    }
    if let Some(t) = conditions.not_on_or_after {
        if t <= early {
            return Err(expired());
        }
        until = until.max(t);
    }
    let restrictions = conditions.audience_restrictions.as_deref().unwrap_or(&[]);
    if restrictions.is_empty()
        || !restrictions
            .iter()
            .all(|r| r.audience.contains(&config.sp_entity_id))
    {
        return Err(refuse(SamlRefusal::AudienceMismatch));
    }

    let confirmations = assertion
        .subject
        .as_ref()
        .and_then(|s| s.subject_confirmations.as_deref())
        .unwrap_or(&[]);
    let mut refusal = SamlRefusal::ResponseInvalid("no bearer subject confirmation");
    for data in confirmations
        .iter()
        .filter(|c| c.method.as_deref() == Some(BEARER))
        .filter_map(|c| c.subject_confirmation_data.as_ref())
    {
        if data.recipient.as_deref() != Some(config.acs_url.as_str()) {
            refusal = SamlRefusal::DestinationMismatch;
            continue;
        }
        let fresh = data.not_before.is_none_or(|t| t <= late)
            && data.not_on_or_after.is_some_and(|t| t > early);
        if !fresh {
            refusal = SamlRefusal::Expired;
            continue;
        }
        if data.in_response_to.as_deref() != in_response_to {
            refusal = SamlRefusal::RequestUnknown;
            continue;
        }
        until = until.max(data.not_on_or_after.unwrap_or(until));
        let until = OffsetDateTime::from_unix_timestamp(until.timestamp())
            .map_err(|_| invalid("time out of range"))?;
        return Ok(until + skew);
    }
    Err(refuse(refusal))
}

/// The values of the attribute named `name` (by `Name` or `FriendlyName`).
fn values<'a>(assertion: &'a Assertion, name: &str) -> impl Iterator<Item = &'a str> {
    let name = name.to_owned();
    assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
        .filter(move |a| {
            a.name.as_deref() == Some(&name) || a.friendly_name.as_deref() == Some(&name)
        })
        .flat_map(|a| a.values.iter())
        .filter_map(|v| v.value.as_deref())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn single(assertion: &Assertion, name: Option<&str>) -> Result<Option<String>, AuthError> {
    let Some(name) = name else { return Ok(None) };
    match values(assertion, name).next() {
        Some(v) if v.len() > MAX_VALUE => Err(invalid("an attribute is too long")),
        Some(v) => Ok(Some(v.to_owned())),
        None => Ok(None),
    }
}

/// The identity the verified assertion names, by the connection's attribute mapping:
/// subject = the NameID unless an attribute is mapped, groups multi-valued.
/// `email_verified` is left false: the caller decides it from the connection's domains.
pub(super) fn identity(
    assertion: &Assertion,
    mapping: &AttributeMapping,
) -> Result<ExternalIdentity, AuthError> {
    let subject = match &mapping.subject {
        Some(attribute) => single(assertion, Some(attribute))?,
        None => assertion
            .subject
            .as_ref()
            .and_then(|s| s.name_id.as_ref())
            .map(|n| n.value.trim().to_owned())
            .filter(|v| !v.is_empty()),
    }
    .ok_or(invalid("no subject"))?;
    if subject.len() > MAX_VALUE {
        return Err(invalid("the subject is too long"));
    }
    let mut identity = ExternalIdentity::new(subject);
    identity.email = single(assertion, Some(&mapping.email))?;
    identity.name = single(assertion, mapping.name.as_deref())?;
    identity.given_name = single(assertion, mapping.given_name.as_deref())?;
    identity.family_name = single(assertion, mapping.family_name.as_deref())?;
    if let Some(name) = &mapping.groups {
        let groups: Vec<String> = values(assertion, name).map(str::to_owned).collect();
        if groups.len() > MAX_GROUPS || groups.iter().any(|g| g.len() > MAX_VALUE) {
            return Err(invalid("too many or too long groups"));
        }
        identity.groups = groups;
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP: &str = "https://app.example.com/sp";
    const ACS: &str = "https://app.example.com/acs";

    fn config() -> SamlConnection {
        SamlConnection {
            idp_metadata_xml: String::new(),
            idp_entity_id: "https://idp.example.com".into(),
            sso_url: "https://idp.example.com/sso".into(),
            signing_certificates: vec![],
            sp_entity_id: SP.into(),
            acs_url: ACS.into(),
            attributes: AttributeMapping::default(),
            sign_authn_requests: false,
            allow_idp_initiated: false,
        }
    }

    /// 2027-01-15T08:00:00Z, the assertion's issue instant.
    fn issued() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    /// An (unsigned) assertion issued at 08:00:00, valid until 08:05:00, answering `_req`.
    fn assertion(audience: &str, recipient: &str, in_response_to: Option<&str>) -> Assertion {
        let irt = in_response_to
            .map(|id| format!(r#" InResponseTo="{id}""#))
            .unwrap_or_default();
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" IssueInstant="2027-01-15T08:00:00Z" Version="2.0">
  <saml:Issuer>https://idp.example.com</saml:Issuer>
  <saml:Subject>
    <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">u-alice</saml:NameID>
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
      <saml:SubjectConfirmationData NotOnOrAfter="2027-01-15T08:05:00Z" Recipient="{recipient}"{irt}/>
    </saml:SubjectConfirmation>
  </saml:Subject>
  <saml:Conditions NotBefore="2027-01-15T08:00:00Z" NotOnOrAfter="2027-01-15T08:05:00Z">
    <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>
  </saml:Conditions>
  <saml:AttributeStatement>
    <saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"><saml:AttributeValue>alice@example.com</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="name"><saml:AttributeValue>Alice Anders</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="isMemberOf"><saml:AttributeValue>engineering</saml:AttributeValue><saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="uid"><saml:AttributeValue>alice</saml:AttributeValue></saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion>"#
        )
        .parse()
        .unwrap()
    }

    fn check(
        a: &Assertion,
        irt: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, AuthError> {
        check_assertion(a, &config(), irt, now, Duration::seconds(60))
    }

    fn code(r: Result<OffsetDateTime, AuthError>) -> crate::ErrorCode {
        r.unwrap_err().code()
    }

    #[test]
    fn times_are_checked_on_the_injected_clock_with_skew() {
        use crate::ErrorCode::SamlExpired;
        let a = assertion(SP, ACS, Some("_req"));
        // Fresh: remembered until the latest NotOnOrAfter plus the skew.
        let until = check(&a, Some("_req"), issued() + Duration::seconds(10)).unwrap();
        assert_eq!(
            until,
            issued() + Duration::minutes(5) + Duration::seconds(60)
        );
        // Issued in the future beyond the skew.
        assert_eq!(
            code(check(&a, Some("_req"), issued() - Duration::seconds(61))),
            SamlExpired
        );
        check(&a, Some("_req"), issued() - Duration::seconds(59)).unwrap();
        // Issued too long ago (90 s + skew), although the conditions still hold.
        check(&a, Some("_req"), issued() + Duration::seconds(149)).unwrap();
        assert_eq!(
            code(check(&a, Some("_req"), issued() + Duration::seconds(151))),
            SamlExpired
        );
        // Past NotOnOrAfter (+ skew).
        assert_eq!(
            code(check(&a, Some("_req"), issued() + Duration::minutes(7))),
            SamlExpired
        );
    }

    #[test]
    fn audience_recipient_and_request_are_checked() {
        let now = issued() + Duration::seconds(5);
        let other = assertion("https://other.example.com/sp", ACS, Some("_req"));
        assert_eq!(
            code(check(&other, Some("_req"), now)),
            crate::ErrorCode::SamlAudienceMismatch
        );
        let elsewhere = assertion(SP, "https://evil.example.com/acs", Some("_req"));
        assert_eq!(
            code(check(&elsewhere, Some("_req"), now)),
            crate::ErrorCode::SamlDestinationMismatch
        );
        let a = assertion(SP, ACS, Some("_req"));
        assert_eq!(
            code(check(&a, Some("_other"), now)),
            crate::ErrorCode::SamlRequestUnknown
        );
        assert_eq!(
            code(check(&a, None, now)),
            crate::ErrorCode::SamlRequestUnknown
        );
        let unsolicited = assertion(SP, ACS, None);
        check(&unsolicited, None, now).unwrap();
        assert_eq!(
            code(check(&unsolicited, Some("_req"), now)),
            crate::ErrorCode::SamlRequestUnknown
        );
    }

    #[test]
    fn attributes_are_mapped_by_name_or_friendly_name() {
        let a = assertion(SP, ACS, None);
        let mapping = AttributeMapping {
            email: "mail".into(),
            groups: Some("isMemberOf".into()),
            ..AttributeMapping::default()
        };
        let id = identity(&a, &mapping).unwrap();
        assert_eq!(id.subject, "u-alice");
        assert_eq!(id.email.as_deref(), Some("alice@example.com"));
        assert_eq!(id.name.as_deref(), Some("Alice Anders"));
        assert_eq!(id.given_name, None);
        assert_eq!(
            id.groups,
            vec!["engineering".to_owned(), "admins".to_owned()]
        );
        assert!(!id.email_verified);
        let by_uid = AttributeMapping {
            subject: Some("uid".into()),
            ..AttributeMapping::default()
        };
        let id = identity(&a, &by_uid).unwrap();
        assert_eq!(id.subject, "alice");
        assert_eq!(id.email, None);
        let missing = AttributeMapping {
            subject: Some("employeeNumber".into()),
            ..AttributeMapping::default()
        };
        assert_eq!(
            identity(&a, &missing).unwrap_err().code(),
            crate::ErrorCode::SamlResponseInvalid
        );
    }

    #[test]
    fn decoding_is_limited() {
        use base64::engine::general_purpose::STANDARD;
        let xml = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>";
        let encoded = STANDARD.encode(xml);
        let wrapped = format!("{}\r\n{}", &encoded[..10], &encoded[10..]);
        assert_eq!(decode(&wrapped, 1000).unwrap(), xml);
        assert!(decode(&encoded, 10).is_err());
        assert!(decode("%%%", 1000).is_err());
        assert!(decode(&STANDARD.encode([0xff, 0xfe]), 1000).is_err());
    }

    #[test]
    fn the_envelope_is_read_before_the_signature() {
        let ok = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" InResponseTo="_req"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:Response>"#;
        let e = envelope(ok).unwrap();
        assert_eq!(e.in_response_to.as_deref(), Some("_req"));
        assert!(e.succeeded());
        let failed = ok.replace("status:Success", "status:Requester");
        assert!(!envelope(&failed).unwrap().succeeded());
        let unsolicited = ok.replace(r#" InResponseTo="_req""#, "");
        assert_eq!(envelope(&unsolicited).unwrap().in_response_to, None);
        for bad in [
            "",
            "not xml",
            "<samlp:Response><a></samlp:Response>",
            "<!DOCTYPE r [<!ENTITY e \"x\">]><Response/>",
            "<Assertion/>",
            "<Response/><Response/>",
        ] {
            assert_eq!(
                envelope(bad).unwrap_err().code(),
                crate::ErrorCode::SamlResponseInvalid,
                "{bad}"
            );
        }
        // Two assertions (a forged one beside or around the signed one): wrapping.
        let wrapped = ok.replace(
            "</samlp:Response>",
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/><x><saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/></x></samlp:Response>",
        );
        assert_eq!(
            envelope(&wrapped).unwrap_err().code(),
            crate::ErrorCode::SamlSignatureInvalid
        );
        let deep = format!(
            "<Response>{}{}</Response>",
            "<a>".repeat(70),
            "</a>".repeat(70)
        );
        assert!(envelope(&deep).is_err());
    }
}
