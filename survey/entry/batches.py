"""Batches of returned paper forms: the list, registering a bundle, one batch's counts and
forms, closing it; and the surveyors' work (passes per day, error rates).

A batch is seen by anyone who types or supervises in its unit; registering,
closing and the surveyors' figures are the supervisor's. Values in dispute
are shown only to those who may settle them: a typist never sees another
typist's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound

from survey import queries
from survey.admin.routes import local_time
from survey.auth.policy import allow, current_scope, may_use
from survey.entry import bp
from survey.entry.forms import BatchFilterForm, CloseBatchForm, NewBatchForm
from survey.errors import UserError
from survey.extensions import db
from survey.models import PaperBatch
from survey.services import paper
from survey.services.waves import wave_by_code

READERS = ("surveyor", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
#: Days of the surveyors' table, today included.
SURVEYOR_DAYS = 14
#: Rows of a batch page's list of forms (a batch may hold ten thousand).
FORMS_PER_PAGE = 200

BATCH_STATUSES = {"open": _l("open"), "closed": _l("closed")}
FORM_STATUSES = {
    "issued": _l("not typed"),
    "typed": _l("typed once"),
    "disputed": _l("in dispute"),
    "settled": _l("settled"),
    "void": _l("void"),
}


def page_helpers() -> dict:
    """What every batch page's template uses to show times, statuses and places."""
    return {
        "local_time": local_time,
        "batch_statuses": BATCH_STATUSES,
        "form_statuses": FORM_STATUSES,
        "place_of": paper.psu_label,
        "grouped_serial": paper.grouped_serial,
    }


# --- the list ----------------------------------------------------------------------


@bp.route("/batches")
@allow(*READERS)
def batches():
    """The batches in the reader's units, by wave and status (open ones by default)."""
    waves = [wave for wave, _count in queries.waves(scope=current_scope())]
    form = BatchFilterForm(waves, request.args)
    form.status.data = form.status.data or "open"
    if form.status.data not in BATCH_STATUSES and form.status.data != "all":
        abort(400)
    wave = None
    if form.wave.data:
        wave = wave_by_code(form.wave.data) or abort(400)
    status = None if form.status.data == "all" else form.status.data
    rows = [
        (batch, paper.batch_counts(batch))
        for batch in paper.batches(scope=current_scope(), wave=wave, status=status)
    ]
    return render_template("entry/batches.html", form=form, rows=rows, **page_helpers())


# --- a new batch -------------------------------------------------------------------


@bp.route("/batches/new", methods=["GET", "POST"])
@allow(*SUPERVISORS)
def new_batch():
    """Register a returned bundle; its desk or cluster only from the reader's units."""
    form = _new_batch_form()
    if form.validate_on_submit():
        try:
            batch = paper.create_batch(
                form.chosen_wave,
                form.number,
                service_point=form.chosen_desk,
                unit=form.chosen_unit,
                by=current_user,
            )
        except UserError as refused:
            db.session.rollback()
            form.count.errors = [refused.message]
        else:
            db.session.commit()
            flash(
                _(
                    "Batch %(batch)s registered with %(count)d forms: write its code on the "
                    "bundle.",
                    batch=batch.code,
                    count=batch.expected_count,
                ),
                "info",
            )
            return redirect(url_for("entry.batch", code=batch.code))
    page = render_template("entry/new_batch.html", form=form)
    return page, 400 if form.errors else 200


def _new_batch_form() -> NewBatchForm:
    """The form offering the waves still taking answers, and the desks and communes of
    the reader's units."""
    scope = current_scope()
    waves = [
        wave for wave, _count in queries.waves(scope=scope) if wave.status in ("open", "draft")
    ]
    desks = queries.service_points(scope=scope)
    clusters = [
        unit for unit in queries.units(scope=scope) if unit.level == "commune" and unit.current
    ]
    form = NewBatchForm(waves, desks, clusters)
    if request.method == "GET" and len(waves) == 1:
        form.wave.data = waves[0].code
    return form


# --- one batch ---------------------------------------------------------------------


@bp.route("/batches/<code>")
@allow(*READERS)
def batch(code: str):
    """A batch's counts, its forms in dispute and its forms; a serial typed in the
    "find a form" field opens that form's page."""
    batch = paper.batch_by_code(code, scope=current_scope())
    serial = request.args.get("serial")
    if serial is not None and may_use("entry.settle"):
        problem = _find_problem(serial)
        if problem is None:
            found = paper.normalise_serial(serial)
            return redirect(url_for("entry.settle", serial=found, batch=batch.code))
        return _batch_page(batch, CloseBatchForm(), find_error=problem), 400
    return _batch_page(batch, CloseBatchForm())


