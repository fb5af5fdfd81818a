"""A software WebAuthn authenticator and browser, for tests without Chromium: it answers the
provider's options as ``navigator.credentials.create``/``get`` would (a "none" attestation, an
ES256 key), and can be told to lie (another site, no user verification, an old counter) so the
tests see the provider refuse. The provider itself never uses this: it verifies with py_webauthn.
``Enrolled`` adds one through the real forms.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from idp.security import totp

from .factories import PASSWORD
from .flows import csrf_of

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One credential on one (pretend) device; ``origin`` is the page the browser was on."""

    def __init__(self, origin: str, *, backup_eligible: bool = False, counter: bool = True):
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(16)
        self.backup_eligible = backup_eligible
        self.counter = counter
        self.sign_count = 0
        self.user_handle = ""
        self.rp_id = ""

    @property
    def id(self) -> str:
        return b64u(self.credential_id)

    def _flags(self, uv: bool, attested: bool = False) -> int:
        flags = UP | (UV if uv else 0) | (AT if attested else 0)
        if self.backup_eligible:
            flags |= BE | BS
        return flags

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def create(self, options_json: str, *, origin: str | None = None, rp_id: str | None = None, uv: bool = True) -> str:
        """The answer to ``navigator.credentials.create(options)``."""
        options = json.loads(options_json)
        self.rp_id = rp_id or options["rp"]["id"]
        self.user_handle = options["user"]["id"]
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = (hashlib.sha256(self.rp_id.encode()).digest() + bytes([self._flags(uv, attested=True)])
                     + struct.pack(">I", self.sign_count) + attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": self.id, "rawId": self.id, "type": "public-key", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64u(client_data), "attestationObject": b64u(attestation),
                         "transports": ["internal"]},
        })

    def get(self, options_json: str, *, origin: str | None = None, rp_id: str | None = None, uv: bool = True,
            sign_count: int | None = None) -> str:
        """The answer to ``navigator.credentials.get(options)``: signed over the authenticator data
        and the client data's hash, with the counter one up (or ``sign_count``)."""
        options = json.loads(options_json)
        if self.counter:
            self.sign_count += 1
        count = self.sign_count if sign_count is None else sign_count
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (hashlib.sha256((rp_id or options.get("rpId") or self.rp_id).encode()).digest()
                     + bytes([self._flags(uv)]) + struct.pack(">I", count))
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": self.id, "rawId": self.id, "type": "public-key", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64u(client_data), "authenticatorData": b64u(auth_data),
                         "signature": b64u(signature), "userHandle": self.user_handle},
        })


#: The test provider's origin (tests/conftest.py: the issuer http://localhost).
ORIGIN = "http://localhost"
OPTIONS = re.compile(r'data-options="([^"]*)"')


def options_of(page: str) -> str:
    match = OPTIONS.search(page)
    assert match, "the page offers no passkey ceremony"
    return html.unescape(match.group(1))


class Enrolled:
    """A citizen with Ügyfélkapu+ (an authenticator app) who adds passkeys through the real forms
    (the Flask test client), a ``SoftAuthenticator`` answering the ceremony."""

    def __init__(self, citizen, rt):
        self.citizen, self.rt = citizen, rt
        self.secret, self.recovery_codes = citizen.with_second_factor()

    def code(self) -> str:
        self.rt.clock.advance(seconds=30)
        return totp.code_at(self.secret, self.rt.now())

    def add(self, key: SoftAuthenticator, name: str = "Laptop", **lie):
        http = self.citizen.http
        page = http.get("/account/second-factor").get_data(as_text=True)
        started = http.post("/account/second-factor/passkeys", data={
            "csrf_token": csrf_of(page), "name": name, "current_password": PASSWORD, "code": self.code()})
        assert started.status_code == 303
        if not started.headers["Location"].startswith("/account/second-factor/passkeys/new"):
            return started
        page = http.get(started.headers["Location"]).get_data(as_text=True)
        return http.post("/account/second-factor/passkeys/new", data={
            "csrf_token": csrf_of(page), "credential": key.create(options_of(page), **lie)})
