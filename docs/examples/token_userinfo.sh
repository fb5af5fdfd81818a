#!/usr/bin/env bash
# Exchange a code, then read userinfo and introspect the access token, with curl.
#
#   OIDC_ISSUER=https://ugyfelkapu.example.gov.hu OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... \
#   OIDC_REDIRECT_URI=https://agency.example.hu/callback \
#   CODE=<code from the redirect> CODE_VERIFIER=<the PKCE verifier of that request> bash token_userinfo.sh
#
# Prints the userinfo response and the introspection response, one JSON document a line.
set -euo pipefail

config=$(curl -fsS "$OIDC_ISSUER/.well-known/openid-configuration")
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

token=$(curl -fsS -u "$OIDC_CLIENT_ID:$OIDC_CLIENT_SECRET" \
  --data-urlencode grant_type=authorization_code \
  --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$OIDC_REDIRECT_URI" \
  --data-urlencode "code_verifier=$CODE_VERIFIER" \
  "$(field "$config" token_endpoint)")
access_token=$(field "$token" access_token)

curl -fsS -H "Authorization: Bearer $access_token" "$(field "$config" userinfo_endpoint)"
echo
curl -fsS -u "$OIDC_CLIENT_ID:$OIDC_CLIENT_SECRET" --data-urlencode "token=$access_token" \
  "$(field "$config" introspection_endpoint)"
echo
