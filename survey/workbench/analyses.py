"""A wave's answers and indices as charts: the answers to each item as stacked bars, and
the indices over the waves of its questionnaire kind (the trend).

Both count the reader's units only. The statistics are imported by the views that use
them, as in ``routes.py``.
"""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from survey import charts, queries
from survey.auth.policy import UnitScope, allow, current_scope, units_under
from survey.errors import UserError
from survey.models import Unit
from survey.services.questionnaires import questionnaire_of
from survey.services.units import unit_by_code
from survey.services.waves import wave_by_code
from survey.workbench import bp
from survey.workbench.result_sets import PARTS, index_labels
from survey.workbench.routes import READERS, reader_locale

# --- the answers to each item --------------------------------------------------------


@bp.route("/waves/<wave_code>/answers")
@allow(*READERS)
def answers(wave_code: str):
    """The answers to each scored item as 100 % stacked bars and a table, over the
    reader's units or one province or commune of theirs (``?unit=CODE``)."""
    from survey.services import distributions

    wave = wave_by_code(wave_code) or abort(404)
    scope = current_scope()
    unit = _chosen_unit(scope)
    page = {"wave": wave, "unit": unit, "national": scope.is_national}
    try:
        found = distributions.answer_distributions(
            wave, scope, units_under([unit.id]) if unit else None
        )
    except UserError as error:
        return render_template("workbench/answers.html", problem=error.message, **page)
    locale = reader_locale()
    groups = [
        {"group": group, "title": _group_title(group, locale), "chart": _stacked(group, locale),
         "satisfied": _satisfied_values(group)}
        for group in found.groups
    ]  # fmt: skip
    return render_template(
        "workbench/answers.html", problem=None, found=found, groups=groups,
        places=_places(found.places, scope), locale=locale, **page,
    )  # fmt: skip


def _chosen_unit(scope: UnitScope) -> Unit | None:
    """The ``unit`` asked for: a unit of the reader's, else 404 as for any unknown code."""
    code = request.args.get("unit", "").strip()
    if not code:
        return None
    unit = unit_by_code(code) or abort(404)
    scope.require(unit.id)
    return unit


def _places(codes: list[str], scope: UnitScope) -> list[tuple[str, str]]:
    """``(code, label)`` of the provinces and communes, among ``codes``, in the reader's
    units: what the answers can be narrowed to."""
    wanted = set(codes)
    return [
        (unit.code, charts.unit_label(unit.name, unit.code, 60))
        for unit in queries.units(scope=scope)
        if unit.code in wanted
    ]


def _group_title(group, locale: str) -> str:
    if group.dimension is not None:
        return f"{group.dimension.code} {group.dimension.name.get(locale)}"
    if group.part in PARTS:
        return _("%(part)s: items in general", part=PARTS[group.part])
    return _("Other items")


def _stacked(group, locale: str):
    """The stacked-bar chart of a group's items."""
    items = [
        {
            "code": found.item.code,
            "label": found.item.text.get(locale),
            "shares": [(share.value, share.share) for share in found.values],
            "satisfied": found.item.scale.satisfied,
            "satisfied_share": found.satisfied_share,
            "not_applicable": found.not_applicable_share,
            "blank": found.blank_share,
        }
        for found in group.items
    ]
    first = group.items[0]
    legend = [(f"{v.value} {v.option.label.get(locale)}", v.value) for v in first.values]
    return charts.stacked_bars(items, legend)


def _satisfied_values(group) -> str:
    """``4–5``: the satisfied answer values of a group's scale."""
    values = [v.value for v in group.items[0].values if v.satisfied]
    numbers = all(isinstance(v, int) for v in values)
    if numbers and len(values) > 1 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values)


# --- the trend over waves ------------------------------------------------------------


@bp.route("/waves/<wave_code>/trend")
@allow(*READERS)
def trend(wave_code: str):
    """The indices of every wave of this wave's questionnaire kind, in time order, as
    points with their intervals and a table; the reader's places only if tied to units."""
    from survey.services import result_sets, trends

    wave = wave_by_code(wave_code) or abort(404)
    scope = current_scope()
    choices, side_by_side = trends.indices(questionnaire_of(wave.questionnaire))
    labels = index_labels(wave, reader_locale())
    chosen = request.args.getlist("index") or ["overall"]
    unknown = [code for code in chosen if code not in choices]
    if unknown:
        raise UserError(_("Unknown index %(name)s.", name=unknown[0]))
    found = trends.trend(
        wave,
        scope=scope,
        by=result_sets.scoped_by(scope, current_user, []),
        keep=result_sets.visible(scope),
    )
    places = [
        _trend_place(found, domain, chosen, side_by_side, labels, scope) for domain in found.domains
    ]
    return render_template(
        "workbench/trend.html", wave=wave, trend=found, places=places, labels=labels,
        choices=choices, chosen=chosen, chosen_labels=", ".join(labels[c] for c in chosen),
    )  # fmt: skip


def _trend_place(found, domain, chosen, side_by_side, labels, scope) -> dict:
    """The charts and table of one place (the whole wave: ``domain`` None)."""
    codes = [trend_wave.wave.code for trend_wave in found.waves]
    breaks = found.breaks
    main = charts.trend_chart(
        codes, [(labels[code], found.series(code, domain)) for code in chosen], breaks
    )
    series = {code: found.series(code, domain) for code in side_by_side}
    axis = charts.trend_axis(list(series.values()))
    small = [
        (code, charts.trend_chart(codes, [(labels[code], values)], breaks, axis=axis,
                                  plot_height=charts.TREND_SMALL_HEIGHT))
        for code, values in series.items()
    ]  # fmt: skip
    shown = list(dict.fromkeys([*chosen, *side_by_side]))
    table = [(code, found.series(code, domain)) for code in shown]
    return {
        "key": _domain_key(domain),
        "label": _domain_label(domain, scope),
        "main": main,
        "small": small,
        "table": table,
    }


def _domain_key(domain: dict | None) -> str:
    return "whole" if not domain else "-".join(f"{k}-{v}" for k, v in domain.items())


def _domain_label(domain: dict | None, scope: UnitScope) -> str:
    if not domain:
        return _("The whole wave")
    names = {unit.code: unit.name for unit in queries.units(scope=scope)}
    return " · ".join(charts.unit_label(names.get(v), v, 60) for v in domain.values())
