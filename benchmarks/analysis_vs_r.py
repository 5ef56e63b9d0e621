"""Benchmark: the SIPAS index table, ``analysis`` against R's ``survey``.

Generates a SIPAS-like file (by default 1,000,000 responses, 25 Likert items
in 5 dimensions, 34 provinces as strata, about 10,000 desks as PSUs, with
missing answers) in a temporary folder, then computes item, dimension and
overall indices with standard errors and confidence intervals, nationally
and by province:

* with this package, in a fresh Python process (so that its peak memory is
  that of reading the file and computing, not of generating it);
* with R's ``survey`` on the same file in the same run, when ``Rscript`` is
  installed (``svymean`` of each item on the answered subset, ``svytotal``
  + ``svycontrast`` for the composites, per province on ``subset``).

Prints the seconds of each (reading the CSV is timed apart), their ratio,
the peak memory of our process, and the largest difference between the two
sets of numbers. Targets: at least 20 times faster than R, under 3 seconds
for the whole table, under 2 GB.

Usage::

    python benchmarks/analysis_vs_r.py [--rows 1000000] [--desks 10000]
        [--r-timeout 3600] [--skip-r] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_PROVINCES = 34
DIMENSIONS = {f"f{d}": [f"q{d}{i}" for i in range(1, 6)] for d in range(1, 6)}
ITEMS = [i for items in DIMENSIONS.values() for i in items]
ROOT = Path(__file__).resolve().parents[1]


def generate(path: Path, rows: int, desks: int, seed: int = 2025) -> None:
    """Write the benchmark CSV: province, desk, weight, q11 ... q55 (1..5, empty = missing)."""
    rng = np.random.default_rng(seed)
    # every province gets at least two desks, the rest at random
    desk_province = np.sort(
        np.concatenate(
            [
                np.repeat(np.arange(N_PROVINCES), 2),
                rng.integers(0, N_PROVINCES, size=desks - 2 * N_PROVINCES),
            ]
        )
    )
    size = rng.gamma(4.0, 1.0, size=desks)
    counts = np.maximum(1, np.floor(size / size.sum() * rows)).astype(np.int64)
    counts[np.argsort(-size)[: rows - counts.sum()]] += 1  # make the total exact
    while counts.sum() > rows:
        counts[np.argmax(counts)] -= counts.sum() - rows
    desk = np.repeat(np.arange(desks), counts)
    province = desk_province[desk]
    weight = (50.0 + 10.0 * province) * rng.uniform(0.5, 1.5, size=rows)
    latent_base = (
        rng.normal(0, 0.3, N_PROVINCES)[province]
        + rng.normal(0, 0.4, desks)[desk]
        + rng.normal(0, 0.6, rows)
    )
    cuts = np.array([-1.6, -0.9, -0.1, 1.1])
    frame = pd.DataFrame(
        {
            "province": np.char.add("P", province.astype(str)),
            "desk": np.char.add("D", desk.astype(str)),
            "weight": np.round(weight, 3),
        }
    )
    for d, items in enumerate(DIMENSIONS.values()):
        missing = 0.04 if d < 4 else 0.2
        for i, item in enumerate(items):
            latent = latent_base + 0.2 * i - 0.1 * d + rng.normal(0, 0.8, rows)
            answer = (1 + np.searchsorted(cuts, latent)).astype(np.float32)
            answer[rng.random(rows) < missing] = np.nan
            frame[item] = pd.array(answer, dtype="Int8")
    frame.to_csv(path, index=False)


PY_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import numpy as np
    import pandas as pd
    from analysis import SurveyDesign
    from analysis.intervals import wald_interval
    from analysis.sipas import sipas_index

    path, dims = sys.argv[1], json.loads(sys.argv[2])
    t0 = time.perf_counter()
    data = pd.read_csv(path, keep_default_na=False, na_values=[""])
    t1 = time.perf_counter()
    design = SurveyDesign.from_frame(data, weights="weight", strata="province", psu="desk")
    tables = []
    for by in (None, "province"):
        table = sipas_index(design, dims, by=by)
        estimate = np.array([e.estimate for e in table])
        se = np.array([e.se for e in table])
        low, high = wald_interval(estimate, se, 0.95)  # vectorised over the table
        tables.append((table, low, high))
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rows = [e for table, _, _ in tables for e in table]
    national = {e.variable: (e.estimate, e.se) for e in tables[0][0]}
    print(json.dumps({"read": t1 - t0, "compute": t2 - t1, "peak": peak, "rows": len(rows),
                      "national": national}))
    """
)

