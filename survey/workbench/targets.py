"""A wave's calibration targets: its margins, the weights they make, import and removal.

A reader tied to units sees the cells of their units of a margin by province
or commune (and the whole of a margin that is not by place: national
figures, like the procedure catalogue), imports such margins for their units
only and removes only their cells. The statistics are imported by the views
that use them, as in ``routes.py``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired

from survey.auth.policy import allow, current_scope
from survey.errors import UserError
from survey.extensions import db
from survey.services.waves import wave_by_code
from survey.workbench import bp
from survey.workbench.result_sets import WEIGHTINGS
from survey.workbench.routes import read_upload


class TargetsForm(FlaskForm):
    file = FileField(
        _l("Target file (CSV or XLSX)"),
        description=_l(
            "One margin: one or more category columns (e.g. province, procedure_group), "
            "then count, the population of each cell."
        ),
        validators=[FileRequired(message=_l("Choose the file to import."))],
    )


class RemoveMarginForm(FlaskForm):
    margin = HiddenField(validators=[DataRequired()])


@bp.route("/waves/<wave_code>/targets", methods=["GET", "POST"])
@allow("analyst", "admin")
def wave_targets(wave_code: str):
    """The wave's margins and the weights they make, over the reader's units; import."""
    from survey.services import targets
    from survey.services.results import domain_fields

    wave = wave_by_code(wave_code) or abort(404)
    scope = current_scope()
    form = TargetsForm()
    parsed, problems = read_upload(
        form,
        lambda content, name: targets.parse_targets(targets.read_table(content, name), wave, scope),
        targets.TargetFileError,
    )
    if parsed is not None:
        count = targets.import_targets(wave, parsed, scope=scope, by=current_user)
        db.session.commit()
        message = _("%(count)d cells of margin %(margin)s imported.", count=count,
                    margin=parsed.margin)  # fmt: skip
        flash(message, "info")
        return redirect(url_for("workbench.wave_targets", wave_code=wave.code))
    page = render_template(
        "workbench/targets.html", wave=wave, form=form, problems=problems,
        margins=targets.margin_tables(wave, scope), weights=targets.compare_weights(wave, scope),
        weighting_labels=WEIGHTINGS, remove=RemoveMarginForm(), fields=domain_fields(wave),
        scoped=not scope.is_national,
    )  # fmt: skip
    return page, 400 if problems else 200


@bp.route("/waves/<wave_code>/targets/remove", methods=["POST"])
@allow("analyst", "admin")
def remove_margin(wave_code: str):
    """Remove a margin (a reader tied to units: their cells of it)."""
    from survey.services import targets

    wave = wave_by_code(wave_code) or abort(404)
    form = RemoveMarginForm()
    if not form.validate_on_submit():
        flash(_("Choose the margin to remove."), "error")
    else:
        try:
            count = targets.remove_margin(
                wave, form.margin.data, scope=current_scope(), by=current_user
            )
        except UserError as error:
            flash(str(error.message), "error")
        else:
            db.session.commit()
            message = _("%(count)d cells of margin %(margin)s removed.", count=count,
                        margin=form.margin.data)  # fmt: skip
            flash(message, "info")
    return redirect(url_for("workbench.wave_targets", wave_code=wave.code))
