"""The front hall: the pages an agency's request leads the citizen through, on its interaction.

request → interaction → pages → resume → code. ``proceed`` judges a validated
request (``idp.oidc.authorize``) against the sign-in session and the gate: the
answer goes to the agency at once when nothing is owed (a code, or with
``prompt=none`` the standard error); otherwise the request is kept as an
interaction (``idp.interactions``) and the citizen is sent to the page of what
is owed: sign in, the Ügyfélkapu+ code, a fix of the account, consent. Each page
answers its one question and returns to the resume step, ``/interaction/<uid>``,
which judges again. Cancelling answers the agency ``access_denied``.

The whole surface is guarded in ``before_request``: an unknown, expired or
completed interaction, or one another browser started, shows the page that
tells the citizen to start again at the agency, and never redirects anywhere.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from idp.accounts import passkeys as passkey_rules
from idp.accounts import second_factor as second_factor_rules
from idp.extensions import db
from idp.interactions import service as interactions
from idp.interactions.models import Interaction
from idp.oidc import authorize as rules
from idp.authorizations import consent as consents
from idp.oidc.responses import allow_form_target
from idp.clients import scopes as sc
from idp.clients import service as clients
from idp.runtime import runtime

from . import feedback, messages, passkeys, session, signin
from .forms import ConfirmForm, ConsentForm

bp = Blueprint("interaction", __name__, url_prefix="/interaction")

#: The page of each thing owed.
PAGES = {
    rules.LOGIN: "interaction.login",
    rules.SECOND_FACTOR: "interaction.second_factor",
    rules.FIX: "interaction.fix",
    rules.CONSENT: "interaction.consent",
}


def lifetime() -> timedelta:
    return timedelta(seconds=runtime().settings.session.interaction_seconds)


def to_client(status: int, body, headers) -> Response:
    """After a POST the redirect to the agency is a 303, so the browser GETs the agency's URI and
    never re-sends the form there (RFC 9700 §4.12)."""
    if status == 302 and request.method == "POST":
        status = 303
    return Response(body, status, headers)


def gone() -> tuple[str, int]:
    return render_template("interaction_gone.html"), 410


def start(request_: rules.AuthorizationRequest, client, *, bound: bool) -> Interaction:
    """Keep a validated request as an interaction: bound to this browser, or (a cross-site POST, whose
    request carried no cookie) unbound until the same-site GET that follows binds it."""
    rt = runtime()
    sso = session.current() if bound else None
    return interactions.start(
        db.session, client_pk=client.id, params=request_.to_params(),
        browser=session.browser(create=True) if bound else None, start_sid=sso.sid if sso is not None else "",
        now=rt.now(), lifetime=lifetime(),
    )


def proceed(request_: rules.AuthorizationRequest, client, interaction: Interaction | None = None):
    """Judge the request now and answer: to the agency when nothing is owed, else to the page of what is."""
    rt = runtime()
    sso, account = session.current(), session.current_account()
    if interaction is not None:
        moment = rules.Moment(interaction.created_at, interaction.start_sid, interaction.consented_at is not None)
    else:
        moment = rules.Moment(rt.now(), sso.sid if sso is not None else "")
    outcome = rules.judge(rt, request_, client, account, sso, moment)
    if outcome.kind in (rules.ISSUE, rules.ERROR):
        if interaction is not None and not interactions.complete(db.session, interaction, rt.now()):
            return gone()  # another request answered it first
        if outcome.kind == rules.ISSUE:
            return to_client(*rules.issue(rt, request_, client, account, sso))
        return to_client(*rules.error(rt, request_, outcome.error))
    if interaction is None:
        interaction = start(request_, client, bound=True)
    details = outcome.reasons if outcome.kind == rules.FIX else outcome.missing_scopes
    interactions.owe(interaction, outcome.kind, [str(d) for d in details])
    return redirect(url_for(PAGES[outcome.kind], uid=interaction.uid), 303)


def allow_return(path: str | None) -> None:
    """A form on one of the provider's own pages (the password change, an enrolment) whose POST
    resumes an interaction ends, through redirects, at the agency: its CSP ``form-action`` must
    allow the interaction's validated redirect origin (Chromium applies it to every redirect)."""
    prefix = url_for("interaction.resume", uid="")
    if not path or not path.startswith(prefix):
        return
    rt = runtime()
    found = interactions.find(db.session, path.removeprefix(prefix), session.browser(), rt.now())
    if found is not None:
        allow_form_target(found.params["redirect_uri"])


# -- the guard -------------------------------------------------------------------------------


@bp.before_request
def _live_interaction():
    """Every page works on a live interaction of this browser (STYLE.md habit 7)."""
    rt = runtime()
    uid = (request.view_args or {}).get("uid")
    found = interactions.find(db.session, uid, session.browser(create=True), rt.now()) if uid else None
    client = clients.find_active(db.session, _client_id_of(found)) if found is not None else None
    if found is None or client is None:
        return gone()
    g.interaction, g.client = found, client
    g.authz = rules.AuthorizationRequest.from_params(found.params)
    g.ui_locales = g.authz.ui_locales
    allow_form_target(g.authz.redirect_uri)
    return None


