"""The provider's own front door: the home page, the direct sign-in (for the citizen's own pages,
``next`` a path on this provider) and signing out. An agency's sign-in goes through its
interaction instead (``idp.web.interaction``); both use the same views (``idp.web.signin``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from . import passkeys, session, signin
from .forms import ConfirmForm

bp = Blueprint("auth", __name__)


def safe_next(value: str | None) -> str | None:
    """Only a path on this provider: never an open redirect (ASVS V3.7.2)."""
    if not value or len(value) > 2048 or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _places() -> signin.Places:
    nxt = safe_next(request.values.get("next"))
    def here(endpoint: str) -> str:
        return url_for(endpoint, next=nxt) if nxt else url_for(endpoint)
    return signin.Places(
        login=here("auth.login"), second_factor=here("auth.second_factor"), send_code=here("auth.send_code"),
        done=nxt or url_for("auth.home"), passkey=here("auth.second_factor_passkey"),
        passwordless=here("auth.passwordless"),
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        return signin.submit_login(_places())
    return signin.login_page(_places())


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor():
    if request.method == "POST":
        return signin.submit_second_factor(_places())
    return signin.second_factor_page(_places())


@bp.post("/login/second-factor/send")
def send_code():
    return signin.submit_send_code(_places())


@bp.post("/login/second-factor/passkey")
def second_factor_passkey():
    return passkeys.submit_use(_places())


@bp.post("/login/passkey")
def passwordless():
    return passkeys.submit_passwordless(_places())


@bp.get("/")
def home():
    account = session.current_account()
    return render_template("home.html", account=account, form=ConfirmForm())


@bp.post("/logout")
def logout():
    # CSRFProtect has checked the form's token before this view runs.
    session.end_current("signed_out")
    return redirect(url_for("auth.signed_out"), 303)


@bp.get("/signed-out")
def signed_out():
    return render_template("logged_out.html", client=None)

