"""A wave's result sets: compute and save one, list them; a set's page with its index table,
official-style figures, charts, provenance, recomputation and downloads.

Every reader of the workbench sees every set of a wave, filtered: a reader
tied to units sees the rows of their provinces (or communes, desks) only,
never the whole wave's or the official-style national rows, on the page and
in the downloads (``result_sets.visible``). The statistics are imported by
the views that use them, as in ``routes.py``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.http import dump_options_header
from wtforms import SelectChoice, SelectField

from survey import charts
from survey.auth.policy import allow, current_scope
from survey.errors import UserError
from survey.extensions import db
from survey.models import ResultSet, Wave
from survey.services.questionnaires import questionnaire_of
from survey.services.waves import wave_by_code
from survey.workbench import bp
from survey.workbench.routes import READERS, reader_locale

INTERVALS = [
    SelectChoice("wald", _l("Wald (normal)")),
    SelectChoice("wald-t", _l("Wald with the design's degrees of freedom")),
    SelectChoice("logit", _l("Logit")),
    SelectChoice("beta", _l("Beta (Korn–Graubard)")),
]
LEVELS = [SelectChoice("0.9", "90%"), SelectChoice("0.95", "95%"), SelectChoice("0.99", "99%")]
#: What the variance does with a stratum in which one desk or cluster answered
#: (``design_frame.LONELY_PSU``), R's ``survey.lonely.psu`` names in brackets.
LONELY_PSU = {
    "adjust": _l("Measured from the whole wave's mean (adjust)"),
    "average": _l("The average variance of the other strata (average)"),
    "remove": _l("Left out of the variance (remove)"),
    "certainty": _l("Counted as certain, no variance (certainty)"),
    "fail": _l("Stop the computation (fail)"),
}
WEIGHTINGS = {
    "design": _l("Design weights from the frame"),
    "post-stratify": _l("Post-stratified to the targets"),
    "rake": _l("Raked to the targets"),
    "unweighted": _l("Unweighted (no frame)"),
}
FIELDS = {
    "province": _l("Province"),
    "commune": _l("Commune"),
    "desk": _l("Desk"),
    "procedure": _l("Procedure"),
    "procedure_group": _l("Procedure group"),
    "channel": _l("Channel"),
}
PARTS = {"service": _l("Service index"), "policy": _l("Policy index")}


class ResultsForm(FlaskForm):
    """What to compute; sending it saves a new result set."""

    by = SelectField(_l("Break down by"))
    weighting = SelectField(_l("Weighting"))
    interval = SelectField(_l("Interval"), choices=INTERVALS, default="wald")
    level = SelectField(_l("Confidence level"), choices=LEVELS, default="0.95")
    lonely_psu = SelectField(
        _l("A stratum where only one desk or cluster answered"),
        choices=[SelectChoice(name, label) for name, label in LONELY_PSU.items()],
        default="adjust",
    )


class RecomputeForm(FlaskForm):
    """A button: run the set's computation again and compare (nothing is saved)."""


@bp.route("/waves/<wave_code>/results", methods=["GET", "POST"])
@allow(*READERS)
def wave_results(wave_code: str):
    """The wave's result sets, and the form that computes and saves a new one."""
    from survey.services import result_sets, results

    wave = wave_by_code(wave_code) or abort(404)
    scope = current_scope()
    form = ResultsForm()
    everything = _l("The whole wave") if scope.is_national else _l("Your units only")
    form.by.choices = [SelectChoice("", everything)] + [
        SelectChoice(name, _field_label(wave, name)) for name in results.domain_fields(wave)
    ]
    form.weighting.choices = [
        SelectChoice(name, WEIGHTINGS.get(name, name)) for name in result_sets.weightings()
    ]
    problem = None
    if form.validate_on_submit():
        by = result_sets.scoped_by(scope, current_user, [form.by.data] if form.by.data else [])
        try:
            saved = result_sets.run(
                wave, by, weighting=form.weighting.data, interval=form.interval.data,
                level=float(form.level.data), lonely_psu=form.lonely_psu.data, user=current_user,
            )  # fmt: skip
        except UserError as error:
            db.session.rollback()
            problem = error.message
        else:
            db.session.commit()
            flash(_("Result set %(number)d saved.", number=saved.id), "info")
            return redirect(url_for("workbench.result_set", number=saved.id))
    page = render_template(
        "workbench/results.html", wave=wave, form=form, problem=problem,
        sets=result_sets.sets_of(wave), describe=_options_text, weightings=WEIGHTINGS,
    )  # fmt: skip
    return page, 400 if problem or form.errors else 200


@bp.route("/result-sets/<int:number>")
@allow(*READERS)
def result_set(number: int):
    """A result set: charts, the index table, official-style figures and provenance."""
    found = _result_set(number)
    return render_template(
        "workbench/result_set.html", form=RecomputeForm(), recomputed=None, **_set_page(found)
    )


