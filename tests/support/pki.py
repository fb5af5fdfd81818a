"""A throw-away PKI for the electronic-registration tests: a root CA, intermediates,
citizen signing certificates and detached CMS signatures, all made with ``cryptography``.

Keys are elliptic-curve (P-256) by default because generating them is instant; one
RSA citizen exists because most real Hungarian signing certificates are RSA.
Signatures come from ``cryptography``'s PKCS#7 builder, the same OpenSSL code path
``openssl cms -sign -binary -outform DER`` takes, so the verifier sees what a real
tool produces. That builder stamps ``signingTime`` with the wall clock, so tests
place certificate validity around the real current time (``wall_now()``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})


def wall_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_key(kind: str = "ec") -> Key:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _key_usage(usages: Iterable[str]) -> x509.KeyUsage:
    names = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )
    wanted = {"content_commitment" if u == "non_repudiation" else u for u in usages}
    return x509.KeyUsage(**{name: name in wanted for name in names})


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: Key

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class Authority(Issued):
    """A certification authority that can issue sub-CAs and citizen certificates."""

    def issue_ca(self, name: str, *, not_before: datetime | None = None, days: int = 3650) -> Authority:
        key = new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "HU"),
                             x509.NameAttribute(NameOID.COMMON_NAME, name)])
        start = not_before or wall_now() - timedelta(days=1)
        cert = _builder(subject, self.cert.subject, key, start, start + timedelta(days=days), self.key) \
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True) \
            .add_extension(_key_usage({"key_cert_sign", "crl_sign"}), critical=True) \
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False) \
            .sign(self.key, hashes.SHA256())
        return Authority(cert, key)

    def issue_citizen(
        self,
        family: str,
        given: str,
        *,
        common_name: str | None = None,
        name_attributes: bool = True,
        serial_number: str | None = "PNOHU-12345678",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        key_usage: Iterable[str] | None = SIGNING_USAGES,
        key_kind: str = "ec",
    ) -> Issued:
        """A qualified-looking signing certificate: CN "Family Given" (Hungarian order),
        surname and givenName attributes, a subject serialNumber (ETSI EN 319 412-1 style)."""
        key = new_key(key_kind)
        attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "HU")]
        if name_attributes:
            attrs += [x509.NameAttribute(NameOID.SURNAME, family), x509.NameAttribute(NameOID.GIVEN_NAME, given)]
        if serial_number:
            attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name or f"{family} {given}"))
        start = not_before or wall_now() - timedelta(days=30)
        end = not_after or start + timedelta(days=730)
        builder = _builder(x509.Name(attrs), self.cert.subject, key, start, end, self.key) \
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True) \
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        if key_usage is not None:
            builder = builder.add_extension(_key_usage(key_usage), critical=True)
        return Issued(builder.sign(self.key, hashes.SHA256()), key)


def _builder(subject, issuer, key, not_before, not_after, issuer_key) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def make_root_ca(name: str, *, days: int = 7300) -> Authority:
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "HU"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Trust Services"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = wall_now() - timedelta(days=2)
    cert = _builder(subject, subject, key, start, start + timedelta(days=days), key) \
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True) \
        .add_extension(_key_usage({"key_cert_sign", "crl_sign"}), critical=True) \
        .sign(key, hashes.SHA256())
    return Authority(cert, key)


def sign_detached(
    signer: Issued,
    data: bytes,
    *,
    chain: Iterable[Issued] = (),
    pem: bool = False,
    signed_attributes: bool = True,
    detached: bool = True,
    co_signers: Iterable[Issued] = (),
    with_certificate: bool = True,
) -> bytes:
    """A detached CMS SignedData over ``data`` (a ``.p7s``), DER or PEM.

    With ``signed_attributes`` the builder adds contentType, messageDigest and
    signingTime (the wall clock) as a real signing tool does; without them the
    signature covers the content digest directly and carries no signing time.
    ``detached=False`` embeds the content (a ``.p7m``); ``co_signers`` add signers;
    ``with_certificate=False`` leaves the signer's certificate out.
    """
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(signer.cert, signer.key, hashes.SHA256())
    for other in co_signers:
        builder = builder.add_signer(other.cert, other.key, hashes.SHA256())
    for extra in chain:
        builder = builder.add_certificate(extra.cert)
    options = [pkcs7.PKCS7Options.Binary]
    if detached:
        options.append(pkcs7.PKCS7Options.DetachedSignature)
    if not with_certificate:
        options.append(pkcs7.PKCS7Options.NoCerts)
    if not signed_attributes:
        options.append(pkcs7.PKCS7Options.NoAttributes)
    encoding = serialization.Encoding.PEM if pem else serialization.Encoding.DER
    return builder.sign(encoding, options)


def write_anchor(folder: Path, name: str, authority: Issued, *, der: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(authority.der() if der else authority.pem())
    return path
