"""Paper entry for surveyors and supervisors (the entry screens come with paper forms)."""

from flask import Blueprint

bp = Blueprint("entry", __name__, url_prefix="/entry")

from survey.entry import routes  # noqa: E402, F401
