"""Benchmark: the SIPAS index table, and quantiles, a table and two models, against R's ``survey``.

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

Then, on the same file (which also gives each response an age, a channel, a
waiting time and whether the person had to come back), the other analyses of
the library, timed in a fresh Python process (the median of three runs of
each) and in one Rscript run (reading the file and building the design are
not timed, on either side):

* the median and quartiles of the waiting time, nationally and by province
  (R ``svyquantile``, and ``svyby`` of it);
* the two-way table of channel by the first item: weighted counts, shares,
  shares within rows and the Rao-Scott test (R ``svytable``, ``svymean``,
  ``svyby``, ``svychisq``);
* a linear and a logistic regression (R ``svyglm``, ``quasibinomial``).

It prints a table of our seconds, R's, the ratios and the largest relative
difference of each part's numbers from R's (estimates and SEs; the test's
statistic, ndf, ddf and p-value). These parts add about a minute, most of it
R's; ``--index-only`` leaves them out.

Usage::

    python benchmarks/analysis_vs_r.py [--rows 1000000] [--desks 10000]
        [--r-timeout 3600] [--skip-r] [--index-only] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
CHANNELS = ("qr", "paper", "phone", "web")
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
    # drawn after the items, so that the items are those of earlier versions
    frame = frame.assign(**_respondents(rng, desk, desks))
    frame.to_csv(path, index=False)


def _respondents(rng: np.random.Generator, desk: np.ndarray, desks: int) -> dict[str, object]:
    """The columns of the quantile, table and glm parts: age, channel, wait, returned.

    ``wait`` (minutes, one decimal, a desk effect, longer on paper, 1 %
    missing) is the quantiles' variable and the linear model's outcome;
    ``returned`` (0/1: had to come back) the logistic model's, more likely
    after a long wait and on paper; ``age`` is 2 % missing.
    """
    rows = desk.shape[0]
    age = rng.integers(18, 81, size=rows).astype(float)
    age[rng.random(rows) < 0.02] = np.nan
    channel = rng.choice(np.array(CHANNELS), size=rows, p=[0.6, 0.25, 0.1, 0.05])
    paper = channel == "paper"
    minutes = np.exp(
        2.3
        + rng.normal(0, 0.4, desks)[desk]
        + 0.3 * paper
        + 0.005 * np.nan_to_num(age - 45.0)
        + rng.normal(0, 0.5, rows)
    )
    wait = np.round(minutes, 1)
    wait[rng.random(rows) < 0.01] = np.nan
    chance = 1.0 / (1.0 + np.exp(2.5 - 0.03 * minutes - 0.4 * paper))
    return {
        "age": pd.array(age, dtype="Int16"),
        "channel": channel,
        "wait": wait,
        "returned": (rng.random(rows) < chance).astype(np.int8),
    }


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


#: Probabilities of the quantile part (median and quartiles).
PROBS = (0.25, 0.5, 0.75)
#: The two models of the glm part, as our formulas (R: ``channel`` for ``C(channel)``).
MODELS = {
    "gaussian": "wait ~ age + C(channel)",
    "binomial": "returned ~ wait + age + C(channel)",
}
#: The parts besides the index, in the order they run and print.
PARTS = {
    "quantile national": f"svyquantile of wait at {', '.join(map(str, PROBS))}",
    "quantile by province": "the same in each province (svyby)",
    "table": "channel x q11: counts, shares, shares within rows, svychisq",
    "glm gaussian": f"svyglm {MODELS['gaussian']}",
    "glm binomial": f"svyglm {MODELS['binomial']}, quasibinomial",
}

PARTS_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import patsy, scipy.special, statsmodels.api  # loaded before timing, as R's library(survey)
    from analysis import SurveyDesign, glm, quantile, table
    from analysis._read import read_columns

    path, probs, models = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    t0 = time.perf_counter()
    data = read_columns(path, labels=["province", "desk", "channel", "q11"],
                        numbers=["weight", "age", "wait", "returned"])
    read = time.perf_counter() - t0
    design = SurveyDesign.from_frame(data, weights="weight", strata="province", psu="desk")
    parts = {
        "quantile national": lambda: quantile(design, "wait", probs),
        "quantile by province": lambda: quantile(design, "wait", probs, by="province"),
        "table": lambda: table(design, "channel", "q11"),
    }
    for family, formula in models.items():
        parts[f"glm {family}"] = lambda f=family, m=formula: glm(design, m, family=f)
    seconds, results = {name: [] for name in parts}, {}
    for run in range(3):  # the median of 3: other work shares the machine
        for name, compute in parts.items():
            start = time.perf_counter()
            results[name] = compute()
            seconds[name].append(time.perf_counter() - start)
        if run == 0:  # the memory of one pass
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    times = {name: sorted(s)[1] for name, s in seconds.items()}

    numbers = {}
    for e in results["quantile national"]:
        numbers[f"quantile:{e.quantile:g}"] = (e.estimate, e.se)
    for e in results["quantile by province"]:
        numbers[f"quantile:{e.domain['province']}:{e.quantile:g}"] = (e.estimate, e.se)
    t = results["table"]
    numbers["table:test"] = (t.statistic, t.ndf, t.ddf, t.p_value)
    for i, row in enumerate(t.row_levels):
        for j, col in enumerate(t.col_levels):
            numbers[f"table:{row}:{col}"] = (t.row_proportion[i, j], t.row_proportion_se[i, j])
    for family in models:
        for c in results[f"glm {family}"]:
            numbers[f"{family}:{c.term}"] = (c.estimate, c.se)
    print(json.dumps({"read": read, "times": times, "numbers": numbers, "peak": peak}))
    """
)