@bp.route("/result-sets/<int:number>/recompute", methods=["POST"])
@allow(*READERS)
def recompute_result_set(number: int):
    """Run the set's computation again on today's data and say whether it is reproduced
    exactly; nothing is saved."""
    from survey.services import result_sets

    found = _result_set(number)
    form = RecomputeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        _computation, differences = result_sets.recompute(found)
    except UserError as error:
        recomputed = {"problem": error.message, "count": 0, "shown": [], "hidden": 0}
    else:
        keep = result_sets.visible(current_scope())
        shown = [d for d in differences if not d.in_row or keep(d.domain)]
        recomputed = {"problem": None, "count": len(differences), "shown": shown[:50],
                      "hidden": len(differences) - len(shown)}  # fmt: skip
    db.session.rollback()  # nothing was written; nothing may be
    return render_template(
        "workbench/result_set.html", form=form, recomputed=recomputed, **_set_page(found)
    )


@bp.route("/result-sets/<int:number>/index.csv", defaults={"fmt": "csv"})
@bp.route("/result-sets/<int:number>/index.xlsx", defaults={"fmt": "xlsx"})
@allow(*READERS)
def result_set_download(number: int, fmt: str):
    """The set's index table (the rows the reader may see) as CSV, or XLSX with a sheet of
    its provenance."""
    from survey.services import result_sets

    found = _result_set(number)
    keep = result_sets.visible(current_scope())
    rows = [row for row in result_sets.rows(found) if keep(row["domain"])]
    records = result_sets.export_records(found.wave, rows, reader_locale())
    name = f"{found.wave.code}-result-set-{found.id}.{fmt}"
    if fmt == "csv":
        response = current_app.response_class(result_sets.index_csv(records), mimetype="text/csv")
    else:
        response = current_app.response_class(
            result_sets.index_xlsx(records, result_sets.provenance(found)),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response.headers["Content-Disposition"] = dump_options_header("attachment", {"filename": name})
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the set's page ---------------------------------------------------------------


def _result_set(number: int) -> ResultSet:
    from survey.services import result_sets

    return result_sets.result_set_by_number(number) or abort(404)


def _set_page(result_set: ResultSet) -> dict[str, Any]:
    """What the set's page shows, over the rows the reader may see.

    A set may hold ~400,000 rows (a national wave by desk): the page reads the
    rows of the indices it can chart (overall, parts, dimensions), then the
    block of rows of the one domain whose every index it lists.
    """
    from survey.services import result_sets

    wave = result_set.wave
    locale = reader_locale()
    labels = index_labels(wave, locale)
    charted = result_sets.rows(result_set, variables=list(labels), with_positions=True)
    keep = result_sets.visible(current_scope())
    rows = [row for row in charted if keep(row["domain"])]
    whole = {row["variable"]: row for row in rows if row["domain"] is None}
    units = [row for row in rows if row["domain"] and not result_sets.is_official(row["domain"])]
    domains = list({result_sets.domain_text(r["domain"]): r["domain"] for r in units}.values())
    names = result_sets.domain_names(wave, domains, locale)
    indices = [v for v in dict.fromkeys(row["variable"] for row in charted)]
    index = request.args.get("index") or "overall"
    if request.args.get("index") and index not in indices:
        raise UserError(_("Unknown index %(name)s.", name=index))
    shown, domain = _profile_domain(domains, bool(whole))

    def label(domain: dict | None, limit: int = 60) -> str:
        return _domain_label(domain, names, limit)

    bars = [
        {**row, "label": label(row["domain"]), "short": label(row["domain"], charts.LABEL_LIMIT)}
        for row in units
        if row["variable"] == index
    ]
    reference = whole.get(index, {}).get("estimate")
    profile_rows = [r for r in rows if r["domain"] == domain]
    table = _domain_block(result_set, charted, profile_rows, domain)
    return {
        "result_set": result_set,
        "wave": wave,
        "about": result_sets.provenance(result_set),
        "describe": _options_text,
        "weightings": WEIGHTINGS,
        "labels": labels,
        "indices": indices,
        "index": index,
        "bars": charts.unit_bars(bars, reference) if bars else None,
        "reference_row": whole.get(index),
        "profiles": [("", _("The whole wave"))] * bool(whole)
        + [(result_sets.domain_text(d), label(d)) for d in domains],
        "profile_key": shown,
        "profile_label": label(domain) if domain else _("The whole wave"),
        "profile": _profile_chart(wave, locale, profile_rows, whole, domain),
        "table": table,
        "official": _official_table(rows, whole, units),
        "has_rows": bool(rows),
        "one_psu_bars": _flagged(bars, "one_psu"),
        "one_psu_table": _flagged(table, "one_psu"),
    }


def _flagged(rows: list[dict], flag: str) -> bool:
    """Whether a row carries ``flag`` (the page then says what it means)."""
    return any(flag in row["flags"] for row in rows)


def _domain_block(result_set: ResultSet, charted: list[dict], mine: list[dict], domain):
    """Every row (items too) of ``domain``: a set is stored domain by domain, each block as
    long as the whole wave's, so the block lies within one such length of ``mine``."""
    from survey.services import result_sets

    if not mine:
        return []
    length = 1 + max(row["position"] for row in charted if row["domain"] is None)
    window = (mine[0]["position"] - length, mine[-1]["position"] + length)
    found = result_sets.rows(result_set, positions=window)
    return [row for row in found if row["domain"] == domain]


def _profile_domain(domains: list[dict], whole_visible: bool) -> tuple[str, dict | None]:
    """The domain whose profile and table are shown: the ``unit`` parameter, else the whole
    wave (or, for a reader who may not see it, their first unit)."""
    from survey.services.result_sets import domain_text

    chosen = request.args.get("unit", "")
    by_key = {domain_text(d): d for d in domains}
    if chosen:
        if chosen not in by_key:
            raise UserError(_("Unknown unit %(name)s.", name=chosen))
        return chosen, by_key[chosen]
    if whole_visible or not domains:
        return "", None
    return domain_text(domains[0]), domains[0]


def _profile_chart(wave: Wave, locale: str, rows: list[dict], whole: dict, domain):
    """The service dimensions, then the policy components where the questionnaire has them,
    of one domain; the whole wave's value beside a unit's where the reader may see it."""
    questionnaire = questionnaire_of(wave.questionnaire)
    by_variable = {row["variable"]: row for row in rows}
    order = sorted(questionnaire.dimensions, key=lambda d: d.part != "service")
    points = [
        {
            **by_variable[d.code],
            "label": f"{d.code} {d.name.get(locale)}",
            "reference": whole.get(d.code, {}).get("estimate") if domain else None,
        }
        for d in order
        if d.code in by_variable
    ]
    return charts.profile(points) if points else None


def _official_table(rows: list[dict], whole: dict, units: list[dict]) -> list[dict]:
    """Each official-style row beside the design-based whole-wave row of the same index,
    with the number of units averaged."""
    from survey.services.result_sets import OFFICIAL, is_official

    table = []
    for row in rows:
        if not is_official(row["domain"]):
            continue
        place = row["domain"][OFFICIAL]
        averaged = sum(
            1
            for unit in units
            if unit["variable"] == row["variable"]
            and unit["estimate"] is not None
            and place in unit["domain"]
        )
        table.append(
            {"official": row, "design": whole.get(row["variable"]), "place": place,
             "units": averaged}
        )  # fmt: skip
    return table


def index_labels(wave: Wave, locale: str) -> dict[str, str]:
    """Names of the indices a chart can show: overall, the parts, the dimensions."""
    questionnaire = questionnaire_of(wave.questionnaire)
    labels = {"overall": _("Overall index (headline)")}
    for dimension in questionnaire.dimensions:
        part = dimension.part
        labels.setdefault(part, str(PARTS.get(part, _("Part %(code)s", code=part))))
    for dimension in questionnaire.dimensions:
        labels[dimension.code] = f"{dimension.code} {dimension.name.get(locale)}"
    return labels


def _domain_label(domain: dict | None, names: dict, limit: int) -> str:
    """``Thành phố Hà Nội (01)``, ``Một cửa Ba Đình (D-1) · qr``: names where known, each
    shortened to ``limit`` characters with its code kept whole."""
    if not domain:
        return _("The whole wave")
    parts = []
    for key, value in domain.items():
        name = names.get((key, value))
        parts.append(charts.unit_label(name, value, limit) if name else f"{key} {value}")
    return charts.shorten(" · ".join(parts), limit) if len(parts) > 1 else parts[0]


def _field_label(wave: Wave, name: str) -> str:
    """A breakdown field for people: its name, or an item's code and wording."""
    if name in FIELDS:
        return str(FIELDS[name])
    try:
        item = questionnaire_of(wave.questionnaire).item(name)
    except KeyError:
        return name
    return f"{name} {charts.shorten(item.text.get(reader_locale()), 60)}"


def _options_text(options: dict) -> str:
    """``by province · logit · 95%`` for lists of sets."""
    by = options.get("by") or []
    parts = [_("by %(fields)s", fields=", ".join(by)) if by else _("whole wave")]
    choice = dict((c.value, c.label) for c in INTERVALS)
    parts.append(str(choice.get(options.get("interval"), options.get("interval"))))
    parts.append(f"{100 * float(options.get('level', 0.95)):g}%")
    return " · ".join(parts)
