"""Prometheus metrics (``GET /metrics``, ``idp.web.metrics``), through ``prometheus_client``.

The counters are process-wide and fed from a few central points, each through one function
here, so no module needs to know Prometheus: sign-ins (``idp.lifecycle.signin``), gate
refusals (the OAuth edge's checkpoints), codes and tokens issued (``idp.oidc``), protocol
errors (the authorization server's error response), throttle blocks
(``idp.lifecycle.throttling``), back-channel logout deliveries (``idp.oidc.backchannel``),
mail (``idp.mail.Mailer``), job runs (``idp.lifecycle.jobs``) and request latency
(``idp.web.observe``, per route rule, never per raw path).

Under gunicorn, ``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker
imports this module: every worker then writes its values to files there, and a scrape of
any worker sums all of them (``prometheus_client`` multiprocess mode). Without it (``idp
serve``, tests) the values are this process's own.

Labels are bounded: outcomes, reasons and error codes are the provider's own vocabularies,
an error code that is not one is counted as ``other``, methods outside HTTP's usual ones as
``OTHER``, and a client is named by its registered ``client_id`` only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, write_to_textfile,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST
REGISTRY = CollectorRegistry(auto_describe=True)

SIGN_INS = Counter(
    "idp_sign_ins", "Sign-in steps by outcome (signed_in, second_factor_owed or the refusal's reason) and method "
    "(password, otp, email).", ["outcome", "method"], registry=REGISTRY,
)
GATE_REFUSALS = Counter(
    "idp_gate_refusals", "Citizens the gate stopped, by reason and checkpoint (authorize, token, refresh, userinfo, "
    "introspection).", ["reason", "checkpoint"], registry=REGISTRY,
)
ISSUED = Counter(
    "idp_issued", "Authorization codes and tokens issued, by kind (code, access_token, refresh_token, id_token), "
    "grant and client.", ["kind", "grant", "client_id"], registry=REGISTRY,
)
PROTOCOL_ERRORS = Counter(
    "idp_protocol_errors", "OAuth and OpenID Connect error responses by endpoint and error code.",
    ["endpoint", "error"], registry=REGISTRY,
)
THROTTLE_BLOCKS = Counter(
    "idp_throttle_blocks", "Checks of a password or code refused by the throttle, by what was checked "
    "(password, second_factor).", ["kind"], registry=REGISTRY,
)
BACKCHANNEL = Counter(
    "idp_backchannel_logout_deliveries", "Back-channel logout delivery attempts by outcome.", ["outcome"],
    registry=REGISTRY,
)
MAILS = Counter("idp_mails", "Mail by template and outcome (sent, failed).", ["template", "outcome"], registry=REGISTRY)
JOB_RUNS = Counter("idp_job_runs", "Runs of the scheduled jobs (idp jobs run), by dry_run.", ["dry_run"], registry=REGISTRY)
JOB_ITEMS = Counter(
    "idp_job_items", "What the scheduled jobs did: reminded, lapsed, expired, skipped (another run took it), failed.",
    ["action"], registry=REGISTRY,
)
JOB_LAST_RUN = Gauge(
    "idp_job_last_run_timestamp_seconds", "When the scheduled jobs last finished (Unix time).", registry=REGISTRY,
    multiprocess_mode="max",
)
REQUESTS = Counter(
    "idp_requests", "HTTP requests by endpoint (route rule), method and status.", ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "idp_request_duration_seconds", "Time to answer an HTTP request, by endpoint (route rule) and method.",
    ["endpoint", "method"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

#: OAuth 2.0 / OpenID Connect / RFC 6750, 7009, 7591, 7662, 9126 error codes; anything else is ``other``.
ERROR_CODES = frozenset({
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
    "invalid_scope", "access_denied", "unsupported_response_type", "server_error", "temporarily_unavailable",
    "interaction_required", "login_required", "account_selection_required", "consent_required",
    "invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported",
    "registration_not_supported", "invalid_token", "insufficient_scope", "unsupported_token_type",
    "invalid_redirect_uri", "invalid_client_metadata", "invalid_software_statement",
    "unapproved_software_statement", "invalid_dpop_proof", "use_dpop_nonce",
})
_LABEL = re.compile(r"[a-z0-9_]{1,48}")


def _word(value: str) -> str:
    """A label value from the provider's own vocabulary (reason codes are short snake_case)."""
    value = str(value)
    return value if _LABEL.fullmatch(value) else "other"


