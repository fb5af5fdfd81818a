"""A demo agency service (relying party) built on a third-party OIDC client: Authlib's Flask client.

Configured from the provider's discovery document alone; it signs the citizen
in with the code flow and PKCE, lets the client library validate the ID token,
reads userinfo, and signs out through RP-initiated logout. It also receives
back-channel logout: a logout token validated with joserfc (signature
against the provider's JWKS, ``iss``, ``aud``, the event, no ``nonce``) ends the
agency's own session for that ``sid``. Not part of the provider: it stands for
any agency's application.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template_string, request, session, url_for

PAGE = """<!doctype html>
<html lang="hu"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
header{border-bottom:4px solid {{ color }};margin-bottom:1rem}a.button,button{background:{{ color }};color:#fff;
padding:.6rem 1rem;border-radius:.3rem;text-decoration:none;border:0;font:inherit}pre{background:#f3f3f3;padding:1rem;
overflow:auto}</style></head><body>
<header><h1>{{ title }}</h1><p>Demo hivatal / demo agency (relying party)</p></header>
<main>
{% if claims %}
  <p>Bejelentkezve / signed in as: <strong id="who">{{ claims.get('name') or claims.get('sub') }}</strong></p>
  <h2>ID token (validated by the client library)</h2><pre id="id-token-claims">{{ id_token_json }}</pre>
  <h2>Userinfo</h2><pre id="userinfo">{{ userinfo_json }}</pre>
  <p><a class="button" id="logout" href="{{ url_for('logout') }}">Kijelentkezés / Sign out</a></p>
{% else %}
  {% if ended %}<p id="ended">Az Ügyfélkapu jelezte, hogy kijelentkezett. / Ügyfélkapu told us you signed out.</p>{% endif %}
  <p><a class="button" id="login" href="{{ url_for('login') }}">Bejelentkezés Ügyfélkapuval / Sign in with Ügyfélkapu</a></p>
{% endif %}
</main></body></html>"""


def create_agency_app(
    *, title: str, color: str, issuer: str, client_id: str, client_secret: str, base_url: str, cookie: str
) -> Flask:
    import json

    app = Flask(f"agency-{cookie}")
    app.config.update(SECRET_KEY=secrets.token_hex(32), SESSION_COOKIE_NAME=cookie, SESSION_COOKIE_SAMESITE="Lax")
    oauth = OAuth(app)
    oauth.register(
        "ugyfelkapu",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email address", "code_challenge_method": "S256"},
    )

    #: sids the provider said have ended (back-channel logout); a real agency keeps them server-side too.
    ended_sids: set[str] = set()

    @app.get("/")
    def index():
        claims = session.get("claims")
        ended = bool(claims) and claims.get("sid") in ended_sids
        if ended:
            session.clear()
            claims = None
        return render_template_string(
            PAGE,
            title=title,
            color=color,
            ended=ended,
            claims=claims,
            id_token_json=json.dumps(claims, indent=2, ensure_ascii=False) if claims else "",
            userinfo_json=json.dumps(session.get("userinfo"), indent=2, ensure_ascii=False) if claims else "",
        )

    @app.get("/login")
    def login():
        return oauth.ugyfelkapu.authorize_redirect(f"{base_url}/callback")

    @app.get("/callback")
    def callback():
        token = oauth.ugyfelkapu.authorize_access_token()  # validates state, nonce and the ID token
        session["claims"] = dict(token["userinfo"])
        session["userinfo"] = dict(oauth.ugyfelkapu.userinfo(token=token))
        session["id_token"] = token["id_token"]
        return redirect(url_for("index"))

    @app.post("/backchannel-logout")
    def backchannel_logout():
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        meta = oauth.ugyfelkapu.load_server_metadata()
        try:
            keys = KeySet.import_key_set(oauth.ugyfelkapu.fetch_jwk_set())
            token = jwt.decode(request.form.get("logout_token", ""), keys, algorithms=["RS256", "ES256", "EdDSA"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": meta["issuer"]},
                aud={"essential": True, "value": client_id},
                iat={"essential": True},
                exp={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError):
            return "", 400
        claims = token.claims
        event = "http://schemas.openid.net/event/backchannel-logout"
        if event not in (claims.get("events") or {}) or "nonce" in claims or not claims.get("sid"):
            return "", 400
        ended_sids.add(claims["sid"])
        return "", 200, {"Cache-Control": "no-store"}

    @app.get("/logout")
    def logout():
        id_token = session.pop("id_token", None)
        session.clear()
        meta = oauth.ugyfelkapu.load_server_metadata()
        params = {"post_logout_redirect_uri": f"{base_url}/", "client_id": client_id, "state": secrets.token_urlsafe(8)}
        if id_token:
            params["id_token_hint"] = id_token
        return redirect(f"{meta['end_session_endpoint']}?{urlencode(params)}")

    return app
