"""Interactions: an agency's authorization request, kept server-side while the citizen answers it.

node-oidc-provider's interactions and Ory Hydra's login challenges are the
models: the request is validated once at the protocol edge (``idp.oidc``), stored
here under an unguessable id, bound to the browser that started it, and the
pages (sign-in, second factor, gate fixes, consent) work on the record until the
resume step completes it once. No page carries or re-parses the request.
"""
