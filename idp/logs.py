"""Structured logs: one JSON object per line in production, a readable line in development.

``configure(settings.logging)`` puts one handler on the root logger, so every library's
records (gunicorn's, Werkzeug's, Authlib's, SQLAlchemy's, the provider's own) come out in one
shape, rendered by structlog's processor chain: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
``process``, ``message``, the ``request_id`` and ``client_id`` of the request being served
when there is one, the fields a record carries in ``extra``, and for a failure the
``exception`` as one field of the same event.

The request's id and its agency's ``client_id`` live in context variables bound by
``idp.web.observe`` (and by the Authlib edge once a client is known); each request starts
and ends with them cleared, also on a reused worker thread.

What must never reach a log (tokens, codes, secrets, passwords, personal data) is kept out
at the source: the access event carries the route rule, never the path or its query, nor a
header or a body; and libraries that log request data at DEBUG are held at a level where
they do not, whatever level the operator chooses (``QUIET``).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys

import structlog

from idp.settings import SettingsError, load_logging_settings

JSON = "json"
CONSOLE = "console"
FORMATS = (JSON, CONSOLE)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

#: Libraries that log secrets or personal data below these levels: Authlib logs issued tokens at
#: DEBUG, SQLAlchemy's engine logs every statement with its parameters (digests, names, emails) at
#: INFO, urllib3 logs the URLs it calls at DEBUG, pyHanko names signers on every refusal.
QUIET = {
    "authlib": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "sqlalchemy.orm": logging.WARNING,
    "urllib3": logging.INFO,
    "pyhanko": logging.ERROR,
    "pyhanko_certvalidator": logging.ERROR,
    "asyncio": logging.WARNING,
}

#: A request id a caller may choose: bounded, and only characters that need no escaping anywhere.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def quiet_libraries() -> None:
    """Hold the libraries of ``QUIET`` at their safe level (never lowered by ``configure``)."""
    for name, level in QUIET.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is well formed, else a new random one."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return secrets.token_hex(16)


def bind(**values) -> None:
    """Add fields (``request_id``, ``client_id``) to every record of the current request."""
    structlog.contextvars.bind_contextvars(**values)


def bound() -> dict:
    return structlog.contextvars.get_contextvars()


def clear() -> None:
    structlog.contextvars.clear_contextvars()


def _process(logger, method_name, event_dict):
    event_dict.setdefault("process", os.getpid())
    return event_dict


def _drop_noise(logger, method_name, event_dict):
    # Attributes another formatter may have left on the record, taken for extras otherwise.
    for key in ("color_message", "message", "asctime"):
        event_dict.pop(key, None)
    return event_dict


_ROW_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


def _without_row_values(logger, method_name, event_dict):
    """PostgreSQL's error DETAIL quotes the values of the row or key it refused ("Failing row
    contains (…)", "Key (email)=(…) already exists"): personal data, kept out of the log."""
    text = event_dict.get("exception")
    if isinstance(text, str) and "DETAIL:" in text:
        event_dict["exception"] = _ROW_DETAIL.sub(r"\1 (withheld: it quotes the row's values)", text)
    return event_dict


def _shared_processors() -> list:
    return [
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _process,
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(),
        _drop_noise,
    ]


def formatter(fmt: str = JSON) -> logging.Formatter:
    """The formatter of ``fmt`` (``json``: one object per line; ``console``: for a person)."""
    if fmt == CONSOLE:
        final = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _without_row_values,
            structlog.dev.ConsoleRenderer(colors=False, sort_keys=False, timestamp_key="time"),
        ]
    else:
        final = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _without_row_values,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(default=str),  # ASCII (\u escapes): safe on any stderr encoding
        ]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_shared_processors(), processors=final)


def configure(settings=None, *, stream=None, fmt: str | None = None, level: str | None = None) -> logging.Handler:
    """Send every logger's records through one handler on the root logger, as ``settings``
    (``[logging]``) say; ``stream`` defaults to stderr. It replaces every handler the root logger
    had (its own from an earlier call included), so nothing is logged twice in two shapes."""
    fmt = fmt or (settings.format if settings is not None else JSON)
    level = level or (settings.level if settings is not None else "INFO")
    root = logging.getLogger()
    for handler in list(root.handlers):  # ours from before, basicConfig's, the migrations' logging.ini
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
    quiet_libraries()
    return handler


def settings_for_process():
    """The ``[logging]`` settings of ``IDP_CONFIG`` and the environment, read before the
    application is (gunicorn's master configures its logs first); defaults when unreadable,
    so that the application's own start-up names the configuration error."""
    try:
        return load_logging_settings(os.environ.get("IDP_CONFIG"))
    except (SettingsError, OSError):
        return None
