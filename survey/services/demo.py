"""Demo data: real units, desks, procedures, an open desk wave, the closed desk wave of
the year before, and generated responses to both.

``load_demo`` is idempotent: every piece is looked up by its code before it is
made, and responses are generated only while a demo wave has none, so a
second run finds everything in place and changes nothing.

The earlier wave (:data:`EARLIER_WAVE_CODE`) asks the same questionnaire
version at the same desks a year before, with a frame of its own and answers
a little less satisfied, so that the trend over waves and the comparison of
two waves have something to show. Its draws come from a random stream of
their own (from the same seed), so the open wave's data are the same with or
without it.

Units are real (an extract of the 2025 unit list in ``survey/demo/``); desks,
procedure subsets, transaction counts and responses are invented. Answers are
drawn with numpy from the desk questionnaire's own items and scales, and each
response passes the questionnaire's validation before it is stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select

from survey.errors import UserError
from survey.extensions import db
from survey.models import (
    Answer,
    FrameEntry,
    PaperForm,
    Procedure,
    QuestionnaireVersion,
    Response,
    ServicePoint,
    Unit,
    Wave,
)
from survey.queries import LOCAL_TIMEZONE
from survey.questionnaire import Item, Questionnaire
from survey.services import paper
from survey.services import procedures as procedure_service
from survey.services import service_points as point_service
from survey.services import units as unit_service
from survey.services import waves as wave_service
from survey.services.audit import audit
from survey.services.questionnaires import questionnaire_of, sync_questionnaires
from survey.services.responses import answer_rows

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
UNITS_FILE = DEMO_DIR / "units-2025.json"
WAVE_CODE = "DEMO-2025"
WAVE_NAME = "Khảo sát tại quầy một cửa (dữ liệu mẫu)"
DESK_QUESTIONNAIRE = "sipas-desk"
DAYS = 30
EARLIER_WAVE_CODE = "DEMO-2024"
#: Paper forms printed for the first desk, and how many came back in its batch.
DEMO_PAPER_FORMS, DEMO_PAPER_BATCH = 40, 30
EARLIER_WAVE_NAME = "Khảo sát tại quầy một cửa năm trước (dữ liệu mẫu)"
#: How much lower the latent satisfaction (1..5) of the earlier wave's answers is.
EARLIER_SHIFT = -0.15
#: Commune desks per province, in the order of the extract (plus the provincial centre).
COMMUNE_DESKS = {"01": 3, "48": 2, "96": 2}

#: (national code, Vietnamese name, English name, field, levels of government handling it).
#: The codes follow the national database's format; they are illustrative.
PROCEDURES = [
    ("1.001193", "Đăng ký khai sinh", "Birth registration", "Hộ tịch", "C"),
    ("1.000894", "Đăng ký kết hôn", "Marriage registration", "Hộ tịch", "C"),
    (
        "2.000635",
        "Cấp bản sao trích lục hộ tịch",
        "Copy of a civil-status extract",
        "Hộ tịch",
        "C",
    ),
    (
        "1.004873",
        "Xác nhận tình trạng hôn nhân",
        "Certificate of marital status",
        "Hộ tịch",
        "C",
    ),
    (
        "2.000815",
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        "Certified copy of a document from its original",
        "Chứng thực",
        "PC",
    ),
    (
        "1.004227",
        "Đăng ký thường trú",
        "Permanent residence registration",
        "Đăng ký, quản lý cư trú",
        "C",
    ),
    (
        "1.012785",
        "Cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất lần đầu",
        "First land-use right certificate",
        "Đất đai",
        "PC",
    ),
    (
        "1.012768",
        "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "Building permit for a private house",
        "Hoạt động xây dựng",
        "C",
    ),
    (
        "2.000720",
        "Đăng ký thành lập hộ kinh doanh",
        "Registration of a household business",
        "Thành lập và hoạt động của hộ kinh doanh",
        "C",
    ),
    (
        "2.000488",
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        "Criminal record certificate for a Vietnamese citizen",
        "Lý lịch tư pháp",
        "P",
    ),
    (
        "1.002804",
        "Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        "Exchange of a driving licence",
        "Đường bộ",
        "P",
    ),
    (
        "1.003348",
        "Trợ cấp xã hội hằng tháng đối với đối tượng bảo trợ xã hội",
        "Monthly social allowance",
        "Bảo trợ xã hội",
        "C",
    ),
    (
        "1.001612",
        "Đăng ký thành lập doanh nghiệp tư nhân",
        "Registration of a private enterprise",
        "Thành lập và hoạt động của doanh nghiệp",
        "P",
    ),
]
SUGGESTIONS = [
    "Cần thêm ghế ngồi chờ.",
    "Cán bộ rất nhiệt tình, cảm ơn.",
    "Nên có bãi gửi xe rộng hơn.",
    "Hướng dẫn điền tờ khai rõ hơn.",
    "Thời gian chờ còn lâu vào buổi sáng.",
    "Nên nhận hồ sơ cả sáng thứ Bảy.",
    "Máy lấy số thứ tự hay bị hỏng.",
    "Good service, thank you.",
]


@dataclass
class Tally:
    """What a run added, for the summary line."""

    added: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.added[what] = self.added.get(what, 0) + n


def load_demo(responses: int = 3000, seed: int = 2025) -> str:
    """Load the demo data (idempotent); flushes, the caller commits. Returns a summary."""
    rng = np.random.default_rng(seed)
    tally = Tally()
    provinces = json.loads(UNITS_FILE.read_text(encoding="utf-8"))["data"]
    procedures = _procedures(tally)
    desks = _units_and_desks(provinces, procedures, rng, tally)
    sync_questionnaires()
    version = _desk_questionnaire()
    wave = _wave(version, tally)
    _frame(wave, desks, rng, tally)
    if _response_count(wave) == 0 and responses > 0:
        generate_responses(wave, desks, responses, rng, desk_seed=[seed, 2])
        tally.add("responses", responses)
    earlier_rng = np.random.default_rng([seed, 1])
    _earlier_wave(wave, desks, responses, earlier_rng, tally, desk_seed=[seed, 2])
    _paper_batch(wave, desks[0].point, tally)
    return _summary(tally, wave)


def _procedures(tally: Tally) -> dict[str, tuple[Procedure, str]]:
    found = {}
    for code, name, name_en, field_name, levels in PROCEDURES:
        procedure = procedure_service.procedure_by_code(code)
        if procedure is None:
            procedure = procedure_service.create_procedure(code, name, name_en, field_name)
            tally.add("procedures")
        found[code] = (procedure, levels)
    return found


@dataclass(frozen=True)
class DemoDesk:
    point: ServicePoint
    province_code: str
    province_desks: int


def _units_and_desks(provinces: list, procedures: dict, rng, tally: Tally) -> list[DemoDesk]:
    desks = []
    for entry in provinces:
        province = _unit(entry["level1_id"], entry["name"], "province", None, tally)
        communes = [
            _unit(c["level2_id"], c["name"], "commune", province, tally) for c in entry["level2s"]
        ]
        stratum_desks = entry["level2_count"] + 1  # a one-stop desk per commune, one centre
        wanted = [(province, "province")]
        wanted += [(c, "commune") for c in communes[: COMMUNE_DESKS.get(province.code, 2)]]
        for unit, level in wanted:
            # Draw the subset even for an existing desk, so later draws do not shift.
            handled = _procedure_subset(procedures, level, rng)
            point = _desk(unit, level, handled, tally)
            desks.append(DemoDesk(point, province.code, stratum_desks))
    return desks


def _unit(code: str, name: str, level: str, parent: Unit | None, tally: Tally) -> Unit:
    unit = unit_service.unit_by_code(code)
    if unit is None:
        unit = unit_service.create_unit(code, name, level, parent)
        tally.add("units")
    return unit


def _procedure_subset(procedures: dict, level: str, rng) -> list[Procedure]:
    letter = "P" if level == "province" else "C"
    eligible = [p for p, levels in procedures.values() if letter in levels]
    size = min(len(eligible), int(rng.integers(4, 8)))
    chosen = rng.choice(len(eligible), size=size, replace=False)
    return [eligible[i] for i in sorted(chosen)]


def _desk(unit: Unit, level: str, handled: list[Procedure], tally: Tally) -> ServicePoint:
    if level == "province":
        code = f"TTHCC-{unit.code}"
        name = f"Trung tâm Phục vụ hành chính công {_lower_first(unit.name)}"
    else:
        code = f"MC-{unit.code}"
        name = f"Bộ phận Một cửa UBND {_lower_first(unit.name)}"
    point = point_service.point_by_code(code)
    if point is None:
        point = point_service.create_service_point(code, name, unit, level, handled, by=None)
        tally.add("desks")
    return point


def _lower_first(name: str) -> str:
    """ "Thành phố Hà Nội" → "thành phố Hà Nội", as written after a noun."""
    for prefix in ("Thành phố", "Tỉnh", "Phường", "Xã", "Đặc khu", "Thị trấn"):
        if name.startswith(prefix + " "):
            return prefix.lower() + name[len(prefix) :]
    return name


def _desk_questionnaire() -> QuestionnaireVersion:
    version = db.session.scalar(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.kind == "desk")
        .order_by(
            (QuestionnaireVersion.code == DESK_QUESTIONNAIRE).desc(),
            QuestionnaireVersion.version.desc(),
        )
        .limit(1)
    )
    if version is None:
        raise UserError("No desk questionnaire is shipped; the demo needs one.")
    return version


def _wave(version: QuestionnaireVersion, tally: Tally) -> Wave:
    wave = wave_service.wave_by_code(WAVE_CODE)
    if wave is None:
        wave = wave_service.create_wave(WAVE_CODE, WAVE_NAME, version, *_period())
        tally.add("waves")
        if wave_service.open_wave_of_kind(version.kind) is None:
            wave_service.open_wave(wave)
    return wave


def _earlier_wave(
    current: Wave,
    desks: list[DemoDesk],
    responses: int,
    rng,
    tally: Tally,
    desk_seed: Sequence[int],
) -> None:
    """The closed wave a year before ``current``: same questionnaire, a frame of its own,
    as many responses as asked for the open wave (the same sample size), spread over its
    whole period, a little less satisfied at the same good and poor desks."""
    wave = wave_service.wave_by_code(EARLIER_WAVE_CODE)
    if wave is None:
        default = _period()
        starts_on = _a_year_before(current.starts_on or default[0])
        ends_on = _a_year_before(current.ends_on or default[1])
        wave = wave_service.create_wave(
            EARLIER_WAVE_CODE, EARLIER_WAVE_NAME, current.questionnaire, starts_on, ends_on
        )
        # A finished round loaded as it stands: it never opens beside the open wave.
        wave.status = "closed"
        db.session.flush()
        audit("close", wave, None, previous="draft")
        tally.add("waves")
    _frame(wave, desks, rng, tally)
    if _response_count(wave) == 0 and responses > 0:
        period = (wave.starts_on, wave.ends_on)
        generate_responses(
            wave, desks, responses, rng, shift=EARLIER_SHIFT, period=period, desk_seed=desk_seed
        )
        tally.add(f"responses to {wave.code}", responses)


def _period() -> tuple[date, date]:
    """The open wave's period: started DAYS days ago, two more months to go."""
    today = datetime.now(UTC).astimezone(LOCAL_TIMEZONE).date()
    return today - timedelta(days=DAYS), today + timedelta(days=60)


