"""Forms check shape only (length, presence); rules live in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from .pageform import PageForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional


class LoginForm(PageForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ConsentForm(PageForm):
    allow = SubmitField(_l("Allow"))
    deny = SubmitField(_l("Deny"))
    #: Offline access (OIDC Core §11): the citizen's own choice, never ticked for them.
    offline = BooleanField(default=False)


class ConfirmForm(PageForm):
    submit = SubmitField(_l("Sign out"))


class PasswordChangeForm(PageForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))],
    )
    #: The citizen's choice (checked by default): sign out every other device (ASVS 5.0 V7.4.3).
    end_other_sessions = BooleanField(_l("Sign me out on every other device"), default=True)
    next = HiddenField()
    submit = SubmitField(_l("Change password"))

    INPUTS = ("current_password", "new_password", "confirm_password")  # the fields an error can be tied to


class SecondFactorCodeForm(PageForm):
    """An authenticator code (six digits) or a recovery code (törlőkód)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    next = HiddenField()


class PasswordAndCodeForm(PageForm):
    """What a change of Ügyfélkapu+ needs: the password and a current code (or a recovery code)."""

    current_password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    next = HiddenField()


class SecondFactorChangeForm(PasswordAndCodeForm):
    """Replace the authenticator (``app``), switch to the emailed code (``email``), or turn
    Ügyfélkapu+ off (``off``). Choosing the emailed code as a first factor needs no code."""

    action = StringField(validators=[DataRequired(), AnyOf(("app", "email", "off"))])
    code = StringField(_l("Code"), validators=[Optional(), Length(max=32)])


class NextForm(PageForm):
    """A button's form (mail me a code, cancel): where to resume (``next``) and which Ügyfélkapu+
    settings page to come back to (``page``)."""

    next = HiddenField()
    page = HiddenField(validators=[Optional(), AnyOf(("recovery", "off"))])


class EndSessionForm(PageForm):
    """Sign out one session of the account page (its ``sid``), or every one (``all``)."""

    sid = HiddenField(validators=[DataRequired(), Length(max=64)])


class WithdrawConsentForm(PageForm):
    client_id = HiddenField(validators=[DataRequired(), Length(max=64)])


class RecoveryRequestForm(PageForm):
    """A forgotten password: the username and the account's email address (shape only)."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    email = StringField(_l("Email address"), validators=[DataRequired(), Length(max=254)])

    INPUTS = ("username", "email")


class RecoveryPasswordForm(PageForm):
    """The new password behind a recovery link."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))],
    )

    INPUTS = ("new_password", "confirm_password")


class WithdrawOfflineForm(PageForm):
    client_id = HiddenField(validators=[DataRequired(), Length(max=64)])
