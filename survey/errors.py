"""Error pages: a user's mistake is a plain 4xx page; a fault is a logged 500 with rollback."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from survey.extensions import db


class UserError(Exception):
    """A mistake the user can correct; shown as a 400 page, not logged as a fault."""

    status = 400

    def __init__(self, message: str, *, status: int = 400, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.title = title


TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You may not see this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("Too much was sent"),
    429: _l("Too many requests"),
    500: _l("Something went wrong on our side"),
}
MESSAGES = {
    400: _l("Please go back and try again."),
    403: _l("Your account does not have access to this page."),
    404: _l("The address may be mistyped, or the page has moved."),
    405: _l("Please go back and try again."),
    413: _l(
        "What was sent is larger than this page accepts, so none of it was kept. "
        "Please go back and send less: shorter answers, or a smaller file."
    ),
    429: _l("Too many requests came from your connection. Please wait a minute and try again."),
    500: _l("The error has been logged. Please try again in a moment."),
}


def render_error(status: int, message: str | None = None, title: str | None = None):
    wants_json = request.accept_mimetypes.best == "application/json"
    title = title or TITLES.get(status, TITLES[400])
    message = message or MESSAGES.get(status, MESSAGES[400])
    if wants_json:
        return {"error": str(title), "message": str(message)}, status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(UserError)
    def user_error(error: UserError):
        return render_error(error.status, error.message, error.title)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            _l("The form has expired or was sent from elsewhere. Please open it again."),
            _l("The form could not be accepted"),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def fault(error: Exception):
        db.session.rollback()
        if app.testing:
            raise error
        app.logger.exception("Unhandled error on %s", request.path)
        return render_error(500)
