"""The account lifecycle as the citizen, the officer and the operator live it (PRODUCT.md rules 1–11).

One service verb per user action. Each verb checks the rules (``idp.accounts``,
``idp.offices``), changes the records, writes the audit event, commits, and
only then sends the mail, so a refused action leaves nothing behind and a mail
never announces what did not happen. A page parses its form, calls one verb,
and renders the result or the ``AccountError`` reason.

* ``registration``: ``pre_register``, ``find_pre_registration``, ``complete_registration``,
  ``register_in_person``, ``electronic_registration_document``, ``register_electronically``,
  ``issue_activation_code``
* ``citizen``: ``activate``, ``change_password``, ``extend_validity``
* ``office``: ``sign_in_officer``, ``change_data``, ``delete_account``, ``reactivate``
  (and ``context.find_account``)
* ``recovery``: ``request_link``, ``open_link``, ``send_code``, ``prove_factor``, ``reset_password``
* ``notices``: ``note_sign_in``, ``security_change`` (``idp.accounts.notices`` decides when)
* ``jobs``: ``run_jobs`` (reminders, lapse, expiry), for ``idp jobs run``

Ending an account's access (sessions, tokens, codes, consents) is ``access``;
back-channel logout will hook in there.
"""
