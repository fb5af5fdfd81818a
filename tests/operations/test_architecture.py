"""Structure that must not drift: migrations match the models, layers point one way,
an account's state has one writer, and nothing secret reaches a log."""

from __future__ import annotations

import ast
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp.storage import Base

from ..support.factories import make_account, make_client
from ..support.flows import Agency, Citizen

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_build_exactly_the_models_schema(app, db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], "models changed without a migration: run `idp db migrate -d idp/migrations`"


@pytest.mark.skipif(shutil.which("lint-imports") is None and not (ROOT / ".venv/bin/lint-imports").exists(),
                    reason="import-linter is not installed")
def test_dependencies_point_one_way():
    exe = shutil.which("lint-imports") or str(ROOT / ".venv/bin/lint-imports")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- State has one writer (STYLE.md): ``idp.accounts.states.transition`` ---------------------------

STATE_COLUMNS = frozenset({"state", "state_changed_at"})
THE_WRITER = ("idp/accounts/states.py", "transition")
#: ``.state`` attributes that belong to no account, by module and receiver, and why.
NOT_ACCOUNTS = {
    ("idp/web/oauth.py", "error"): "an OAuth error carries the client's state parameter (RFC 6749 §4.1.2.1)",
    ("idp/oidc/authorize.py", "error"): "an OAuth error carries the client's state parameter (RFC 6749 §4.1.2.1)",
}
RAW_SQL_STATE_WRITE = re.compile(r"\b(update\s+account\s+set|insert\s+into\s+account)\b[^;]*\bstate", re.I | re.S)


@dataclass(frozen=True)
class StateWrite:
    path: str
    function: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function or '<module>'}: {self.code}"


def _flat(target: ast.expr):
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _flat(element)
    elif isinstance(target, ast.Starred):
        yield from _flat(target.value)
    else:
        yield target


def state_writes(source: str, path: str) -> list[StateWrite]:
    """Every write of an account's state (or of when it changed) in ``source``: an assignment to
    ``.state``, ``setattr(x, "state", …)``, ``Account(state=…)``, ``….values(state=…)`` or
    ``….values({Account.state: …})``, and raw SQL that updates or inserts it."""
    found: list[StateWrite] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            function = f"{function}.{node.name}" if function else node.name
        written: list[ast.AST] = []
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                written += [t for t in _flat(target) if isinstance(t, ast.Attribute) and t.attr in STATE_COLUMNS
                            and (path, ast.unparse(t.value)) not in NOT_ACCOUNTS]
        elif isinstance(node, ast.Call):
            callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if callee == "setattr" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in STATE_COLUMNS:
                written.append(node)
            if callee in ("Account", "values"):
                written += [k for k in node.keywords if k.arg in STATE_COLUMNS]
                written += [key for arg in node.args if isinstance(arg, ast.Dict) for key in arg.keys
                            if isinstance(key, ast.Attribute) and key.attr in STATE_COLUMNS]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_SQL_STATE_WRITE.search(node.value):
            written.append(node)
        statement = isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        found.extend(StateWrite(path, function, w.lineno, ast.unparse(node if statement else w)) for w in written)
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), "")
    return found


def test_an_accounts_state_has_one_writer():
    """STYLE.md, "State has one writer": only ``states.transition`` sets ``state`` and stamps
    ``state_changed_at``; every registration, activation, lapse, expiry and deletion calls it."""
    writes = [
        write
        for file in sorted((ROOT / "idp").rglob("*.py"))
        for write in state_writes(file.read_text("utf-8"), file.relative_to(ROOT).as_posix())
    ]
    outside = [str(w) for w in writes if (w.path, w.function) != THE_WRITER]
    assert not outside, "write the state through idp.accounts.states.transition:\n" + "\n".join(outside)
    assert {(w.path, w.function) for w in writes} == {THE_WRITER}, "the writer itself was not found"
    assert {w.code for w in writes} == {"account.state = target", "account.state_changed_at = now"}


WAYS_OF_WRITING_STATE = {
    "attribute": "account.state = AccountState.ACTIVE",
    "its_time": "account.state_changed_at = now",
    "annotated": "acct.state: AccountState = S.ACTIVE",
    "unpacked": "account.state, other = S.ACTIVE, 1",
    "setattr": "setattr(account, 'state', S.ACTIVE)",
    "constructor": "Account(identifier='x', state=S.ACTIVE)",
    "sql_update_keyword": "update(Account).where(Account.id == 1).values(state=S.LAPSED)",
    "sql_update_dict": "update(Account).values({Account.state: S.LAPSED})",
    "raw_sql": "session.execute(text(\"UPDATE account SET state = 'lapsed' WHERE id = 1\"))",
    "in_a_method": "class Job:\n    def end(self, account):\n        account.state = S.EXPIRED",
}


@pytest.mark.parametrize("code", WAYS_OF_WRITING_STATE.values(), ids=list(WAYS_OF_WRITING_STATE))
def test_the_state_write_finder_sees_each_way_of_writing(code):
    [write] = state_writes(code, "idp/lifecycle/example.py")
    assert write.path == "idp/lifecycle/example.py"


NOT_STATE_WRITES = {
    "a_read": "if account.state is S.ACTIVE:\n    pass",
    "a_query": "select(Account).where(Account.state == S.ACTIVE, Account.state_changed_at <= now)",
    "another_column": "update(Account).values(updated_at=now)",
    "a_personal_column": "setattr(account, column, None)",
}


@pytest.mark.parametrize("code", NOT_STATE_WRITES.values(), ids=list(NOT_STATE_WRITES))
def test_the_state_write_finder_ignores_reads_and_other_columns(code):
    assert state_writes(code, "idp/lifecycle/example.py") == []


def test_an_oauth_errors_state_parameter_is_no_accounts_state():
    code = "error.state = request.values.get('state')"
    assert state_writes(code, "idp/web/oauth.py") == []
    assert len(state_writes(code, "idp/lifecycle/example.py")) == 1


def test_no_token_code_or_secret_reaches_the_logs(client, rt, caplog):
    caplog.set_level(logging.DEBUG)
    citizen = Citizen(client, rt, make_account(rt))
    c, secret = make_client(rt)
    agency = Agency(client, c, secret, offline=True)
    response = citizen.sign_in(next_url=None)
    assert response.status_code == 303
    code = agency.get_code()
    tokens = agency.exchange(code).get_json()
    agency.userinfo(tokens["access_token"])
    agency.refresh(tokens["refresh_token"])
    text = "\n".join(r.getMessage() for r in caplog.records)
    for value in (secret, code, tokens["access_token"], tokens["refresh_token"], tokens["id_token"], citizen.password):
        assert value not in text
    assert logging.getLogger("authlib").getEffectiveLevel() >= logging.INFO
