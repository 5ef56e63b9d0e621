"""``flask --app survey results compute``: a wave's SIPAS indices from the command line.

The result (JSON or CSV) goes to standard output or ``--out``; progress goes
to standard error. A mistake (an unknown wave or field, a wave without valid
responses) exits with status 2 and one line.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from survey.errors import UserError

results_cli = AppGroup("results", help="SIPAS indices of a wave, with confidence intervals.")


class CommandError(click.ClickException):
    exit_code = 2


@results_cli.command("compute")
@click.option("--wave", "wave_code", required=True, help="The wave's code.")
@click.option("--by", "by", multiple=True, metavar="FIELD", help="province, commune, desk, "
              "procedure, channel or an item code (repeat for a cross).")  # fmt: skip
@click.option("--weighting", type=click.Choice(["design"]), default="design", show_default=True)
@click.option(
    "--interval",
    type=click.Choice(["wald", "wald-t", "logit", "beta"]),
    default="wald",
    show_default=True,
)
@click.option("--level", type=float, default=0.95, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="instead of stdout")
def compute_results(
    wave_code: str,
    by: tuple[str, ...],
    weighting: str,
    interval: str,
    level: float,
    fmt: str,
    out: Path | None,
) -> None:
    """Every item, dimension, part and overall index of WAVE, by each FIELD."""
    from analysis.cli import render
    from survey.services import results
    from survey.services.waves import wave_by_code

    wave = wave_by_code(wave_code)
    if wave is None:
        raise CommandError(f"No wave has the code {wave_code}.")
    steps = ["read the responses and the frame", "compute the indices", "write the result"]
    with click.progressbar(steps, label="results", file=click.get_text_stream("stderr")) as bar:
        for step in bar:
            if step == steps[0]:
                try:
                    result = results.compute(wave, by, interval=interval, level=level)
                except UserError as error:
                    with force_locale("en"):
                        raise CommandError(str(error.message)) from error
            elif step == steps[2]:
                text = render(result.records, fmt, results.COLUMNS)
                if out is None:
                    click.echo(text, nl=False)
                else:
                    out.write_text(text, encoding="utf-8")
    if result.weighting == "unweighted":
        click.echo(f"Wave {wave.code} has no sampling frame: the results are unweighted.", err=True)


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
    exports.write(table, fmt, out)
    click.echo(f"{len(table.data)} responses of wave {wave.code} written to {out}.", err=True)
