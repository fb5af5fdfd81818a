"""A client's public keys for ``private_key_jwt``: its registered ``jwks``, or the JWK Set at its
``jwks_uri`` (OIDC Core §10.1.1, OIDC Dynamic Client Registration §2).

The ``jwks_uri`` is fetched through ``idp.clients.remote`` (https, public addresses only and the
connection pinned to the one checked, short timeout, size limit),
the document kept in the shared state for ``CACHE_SECONDS`` so every instance uses one copy, and
fetched again once when an assertion names a ``kid`` the copy lacks (the client rotated its key),
at most once per ``REFETCH_SECONDS`` per client so unknown ``kid`` values cannot make the provider
fetch on every request. Imported key sets are kept per process (importing an RSA key is slow).
"""

from __future__ import annotations

import json
from collections import OrderedDict

from authlib.oauth2.rfc6749.errors import InvalidClientError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.clients.remote import FetchError, Fetcher
from idp.security.secrets import digest

CACHE_SECONDS = 300
REFETCH_SECONDS = 30
_IMPORTED_MAX = 256


class ClientKeys:
    def __init__(self, shared, fetcher: Fetcher):
        self.shared = shared
        self.fetcher = fetcher
        self._imported: OrderedDict[str, KeySet] = OrderedDict()

    def _import(self, document: str) -> KeySet:
        key = digest(document)
        found = self._imported.get(key)
        if found is None:
            try:
                found = KeySet.import_key_set(json.loads(document))
            except (JoseError, ValueError, TypeError, KeyError, AttributeError):
                raise InvalidClientError(description="The client's JWK Set cannot be used.") from None
            self._imported[key] = found
            while len(self._imported) > _IMPORTED_MAX:
                self._imported.popitem(last=False)
        return found

    def _cache_key(self, client) -> str:
        return f"jwks:{client.client_id}:{digest(client.jwks_uri)}"

    def _fetch(self, client) -> str:
        try:
            document = self.fetcher.json(client.jwks_uri)
        except FetchError as exc:
            raise InvalidClientError(description=f"The client's jwks_uri {exc.reason}.") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise InvalidClientError(description="The client's jwks_uri is not a JWK Set.")
        text = json.dumps(document, sort_keys=True)
        self.shared.put(self._cache_key(client), text, CACHE_SECONDS)
        return text

    def from_uri(self, client, *, known_kid: str | None = None) -> KeySet:
        """The key set at the client's ``jwks_uri``, fetched again once if ``known_kid`` is not in it."""
        cached = self.shared.get(self._cache_key(client))
        keys = self._import(cached if cached is not None else self._fetch(client))
        if (
            known_kid
            and cached is not None
            and all(k.kid != known_kid for k in keys)
            and self.shared.first_use(f"jwks-refetch:{client.client_id}", REFETCH_SECONDS)
        ):
            keys = self._import(self._fetch(client))
        return keys

    def resolver(self, client):
        """What Authlib's assertion check takes as the key: a function of the JWS (its header's ``kid``)."""
        if not client.jwks_uri:
            return self._import(json.dumps(client.jwks or {}, sort_keys=True))

        def resolve(jws) -> KeySet:
            kid = jws.headers().get("kid")
            return self.from_uri(client, known_kid=kid if isinstance(kid, str) else None)

        return resolve
