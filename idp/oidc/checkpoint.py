"""The gate as the OAuth edge's checkpoints call it: every refusal counted by reason and checkpoint
(``idp_gate_refusals``). ``login_required`` is no refusal: the citizen has only to sign in."""

from __future__ import annotations

from idp import metrics
from idp.accounts import gate


def judged(account, now, policy, checkpoint: str, authentication=None, requirement=None) -> gate.Decision:
    decision = gate.evaluate(account, now, policy, authentication, requirement)
    if not decision.allowed:
        metrics.gate_refused([r for r in decision.reasons if r != gate.Reason.LOGIN_REQUIRED], checkpoint)
    return decision
