"""Judging a validated authorization request against the sign-in session and the gate.

The outcome names what happens next: sign in, fix the account (a page per gate
reason), step up (a code of the citizen's second factor, when that factor reaches
the level asked for under the operator's assurance policy), ask consent, or issue
a code. The session's level is worked out again from its ``amr`` and that policy,
so ``acr`` always follows the policy in force. With ``prompt=none`` every
outcome that needs the citizen becomes the standard error instead (OIDC Core
§3.1.2.6): ``login_required``, ``interaction_required``, ``consent_required``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from joserfc import jwt
from joserfc.errors import JoseError

from idp.accounts import assurance, gate, second_factor
from idp.accounts.gate import Reason
from idp.clients import scopes as sc
from idp.extensions import db
from idp.security.sealing import derive_key
from idp.sessions import service as sessions

from . import claims as claim_rules
from . import consent

LOGIN = "login"
FIX = "fix"
STEP_UP = "step_up"
CONSENT = "consent"
ISSUE = "issue"
ERROR = "error"


@dataclass
class Outcome:
    kind: str
    reasons: tuple[Reason, ...] = ()
    error: str | None = None
    missing_scopes: list[str] = field(default_factory=list)
    #: With ``acr_insufficient``: the citizen's second factor reaches the level (a code will do).
    step_up: bool = False


def prompts_of(data) -> set[str]:
    return set((data.get("prompt") or "").split())


def _required_acr(data) -> str | None:
    values = (data.get("acr_values") or "").split()
    raw_claims = data.get("claims")
    if raw_claims:
        try:
            parsed = json.loads(raw_claims)
        except (ValueError, RecursionError):  # deeply nested arrays exhaust the parser's recursion
            raise InvalidRequestError("The claims parameter is not valid JSON.") from None
        acr = parsed.get("id_token", {}).get("acr") if isinstance(parsed, dict) and isinstance(parsed.get("id_token"), dict) else None
        if isinstance(acr, dict) and acr.get("essential"):
            wanted = acr.get("values") if isinstance(acr.get("values"), list) else []
            wanted = wanted or ([acr["value"]] if isinstance(acr.get("value"), str) else [])
            values += [v for v in wanted if isinstance(v, str)]
    return assurance.required_level(values)


#: The resume URL's record of when the agency's request arrived and which session was live then.
REAUTH_MARK = "reauth_mark"
REAUTH_LABEL = "idp/reauthentication-mark/v1"


@dataclass(frozen=True)
class Mark:
    """When the agency's request arrived and the sign-in session live at that moment ("" for none).

    It travels in the resume URL, bound by an HMAC to the request's client and nonce, so it cannot be
    moved to another request or edited. With it, the request still demands what it demanded:
    ``prompt=login`` is met only by a sign-in session begun after the request arrived (OIDC Core
    §3.1.2.1; ASVS 5.0 V7.5.3), ``max_age`` counts back from the arrival.
    """

    asked_at: datetime
    sid: str


def _mark_mac(rt, body: str, data) -> str:
    key = derive_key(rt.settings.server.secret_key, REAUTH_LABEL)
    bound = "\x1f".join((body, data.get("client_id") or "", data.get("nonce") or ""))
    return base64.urlsafe_b64encode(hmac.new(key, bound.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def _encode_mark(rt, mark: Mark, data) -> str:
    body = f"{int(mark.asked_at.timestamp() * 1_000_000)}.{mark.sid}"
    return f"{body}.{_mark_mac(rt, body, data)}"


def mark_of(rt, data) -> Mark | None:
    """The request's verified mark, or None when it has none or it does not verify."""
    raw = data.get(REAUTH_MARK)
    if not isinstance(raw, str) or len(raw) > 200 or raw.count(".") != 2:
        return None
    micros, sid, mac = raw.split(".")
    if not hmac.compare_digest(mac.encode("ascii", "replace"), _mark_mac(rt, f"{micros}.{sid}", data).encode("ascii")):
        return None
    try:
        return Mark(datetime.fromtimestamp(int(micros) / 1_000_000, UTC), sid)
    except (ValueError, OverflowError):
        return None


