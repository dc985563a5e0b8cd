"""Form classes and their messages, in the seed guides' wording (SPEC §3)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3, stubs are 3.2
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from idp.ui import REQUIRED

__all__ = ["REQUIRED"]

LOGIN_LABEL = _l("Login")
PASSWORD_LABEL = _l("Password")
SIGN_IN = _l("Sign in")
BAD_CREDENTIALS = _l("Incorrect login or password.")
LOCKED = _l("Too many failed attempts. Please try again in %(minutes)s minute(s).")


class LoginForm(FlaskForm):
    login = StringField(LOGIN_LABEL, validators=[DataRequired(REQUIRED), Length(max=254)])
    # No max length here: an over-long password is answered like a wrong one, not hinted at.
    password = PasswordField(PASSWORD_LABEL, validators=[DataRequired(REQUIRED)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    pass


CAPTCHA_LABEL = _l("Copy the characters")
WRONG_CAPTCHA = _l("The characters do not match the image. Please try again with this new one.")
TOO_MANY = _l("Too many requests. Please try again in an hour.")
PASSWORDS_DIFFER = _l("The two passwords are different.")
WRONG_CURRENT = _l("Your current password is incorrect.")


class CaptchaForm(FlaskForm):
    captcha_id = HiddenField()
    captcha = StringField(CAPTCHA_LABEL, validators=[DataRequired(REQUIRED), Length(max=16)])


class ForgotPasswordForm(CaptchaForm):
    login = StringField(LOGIN_LABEL, validators=[DataRequired(REQUIRED), Length(max=254)])


class ForgotLoginForm(CaptchaForm):
    email = StringField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(REQUIRED), Length(max=4096)])
    confirm = PasswordField(_l("Confirm your password"), validators=[DataRequired(REQUIRED), Length(max=4096)])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED), Length(max=4096)])


class ProfileForm(FlaskForm):
    civility = RadioField(
        _l("Civility"),
        choices=[SelectChoice("madame", _l("Madam")), SelectChoice("monsieur", _l("Sir"))],
        validators=[Optional()],
    )
    last_name = StringField(_l("Last name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    first_name = StringField(_l("First name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    email = StringField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])
    landline = StringField(_l("Landline"), validators=[Optional(), Length(max=32)])
    mobile = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=32)])
    # Named in the page's language, as in the guides' form ("Français", "Anglais").
    language = SelectField(
        _l("Preferred language"), choices=[SelectChoice("fr", _l("French")), SelectChoice("en", _l("English"))]
    )
    # Asked for only when the email changes (``account._may_change_email``).
    current_password = PasswordField(_l("Current password"), validators=[Optional(), Length(max=4096)])
