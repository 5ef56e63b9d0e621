"""``flask --app survey paper print|batch|import-pass|status``: paper forms from the command line.

A mistake (an unknown wave, desk, unit, batch or typist, a bad count or file)
exits with status 2 and one line naming it; nothing is stored.
"""

from __future__ import annotations

from flask.cli import AppGroup

paper_cli = AppGroup("paper", help="Paper forms: print serials, register batches, import passes.")

# Each command lives beside the pages that do the same job.
from survey.entry import batch_cli, import_cli, print_cli  # noqa: E402, F401
