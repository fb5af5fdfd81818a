"""Forms of the citizen's lifecycle pages: registration (rule 3's data), the identity document,
electronic registration, activation, validity.

Forms check shape only: they read what was typed and turn dates into dates. Every
rule (required fields, formats, the document table, uniqueness) is the services',
which name each field's problem; the page shows it at that field.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from .pageform import PageForm
from flask_wtf.file import FileField
from wtforms import PasswordField, StringField

from idp.accounts.errors import AccountError
from idp.accounts.personal import Registration
from idp.accounts.registration import DocumentShown

_DATE_SEPARATORS = re.compile(r"[./\s]+")


def parse_date(text: str | None) -> date | str | None:
    """A date typed as ``2001-01-02`` (what a date input sends) or ``2001.01.02.`` (Hungarian);
    None when empty, the text itself when it is no date (the service names the problem)."""
    cleaned = (text or "").strip().rstrip(".")
    if not cleaned:
        return None
    try:
        return date.fromisoformat(_DATE_SEPARATORS.sub("-", cleaned))
    except ValueError:
        return cleaned


class LabelledForm(PageForm):
    #: The inputs an error can be tied to; the page's ids are these names.
    INPUTS: tuple[str, ...] = ()

    def labels(self) -> dict[str, str]:
        return {name: str(self[name].label.text) for name in self.INPUTS if name in self}

    def draft(self) -> dict[str, str]:
        """What was typed, to fill the form again after a refusal (never a password or a file)."""
        return {
            name: self[name].data if isinstance(self[name].data, bool) else (self[name].data or "")
            for name in self.INPUTS
            if name in self and not isinstance(self[name], PasswordField | FileField)
        }


class PersonalDataForm(LabelledForm):
    """Rule 3: the data recorded for a private person (the document apart)."""

    family_name = StringField(_l("Family name"))
    given_name = StringField(_l("Given name"))
    birth_family_name = StringField(_l("Family name at birth"))
    birth_given_name = StringField(_l("Given name at birth"))
    mother_birth_family_name = StringField(_l("Mother's family name at birth"))
    mother_birth_given_name = StringField(_l("Mother's given name at birth"))
    birth_place = StringField(_l("Place of birth"))
    birth_country = StringField(_l("Country of birth"), default="HU")
    birth_date = StringField(_l("Date of birth"))
    address_postal_code = StringField(_l("Postal code"))
    address_locality = StringField(_l("Town or city"))
    address_street = StringField(_l("Street, house number"))
    address_country = StringField(_l("Country"), default="HU")
    email = StringField(_l("Email address"))
    username = StringField(_l("Username"))
    locale = StringField(_l("Language of our emails"), default="hu")

    PERSONAL = (
        "family_name", "given_name", "birth_family_name", "birth_given_name",
        "mother_birth_family_name", "mother_birth_given_name", "birth_place", "birth_country", "birth_date",
        "address_postal_code", "address_locality", "address_street", "address_country",
        "email", "username", "locale",
    )
    INPUTS = PERSONAL

    def personal_values(self) -> dict[str, object]:
        values: dict[str, object] = {name: (self[name].data or "").strip() for name in self.PERSONAL}
        values["birth_date"] = parse_date(self.birth_date.data)
        values["locale"] = self.locale.data or "hu"
        return values

    def registration(self) -> Registration:
        return Registration(**self.personal_values())  # type: ignore[arg-type]  # the service checks every value


class DocumentForm(LabelledForm):
    """Rule 2: the identity document as printed on it."""

    doc_type = StringField(_l("Type of document"))
    document_number = StringField(_l("Document number"))
    document_issued_on = StringField(_l("Date of issue"))
    document_expires_on = StringField(_l("Valid until"))

    DOCUMENT = ("doc_type", "document_number", "document_issued_on", "document_expires_on")
    INPUTS = DOCUMENT

    def document_given(self) -> bool:
        return any((self[name].data or "").strip() for name in self.DOCUMENT)

    def document(self) -> DocumentShown:
        """The document typed; ``AccountError`` naming a date that is missing or no date."""
        issued = parse_date(self.document_issued_on.data)
        expires = parse_date(self.document_expires_on.data)
        problems = {}
        if not isinstance(issued, date):
            problems["document_issued_on"] = "field_required" if issued is None else "date_invalid"
        if isinstance(expires, str):
            problems["document_expires_on"] = "date_invalid"
        if problems:
            raise AccountError(next(iter(problems.values())), fields=problems)
        return DocumentShown(
            (self.doc_type.data or "").strip(), self.document_number.data or "", issued, expires  # type: ignore[arg-type]
        )


class RegistrationForm(PersonalDataForm):
    """Online pre-registration (rule 1, second channel)."""


class ElectronicRegistrationForm(PersonalDataForm, DocumentForm):
    """Step 1 of electronic registration: the data and the document, made into the text to sign."""

    INPUTS = PersonalDataForm.PERSONAL + DocumentForm.DOCUMENT


class SignedUploadForm(LabelledForm):
    """Step 2: the downloaded document, unchanged, and its detached signature."""

    document = FileField(_l("The registration document you signed (.txt)"))
    signature = FileField(_l("Its signature (.p7s)"))

    INPUTS = ("document", "signature")


class ActivationForm(LabelledForm):
    """Rule 6: username, the initial password and the emailed code."""

    username = StringField(_l("Username"))
    initial_password = PasswordField(_l("Initial password"))
    code = StringField(_l("Activation code from the email"))

    INPUTS = ("username", "initial_password", "code")


class ActionForm(PageForm):
    """A button that changes something: only its CSRF token."""