def _a_year_before(day: date) -> date:
    return day - timedelta(days=364)  # 52 weeks: the same weekday


def _frame(wave: Wave, desks: list[DemoDesk], rng, tally: Tally) -> None:
    present = set(
        db.session.scalars(select(FrameEntry.service_point_id).where(FrameEntry.wave_id == wave.id))
    )
    for desk in desks:
        centre = desk.point.government_level == "province"
        transactions = int(rng.integers(4000, 9000) if centre else rng.integers(500, 2500))
        if desk.point.id in present:
            continue
        db.session.add(
            FrameEntry(
                wave_id=wave.id,
                service_point_id=desk.point.id,
                stratum=desk.province_code,
                stratum_desks=desk.province_desks,
                transactions=transactions,
            )
        )
        tally.add("frame entries")
    db.session.flush()


def _response_count(wave: Wave) -> int:
    return db.session.scalar(select(func.count(Response.id)).where(Response.wave_id == wave.id))


# --- responses ---------------------------------------------------------------


def generate_responses(
    wave: Wave,
    desks: list[DemoDesk],
    n: int,
    rng,
    *,
    shift: float = 0.0,
    period: tuple[date, date] | None = None,
    desk_seed: Sequence[int] | None = None,
) -> None:
    """Insert ``n`` plausible QR responses to ``wave`` at ``desks``, in bulk.

    ``shift`` moves the latent satisfaction of every answer (see :class:`AnswerDraws`);
    the responses are sent over ``period`` (first and last day), by default the last
    :data:`DAYS` days up to now. ``desk_seed`` seeds the desks' own effects apart from
    ``rng``, so that waves drawn with the same one have the same good and poor desks.
    """
    questionnaire = questionnaire_of(wave.questionnaire)
    frame = {e.service_point_id: e.transactions or 1 for e in wave.frame}
    points = [desk.point for desk in desks]
    weights = np.array([frame.get(p.id, 1) for p in points], dtype=float)
    desk_index = rng.choice(len(points), size=n, p=weights / weights.sum())
    desk_rng = rng if desk_seed is None else np.random.default_rng(desk_seed)
    draws = AnswerDraws(questionnaire, len(points), desk_index, rng, shift=shift, desk_rng=desk_rng)
    moments = _moments(n, rng, period)
    locales = np.where(rng.random(n) < 0.1, "en", "vi")
    uuids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]

    procedures = [{p.code: p.id for p in point.procedures} for point in points]
    response_rows, cleaned_answers = [], []
    for i in range(n):
        desk = int(desk_index[i])
        codes = list(procedures[desk])
        answers = draws.answers(i, codes[int(rng.integers(len(codes)))] if codes else None)
        cleaned = questionnaire.clean_answers(answers, procedures=procedures[desk])
        cleaned_answers.append(cleaned)
        response_rows.append(
            {
                "uuid": uuids[i],
                "wave_id": wave.id,
                "service_point_id": points[desk].id,
                "procedure_id": procedures[desk].get(answers.get(draws.procedure_item, "")),
                "channel": "qr",
                "submitted_at": moments[i],
                "status": "valid",
                "locale": str(locales[i]),
            }
        )
    db.session.execute(insert(Response), response_rows)
    ids = dict(
        db.session.execute(
            select(Response.uuid, Response.id).where(Response.wave_id == wave.id)
        ).all()
    )
    rows = []
    for uuid_text, cleaned in zip(uuids, cleaned_answers, strict=True):
        rows.extend(answer_rows(cleaned, ids[uuid_text]))
    db.session.execute(insert(Answer), rows)


