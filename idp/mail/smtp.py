"""The SMTP backend: any mail server, over STARTTLS or implicit TLS, with AUTH.

The server's certificate is verified with the default context (TLS 1.2 or
newer, host name checked) against the system's CAs, or only against
``smtp_ca_file`` for a private CA. Plain text is for a loopback relay only
(enforced by the settings). Every failure becomes a ``MailError`` with a
stable reason; smtplib's exceptions, which can quote the server, never leave
this module, and neither the password nor the body reaches the log.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from pathlib import Path

from .mailer import Mailer
from .message import Message, MailError, check_address, to_email, masked

log = logging.getLogger("idp.mail")

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpMailer(Mailer):
    def __init__(
        self,
        host: str,
        sender: str,
        *,
        port: int = 0,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        ca_file: str | Path | None = None,
        timeout: float = 10,
        **kwargs,
    ):
        super().__init__(sender, **kwargs)
        if security not in DEFAULT_PORTS:
            raise ValueError(f"unknown SMTP security {security!r}")
        if not (username.isascii() and password.isascii()):
            raise ValueError("smtplib sends AUTH credentials in ASCII only")
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        # EHLO names the sending domain: smtplib's default, socket.getfqdn(), costs a DNS lookup
        # per connection and names an internal host.
        self.helo_name = check_address(sender).rpartition("@")[2]

    def __repr__(self) -> str:
        return f"<SmtpMailer {self.security}://{self.host}:{self.port} user={self.username or '-'}>"

    def send(self, message: Message) -> str:
        mail = to_email(message, sender=self.sender, now=self.clock.now())
        step = "connect"
        try:
            conn = self._connect()
            try:
                if self.security == "starttls":
                    step = "tls"
                    conn.ehlo()
                    if not conn.has_extn("starttls"):
                        raise MailError("mail_tls_failed")
                    conn.starttls(context=self.context)
                    conn.ehlo()
                if self.username:
                    step = "auth"
                    conn.login(self.username, self._password)
                step = "send"
                conn.send_message(mail)
            finally:
                _close(conn)
        except MailError as exc:
            self._log_failure(message, exc.reason, step, exc)
            raise
        except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timed out, TLS (ssl.SSLError)
            reason = _reason(exc, step)
            self._log_failure(message, reason, step, exc)
            raise MailError(reason) from None
        log.info("mail to %s sent through %s:%s: %s", masked(message.to), self.host, self.port, message.subject)
        return mail["Message-ID"]

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=self.helo_name, timeout=self.timeout, context=self.context
            )
        return smtplib.SMTP(self.host, self.port, local_hostname=self.helo_name, timeout=self.timeout)

    def _log_failure(self, message: Message, reason: str, step: str, exc: BaseException) -> None:
        code = getattr(exc, "smtp_code", None)
        log.warning(
            "mail to %s not sent through %s:%s: %s at %s (%s%s)",
            masked(message.to), self.host, self.port, reason, step, type(exc).__name__, f" {code}" if code else "",
        )


def _close(conn: smtplib.SMTP) -> None:
    # Once the server accepted the mail, a failed QUIT must not turn into a failure (and a resend).
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        conn.close()


def _reason(exc: smtplib.SMTPException | OSError, step: str) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "mail_auth_failed"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "mail_tls_failed"
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # no STARTTLS, no AUTH, or no SMTPUTF8
        return {"tls": "mail_tls_failed", "auth": "mail_auth_failed"}.get(step, "mail_rejected")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return "mail_rejected" if codes and all(500 <= c < 600 for c in codes) else "mail_unavailable"
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        return "mail_auth_failed" if step == "auth" else "mail_rejected"  # sender or content refused
    return "mail_unavailable"  # no connection, timeout, disconnect, a temporary (4xx) refusal
