from flask import render_template

from survey.auth.policy import allow
from survey.entry import bp


@bp.route("/")
@allow("surveyor", "supervisor", "admin")
def index():
    """Until paper forms arrive, the surveyor's landing page says what will be here."""
    return render_template("entry/index.html")
