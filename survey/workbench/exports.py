"""A wave's valid responses as CSV, XLSX, SPSS or Stata files, over the reader's units.

One rule per format (``/workbench/waves/<code>/export.csv`` ...), so that any
other extension is a 404 like any page that does not exist. The CSV is
streamed a few thousand rows at a time; the other formats are written to a
temporary file, which is unlinked once opened and sent from the open handle.
"""

from __future__ import annotations

import os
import tempfile

from flask import Response, abort, send_file, stream_with_context
from werkzeug.http import dump_options_header

from survey.auth.policy import allow, current_scope
from survey.services.waves import wave_by_code
from survey.workbench import bp
from survey.workbench.routes import READERS


@bp.route("/waves/<wave_code>/export.csv", defaults={"fmt": "csv"})
@bp.route("/waves/<wave_code>/export.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/waves/<wave_code>/export.sav", defaults={"fmt": "sav"})
@bp.route("/waves/<wave_code>/export.dta", defaults={"fmt": "dta"})
@allow(*READERS)
def export_responses(wave_code: str, fmt: str):
    """The valid responses of the wave whose desk is in the reader's units."""
    from survey.services import exports  # pandas and pyreadstat load on first use

    wave = wave_by_code(wave_code) or abort(404)
    if fmt not in exports.FORMATS:
        abort(404)
    table = exports.response_table(wave, current_scope())  # a UserError is a 400 page
    name = exports.filename(wave.code, fmt)
    if fmt == "csv":
        response = Response(
            stream_with_context(exports.csv_chunks(table)), mimetype=exports.MEDIA_TYPES[fmt]
        )
        response.headers["Content-Disposition"] = dump_options_header(
            "attachment", {"filename": name}
        )
    else:
        response = send_file(
            _written(table, fmt),
            mimetype=exports.MEDIA_TYPES[fmt],
            as_attachment=True,
            download_name=name,
            max_age=0,
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def _written(table, fmt: str):
    """``table`` written in ``fmt`` to a temporary file: its open handle, the file unlinked."""
    from survey.services import exports

    handle, path = tempfile.mkstemp(suffix=f".{fmt}", prefix="sipas-export-")
    os.close(handle)
    try:
        exports.write(table, fmt, path)
        return open(path, "rb")  # noqa: SIM115 -- send_file closes it
    finally:
        os.unlink(path)
