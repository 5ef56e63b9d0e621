"""The back office of administrators and supervisors: units, desks, waves, users, audit."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from survey.admin import audit, routes, users  # noqa: E402, F401
