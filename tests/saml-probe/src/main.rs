//! Build probe for samael (with xmlsec) as a SAML 2.0 service provider, against a real IdP.
//!
//! ```text
//! saml-probe <idp-metadata.xml> <drive-saml-output.json> <request-id> <sp-entity-id> <acs-url>
//! ```
//!
//! `<idp-metadata.xml>` is the metadata of the test IdP (`tests/idp/saml_idp.py`, served at
//! its `/metadata`); `<drive-saml-output.json>` is what `tests/idp/drive-saml.mjs` printed
//! (`{"acs_url", "SAMLResponse", "RelayState"}`) for an AuthnRequest with `<request-id>`.
//! samael refuses responses issued more than 90 s ago: run it right after the driver.
//!
//! It accepts the real response (printing the subject and the attributes) and expects
//! samael to refuse: the same response with one attribute value changed, with its
//! signatures removed, presented to an SP with another entity id (audience), and answered
//! to another request id. Exit status 0 when every expectation holds, 1 otherwise.
//! `SAML_PROBE_MAX_CLOCK_SKEW` (seconds, default samael's 180) sets the SP's clock skew.

use std::error::Error;
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::EntityDescriptor;
use samael::schema::Assertion;
use samael::service_provider::{ServiceProvider, ServiceProviderBuilder};

type Res<T> = Result<T, Box<dyn Error>>;

/// The command line, in order.
struct Args {
    metadata: String,
    response_json: String,
    request_id: String,
    sp_entity_id: String,
    acs_url: String,
}

fn args() -> Res<Args> {
    let mut it = std::env::args().skip(1);
    let mut next = |what: &str| {
        it.next().ok_or_else(|| {
            format!("missing {what}; usage: saml-probe <idp-metadata.xml> <drive-saml-output.json> <request-id> <sp-entity-id> <acs-url>")
        })
    };
    Ok(Args {
        metadata: next("idp-metadata.xml")?,
        response_json: next("drive-saml-output.json")?,
        request_id: next("request-id")?,
        sp_entity_id: next("sp-entity-id")?,
        acs_url: next("acs-url")?,
    })
}

fn service_provider(
    idp: &EntityDescriptor,
    entity_id: &str,
    acs_url: &str,
) -> Res<ServiceProvider> {
    // samael's default tolerance is 180 s; SAML_PROBE_MAX_CLOCK_SKEW (seconds) changes it.
    let skew = match std::env::var("SAML_PROBE_MAX_CLOCK_SKEW") {
        Ok(s) => s.parse::<i64>()?,
        Err(_) => 180,
    };
    Ok(ServiceProviderBuilder::default()
        .max_clock_skew(chrono::Duration::seconds(skew))
        .entity_id(entity_id.to_string())
        .acs_url(acs_url.to_string())
        .idp_metadata(idp.clone())
        .allow_idp_initiated(false)
        .allowed_signature_algorithms(vec![AllowedSignatureAlgorithm::RsaSha256])
        .build()?)
}

fn print_assertion(assertion: &Assertion) {
    let subject = assertion
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .map(|n| {
            format!(
                "{} ({})",
                n.value,
                n.format.as_deref().unwrap_or("no format")
            )
        })
        .unwrap_or_else(|| "(none)".to_string());
    println!(
        "saml-probe: assertion {} from {}",
        assertion.id,
        assertion.issuer.value.as_deref().unwrap_or("?")
    );
    println!("saml-probe: subject {subject}");
    for statement in assertion.attribute_statements.iter().flatten() {
        for attribute in &statement.attributes {
            let values: Vec<&str> = attribute
                .values
                .iter()
                .filter_map(|v| v.value.as_deref())
                .collect();
            println!(
                "saml-probe: attribute {} ({}) = {:?}",
                attribute.friendly_name.as_deref().unwrap_or("-"),
                attribute.name.as_deref().unwrap_or("-"),
                values
            );
        }
    }
}

