"""The integration guide (``/docs/integration``): its facts come from the code, and its examples are
executed here against a live provider, so they cannot rot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from markupsafe import escape

from idp.clients import scopes as sc
from idp.web.docs import EXAMPLES, EXAMPLES_DIR

from ..support.factories import make_account, make_client
from ..support.flows import pkce_pair, query_of
from ..support.live import browser_sign_in, follow_to_callback

REDIRECT = "http://127.0.0.1:9/callback"
TIMEOUT = 60


@pytest.mark.parametrize(("lang", "heading"), [("hu", "Tartalom"), ("en", "Contents")])
def test_the_guide_is_served_in_hungarian_and_english_with_facts_from_the_code(lang, heading, client, rt):
    page = client.get(f"/docs/integration?lang={lang}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and heading in html
    assert f"{rt.issuer}/.well-known/openid-configuration" in html
    for scope, claims in sc.SCOPE_CLAIMS.items():
        assert f"<code>{scope}</code>" in html
        for claim in claims:
            assert f"<code>{escape(claim)}</code>" in html
    for name in EXAMPLES:
        assert str(escape((EXAMPLES_DIR / name).read_text(encoding="utf-8"))) in html, f"{name} not shown verbatim"


def test_discovery_points_to_the_guide(client, rt):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["service_documentation"] == f"{rt.issuer}/docs/integration"
    assert client.get("/docs/integration").status_code == 200


def _registered(live):
    base, app = live
    rt = app.extensions["idp"]
    account = make_account(rt)
    c, secret = make_client(rt, redirect_uri=REDIRECT)
    env = {**os.environ, "OIDC_ISSUER": base, "OIDC_CLIENT_ID": c.client_id, "OIDC_CLIENT_SECRET": secret,
           "OIDC_REDIRECT_URI": REDIRECT}
    return account, env


@pytest.mark.e2e
@pytest.mark.parametrize("example", ["authlib_client.py", "requests_pyjwt.py"])
def test_the_python_examples_sign_a_citizen_in(example, live):
    account, env = _registered(live)
    process = subprocess.Popen([sys.executable, str(EXAMPLES_DIR / example)], env=env, encoding="utf-8",
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        authorize_url = process.stdout.readline().strip()
        assert authorize_url.startswith(env["OIDC_ISSUER"] + "/authorize?"), process.stderr.read()
        browser = requests.Session()
        callback = follow_to_callback(browser, browser_sign_in(browser, authorize_url, account.username), REDIRECT)
        out, err = process.communicate(callback + "\n", timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 0, err
    result = json.loads(out)
    assert result["userinfo"]["family_name"] == "Kovács"
    assert result["userinfo"]["sub"] == result["id_token"]["sub"]
    assert result["id_token"]["aud"] == env["OIDC_CLIENT_ID"]


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_example_exchanges_a_code_and_reads_userinfo(live):
    account, env = _registered(live)
    verifier, challenge = pkce_pair()
    authorize_url = env["OIDC_ISSUER"] + "/authorize?" + requests.compat.urlencode({
        "response_type": "code", "client_id": env["OIDC_CLIENT_ID"], "redirect_uri": REDIRECT,
        "scope": "openid profile email", "state": "s-1", "nonce": "n-1",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    browser = requests.Session()
    callback = follow_to_callback(browser, browser_sign_in(browser, authorize_url, account.username), REDIRECT)
    env.update(CODE=query_of(callback)["code"], CODE_VERIFIER=verifier)
    done = subprocess.run(["bash", str(EXAMPLES_DIR / "token_userinfo.sh")], env=env, capture_output=True, encoding="utf-8",
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    userinfo, introspection = (json.loads(line) for line in done.stdout.splitlines() if line.strip())
    assert userinfo["email"] == account.email
    assert introspection["active"] is True and introspection["sub"] == userinfo["sub"]
    assert set(introspection["scope"].split()) == {"openid", "profile", "email"}


def test_every_example_file_is_shown_in_the_guide():
    assert sorted(EXAMPLES) == sorted(p.name for p in Path(EXAMPLES_DIR).iterdir() if p.is_file())


def test_the_guide_says_which_method_reaches_which_level_under_the_operator_s_policy(client):
    html = client.get("/docs/integration?lang=en").get_data(as_text=True)
    row = html.split("Password and a device-bound passkey or security key", 1)[1].split("</tr>", 1)[0]
    assert "<code>hwk</code>" in row and "http://eidas.europa.eu/LoA/substantial" in row
    row = html.split("Password and a code sent by email", 1)[1].split("</tr>", 1)[0]
    assert "http://eidas.europa.eu/LoA/low" in row  # not counted by default
    assert "(not offered here)" in html  # passwordless is off by default
