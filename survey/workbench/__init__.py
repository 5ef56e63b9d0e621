"""The statistician's workbench: read-only progress of the waves in the analyst's units."""

from flask import Blueprint

bp = Blueprint("workbench", __name__, url_prefix="/workbench")

from survey.workbench import (  # noqa: E402, F401
    analyses,
    comparisons,
    exports,
    result_sets,
    routes,
    targets,
)