R_SCRIPT = textwrap.dedent(
    """
    suppressMessages(library(survey))
    args <- commandArgs(trailingOnly = TRUE)
    t0 <- proc.time()[["elapsed"]]
    d <- read.csv(args[1])
    t1 <- proc.time()[["elapsed"]]
    dims <- jsonlite_free <- NULL
    dims <- list(%(dims)s)
    items <- unlist(dims, use.names = FALSE)
    for (it in items) {
      d[[paste0("s_", it)]] <- as.numeric(d[[it]] %%in%% c(4, 5))
      d[[paste0("n_", it)]] <- as.numeric(!is.na(d[[it]]))
    }
    des <- svydesign(ids = ~desk, strata = ~province, weights = ~weight, data = d)
    dim_txt <- sapply(names(dims), function(k)
      sprintf("(%%s)/%%d", paste(sprintf("s_%%s/n_%%s", dims[[k]], dims[[k]]), collapse = "+"),
              length(dims[[k]])))
    exprs <- c(as.list(dim_txt),
               list(overall = sprintf("(%%s)/%%d", paste(sprintf("(%%s)", dim_txt), collapse = "+"),
                                      length(dims))))
    exprs <- lapply(exprs, function(e) parse(text = e)[[1]])
    tot_formula <- as.formula(paste("~", paste(c(paste0("s_", items), paste0("n_", items)),
                                               collapse = "+")))
    table <- function(des) {
      out <- list()
      for (it in items) {
        sub <- des[!is.na(des$variables[[it]]), ]
        m <- svymean(as.formula(paste0("~s_", it)), sub)
        out[[it]] <- c(coef(m), SE(m), confint(m))
      }
      con <- svycontrast(svytotal(tot_formula, des), exprs)
      ci <- confint(con)
      for (v in names(exprs)) out[[v]] <- c(coef(con)[[v]], SE(con)[[v]], ci[v, ])
      out
    }
    national <- table(des)
    for (p in sort(unique(d$province))) invisible(table(subset(des, province == p)))
    t2 <- proc.time()[["elapsed"]]
    cat("READ", t1 - t0, "\\n")
    cat("COMPUTE", t2 - t1, "\\n")
    for (v in names(national)) cat("EST", v, sprintf("%%.17g", national[[v]][1:2]), "\\n")
    """
)


def run_python(path: Path) -> dict:
    """Run our computation in a fresh process; return its timings and numbers."""
    # The matrices are small (PSUs x indices); BLAS threads only add overhead,
    # and R's reference BLAS is single-threaded too.
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **os.environ}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", PY_CHILD, str(path), json.dumps(DIMENSIONS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    if proc.returncode != 0:
        sys.exit(f"analysis failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def run_r(path: Path, timeout: float) -> dict | None:
    """Run the R version; None if Rscript is missing, a dict with 'timeout' if it took too long."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    dims = ", ".join(
        f"{k} = c({', '.join(repr(i).replace(chr(39), chr(34)) for i in v)})"
        for k, v in DIMENSIONS.items()
    )
    script = path.with_suffix(".R")
    script.write_text(R_SCRIPT % {"dims": dims})
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [rscript, str(script), str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"timeout": True, "wall": time.perf_counter() - start}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["?"]}
    out: dict = {"wall": time.perf_counter() - start, "national": {}}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["READ"]:
            out["read"] = float(parts[1])
        elif parts[:1] == ["COMPUTE"]:
            out["compute"] = float(parts[1])
        elif parts[:1] == ["EST"]:
            out["national"][parts[1]] = (float(parts[2]), float(parts[3]))
    return out


def main() -> None:
    """Generate the file, time both implementations, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--desks", type=int, default=10_000)
    parser.add_argument("--r-timeout", type=float, default=3600.0, help="seconds (default 3600)")
    parser.add_argument("--skip-r", action="store_true", help="do not run R")
    parser.add_argument("--keep", type=Path, help="write the data file into this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "sipas_benchmark.csv"
        t0 = time.perf_counter()
        generate(path, args.rows, args.desks)
        print(
            f"data: {args.rows:,} responses, {len(ITEMS)} items in {len(DIMENSIONS)} dimensions, "
            f"{N_PROVINCES} provinces, {args.desks:,} desks "
            f"({path.stat().st_size / 1e6:.0f} MB, generated in {time.perf_counter() - t0:.1f} s)"
        )
        ours = run_python(path)
        print(
            f"analysis: {ours['compute']:.2f} s for {ours['rows']} estimates with CIs "
            f"(national + by province; reading the CSV {ours['read']:.2f} s more); "
            f"peak memory {ours['peak'] / 2**30:.2f} GB"
        )
        print(
            f"  target < 3 s: {'met' if ours['compute'] < 3 else 'MISSED'}; "
            f"< 2 GB: {'met' if ours['peak'] < 2 * 2**30 else 'MISSED'}"
        )
        if args.skip_r:
            return
        theirs = run_r(path, args.r_timeout)
        if theirs is None:
            print("R: Rscript not found; no comparison")
        elif theirs.get("timeout"):
            print(
                f"R: stopped after the timeout of {args.r_timeout:.0f} s; "
                f"ratio at least {args.r_timeout / ours['compute']:.0f}x"
            )
        elif "error" in theirs:
            print(f"R: failed: {theirs['error'][0]}")
        else:
            ratio = theirs["compute"] / ours["compute"]
            print(
                f"R survey: {theirs['compute']:.1f} s (reading the CSV {theirs['read']:.1f} s more)"
            )
            print(
                f"ratio: {ratio:.0f}x faster (target >= 20x: {'met' if ratio >= 20 else 'MISSED'})"
            )
            diffs = [
                max(
                    abs(a - b) / abs(b)
                    for a, b in zip(ours["national"][v], theirs["national"][v], strict=True)
                )
                for v in theirs["national"]
            ]
            print(f"largest relative difference of national estimates and SEs: {max(diffs):.1e}")


if __name__ == "__main__":
    main()
