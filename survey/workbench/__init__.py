"""The statistician's workbench: read-only progress of the waves in the analyst's units."""

from flask import Blueprint

bp = Blueprint("workbench", __name__, url_prefix="/workbench")

from survey.workbench import exports, routes  # noqa: E402, F401
