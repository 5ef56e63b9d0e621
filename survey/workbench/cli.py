"""``flask --app survey results compute|show|recompute``: a wave's SIPAS indices from the
command line.

``compute`` writes the result (JSON or CSV) to standard output or ``--out``
and saves it as a numbered result set ("Result set N saved" on standard
error); ``show N`` prints a saved set's rows, ``recompute N`` computes it
again and exits 0 ("identical") or 1 naming the differences. Progress goes
to standard error. A mistake (an unknown wave, field or set, a wave without
valid responses) exits with status 2 and one line.
"""

from __future__ import annotations

import atexit
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from survey.errors import UserError

if TYPE_CHECKING:
    from survey.models import Wave
    from survey.services.results import Computation

results_cli = AppGroup("results", help="SIPAS indices of a wave, with confidence intervals.")


class CommandError(click.ClickException):
    exit_code = 2


@results_cli.command("compute")
@click.option("--wave", "wave_code", required=True, help="The wave's code.")
@click.option("--by", "by", multiple=True, metavar="FIELD", help="province, commune, desk, "
              "procedure, channel or an item code (repeat for a cross).")  # fmt: skip
@click.option(
    "--weighting",
    type=click.Choice(["design", "post-stratify", "rake"]),
    default="design",
    show_default=True,
    help="The frame's weights, or calibrated to the wave's targets (one margin, or all).",
)
@click.option(
    "--interval",
    type=click.Choice(["wald", "wald-t", "logit", "beta"]),
    default="wald",
    show_default=True,
)
@click.option("--level", type=float, default=0.95, show_default=True)
@click.option(
    "--lonely-psu",
    type=click.Choice(["adjust", "average", "remove", "certainty", "fail"]),
    default="adjust",
    show_default=True,
    help="A stratum where one desk or cluster answered, as R's survey.lonely.psu.",
)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="instead of stdout")
def compute_results(
    wave_code: str,
    by: tuple[str, ...],
    weighting: str,
    interval: str,
    level: float,
    lonely_psu: str,
    fmt: str,
    out: Path | None,
) -> None:
    """Every item, dimension, part and overall index of WAVE, by each FIELD."""
    from survey.services.waves import wave_by_code

    wave = wave_by_code(wave_code)
    if wave is None:
        raise CommandError(f"No wave has the code {wave_code}.")
    options = {"by": by, "weighting": weighting, "interval": interval, "level": level,
               "lonely_psu": lonely_psu}  # fmt: skip
    with _collector_paused():
        result = _compute_and_write(wave, options, fmt, out)
        _save(wave, result, **options)
    if result.weighting == "unweighted":
        click.echo(f"Wave {wave.code} has no sampling frame: the results are unweighted.", err=True)


def _compute_and_write(
    wave: Wave, options: dict[str, Any], fmt: str, out: Path | None
) -> Computation:
    """Compute with ``options`` (``results.compute``'s), then write the rows, with a
    progress bar on standard error."""
    from analysis.cli import render
    from survey.services import results

    steps = ["read the responses and the frame", "compute the indices", "write the result"]
    stderr = click.get_text_stream("stderr")
    with click.progressbar(steps, label="results", file=stderr) as bar:
        for step in bar:
            if step == steps[0]:
                try:
                    result = results.compute(wave, **options)
                except UserError as error:
                    with force_locale("en"):
                        raise CommandError(str(error.message)) from error
            elif step == steps[2]:
                text = render(result.records, fmt, results.COLUMNS)
                if out is None:
                    click.echo(text, nl=False)
                else:
                    out.write_text(text, encoding="utf-8")
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while: a table by desk makes a few
    hundred thousand rows that live to the end of the command, which the collector would
    go over again and again (a third of the computing time) to free nothing.

    At the interpreter's exit, the objects are frozen rather than gone over by one
    last collection (half a second, after the result is written and saved).
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _save(wave, computation, **options) -> None:
    """Save the computation as a result set (with the whole wave's and official-style rows)."""
    from survey.extensions import db
    from survey.services import result_sets

    try:
        saved = result_sets.save(wave, computation, user=None, **options)
    except UserError as error:
        db.session.rollback()
        with force_locale("en"):
            raise CommandError(str(error.message)) from error
    db.session.commit()
    click.echo(f"Result set {saved.id} saved (digest {saved.input_hash}).", err=True)


@results_cli.command("show")
@click.argument("number", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
def show_result_set(number: int, fmt: str) -> None:
    """The rows of result set NUMBER (whole wave, breakdown, official-style means) on
    standard output; its provenance on standard error."""
    from survey.services import result_sets

    result_set = _result_set(number)
    records = result_sets.export_records(result_set.wave, result_sets.rows(result_set))
    if fmt == "csv":
        click.echo(result_sets.index_csv(records), nl=False)
    else:
        click.echo(json.dumps(records, ensure_ascii=False, indent=1))
    for key, value in result_sets.provenance(result_set).items():
        click.echo(f"{key}: {'' if value is None else value}", err=True)


@results_cli.command("recompute")
@click.argument("number", type=int)
def recompute_result_set(number: int) -> None:
    """Compute result set NUMBER again with its options and compare: exit 0 and "identical"
    when the digest and every number are the same, exit 1 naming the differences."""
    from survey.extensions import db
    from survey.services import result_sets

    result_set = _result_set(number)
    try:
        _computation, differences = result_sets.recompute(result_set)
    except UserError as error:
        with force_locale("en"):
            raise CommandError(str(error.message)) from error
    finally:
        db.session.rollback()
    if not differences:
        click.echo(f"Result set {number}: identical (digest {result_set.input_hash}).")
        return
    click.echo(f"Result set {number}: {len(differences)} differences.")
    for difference in differences:
        click.echo(str(difference))
    click.get_current_context().exit(1)


def _result_set(number: int):
    from survey.services import result_sets

    found = result_sets.result_set_by_number(number)
    if found is None:
        raise CommandError(f"No result set has the number {number}.")
    return found


export_cli = AppGroup("export", help="A wave's data as files for other tools.")


@export_cli.command("responses")
@click.option("--wave", "wave_code", required=True, help="The wave's code.")
@click.option("--format", "fmt", metavar="csv|xlsx|sav|dta",
              help="The file's format (default: the extension of --out).")  # fmt: skip
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_responses(wave_code: str, fmt: str | None, out: Path) -> None:
    """Every valid response of WAVE, one row each: design columns and each closed item's
    answer code (free-text and multi-select items are left out). Not applicable and blank
    are empty cells in CSV/XLSX, user-missing (N/A) and system-missing in .sav, .a and . in
    .dta."""
    from survey.services import exports
    from survey.services.waves import wave_by_code

    fmt = fmt or out.suffix.lstrip(".").lower()
    if fmt not in exports.FORMATS:
        raise CommandError(f"Unknown format {fmt or '(none)'}: choose csv, xlsx, sav or dta.")
    wave = wave_by_code(wave_code)
    if wave is None:
        raise CommandError(f"No wave has the code {wave_code}.")
    try:
        table = exports.response_table(wave)
    except UserError as error:
        with force_locale("en"):
            raise CommandError(str(error.message)) from error
    written = exports.write(table, fmt, out)
    click.echo(f"{written} responses of wave {wave.code} written to {out}.", err=True)
