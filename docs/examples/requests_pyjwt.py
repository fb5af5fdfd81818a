"""The code flow with nothing but requests and PyJWT.

    OIDC_ISSUER=https://ugyfelkapu.example.gov.hu OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... \
    OIDC_REDIRECT_URI=https://agency.example.hu/callback python requests_pyjwt.py

It prints the address to open in a browser. After signing in, paste the address
the browser was sent back to; it prints the ID token's claims and the userinfo
response as JSON.
"""

import base64
import hashlib
import json
import os
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests

issuer = os.environ["OIDC_ISSUER"]
client_id = os.environ["OIDC_CLIENT_ID"]
client_secret = os.environ["OIDC_CLIENT_SECRET"]
redirect_uri = os.environ["OIDC_REDIRECT_URI"]
meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == issuer, "the discovery document names another issuer"

# Keep these three with the citizen's browser session until the response comes back.
state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
print(meta["authorization_endpoint"] + "?" + urlencode({
    "response_type": "code",
    "client_id": client_id,
    "redirect_uri": redirect_uri,
    "scope": os.environ.get("OIDC_SCOPE", "openid profile email"),
    "state": state,
    "nonce": nonce,
    "code_challenge": challenge,
    "code_challenge_method": "S256",
}), flush=True)

response = {k: v[0] for k, v in parse_qs(urlsplit(sys.stdin.readline().strip()).query).items()}
if response.get("state") != state or response.get("iss") != issuer:  # RFC 9207: check iss too
    sys.exit("not the response to this request")
if "error" in response:
    sys.exit(f"refused: {response['error']}")

token = requests.post(meta["token_endpoint"], auth=(client_id, client_secret), timeout=10, data={
    "grant_type": "authorization_code",
    "code": response["code"],
    "redirect_uri": redirect_uri,
    "code_verifier": verifier,
})
token.raise_for_status()
token = token.json()

key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(token["id_token"])
claims = jwt.decode(token["id_token"], key.key, algorithms=["RS256"], audience=client_id, issuer=issuer)
if claims["nonce"] != nonce:
    sys.exit("the ID token was issued for another request")

userinfo = requests.get(meta["userinfo_endpoint"], timeout=10,
                        headers={"Authorization": f"Bearer {token['access_token']}"}).json()
assert userinfo["sub"] == claims["sub"]
print(json.dumps({"id_token": claims, "userinfo": userinfo}, ensure_ascii=False))
