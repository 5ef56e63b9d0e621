"""Operator commands: ``flask --app survey demo|qr|translate ...`` (``user``: survey.auth.cli)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from survey.extensions import db
from survey.models import ServicePoint

qr_cli = AppGroup("qr", help="QR codes for the service points.")


@click.command("demo")
@click.option("--responses", default=3000, show_default=True, help="Responses to generate.")
@click.option("--seed", default=2025, show_default=True)
def demo_command(responses: int, seed: int) -> None:
    """Load demo units, desks, procedures, an open wave and responses (idempotent)."""
    from survey.services.demo import load_demo

    summary = load_demo(responses=responses, seed=seed)
    db.session.commit()
    click.echo(summary)


@qr_cli.command("export")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["png", "svg"]), default="png", show_default=True
)
def export_qr(out_dir: Path, fmt: str) -> None:
    """Write one QR code per active service point, named by its code.

    The codes lead to SIPAS_PUBLIC_URL; without it, to this computer's own
    development address, which no citizen's phone can open.
    """
    from survey.services.qrcodes import PublicUrlError, public_base_url, qr_image, survey_url

    try:
        base = public_base_url()
    except PublicUrlError as error:
        raise click.ClickException(str(error)) from error
    if not base:
        base = "http://127.0.0.1:5000"
        click.echo(
            f"Warning: SIPAS_PUBLIC_URL is not set, so the codes lead to {base}, "
            "which works on this computer only. Set it to the site's public address "
            "before printing.",
            err=True,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    points = db.session.scalars(
        select(ServicePoint).where(ServicePoint.active).order_by(ServicePoint.code)
    ).all()
    for point in points:
        data = qr_image(survey_url(point, base_url=base), fmt)
        (out_dir / f"{point.code}.{fmt}").write_bytes(data)
    click.echo(f"Wrote {len(points)} {fmt.upper()} codes to {out_dir}.")


translate_cli = AppGroup("translate", help="Vietnamese and English catalogues of the interface.")
TRANSLATIONS = Path(__file__).parent / "translations"
CATALOGUE_TEMPLATE = TRANSLATIONS / "messages.pot"


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *args])


@translate_cli.command("update")
def translate_update() -> None:
    """Extract the interface's texts and merge them into each catalogue."""
    root = Path(__file__).resolve().parent.parent
    _pybabel(
        "extract",
        "-F",
        str(root / "babel.cfg"),
        "-k",
        "_l",
        "-k",
        "lazy_gettext",
        "--no-location",
        "-o",
        str(CATALOGUE_TEMPLATE),
        str(root),
    )
    _pybabel(
        "update", "-i", str(CATALOGUE_TEMPLATE), "-d", str(TRANSLATIONS), "--no-fuzzy-matching"
    )


@translate_cli.command("compile")
def translate_compile() -> None:
    """Compile the catalogues that the application reads."""
    _pybabel("compile", "-d", str(TRANSLATIONS))
