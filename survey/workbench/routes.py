"""Read-only counts and progress of each wave, over the reader's units."""

from __future__ import annotations

from flask import abort, render_template

from survey import queries
from survey.admin.routes import local_time
from survey.auth.policy import allow, current_scope, units_under
from survey.services.units import unit_by_code
from survey.services.waves import wave_by_code
from survey.workbench import bp

READERS = ("analyst", "supervisor", "admin")


@bp.context_processor
def helpers() -> dict:
    return {"local_time": local_time}


@bp.route("/")
@allow(*READERS)
def index():
    return render_template("workbench/index.html", waves=queries.waves(scope=current_scope()))


@bp.route("/waves/<wave_code>")
@allow(*READERS)
def wave(wave_code: str):
    wave = wave_by_code(wave_code) or abort(404)
    rows = queries.responses_per_desk(wave, scope=current_scope())
    return render_template("workbench/wave.html", wave=wave, rows=rows, unit=None)


@bp.route("/waves/<wave_code>/units/<unit_code>")
@allow(*READERS)
def wave_unit(wave_code: str, unit_code: str):
    """A wave's counts over one unit and the units under it; a foreign unit is a 404."""
    wave = wave_by_code(wave_code) or abort(404)
    unit = unit_by_code(unit_code) or abort(404)
    scope = current_scope()
    scope.require(unit.id)
    rows = queries.responses_per_desk(wave, scope=scope, unit_ids=units_under([unit.id]))
    return render_template("workbench/wave.html", wave=wave, rows=rows, unit=unit)