def _moments(n: int, rng, period: tuple[date, date] | None = None) -> list[datetime]:
    """Submission times over ``period`` (by default the last DAYS days): office hours,
    weekdays busiest; none later than now."""
    now = datetime.now(UTC)
    if period is None:
        last_day, count = now.astimezone(LOCAL_TIMEZONE).date(), DAYS
    else:
        last_day, count = period[1], (period[1] - period[0]).days + 1
    midnight = datetime.combine(last_day, datetime.min.time()).replace(tzinfo=LOCAL_TIMEZONE)
    days = np.arange(count)
    weekday = np.array([(midnight - timedelta(days=int(d))).weekday() for d in days])
    weight = np.select([weekday == 5, weekday == 6], [0.4, 0.05], 1.0)
    day = rng.choice(days, size=n, p=weight / weight.sum())
    morning = rng.random(n) < 0.6
    seconds = np.where(
        morning, rng.uniform(7.5 * 3600, 11.5 * 3600, n), rng.uniform(13.5 * 3600, 17 * 3600, n)
    )
    moments = []
    for d, s in zip(day, seconds, strict=True):
        moment = midnight - timedelta(days=int(d)) + timedelta(seconds=float(s))
        if moment > now:  # later today: the same weekday a week before instead
            moment -= timedelta(days=7)
        moments.append(moment.astimezone(UTC))
    return moments


