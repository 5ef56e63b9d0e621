"""The surveyors' landing page: the open batches to type and, for supervisors, the forms
waiting for them."""

from __future__ import annotations

from flask import render_template

from survey.auth.policy import allow, current_scope, may_use
from survey.entry import bp
from survey.entry.batches import READERS, page_helpers
from survey.services import paper

#: Forms in dispute listed on the landing page; the batches' pages list every one.
DISPUTES_SHOWN = 20


@bp.route("/")
@allow(*READERS)
def index():
    """The open batches of the reader's units with their counts; a supervisor's forms in
    dispute."""
    scope = current_scope()
    batches = [
        (batch, paper.batch_counts(batch)) for batch in paper.batches(scope=scope, status="open")
    ]
    disputes = paper.forms_in_dispute(scope=scope) if may_use("entry.settle") else []
    return render_template(
        "entry/index.html",
        batches=batches,
        disputes=disputes[:DISPUTES_SHOWN],
        dispute_count=len(disputes),
        **page_helpers(),
    )
