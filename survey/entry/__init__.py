"""Paper forms for surveyors and supervisors: printing, batches, typing, settlement."""

from flask import Blueprint

bp = Blueprint("entry", __name__, url_prefix="/entry")

from survey.entry import batches, imports, printing, routes, settlement, typing  # noqa: E402, F401