def _find_problem(serial: str) -> str | None:
    """Why a serial typed to find a form finds none in the reader's units, or None."""
    problem = paper.serial_problem(serial)
    if problem:
        return problem
    try:
        paper.form_by_serial(serial, scope=current_scope())
    except NotFound:
        return _("No form has serial %(serial)s.", serial=paper.normalise_serial(serial))
    return None


@bp.route("/batches/<code>/close", methods=["POST"])
@allow(*SUPERVISORS)
def close_batch(code: str):
    """Close the batch; with forms missing, the reason is required (400 and unchanged)."""
    batch = paper.batch_by_code(code, scope=current_scope())
    form = CloseBatchForm()
    if not form.validate_on_submit():
        return _batch_page(batch, form), 400
    db.session.refresh(batch, with_for_update=True)
    try:
        paper.close_batch(batch, current_user, form.reason.data)
    except UserError as refused:
        db.session.rollback()
        form.reason.errors = [refused.message]
        return _batch_page(batch, form), 400
    db.session.commit()
    flash(_("Batch %(batch)s is closed.", batch=batch.code), "info")
    return redirect(url_for("entry.batch", code=batch.code))


def _batch_page(batch: PaperBatch, close_form: CloseBatchForm, find_error: str | None = None):
    may_settle = may_use("entry.settle")
    counts = paper.batch_counts(batch)
    if counts.missing:
        close_form.reason.description = _(
            "%(count)d forms are missing: say why before closing the batch.", count=counts.missing
        )
    else:
        close_form.reason.description = _("Not needed: no form is missing.")
    return render_template(
        "entry/batch.html",
        batch=batch,
        counts=counts,
        disputes=_disputes_by_form(batch) if may_settle else [],
        forms=_forms_page(batch),
        close_form=close_form,
        find_error=find_error,
        find_value=request.args.get("serial", ""),
        **page_helpers(),
    )


@dataclass(frozen=True)
class FormsPage:
    """One page of a batch's forms, of one status or all (``status`` None)."""

    rows: list[paper.FormRow]
    status: str | None
    by_status: dict[str, int]
    page: int
    pages: int
    first: int
    total: int

    @property
    def filters(self) -> list[tuple[str | None, str, int]]:
        """``(status, label, forms)`` of each filter link, all forms first (a form in a
        batch has been typed or voided, so never "not typed")."""
        shown = [status for status in FORM_STATUSES if status != "issued"]
        return [(None, _("all"), sum(self.by_status.values()))] + [
            (status, str(FORM_STATUSES[status]), self.by_status.get(status, 0)) for status in shown
        ]


def _forms_page(batch: PaperBatch) -> FormsPage:
    """The page of forms that ``?status=`` and ``?page=`` ask for; a page past the last
    shows the last."""
    status = request.args.get("status") or None
    if status is not None and status not in FORM_STATUSES:
        abort(400)
    by_status = paper.batch_status_counts(batch)
    total = by_status.get(status, 0) if status else sum(by_status.values())
    pages = max(1, -(-total // FORMS_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    offset = (page - 1) * FORMS_PER_PAGE
    rows = paper.batch_forms(batch, status=status, offset=offset, limit=FORMS_PER_PAGE)
    return FormsPage(rows, status, by_status, page, pages, offset + 1, total)


def _disputes_by_form(batch: PaperBatch) -> list[tuple[str, list[paper.Dispute]]]:
    """The batch's disputed fields grouped by form, in serial order."""
    grouped: dict[str, list[paper.Dispute]] = {}
    for dispute in paper.batch_disputes(batch):
        grouped.setdefault(dispute.serial, []).append(dispute)
    return list(grouped.items())


# --- the surveyors -----------------------------------------------------------------


@bp.route("/surveyors")
@allow(*SUPERVISORS)
def surveyors():
    """Each surveyor's passes per day over the last two weeks, the fields they typed and
    those their value lost in a settlement; each recent batch's agreement rate."""
    scope = current_scope()
    today = queries.today_local()
    days = [today - timedelta(days=back) for back in range(SURVEYOR_DAYS - 1, -1, -1)]
    stats = sorted(paper.typist_stats(scope=scope, since=days[0]), key=lambda s: s.typist.email)
    since = queries.local_day_start(days[0])
    recent = [
        (batch, paper.batch_counts(batch))
        for batch in paper.batches(scope=scope)
        if batch.status == "open" or queries.as_utc(batch.created_at) >= since
    ]
    return render_template(
        "entry/surveyors.html", days=days, stats=stats, batches=recent, **page_helpers()
    )
