"""The citizen account (Ügyfélkapu): its data, lifecycle, validity policy and the gate.

Neither Flask nor Authlib is imported here: services take a SQLAlchemy session,
a clock reading and a policy, so every rule is testable in milliseconds.
"""
