"""Ügyfélkapu identity provider: an OpenID Connect provider for citizens."""

from __future__ import annotations

from idp.app import create_app

__all__ = ["create_app"]
