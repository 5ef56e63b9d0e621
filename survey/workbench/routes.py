"""Read-only counts and progress of each wave, over the reader's units; the sampling frame;
what the workbench's views share (the reader's language, reading an uploaded file).

The statistics (pandas, ``analysis``) are imported by the views that use them,
so the citizen's workers and every ``flask`` command start without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from survey import queries
from survey.admin.routes import local_time
from survey.auth.policy import allow, current_scope, units_under
from survey.errors import UserError
from survey.extensions import db
from survey.services import frames
from survey.services.units import unit_by_code
from survey.services.waves import wave_by_code
from survey.workbench import bp

READERS = ("analyst", "supervisor", "admin")


@bp.context_processor
def helpers() -> dict:
    return {"local_time": local_time}


def reader_locale() -> str:
    """The reader's language (Vietnamese unless they chose another)."""
    return str(get_locale() or "vi")


def read_upload(
    form: FlaskForm, parse: Callable[[bytes, str], Any], error: type[ValueError]
) -> tuple[Any, list[tuple[int, str]]]:
    """The rows ``parse`` makes of the file of ``form`` (its content and name), once the
    form is sent and valid, else None; and the problems (line, message) of a file with
    bad rows, whose ``error`` carries them (then None: nothing is to be imported)."""
    if not form.validate_on_submit():
        return None, []
    upload = form.file.data
    try:
        return parse(upload.read(), upload.filename or ""), []
    except error as found:
        return None, found.problems


@bp.route("/")
@allow(*READERS)
def index():
    return render_template("workbench/index.html", waves=queries.waves(scope=current_scope()))


@bp.route("/waves/<wave_code>")
@allow(*READERS)
def wave(wave_code: str):
    wave = wave_by_code(wave_code) or abort(404)
    rows = _progress(wave, current_scope())
    return render_template(
        "workbench/wave.html", wave=wave, rows=rows, unit=None, household=wave.is_household
    )


@bp.route("/waves/<wave_code>/units/<unit_code>")
@allow(*READERS)
def wave_unit(wave_code: str, unit_code: str):
    """A wave's counts over one unit and the units under it; a foreign unit is a 404."""
    wave = wave_by_code(wave_code) or abort(404)
    unit = unit_by_code(unit_code) or abort(404)
    scope = current_scope()
    scope.require(unit.id)
    rows = _progress(wave, scope, units_under([unit.id]))
    return render_template(
        "workbench/wave.html", wave=wave, rows=rows, unit=unit, household=wave.is_household
    )


def _progress(wave, scope, unit_ids: set[int] | None = None) -> list:
    """Valid responses per desk, or in a household wave per cluster the forms record."""
    if wave.is_household:
        return queries.responses_per_cluster(wave, scope=scope, unit_ids=unit_ids)
    return queries.responses_per_desk(wave, scope=scope, unit_ids=unit_ids)


class FrameForm(FlaskForm):
    file = FileField(
        _l("Frame file (CSV or XLSX)"),
        description=_l("Columns psu, stratum, stratum_psus, size; one row per desk or cluster."),
        validators=[FileRequired(message=_l("Choose the file to import."))],
    )


@bp.route("/waves/<wave_code>/frame", methods=["GET", "POST"])
@allow("analyst", "admin")
def frame(wave_code: str):
    """The wave's sampling frame within the reader's units: progress per stratum, import."""
    wave = wave_by_code(wave_code) or abort(404)
    scope = current_scope()
    form = FrameForm()
    rows, problems = read_upload(
        form,
        lambda content, name: frames.parse_frame(frames.read_table(content, name), wave, scope),
        frames.FrameFileError,
    )
    if rows is not None:
        count = frames.import_frame(wave, rows, scope=scope, by=current_user)
        db.session.commit()
        flash(_("%(count)d PSUs imported into the frame.", count=count), "info")
        return redirect(url_for("workbench.frame", wave_code=wave.code))
    margin = float(current_app.config["SAMPLE_MARGIN"])
    strata = [
        (row, frames.target_sample_size(row.size, margin))
        for row in queries.frame_progress(wave, scope=scope)
    ]
    from survey.services.weights import weight_report

    try:
        weights = weight_report(wave, scope)
    except UserError:
        weights = None  # no valid response yet, or desks outside the frame (named on compute)
    page = render_template(
        "workbench/frame.html", wave=wave, form=form, problems=problems, strata=strata,
        margin=margin, weights=weights,
    )  # fmt: skip
    return page, 400 if problems else 200
