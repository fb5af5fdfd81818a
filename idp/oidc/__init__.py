"""The Authlib seam: the only package that subclasses Authlib's server classes.

It calls the domain services (accounts, clients, sessions) and holds no rule of
its own beyond the protocol's.
"""
