"""``flask --app survey questionnaire check FILE | list``: validate questionnaire files."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from survey.questionnaire import (
    Questionnaire,
    QuestionnaireError,
    load_questionnaire,
    shipped_questionnaires,
)

questionnaire_cli = AppGroup("questionnaire", help="Check questionnaire files.")


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
