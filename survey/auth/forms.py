from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from survey.auth.passwords import MAX_PASSWORD_LENGTH, check_new_password
from survey.errors import UserError


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
            Length(max=MAX_PASSWORD_LENGTH, message=_l("The password is too long.")),
        ],
    )


class NewPasswordForm(FlaskForm):
    """Choose a password, typed twice; ``email`` is the account's, for the rules."""

    new_password = PasswordField(
        _l("New password"),
        description=_l("At least 10 characters; not a common password and not your email address."),
        validators=[DataRequired(message=_l("Enter the new password."))],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(message=_l("Type the new password a second time.")),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )

    def __init__(self, email: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def validate_new_password(self, field) -> None:
        try:
            check_new_password(field.data or "", self.email)
        except UserError as error:
            raise ValidationError(str(error.message)) from error


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your current password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("The password is too long.")),
        ],
    )
