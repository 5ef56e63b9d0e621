"""Read side: the lists and counts the back office shows.

Each function returns rows or model objects; none writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from survey.extensions import db
from survey.models import Procedure, QuestionnaireVersion, Response, ServicePoint, Unit, Wave

#: Vietnam keeps UTC+7 all year; "today" on the dashboard is a Vietnamese day.
LOCAL_TIMEZONE = timezone(timedelta(hours=7), "ICT")
UNIT_LEVEL_ORDER = case({"province": 0, "district": 1, "commune": 2}, value=Unit.level, else_=3)


def units() -> list[Unit]:
    """Every unit, provinces first, then by code."""
    return db.session.scalars(
        select(Unit).options(selectinload(Unit.parent)).order_by(UNIT_LEVEL_ORDER, Unit.code)
    ).all()


def service_points() -> list[ServicePoint]:
    """Every desk by code, with its unit and procedures loaded."""
    return db.session.scalars(
        select(ServicePoint)
        .options(selectinload(ServicePoint.unit), selectinload(ServicePoint.procedures))
        .order_by(ServicePoint.code)
    ).all()


def procedures() -> list[Procedure]:
    return db.session.scalars(select(Procedure).order_by(Procedure.field, Procedure.code)).all()


def questionnaire_versions() -> list[QuestionnaireVersion]:
    return db.session.scalars(
        select(QuestionnaireVersion).order_by(
            QuestionnaireVersion.code, QuestionnaireVersion.version.desc()
        )
    ).all()


def waves() -> list[tuple[Wave, int]]:
    """Every wave, newest first, with its number of valid responses."""
    counts = (
        select(Response.wave_id, func.count().label("n"))
        .where(Response.status == "valid")
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


def responses_per_desk(wave: Wave, now: datetime | None = None) -> list[DeskCount]:
    """Each active desk (and any desk that answered) with its counts in ``wave``.

    ``today`` counts from local midnight; the busiest desks come first.
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
        .options(selectinload(ServicePoint.unit))
        .group_by(ServicePoint.id)
        .having(or_(ServicePoint.active, total > 0))
        .order_by(total.desc(), ServicePoint.code)
    ).all()
    return [DeskCount(point, int(today), int(n), as_utc(last)) for point, today, n, last in rows]


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
