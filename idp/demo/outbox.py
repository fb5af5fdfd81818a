"""The demo's mail outbox on the provider (``/demo/outbox/``): every mail the provider wrote to the
outbox folder, so activation works without a mail server (issue 3: "the demo shows the outbox to
the user").

Registered only by ``idp demo`` (``init_app``), never by ``create_app``: the page shows
every citizen's mail, one-time codes included, to anyone who opens it.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, render_template

from idp.mail import MailError, list_outbox, read_outbox
from idp.runtime import runtime
from idp.settings import resolve_path
from idp.web.formatting import format_moment

bp = Blueprint("demo_outbox", __name__, url_prefix="/demo/outbox")


def _folder():
    return resolve_path(runtime().settings.mail.outbox_dir)


@bp.get("/")
def index():
    uses_outbox = runtime().settings.mail.backend == "outbox"
    entries = list_outbox(_folder()) if uses_outbox else []
    return render_template("demo/outbox.html", entries=entries, uses_outbox=uses_outbox, format_moment=format_moment)


@bp.get("/<name>")
def show(name: str):
    try:
        mail = read_outbox(_folder(), name)
    except MailError:
        abort(404)
    return render_template("demo/outbox_mail.html", mail=mail, format_moment=format_moment)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