def requirement_of(data, *, mark: Mark | None = None, sso=None) -> gate.Requirement:
    max_age = data.get("max_age")
    fresh = LOGIN in prompts_of(data)
    if fresh and mark is not None and sso is not None:
        # Met only by a session that began after the request arrived, not the one live then.
        fresh = not (sso.sid != mark.sid and sso.auth_time >= mark.asked_at)
    return gate.Requirement(
        max_age=int(max_age) if max_age is not None else None,
        fresh_login=fresh,
        min_acr=_required_acr(data),
        asked_at=mark.asked_at if mark is not None else None,
    )


def _hint_matches(rt, data, account, client) -> bool:
    """``id_token_hint`` (OIDC Core §3.1.2.1): true unless it names another citizen."""
    hint = data.get("id_token_hint")
    if not hint:
        return True
    try:
        token = jwt.decode(hint, rt.keyring.public_keyset(rt.now()), algorithms=rt.keyring.supported_algorithms())
    except (JoseError, ValueError):
        raise InvalidRequestError("id_token_hint is not an ID token issued by this provider.") from None
    if token.claims.get("iss") != rt.issuer:
        raise InvalidRequestError("id_token_hint is not an ID token issued by this provider.")
    if account is None:
        return True
    return token.claims.get("sub") == claim_rules.subject_identifier(account, client, rt.pairwise_secret)


def judge(rt, grant, account, sso, *, consent_given: bool = False) -> Outcome:
    data = grant.request.payload.data
    prompts = prompts_of(data)
    silent = "none" in prompts
    requirement = requirement_of(data, mark=mark_of(rt, data), sso=sso)
    now = rt.now()
    authentication = sessions.authentication_of(sso) if sso is not None else None
    if authentication is not None:
        authentication = replace(authentication, acr=assurance.level_for(authentication.amr, rt.assurance))
    decision = gate.evaluate(account, now, rt.policy, authentication, requirement) if account else None

    # A hint that is not our ID token is a malformed request, signed in or not.
    hint_matches = _hint_matches(rt, data, account, grant.request.client)
    if account is None or Reason.LOGIN_REQUIRED in decision.reasons or not hint_matches:
        return Outcome(ERROR, error="login_required") if silent else Outcome(LOGIN)
    if not decision.allowed:
        if silent:
            return Outcome(ERROR, error="interaction_required")
        step_up = second_factor.can_reach(account, requirement.min_acr, rt.assurance)
        if decision.reasons == (Reason.ACR_INSUFFICIENT,) and step_up:
            return Outcome(STEP_UP)
        return Outcome(FIX, reasons=decision.reasons, step_up=step_up)

    missing = consent.missing_scopes(db.session, account.id, grant.request.client.id, grant.request.scope)
    if not consent_given and (missing or "consent" in prompts):
        if silent:
            return Outcome(ERROR, error="consent_required")
        return Outcome(CONSENT, missing_scopes=missing or [s for s in sc.parse(grant.request.scope) if s != sc.OPENID])
    return Outcome(ISSUE)


def resume_query(rt, data, sso) -> str:
    """The authorization request to come back to after signing in, unchanged, with the mark of
    when it arrived (``Mark``) when it asks for re-authentication: the sign-in made for it then
    satisfies ``prompt=login`` and ``max_age`` without a loop, and nothing else does."""
    items = []
    for key in data:
        if key in {"csrf_token", "decision", REAUTH_MARK}:
            continue
        for value in data.getlist(key) if hasattr(data, "getlist") else [data[key]]:
            items.append((key, value))
    if LOGIN in prompts_of(data) or data.get("max_age") is not None:
        mark = mark_of(rt, data) or Mark(rt.now(), sso.sid if sso is not None else "")
        items.append((REAUTH_MARK, _encode_mark(rt, mark, data)))
    return urlencode(items)
