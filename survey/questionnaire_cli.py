"""``flask --app survey questionnaire check FILE | list | load [FILE]``: validate
questionnaire files and store them as versions that waves can use."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from survey.errors import UserError
from survey.questionnaire import (
    Questionnaire,
    QuestionnaireError,
    load_questionnaire,
    shipped_questionnaires,
)

questionnaire_cli = AppGroup("questionnaire", help="Check and load questionnaire files.")


@questionnaire_cli.command("check")
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=click.Path())
def check_command(files: tuple[str, ...]) -> None:
    """Validate questionnaire FILEs: print a summary, or every problem and exit 1."""
    failed = False
    for file in files:
        try:
            questionnaire = load_questionnaire(file)
        except QuestionnaireError as error:
            failed = True
            for problem in error.problems:
                click.echo(problem, err=True)
            click.echo(f"{file}: {len(error.problems)} problem(s) found.", err=True)
            continue
        click.echo(summary(questionnaire))
    if failed:
        raise SystemExit(1)


@questionnaire_cli.command("list")
def list_command() -> None:
    """List the questionnaire files shipped with the application."""
    for path in shipped_questionnaires():
        try:
            questionnaire = load_questionnaire(path)
        except QuestionnaireError as error:
            click.echo(f"{path.name}: INVALID, {len(error.problems)} problem(s)")
            continue
        click.echo(
            f"{path.name}: {questionnaire.code} v{questionnaire.version} "
            f"({questionnaire.kind}), {len(questionnaire.items())} items"
        )


@questionnaire_cli.command("load")
@click.argument("files", metavar="[FILE]...", nargs=-1, type=click.Path(dir_okay=False))
def load_command(files: tuple[str, ...]) -> None:
    """Store questionnaire FILEs (without any: every shipped file) as versions for waves.

    A file is checked first; with any problem nothing is stored and every
    problem is printed (exit 1). A version that already has responses is
    never changed (exit 2): give the changed file a new version number.
    """
    from survey.extensions import db
    from survey.services.questionnaires import store_questionnaire_file, sync_questionnaires

    try:
        for file in files:
            load_questionnaire(file)
        stored = [store_questionnaire_file(Path(f)) for f in files] or sync_questionnaires()
    except QuestionnaireError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from error
    except (UserError, OSError) as error:
        db.session.rollback()
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(2) from error
    db.session.commit()
    for version in stored:
        click.echo(f"{version.code} v{version.version} ({version.kind}): stored")


def summary(questionnaire: Questionnaire) -> str:
    """A few lines saying what a valid questionnaire holds."""
    q = questionnaire
    items = q.items()
    lines = [
        f"{Path(q.source).name}: OK",
        f"  {q.code} version {q.version} ({q.kind}), method: {q.method}",
        f"  sha256 {q.checksum}",
        f"  {len(q.sections)} sections, {len(items)} items "
        f"({sum(item.required for item in items)} required)",
    ]
    for dimension in q.dimensions:
        count = len(q.dimension_items(dimension.code))
        overall = " + 'in general'" if q.overall_item(dimension.code) else ""
        name = f"{dimension.name.vi} / {dimension.name.en}"
        lines.append(f"  {dimension.code} {name}: {_count(count, 'item')}{overall}")
    for part in ("policy", "service"):
        if q.part_overall_item(part):
            lines.append(f"  {part} part: 'in general' item {q.part_overall_item(part).code}")
    lines.append(f"  feeding no index: {_count(sum(1 for i in items if i.part is None), 'item')}")
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