def _client_id_of(interaction: Interaction) -> str | None:
    return interaction.params.get("client_id")


def _owed(*kinds: str):
    """Redirect to the resume step unless the interaction owes one of ``kinds``."""
    if g.interaction.owed not in kinds:
        return redirect(url_for("interaction.resume", uid=g.interaction.uid), 303)
    return None


def _page(**values) -> dict:
    """What every interaction page shows: the agency and the way back to it."""
    return {"client": g.client, "cancel_action": url_for("interaction.cancel", uid=g.interaction.uid),
            "cancel_form": ConfirmForm(), **values}


def _places() -> signin.Places:
    uid = g.interaction.uid
    return signin.Places(
        login=url_for("interaction.login", uid=uid), second_factor=url_for("interaction.second_factor", uid=uid),
        send_code=url_for("interaction.send_code", uid=uid), done=url_for("interaction.resume", uid=uid),
        passkey=url_for("interaction.second_factor_passkey", uid=uid),
        passwordless=url_for("interaction.passwordless", uid=uid),
    )


# -- the resume step and the pages -------------------------------------------------------------


@bp.get("/<uid>")
def resume(uid: str):
    return proceed(g.authz, g.client, g.interaction)


@bp.route("/<uid>/login", methods=["GET", "POST"])
def login(uid: str):
    if (refused := _owed(rules.LOGIN)) is not None:
        return refused
    if request.method == "POST":
        return signin.submit_login(_places())
    return signin.login_page(_places(), hint=g.authz.login_hint, **_page())


@bp.route("/<uid>/second-factor", methods=["GET", "POST"])
def second_factor(uid: str):
    if (refused := _owed(rules.LOGIN, rules.SECOND_FACTOR)) is not None:
        return refused
    if request.method == "POST":
        return signin.submit_second_factor(_places())
    return signin.second_factor_page(_places(), **_page())


@bp.post("/<uid>/second-factor/send")
def send_code(uid: str):
    return signin.submit_send_code(_places())


@bp.post("/<uid>/second-factor/passkey")
def second_factor_passkey(uid: str):
    if (refused := _owed(rules.LOGIN, rules.SECOND_FACTOR)) is not None:
        return refused
    return passkeys.submit_use(_places())


@bp.post("/<uid>/login/passkey")
def passwordless(uid: str):
    if (refused := _owed(rules.LOGIN)) is not None:
        return refused
    return passkeys.submit_passwordless(_places())


@bp.route("/<uid>/consent", methods=["GET", "POST"])
def consent(uid: str):
    if (refused := _owed(rules.CONSENT)) is not None:
        return refused
    rt = runtime()
    account = session.current_account()
    form = ConsentForm()
    if request.method == "POST":
        if not form.validate():
            feedback.refuse("form_invalid")
            return redirect(url_for("interaction.consent", uid=uid), 303)
        if request.form.get("decision") != "allow":
            return _cancel()
        offline = form.offline.data and sc.OFFLINE_ACCESS in g.interaction.reasons
        consents.record(db.session, account.id, g.client.id, g.authz.scope, rt.now(), offline=bool(offline))
        interactions.consented(g.interaction, rt.now())
        return redirect(url_for("interaction.resume", uid=uid), 303)
    scopes = [s for s in g.interaction.reasons if s != sc.OFFLINE_ACCESS]
    return render_template("consent.html", account=account, scopes=scopes, form=form,
                           offline=sc.OFFLINE_ACCESS in g.interaction.reasons,
                           action=url_for("interaction.consent", uid=uid), **_page())


@bp.get("/<uid>/fix")
def fix(uid: str):
    if (refused := _owed(rules.FIX)) is not None:
        return refused
    account = session.current_account()
    if account is None:
        return redirect(url_for("interaction.resume", uid=uid), 303)
    policy = runtime().assurance
    step_up = (second_factor_rules.can_reach(account, g.authz.min_acr, policy)
               or passkey_rules.can_reach(db.session, account, g.authz.min_acr, policy))
    return render_template(
        "fix.html", account=account, reasons=g.interaction.reasons, gate=messages.GATE,
        resume=url_for("interaction.resume", uid=uid), step_up=step_up, interaction_uid=uid, **_page(),
    )


@bp.post("/<uid>/cancel")
def cancel(uid: str):
    """The way back to the agency: it hears ``access_denied`` (with ``state`` and ``iss``)."""
    return _cancel()


def _cancel():
    rt = runtime()
    if not interactions.complete(db.session, g.interaction, rt.now()):
        return gone()
    return to_client(*rules.error(rt, g.authz, "access_denied"))
