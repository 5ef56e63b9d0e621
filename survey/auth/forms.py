from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message=_l("Enter your email address.")),
            Regexp(
                r"^[^@\s]+@[^@\s]+$", message=_l("Enter an email address like name@example.vn.")
            ),
            Length(max=254, message=_l("The email address is too long.")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=200, message=_l("The password is too long.")),
        ],
    )
