"""Issue 12's pages in Chromium: the identity document form marks the expiry date required exactly
for the document types that state one."""

from __future__ import annotations

import pytest

from ..support import browser as bw

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bw.skip_reason() is not None, reason=bw.skip_reason() or ""),
]


def test_the_expiry_date_is_required_exactly_for_a_passport_and_a_driving_licence(chromium, live):
    base, _app = live
    context = chromium.new_context(locale="hu-HU")
    context.set_default_timeout(bw.TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{base}/register/electronic?lang=en")
        expiry, optional = page.locator("#document_expires_on"), page.locator("#document_expires_on-optional")
        for doc_type, required in (("passport", True), ("identity_card", False), ("driving_licence", True)):
            page.select_option("#doc_type", doc_type)
            assert expiry.evaluate("e => e.required") is required, doc_type
            assert optional.is_visible() is not required, doc_type
    finally:
        context.close()
