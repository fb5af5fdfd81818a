"""Typed configuration: TOML file, then environment, validated at start-up.

Every field is documented where it is declared; ``config.example.toml`` is
generated from these classes (``idp config example``) and a test fails when the
committed file drifts. A value of the wrong type, an unknown key, or an unsafe
production setting stops start-up with a message naming the key.

Environment variables override the file: ``IDP_<SECTION>_<KEY>`` (for example
``IDP_SERVER_SECRET_KEY``, ``IDP_DATABASE_URL``, ``IDP_KEYS_PASSPHRASE``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A configuration problem; ``key`` names the offending setting."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


def _doc(text: str, *, secret: bool = False, example: Any = None) -> dict:
    return {"doc": text, "secret": secret, "example": example}


@dataclass
class ServerSettings:
    issuer: str = field(
        default="https://idp.example.gov.hu",
        metadata=_doc(
            "Issuer identifier: the public https URL agencies use (no trailing slash). "
            "http:// is allowed only in development mode on a loopback host."
        ),
    )
    development: bool = field(
        default=False,
        metadata=_doc(
            "Development mode: allows an http:// issuer on loopback and generates missing "
            "signing keys. Never enable in production."
        ),
    )
    secret_key: str = field(
        default="",
        metadata=_doc(
            "Secret for signing the CSRF cookie session (at least 32 characters); the key that seals "
            "officers' TOTP secrets is derived from it, so rotating it means re-enrolling every officer "
            "(idp officers reset-totp), and electronic registration documents issued before it no longer "
            "verify (the citizen downloads a new one). Required; set it from the environment: "
            "IDP_SERVER_SECRET_KEY.",
            secret=True,
        ),
    )
    default_locale: str = field(default="hu", metadata=_doc("Language of pages and mail when nothing else decides: hu or en."))
    trusted_proxies: int = field(
        default=0,
        metadata=_doc(
            "Number of reverse proxies in front of the provider whose X-Forwarded-For/-Proto "
            "headers are trusted (0 when clients connect directly)."
        ),
    )


@dataclass
class DatabaseSettings:
    url: str = field(
        default="sqlite:///instance/idp.sqlite3",
        metadata=_doc(
            "SQLAlchemy URL. SQLite (relative paths are under the working directory) for one "
            "machine; PostgreSQL in production, e.g. postgresql+psycopg://idp@db/idp.",
            secret=True,
        ),
    )
    pool_size: int = field(default=5, metadata=_doc("Connections kept per worker process (PostgreSQL)."))
    pool_recycle_seconds: int = field(
        default=1800,
        metadata=_doc(
            "A pooled connection older than this is replaced before use (PostgreSQL). There is no "
            "ping before each checkout: a connection found dead invalidates the pool, and a read-only "
            "lookup that met it is retried once on a fresh connection."
        ),
    )
    client_snapshot_seconds: int = field(
        default=5,
        metadata=_doc(
            "Each worker keeps the clients it served in memory and checks one against the database "
            "(its updated_at) at most this often: a suspension, a secret rotation or an edit made on "
            "another instance takes effect within this time (0: check on every request). A change "
            "made through this process takes effect at once."
        ),
    )


@dataclass
class SharedStateSettings:
    redis_url: str = field(
        default="",
        metadata=_doc(
            "Redis URL for state shared by several instances (sign-in throttling, replay "
            "caches), e.g. redis://127.0.0.1:6379/0. Empty: kept in process, fine for one instance.",
            secret=True,
        ),
    )


@dataclass
class KeysSettings:
    dir: str = field(default="keys", metadata=_doc("Folder of the signing keys (relative to the working directory)."))
    passphrase: str = field(
        default="",
        metadata=_doc(
            "Passphrase that encrypts the private keys at rest (at least 16 characters). "
            "Required; set it from the environment: IDP_KEYS_PASSPHRASE.",
            secret=True,
        ),
    )
    algorithms: list[str] = field(
        default_factory=lambda: ["RS256", "ES256", "EdDSA"],
        metadata=_doc("Signing algorithms with a key each. RS256 must be present (the OpenID Connect default)."),
    )
    retain_previous_seconds: int = field(
        default=86400,
        metadata=_doc(
            "After a rotation, how long the previous key stays published in the JWKS. Must be "
            "longer than any token signed with it lives."
        ),
    )
    trusted_ca_dir: str = field(
        default="keys/trusted-ca",
        metadata=_doc(
            "Folder of the CA certificates (*.pem, *.crt, *.cer) that citizens' signing certificates "
            "must chain to for electronic registration. Read at each registration; missing or empty: "
            "electronic registration is refused (signature_untrusted)."
        ),
    )
    trusted_tsa_dir: str = field(
        default="keys/trusted-tsa",
        metadata=_doc(
            "Folder of the certificates (*.pem, *.crt, *.cer) of the time-stamping authorities (RFC 3161) "
            "whose signature timestamps (CAdES-T) are trusted for electronic registration: each file the "
            "TSA's own certificate (extendedKeyUsage timeStamping) or the CA that issues TSA certificates. "
            "A signing certificate is validated at the upload; a trusted timestamp lets one that has expired "
            "since count at the timestamp's time instead. Read at each registration; missing or empty (the "
            "default): no timestamp is trusted, every certificate is validated at the upload."
        ),
    )
    crl_dir: str = field(
        default="keys/crl",
        metadata=_doc(
            "Folder of the CRLs (*.crl, *.pem, *.der; DER or PEM) of the trusted CAs and TSAs, which "
            "electronic registration checks revocation against (nothing is fetched). Read at each "
            "registration; a CRL counts only between its thisUpdate and nextUpdate, so refresh the files "
            "before they run out (e.g. a scheduled download of each CA's CRL). A certificate that names a "
            "CRL distribution point or an OCSP responder and is covered by no current CRL here is refused "
            "(revocation_unknown); one a CRL lists is refused (certificate_revoked)."
        ),
    )


@dataclass
class TokenSettings:
    authorization_code_seconds: int = field(default=60, metadata=_doc("Lifetime of an authorization code (RFC 9700 §4.1: short)."))
    access_token_seconds: int = field(default=600, metadata=_doc("Lifetime of an access token."))
    id_token_seconds: int = field(default=600, metadata=_doc("Lifetime of an ID token."))
    refresh_token_seconds: int = field(
        default=8 * 3600, metadata=_doc("Absolute lifetime of a refresh token family from the sign-in that started it.")
    )
    pushed_request_seconds: int = field(
        default=60,
        metadata=_doc("Lifetime of a pushed authorization request's request_uri (RFC 9126 §2.2; at most 90 s)."),
    )
    require_pushed_authorization_requests: bool = field(
        default=False,
        metadata=_doc(
            "Every client must push its authorization requests (RFC 9126 §5); a client can also be required "
            "alone (idp clients add --require-par, or require_pushed_authorization_requests at registration)."
        ),
    )


@dataclass
class SessionSettings:
    idle_seconds: int = field(default=30 * 60, metadata=_doc("A sign-in session unused this long ends (ASVS 7.3.1)."))
    absolute_seconds: int = field(default=12 * 3600, metadata=_doc("A sign-in session ends this long after sign-in, used or not (ASVS 7.3.2)."))
    cookie_name: str = field(
        default="",
        metadata=_doc(
            "Name of the sign-in session cookie. Empty: __Host-idp_session over https, "
            "idp_session over http (development)."
        ),
    )
    interaction_seconds: int = field(
        default=10 * 60,
        metadata=_doc(
            "How long an agency's request waits for the citizen (sign-in, second factor, consent) before "
            "the citizen must start again at the agency."
        ),
    )


@dataclass
class LogoutSettings:
    backchannel_timeout_seconds: int = field(
        default=5,
        metadata=_doc("How long one back-channel logout POST to an agency may take (connect and answer) before it counts as failed."),
    )
    backchannel_retry_seconds: list[int] = field(
        default_factory=lambda: [60, 300, 1800, 7200, 21600],
        metadata=_doc(
            "Waits before each retry of a back-channel logout an agency did not accept (backoff); after the "
            "last one the notice is given up and stays recorded. Retries are sent by `idp jobs run`."
        ),
    )
    backchannel_in_background: bool = field(
        default=True,
        metadata=_doc(
            "Send the first attempt from a background thread right after the sign-out commits (the citizen "
            "does not wait for agencies); false sends it before the response (tests, single-threaded tools)."
        ),
    )


@dataclass
class SecuritySettings:
    pairwise_secret: str = field(
        default="",
        metadata=_doc(
            "Secret mixed into pairwise subject identifiers (at least 32 characters). Changing "
            "it changes every sub agencies know. Required; set it from the environment: "
            "IDP_SECURITY_PAIRWISE_SECRET.",
            secret=True,
        ),
    )
    argon2_time_cost: int = field(
        default=3,
        metadata=_doc(
            "argon2id passes (RFC 9106 §4: 3 with 64 MiB). Recommended 2-4; at least 1 (with at least "
            "46 MiB, OWASP). A stored hash made with other parameters is made again at its next sign-in."
        ),
    )
    argon2_memory_kib: int = field(
        default=65536,
        metadata=_doc(
            "argon2id memory in KiB (RFC 9106 §4: 64 MiB). Recommended 19456-262144 (19-256 MiB); "
            "below 19456 the provider warns at start outside development (OWASP's floor). Each sign-in holds this "
            "much memory while it runs: size workers x threads x this within the machine's memory."
        ),
    )
    argon2_parallelism: int = field(
        default=2,
        metadata=_doc("argon2id lanes (1-16; recommended 1-4): at most the cores one worker's machine has."),
    )
    login_account_failures_before_delay: int = field(
        default=3, metadata=_doc("Failed sign-ins on one username before each next try must wait (doubling).")
    )
    login_account_failures_before_block: int = field(
        default=10, metadata=_doc("Failed sign-ins on one username within the window before it is refused for the window.")
    )
    login_address_failures_before_block: int = field(
        default=50, metadata=_doc("Failed sign-ins from one address within the window before it is refused for the window.")
    )
    login_account_failures_per_day: int = field(
        default=100,
        metadata=_doc("Failed sign-ins on one username within a day before it is refused for a day (NIST SP 800-63B: 100)."),
    )
    login_window_seconds: int = field(
        default=15 * 60, metadata=_doc("Window of the failure counters; a block ends with it, so nobody is locked out for good.")
    )
    client_auth_failures_before_block: int = field(
        default=20,
        metadata=_doc(
            "Failed client authentications (token, introspection, revocation, PAR) naming one client_id within the "
            "window before it is refused (429) for the window, except from addresses it authenticated from lately."
        ),
    )
    client_auth_address_failures_before_block: int = field(
        default=50,
        metadata=_doc("Failed client authentications from one address within the window before it is refused (429)."),
    )


@dataclass
class AssuranceSettings:
    substantial_methods: list[str] = field(
        default_factory=lambda: ["otp", "passkey"],
        metadata=_doc(
            "Second factors that give the level substantial (acr http://eidas.europa.eu/LoA/substantial): otp "
            "(an authenticator app, with the password), email (a six-digit code sent by email, with the "
            "password) and passkey (a passkey or security key used with user verification: after the "
            "password, or alone where [passkeys] passwordless allows it). Must include otp. Default otp and "
            "passkey: an emailed code then gives low, because NIST SP 800-63B §5.1.3.1 does not accept email "
            'as an out-of-band authenticator; the real service counts the emailed code too: ["otp", "email", '
            '"passkey"].'
        ),
    )


@dataclass
class PasskeySettings:
    passwordless: bool = field(
        default=False,
        metadata=_doc(
            "Offer sign-in with a passkey alone (a discoverable credential, with user verification) on the "
            "sign-in page, without the password. Off: a passkey is only the second step after the password "
            "and a step-up."
        ),
    )
    relying_party_name: str = field(
        default="Ügyfélkapu",
        metadata=_doc(
            "The name authenticators show beside a passkey. The relying party ID is always the issuer's host "
            "and the origin the issuer's origin (WebAuthn §5.1.3)."
        ),
    )


@dataclass
class PolicySettings:
    account_validity_days: int = field(
        default=5 * 365,
        metadata=_doc(
            "Account validity from recording (seed rule: five years). 0: the account has no end date "
            "(the rule in force since 2009)."
        ),
    )
    password_max_age_days: int = field(
        default=0, metadata=_doc("Password validity in days (0: as long as the account; the 2009 rule: 730).")
    )
    password_renewal_grace_days: int = field(
        default=60,
        metadata=_doc(
            "With a password validity set: how long after the password expired the citizen may still "
            "renew it after signing in; beyond that, reactivation in person at an office."
        ),
    )
    activation_days: int = field(default=5, metadata=_doc("Days to activate a registration with the emailed code (seed: five)."))
    reminder_days: list[int] = field(
        default_factory=lambda: [30, 7],
        metadata=_doc(
            "Days before the end of validity (under the 2009 rule: of the password) when a reminder "
            "email is sent. Only the nearest one due is sent, each once."
        ),
    )
    activation_code_attempts: int = field(
        default=5,
        metadata=_doc(
            "Wrong activation codes accepted before the code is revoked; the citizen then gets a new "
            "code at an office."
        ),
    )
    pending_registration_days: int = field(
        default=30,
        metadata=_doc(
            "Days an online pre-registration waits for identity verification at an office; after "
            "that it lapses and its data are erased."
        ),
    )
    electronic_registration_office: str = field(
        default="",
        metadata=_doc(
            "Code of the office that stands as the registering office of electronic registrations "
            "(PRODUCT.md rule 9: only it changes their data or deletes them, in person). Empty: no "
            "office may change or delete such an account until one is designated.",
            example="BP-XI-01",
        ),
    )
    statement_version: str = field(
        default="2026-1",
        metadata=_doc(
            "Version of the data-provision statement (Adatszolgáltatási nyilatkozat) citizens sign now; "
            "recorded with every registration. Change it when the statement's text changes."
        ),
    )
    registration_document_days: int = field(
        default=7,
        metadata=_doc(
            "Days an electronic registration document may be uploaded, signed, after the provider issued it "
            "(its sealed created_at); an older one is refused (registration_document_expired) and the citizen "
            "downloads a new one. It also bounds how far back a signature timestamp can date a signature."
        ),
    )


@dataclass
class RecoverySettings:
    link_minutes: int = field(
        default=30,
        metadata=_doc(
            "Minutes a mailed password-recovery link works (once). NIST SP 800-63B §6.1.2.3 leaves the "
            "time to the verifier; short, because the link stands in for the password."
        ),
    )
    requests_per_account: int = field(
        default=3,
        metadata=_doc(
            "Recovery requests per username in the window that may send a mail; more are answered the "
            "same way and send nothing."
        ),
    )
    requests_per_address: int = field(
        default=20, metadata=_doc("Recovery requests per network address in the window that may send a mail.")
    )
    window_seconds: int = field(default=3600, metadata=_doc("The window of the recovery request limits."))


@dataclass
class MailSettings:
    backend: str = field(
        default="outbox",
        metadata=_doc(
            "Where mail goes: outbox (written as .eml files to outbox_dir and named in the log; the "
            "zero-setup demo) or smtp (a real mail server; production)."
        ),
    )
    from_address: str = field(
        default="Ügyfélkapu <ugyfelkapu@idp.example.gov.hu>",
        metadata=_doc("Sender of every mail (From), optionally with a display name; its domain also names the Message-ID."),
    )
    timezone: str = field(
        default="Europe/Budapest", metadata=_doc("Time zone (IANA name) in which mail states dates and times.")
    )
    outbox_dir: str = field(
        default="instance/outbox",
        metadata=_doc(
            "Outbox backend: folder of the written mail (relative to the working directory; created "
            "readable by the owner only, since mail carries one-time codes)."
        ),
    )
    smtp_host: str = field(default="", metadata=_doc("SMTP backend: the mail server's host name. Required with backend = smtp."))
    smtp_port: int = field(
        default=0, metadata=_doc("SMTP backend: port (0: the default of smtp_security: starttls 587, tls 465, none 25).")
    )
    smtp_security: str = field(
        default="starttls",
        metadata=_doc(
            "SMTP backend: starttls (upgrade on submission port 587), tls (implicit TLS, port 465) or "
            "none (plain text, allowed only to a loopback host such as a local relay). Over TLS the "
            "server's certificate is always verified."
        ),
    )
    smtp_ca_file: str = field(
        default="",
        metadata=_doc(
            "SMTP backend: PEM file of the CA(s) that issued the server's certificate, for a private CA; "
            "when set, only these are trusted. Empty: the system's trusted CAs."
        ),
    )
    smtp_username: str = field(default="", metadata=_doc("SMTP backend: user name for AUTH; empty: no authentication."))
    smtp_password: str = field(
        default="", metadata=_doc("SMTP backend: password for AUTH (ASCII, as smtplib sends it).", secret=True)
    )
    smtp_timeout_seconds: int = field(
        default=10, metadata=_doc("SMTP backend: seconds to wait for the server at each step before giving up.")
    )


@dataclass
class LoggingSettings:
    format: str = field(
        default="json",
        metadata=_doc(
            "json: one JSON object per line (time, level, logger, process, request_id, message and the "
            "event's fields), for production log collectors; console: a readable line, for development "
            "(the demo's default)."
        ),
    )
    level: str = field(
        default="INFO",
        metadata=_doc(
            "Lowest level logged: DEBUG, INFO, WARNING or ERROR. Libraries that log request data below a "
            "safe level (Authlib, SQLAlchemy, urllib3) stay at that level whatever is set here."
        ),
    )


@dataclass
class MetricsSettings:
    allow_from: list[str] = field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        metadata=_doc(
            "Addresses and networks (CIDR) that may read GET /metrics (Prometheus text format); the "
            "address is the one the provider sees (the proxy's own unless server.trusted_proxies is set). "
            "Empty: no address is refused by this rule (then set token)."
        ),
    )
    token: str = field(
        default="",
        metadata=_doc(
            "Bearer token a scraper must send (Authorization: Bearer ...), compared in constant time, "
            "at least 32 characters; set it from the environment: IDP_METRICS_TOKEN. Empty: no token is "
            "asked. With both allow_from and token, a scrape needs both.",
            secret=True,
        ),
    )
    jobs_textfile: str = field(
        default="",
        metadata=_doc(
            "File where `idp jobs run` (a separate process, from cron) writes what its run did, in the "
            "Prometheus text format, for node_exporter's textfile collector (e.g. "
            "/var/lib/node_exporter/textfile/idp_jobs.prom; written atomically). Empty: not written."
        ),
    )


@dataclass
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    shared_state: SharedStateSettings = field(default_factory=SharedStateSettings)
    keys: KeysSettings = field(default_factory=KeysSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    logout: LogoutSettings = field(default_factory=LogoutSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    assurance: AssuranceSettings = field(default_factory=AssuranceSettings)
    passkeys: PasskeySettings = field(default_factory=PasskeySettings)
    recovery: RecoverySettings = field(default_factory=RecoverySettings)
    mail: MailSettings = field(default_factory=MailSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @property
    def is_https(self) -> bool:
        return self.server.issuer.startswith("https://")

    @property
    def session_cookie_name(self) -> str:
        if self.session.cookie_name:
            return self.session.cookie_name
        return "__Host-idp_session" if self.is_https else "idp_session"

    def validate(self) -> Settings:
        _validate(self)
        return self




def _section_classes() -> dict[str, type]:
    hints = get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    text = str(annotation)
    if annotation is bool or text == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
            return value.lower() in {"true", "1", "yes"}
        raise SettingsError(key, f"expected true or false, got {value!r}")
    if annotation is int or text == "int":
        if isinstance(value, bool):
            raise SettingsError(key, f"expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise SettingsError(key, f"expected an integer, got {value!r}")
    if annotation is str or text == "str":
        if isinstance(value, str):
            return value
        raise SettingsError(key, f"expected a string, got {value!r}")
    if text.startswith("list["):
        inner = int if "int" in text else str
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise SettingsError(key, f"expected a list, got {value!r}")
        return [_coerce(key, v, inner) for v in value]
    raise SettingsError(key, f"unsupported type {annotation!r}")  # pragma: no cover - programming error


def load_settings(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings from a TOML file (optional) and the environment, then validate."""
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise SettingsError("--config", f"file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError("--config", f"not valid TOML: {exc}") from None
    return build_settings(data, environ).validate()


def build_settings(data: dict[str, Any], environ: dict[str, str] | None = None) -> Settings:
    """Build (without validating) settings from parsed TOML and environment overrides."""
    environ = environ or {}
    classes = _section_classes()
    unknown = set(data) - set(classes)
    if unknown:
        raise SettingsError(sorted(unknown)[0], "unknown section")
    sections = {}
    for name, cls in classes.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise SettingsError(name, "expected a table")
        hints = get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        for key in raw:
            if key not in known:
                raise SettingsError(f"{name}.{key}", "unknown key")
        values = {}
        for f in dataclasses.fields(cls):
            full = f"{name}.{f.name}"
            env_name = f"IDP_{name.upper()}_{f.name.upper()}"
            if env_name in environ:
                values[f.name] = _coerce(env_name, environ[env_name], hints[f.name])
            elif f.name in raw:
                values[f.name] = _coerce(full, raw[f.name], hints[f.name])
        sections[name] = cls(**values)
    return Settings(**sections)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _validate(s: Settings) -> None:
    parts = urlsplit(s.server.issuer)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise SettingsError("server.issuer", "must be an absolute https:// URL")
    if parts.query or parts.fragment or s.server.issuer.endswith("/"):
        raise SettingsError("server.issuer", "must have no query, fragment or trailing slash")
    if parts.scheme == "http":
        if not s.server.development:
            raise SettingsError("server.issuer", "http:// is allowed only with server.development = true")
        if not _is_loopback(parts.hostname):
            raise SettingsError("server.issuer", "http:// is allowed only on a loopback host (localhost, 127.0.0.1, ::1)")
    if len(s.server.secret_key) < 32:
        raise SettingsError("server.secret_key", "missing or shorter than 32 characters (set IDP_SERVER_SECRET_KEY)")
    if len(s.keys.passphrase) < 16:
        raise SettingsError("keys.passphrase", "missing or shorter than 16 characters (set IDP_KEYS_PASSPHRASE)")
    if len(s.security.pairwise_secret) < 32:
        raise SettingsError(
            "security.pairwise_secret", "missing or shorter than 32 characters (set IDP_SECURITY_PAIRWISE_SECRET)"
        )
    if s.server.default_locale not in {"hu", "en"}:
        raise SettingsError("server.default_locale", "must be hu or en")
    if "RS256" not in s.keys.algorithms:
        raise SettingsError("keys.algorithms", "must include RS256")
    unsupported = set(s.keys.algorithms) - {"RS256", "ES256", "EdDSA"}
    if unsupported:
        raise SettingsError("keys.algorithms", f"unsupported: {', '.join(sorted(unsupported))}")
    if s.keys.retain_previous_seconds <= max(s.tokens.id_token_seconds, s.tokens.access_token_seconds):
        raise SettingsError("keys.retain_previous_seconds", "must be longer than the ID and access token lifetimes")
    _validate_argon2(s)
    if not 0 <= s.database.client_snapshot_seconds <= 60:
        raise SettingsError("database.client_snapshot_seconds", "must be between 0 and 60")
    if s.database.pool_recycle_seconds <= 0:
        raise SettingsError("database.pool_recycle_seconds", "must be positive")
    if not 1 <= s.tokens.authorization_code_seconds <= 600:
        raise SettingsError("tokens.authorization_code_seconds", "must be between 1 and 600 (RFC 6749 §4.1.2)")
    for key in ("access_token_seconds", "id_token_seconds", "refresh_token_seconds"):
        if getattr(s.tokens, key) <= 0:
            raise SettingsError(f"tokens.{key}", "must be positive")
    if not 1 <= s.logout.backchannel_timeout_seconds <= 60:
        raise SettingsError("logout.backchannel_timeout_seconds", "must be between 1 and 60")
    if any(w <= 0 for w in s.logout.backchannel_retry_seconds):
        raise SettingsError("logout.backchannel_retry_seconds", "every wait must be positive")
    if not 1 <= s.tokens.pushed_request_seconds <= 90:
        raise SettingsError("tokens.pushed_request_seconds", "must be between 1 and 90 (RFC 9126 §2.2)")
    if not 5 <= s.recovery.link_minutes <= 24 * 60:
        raise SettingsError("recovery.link_minutes", "must be between 5 and 1440")
    for key in ("requests_per_account", "requests_per_address", "window_seconds"):
        if getattr(s.recovery, key) <= 0:
            raise SettingsError(f"recovery.{key}", "must be positive")
    if not 60 <= s.session.interaction_seconds <= 3600:
        raise SettingsError("session.interaction_seconds", "must be between 60 and 3600")
    if s.session.idle_seconds <= 0 or s.session.absolute_seconds < s.session.idle_seconds:
        raise SettingsError("session.absolute_seconds", "must be positive and at least session.idle_seconds")
    if s.is_https and s.session.cookie_name and not s.session.cookie_name.startswith("__Host-"):
        raise SettingsError("session.cookie_name", "over https the name must start with __Host-")
    if s.policy.account_validity_days < 0 or s.policy.password_max_age_days < 0:
        raise SettingsError("policy.account_validity_days", "must not be negative")
    if s.policy.account_validity_days == 0 and s.policy.password_max_age_days == 0:
        raise SettingsError("policy.password_max_age_days", "set it when accounts have no end date (the 2009 rule)")
    if s.policy.activation_days <= 0:
        raise SettingsError("policy.activation_days", "must be positive")
    if not 1 <= s.policy.activation_code_attempts <= 20:
        raise SettingsError("policy.activation_code_attempts", "must be between 1 and 20")
    if s.policy.pending_registration_days <= 0:
        raise SettingsError("policy.pending_registration_days", "must be positive")
    if not 1 <= s.policy.registration_document_days <= 90:
        raise SettingsError("policy.registration_document_days", "must be between 1 and 90")
    if any(d <= 0 for d in s.policy.reminder_days):
        raise SettingsError("policy.reminder_days", "must be positive numbers of days")
    if not s.policy.statement_version.strip() or len(s.policy.statement_version) > 32:
        raise SettingsError("policy.statement_version", "must be 1 to 32 characters")
    if s.database.url.startswith("sqlite") is False and "://" not in s.database.url:
        raise SettingsError("database.url", "must be an SQLAlchemy URL")
    for n in (
        "login_account_failures_before_delay",
        "login_account_failures_before_block",
        "login_account_failures_per_day",
        "login_address_failures_before_block",
        "login_window_seconds",
        "client_auth_failures_before_block",
        "client_auth_address_failures_before_block",
    ):
        if getattr(s.security, n) <= 0:
            raise SettingsError(f"security.{n}", "must be positive")
    unknown = set(s.assurance.substantial_methods) - {"otp", "email", "passkey"}
    if unknown or "otp" not in s.assurance.substantial_methods:
        raise SettingsError("assurance.substantial_methods", "must include otp and may add email and passkey (nothing else)")
    if not s.passkeys.relying_party_name.strip() or len(s.passkeys.relying_party_name) > 64:
        raise SettingsError("passkeys.relying_party_name", "must be 1 to 64 characters")
    _validate_mail(s.mail)
    _validate_logging(s.logging)
    _validate_metrics(s.metrics)


def _validate_logging(lg: LoggingSettings) -> None:
    if lg.format not in {"json", "console"}:
        raise SettingsError("logging.format", "must be json or console")
    if lg.level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError("logging.level", "must be DEBUG, INFO, WARNING or ERROR")


def _validate_metrics(m: MetricsSettings) -> None:
    for value in m.allow_from:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise SettingsError("metrics.allow_from", f"not an address or network: {value!r}") from None
    if not m.allow_from and not m.token:
        raise SettingsError("metrics.allow_from", "empty and no metrics.token: /metrics would be open to anyone")
    if m.token and len(m.token) < 32:
        raise SettingsError("metrics.token", "shorter than 32 characters (set IDP_METRICS_TOKEN)")


def load_logging_settings(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> LoggingSettings:
    """Only the ``[logging]`` section of the file and the environment, validated: what a process
    needs to set up its logs before the application (and the rest of its settings) is loaded."""
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    if path:
        with open(path, "rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise SettingsError("--config", f"not valid TOML: {exc}") from None
    section = data.get("logging", {})
    if not isinstance(section, dict):
        raise SettingsError("logging", "expected a table")
    settings = build_settings({"logging": section}, {k: v for k, v in environ.items() if k.startswith("IDP_LOGGING_")})
    _validate_logging(settings.logging)
    return settings.logging


#: OWASP Password Storage Cheat Sheet's floor for argon2id (19 MiB, 2 passes, 1 lane).
ARGON2_MIN_MEMORY_KIB = 19456


def _validate_argon2(s: Settings) -> None:
    """Hard bounds only (RFC 9106 §3.1); below the recommended floor the provider starts but says
    so (``argon2_below_floor``), since tests and development hash many passwords."""
    sec = s.security
    if not 1 <= sec.argon2_parallelism <= 16:
        raise SettingsError("security.argon2_parallelism", "must be between 1 and 16")
    if not 1 <= sec.argon2_time_cost <= 20:
        raise SettingsError("security.argon2_time_cost", "must be between 1 and 20")
    if sec.argon2_memory_kib < 8 * sec.argon2_parallelism:
        raise SettingsError("security.argon2_memory_kib", "must be at least 8 KiB per lane (RFC 9106 §3.1)")


def argon2_below_floor(s: Settings) -> str | None:
    """Why the argon2id parameters are below the recommended floor (NIST SP 800-63B §5.1.1.2: a
    cost as large as practical; the floor is OWASP's), or None."""
    sec = s.security
    if sec.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB:
        return f"security.argon2_memory_kib is below {ARGON2_MIN_MEMORY_KIB} (19 MiB)"
    if sec.argon2_time_cost < 2 and sec.argon2_memory_kib < 47104:
        return "security.argon2_time_cost is 1 with less than 46 MiB of memory"
    return None


def _validate_mail(m: MailSettings) -> None:
    if m.backend not in {"outbox", "smtp"}:
        raise SettingsError("mail.backend", "must be outbox or smtp")
    address = parseaddr(m.from_address)[1]
    if "@" not in address or not address.isascii() or "\r" in m.from_address or "\n" in m.from_address:
        raise SettingsError("mail.from_address", "must be an ASCII email address, optionally with a display name")
    try:
        ZoneInfo(m.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError("mail.timezone", f"unknown time zone {m.timezone!r}") from None
    if m.backend == "outbox" and not m.outbox_dir:
        raise SettingsError("mail.outbox_dir", "required with backend = outbox")
    if m.backend != "smtp":
        return
    if not m.smtp_host:
        raise SettingsError("mail.smtp_host", "required with backend = smtp")
    if m.smtp_security not in {"starttls", "tls", "none"}:
        raise SettingsError("mail.smtp_security", "must be starttls, tls or none")
    if m.smtp_security == "none" and not _is_loopback(m.smtp_host):
        raise SettingsError("mail.smtp_security", "none (plain text) is allowed only to a loopback host")
    if not 0 <= m.smtp_port <= 65535:
        raise SettingsError("mail.smtp_port", "must be between 0 and 65535")
    if m.smtp_timeout_seconds <= 0:
        raise SettingsError("mail.smtp_timeout_seconds", "must be positive")
    if m.smtp_password and not m.smtp_username:
        raise SettingsError("mail.smtp_username", "required when a password is set")
    if m.smtp_username and not m.smtp_password:
        raise SettingsError("mail.smtp_password", "missing for mail.smtp_username (set IDP_MAIL_SMTP_PASSWORD)")
    if not (m.smtp_username.isascii() and m.smtp_password.isascii()):
        raise SettingsError("mail.smtp_password", "user name and password must be ASCII (as smtplib sends AUTH)")
    if m.smtp_ca_file and not resolve_path(m.smtp_ca_file).is_file():
        raise SettingsError("mail.smtp_ca_file", f"file not found: {m.smtp_ca_file}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def example_toml() -> str:
    """The documented example configuration, generated from the classes above."""
    lines = [
        "# Configuration of the Ügyfélkapu identity provider.",
        "# Generated by `idp config example` from idp/settings.py; do not edit by hand.",
        "# Every key can be overridden from the environment as IDP_<SECTION>_<KEY>.",
        "# Secrets (marked below) belong in the environment, not in this file.",
        "",
    ]
    defaults = Settings()
    for section in dataclasses.fields(Settings):
        lines.append(f"[{section.name}]")
        obj = getattr(defaults, section.name)
        for f in dataclasses.fields(obj):
            meta = f.metadata
            for chunk in _wrap(meta.get("doc", "")):
                lines.append(f"# {chunk}")
            env = f"IDP_{section.name.upper()}_{f.name.upper()}"
            if meta.get("secret"):
                lines.append(f"# Secret: prefer the environment variable {env}.")
            value = getattr(obj, f.name)
            prefix = "# " if meta.get("secret") and value == "" else ""
            lines.append(f"{prefix}{f.name} = {_toml_value(value)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _wrap(text: str, width: int = 88) -> list[str]:
    words, out, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            out.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        out.append(line)
    return out


def resolve_path(value: str, base: Path | None = None) -> Path:
    p = Path(value)
    return p if p.is_absolute() else (base or Path.cwd()) / p