/// Removes every `<prefix:Signature ...>...</prefix:Signature>` element (xmldsig namespace
/// declared with any prefix): an unsigned copy of the response.
fn strip_signatures(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = find_signature_start(rest) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        // The element's prefix, e.g. "ns2" in "<ns2:Signature".
        let prefix: String = from.chars().skip(1).take_while(|c| *c != ':').collect();
        let close = format!("</{prefix}:Signature>");
        match from.find(&close) {
            Some(end) => rest = from.get(end + close.len()..).unwrap_or(""),
            None => {
                rest = from;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn find_signature_start(xml: &str) -> Option<usize> {
    let mut offset = 0;
    while let Some(i) = xml.get(offset..)?.find(":Signature") {
        let at = offset + i;
        // Walk back to the '<' of this tag name (prefix made of name characters only).
        let head = xml.get(..at)?;
        let lt = head.rfind('<')?;
        let prefix = head.get(lt + 1..)?;
        let after = xml.get(at + ":Signature".len()..)?;
        if !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && after.starts_with([' ', '>'])
        {
            return Some(lt);
        }
        offset = at + 1;
    }
    None
}

fn expect_refused(what: &str, result: Result<Assertion, Box<dyn Error>>, failures: &mut u32) {
    match result {
        Ok(assertion) => {
            *failures += 1;
            println!("FAIL {what}: accepted (assertion {})", assertion.id);
        }
        Err(err) => println!("ok   {what}: refused ({err})"),
    }
}

fn run() -> Res<u32> {
    let args = args()?;
    let metadata_xml = std::fs::read_to_string(&args.metadata)?;
    let idp: EntityDescriptor = metadata_xml.parse()?;
    let drive: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&args.response_json)?)?;
    let encoded = drive
        .get("SAMLResponse")
        .and_then(|v| v.as_str())
        .ok_or("no SAMLResponse in the driver's output")?;

    let sp = service_provider(&idp, &args.sp_entity_id, &args.acs_url)?;
    let certs = sp.idp_signing_certs()?.map(|c| c.len()).unwrap_or(0);
    println!(
        "saml-probe: IdP {} with {certs} signing certificate(s)",
        idp.entity_id.as_deref().unwrap_or("?")
    );
    if certs == 0 {
        // samael skips signature verification when the metadata has no signing key.
        return Err(
            "the IdP metadata has no signing certificate: samael would not verify signatures"
                .into(),
        );
    }
    let ids = [args.request_id.as_str()];
    let mut failures = 0;

    match sp.parse_base64_response(encoded, Some(&ids)) {
        Ok(assertion) => {
            println!("ok   the real response is accepted");
            print_assertion(&assertion);
        }
        Err(err) => {
            failures += 1;
            println!("FAIL the real response is refused: {err}");
        }
    }

    let xml = String::from_utf8(STANDARD.decode(encoded)?)?;

    // One attribute value changed (the email address in the signed assertion).
    let email_value = ">alice@example.com</";
    let tampered = if xml.contains(email_value) {
        xml.replacen(email_value, ">mallory@example.com</", 1)
    } else {
        // Another account: change the first AttributeValue's text, whatever it is.
        let start = xml
            .find("AttributeValue")
            .ok_or("no AttributeValue to tamper with")?;
        let gt = start
            + xml
                .get(start..)
                .and_then(|s| s.find('>'))
                .ok_or("malformed AttributeValue")?;
        let mut t = xml.clone();
        t.insert(gt + 1, 'X');
        t
    };
    expect_refused(
        "tampered (one attribute value changed)",
        sp.parse_base64_response(&STANDARD.encode(&tampered), Some(&ids)),
        &mut failures,
    );

    let unsigned = strip_signatures(&xml);
    if unsigned.contains("Signature>") {
        return Err("could not strip the signatures".into());
    }
    expect_refused(
        "unsigned (signatures removed)",
        sp.parse_base64_response(&STANDARD.encode(&unsigned), Some(&ids)),
        &mut failures,
    );

    let other = service_provider(&idp, "https://other-sp.example/metadata", &args.acs_url)?;
    expect_refused(
        "replayed to another SP (wrong audience)",
        other.parse_base64_response(encoded, Some(&ids)),
        &mut failures,
    );

    expect_refused(
        "answer to another request id (InResponseTo)",
        sp.parse_base64_response(encoded, Some(&["_another-request-id"])),
        &mut failures,
    );

    Ok(failures)
}

fn main() -> ExitCode {
    match run() {
        Ok(0) => {
            println!("saml-probe: all checks passed");
            ExitCode::SUCCESS
        }
        Ok(n) => {
            println!("saml-probe: {n} check(s) failed");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("saml-probe: {err}");
            ExitCode::FAILURE
        }
    }
}
