"""``flask --app survey wave import-frame|import-targets WAVE FILE``: a wave's sampling frame
or a margin of its calibration targets, from CSV or XLSX.

Every bad row is printed with its line number and reason, and nothing is
imported from a file with errors (exit status 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from survey.extensions import db

wave_cli = AppGroup("wave", help="Survey waves: sampling frames and calibration targets.")


@wave_cli.command("import-frame")
@click.argument("wave_code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_frame(wave_code: str, path: Path) -> None:
    """Replace WAVE's frame with FILE (columns psu, stratum, stratum_psus, size)."""
    from survey.services import frames

    wave = _wave(wave_code)
    with force_locale("en"):
        try:
            rows = frames.parse_frame(frames.read_table(path.read_bytes(), path.name), wave)
        except frames.FrameFileError as error:
            _refuse(path, error.problems)
    count = frames.import_frame(wave, rows)
    db.session.commit()
    strata = len({row.stratum for row in rows})
    click.echo(f"Imported {count} PSUs in {strata} strata into the frame of wave {wave.code}.")


@wave_cli.command("import-targets")
@click.argument("wave_code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_targets(wave_code: str, path: Path) -> None:
    """Replace WAVE's margin of the same categories with FILE: one or more category
    columns (province, commune, desk, procedure, procedure_group, channel or a grouping
    item's code), then count."""
    from survey.services import targets

    wave = _wave(wave_code)
    with force_locale("en"):
        try:
            parsed = targets.parse_targets(targets.read_table(path.read_bytes(), path.name), wave)
        except targets.TargetFileError as error:
            _refuse(path, error.problems)
    count = targets.import_targets(wave, parsed)
    db.session.commit()
    total = sum(row.count for row in parsed.rows)
    click.echo(
        f"Imported {count} cells of margin {parsed.margin} (population {total:,.0f}) "
        f"into the targets of wave {wave.code}."
    )


def _wave(code: str):
    from survey.services.waves import wave_by_code

    wave = wave_by_code(code)
    if wave is None:
        click.echo(f"Error: No wave has the code {code}.", err=True)
        raise SystemExit(2)
    return wave


def _refuse(path: Path, problems: list[tuple[int, str]]) -> NoReturn:
    """Print each problem with its file and line; exit 2."""
    for line, message in problems:
        click.echo(f"{path.name}:{line}: {message}" if line else message, err=True)
    click.echo(f"Nothing imported: {len(problems)} problems.", err=True)
    raise SystemExit(2)
