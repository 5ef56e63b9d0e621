"""Benchmark: the SIPAS index table, ``analysis`` against R's ``survey``.

Generates a SIPAS-like file (by default 1,000,000 responses, 25 Likert items
in 5 dimensions, 34 provinces as strata, about 10,000 desks as PSUs, with
missing answers) in a temporary folder, then computes item, dimension and
overall indices with standard errors and confidence intervals, nationally
and by province:

* with this package, in a fresh Python process (so that its peak memory is
  that of reading the file and computing, not of generating it);
* with the command line, end to end, as a statistician runs it: the two
  real ``python -m analysis index`` processes, national then ``--by
  province``, each starting Python, reading the file and writing its JSON;
  on the CSV, and on the same data as Parquet when pyarrow is installed
  (the pair is run three times and the median kept: on a shared virtual
  machine single runs vary by 10-20 %);
* with R's ``survey`` on the same file in the same run, when ``Rscript`` is
  installed (``svymean`` of each item on the answered subset, ``svytotal``
  + ``svycontrast`` for the composites, per province on ``subset``).

Prints the seconds of each (reading the CSV is timed apart in-process),
their ratios, the peak memory of our process, and the largest difference
between the sets of numbers. Targets: in-process at least 20 times faster
than R's computing, under 3 seconds for the whole table, under 2 GB; the
two command-line calls together at least 30 times faster than the Rscript
run (start, read, both tables).

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
    from analysis import SurveyDesign
    from analysis._read import read_columns
    from analysis.intervals import wald_interval
    from analysis.sipas import sipas_index

    path, dims = sys.argv[1], json.loads(sys.argv[2])
    items = [item for its in dims.values() for item in its]
    t0 = time.perf_counter()
    data = read_columns(path, labels=["province", "desk"], numbers=["weight", *items])
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


def child_env(*, one_thread: bool) -> dict[str, str]:
    """The environment of our processes: this checkout first on the path.

    With ``one_thread``, one BLAS thread: the matrices are small (PSUs x
    indices), BLAS threads only add overhead, and R's reference BLAS is
    single-threaded too. The command line runs in the environment as it is,
    as a statistician runs it (``OMP_NUM_THREADS`` would also hold pyarrow's
    CSV reader to one thread).
    """
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"} if one_thread else {}
    env = {**env, **os.environ, "PYTHONPATH": str(ROOT)}
    return env


def run_python(path: Path) -> dict:
    """Run our computation in a fresh process; return its timings and numbers."""
    env = child_env(one_thread=True)
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


def run_cli(path: Path, repeats: int = 3) -> dict:
    """Both tables by the real command line, one process each; their wall seconds.

    The pair of calls is run ``repeats`` times (the machine's other work makes
    single runs vary by 10-20 %) and the run with the median total is kept.

    Returns ``{"calls": [national, by_province], "wall": total, "walls": every
    run's total, "rows": estimates, "national": {variable: (estimate, se)}}``.
    """
    command = [sys.executable, "-m", "analysis", "index", "--data", str(path)]
    command += ["--weights", "weight", "--strata", "province", "--psu", "desk"]
    command += [f"--dimension={name}={','.join(items)}" for name, items in DIMENSIONS.items()]
    runs = []
    for _ in range(repeats):
        calls, outputs = [], []
        for extra in ([], ["--by", "province"]):
            start = time.perf_counter()
            proc = subprocess.run(
                [*command, *extra],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=child_env(one_thread=False),
            )
            calls.append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"python -m analysis failed:\n{proc.stderr}")
            outputs.append(proc.stdout)
        runs.append((sum(calls), calls, outputs))
    runs.sort(key=lambda run: run[0])
    wall, calls, outputs = runs[len(runs) // 2]
    tables = [json.loads(text) for text in outputs]
    national = {r["variable"]: (r["estimate"], r["se"]) for r in tables[0]}
    rows = sum(len(table) for table in tables)
    walls = [run[0] for run in runs]
    return {"calls": calls, "wall": wall, "walls": walls, "rows": rows, "national": national}


def to_parquet(path: Path) -> Path | None:
    """The benchmark file as Parquet (group codes as text), or None without pyarrow."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    target = path.with_suffix(".parquet")
    pd.read_csv(path, dtype={"province": str, "desk": str}).to_parquet(target, index=False)
    return target


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


def largest_difference(ours: dict, theirs: dict) -> float:
    """Largest relative difference between two sets of national (estimate, se)."""
    return max(
        abs(a - b) / abs(b)
        for v in theirs
        for a, b in zip(ours[v], theirs[v], strict=True)
        if b != 0 or a != 0
    )


def report_ours(ours: dict) -> None:
    print(
        f"analysis in-process: {ours['compute']:.2f} s for {ours['rows']} estimates with CIs "
        f"(national + by province; reading the CSV {ours['read']:.2f} s more); "
        f"peak memory {ours['peak'] / 2**30:.2f} GB"
    )
    print(
        f"  target < 3 s: {'met' if ours['compute'] < 3 else 'MISSED'}; "
        f"< 2 GB: {'met' if ours['peak'] < 2 * 2**30 else 'MISSED'}"
    )


def report_cli(runs: dict[str, dict], ours: dict) -> None:
    for kind, cli in runs.items():
        national, by_province = cli["calls"]
        same = largest_difference(cli["national"], ours["national"])
        spread = ", ".join(f"{w:.2f}" for w in cli["walls"])
        print(
            f"command line end to end, {kind}: {cli['wall']:.2f} s for both tables, "
            f"median of {len(cli['walls'])} runs ({spread} s): python -m analysis index "
            f"national {national:.2f} s, --by province {by_province:.2f} s; "
            f"{cli['rows']} estimates; largest difference from in-process {same:.1e}"
        )


def report_r(theirs: dict, ours: dict, runs: dict[str, dict]) -> None:
    print(
        f"R survey: {theirs['compute']:.1f} s computing (reading the CSV {theirs['read']:.1f} s "
        f"more; Rscript {theirs['wall']:.1f} s in all, from start to both tables)"
    )
    ratio = theirs["compute"] / ours["compute"]
    print(
        f"ratio in-process: {ratio:.0f}x faster than R's computing "
        f"(target >= 20x: {'met' if ratio >= 20 else 'MISSED'})"
    )
    for kind, cli in runs.items():
        whole = theirs["wall"] / cli["wall"]
        computing = theirs["compute"] / cli["wall"]
        print(
            f"ratio command line, {kind}: {whole:.0f}x faster than the Rscript run, "
            f"{computing:.0f}x than R's computing alone "
            f"(target >= 30x: {'met' if whole >= 30 else 'MISSED'})"
        )
    diff = largest_difference(ours["national"], theirs["national"])
    print(f"largest relative difference of national estimates and SEs from R: {diff:.1e}")


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
        report_ours(ours)
        runs = {"CSV": run_cli(path)}
        parquet = to_parquet(path)
        if parquet is not None:
            runs["Parquet"] = run_cli(parquet)
        report_cli(runs, ours)
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
            report_r(theirs, ours, runs)


if __name__ == "__main__":
    main()
