"""Two waves or two units side by side, and what drives satisfaction: read-only pages.

Both are GET forms (they change nothing). Scoping: a reader tied to units may
choose only provinces, communes and desks of their units (anything else is a
404, as for a code that does not exist), and compares waves over one of their
units, never the whole wave; the drivers are fitted over their units'
respondents.
"""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField

from survey import charts, queries
from survey.auth.policy import allow, current_scope
from survey.errors import UserError
from survey.services.waves import wave_by_code
from survey.workbench import bp
from survey.workbench.result_sets import LEVELS
from survey.workbench.routes import READERS

FIELD_NAMES = {"province": _l("Provinces"), "commune": _l("Communes"), "desk": _l("Desks")}


class QueryForm(FlaskForm):
    """A form sent by GET: it changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    def choose(self, **defaults: str) -> None:
        """Give each of the named fields its default where the query leaves it out; a
        value that is not one of the field's choices is a bad request (400)."""
        for name, default in defaults.items():
            chosen = self[name]
            chosen.data = chosen.data or default
            if chosen.data not in {choice.value for choice in chosen.choices}:
                abort(400)


class CompareForm(QueryForm):
    """What to compare."""

    kind = SelectField(
        _l("Compare"),
        choices=[
            SelectChoice("units", _l("Two units of this wave")),
            SelectChoice("waves", _l("This wave with another wave")),
        ],
    )
    unit_a = SelectField(_l("Unit A"), validate_choice=False)
    unit_b = SelectField(_l("Unit B"), validate_choice=False)
    other = SelectField(
        _l("Other wave (B)"),
        description=_l("A wave of the same kind of questionnaire."),
        validate_choice=False,
    )
    place = SelectField(
        _l("Where (both waves)"),
        description=_l("The same province, commune or desk in both waves."),
        validate_choice=False,
    )
    items = BooleanField(_l("Each item too"))
    test = SelectField(
        _l("Test"),
        choices=[
            SelectChoice("normal", _l("Normal (z), as R's svycontrast")),
            SelectChoice("t", _l("Student's t on the design's degrees of freedom")),
        ],
    )
    level = SelectField(_l("Confidence level"), choices=LEVELS)


@bp.route("/waves/<wave_code>/compare")
@allow(*READERS)
def compare(wave_code: str):
    """Two units of the wave, or the wave and another of the same kind: each index of both,
    the difference A - B, its interval and p-value, as a chart and a table."""
    from survey.services import comparisons

    wave = wave_by_code(wave_code) or abort(404)
    scope = current_scope()
    comparison, problem, names = None, None, None
    try:
        places = comparisons.places(wave, scope)
    except UserError as error:  # e.g. household responses without their cluster
        places, problem = {name: [] for name in comparisons.FIELDS}, error.message
    waves = [found for found, _count in queries.waves(scope=scope)]
    others = comparisons.comparable_waves(wave, waves)
    form = _compare_form(places, others, scope.is_national)
    if request.args and problem is None:
        try:
            comparison, names = _compare(form, wave, places, others, scope.is_national)
        except UserError as error:
            problem = error.message
    chart = None
    if comparison is not None:
        chart = charts.difference_chart(
            [{"label": row.title, "estimate": row.estimate, "ci_low": row.ci_low,
              "ci_high": row.ci_high, "significant": row.significant(comparison.level)}
             for row in comparison.rows], *names,
        )  # fmt: skip
    return render_template(
        "workbench/compare.html", wave=wave, form=form, comparison=comparison, chart=chart,
        names=names, problem=problem, has_places=any(places.values()), others=others,
    )  # fmt: skip


def _compare_form(places: dict, others: list, national: bool) -> CompareForm:
    form = CompareForm(formdata=request.args)
    options = [
        SelectChoice(place.value, label, optgroup=str(FIELD_NAMES[name]))
        for name, found in places.items()
        for place, label in found
    ]
    for unit in (form.unit_a, form.unit_b):
        unit.choices = [SelectChoice("", _l("Choose a unit")), *options]
    whole = [SelectChoice("", _l("The whole wave"))] if national else []
    form.place.choices = [*whole, *options]
    form.other.choices = [SelectChoice(w.code, f"{w.code} · {w.name}") for w in others]
    form.choose(kind="units", test="normal", level="0.95")
    return form


def _compare(form: CompareForm, wave, places: dict, others: list, national: bool):
    """The comparison the form asks for and the two sides' names; 404 for a unit or wave
    the reader may not see."""
    from survey.services import comparisons

    labels = {place: label for found in places.values() for place, label in found}
    options = {"items": form.items.data, "level": float(form.level.data), "test": form.test.data}
    if form.kind.data == "units":
        a, b = (comparisons.Place.parse(f.data) for f in (form.unit_a, form.unit_b))
        if a is None or b is None:
            raise UserError(_("Choose the two units to compare."))
        if a not in labels or b not in labels:
            abort(404)
        result = comparisons.compare_units(wave, a, b, **options)
        return result, (labels[a], labels[b])
    other = next((w for w in others if w.code == form.other.data), None)
    if other is None:
        if not others:
            raise UserError(_("No other wave asks the same kind of questionnaire."))
        abort(404)
    place = comparisons.Place.parse(form.place.data)
    if place is None and not national:
        raise UserError(_("Choose one of your units to compare across the waves."))
    if place is not None and place not in labels:
        abort(404)
    result = comparisons.compare_waves(wave, other, place, **options)
    where = f" · {labels[place]}" if place else ""
    return result, (f"{wave.code}{where}", f"{other.code}{where}")


class DriversForm(QueryForm):
    """Which model."""

    family = SelectField(
        _l("Model"),
        choices=[
            SelectChoice("gaussian", _l("Linear: the share satisfied (recommended)")),
            SelectChoice("binomial", _l("Logistic: satisfied overall or not")),
        ],
    )
    level = SelectField(_l("Confidence level"), choices=LEVELS)


@bp.route("/waves/<wave_code>/drivers")
@allow(*READERS)
def drivers(wave_code: str):
    """What moves overall satisfaction: each service dimension's effect (design-based
    regression) against its index, over the reader's units."""
    from survey.services import drivers as driver_service

    wave = wave_by_code(wave_code) or abort(404)
    form = DriversForm(formdata=request.args)
    form.choose(family=driver_service.DEFAULT_FAMILY, level="0.95")
    scope = current_scope()
    page = {"wave": wave, "form": form, "national": scope.is_national}
    try:
        result = driver_service.analyse(
            wave, scope, family=form.family.data, level=float(form.level.data)
        )
    except UserError as error:
        return render_template(
            "workbench/drivers.html", result=None, chart=None, problem=error.message, **page
        )
    names = {d.term: f"{d.dimension} {d.label}" for d in result.drivers}
    chart = charts.importance_chart(
        [{"label": d.dimension, "full_label": names[d.term], "index": d.index,
          "index_low": d.index_low, "index_high": d.index_high, "effect": d.effect,
          "effect_low": d.effect_low, "effect_high": d.effect_high} for d in result.drivers]
    )  # fmt: skip
    return render_template(
        "workbench/drivers.html", result=result, chart=chart, problem=None, names=names, **page
    )
