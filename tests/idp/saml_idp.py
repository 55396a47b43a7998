#!/usr/bin/env python3
"""A real SAML 2.0 identity provider (pysaml2) on 127.0.0.1 for the SSO interop tests.

SP-initiated only: an AuthnRequest arrives by the HTTP-Redirect binding at /sso/redirect,
the IdP answers with a plain HTML login form, and a successful login answers with the
HTTP-POST binding's auto-submitting form carrying a signed SAMLResponse (RSA-SHA256,
SHA-256 digests) to the SP's ACS URL. The signing key and certificate are generated fresh
with openssl into a temporary directory at start-up (deleted on exit).

Usage:
  saml_idp.py [--sp-entity-id ID --acs-url URL | --sp-metadata FILE] [--port 0]
              [--sign both|response|assertion] [--accounts accounts.json] [--cert-out FILE]

The SP it serves is given at start (its entity id and ACS URL, or its metadata XML) and/or
registered later (POST /admin/sp: the SP's metadata XML as the body, or the form fields
entity_id and acs_url), as an admin would paste it into a real IdP. Loopback test tool:
that endpoint has no authentication.

When ready it prints ONE line of JSON to stdout and flushes it:
  {"entity_id": ..., "metadata_url": ..., "sso_url": ..., "cert_pem": <path>}
(entity_id == metadata_url). Logs go to stderr. Runs until SIGTERM/SIGINT.
"""

import argparse
import html
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# pysaml2 7.5 imports a cipher mode that newer cryptography releases deprecate: not ours to fix.
warnings.filterwarnings("ignore", message="CFB has been moved")

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORDPROTECTEDTRANSPORT
from saml2.config import IdPConfig
from saml2.md import entity_descriptor_from_string
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

HERE = os.path.dirname(os.path.abspath(__file__))


def log(*args):
    print("saml-idp:", *args, file=sys.stderr, flush=True)


def sp_metadata_xml(entity_id, acs_url):
    """Minimal SP metadata, for when the SP's own is not given (--sp-metadata)."""
    e = html.escape
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{e(entity_id)}">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:NameIDFormat>{NAMEID_FORMAT_PERSISTENT}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{e(acs_url)}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""


