//! A software WebAuthn authenticator for the suite: P-256 ECDSA (ES256) keys, "none"
//! attestation, a signature counter, resident credentials with their user handle. It
//! speaks the JSON a browser hands to the server (base64url binary fields), built here
//! byte by byte from the WebAuthn specification (authenticator data, COSE key, CBOR
//! attestation object, client data, signature over `authData || SHA-256(clientData)`),
//! so the library is tested against an independent implementation, not webauthn-rs'
//! own helpers. Knobs ([`Tweak`]) make the faulty responses the refusals are tested with.

use std::collections::BTreeMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The relying party id the suite configures.
pub const RP_ID: &str = "localhost";
/// The origin the suite configures.
pub const ORIGIN: &str = "http://localhost:3000";

/// The suite's passkey configuration.
pub fn config() -> crate::PasskeyConfig {
    crate::PasskeyConfig::new(RP_ID, "Conformance", [ORIGIN, "https://localhost:8443"])
}

/// One credential the authenticator holds.
#[derive(Clone)]
pub struct SoftCredential {
    /// The credential id.
    pub id: Vec<u8>,
    key: SigningKey,
    /// The user handle it was registered with.
    pub user_handle: Vec<u8>,
    /// The signature counter (incremented before each assertion).
    pub counter: u32,
}

/// How to make a response faulty (or a particular one).
#[derive(Clone, Default)]
pub struct Tweak {
    /// Sign for this origin instead of [`ORIGIN`].
    pub origin: Option<String>,
    /// Hash this rp id into the authenticator data instead of [`RP_ID`].
    pub rp_id: Option<String>,
    /// Use this counter instead of the next one (assertions).
    pub counter: Option<u32>,
    /// Send this user handle (`Some(None)`: none) instead of the credential's (assertions).
    pub user_handle: Option<Option<Vec<u8>>>,
    /// Change the client data after signing.
    pub tamper_client_data: bool,
    /// Register (or assert with) this existing credential instead of a new one (or the
    /// one the options allow).
    pub credential: Option<Vec<u8>>,
    /// Leave the user-verified flag off.
    pub no_user_verification: bool,
}

/// The authenticator.
#[derive(Default)]
pub struct SoftAuthenticator {
    credentials: Mutex<Vec<SoftCredential>>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url")
}

fn challenge(options: &Value) -> String {
    options["publicKey"]["challenge"]
        .as_str()
        .expect("options carry a challenge")
        .to_owned()
}

fn client_data(kind: &str, challenge: &str, origin: &str, tamper: bool) -> (Vec<u8>, Vec<u8>) {
    let signed = serde_json::to_vec(&json!({
        "type": kind,
        "challenge": challenge,
        "origin": origin,
        "crossOrigin": false,
    }))
    .unwrap();
    let sent = if tamper {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": false,
            "tampered": true,
        }))
        .unwrap()
    } else {
        signed.clone()
    };
    (signed, sent)
}

fn flags(attested: bool, uv: bool) -> u8 {
    let mut flags = 0x01; // user present
    if uv {
        flags |= 0x04;
    }
    if attested {
        flags |= 0x40;
    }
    flags
}

fn cose_key(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    assert_eq!(bytes.len(), 65);
    let mut map = BTreeMap::new();
    map.insert(Cbor::Integer(1), Cbor::Integer(2)); // kty: EC2
    map.insert(Cbor::Integer(3), Cbor::Integer(-7)); // alg: ES256
    map.insert(Cbor::Integer(-1), Cbor::Integer(1)); // crv: P-256
    map.insert(Cbor::Integer(-2), Cbor::Bytes(bytes[1..33].to_vec()));
    map.insert(Cbor::Integer(-3), Cbor::Bytes(bytes[33..65].to_vec()));
    serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap()
}

fn new_key() -> SigningKey {
    loop {
        let seed: [u8; 32] = rand::random();
        if let Ok(key) = SigningKey::from_slice(&seed) {
            return key;
        }
    }
}

impl SoftAuthenticator {
    /// An authenticator holding no credential.
    pub fn new() -> Self {
        Self::default()
    }

