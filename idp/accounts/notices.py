"""When the citizen is told by mail that the account was used or its security changed: the one
place that decides (issue 12, "Know when the account is used"; ASVS 5.0 V6.3.7: "users are
notified after updates to authentication details"; NIST SP 800-63B §6.1.2.3: recovery is notified).

* a sign-in from a browser the account has not signed in from (``NEW_DEVICE``), except the very
  first browser of a newly activated account (nothing to compare with, and the citizen is there);
* every security change: a password change, a password recovered through a mailed link, a
  change of the second factor (Ügyfélkapu+).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .models import Account

NEW_DEVICE = "new_device"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RECOVERED = "password_recovered"
SECOND_FACTOR_CHANGED = "second_factor_changed"

SECURITY_CHANGES = frozenset({PASSWORD_CHANGED, PASSWORD_RECOVERED, SECOND_FACTOR_CHANGED})

#: A browser that signs in this soon after activation, with none known before, is the new citizen's own.
FIRST_BROWSER_WITHIN = timedelta(days=1)


def is_due(event: str, account: Account, now: datetime, *, device_known: bool = False, devices_before: int = 0) -> bool:
    """Whether ``event`` on ``account`` is told to the citizen."""
    if not account.email:
        return False
    if event == NEW_DEVICE:
        if device_known:
            return False
        newly_activated = account.activated_at is not None and now - account.activated_at < FIRST_BROWSER_WITHIN
        return not (devices_before == 0 and newly_activated)
    return event in SECURITY_CHANGES
