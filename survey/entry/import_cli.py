"""``flask --app survey paper import-pass --batch BATCH --typist EMAIL FILE.csv|.xlsx``:
a typist's passes of a batch's forms, typed in a spreadsheet.

The import counts as the named typist's pass of each form (the audit log
names them). A file with any bad row prints one line per problem on standard
error (``FILE:LINE: message``) and exits with status 2; any other mistake (an
unknown batch or typist) exits 2 with one line. Either way nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask_babel import force_locale
from werkzeug.exceptions import NotFound

from survey.entry.cli import paper_cli
from survey.errors import UserError
from survey.workbench.cli import CommandError


@paper_cli.command("import-pass")
@click.option("--batch", "batch_code", required=True, help="The batch's code (B000042).")
@click.option("--typist", "email", required=True, help="The surveyor who typed the file.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_pass(batch_code: str, email: str, path: Path) -> None:
    """Import FILE (CSV or XLSX: serial, then the form's item codes in the paper's order)
    as TYPIST's pass of each form of BATCH in it."""
    from survey.auth.policy import NATIONAL
    from survey.extensions import db
    from survey.services import paper
    from survey.services.paper_import import PassFileError, import_passes
    from survey.services.users import user_by_email

    try:
        batch = paper.batch_by_code(batch_code, scope=NATIONAL)
    except NotFound:
        raise CommandError(f"No batch has the code {batch_code}.") from None
    typist = user_by_email(email)
    if typist is None:
        raise CommandError(f"No user has the email {email}.")
    with force_locale("en"):
        try:
            result = import_passes(batch, typist, path.read_bytes(), path.name)
        except PassFileError as error:
            db.session.rollback()
            _refuse(path, error.problems)
        except UserError as error:
            db.session.rollback()
            raise CommandError(str(error.message)) from error
    db.session.commit()
    click.echo(
        f"Imported {result.passes} passes of {typist.email} into batch {batch.code}: "
        f"{result.settled} forms settled, {result.disputed} in dispute."
    )


def _refuse(path: Path, problems: list[tuple[int, str]]) -> NoReturn:
    """One line per problem, with its file and line; exit 2."""
    for line, message in problems:
        where = f"{path.name}:{line}" if line else path.name
        click.echo(f"{where}: {message}", err=True)
    raise SystemExit(2)
