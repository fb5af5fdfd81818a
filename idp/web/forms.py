"""Forms check shape only (length, presence); rules live in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ConsentForm(FlaskForm):
    allow = SubmitField(_l("Allow"))
    deny = SubmitField(_l("Deny"))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Sign out"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))],
    )
    next = HiddenField()
    submit = SubmitField(_l("Change password"))

    INPUTS = ("current_password", "new_password", "confirm_password")  # the fields an error can be tied to


class SecondFactorCodeForm(FlaskForm):
    """An authenticator code (six digits) or a recovery code (törlőkód)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    next = HiddenField()


class SecondFactorRemoveForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
