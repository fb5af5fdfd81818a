"""Sign a citizen in with Authlib's requests client; validate the ID token with joserfc.

    OIDC_ISSUER=https://ugyfelkapu.example.gov.hu OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... \
    OIDC_REDIRECT_URI=https://agency.example.hu/callback python authlib_client.py

It prints the address to open in a browser. After signing in, paste the address
the browser was sent back to (your redirect URI with ?code=...); it prints the
ID token's claims and the userinfo response as JSON.
"""

import json
import os
import secrets
import sys
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

issuer = os.environ["OIDC_ISSUER"]
client_id = os.environ["OIDC_CLIENT_ID"]
meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == issuer, "the discovery document names another issuer"

client = OAuth2Session(
    client_id,
    os.environ["OIDC_CLIENT_SECRET"],  # client_secret_basic, the default of `idp clients add`
    scope=os.environ.get("OIDC_SCOPE", "openid profile email"),
    redirect_uri=os.environ["OIDC_REDIRECT_URI"],
    code_challenge_method="S256",
)
verifier = secrets.token_urlsafe(48)  # PKCE: keep it with the state until the citizen returns
nonce = secrets.token_urlsafe(16)
url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
print(url, flush=True)

callback = sys.stdin.readline().strip()
# RFC 9207: the response names the provider that sent it. Authlib checks the state.
if parse_qs(urlsplit(callback).query).get("iss") != [issuer]:
    sys.exit("the authorization response comes from another issuer")
token = client.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)

keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])  # the algorithm your client registered
jwt.JWTClaimsRegistry(
    iss={"essential": True, "value": issuer},
    aud={"essential": True, "value": client_id},
    nonce={"essential": True, "value": nonce},
    exp={"essential": True},
).validate(id_token.claims)

userinfo = client.get(meta["userinfo_endpoint"], timeout=10).json()
assert userinfo["sub"] == id_token.claims["sub"]
print(json.dumps({"id_token": id_token.claims, "userinfo": userinfo}, ensure_ascii=False))
