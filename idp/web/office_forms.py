"""Forms of the office console (rules 2, 4, 9, 10). Shape only, as the citizen's forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField

from .citizen_forms import DocumentForm, LabelledForm, PersonalDataForm


class OfficerSignInForm(LabelledForm):
    """Officers always use a second factor: password and a TOTP code."""

    username = StringField(_l("Username"))
    password = PasswordField(_l("Password"))
    code = StringField(_l("Code from the authenticator app"))

    INPUTS = ("username", "password", "code")


class FindRegistrationForm(LabelledForm):
    number = StringField(_l("Registration number"))

    INPUTS = ("number",)


class FindAccountForm(LabelledForm):
    identifier = StringField(_l("Account identifier"))

    INPUTS = ("identifier",)


class StatementMixin(LabelledForm):
    #: Rule 4: the citizen signed the data-provision statement in front of the officer.
    statement_signed = BooleanField()


class VerifyForm(DocumentForm, StatementMixin):
    """An online pre-registration: the document shown and the statement signed."""

    INPUTS = DocumentForm.DOCUMENT + ("statement_signed",)


class InPersonForm(PersonalDataForm, DocumentForm, StatementMixin):
    """A registration from scratch at the office."""

    INPUTS = PersonalDataForm.PERSONAL + DocumentForm.DOCUMENT + ("statement_signed",)


class ChangeDataForm(PersonalDataForm, DocumentForm):
    """Rule 9: the citizen's data as they should be; a new document only when one was shown."""

    INPUTS = PersonalDataForm.PERSONAL + DocumentForm.DOCUMENT

    def document_or_none(self):
        return self.document() if self.document_given() else None


class ReactivateForm(DocumentForm):
    """The 2009 rule: reactivation in person, after the identity is checked from a document."""

    INPUTS = DocumentForm.DOCUMENT
