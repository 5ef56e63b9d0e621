"""The audit viewer: who changed what, filtered, per object, and as CSV.

Read-only by design: no route edits or deletes an entry, and the model
refuses updates and deletes (``survey.models.response``). Administrators and
supervisors see the entries of their units; national entries (waves,
procedures, national users) only national administrators.
"""

from __future__ import annotations

import csv
import io
import json

from flask import Response, abort, render_template, request, stream_with_context
from flask_babel import gettext as _

from survey import queries
from survey.admin import bp
from survey.admin.forms import AuditFilterForm
from survey.admin.routes import BACK_OFFICE, local_time
from survey.auth.policy import allow, current_scope
from survey.queries import AuditFilter

#: The page shows the newest entries; the CSV has them all.
PAGE_ROWS = 500
CSV_COLUMNS = ("at", "user", "action", "entity", "entity_id", "unit", "detail")


def _filter_form() -> AuditFilterForm:
    scope = current_scope()
    kinds, actions = queries.audit_choices(scope=scope)
    return AuditFilterForm(queries.users(scope=scope), kinds, actions, formdata=request.args)


def _audit_filter(form: AuditFilterForm, **fixed) -> AuditFilter:
    if not form.validate():
        abort(400)
    return AuditFilter(
        user_id=form.user_id.data or None,
        entity=form.entity.data or "",
        action=form.action.data or "",
        since=form.since.data,
        until=form.until.data,
        **fixed,
    )


@bp.route("/audit")
@allow(*BACK_OFFICE)
def audit_log():
    form = _filter_form()
    where = _audit_filter(form)
    entries = queries.audit_entries(scope=current_scope(), where=where, limit=PAGE_ROWS + 1)
    return render_template(
        "admin/audit.html",
        form=form,
        entries=entries[:PAGE_ROWS],
        more=len(entries) > PAGE_ROWS,
        title=_("Audit log"),
        history_of=None,
    )


@bp.route("/audit/<entity>/<entity_id>")
@allow(*BACK_OFFICE)
def audit_history(entity: str, entity_id: str):
    """One object's whole history; an object outside the scope has none (404)."""
    where = AuditFilter(entity=entity, entity_id=entity_id)
    entries = queries.audit_entries(scope=current_scope(), where=where)
    if not entries:
        abort(404)
    return render_template(
        "admin/audit.html",
        form=None,
        entries=entries,
        more=False,
        title=_("History of %(entity)s %(id)s", entity=entity, id=entity_id),
        history_of=(entity, entity_id),
    )


@bp.route("/audit.csv")
@allow(*BACK_OFFICE)
def audit_csv():
    where = _audit_filter(_filter_form())
    entries = queries.audit_entries(scope=current_scope(), where=where)

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow(audit_row(entry))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


def audit_row(entry) -> list[str]:
    cells = (
        local_time(entry.at),
        entry.user.email if entry.user else "",
        entry.action,
        entry.entity,
        entry.entity_id,
        entry.unit.code if entry.unit else "",
        json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
    )
    return [_inert(cell) for cell in cells]


def _inert(cell: str) -> str:
    """A spreadsheet must not run a cell as a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
