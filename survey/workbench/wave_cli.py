"""``flask --app survey wave import-frame WAVE FILE``: a wave's sampling frame from CSV or XLSX.

Every bad row is printed with its line number and reason, and nothing is
imported from a file with errors (exit status 2).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from survey.extensions import db

wave_cli = AppGroup("wave", help="Survey waves: sampling frames.")


@wave_cli.command("import-frame")
@click.argument("wave_code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_frame(wave_code: str, path: Path) -> None:
    """Replace WAVE's frame with FILE (columns psu, stratum, stratum_psus, size)."""
    from survey.services import frames
    from survey.services.waves import wave_by_code

    wave = wave_by_code(wave_code)
    if wave is None:
        click.echo(f"Error: No wave has the code {wave_code}.", err=True)
        raise SystemExit(2)
    with force_locale("en"):
        try:
            rows = frames.parse_frame(frames.read_table(path.read_bytes(), path.name), wave)
        except frames.FrameFileError as error:
            for line, message in error.problems:
                click.echo(f"{path.name}:{line}: {message}" if line else message, err=True)
            click.echo(f"Nothing imported: {len(error.problems)} problems.", err=True)
            raise SystemExit(2) from error
    count = frames.import_frame(wave, rows)
    db.session.commit()
    strata = len({row.stratum for row in rows})
    click.echo(f"Imported {count} PSUs in {strata} strata into the frame of wave {wave.code}.")
