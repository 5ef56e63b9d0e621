"""Passes typed in a spreadsheet, uploaded into a batch: for offices that type in Excel.

A surveyor imports their own passes; a supervisor or administrator names the
typist, among the surveyors and supervisors who work for the batch's desk or
cluster. A file with any bad row imports nothing, and every problem is listed
with its line. The header to start from is a download.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey.auth.policy import allow, current_scope
from survey.entry import bp
from survey.entry.forms import ImportPassForm
from survey.errors import UserError
from survey.extensions import db
from survey.models import PaperBatch
from survey.services import paper, paper_import
from survey.services.questionnaires import questionnaire_of

IMPORTERS = ("surveyor", "supervisor", "admin")


@bp.route("/batches/<code>/import", methods=["GET", "POST"])
@allow(*IMPORTERS)
def import_pass(code: str):
    """Upload a CSV or XLSX file of passes into batch ``code``."""
    batch = paper.batch_by_code(code, scope=current_scope())
    own = current_user.role == "surveyor"
    form = ImportPassForm(None if own else paper_import.typists_for(batch))
    problems: list[tuple[int, str]] = []
    if form.validate_on_submit():
        typist = current_user._get_current_object() if own else form.chosen_typist
        upload = form.file.data
        try:
            result = paper_import.import_passes(batch, typist, upload.read(), upload.filename or "")
        except paper_import.PassFileError as error:
            problems = error.problems
        except UserError as error:
            problems = [(0, str(error.message))]
        if problems:
            db.session.rollback()
        else:
            db.session.commit()
            flash(_imported(result, typist.email), "info")
            return redirect(url_for("entry.batch", code=batch.code))
    page = render_template(
        "entry/import_pass.html",
        batch=batch,
        form=form,
        problems=problems,
        header=_header(batch),
        place=paper.psu_label(batch),
    )
    return page, 400 if problems or form.errors else 200


@bp.route("/batches/<code>/import/header.csv")
@allow(*IMPORTERS)
def import_header(code: str):
    """The header row of the batch's pass file, to type the forms under it."""
    batch = paper.batch_by_code(code, scope=current_scope())
    return Response(
        "\ufeff" + ",".join(_header(batch)) + "\r\n",
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={batch.code}-passes.csv"},
    )


def _header(batch: PaperBatch) -> list[str]:
    questionnaire = questionnaire_of(batch.wave.questionnaire)
    codes = [item.code for item in paper.entry_items(questionnaire)]
    return [paper_import.SERIAL_COLUMN, *codes]


def _imported(result: paper_import.ImportResult, email: str) -> str:
    return _(
        "%(passes)d passes of %(email)s imported: %(settled)d forms settled, "
        "%(disputed)d in dispute.",
        passes=result.passes,
        email=email,
        settled=result.settled,
        disputed=result.disputed,
    )
