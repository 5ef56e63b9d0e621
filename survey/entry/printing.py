"""Printing new paper forms: the page that issues serials and sends the document."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user
from werkzeug.http import dump_options_header

from survey import queries
from survey.auth.policy import allow, current_scope
from survey.entry import bp
from survey.entry.batches import SUPERVISORS
from survey.entry.forms import PrintForm
from survey.errors import UserError
from survey.extensions import db
from survey.services import paper_print

#: Waves forms are printed for: not closed ones (a draft wave's forms go out before it opens).
PRINTABLE_STATUSES = ("open", "draft")
#: Unit levels a household cluster can be.
CLUSTER_LEVELS = ("commune", "village")


@bp.route("/print", methods=["GET", "POST"])
@allow(*SUPERVISORS)
def print_forms():
    """Issue new forms for a desk or cluster of the reader's units; send them as a download."""
    form = _print_form()
    problem = None
    if form.validate_on_submit():
        try:
            run = paper_print.print_forms(
                form.chosen_wave,
                form.number,
                service_point=form.chosen_desk,
                unit=form.chosen_unit,
                locale=form.lang.data,
                fmt=form.format.data,
                by=current_user,
            )
        except UserError as refused:
            db.session.rollback()
            problem = refused.message
        else:
            db.session.commit()
            return _download(run)
    page = render_template("entry/print_forms.html", form=form, problem=problem)
    return page, 400 if form.errors or problem else 200


def _print_form() -> PrintForm:
    """The form offering the waves not closed, and the active desks and the clusters of
    the reader's units."""
    scope = current_scope()
    waves = [wave for wave, _n in queries.waves(scope=scope) if wave.status in PRINTABLE_STATUSES]
    desks = [desk for desk in queries.service_points(scope=scope) if desk.active]
    clusters = [
        unit for unit in queries.units(scope=scope) if unit.level in CLUSTER_LEVELS and unit.current
    ]
    form = PrintForm(waves, desks, clusters)
    if request.method == "GET" and len(waves) == 1:
        form.wave.data = waves[0].code
    return form


def _download(run: paper_print.PrintRun) -> Response:
    response = Response(run.content, mimetype=run.media_type)
    response.headers["Content-Disposition"] = dump_options_header(
        "attachment", {"filename": run.filename}
    )
    response.headers["Cache-Control"] = "no-store"
    return response