LOGIN_PAGE = """<!doctype html>
<html><head><title>Test SAML IdP: sign in</title></head><body>
<h1>Sign in to the test SAML IdP</h1>
<p>{error}</p>
<form method="post" action="/login">
  <input type="hidden" name="ticket" value="{ticket}">
  <label>Username <input name="username" autocomplete="username"></label>
  <label>Password <input type="password" name="password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sp-entity-id", help="with --acs-url: the SP, as minimal SP metadata")
    ap.add_argument("--acs-url", help="the SP's AssertionConsumerService URL (HTTP-POST)")
    ap.add_argument("--sp-metadata", help="the SP's metadata XML file (instead of the two above)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("SAML_IDP_PORT", "0")))
    ap.add_argument("--sign", choices=["both", "response", "assertion"], default="both")
    ap.add_argument("--accounts", default=os.path.join(HERE, "accounts.json"))
    ap.add_argument("--cert-out", help="also copy the signing certificate (PEM) here")
    ap.add_argument("--lifetime-minutes", type=int, default=5)
    args = ap.parse_args()
    if bool(args.sp_entity_id) != bool(args.acs_url):
        ap.error("--sp-entity-id and --acs-url go together")

    with open(args.accounts, encoding="utf-8") as f:
        accounts = {a["username"]: a for a in json.load(f)}

    workdir = tempfile.mkdtemp(prefix="auth-rs-saml-idp-")

    def cleanup(*_):
        shutil.rmtree(workdir, ignore_errors=True)

    key_file = os.path.join(workdir, "idp-key.pem")
    cert_file = os.path.join(workdir, "idp-cert.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-subj", "/CN=auth-rs test SAML IdP", "-keyout", key_file, "-out", cert_file],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    if args.cert_out:
        shutil.copyfile(cert_file, args.cert_out)

    initial_sp = []
    if args.sp_metadata:
        with open(args.sp_metadata, encoding="utf-8") as f:
            initial_sp.append(f.read())
    if args.sp_entity_id:
        initial_sp.append(sp_metadata_xml(args.sp_entity_id, args.acs_url))

    pending = {}  # ticket -> parsed AuthnRequest response args and RelayState (single use)
    lock = threading.RLock()  # pysaml2's Server is not known to be thread-safe: one at a time
    state = {}

    class Handler(BaseHTTPRequestHandler):
        server_version = "auth-rs-test-saml-idp"

        def log_message(self, fmt, *a):
            log(self.command, self.path.split("?")[0], fmt % a)

        def send(self, status, body, ctype="text/html; charset=utf-8"):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/metadata":
                return self.send(200, state["metadata"], "application/samlmetadata+xml")
            if url.path == "/sso/redirect":
                q = parse_qs(url.query)
                msg = q.get("SAMLRequest", [None])[0]
                if not msg:
                    return self.send(400, "missing SAMLRequest\n", "text/plain")
                try:
                    with lock:
                        req = state["idp"].parse_authn_request(msg, BINDING_HTTP_REDIRECT)
                        resp_args = state["idp"].response_args(req.message, [BINDING_HTTP_POST])
                except Exception as e:  # unknown SP, bad ACS, undecodable request: refuse
                    log("refused AuthnRequest:", repr(e))
                    return self.send(400, f"bad AuthnRequest: {html.escape(str(e))}\n", "text/plain")
                ticket = secrets.token_urlsafe(24)
                with lock:
                    pending[ticket] = (resp_args, q.get("RelayState", [""])[0])
                log("AuthnRequest", req.message.id, "from", resp_args["sp_entity_id"])
                return self.send(200, LOGIN_PAGE.format(ticket=ticket, error=""))
            return self.send(404, "not found\n", "text/plain")

        def do_POST(self):
            path = urlparse(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1024 * 1024:
                return self.send(413, "too large\n", "text/plain")
            body = self.rfile.read(length).decode("utf-8")
            if path == "/admin/sp":
                return self.register_sp(body)
            if path != "/login":
                return self.send(404, "not found\n", "text/plain")
            form = parse_qs(body)
            ticket = form.get("ticket", [""])[0]
            user = form.get("username", [""])[0]
            password = form.get("password", [""])[0]
            with lock:
                entry = pending.get(ticket)
            if entry is None:
                return self.send(400, "unknown or used ticket\n", "text/plain")
            account = accounts.get(user)
            if account is None or not secrets.compare_digest(account["password"], password):
                return self.send(401, LOGIN_PAGE.format(ticket=html.escape(ticket), error="Wrong username or password."))
            with lock:
                pending.pop(ticket, None)
            resp_args, relay_state = entry
            identity = {
                "mail": [account["email"]],
                "givenName": [account["given_name"]],
                "sn": [account["family_name"]],
                "displayName": [account["name"]],
                "isMemberOf": account["groups"],
            }
            name_id = NameID(format=NAMEID_FORMAT_PERSISTENT, text=account["sub"])
            idp = state["idp"]
            lock.acquire()
            try:
                http_args = self.respond(idp, identity, name_id, resp_args, relay_state)
            finally:
                lock.release()
            log("signed Response for", user, "to", resp_args["destination"])
            return self.send(200, http_args["data"])

        def respond(self, idp, identity, name_id, resp_args, relay_state):
            response = idp.create_authn_response(
                identity,
                in_response_to=resp_args["in_response_to"],
                destination=resp_args["destination"],
                sp_entity_id=resp_args["sp_entity_id"],
                name_id=name_id,
                authn={"class_ref": PASSWORDPROTECTEDTRANSPORT, "authn_auth": state["entity_id"]},
                sign_response=args.sign in ("both", "response"),
                sign_assertion=args.sign in ("both", "assertion"),
                sign_alg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256,
            )
            return idp.apply_binding(
                BINDING_HTTP_POST, str(response), resp_args["destination"], relay_state, response=True
            )

        def register_sp(self, body):
            if (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
                form = parse_qs(body)
                entity_id = form.get("entity_id", [""])[0]
                acs_url = form.get("acs_url", [""])[0]
                if not entity_id or not acs_url:
                    return self.send(400, "entity_id and acs_url are required\n", "text/plain")
                body = sp_metadata_xml(entity_id, acs_url)
            try:
                descriptor = entity_descriptor_from_string(body)
            except Exception:  # not XML
                descriptor = None
            if descriptor is None or not descriptor.entity_id or not descriptor.spsso_descriptor:
                return self.send(400, "not SP metadata (an md:EntityDescriptor with an SPSSODescriptor)\n", "text/plain")
            try:
                with lock:
                    state["idp"].metadata.load("inline", body)
            except Exception as e:
                return self.send(400, f"bad SP metadata: {e}\n", "text/plain")
            log("registered SP", descriptor.entity_id)
            return self.send(204, "")

    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    port = httpd.server_address[1]
    base = f"http://{args.host}:{port}"
    entity_id = f"{base}/metadata"
    conf = {
        "entityid": entity_id,
        "service": {
            "idp": {
                "name": "auth-rs test SAML IdP",
                "endpoints": {"single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": False,
                "policy": {
                    "default": {
                        "lifetime": {"minutes": args.lifetime_minutes},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    }
                },
            }
        },
        "key_file": key_file,
        "cert_file": cert_file,
        "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
        "metadata": {"inline": initial_sp},
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
    }
    config = IdPConfig()
    config.load(conf)
    state["idp"] = Server(config=config)
    state["entity_id"] = entity_id
    state["metadata"] = create_metadata_string(None, config=config, valid=48).decode("utf-8")

    def stop(*_):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"entity_id": entity_id, "metadata_url": entity_id, "sso_url": f"{base}/sso/redirect",
                      "cert_pem": args.cert_out or cert_file}), flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        cleanup()


if __name__ == "__main__":
    main()
