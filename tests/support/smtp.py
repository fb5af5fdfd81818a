"""A real SMTP server for tests: aiosmtpd on a free loopback port, in a thread.

``SmtpServer`` speaks plain SMTP, STARTTLS or implicit TLS with a throwaway
certificate from ``make_ca``, and checks AUTH (LOGIN, PLAIN) against a
username and password when given. Every accepted mail is kept, parsed, in
``server.received``; ``wait_for`` serves tests whose mail is sent from another
thread (a browser test, a live server).

    with SmtpServer(security="starttls", tls=make_ca(tmp_path), users={"idp": "pw"}) as smtp:
        ...  # send to smtp.host, smtp.port, trusting tls.ca_file
        mail = smtp.wait_for(to="citizen@example.hu")
"""

from __future__ import annotations

import email
import ipaddress
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TlsFiles:
    """A private CA and a server certificate it signed for localhost and 127.0.0.1."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_ca(folder: Path, name: str = "Test Mail CA") -> TlsFiles:
    """Generate a CA and a server certificate for the loopback host into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


@dataclass
class Received:
    """One mail the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    tls: bool
    login: str | None

    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None


@dataclass
class _Handler:
    refuse_recipients: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.casefold() in self.refuse_recipients:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        mail = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=email.message_from_bytes(raw, policy=DEFAULT_POLICY),
            tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            login=login,
        )
        with self.arrived:
            self.received.append(mail)
            self.arrived.notify_all()
        return "250 OK"


class _Controller(Controller):
    """aiosmtpd's controller, bound to port 0: it learns the port the system chose."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """A running SMTP server; use as a context manager (it stops at the end of the block)."""

    def __init__(
        self,
        *,
        security: str = "none",
        tls: TlsFiles | None = None,
        users: dict[str, str] | None = None,
        mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
        refuse_recipients: tuple[str, ...] = (),
    ):
        if security != "none" and tls is None:
            raise ValueError("starttls and tls need TlsFiles")
        self.security = security
        self.users = dict(users or {})
        self.handler = _Handler(refuse_recipients={r.casefold() for r in refuse_recipients})
        kwargs: dict = {"server_hostname": "localhost", "ready_timeout": 10}
        if security == "starttls":
            kwargs.update(tls_context=tls.server_context(), require_starttls=True)
        elif security == "tls":
            kwargs.update(ssl_context=tls.server_context())
        if self.users:
            excluded = [m for m in ("LOGIN", "PLAIN") if m not in mechanisms]
            kwargs.update(
                authenticator=self._authenticate,
                # Required only with STARTTLS: aiosmtpd counts only STARTTLS as TLS, and warns when
                # AUTH is required without it (plain loopback, implicit TLS): there it is offered.
                auth_required=security == "starttls",
                auth_require_tls=security == "starttls",
                auth_exclude_mechanism=excluded,
            )
        self.controller = _Controller(self.handler, hostname=HOST, port=0, **kwargs)
        self.host = HOST

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def wait_for(self, *, to: str | None = None, timeout: float = 10) -> Received:
        """The latest mail (to ``to``, when given), waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        with self.handler.arrived:
            while True:
                for mail in reversed(self.handler.received):
                    if to is None or to.casefold() in (r.casefold() for r in mail.rcpt_tos):
                        return mail
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no mail{' to ' + to if to else ''} within {timeout} s")
                self.handler.arrived.wait(left)

    def provider_mail(self) -> dict:
        """The provider's ``[mail]`` settings that send through this server (plain SMTP)."""
        assert self.security == "none", "a TLS server needs its CA file in the settings too"
        return {"backend": "smtp", "smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none"}

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def find_code(text: str, pattern: str = r"^\s{4}(\S+)\s*$") -> str:
    """The one-time code of an activation mail: the indented line on its own."""
    match = re.search(pattern, text, re.MULTILINE)
    if not match:
        raise AssertionError("no code in the mail")
    return match.group(1)
