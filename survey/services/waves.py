"""Survey waves: create one from a questionnaire version, open it, close it.

Rule: at most one wave is open per questionnaire kind (one desk wave, one
household wave), so a scanned desk code always leads to a single questionnaire.
To open another, close the open one first. A closed wave may be opened again
(a wave closed by mistake goes on taking answers); a draft wave may be opened
directly. Every change is written to the audit log.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import QuestionnaireVersion, User, Wave
from survey.services.audit import audit

CODE_RE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")


def create_wave(
    code: str,
    name: str,
    questionnaire: QuestionnaireVersion,
    starts_on: date | None = None,
    ends_on: date | None = None,
    *,
    by: User | None = None,
) -> Wave:
    """Add a draft wave asking ``questionnaire`` over ``starts_on``..``ends_on``."""
    code, name = code.strip(), name.strip()
    if not CODE_RE.match(code) or len(code) > 32:
        raise UserError(
            _l("Wave code '%(code)s' may have only letters, digits and dashes.", code=code)
        )
    if not name:
        raise UserError(_l("A wave needs a name."))
    if starts_on and ends_on and ends_on < starts_on:
        raise UserError(_l("A wave cannot end before it starts."))
    if wave_by_code(code) is not None:
        raise UserError(_l("A wave with code %(code)s already exists.", code=code))
    wave = Wave(
        code=code,
        name=name,
        questionnaire=questionnaire,
        starts_on=starts_on,
        ends_on=ends_on,
        status="draft",
    )
    db.session.add(wave)
    db.session.flush()
    audit(
        "create",
        wave,
        by,
        code=code,
        questionnaire=f"{questionnaire.code} v{questionnaire.version}",
    )
    return wave


def open_wave(wave: Wave, *, by: User | None = None) -> None:
    """Start taking responses; refused while another wave of the same kind is open."""
    if wave.status == "open":
        return
    other = open_wave_of_kind(wave.questionnaire.kind)
    if other is not None:
        raise UserError(
            _l(
                "Wave %(code)s is open for the same kind of questionnaire; close it first.",
                code=other.code,
            )
        )
    previous, wave.status = wave.status, "open"
    db.session.flush()
    audit("open", wave, by, previous=previous)


def close_wave(wave: Wave, *, by: User | None = None) -> None:
    """Stop taking responses."""
    if wave.status != "open":
        raise UserError(_l("Wave %(code)s is not open.", code=wave.code))
    wave.status = "closed"
    db.session.flush()
    audit("close", wave, by)


def open_wave_of_kind(kind: str) -> Wave | None:
    """The open wave whose questionnaire is of ``kind`` ("desk" or "household"), if any."""
    return db.session.scalar(
        select(Wave)
        .join(Wave.questionnaire)
        .where(Wave.status == "open", QuestionnaireVersion.kind == kind)
    )


def wave_by_code(code: str) -> Wave | None:
    wanted = code.strip().lower()
    return db.session.scalar(select(Wave).where(func.lower(Wave.code) == wanted))
