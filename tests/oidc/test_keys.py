"""Signing keys: encrypted at rest, one current key per algorithm, rotation without downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt

from idp.security.keys import KeyRing, KeyRingError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ring(tmp_path):
    ring = KeyRing(tmp_path, "a passphrase of some length", ["RS256", "ES256", "EdDSA"], retain_previous_seconds=3600)
    ring.ensure(NOW)
    return ring


def test_private_keys_are_encrypted_at_rest(ring, tmp_path):
    for info in ring.list():
        pem = (tmp_path / info.file).read_text()
        assert "ENCRYPTED PRIVATE KEY" in pem
        assert (tmp_path / info.file).stat().st_mode & 0o077 == 0


def test_a_wrong_passphrase_is_refused(ring, tmp_path):
    other = KeyRing(tmp_path, "not the passphrase at all", ["RS256"], 3600)
    with pytest.raises(KeyRingError):
        other.current("RS256")


def test_jwks_publishes_public_keys_with_kid_and_alg(ring):
    jwks = ring.public_jwks(NOW)
    assert {k["alg"] for k in jwks["keys"]} == {"RS256", "ES256", "EdDSA"}
    for key in jwks["keys"]:
        assert key["kid"] and key["use"] == "sig"
        assert "d" not in key and "p" not in key


def test_rotation_keeps_tokens_signed_with_the_previous_key_verifiable(ring, tmp_path):
    old = ring.current("RS256")
    token = jwt.encode({"alg": "RS256", "kid": old.kid}, {"sub": "x"}, old, algorithms=["RS256"])
    ring.rotate(NOW + timedelta(minutes=5))
    # Another process (another worker) sees the rotation through the keyring file.
    other = KeyRing(tmp_path, "a passphrase of some length", ["RS256", "ES256", "EdDSA"], 3600)
    new = other.current("RS256")
    assert new.kid != old.kid
    published = other.public_keyset(NOW + timedelta(minutes=10))
    assert jwt.decode(token, published, algorithms=["RS256"]).claims["sub"] == "x"
    # After the retention period the previous key leaves the JWKS.
    later = {k["kid"] for k in other.public_jwks(NOW + timedelta(hours=2))["keys"]}
    assert old.kid not in later and new.kid in later


def test_a_running_process_picks_up_a_rotation_without_restart(ring, tmp_path):
    before = ring.current("ES256").kid
    KeyRing(tmp_path, "a passphrase of some length", ["RS256", "ES256", "EdDSA"], 3600).rotate(NOW)
    assert ring.current("ES256").kid != before


def test_the_kid_is_stable_across_loads(ring, tmp_path):
    again = KeyRing(tmp_path, "a passphrase of some length", ["RS256", "ES256", "EdDSA"], 3600)
    assert again.current("RS256").kid == ring.current("RS256").kid


def test_missing_keys_are_reported(tmp_path):
    ring = KeyRing(tmp_path / "empty", "a passphrase of some length", ["RS256"], 3600)
    assert ring.missing_algorithms() == ["RS256"]
    with pytest.raises(KeyRingError):
        ring.current("RS256")
