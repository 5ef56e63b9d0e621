"""Use cases: each function does one thing, flushes, and leaves the commit to its caller."""