class AnswerDraws:
    """Answers drawn item by item from a questionnaire's own scales.

    Likert items: a latent score 4.1 + desk effect + desk-by-dimension effect +
    respondent effect + noise (+ ``shift``), rounded into 1..5, so most answers
    are 4 or 5 and the desks' indices differ. The desk effects come from
    ``desk_rng`` when given (else ``rng``). Optional items are sometimes left blank;
    items with a "not applicable" option sometimes get it. Other choices are
    drawn with fixed, seeded proportions.
    """

    def __init__(
        self,
        questionnaire: Questionnaire,
        desks: int,
        desk_index,
        rng,
        *,
        shift: float = 0.0,
        desk_rng=None,
    ) -> None:
        self.questionnaire = questionnaire
        self.rng = rng
        self.items = questionnaire.items()
        self.procedure_item = next(
            (i.code for i in self.items if i.scale.kind == "procedure"), None
        )
        n = len(desk_index)
        dimensions = sorted({i.dimension or i.part or "" for i in self.items})
        desk_rng = rng if desk_rng is None else desk_rng
        desk_effect = desk_rng.normal(0, 0.35, desks)
        desk_dimension = desk_rng.normal(0, 0.2, (desks, len(dimensions)))
        person = rng.normal(0, 0.6, n)
        self.scores = {}
        for item in self.items:
            if item.scale.kind != "likert5":
                continue
            column = dimensions.index(item.dimension or item.part or "")
            base = (3.85 if item.part == "policy" else 4.1) + shift
            latent = base + desk_effect[desk_index] + desk_dimension[desk_index, column] + person
            latent += rng.normal(0, 0.7, n)
            self.scores[item.code] = np.clip(np.rint(latent), 1, 5).astype(int)
        self.shares = {
            item.code: rng.dirichlet(np.full(len(item.scale.options), 2.0))
            for item in self.items
            if item.scale.kind in ("choice", "ordinal", "yesno", "multi")
        }
        self.blank = rng.random((n, len(self.items)))
        self.choice = rng.random((n, len(self.items)))

    def answers(self, i: int, procedure: str | None) -> dict[str, object]:
        given: dict[str, object] = {}
        for position, item in enumerate(self.items):
            if not self._shown(item, given):
                continue
            value = self._answer(i, position, item, procedure)
            if value is not None:
                given[item.code] = value
        return given

    def _shown(self, item: Item, given: dict) -> bool:
        if item.show_if is None:
            return True
        target, values = item.show_if
        answer = given.get(target)
        chosen = answer if isinstance(answer, list) else [answer]
        return any(value in values for value in chosen)

    def _answer(self, i: int, position: int, item: Item, procedure: str | None):
        scale = item.scale
        if not item.required and self.blank[i, position] < self._blank_rate(item):
            return None
        if scale.kind == "procedure":
            return procedure
        if scale.kind == "text":
            if self.choice[i, position] > 0.08:
                return None
            text = SUGGESTIONS[int(self.choice[i, position] * 1000) % len(SUGGESTIONS)]
            return text[: scale.max_length or len(text)]
        if scale.kind == "likert5":
            if scale.not_applicable is not None and self.choice[i, position] < 0.08:
                return scale.not_applicable
            return int(self.scores[item.code][i])
        options = scale.values
        shares = self.shares[item.code]
        picked = options[int(np.searchsorted(np.cumsum(shares), self.choice[i, position]))]
        if scale.kind == "multi":
            extra = options[int(self.rng.integers(len(options)))]
            return sorted({picked, extra}, key=options.index)
        return picked

    @staticmethod
    def _blank_rate(item: Item) -> float:
        if item.scale.kind == "procedure":
            return 0.05
        if item.part == "policy":
            return 0.25
        return 0.12


def _paper_batch(wave: Wave, desk: ServicePoint, tally: Tally) -> None:
    """Printed forms of one desk and a returned batch of them, ready to be typed."""
    if wave.status == "closed" or db.session.scalar(
        select(func.count(PaperForm.id)).where(PaperForm.wave_id == wave.id)
    ):
        return
    paper.issue_forms(wave, DEMO_PAPER_FORMS, service_point=desk, by=None)
    paper.create_batch(wave, DEMO_PAPER_BATCH, service_point=desk, by=None)
    tally.add("paper forms", DEMO_PAPER_FORMS)
    tally.add("paper batches")


def _summary(tally: Tally, wave: Wave) -> str:
    if not tally.added:
        return "Demo data already loaded; nothing changed."
    parts = ", ".join(f"{n} {what}" for what, n in tally.added.items())
    return f"Demo data loaded: {parts}. Wave {wave.code} is {wave.status}."
