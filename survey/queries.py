"""Read side: the lists and counts the back office shows.

Each function returns rows or model objects; none writes. Every list of
rows that belong to units takes the reader's ``UnitScope`` (a required
keyword), so no back-office list can forget to be scoped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import ColumnElement, case, func, or_, select, true
from sqlalchemy.orm import selectinload

from survey.auth.policy import UnitScope
from survey.extensions import db
from survey.models import (
    Answer,
    AuditEntry,
    FrameEntry,
    Procedure,
    QuestionnaireVersion,
    Response,
    ServicePoint,
    Unit,
    User,
    Wave,
)
from survey.models.user import user_unit

#: Vietnam keeps UTC+7 all year; "today" on the dashboard is a Vietnamese day.
LOCAL_TIMEZONE = timezone(timedelta(hours=7), "ICT")
UNIT_LEVEL_ORDER = case({"province": 0, "district": 1, "commune": 2}, value=Unit.level, else_=3)


def units(*, scope: UnitScope) -> list[Unit]:
    """The units in scope, provinces first, then by code."""
    return db.session.scalars(
        select(Unit)
        .where(scope.where(Unit.id))
        .options(selectinload(Unit.parent))
        .order_by(UNIT_LEVEL_ORDER, Unit.code)
    ).all()


def service_points(*, scope: UnitScope, unit_ids: set[int] | None = None) -> list[ServicePoint]:
    """The desks in scope (or of ``unit_ids`` only) by code, with unit and procedures."""
    query = select(ServicePoint).where(scope.where(ServicePoint.unit_id))
    if unit_ids is not None:
        query = query.where(ServicePoint.unit_id.in_(sorted(unit_ids)))
    return db.session.scalars(
        query.options(
            selectinload(ServicePoint.unit), selectinload(ServicePoint.procedures)
        ).order_by(ServicePoint.code)
    ).all()


def procedures() -> list[Procedure]:
    """The national catalogue of procedures: it belongs to no unit, so it is not scoped."""
    return db.session.scalars(select(Procedure).order_by(Procedure.field, Procedure.code)).all()


def questionnaire_versions() -> list[QuestionnaireVersion]:
    return db.session.scalars(
        select(QuestionnaireVersion).order_by(
            QuestionnaireVersion.code, QuestionnaireVersion.version.desc()
        )
    ).all()


def waves(*, scope: UnitScope) -> list[tuple[Wave, int]]:
    """Every wave, newest first, with its valid responses at the desks in scope (in a
    household wave: in the clusters in scope).

    Waves are national (one questionnaire over a period); only their counts are scoped.
    """
    counts = (
        select(Response.wave_id, func.count().label("n"))
        .outerjoin(ServicePoint, ServicePoint.id == Response.service_point_id)
        .where(Response.status == "valid", scope.where(response_place()))
        .group_by(Response.wave_id)
        .subquery()
    )
    return db.session.execute(
        select(Wave, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.wave_id == Wave.id)
        .options(selectinload(Wave.questionnaire))
        .order_by(Wave.created_at.desc(), Wave.id.desc())
    ).all()


def open_waves() -> list[Wave]:
    return db.session.scalars(
        select(Wave).where(Wave.status == "open").order_by(Wave.created_at, Wave.id)
    ).all()


def local_day_start(day: date) -> datetime:
    """The UTC instant a Vietnamese calendar day begins."""
    return datetime.combine(day, time(), LOCAL_TIMEZONE).astimezone(UTC)


def today_local(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(LOCAL_TIMEZONE).date()


@dataclass(frozen=True)
class DeskCount:
    """Valid responses at one desk in one wave."""

    service_point: ServicePoint
    today: int
    total: int
    last_at: datetime | None


def responses_per_desk(
    wave: Wave, *, scope: UnitScope, unit_ids: set[int] | None = None, now: datetime | None = None
) -> list[DeskCount]:
    """Each active desk in scope (and any that answered) with its counts in ``wave``.

    ``unit_ids`` narrows to the desks of those units. ``today`` counts from
    local midnight; the busiest desks come first.
    """
    since = local_day_start(today_local(now))
    joined = (Response.service_point_id == ServicePoint.id) & (Response.wave_id == wave.id)
    joined &= Response.status == "valid"
    total = func.count(Response.id)
    rows = db.session.execute(
        select(
            ServicePoint,
            func.coalesce(func.sum(case((Response.submitted_at >= since, 1), else_=0)), 0),
            total,
            func.max(Response.submitted_at),
        )
        .outerjoin(Response, joined)
        .where(scope.where(ServicePoint.unit_id))
        .where(true() if unit_ids is None else ServicePoint.unit_id.in_(sorted(unit_ids)))
        .options(selectinload(ServicePoint.unit))
        .group_by(ServicePoint.id)
        .having(or_(ServicePoint.active, total > 0))
        .order_by(total.desc(), ServicePoint.code)
    ).all()
    return [DeskCount(point, int(today), int(n), as_utc(last)) for point, today, n, last in rows]


def response_place() -> ColumnElement:
    """The unit a response counts in, in a query that outer-joins its desk: a household
    response's cluster (a household paper form has no desk), else its desk's unit."""
    return func.coalesce(Response.unit_id, ServicePoint.unit_id)


@dataclass(frozen=True)
class ClusterCount:
    """Valid responses of one commune or village cluster in one household wave."""

    unit: Unit
    today: int
    total: int
    last_at: datetime | None


def responses_per_cluster(
    wave: Wave, *, scope: UnitScope, unit_ids: set[int] | None = None, now: datetime | None = None
) -> list[ClusterCount]:
    """Each cluster in scope (or of ``unit_ids``) with valid responses in household wave
    ``wave``, and its counts; the busiest first. ``today`` counts from local midnight."""
    since = local_day_start(today_local(now))
    total = func.count(Response.id)
    rows = db.session.execute(
        select(
            Unit,
            func.coalesce(func.sum(case((Response.submitted_at >= since, 1), else_=0)), 0),
            total,
            func.max(Response.submitted_at),
        )
        .join(Response, Response.unit_id == Unit.id)
        .where(Response.wave_id == wave.id, Response.status == "valid")
        .where(scope.where(Unit.id))
        .where(true() if unit_ids is None else Unit.id.in_(sorted(unit_ids)))
        .options(selectinload(Unit.parent))
        .group_by(Unit.id)
        .order_by(total.desc(), Unit.code)
    ).all()
    return [ClusterCount(unit, int(today), int(n), as_utc(last)) for unit, today, n, last in rows]


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def users(*, scope: UnitScope) -> list[User]:
    """The users in scope: national readers see all; others, those whose every unit is theirs."""
    query = select(User).options(selectinload(User.units)).order_by(User.email)
    if not scope.is_national:
        outside = select(user_unit.c.user_id).where(~scope.where(user_unit.c.unit_id))
        query = query.where(User.id.in_(select(user_unit.c.user_id)), User.id.not_in(outside))
    return db.session.scalars(query).all()


def user_in_scope(user: User, scope: UnitScope) -> bool:
    if scope.is_national:
        return True
    return bool(user.units) and all(scope.covers(unit.id) for unit in user.units)


@dataclass(frozen=True)
class AuditFilter:
    """What the audit viewer narrows to; empty fields do not filter."""

    user_id: int | None = None
    entity: str = ""
    entity_id: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


def audit_entries(
    *, scope: UnitScope, where: AuditFilter, limit: int | None = None
) -> list[AuditEntry]:
    """Audit entries in scope matching ``where``, newest first."""
    query = select(AuditEntry).where(scope.where(AuditEntry.unit_id))
    if where.user_id is not None:
        query = query.where(AuditEntry.user_id == where.user_id)
    if where.entity:
        query = query.where(AuditEntry.entity == where.entity)
    if where.entity_id:
        query = query.where(AuditEntry.entity_id == where.entity_id)
    if where.action:
        query = query.where(AuditEntry.action == where.action)
    if where.since is not None:
        query = query.where(AuditEntry.at >= local_day_start(where.since))
    if where.until is not None:
        query = query.where(AuditEntry.at < local_day_start(where.until + timedelta(days=1)))
    query = query.options(selectinload(AuditEntry.user), selectinload(AuditEntry.unit))
    return db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    ).all()


def audit_choices(*, scope: UnitScope) -> tuple[list[str], list[str]]:
    """The kinds of object and the actions that occur in the audit entries in scope."""
    in_scope = scope.where(AuditEntry.unit_id)
    kinds = db.session.scalars(
        select(AuditEntry.entity).where(in_scope).distinct().order_by(AuditEntry.entity)
    ).all()
    actions = db.session.scalars(
        select(AuditEntry.action).where(in_scope).distinct().order_by(AuditEntry.action)
    ).all()
    return kinds, actions


# --- a wave's responses for the statistics (survey.services.design_frame) ----------------


def valid_responses(wave: Wave) -> list[tuple]:
    """``(response id, desk id, desk code, desk unit id, procedure code, channel,
    procedure field, the response's own unit id)``; the last is a household response's
    commune or village cluster, and a household paper form has no desk (the desk's
    columns None).

    Only valid responses count in every statistic.
    """
    return db.session.execute(
        select(
            Response.id,
            ServicePoint.id,
            ServicePoint.code,
            ServicePoint.unit_id,
            Procedure.code,
            Response.channel,
            Procedure.field,
            Response.unit_id,
        )
        .outerjoin(ServicePoint, ServicePoint.id == Response.service_point_id)
        .outerjoin(Procedure, Procedure.id == Response.procedure_id)
        .where(Response.wave_id == wave.id, Response.status == "valid")
        .order_by(Response.id)
    ).all()


def valid_answers(wave: Wave, item_codes: list[str]) -> list[tuple]:
    """``(response id, item code, numeric value)`` of the valid responses of ``wave``."""
    return db.session.execute(
        select(Answer.response_id, Answer.item_code, Answer.value_num)
        .join(Response, Response.id == Answer.response_id)
        .where(
            Response.wave_id == wave.id,
            Response.status == "valid",
            Answer.item_code.in_(item_codes),
            Answer.value_num.is_not(None),
        )
    ).all()


def unit_tree() -> dict[int, tuple[str, str, int | None]]:
    """Every unit: id to ``(code, level, parent id)``."""
    rows = db.session.execute(select(Unit.id, Unit.code, Unit.level, Unit.parent_id))
    return {unit_id: (code, level, parent) for unit_id, code, level, parent in rows}


def frame_entries(wave: Wave) -> list[FrameEntry]:
    return db.session.scalars(select(FrameEntry).where(FrameEntry.wave_id == wave.id)).all()


@dataclass(frozen=True)
class StratumProgress:
    """A stratum of a wave's frame, and how far its sample has come."""

    stratum: str
    stratum_psus: int
    listed_psus: int
    size: int
    responding_psus: int
    responses: int


def frame_progress(wave: Wave, *, scope: UnitScope) -> list[StratumProgress]:
    """Per stratum of the frame (PSUs in scope): counts, PSUs answering, valid responses.

    A household wave's PSUs are the clusters its responses record; a desk wave's, the desks.
    """
    household = wave.is_household
    psu = Response.unit_id if household else Response.service_point_id
    answered = (
        select(psu.label("psu_id"), func.count().label("n"))
        .where(Response.wave_id == wave.id, Response.status == "valid")
        .group_by(psu)
        .subquery()
    )
    entry_psu = FrameEntry.unit_id if household else FrameEntry.service_point_id
    rows = db.session.execute(
        select(
            FrameEntry.stratum,
            func.max(FrameEntry.stratum_desks),
            func.count(FrameEntry.id),
            func.coalesce(func.sum(FrameEntry.transactions), 0),
            func.count(answered.c.n),
            func.coalesce(func.sum(answered.c.n), 0),
        )
        .outerjoin(ServicePoint, ServicePoint.id == FrameEntry.service_point_id)
        .outerjoin(answered, answered.c.psu_id == entry_psu)
        .where(FrameEntry.wave_id == wave.id)
        .where(scope.where(func.coalesce(ServicePoint.unit_id, FrameEntry.unit_id)))
        .group_by(FrameEntry.stratum)
        .order_by(FrameEntry.stratum)
    ).all()
    return [StratumProgress(*(row[0], *(int(v or 0) for v in row[1:]))) for row in rows]
