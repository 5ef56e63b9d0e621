from flask import redirect, url_for

from survey.public import bp


@bp.route("/")
def home():
    return redirect(url_for("admin.index"))
