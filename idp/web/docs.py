"""The integration guide for agencies' developers (``/docs/integration``), Hungarian and English.

The facts it states come from the code that enforces them: the scopes and their
claims, the levels of assurance, the client authentication methods, what
``verified_claims`` holds, and the examples, which are files under
``docs/examples/`` shown verbatim and executed by the test suite.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, render_template
from flask_babel import get_locale

from idp.accounts import assurance
from idp.clients import scopes as sc
from idp.oidc import verified_claims
from idp.oidc.discovery import ENDPOINTS
from idp.oidc.grants import TOKEN_AUTH_METHODS
from idp.runtime import runtime

bp = Blueprint("docs", __name__)

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples"
EXAMPLES = ("authlib_client.py", "requests_pyjwt.py", "token_userinfo.sh")
AMR_VALUES = ("pwd", "otp", "email", "hwk", "swk", "user", "mfa")
#: Each way a citizen can sign in, with the ``amr`` it yields; the guide states the level each one
#: reaches under the operator's policy (``[assurance]``), computed by the rule that decides it.
METHODS = (
    ("password", ["pwd"]),
    ("otp", ["pwd", "otp"]),
    ("email", ["pwd", "email"]),
    ("passkey", assurance.passkey_amr(False, password=True)),
    ("synced_passkey", assurance.passkey_amr(True, password=True)),
    ("passwordless", assurance.passkey_amr(False)),
)


@cache
def example(name: str) -> str:
    return (EXAMPLES_DIR / name).read_text(encoding="utf-8")


@bp.get("/docs/integration")
def integration():
    issuer = runtime().issuer
    return render_template(
        "docs/integration.html",
        body=f"docs/integration.{get_locale()}.html",
        issuer=issuer,
        discovery_url=issuer + "/.well-known/openid-configuration",
        endpoints={name: issuer + path for name, path in ENDPOINTS.items()},
        scopes=[(s, sc.SCOPE_CLAIMS[s], sc.is_sensitive(s)) for s in sc.ALL_SCOPES],
        auth_methods=TOKEN_AUTH_METHODS,
        levels=assurance.LEVELS,
        low=assurance.LOW,
        substantial=assurance.SUBSTANTIAL,
        amr_values=AMR_VALUES,
        methods=[(name, amr, assurance.level_for(amr, runtime().assurance)) for name, amr in METHODS],
        passwordless=runtime().settings.passkeys.passwordless,
        ida=verified_claims.metadata(),
        examples={name: example(name) for name in EXAMPLES},
    )
