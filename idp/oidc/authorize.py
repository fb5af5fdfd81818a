"""The authorization endpoint's rules: validate a request once, judge it, issue the code.

``validate`` runs Authlib's validation of the current HTTP request (client,
exact redirect URI, response type, PKCE S256, scope, the OpenID Connect checks
of ``grants.AuthorizationCodeGrant``) and then ours (``id_token_hint``, the
claims parameter), and returns an ``AuthorizationRequest``: the request as it
will be stored on the interaction record (``idp.interactions``) and answered,
never parsed again.

``judge`` decides what happens next against the sign-in session and the gate:
sign in, a second factor (sign-in's second step or a step-up), fix the account
(a page per gate reason), consent, or issue the code. The session's level is
worked out again from its ``amr`` and the assurance policy, so ``acr`` always
follows the policy in force. With ``prompt=none`` every outcome that needs the
citizen becomes the standard error (OIDC Core §3.1.2.6): ``login_required``,
``interaction_required``, ``consent_required``.

Re-authentication stays with the request (OIDC Core §3.1.2.1; ASVS 5.0
V7.5.3): ``prompt=login`` is met only by a sign-in session begun after the
request arrived and other than the one live then, and ``max_age`` counts back
from the arrival.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from joserfc import jwt
from joserfc.errors import JoseError

from idp import metrics
from idp.accounts import assurance, gate, second_factor
from idp.accounts.gate import Reason
from idp.clients import scopes as sc
from idp.extensions import db
from idp.sessions import service as sessions

from . import claims as claim_rules
from . import refusals
from .refusals import Checkpoint
from idp.authorizations import codes, consent
from .responses import authorization_response

LOGIN = "login"
SECOND_FACTOR = "second_factor"
FIX = "fix"
CONSENT = "consent"
ISSUE = "issue"
ERROR = "error"


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request: what the agency asked for, in the shape it is stored."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    response_mode: str = "query"
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    min_acr: str | None = None
    #: The ``sub`` of a valid ``id_token_hint`` (as this client sees the citizen), when one was sent.
    hint_sub: str | None = None
    login_hint: str | None = None
    ui_locales: str | None = None

    def to_params(self) -> dict:
        values = dataclasses.asdict(self)
        values["prompt"] = list(self.prompt)
        return values

    @classmethod
    def from_params(cls, params: dict) -> AuthorizationRequest:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in params.items() if k in names}
        values["prompt"] = tuple(values.get("prompt") or ())
        return cls(**values)

    @property
    def silent(self) -> bool:
        return "none" in self.prompt


@dataclass
class Outcome:
    kind: str
    reasons: tuple[Reason, ...] = ()
    error: str | None = None
    missing_scopes: list[str] = field(default_factory=list)
    #: With ``acr_insufficient``: the citizen's second factor reaches the level (a code will do).
    step_up: bool = False


@dataclass(frozen=True)
class Moment:
    """When the request arrived and the sign-in session live then ("" for none); whether the
    citizen consented within its interaction."""

    asked_at: datetime
    start_sid: str = ""
    consented: bool = False


def _required_acr(data) -> str | None:
    values = (data.get("acr_values") or "").split()
    raw_claims = data.get("claims")
    if raw_claims:
        try:
            parsed = json.loads(raw_claims)
        except (ValueError, RecursionError):  # deeply nested arrays exhaust the parser's recursion
            raise InvalidRequestError("The claims parameter is not valid JSON.") from None
        id_token = parsed.get("id_token") if isinstance(parsed, dict) else None
        acr = id_token.get("acr") if isinstance(id_token, dict) else None
        if isinstance(acr, dict) and acr.get("essential"):
            wanted = acr.get("values") if isinstance(acr.get("values"), list) else []
            wanted = wanted or ([acr["value"]] if isinstance(acr.get("value"), str) else [])
            values += [v for v in wanted if isinstance(v, str)]
    return assurance.required_level(values)


def _hint_subject(rt, hint: str | None) -> str | None:
    """``id_token_hint`` (OIDC Core §3.1.2.1): an ID token we issued; its ``sub``."""
    if not hint:
        return None
    try:
        token = jwt.decode(hint, rt.keyring.public_keyset(rt.now()), algorithms=rt.keyring.supported_algorithms())
    except (JoseError, ValueError):
        raise InvalidRequestError("id_token_hint is not an ID token issued by this provider.") from None
    sub = token.claims.get("sub")
    if token.claims.get("iss") != rt.issuer or not isinstance(sub, str):
        raise InvalidRequestError("id_token_hint is not an ID token issued by this provider.")
    return sub


def _offline_only_with_consent(scope: str, prompt: str | None, client) -> str:
    """OIDC Core §11: ``offline_access`` is ignored unless the request has ``prompt=consent`` (so the
    citizen is asked every time), and unless the client is allowed to hold offline access."""
    asked = sc.parse(scope)
    if sc.OFFLINE_ACCESS not in asked:
        return scope
    allowed = sc.OFFLINE_ACCESS in sc.parse(client.allowed_scopes) and client.check_grant_type("refresh_token")
    if allowed and "consent" in (prompt or "").split():
        return scope
    return " ".join(s for s in asked if s != sc.OFFLINE_ACCESS)


def validate(rt, *, end_user=None):
    """Validate the current HTTP request as an authorization request; returns the request and its
    client. Raises Authlib's ``OAuth2Error``, with ``redirect_uri`` set only once that URI was
    validated for the client (then the error may go back to the agency)."""
    grant = rt.server.get_consent_grant(end_user=end_user)
    data = grant.request.payload.data
    try:
        max_age = data.get("max_age")
        request = AuthorizationRequest(
            client_id=grant.request.client.client_id,
            redirect_uri=grant.redirect_uri,
            scope=_offline_only_with_consent(grant.request.scope or "", data.get("prompt"), grant.request.client),
            state=data.get("state") or "",
            nonce=data.get("nonce") or "",
            code_challenge=data.get("code_challenge") or "",
            code_challenge_method=data.get("code_challenge_method") or "",
            response_mode=data.get("response_mode") or "query",
            prompt=tuple(dict.fromkeys((data.get("prompt") or "").split())),
            max_age=int(max_age) if max_age is not None else None,
            min_acr=_required_acr(data),
            hint_sub=_hint_subject(rt, data.get("id_token_hint")),
            login_hint=(data.get("login_hint") or "")[:64] or None,
            ui_locales=(data.get("ui_locales") or "")[:64] or None,
        )
    except InvalidRequestError as error:
        error.redirect_uri = grant.redirect_uri
        error.state = data.get("state")
        raise
    return request, grant.request.client


def _requirement(request: AuthorizationRequest, moment: Moment, sso) -> gate.Requirement:
    fresh = LOGIN in request.prompt
    if fresh and sso is not None:
        # Met only by a session that began after the request arrived, not the one live then.
        fresh = not (sso.sid != moment.start_sid and sso.auth_time >= moment.asked_at)
    return gate.Requirement(
        max_age=request.max_age, fresh_login=fresh, min_acr=request.min_acr, asked_at=moment.asked_at,
    )


def judge(rt, request: AuthorizationRequest, client, account, sso, moment: Moment) -> Outcome:
    requirement = _requirement(request, moment, sso)
    authentication = sessions.authentication_of(sso) if sso is not None else None
    if authentication is not None:
        authentication = replace(authentication, acr=assurance.level_for(authentication.amr, rt.assurance))
    decision = refusals.judged(account, rt.now(), rt.policy, "authorize", authentication, requirement) if account else None

    hint_matches = (
        request.hint_sub is None or account is None
        or request.hint_sub == claim_rules.subject_identifier(account, client, rt.pairwise_secret)
    )
    if account is None or Reason.LOGIN_REQUIRED in decision.reasons or not hint_matches:
        if request.silent:
            return Outcome(ERROR, error=refusals.ERRORS[Checkpoint.SILENT_AUTHORIZE][Reason.LOGIN_REQUIRED])
        return Outcome(LOGIN)
    if not decision.allowed:
        if request.silent:
            return Outcome(ERROR, error=refusals.error_for(Checkpoint.SILENT_AUTHORIZE, decision.reasons))
        step_up = second_factor.can_reach(account, requirement.min_acr, rt.assurance)
        if decision.reasons == (Reason.ACR_INSUFFICIENT,) and step_up:
            return Outcome(SECOND_FACTOR)
        return Outcome(FIX, reasons=decision.reasons, step_up=step_up)

    missing = consent.missing_scopes(db.session, account.id, client.id, request.scope)
    if not moment.consented and (missing or "consent" in request.prompt):
        if request.silent:
            return Outcome(ERROR, error="consent_required")
        asked = missing or [s for s in sc.parse(request.scope) if s != sc.OPENID]
        if sc.OFFLINE_ACCESS in sc.parse(request.scope) and sc.OFFLINE_ACCESS not in asked:
            asked.append(sc.OFFLINE_ACCESS)  # asked every time (Core §11), even when granted before
        return Outcome(CONSENT, missing_scopes=asked)
    return Outcome(ISSUE)


def issue(rt, request: AuthorizationRequest, client, account, sso):
    """The code for this request (RFC 6749 §4.1.2), remembering how the citizen signed in so the ID
    token states it; returns the response to send (status, body, headers). A nonce this client
    already used in a code (another tab answered the same request first) gets ``invalid_request``."""
    if codes.nonce_used(db.session, client.id, request.nonce):
        return error(rt, request, "invalid_request")
    code = generate_token(48)
    codes.store_code(
        db.session, code, client_pk=client.id, account_id=account.id, sid=sso.sid,
        redirect_uri=request.redirect_uri, scope=request.scope, nonce=request.nonce,
        code_challenge=request.code_challenge, code_challenge_method=request.code_challenge_method,
        auth_time=sso.auth_time, acr=assurance.level_for(sso.amr or [], rt.assurance), amr=list(sso.amr or []),
        now=rt.now(), lifetime=rt.settings.tokens.authorization_code_seconds,
    )
    metrics.issued("code", "authorization_code", client.client_id)
    params = [("code", code)]
    if request.state:
        params.append(("state", request.state))
    return authorization_response(request.redirect_uri, params, request.response_mode, rt.issuer)


def error(rt, request: AuthorizationRequest, name: str):
    """An error answered to the agency at the request's validated redirect URI, with ``state`` and
    ``iss`` (RFC 6749 §4.1.2.1, RFC 9207): ``access_denied`` when the citizen cancels or refuses."""
    params = [("error", name)]
    if request.state:
        params.append(("state", request.state))
    return authorization_response(request.redirect_uri, params, request.response_mode, rt.issuer)