    /// The credentials it holds, oldest first.
    pub fn credentials(&self) -> Vec<SoftCredential> {
        self.credentials.lock().unwrap().clone()
    }

    /// The response of `navigator.credentials.create(options)`.
    pub fn register(&self, options: &Value) -> Value {
        self.register_with(options, Tweak::default())
    }

    /// [`Self::register`], made faulty by `tweak`.
    pub fn register_with(&self, options: &Value, tweak: Tweak) -> Value {
        let user_handle = unb64(
            options["publicKey"]["user"]["id"]
                .as_str()
                .expect("options name the user"),
        );
        let credential = match &tweak.credential {
            Some(id) => {
                let mut held = self
                    .credentials()
                    .into_iter()
                    .find(|c| &c.id == id)
                    .expect("a held credential");
                held.user_handle = user_handle;
                held
            }
            None => {
                let mut id = vec![0u8; 32];
                id.iter_mut().for_each(|b| *b = rand::random());
                let credential = SoftCredential {
                    id,
                    key: new_key(),
                    user_handle,
                    counter: 0,
                };
                self.credentials.lock().unwrap().push(credential.clone());
                credential
            }
        };
        let rp_id = tweak.rp_id.as_deref().unwrap_or(RP_ID);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(flags(true, !tweak.no_user_verification));
        auth_data.extend_from_slice(&credential.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(credential.id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&credential.id);
        auth_data.extend_from_slice(&cose_key(&credential.key));
        let mut attestation = BTreeMap::new();
        attestation.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
        attestation.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
        attestation.insert(Cbor::Text("authData".into()), Cbor::Bytes(auth_data));
        let attestation = serde_cbor_2::to_vec(&Cbor::Map(attestation)).unwrap();
        let origin = tweak.origin.as_deref().unwrap_or(ORIGIN);
        let (_, sent) = client_data(
            "webauthn.create",
            &challenge(options),
            origin,
            tweak.tamper_client_data,
        );
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&sent),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// The response of `navigator.credentials.get(options)`: with the credential the
    /// options allow, else (discoverable) the newest one held.
    pub fn assert(&self, options: &Value) -> Value {
        self.assert_with(options, Tweak::default())
    }

    /// [`Self::assert`], made faulty by `tweak`.
    pub fn assert_with(&self, options: &Value, tweak: Tweak) -> Value {
        let allowed: Vec<Vec<u8>> = options["publicKey"]["allowCredentials"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|c| c["id"].as_str())
                    .map(unb64)
                    .collect()
            })
            .unwrap_or_default();
        let mut held = self.credentials.lock().unwrap();
        let credential = match &tweak.credential {
            Some(id) => held.iter_mut().find(|c| &c.id == id),
            None if allowed.is_empty() => held.last_mut(),
            None => held.iter_mut().rev().find(|c| allowed.contains(&c.id)),
        }
        .expect("the authenticator holds a usable credential");
        let counter = match tweak.counter {
            Some(counter) => counter,
            None => {
                credential.counter += 1;
                credential.counter
            }
        };
        let rp_id = tweak.rp_id.as_deref().unwrap_or(RP_ID);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(flags(false, !tweak.no_user_verification));
        auth_data.extend_from_slice(&counter.to_be_bytes());
        let origin = tweak.origin.as_deref().unwrap_or(ORIGIN);
        let (signed, sent) = client_data(
            "webauthn.get",
            &challenge(options),
            origin,
            tweak.tamper_client_data,
        );
        let mut message = auth_data.clone();
        message.extend_from_slice(&Sha256::digest(&signed));
        let signature: Signature = credential.key.sign(&message);
        let user_handle = match tweak.user_handle {
            Some(handle) => handle,
            None => Some(credential.user_handle.clone()),
        };
        let mut response = json!({
            "authenticatorData": b64(&auth_data),
            "clientDataJSON": b64(&sent),
            "signature": b64(signature.to_der().as_bytes()),
        });
        if let Some(handle) = user_handle {
            response["userHandle"] = json!(b64(&handle));
        }
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": response,
            "extensions": {},
        })
    }
}
