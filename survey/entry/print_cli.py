"""``flask --app survey paper print``: new serial-numbered forms of a wave, as PDF or HTML.

The serials go to standard output, one a line, once the file is written; a
mistake exits with status 2 and one line, and issues nothing.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import force_locale

from survey.entry.cli import paper_cli
from survey.errors import UserError
from survey.workbench.cli import CommandError

#: The file's extension decides the format.
OUT_FORMATS = {".pdf": "pdf", ".html": "html"}


@paper_cli.command("print")
@click.option("--wave", "wave_code", required=True, help="The wave's code.")
@click.option("--desk", "desk_code", help="The desk's code (a desk wave).")
@click.option("--unit", "unit_code", help="The cluster's code (a household wave).")
@click.option("--count", "count_text", required=True, metavar="N", help="How many forms.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.pdf or FILE.html.",
)
@click.option(
    "--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
    help="The language of the forms.",
)  # fmt: skip
def print_forms(
    wave_code: str,
    desk_code: str | None,
    unit_code: str | None,
    count_text: str,
    out: Path,
    lang: str,
) -> None:
    """Issue N new forms of WAVE for a desk or cluster and write them to FILE: one copy
    a page, each with its serial in digits and as a barcode. Prints the serials."""
    from survey.extensions import db
    from survey.services import paper_print

    fmt = OUT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise CommandError(f"--out must name a .pdf or .html file, not {out.name}.")
    wave, desk, unit = _wave_and_place(wave_code, desk_code, unit_code)
    count = _count(count_text)
    with force_locale("en"):
        try:
            run = paper_print.print_forms(
                wave, count, service_point=desk, unit=unit, locale=lang, fmt=fmt, by=None
            )
        except UserError as error:
            db.session.rollback()
            raise CommandError(str(error.message)) from error
    try:
        out.write_bytes(run.content)
    except OSError as error:
        db.session.rollback()
        raise CommandError(f"Cannot write {out}: {error.strerror}.") from error
    db.session.commit()
    for form in run.forms:
        click.echo(form.serial)
    click.echo(f"{len(run.forms)} forms of wave {wave.code} written to {out}.", err=True)


def _wave_and_place(wave_code: str, desk_code: str | None, unit_code: str | None):
    from survey.services.service_points import point_by_code
    from survey.services.units import unit_by_code
    from survey.services.waves import wave_by_code

    wave = wave_by_code(wave_code)
    if wave is None:
        raise CommandError(f"No wave has the code {wave_code}.")
    if (desk_code is None) == (unit_code is None):
        raise CommandError("Name the desk (--desk) or the cluster (--unit), one of them.")
    desk = unit = None
    if desk_code is not None:
        desk = point_by_code(desk_code)
        if desk is None:
            raise CommandError(f"No desk has the code {desk_code}.")
    else:
        unit = unit_by_code(unit_code)
        if unit is None:
            raise CommandError(f"No unit has the code {unit_code}.")
    return wave, desk, unit


def _count(text: str) -> int:
    """The count as typed; the service checks its range."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()):
        from survey.services.paper import MAX_PRINT

        raise CommandError(f"The count must be a whole number from 1 to {MAX_PRINT}.")
    return int(digits)
