"""Protocol endpoints: discovery, JWKS, authorization, token, userinfo, introspection,
revocation and RP-initiated logout.

Protocol errors go back to the agency only at a redirect URI already validated
for that client; otherwise the citizen sees a page and is never redirected
(RFC 6749 §4.1.2.1, RFC 9700 §4.11).
"""

from __future__ import annotations

from datetime import timedelta

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from idp.clients import service as clients
from idp.extensions import csrf, db
from idp.interactions import service as interactions
from idp.oidc import authorize as rules
from idp.oidc.discovery import metadata
from idp.oidc.grants import TOKEN_AUTH_METHODS
from idp.oidc.responses import allow_form_target, authorization_response, error_params
from idp.runtime import runtime

from . import interaction, messages, session
from .forms import ConfirmForm
from .interaction import to_client

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


def _error_page(error: OAuth2Error, status: int = 400):
    message = messages.PROTOCOL.get(error.error, messages.GENERIC_PROTOCOL)
    # Only the error code: descriptions can echo request values (a redirect URI, a library's words).
    return render_template("error.html", message=message, code=error.error), status


def _authorization_error(error: OAuth2Error):
    """A refused request: back to the agency only at a redirect URI already validated for that client."""
    if not error.redirect_uri:
        return _error_page(error)
    if request.values.get("state") and not error.state:
        error.state = request.values.get("state")
    mode = request.values.get("response_mode")
    status, body, headers = authorization_response(
        error.redirect_uri, error_params(error), mode if mode in ("query", "form_post") else "query", runtime().issuer
    )
    return to_client(status, body, headers)


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # agencies may POST authorization requests; every decision of the citizen is on the interaction's pages
def authorize():
    """Validate the request once; answer at once when nothing is owed, else continue on its interaction.

    A POSTed request comes cross-site and carries no Lax cookie (no session, no browser binding): it
    is kept as an interaction and continued by a same-site GET that carries both (SECURITY.md)."""
    rt = runtime()
    if str(request.values.get("request_uri", "")).startswith(interactions.REQUEST_URI_PREFIX):
        return _pushed()  # other request_uri values (request objects by reference) are refused by validation
    try:
        authz, client = rules.validate(rt)
    except OAuth2Error as error:
        return _authorization_error(error)
    allow_form_target(authz.redirect_uri)
    if rt.settings.tokens.require_pushed_authorization_requests or client.require_pushed_authorization_requests:
        return to_client(*rules.error(rt, authz, "invalid_request"))
    if request.method == "POST":
        kept = interaction.start(authz, client, bound=False)
        return redirect(url_for("interaction.resume", uid=kept.uid), 303)
    return interaction.proceed(authz, client)


def _pushed():
    """``/authorize`` with the ``request_uri`` of a pushed request (RFC 9126 §4): only ``client_id``
    counts beside it; the request is the one pushed, taken once by this browser."""
    rt = runtime()
    client_id = request.values.get("client_id")
    client = clients.find_active(db.session, client_id) if isinstance(client_id, str) and len(client_id) <= 64 else None
    if client is None:
        return _error_page(InvalidClientError())
    sso = session.current()
    kept = interactions.take_pushed(
        db.session, request.values.get("request_uri"), client.id, session.browser(create=True),
        sso.sid if sso is not None else "", rt.now(), interaction.lifetime(),
    )
    if kept is None:
        error = InvalidRequestError()
        error.error = "invalid_request_uri"
        return _error_page(error)
    authz = rules.AuthorizationRequest.from_params(kept.params)
    allow_form_target(authz.redirect_uri)
    return interaction.proceed(authz, client, kept)


@bp.post("/par")
@csrf.exempt
def pushed_authorization_request():
    """Pushed Authorization Requests (RFC 9126 §2): the token endpoint's client authentication, the
    authorization endpoint's validation, errors as JSON; the request becomes an interaction and its
    ``request_uri`` is single-use and short-lived."""
    rt = runtime()
    try:
        client = rt.server.authenticate_client(rt.server.create_oauth2_request(None), TOKEN_AUTH_METHODS, "par")
        authz, validated = rules.validate(rt)
        if validated.id != client.id:
            raise InvalidRequestError("client_id does not match the authenticated client.")
    except OAuth2Error as error:
        body = {"error": error.error}
        if error.description:
            body["error_description"] = error.description
        response = jsonify(body)
        if error.error == "invalid_client":
            response.status_code = 401
            response.headers["WWW-Authenticate"] = f'Basic realm="{rt.issuer}"'
        else:
            response.status_code = error.status_code if error.status_code in (400, 429) else 400
            for name, value in error.get_headers():
                if name == "Retry-After":
                    response.headers[name] = value
        response.headers["Cache-Control"] = "no-store"
        return response
    _kept, request_uri = interactions.push(
        db.session, client_pk=client.id, params=authz.to_params(), now=rt.now(),
        lifetime=timedelta(seconds=rt.settings.tokens.pushed_request_seconds),
    )
    response = jsonify({"request_uri": request_uri, "expires_in": rt.settings.tokens.pushed_request_seconds})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/token")
@csrf.exempt
def token():
    return runtime().server.create_token_response()


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    """RFC 6750 errors and challenges come from ``idp.oidc.endpoints.BearerProtector``."""
    response = runtime().server.create_endpoint_response("userinfo")
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
