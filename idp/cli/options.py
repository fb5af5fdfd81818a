"""What the command groups share: the runtime of the application a command runs in, the output
of a command (with ``--json``, one JSON document on stdout and nothing else there; progress,
warnings and logs go to stderr), and the values of durations (``--expires``, ``--grace``) and
moments (``--as-of``, ``--since``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import click
from flask import current_app

from idp.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["idp"]


def emit(data: dict, as_json: bool) -> None:
    """One record: a JSON object, or ``key: value`` lines."""
    if as_json:
        emit_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")


def emit_json(data: dict | list) -> None:
    """The whole stdout of a ``--json`` command, in one write."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def duration(value: str) -> timedelta:
    """``7d``, ``12h``, ``30m`` or ``3600s``."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not (number.isascii() and number.isdigit()) or len(number) > 6:
        raise click.BadParameter(f"{value!r}: expected a number and d, h, m or s, e.g. 7d")
    return timedelta(**{units[unit]: int(number)})


def moment(value: str | None) -> datetime | None:
    """``--as-of``/``--since``: a date (00:00 UTC that day) or an ISO datetime (UTC when no zone)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected YYYY-MM-DD or an ISO datetime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
