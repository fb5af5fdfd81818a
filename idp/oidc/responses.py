"""Sending an authorization response (success or error) back to the client.

Only to a redirect URI already validated for that client (RFC 6749 §4.1.2.1),
in the requested response mode (``query`` or ``form_post``), always with the
``iss`` parameter (RFC 9207 §2) so the client can tell which provider answered.
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import g, render_template

from idp.clients.uris import origin_of


def authorization_response(redirect_uri: str, params: list[tuple[str, str]], response_mode: str | None, issuer: str):
    params = [*params, ("iss", issuer)]
    if response_mode == "form_post":
        allow_form_target(redirect_uri)
        body = render_template("form_post.html", action=redirect_uri, params=params)
        return 200, body, [("Content-Type", "text/html; charset=utf-8")]
    return 302, "", [("Location", add_params_to_uri(redirect_uri, params))]


def error_params(error) -> list[tuple[str, str]]:
    return [(k, v) for k, v in error.get_body() if v is not None]


def allow_form_target(uri: str) -> None:
    """Let this response's Content-Security-Policy ``form-action`` reach a validated client URI.
    A stored URI of another shape (written before the rule of ``idp.clients.uris``) adds nothing:
    its host could carry CSP syntax, so the browser is left to refuse the form instead."""
    origin = origin_of(uri)
    if origin is None:
        return
    targets = g.setdefault("form_targets", [])
    if origin not in targets:
        targets.append(origin)
