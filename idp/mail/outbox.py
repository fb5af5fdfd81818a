"""The outbox backend: every mail becomes an ``.eml`` file, and one log line says so.

The embedded default of PRODUCT.md "Real parts" (mail "written to an outbox
folder and the log"): activation works without a mail server, and the demo
shows the outbox to the user. The folder is the owner's alone (0700, files
0600) because mail carries one-time codes; for the same reason the log line
names only the recipient and the subject, never the body.

File names start with the UTC time of writing to the nanosecond, so sorting
them sorts the mail; a random suffix keeps writers in several processes apart.
"""

from __future__ import annotations

import email
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

from .mailer import Mailer
from .message import POLICY, Message, MailError, to_email, masked

log = logging.getLogger("idp.mail")

_NAME = re.compile(r"^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{8}\.eml$")


@dataclass(frozen=True)
class OutboxEntry:
    """One mail in the outbox, as listed (no body)."""

    name: str
    to: str
    subject: str
    date: datetime | None


@dataclass(frozen=True)
class OutboxMail:
    """One mail in the outbox, read in full."""

    name: str
    to: str
    subject: str
    date: datetime | None
    message_id: str
    locale: str
    text: str
    html: str | None


class OutboxMailer(Mailer):
    def __init__(self, folder: str | Path, sender: str, **kwargs):
        super().__init__(sender, **kwargs)
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._last_ns = 0

    def send(self, message: Message) -> str:
        mail = to_email(message, sender=self.sender, now=self.clock.now())
        try:
            name = self._write(mail.as_bytes(policy=POLICY))
        except OSError as exc:
            log.error("mail to %s not written to the outbox %s: %s", masked(message.to), self.folder, type(exc).__name__)
            raise MailError("mail_outbox_failed") from None
        log.info("mail to %s written to the outbox as %s: %s", masked(message.to), name, message.subject)
        return mail["Message-ID"]

    def _write(self, data: bytes) -> str:
        _ensure_private_folder(self.folder)
        name = f"{self._stamp()}-{secrets.token_hex(4)}.eml"
        partial = self.folder / f".{name}.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(partial, self.folder / name)  # a reader never sees half a mail
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return name

    def _stamp(self) -> str:
        # The wall clock, not the injected one: the names order the mail as written, also when a
        # test or `idp jobs run --as-of` dates the mail itself differently.
        with self._lock:
            ns = self._last_ns = max(time.time_ns(), self._last_ns + 1)
        seconds, nanos = divmod(ns, 1_000_000_000)
        return f"{datetime.fromtimestamp(seconds, UTC):%Y%m%dT%H%M%S}.{nanos:09d}Z"


def _ensure_private_folder(folder: Path) -> None:
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask


def list_outbox(folder: str | Path, *, to: str | None = None) -> list[OutboxEntry]:
    """The mail in the outbox, newest first; only that to ``to`` (bare address) when given."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name, reverse=True):
        if not _NAME.match(path.name):
            continue
        mail = _parse(path)
        if to is not None and _bare(mail["To"]) != to.casefold():
            continue
        entries.append(OutboxEntry(path.name, str(mail["To"]), str(mail["Subject"]), _date(mail)))
    return entries


def read_outbox(folder: str | Path, name: str) -> OutboxMail:
    """One mail of the outbox by its file name (as ``list_outbox`` gave it); nothing else is read."""
    if not _NAME.match(name):  # the name may come from a URL: no paths, no other files
        raise MailError("outbox_message_not_found")
    path = Path(folder) / name
    if not path.is_file():
        raise MailError("outbox_message_not_found")
    mail = _parse(path)
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    return OutboxMail(
        name=name,
        to=str(mail["To"]),
        subject=str(mail["Subject"]),
        date=_date(mail),
        message_id=str(mail["Message-ID"]),
        locale=str(mail["Content-Language"] or ""),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else None,
    )


def _parse(path: Path) -> EmailMessage:
    with open(path, "rb") as fh:
        return email.message_from_binary_file(fh, policy=POLICY)


def _bare(value) -> str:
    return parseaddr(str(value or ""))[1].casefold()


def _date(mail: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(mail["Date"]))
    except (TypeError, ValueError):
        return None
