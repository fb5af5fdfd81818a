"""The passkey forms: shape only (``idp.web.forms``); the rules are in ``idp.accounts.passkeys``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from .pageform import PageForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from idp.accounts.passkeys import NAME_MAX, RESPONSE_MAX


class PasskeyAddForm(PageForm):
    """A new passkey: its name, then the password and a current code of Ügyfélkapu+."""

    name = StringField(_l("Name of the passkey or security key"), validators=[DataRequired(), Length(max=NAME_MAX)])
    current_password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    next = HiddenField()


class PasskeyAnswerForm(PageForm):
    """The browser's answer to a ceremony (JSON), filled in by ``static/passkeys.js``."""

    credential = HiddenField(validators=[Optional(), Length(max=RESPONSE_MAX)])
    next = HiddenField()


class PasskeyRemoveForm(PageForm):
    current_password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    next = HiddenField()
