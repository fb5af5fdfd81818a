"""What agencies were given: the citizen's consents, and what was issued under them (authorization
codes, tokens, the access history of claim releases, back-channel logout notices).

Domain storage and rules below the lifecycle tier: no Flask, no Authlib. The protocol edge
(``idp.oidc``) issues and checks through it; the lifecycle tier ends access through it.
"""
