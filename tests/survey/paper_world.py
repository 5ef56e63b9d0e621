"""What the paper pages' tests share: the demo's provinces with a user of each role, forms
typed the way a typist types them, and a snapshot of everything paper forms can change.

Province 01 (Hà Nội) is "ours"; province 48 (Đà Nẵng) is foreign to our users.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    Answer,
    AuditEntry,
    PaperBatch,
    PaperForm,
    PaperPass,
    Response,
    ServicePoint,
    Unit,
    Wave,
)
from survey.services import paper
from survey.services.demo import WAVE_CODE, load_demo
from survey.services.questionnaires import questionnaire_of
from survey.services.waves import wave_by_code

OWN_DESK, FOREIGN_DESK = "MC-00004", "MC-20209"
#: email: (role, province code or None for national).
USERS = {
    "an@example.vn": ("surveyor", "01"),
    "binh@example.vn": ("surveyor", "01"),
    "chi@example.vn": ("supervisor", "01"),
    "dung@example.vn": ("supervisor", "01"),
    "analyst@example.vn": ("analyst", "01"),
    "admin@example.vn": ("admin", "01"),
    "national@example.vn": ("admin", None),
    "foreign-surveyor@example.vn": ("surveyor", "48"),
    "foreign-supervisor@example.vn": ("supervisor", "48"),
}


@dataclass
class PaperWorld:
    wave: Wave
    desk: ServicePoint
    foreign_desk: ServicePoint
    users: dict

    def user(self, email: str):
        return self.users[email]


def make_world(make_user) -> PaperWorld:
    """The demo's units, desks and open desk wave (no responses), and our users."""
    load_demo(responses=0, seed=3)
    db.session.commit()
    users = {}
    for email, (role, province) in USERS.items():
        units = [] if province is None else [_unit(province)]
        users[email] = make_user(email, role, units=units)
    return PaperWorld(
        wave=wave_by_code(WAVE_CODE),
        desk=_desk(OWN_DESK),
        foreign_desk=_desk(FOREIGN_DESK),
        users=users,
    )


def _unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def _desk(code: str) -> ServicePoint:
    return db.session.scalar(select(ServicePoint).where(ServicePoint.code == code))


def typed_form(wave: Wave, desk: ServicePoint, **changes: str) -> dict[str, str]:
    """A whole form as a typist types it: a procedure of the desk, then each item's keys
    (a question the skip logic hides left as "-")."""
    questionnaire = questionnaire_of(wave.questionnaire)
    typed = {}
    for item in questionnaire.items():
        scale = item.scale
        if scale.kind == "procedure":
            typed[item.code] = desk.procedures[0].code
        elif scale.kind == "text":
            typed[item.code] = "-"
        elif scale.kind == "multi":
            typed[item.code] = str(scale.values[0])
        else:
            choices = [v for v in scale.values if v != scale.not_applicable]
            typed[item.code] = str(choices[-1])
    typed.update(changes)
    _values, errors = paper.parse_typed(questionnaire, typed, [p.code for p in desk.procedures])
    for code in errors:
        typed[code] = "-"
    return typed


def likert_item(wave: Wave) -> str:
    """The first five-point item of the wave's form: one every form asks."""
    return next(
        item.code
        for item in questionnaire_of(wave.questionnaire).items()
        if item.scale.kind == "likert5" and item.show_if is None
    )


def disputed_form(world: PaperWorld, batch: PaperBatch, form: PaperForm, item: str):
    """``form`` typed by an@ (``item`` 4) and binh@ (``item`` 2): in dispute on ``item``."""
    first, second = world.user("an@example.vn"), world.user("binh@example.vn")
    paper.save_pass(batch, form, first, typed_form(world.wave, world.desk, **{item: "4"}),
                    complete=True)  # fmt: skip
    outcome = paper.save_pass(
        batch, form, second, typed_form(world.wave, world.desk, **{item: "2"}), complete=True
    )
    assert outcome.status == "disputed" and outcome.differing == [item]
    db.session.commit()


def snapshot() -> dict:
    """Everything a paper page could change: rows of every paper table, responses,
    answers and audit entries, with the columns that change."""
    db.session.expire_all()
    return {
        "batches": db.session.execute(
            select(
                PaperBatch.code,
                PaperBatch.status,
                PaperBatch.close_reason,
                PaperBatch.expected_count,
            ).order_by(PaperBatch.id)  # fmt: skip
        ).all(),
        "forms": db.session.execute(
            select(
                PaperForm.serial,
                PaperForm.status,
                PaperForm.batch_id,
                PaperForm.response_id,
                PaperForm.void_reason,
            ).order_by(PaperForm.id)  # fmt: skip
        ).all(),
        "passes": [
            (p.form_id, p.number, p.typist_id, p.answers, p.completed_at)
            for p in db.session.scalars(select(PaperPass).order_by(PaperPass.id))
        ],
        "responses": db.session.scalar(select(func.count(Response.id))),
        "answers": db.session.scalar(select(func.count(Answer.id))),
        "audit": db.session.scalar(select(func.count(AuditEntry.id))),
    }
