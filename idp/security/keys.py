"""Signing keys: one current key per algorithm, encrypted at rest, rotated without downtime.

Layout of the keys folder::

    keyring.json     which keys exist: kid, alg, file, created_at, retired_at
    <kid>.pem        the private key, PKCS#8 encrypted with the configured passphrase

The current key of an algorithm is its newest key that is not retired. ``rotate``
adds a new key per algorithm and retires the previous one; a retired key stays
in the published JWKS for ``retain_previous_seconds`` so that tokens it signed
stay verifiable until they expire (OpenID Connect Core §10.1.1).

Keys are imported once per process and kept as key objects: importing an RSA
key costs tens of milliseconds, signing with an imported one well under one.
The keyring file's modification time is checked on use, so a rotation made by
``idp keys rotate`` reaches every worker without a restart.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

ALGORITHMS = ("RS256", "ES256", "EdDSA")
_KEY_CLASSES = {"RS256": RSAKey, "ES256": ECKey, "EdDSA": OKPKey}


class KeyRingError(RuntimeError):
    """The keys folder cannot be used as configured (missing, wrong passphrase, damaged)."""


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    file: str
    created_at: datetime
    retired_at: datetime | None

    def as_json(self) -> dict:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "file": self.file,
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> KeyInfo:
        return cls(
            kid=data["kid"],
            alg=data["alg"],
            file=data["file"],
            created_at=datetime.fromisoformat(data["created_at"]),
            retired_at=datetime.fromisoformat(data["retired_at"]) if data.get("retired_at") else None,
        )


def _generate_private_key(alg: str):
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyRingError(f"unsupported algorithm {alg}")


class KeyRing:
    """The signing keys of one keys folder, as loaded key objects."""

    def __init__(self, directory: Path, passphrase: str, algorithms: list[str], retain_previous_seconds: int):
        self.directory = Path(directory)
        self._passphrase = passphrase.encode("utf-8")
        self.algorithms = list(algorithms)
        self._retain = timedelta(seconds=retain_previous_seconds)
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._infos: list[KeyInfo] = []
        self._keys: dict[str, RSAKey | ECKey | OKPKey] = {}

    # -- files -------------------------------------------------------------

    @property
    def _index(self) -> Path:
        return self.directory / "keyring.json"

    @contextmanager
    def _exclusive(self):
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_index(self) -> list[KeyInfo]:
        try:
            data = json.loads(self._index.read_text("utf-8"))
        except FileNotFoundError:
            return []
        except (ValueError, KeyError) as exc:
            raise KeyRingError(f"{self._index} is damaged: {exc}") from None
        return [KeyInfo.from_json(item) for item in data.get("keys", [])]

    def _write_index(self, infos: list[KeyInfo]) -> None:
        tmp = self._index.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [i.as_json() for i in infos]}, indent=2), "utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self._index)

    def _write_key(self, alg: str, now: datetime) -> KeyInfo:
        private = _generate_private_key(alg)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        public = _KEY_CLASSES[alg].import_key(
            private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        kid = public.thumbprint()
        path = self.directory / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return KeyInfo(kid=kid, alg=alg, file=path.name, created_at=now, retired_at=None)

    # -- operations --------------------------------------------------------

    def ensure(self, now: datetime) -> list[KeyInfo]:
        """Create a key for every configured algorithm that has none (first start)."""
        with self._exclusive():
            infos = self._read_index()
            have = {i.alg for i in infos if i.retired_at is None}
            created = [self._write_key(alg, now) for alg in self.algorithms if alg not in have]
            if created:
                self._write_index(infos + created)
        self._stamp = None
        return created

    def rotate(self, now: datetime) -> list[KeyInfo]:
        """Introduce a new current key per algorithm; the previous ones stay published for a while."""
        with self._exclusive():
            infos = self._read_index()
            created = [self._write_key(alg, now) for alg in self.algorithms]
            new_kids = {c.kid for c in created}
            updated = [
                i if i.retired_at is not None or i.kid in new_kids else KeyInfo(i.kid, i.alg, i.file, i.created_at, now)
                for i in infos
            ]
            # Keys retired long ago are no longer needed by any token: drop their files.
            keep = []
            for i in updated:
                if i.retired_at is not None and i.retired_at + self._retain < now:
                    (self.directory / i.file).unlink(missing_ok=True)
                else:
                    keep.append(i)
            self._write_index(keep + created)
        self._stamp = None
        return created

    def list(self) -> list[KeyInfo]:
        return self._read_index()

    def missing_algorithms(self) -> list[str]:
        have = {i.alg for i in self._read_index() if i.retired_at is None}
        return [a for a in self.algorithms if a not in have]

    # -- loaded keys -------------------------------------------------------

    def _refresh(self) -> None:
        try:
            stamp = self._index.stat().st_mtime_ns
        except FileNotFoundError:
            raise KeyRingError(f"no signing keys in {self.directory}: run `idp keys rotate`") from None
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            infos = self._read_index()
            keys = dict(self._keys)
            for info in infos:
                if info.kid in keys:
                    continue
                try:
                    pem = (self.directory / info.file).read_bytes()
                    keys[info.kid] = _KEY_CLASSES[info.alg].import_key(
                        pem, parameters={"kid": info.kid, "alg": info.alg, "use": "sig"}, password=self._passphrase
                    )
                except FileNotFoundError:
                    raise KeyRingError(f"key file {info.file} listed in keyring.json is missing") from None
                except (ValueError, TypeError):
                    raise KeyRingError(f"cannot decrypt {info.file}: wrong keys.passphrase?") from None
            self._infos = infos
            self._keys = {i.kid: keys[i.kid] for i in infos}
            self._stamp = stamp

    def current(self, alg: str):
        """The key that signs with ``alg`` now."""
        self._refresh()
        candidates = [i for i in self._infos if i.alg == alg and i.retired_at is None]
        if not candidates:
            raise KeyRingError(f"no current key for {alg}: run `idp keys rotate`")
        newest = max(candidates, key=lambda i: i.created_at)
        return self._keys[newest.kid]

    def published(self, now: datetime) -> list[KeyInfo]:
        self._refresh()
        return [i for i in self._infos if i.retired_at is None or i.retired_at + self._retain >= now]

    def public_jwks(self, now: datetime) -> dict:
        return {
            "keys": [
                self._keys[i.kid].as_dict(private=False, kid=i.kid, alg=i.alg, use="sig") for i in self.published(now)
            ]
        }

    def public_keyset(self, now: datetime) -> KeySet:
        return KeySet.import_key_set(self.public_jwks(now))

    def supported_algorithms(self) -> list[str]:
        return [a for a in ALGORITHMS if a in self.algorithms]
