"""Form classes and their messages, in the seed guides' wording (SPEC §3)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length

LOGIN_LABEL = _l("Login")
PASSWORD_LABEL = _l("Password")
SIGN_IN = _l("Sign in")
REQUIRED = _l("This field is required.")
BAD_CREDENTIALS = _l("Incorrect login or password.")
LOCKED = _l("Too many failed attempts. Please try again in %(minutes)s minute(s).")


class LoginForm(FlaskForm):
    login = StringField(LOGIN_LABEL, validators=[DataRequired(REQUIRED), Length(max=254)])
    # No max length here: an over-long password is answered like a wrong one, not hinted at.
    password = PasswordField(PASSWORD_LABEL, validators=[DataRequired(REQUIRED)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    pass
