"""Gunicorn settings for the SIPAS app; ``gunicorn 'survey:create_app()'`` reads them.

Override any of them on the command line (``--workers 8``) or with
``GUNICORN_CMD_ARGS``.
"""

import gc
import multiprocessing

bind = "127.0.0.1:8000"
#: Synchronous workers: one more than the cores measured best on the
#: submission benchmark (benchmarks/submit_load.py) on a 2-core machine.
workers = multiprocessing.cpu_count() + 1
#: Load the app once in the master; workers share its memory.
preload_app = True


def when_ready(server):
    """Freeze what the master has loaded (app, models, questionnaires) out of the
    garbage collector's sight: workers then never rescan those objects, and
    copy-on-write keeps their pages shared."""
    gc.freeze()
