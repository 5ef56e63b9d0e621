"""Back-office pages for administrators and supervisors: dashboard, units, desks, waves.

Every route declares its roles (``survey.auth.policy``); every list and
object is scoped to the user's units, and an object outside them is a 404.
National objects (the procedure catalogue, waves) are changed by national
administrators only. Views validate a form, call one service (which
flushes) and commit once.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import queries
from survey.admin import bp
from survey.admin.forms import (
    GOVERNMENT_LEVEL_LABELS,
    UNIT_LEVEL_LABELS,
    ActionForm,
    DeskProceduresForm,
    ProcedureForm,
    RotateSecretForm,
    ServicePointForm,
    UnitForm,
    WaveForm,
)
from survey.auth.policy import allow, current_scope, units_under
from survey.errors import UserError
from survey.extensions import db
from survey.models import ServicePoint, Unit, Wave
from survey.services import procedures as procedure_service
from survey.services import service_points as point_service
from survey.services import units as unit_service
from survey.services import waves as wave_service
from survey.services.qrcodes import qr_image, survey_url

QR_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
BACK_OFFICE = ("admin", "supervisor")


@bp.context_processor
def helpers() -> dict:
    return {
        "local_time": local_time,
        "unit_levels": UNIT_LEVEL_LABELS,
        "government_levels": GOVERNMENT_LEVEL_LABELS,
    }


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return queries.as_utc(moment).astimezone(queries.LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M")


@bp.route("/")
@allow(*BACK_OFFICE)
def index():
    scope = current_scope()
    waves = [(wave, queries.responses_per_desk(wave, scope=scope)) for wave in queries.open_waves()]
    return render_template("admin/index.html", waves=waves)


# --- units -------------------------------------------------------------------


@bp.route("/units")
@allow(*BACK_OFFICE)
def units():
    return render_template("admin/units.html", units=queries.units(scope=current_scope()))


def _unit(code: str) -> Unit:
    unit = unit_service.unit_by_code(code) or abort(404)
    current_scope().require(unit.id)
    return unit


@bp.route("/units/<unit_code>")
@allow(*BACK_OFFICE)
def unit(unit_code: str):
    unit = _unit(unit_code)
    scope = current_scope()
    below = units_under([unit.id])
    points = queries.service_points(scope=scope, unit_ids=below)
    children = [child for child in queries.units(scope=scope) if child.parent_id == unit.id]
    return render_template("admin/unit.html", unit=unit, points=points, children=children)


@bp.route("/units/new", methods=["GET", "POST"])
@allow("admin")
def new_unit():
    scope = current_scope()
    form = UnitForm(queries.units(scope=scope), national=scope.is_national)
    if form.validate_on_submit():
        unit = unit_service.create_unit(
            form.code.data, form.name.data, form.level.data, form.parent, by=current_user
        )
        db.session.commit()
        flash(_("Unit %(code)s %(name)s created.", code=unit.code, name=unit.name), "info")
        return redirect(url_for("admin.units"))
    return render_template("admin/form.html", form=form, title=_("New unit"))


# --- procedures --------------------------------------------------------------


@bp.route("/procedures")
@allow(*BACK_OFFICE)
def procedures():
    return render_template("admin/procedures.html", procedures=queries.procedures())


@bp.route("/procedures/new", methods=["GET", "POST"])
@allow("admin", national=True)
def new_procedure():
    form = ProcedureForm()
    if form.validate_on_submit():
        procedure = procedure_service.create_procedure(
            form.code.data, form.name.data, form.name_en.data or "", form.field.data or ""
        )
        db.session.commit()
        flash(_("Procedure %(code)s created.", code=procedure.code), "info")
        return redirect(url_for("admin.procedures"))
    return render_template("admin/form.html", form=form, title=_("New procedure"))


# --- service points ----------------------------------------------------------


@bp.route("/service-points")
@allow(*BACK_OFFICE)
def service_points():
    points = queries.service_points(scope=current_scope())
    return render_template("admin/service_points.html", points=points)


@bp.route("/service-points/new", methods=["GET", "POST"])
@allow(*BACK_OFFICE)
def new_service_point():
    form = ServicePointForm(queries.units(scope=current_scope()), queries.procedures())
    if form.validate_on_submit():
        point = point_service.create_service_point(
            form.code.data,
            form.name.data,
            form.unit,
            form.government_level.data,
            form.chosen_procedures,
            by=current_user,
        )
        db.session.commit()
        flash(_("Desk %(code)s created.", code=point.code), "info")
        return redirect(url_for("admin.service_point", code=point.code))
    return render_template("admin/form.html", form=form, title=_("New service point"))


def _point(code: str) -> ServicePoint:
    point = point_service.point_by_code(code) or abort(404)
    current_scope().require(point.unit_id)
    return point


@bp.route("/service-points/<code>")
@allow(*BACK_OFFICE)
def service_point(code: str):
    point = _point(code)
    return render_template(
        "admin/service_point.html", point=point, url=survey_url(point), action=ActionForm()
    )


@bp.route("/service-points/<code>/qr.<fmt>")
@allow(*BACK_OFFICE)
def qr_code(code: str, fmt: str):
    if fmt not in QR_TYPES:
        abort(404)
    point = _point(code)
    download = request.args.get("download") == "1"
    response = Response(qr_image(survey_url(point), fmt), mimetype=QR_TYPES[fmt])
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{point.code}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/service-points/<code>/poster")
@allow(*BACK_OFFICE)
def poster(code: str):
    point = _point(code)
    return render_template("admin/poster.html", point=point, url=survey_url(point))


@bp.route("/service-points/<code>/rotate", methods=["GET", "POST"])
@allow(*BACK_OFFICE)
def rotate_secret(code: str):
    point = _point(code)
    form = RotateSecretForm()
    if form.validate_on_submit():
        point_service.rotate_secret(point, by=current_user)
        db.session.commit()
        flash(_("New QR code made; the codes printed before no longer work."), "info")
        return redirect(url_for("admin.service_point", code=point.code))
    return render_template("admin/rotate.html", point=point, form=form)


@bp.route("/service-points/<code>/procedures", methods=["GET", "POST"])
@allow(*BACK_OFFICE)
def desk_procedures(code: str):
    point = _point(code)
    form = DeskProceduresForm(queries.procedures())
    if request.method == "GET":
        form.procedure_ids.data = [procedure.id for procedure in point.procedures]
    if form.validate_on_submit():
        point_service.set_procedures(point, form.chosen_procedures, by=current_user)
        db.session.commit()
        flash(_("Procedures of desk %(code)s saved.", code=point.code), "info")
        return redirect(url_for("admin.service_point", code=point.code))
    title = _("Procedures handled at %(name)s", name=point.name)
    return render_template("admin/form.html", form=form, title=title, submit=_("Save"))


@bp.route("/service-points/<code>/activate", methods=["POST"])
@allow(*BACK_OFFICE)
def activate(code: str):
    return _set_active(_point(code), True)


@bp.route("/service-points/<code>/deactivate", methods=["POST"])
@allow(*BACK_OFFICE)
def deactivate(code: str):
    return _set_active(_point(code), False)


def _set_active(point: ServicePoint, active: bool):
    if not ActionForm().validate_on_submit():
        abort(400)
    point_service.set_active(point, active, by=current_user)
    db.session.commit()
    if active:
        flash(_("Desk %(code)s is active again.", code=point.code), "info")
    else:
        flash(_("Desk %(code)s is inactive: its codes take no answers.", code=point.code), "info")
    return redirect(url_for("admin.service_point", code=point.code))


# --- waves -------------------------------------------------------------------


@bp.route("/waves")
@allow(*BACK_OFFICE)
def waves():
    rows = queries.waves(scope=current_scope())
    return render_template("admin/waves.html", waves=rows, action=ActionForm())


@bp.route("/waves/new", methods=["GET", "POST"])
@allow("admin", national=True)
def new_wave():
    form = WaveForm(queries.questionnaire_versions())
    if form.validate_on_submit():
        wave = wave_service.create_wave(
            form.code.data,
            form.name.data,
            form.questionnaire,
            form.starts_on.data,
            form.ends_on.data,
            by=current_user,
        )
        db.session.commit()
        flash(_("Wave %(code)s created as a draft; open it to take answers.", code=wave.code))
        return redirect(url_for("admin.waves"))
    return render_template("admin/form.html", form=form, title=_("New wave"))


def _wave(code: str) -> Wave:
    return wave_service.wave_by_code(code) or abort(404)


@bp.route("/waves/<wave_code>/open", methods=["POST"])
@allow("admin", national=True)
def open_wave(wave_code: str):
    return _change_wave(_wave(wave_code), wave_service.open_wave, _("Wave %(code)s is open."))


@bp.route("/waves/<wave_code>/close", methods=["POST"])
@allow("admin", national=True)
def close_wave(wave_code: str):
    return _change_wave(_wave(wave_code), wave_service.close_wave, _("Wave %(code)s is closed."))


def _change_wave(wave: Wave, change, done: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        change(wave, by=current_user)
    except UserError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(done % {"code": wave.code}, "info")
    return redirect(url_for("admin.waves"))
