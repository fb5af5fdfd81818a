"""What the operator trusts for electronic registration (PRODUCT.md rule 1, third channel),
read from three folders at each registration, so a change needs no restart:

* ``keys/trusted-ca/``: the CAs citizens' signing certificates must chain to;
* ``keys/trusted-tsa/``: the time-stamping authorities (RFC 3161) whose signature
  timestamps may prove a signature older than its upload;
* ``keys/crl/``: the CRLs revocation is checked against (the provider fetches none).

A file that is not what its folder holds is a configuration error naming the file:
a citizen's certificate dropped among the CAs would otherwise be trusted as a root,
and a TSA folder holding any certificate would let its key date signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer")
CRL_SUFFIXES = (".crl", ".pem", ".der")


def load_trust_anchors(folder: Path) -> list[bytes]:
    """Every CA certificate in ``*.pem``/``*.crt``/``*.cer`` files of ``folder``, as DER.

    A PEM file may hold several certificates (a bundle). A missing folder raises
    ``FileNotFoundError``; an empty one trusts nobody.
    """
    return [c.dump() for c in _read_folder(folder, CERTIFICATE_SUFFIXES, load_ca_certificate, "trusted CA")]


def load_timestamp_authorities(folder: Path) -> list[bytes]:
    """Every TSA certificate (or CA of TSAs) in ``*.pem``/``*.crt``/``*.cer`` files of ``folder``, as DER.

    A missing folder raises ``FileNotFoundError``; an empty one trusts no timestamp.
    """
    return [c.dump() for c in _read_folder(folder, CERTIFICATE_SUFFIXES, load_tsa_certificate, "trusted TSA")]


def load_crls(folder: Path) -> list[bytes]:
    """Every CRL in ``*.crl``/``*.pem``/``*.der`` files of ``folder`` (DER or PEM), as DER.

    Stale ones are kept here: whether a CRL is current is decided at each
    verification, against its moment. A missing folder raises ``FileNotFoundError``.
    """
    return [c.dump() for c in _read_folder(folder, CRL_SUFFIXES, load_crl, "CRL")]


def load_ca_certificate(raw: bytes) -> asn1_x509.Certificate:
    cert = _load_certificate(raw)
    if not cert.ca:
        raise ValueError("not a CA certificate (basicConstraints cA is not set)")
    return cert


def load_tsa_certificate(raw: bytes) -> asn1_x509.Certificate:
    """A TSA's own certificate (RFC 3161 §2.3: the timeStamping extended key usage) or a CA's.

    pyHanko checks the TSA's extended key usage on a path below a CA, but not on a
    certificate configured as a trust root itself, so that one is checked here.
    """
    cert = _load_certificate(raw)
    if not cert.ca and "time_stamping" not in (cert.extended_key_usage_value.native if cert.extended_key_usage_value
                                               else []):
        raise ValueError("neither a TSA certificate (extendedKeyUsage timeStamping) nor a CA certificate")
    return cert


def load_crl(raw: bytes) -> asn1_crl.CertificateList:
    try:
        der = asn1_pem.unarmor(raw)[2] if asn1_pem.detect(raw) else raw
        crl = asn1_crl.CertificateList.load(der, strict=True)
        crl.native  # noqa: B018 - parse fully: a corrupt CRL must fail at configuration time
    except Exception as exc:
        raise ValueError("not a CRL") from exc
    return crl


def _load_certificate(raw: bytes) -> asn1_x509.Certificate:
    try:
        der = asn1_pem.unarmor(raw)[2] if asn1_pem.detect(raw) else raw
        cert = asn1_x509.Certificate.load(der, strict=True)
        cert.native  # noqa: B018 - parse fully: a corrupt anchor must fail at configuration time
    except Exception as exc:
        raise ValueError("not an X.509 certificate") from exc
    return cert


def _read_folder(folder: Path, suffixes: tuple[str, ...], load: Callable[[bytes], object], what: str) -> list:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{what} folder not found: {folder}")
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes):
        raw = path.read_bytes()
        try:
            blocks = [der for _, _, der in asn1_pem.unarmor(raw, multiple=True)] if asn1_pem.detect(raw) else [raw]
            found.extend(load(der) for der in blocks)
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from exc
    return found
