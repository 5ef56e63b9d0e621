"""The administrator's back office: units, desks, procedures, waves, QR posters."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from survey.admin import routes  # noqa: E402, F401
