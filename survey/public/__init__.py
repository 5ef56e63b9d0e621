"""The citizen's side: scan a desk's QR code, answer, get thanked."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from survey.public import routes  # noqa: E402, F401
