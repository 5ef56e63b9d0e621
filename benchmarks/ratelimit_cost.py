"""Microseconds per hit of the in-process rate limiter, with few keys and with many.

    python benchmarks/ratelimit_cost.py [--hits 200000]

Each figure is the mean over ``--hits`` hits spread over the keys already
counted, as on the submission path (two hits per citizen's POST: address and
desk). The cost per hit should not grow with the number of keys.
"""

from __future__ import annotations

import argparse
import time

from limits import parse

from survey.ratelimits import LocalWindows


def microseconds_per_hit(keys: int, hits: int) -> float:
    windows, item = LocalWindows(), parse("60 per minute")
    prefix = "SUBMIT_LIMIT_PER_ADDRESS/60 per minute/10"
    names = [f"{prefix}.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(keys)]
    for name in names:
        windows.hit(item, name)
    start = time.perf_counter()
    for i in range(hits):
        windows.hit(item, names[i % keys])
    return (time.perf_counter() - start) / hits * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=200_000)
    args = parser.parse_args()
    microseconds_per_hit(100, args.hits)  # warm up the interpreter and the CPU clock
    for keys in (100, 10_000, 100_000):
        print(f"{keys:>7} keys: {microseconds_per_hit(keys, args.hits):6.2f} µs per hit")


if __name__ == "__main__":
    main()
