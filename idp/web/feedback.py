"""Telling the person at the form what happened: one helper for refusals and one for confirmations.

A refusal is flashed as ``error:<field>`` when it is about one input: the page
lists it at the top as a link to that input and shows it at the input
(``templates/_inputs.html``, WCAG 3.3.1); otherwise as ``error``. The text comes
from the one catalogue, ``idp.web.messages``, by reason code.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash

from idp.accounts.errors import AccountError

from . import messages
from .i18n import single_stop


def refuse(reason: AccountError | str, labels: Mapping[str, str] | None = None, **details: object) -> None:
    """Flash a refusal (an ``AccountError`` or a reason code): each field's problem at that field
    (``labels``: the form's inputs and their labels, in the form's order), a whole-form reason at its
    input when the page has that input (``labels``, or the reason's own field when none are given)."""
    exc = reason if isinstance(reason, AccountError) else AccountError(reason, **details)
    fields = exc.details.get("fields")
    if isinstance(fields, Mapping) and fields:
        labels = labels or {}
        in_form_order = [n for n in labels if n in fields] + [n for n in fields if n not in labels]
        for name in in_form_order:
            problem = fields[name]
            text = str(messages.FIELD_PROBLEMS.get(problem) or messages.REASONS.get(problem) or messages.GENERIC)
            if name in labels:
                flash(str(messages.LABELLED) % {"label": labels[name], "problem": text}, f"error:{name}")
            else:
                flash(text, "error")
        return
    for reason_, details_ in ((exc.reason, exc.details), *exc.details.get("also", ())):
        field = messages.FIELD_OF.get(reason_)
        tied = field is not None and (labels is None or field in labels)
        flash(single_stop(messages.message(reason_, details_)), f"error:{field}" if tied else "error")


def form_errors(form, inputs: tuple[str, ...] = ()) -> None:
    """A form's own validation errors (WTForms validators), each at its input when it is one of ``inputs``."""
    for name, errors in form.errors.items():
        for error in errors:
            flash(str(error), f"error:{name}" if name in inputs else "error")


def done(key: str, **values: object) -> None:
    flash(single_stop(str(messages.DONE[key]) % values), "success")
