"""The SQL statements a call sends to the database, each on one line: for the tests that count a
path's statements (issue 11's hot path, the access history)."""

from __future__ import annotations

from sqlalchemy import event


def statements_of(db, call):
    """Run ``call()`` and return its result with every statement sent meanwhile, in order."""
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return result, seen
