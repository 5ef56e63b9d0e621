"""``flask --app survey paper batch create`` and ``paper status``: register a returned
bundle, and read a batch's counts and the fields in dispute.

Run as the operator (no user in the audit log). A mistake exits with status 2
and one line naming it; nothing is stored.
"""

from __future__ import annotations

import json

import click
from flask_babel import force_locale
from werkzeug.exceptions import NotFound

from survey.entry.cli import paper_cli
from survey.errors import UserError
from survey.workbench.cli import CommandError


@paper_cli.group("batch")
def batch_cli() -> None:
    """Batches of returned paper forms."""


@batch_cli.command("create")
@click.option("--wave", "wave_code", required=True, help="The wave's code.")
@click.option("--desk", "desk_code", help="The desk of a desk wave's forms.")
@click.option("--unit", "unit_code", help="The commune or cluster of a household wave's forms.")
@click.option("--count", "count_text", required=True, help="How many forms the bundle holds.")
def create_batch(
    wave_code: str, desk_code: str | None, unit_code: str | None, count_text: str
) -> None:
    """Register a bundle of COUNT returned forms of WAVE and one desk or cluster; print the
    new batch's code."""
    from survey.extensions import db
    from survey.services import paper
    from survey.services.service_points import point_by_code
    from survey.services.units import unit_by_code
    from survey.services.waves import wave_by_code

    if (desk_code is None) == (unit_code is None):
        raise CommandError("Name either --desk (a desk wave) or --unit (a household wave).")
    wave = wave_by_code(wave_code)
    if wave is None:
        raise CommandError(f"No wave has the code {wave_code}.")
    desk = unit = None
    if desk_code is not None and (desk := point_by_code(desk_code)) is None:
        raise CommandError(f"No desk has the code {desk_code}.")
    if unit_code is not None and (unit := unit_by_code(unit_code)) is None:
        raise CommandError(f"No unit has the code {unit_code}.")
    count_text = count_text.strip()
    count = int(count_text) if count_text.isascii() and count_text.isdigit() else -1
    with force_locale("en"):
        try:
            batch = paper.create_batch(wave, count, service_point=desk, unit=unit, by=None)
        except UserError as error:
            db.session.rollback()
            raise CommandError(str(error.message)) from error
    db.session.commit()
    click.echo(batch.code)


@paper_cli.command("status")
@click.option("--batch", "batch_code", required=True, help="The batch's code (B000042).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
def batch_status(batch_code: str, fmt: str) -> None:
    """BATCH's counts (typed_once, typed_twice, settled, disputed, missing, void) and each
    field in dispute (serial, item, first, second)."""
    from survey.auth.policy import NATIONAL
    from survey.services import paper

    try:
        batch = paper.batch_by_code(batch_code, scope=NATIONAL)
    except NotFound:
        raise CommandError(f"No batch has the code {batch_code}.") from None
    counts = paper.batch_counts(batch).as_dict()
    disputes = [
        {"serial": d.serial, "item": d.item, "first": d.first, "second": d.second}
        for d in paper.batch_disputes(batch)
    ]
    if fmt == "json":
        report = {"batch": batch.code, "counts": counts, "disputes": disputes}
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"Batch {batch.code}: wave {batch.wave.code}, {paper.psu_label(batch)}, "
        f"{batch.expected_count} forms, {batch.status}"
    )
    for name, value in counts.items():
        click.echo(f"{name}: {value}")
    for dispute in disputes:
        first, second = (_text(dispute[side]) for side in ("first", "second"))
        click.echo(f"dispute: {dispute['serial']} {dispute['item']} first={first} second={second}")


def _text(value) -> str:
    """A value in dispute as the entry codes show it: ``-`` for no answer."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