def sign_in(outcome: str, method: str) -> None:
    SIGN_INS.labels(_word(outcome), _word(method)).inc()


def gate_refused(reasons: Iterable[str], checkpoint: str) -> None:
    for reason in reasons:
        GATE_REFUSALS.labels(_word(reason), checkpoint).inc()


def issued(kind: str, grant: str, client_id: str) -> None:
    ISSUED.labels(kind, grant, client_id).inc()


def protocol_error(endpoint: str, error: str) -> None:
    PROTOCOL_ERRORS.labels(endpoint, error if error in ERROR_CODES else "other").inc()


def throttled(kind: str) -> None:
    THROTTLE_BLOCKS.labels(kind).inc()


def backchannel(outcome: str) -> None:
    BACKCHANNEL.labels(_word(outcome)).inc()


def mail(template: str, sent: bool) -> None:
    MAILS.labels(_word(template), "sent" if sent else "failed").inc()


def job_run(summary: dict, finished_at: float) -> None:
    """One run of the scheduled jobs, from its report's ``summary()``."""
    JOB_RUNS.labels("true" if summary.get("dry_run") else "false").inc()
    if summary.get("dry_run"):
        return
    for action, key in JOB_ACTIONS:
        if summary.get(key):
            JOB_ITEMS.labels(action).inc(summary[key])
    JOB_LAST_RUN.set(finished_at)


JOB_ACTIONS = (("reminded", "reminders"), ("lapsed", "lapsed"), ("expired", "expired"), ("skipped", "skipped"),
               ("failed", "failed"))


def write_job_textfile(path: str, summary: dict, finished_at: float) -> None:
    """What one run from cron did, for node_exporter's textfile collector (written atomically):
    ``idp_job_last_run_items{action}`` and ``idp_job_last_run_finished_timestamp_seconds``."""
    registry = CollectorRegistry()
    items = Gauge("idp_job_last_run_items", "What the last run of the scheduled jobs did, by action.", ["action"],
                  registry=registry)
    for action, key in JOB_ACTIONS:
        items.labels(action).set(summary.get(key) or 0)
    Gauge("idp_job_last_run_finished_timestamp_seconds", "When the last run of the scheduled jobs finished.",
          registry=registry).set(finished_at)
    write_to_textfile(path, registry)


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint, method).observe(seconds)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


class Readiness:
    """``idp_ready{component}``: 1 when the component answers, 0 when not, asked at each scrape
    through ``probe`` (a callable returning ``{component: bool}``), so it is never stale and
    needs no shared file under gunicorn."""

    def __init__(self, probe: Callable[[], dict[str, bool]]):
        self.probe = probe

    def collect(self):
        family = GaugeMetricFamily("idp_ready", "Readiness of what the provider depends on (1 ready, 0 not).",
                                   labels=["component"])
        for component, ready in self.probe().items():
            family.add_metric([component], 1.0 if ready else 0.0)
        yield family


class _Sources:
    def __init__(self, *sources):
        self.sources = sources

    def collect(self):
        for source in self.sources:
            yield from source.collect()


def exposition(*extra) -> bytes:
    """The Prometheus text of every worker's values (multiprocess mode) or this process's, and ``extra``'s."""
    if multiprocess_dir():
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry)
        return generate_latest(_Sources(registry, *extra))
    return generate_latest(_Sources(REGISTRY, *extra))
