"""``python -m analysis``: see :mod:`analysis.cli`."""

import gc
import os
import sys

# A run lasts a second or two and leaves little cyclic garbage: collecting it
# while pandas is imported would cost more than it frees.
gc.disable()

from analysis.cli import main  # noqa: E402

if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without tearing the interpreter down object by object: after a
    # large file that takes a tenth of a second, and nothing is left to do.
    os._exit(status)
