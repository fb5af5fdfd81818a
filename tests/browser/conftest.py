"""Fixtures the browser tests share: a real SMTP server for the provider's mail, and an agency's
own website on another site than the provider (``localhost``, not ``127.0.0.1``)."""

from __future__ import annotations

import pytest

from ..support.live import AgencySite, free_port, serving
from ..support.smtp import SmtpServer


@pytest.fixture
def smtp():
    with SmtpServer(security="none") as server:
        yield server


@pytest.fixture
def agency_site():
    """The agency's own website (its redirect URIs), on another site than the provider."""
    port = free_port()
    with serving(AgencySite(), port):
        yield f"http://localhost:{port}"
