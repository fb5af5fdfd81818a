"""Protocol endpoints: discovery, JWKS, authorization, token, userinfo, introspection,
revocation and RP-initiated logout.

Protocol errors go back to the agency only at a redirect URI already validated
for that client; otherwise the citizen sees a page and is never redirected
(RFC 6749 §4.1.2.1, RFC 9700 §4.11).
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from idp.extensions import csrf, db
from idp.oidc import authorize as rules
from idp.oidc import consent
from idp.oidc.claims import Subject
from idp.oidc.discovery import metadata
from idp.oidc.responses import allow_form_target, authorization_response, error_params
from idp.runtime import runtime

from . import messages, session
from .forms import ConfirmForm, ConsentForm

bp = Blueprint("oauth", __name__)


def _public_json(payload: dict) -> Response:
    response = jsonify(payload)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery():
    return _public_json(metadata(runtime()))


@bp.get("/jwks.json")
def jwks():
    rt = runtime()
    return _public_json(rt.keyring.public_jwks(rt.now()))


def _response_mode() -> str:
    mode = request.values.get("response_mode")
    return mode if mode in ("query", "form_post") else "query"


def _to_client(status: int, body, headers) -> Response:
    """After a POST (consent, a POSTed request) the redirect is a 303, so the browser GETs the
    agency's URI and never re-sends the form there (RFC 9700 §4.12)."""
    if status == 302 and request.method == "POST":
        status = 303
    return Response(body, status, headers)


def _error_page(error: OAuth2Error, status: int = 400):
    message = messages.PROTOCOL.get(error.error, messages.GENERIC_PROTOCOL)
    # Only the error code: descriptions can echo request values (a redirect URI, a library's words).
    return render_template("error.html", message=message, code=error.error), status


def _authorization_error(error: OAuth2Error):
    if not error.redirect_uri:
        return _error_page(error)
    if request.values.get("state") and not error.state:
        error.state = request.values.get("state")
    status, body, headers = authorization_response(
        error.redirect_uri, error_params(error), _response_mode(), runtime().issuer
    )
    return _to_client(status, body, headers)


def _protocol_error(grant, name: str, description: str):
    error = InvalidRequestError(description, redirect_uri=grant.redirect_uri, state=grant.request.payload.state)
    error.error = name
    return _authorization_error(error)


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # agencies may POST authorization requests; the citizen's consent decision is CSRF-checked below
def authorize():
    rt = runtime()
    decision = request.form.get("decision") if request.method == "POST" else None
    if decision is not None:
        csrf.protect()
    sso = session.current()
    account = session.current_account()
    try:
        grant = rt.server.get_consent_grant(end_user=account)
    except OAuth2Error as error:
        return _authorization_error(error)
    grant.request.sso = sso
    client = grant.request.client
    allow_form_target(grant.redirect_uri)

    if decision == "deny":
        return _protocol_error(grant, "access_denied", "The citizen did not consent.")
    try:
        outcome = rules.judge(rt, grant, account, sso, consent_given=decision == "allow")
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        error.state = grant.request.payload.state
        return _authorization_error(error)

    resume = url_for("oauth.authorize") + "?" + rules.resume_query(rt, request.values, sso)
    if outcome.kind == rules.ERROR:
        return _protocol_error(grant, outcome.error, "The citizen must interact with the provider.")
    if outcome.kind == rules.LOGIN:
        return redirect(url_for("auth.login", next=resume), 303)
    if outcome.kind == rules.STEP_UP:
        # The citizen types a code; the session's level rises and the request resumes.
        return redirect(url_for("second_factor.sign_in", next=resume), 303)
    if outcome.kind == rules.FIX:
        return render_template(
            "fix.html", client=client, reasons=outcome.reasons, gate=messages.GATE, resume=resume, account=account,
            step_up=outcome.step_up,
        )
    if outcome.kind == rules.CONSENT:
        hidden = [(k, v) for k in request.values for v in request.values.getlist(k) if k not in ("csrf_token", "decision")]
        return render_template(
            "consent.html", client=client, account=account, scopes=outcome.missing_scopes, hidden=hidden, form=ConsentForm()
        )
    if decision == "allow":
        consent.record(db.session, account.id, client.id, grant.request.scope, rt.now())
    status, body, headers = grant.create_authorization_response(grant.redirect_uri, Subject(account, client))
    return _to_client(status, body, headers)


@bp.post("/token")
@csrf.exempt
def token():
    return runtime().server.create_token_response()


def _bearer_from_form_body() -> None:
    """RFC 6750 §2.2: a POST may carry the access token as a form field instead of the header."""
    if (
        request.method == "POST"
        and "Authorization" not in request.headers
        and request.mimetype == "application/x-www-form-urlencoded"
        and len(request.form.getlist("access_token")) == 1
    ):
        request.environ["HTTP_AUTHORIZATION"] = "Bearer " + request.form["access_token"]


def _standard_challenge(response: Response) -> None:
    """RFC 6750 §3: ``Bearer`` challenge; no error code when the request carried no token at all."""
    body = response.get_json(silent=True) or {}
    error = body.get("error")
    realm = f'Bearer realm="{runtime().issuer}"'
    if error == "missing_authorization":
        response.headers["WWW-Authenticate"] = realm
        response.set_data(b'{"error": "invalid_request", "error_description": "No access token."}')
    else:
        response.headers["WWW-Authenticate"] = f'{realm}, error="invalid_token"'


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    _bearer_from_form_body()
    response = runtime().server.create_endpoint_response("userinfo")
    if response.status_code == 401:
        _standard_challenge(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/introspect")
@csrf.exempt
def introspect():
    return runtime().server.create_endpoint_response("introspection")


@bp.post("/revoke")
@csrf.exempt
def revoke():
    return runtime().server.create_endpoint_response("revocation")


@bp.route("/end-session", methods=["GET", "POST"])
@csrf.exempt  # RPs may POST logout requests; the citizen's confirmation is CSRF-checked below
def end_session():
    rt = runtime()
    confirmed = request.method == "POST" and "confirm" in request.form
    if confirmed:
        csrf.protect()
    try:
        req = rt.server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return _error_page(error)
    sso = session.current()
    claims = req.id_token_claims or {}
    genuine = sso is not None and claims.get("sid") == sso.sid
    if sso is not None and not genuine and not confirmed:
        # A logout request we cannot show genuine: a cross-site link must not sign anyone out.
        hidden = [(k, v) for k in request.values for v in request.values.getlist(k) if k not in ("csrf_token", "confirm")]
        if req.redirect_uri:  # the confirmed POST redirects there: CSP form-action must allow it
            allow_form_target(req.redirect_uri)
        return render_template("logout_confirm.html", client=req.client, hidden=hidden, form=ConfirmForm())
    if sso is not None:
        session.end_current("rp_logout")
    if req.redirect_uri:
        return redirect(req.redirect_uri, 303 if request.method == "POST" else 302)
    return render_template("logged_out.html", client=req.client)
