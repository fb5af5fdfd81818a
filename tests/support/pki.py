"""A throw-away PKI for the electronic-registration tests: a root CA, intermediates,
citizen signing certificates, time-stamping authorities, CRLs and detached CMS
signatures, made with ``cryptography`` (and pyHanko where a timestamp is needed).

Keys are elliptic-curve (P-256) by default because generating them is instant; one
RSA citizen exists because most real Hungarian signing certificates are RSA.
Signatures come from ``cryptography``'s PKCS#7 builder, the same OpenSSL code path
``openssl cms -sign -binary -outform DER`` takes, so the verifier sees what a real
tool produces. That builder stamps ``signingTime`` with the wall clock, so tests
place certificate validity around the real current time (``wall_now()``).
``sign_cades`` writes any ``signingTime`` (a backdating signer) and can add a
CAdES-T signature timestamp from pyHanko's ``DummyTimeStamper`` at any time.
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
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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

    def issue_ca(
        self, name: str, *, not_before: datetime | None = None, days: int = 3650, crl_url: str | None = None
    ) -> Authority:
        key = new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "HU"),
                             x509.NameAttribute(NameOID.COMMON_NAME, name)])
        start = not_before or wall_now() - timedelta(days=1)
        builder = _builder(subject, self.cert.subject, key, start, start + timedelta(days=days), self.key) \
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True) \
            .add_extension(_key_usage({"key_cert_sign", "crl_sign"}), critical=True) \
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        return Authority(_with_crl_url(builder, crl_url).sign(self.key, hashes.SHA256()), key)

    def issue_tsa(self, name: str = "Test Time-Stamping Unit", *, not_before: datetime | None = None,
                  days: int = 1095, time_stamping: bool = True, crl_url: str | None = None) -> Issued:
        """A time-stamping unit's certificate: critical extendedKeyUsage timeStamping (RFC 3161 §2.3).
        RSA, because pyHanko's ``DummyTimeStamper`` signs with RSA only."""
        key = new_key("rsa")
        subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "HU"),
                             x509.NameAttribute(NameOID.COMMON_NAME, name)])
        start = not_before or wall_now() - timedelta(days=30)
        builder = _builder(subject, self.cert.subject, key, start, start + timedelta(days=days), self.key) \
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True) \
            .add_extension(_key_usage({"digital_signature", "non_repudiation"}), critical=True) \
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        if time_stamping:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        return Issued(_with_crl_url(builder, crl_url).sign(self.key, hashes.SHA256()), key)

    def crl(
        self,
        revoked: Iterable[tuple[Issued, datetime]] = (),
        *,
        this_update: datetime | None = None,
        next_update: datetime | None = None,
        pem: bool = False,
    ) -> bytes:
        """This CA's CRL listing ``(certificate, revocation date)`` pairs; current for a day by default."""
        start = this_update or wall_now() - timedelta(hours=1)
        builder = x509.CertificateRevocationListBuilder() \
            .issuer_name(self.cert.subject) \
            .last_update(start) \
            .next_update(next_update or start + timedelta(days=1)) \
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False) \
            .add_extension(x509.CRLNumber(1), critical=False)
        for issued, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(issued.cert.serial_number).revocation_date(when).build()
            )
        crl = builder.sign(self.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.PEM if pem else serialization.Encoding.DER)

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
        crl_url: str | None = None,
    ) -> Issued:
        """A qualified-looking signing certificate: CN "Family Given" (Hungarian order),
        surname and givenName attributes, a subject serialNumber (ETSI EN 319 412-1 style),
        and with ``crl_url`` a CRL distribution point (RFC 5280 §4.2.1.13)."""
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
        return Issued(_with_crl_url(builder, crl_url).sign(self.key, hashes.SHA256()), key)


def _with_crl_url(builder: x509.CertificateBuilder, url: str | None) -> x509.CertificateBuilder:
    if url is None:
        return builder
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
    return builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)


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


def sign_cades(
    signer: Issued,
    data: bytes,
    *,
    signing_time: datetime | None = None,
    timestamp_at: datetime | None = None,
    tsa: Issued | None = None,
    chain: Iterable[Issued] = (),
) -> bytes:
    """A detached CAdES signature (DER) made with pyHanko: ``signingTime`` is whatever the signer
    writes (``signing_time``, or none), and with ``tsa`` a signature timestamp (CAdES-T) that
    ``tsa`` issues at ``timestamp_at`` (pyHanko's ``DummyTimeStamper``: a real RFC 3161 token)."""
    import asyncio

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign import signers
    from pyhanko.sign.signers.pdf_cms import CMSSignedAttributes
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def cert_of(issued: Issued) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(issued.der())

    def key_of(issued: Issued) -> asn1_keys.PrivateKeyInfo:
        return asn1_keys.PrivateKeyInfo.load(issued.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    certs = SimpleCertificateStore.from_certs([cert_of(signer), *(cert_of(c) for c in chain)])
    cades = signers.SimpleSigner(cert_of(signer), key_of(signer), certs)
    stamper = DummyTimeStamper(cert_of(tsa), key_of(tsa), fixed_dt=timestamp_at or wall_now()) if tsa else None
    signed = asyncio.run(cades.async_sign_general_data(
        data, "sha256", detached=True, timestamper=stamper,
        signed_attr_settings=CMSSignedAttributes(signing_time=signing_time),
    ))
    return signed.dump()


def write_anchor(folder: Path, name: str, authority: Issued, *, der: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(authority.der() if der else authority.pem())
    return path