R_PARTS_SCRIPT = textwrap.dedent(
    """
    suppressMessages(library(survey))
    args <- commandArgs(trailingOnly = TRUE)
    probs <- c(%(probs)s)
    t0 <- proc.time()[["elapsed"]]
    d <- read.csv(args[1])
    d$q11 <- factor(d$q11)
    cat("READ", proc.time()[["elapsed"]] - t0, "\n")
    des <- svydesign(ids = ~desk, strata = ~province, weights = ~weight, data = d)
    start <- function() proc.time()[["elapsed"]]
    lap <- function(name, t) cat("TIME", name, proc.time()[["elapsed"]] - t, "\n")
    put <- function(key, x) cat("EST", key, sprintf("%%.17g", as.numeric(x)), "\n")

    t <- start()
    q <- svyquantile(~wait, des, probs, na.rm = TRUE)[[1]]
    lap("quantile national", t)
    for (j in seq_along(probs)) put(paste0("quantile:", probs[j]), q[j, c("quantile", "se")])
    t <- start()
    qp <- svyby(~wait, ~province, des, svyquantile, quantiles = probs, na.rm = TRUE, ci = TRUE)
    lap("quantile by province", t)
    est <- as.matrix(qp[, 1 + seq_along(probs)])
    se <- as.matrix(SE(qp))
    for (i in seq_len(nrow(qp))) for (j in seq_along(probs))
      put(paste0("quantile:", qp$province[i], ":", probs[j]), c(est[i, j], se[i, j]))

    t <- start()  # what analysis.table computes: the test, counts, shares, shares within rows
    test <- svychisq(~channel + q11, des)
    counts <- svytable(~channel + q11, des)
    shares <- svymean(~interaction(channel, q11), des, na.rm = TRUE)
    within <- svyby(~q11, ~channel, des, svymean, na.rm = TRUE)
    lap("table", t)
    put("table:test", c(test$statistic, test$parameter, test$p.value))
    est <- as.matrix(within[, 1 + seq_len(nlevels(d$q11))])
    se <- as.matrix(SE(within))
    for (i in seq_len(nrow(within))) for (j in seq_len(nlevels(d$q11)))
      put(paste0("table:", within$channel[i], ":", levels(d$q11)[j]), c(est[i, j], se[i, j]))

    models <- list(%(models)s)
    for (family in names(models)) {
      t <- start()
      fam <- if (family == "binomial") quasibinomial() else gaussian()
      fit <- summary(svyglm(as.formula(models[[family]]), des, family = fam))
      lap(paste("glm", family), t)
      co <- coef(fit)
      for (term in rownames(co)) put(paste0(family, ":", term), co[term, 1:2])
    }
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
    stdout, out = run_rscript(rscript, script, path, timeout)
    if stdout is None:
        return out
    out["national"] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["READ"]:
            out["read"] = float(parts[1])
        elif parts[:1] == ["COMPUTE"]:
            out["compute"] = float(parts[1])
        elif parts[:1] == ["EST"]:
            out["national"][parts[1]] = (float(parts[2]), float(parts[3]))
    return out


def run_rscript(rscript: str, script: Path, data: Path, timeout: float) -> tuple[str | None, dict]:
    """Run an R script on ``data``: its output and ``{"wall": seconds}``, or None and why it
    failed (``timeout`` or the last ``error`` line)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [rscript, str(script), str(data)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, {"timeout": True, "wall": time.perf_counter() - start}
    if proc.returncode != 0:
        return None, {"error": proc.stderr.strip().splitlines()[-1:] or ["?"]}
    return proc.stdout, {"wall": time.perf_counter() - start}


def run_parts(path: Path) -> dict:
    """Quantiles, the table and both models in a fresh process; their seconds and numbers."""
    proc = subprocess.run(
        [sys.executable, "-c", PARTS_CHILD, str(path), json.dumps(PROBS), json.dumps(MODELS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(one_thread=True),
    )
    if proc.returncode != 0:
        sys.exit(f"analysis failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def r_formula(formula: str) -> str:
    """R's spelling of one of :data:`MODELS`: ``C(channel)`` is ``channel``."""
    return re.sub(r"C\((\w+)\)", r"\1", formula)


def r_term(term: str) -> str:
    """R's name of a coefficient: ``Intercept`` is ``(Intercept)``, ``C(g)[T.b]`` is ``gb``."""
    return (
        "(Intercept)" if term == "Intercept" else re.sub(r"^C\((\w+)\)\[T\.(.+)\]$", r"\1\2", term)
    )


def run_r_parts(path: Path, timeout: float) -> dict | None:
    """R's quantiles, table and models; None without Rscript, as :func:`run_r` otherwise."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    models = ", ".join(f'{family} = "{r_formula(f)}"' for family, f in MODELS.items())
    script = path.with_name(path.stem + "_parts.R")
    script.write_text(R_PARTS_SCRIPT % {"probs": ", ".join(map(str, PROBS)), "models": models})
    stdout, out = run_rscript(rscript, script, path, timeout)
    if stdout is None:
        return out
    out.update(times={}, numbers={})
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["READ"]:
            out["read"] = float(parts[1])
        elif parts[:1] == ["TIME"]:
            out["times"][" ".join(parts[1:-1])] = float(parts[-1])
        elif parts[:1] == ["EST"]:
            out["numbers"][parts[1]] = tuple(float(v) for v in parts[2:])
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


def _part_of(key: str) -> str:
    """The part of :data:`PARTS` a number belongs to, from its key."""
    kind = key.split(":")[0]
    if kind == "quantile":
        return "quantile national" if key.count(":") == 1 else "quantile by province"
    return "table" if kind == "table" else f"glm {kind}"


def part_differences(ours: dict, theirs: dict) -> dict[str, float]:
    """Largest relative difference from R of each part's numbers (R's names for the terms)."""
    renamed = {}
    for key, values in ours.items():
        kind, _, rest = key.partition(":")
        renamed[f"{kind}:{r_term(rest)}" if kind in MODELS else key] = values
    missing = sorted(set(theirs) ^ set(renamed))
    if missing:
        sys.exit(f"the numbers of R and analysis differ in their keys: {missing[:5]}")
    return {
        part: largest_difference(
            {k: v for k, v in renamed.items() if _part_of(k) == part},
            {k: v for k, v in theirs.items() if _part_of(k) == part},
        )
        for part in PARTS
    }


def report_parts(parts: dict, theirs: dict | None) -> None:
    """A table: each part's seconds, R's, the ratio and the largest difference from R."""
    print(
        f"quantiles, table and glm in-process, median of 3 runs (reading the CSV "
        f"{parts['read']:.2f} s more; building the design and imports not timed, nor are they "
        f"in R, which runs each once); peak memory of one pass {parts['peak'] / 2**30:.2f} GB"
    )
    differences = part_differences(parts["numbers"], theirs["numbers"]) if theirs else {}
    width = max(map(len, PARTS))
    header = f"  {'':<{width}}  analysis"
    if theirs:
        header += "         R   ratio  largest difference from R"
    print(header)
    for part in PARTS:
        line = f"  {part:<{width}}  {parts['times'][part]:6.2f} s"
        if theirs:
            seconds = theirs["times"][part]
            ratio = seconds / parts["times"][part]
            line += f"  {seconds:6.1f} s  {ratio:4.0f}x  {differences[part]:.1e}"
        print(line)
    for part, what in PARTS.items():
        print(f"  {part}: {what}")
    if theirs:
        print(
            f"  R: reading the CSV {theirs['read']:.1f} s; Rscript {theirs['wall']:.1f} s in all. "
            "R's logistic fit stops at glm.control(epsilon = 1e-8): its SEs differ by about 1e-6"
        )


def main() -> None:
    """Generate the file, time both implementations, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--desks", type=int, default=10_000)
    parser.add_argument("--r-timeout", type=float, default=3600.0, help="seconds (default 3600)")
    parser.add_argument("--skip-r", action="store_true", help="do not run R")
    parser.add_argument("--keep", type=Path, help="write the data file into this folder")
    parser.add_argument(
        "--index-only",
        action="store_true",
        help="time the index only, not the quantiles, table and models "
        "(which add about a minute, most of it R's)",
    )
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
        parts = None if args.index_only else run_parts(path)
        if args.skip_r:
            if parts is not None:
                report_parts(parts, None)
            return
        theirs = run_r(path, args.r_timeout)
        if _r_ran(theirs, args.r_timeout, ours["compute"]):
            report_r(theirs, ours, runs)
        if parts is not None:
            theirs_parts = run_r_parts(path, args.r_timeout)
            ran = _r_ran(theirs_parts, args.r_timeout, sum(parts["times"].values()))
            report_parts(parts, theirs_parts if ran else None)


def _r_ran(theirs: dict | None, timeout: float, ours: float) -> bool:
    """Whether R gave its figures; if not, say why."""
    if theirs is None:
        print("R: Rscript not found; no comparison")
    elif theirs.get("timeout"):
        print(
            f"R: stopped after the timeout of {timeout:.0f} s; ratio at least {timeout / ours:.0f}x"
        )
    elif "error" in theirs:
        print(f"R: failed: {theirs['error'][0]}")
    else:
        return True
    return False


if __name__ == "__main__":
    main()
