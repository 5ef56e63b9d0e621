"""Command line: ``python -m analysis estimate|index ...``.

Two commands, whose flags and output are a contract that scripts depend on::

    python -m analysis estimate --data FILE --weights COL [--strata COL]
        [--psu COL[,COL2]] [--fpc COL[,COL2]] [--nest] [--lonely-psu POLICY]
        --stat {mean,total,proportion,ratio} --var COL [--denominator COL]
        [--by COL[,COL...]] [--na-codes CODES] [--level 0.95]
        [--ci-method {wald,wald-t,logit,beta}] [--format {json,csv}]

    python -m analysis index --data FILE --weights COL [--strata COL]
        [--psu COL[,COL2]] [--fpc COL[,COL2]] [--nest] --dimension NAME=ITEM,ITEM,...
        (repeated) [--part NAME=DIMENSION,... (repeated)] [--satisfied 4,5]
        [--complete-cases] [--by COL] [--na-codes CODES] [--level 0.95]
        [--ci-method {wald,wald-t,logit}] [--format json]

``FILE`` is CSV (UTF-8, with a header line), or Parquet when its name ends
in ``.parquet`` and pyarrow is installed. Only the columns a command uses
are read (:mod:`analysis._read`).

Output is a JSON list of objects with the keys ``variable``, ``domain``
(``{column: value}`` or null), ``estimate``, ``se``, ``ci_low``, ``ci_high``,
``df``, ``deff``, ``n``; or CSV with the same columns (``domain`` written as
``column=value;column=value``). Empty CSV fields are missing values.

``--na-codes 0`` (or ``0,9``, ...) names the codes of "not applicable"
answers: in the variables the command analyses (``--var`` and
``--denominator``, or the items of ``--dimension``), values equal to one of
them are missing values, as if their fields were empty, so that they are
out of every denominator. Weights, strata, PSU, fpc and ``--by`` columns are
read as they are.

Bad input (a missing file or column, a file with no rows, weights that are
negative, all zero, True/False, infinite or too large to add up, a variable
with no valid value, PSUs not nested in strata, an unknown option value, ...)
ends with exit status 2 and one line on standard error; nothing is written to
standard output.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import pandas as pd

from analysis._read import read_columns
from analysis.design import LonelyPSU, SurveyDesign
from analysis.results import COLUMNS, EstimateTable, as_table

__all__ = ["build_parser", "main", "render"]

_STATS = ("mean", "total", "proportion", "ratio")
_POLICIES = tuple(p.value for p in LonelyPSU)

# The library's argument names, as their options are called here.
_OPTIONS = {
    "weights": "--weights",
    "strata": "--strata",
    "psu": "--psu",
    "fpc": "--fpc",
    "by": "--by",
    "y": "--var",
    "numerator": "--var",
    "denominator": "--denominator",
    "items": "--dimension",
    "dimensions": "--dimension",
    "parts": "--part",
    "satisfied": "--satisfied",
    "data": "--data",
    "lonely_psu": "--lonely-psu",
    "level": "--level",
}


class UsageError(Exception):
    """A user mistake: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _design_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="CSV file (or .parquet, with pyarrow), one row per respondent",
    )
    parser.add_argument("--weights", required=True, metavar="COL", help="sampling weight column")
    parser.add_argument("--strata", metavar="COL", help="stratum column")
    parser.add_argument("--psu", metavar="COL[,COL2]", help="cluster id column per stage")
    parser.add_argument(
        "--fpc", metavar="COL[,COL2]", help="population count or sampling fraction per stage"
    )
    parser.add_argument("--nest", action="store_true", help="PSU ids are relative to their stratum")
    parser.add_argument(
        "--lonely-psu",
        default="fail",
        choices=_POLICIES,
        metavar="POLICY",
        help="strata with one PSU: " + ", ".join(_POLICIES) + " (default fail)",
    )
    parser.add_argument(
        "--level", type=_level, default=0.95, help="confidence level (default 0.95)"
    )
    parser.add_argument(
        "--na-codes",
        metavar="CODES",
        help="answers meaning 'not applicable' (e.g. 0 or 0,9): missing, like empty fields",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m analysis``."""
    parser = _Parser(
        prog="python -m analysis",
        description="Design-based survey estimates and SIPAS indices with confidence intervals.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    est = commands.add_parser("estimate", help="mean, total, proportion or ratio")
    _design_arguments(est)
    est.add_argument("--stat", required=True, choices=_STATS)
    est.add_argument("--var", required=True, metavar="COL", help="variable (numerator of a ratio)")
    est.add_argument("--denominator", metavar="COL", help="denominator of --stat ratio")
    est.add_argument("--by", metavar="COL[,COL...]", help="domain columns")
    est.add_argument("--ci-method", default="wald", choices=("wald", "wald-t", "logit", "beta"))
    est.add_argument("--format", default="json", choices=("json", "csv"))

    idx = commands.add_parser("index", help="SIPAS index: items, dimensions, parts, overall")
    _design_arguments(idx)
    idx.add_argument(
        "--dimension",
        action="append",
        required=True,
        metavar="NAME=ITEM,ITEM,...",
        help="a dimension and its items (repeat for each dimension)",
    )
    idx.add_argument(
        "--part",
        action="append",
        default=[],
        metavar="NAME=DIMENSION,...",
        help="a part and its dimensions (repeat for each part)",
    )
    idx.add_argument(
        "--satisfied",
        default="4,5",
        metavar="V,V",
        help="answers counted as satisfied (default 4,5)",
    )
    idx.add_argument(
        "--complete-cases",
        action="store_true",
        help="compute each dimension over the rows that answered all its items",
    )
    idx.add_argument("--by", metavar="COL", help="domain column")
    idx.add_argument("--ci-method", default="wald", choices=("wald", "wald-t", "logit"))
    idx.add_argument("--format", default="json", choices=("json", "csv"))
    return parser


def _names(*values: str | None) -> list[str]:
    """Column names from options that may hold several (``--psu desk,day``)."""
    return [part.strip() for value in values if value for part in value.split(",")]


def _read(
    args: argparse.Namespace,
    numbers: Sequence[str] = (),
    *,
    answers: Sequence[str] = (),
    others: Sequence[str] = (),
) -> pd.DataFrame:
    """The columns the command uses: group columns as text, numbers and answers as float."""
    return read_columns(
        args.data,
        labels=_names(args.strata, args.psu, args.by),
        numbers=[*_names(args.weights, args.fpc), *numbers],
        answers=answers,
        others=others,
    )


def _design(args: argparse.Namespace, data: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign.from_frame(
        data,
        weights=args.weights,
        strata=args.strata,
        psu=args.psu,
        fpc=args.fpc,
        nest=args.nest,
        lonely_psu=args.lonely_psu,
    )


def _named_lists(values: Sequence[str], flag: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for value in values:
        name, sep, members = value.partition("=")
        name = name.strip()
        items = [m.strip() for m in members.split(",") if m.strip()]
        if not sep or not name or not items:
            raise UsageError(f"{flag}: expected NAME=A,B,... (got {value!r})")
        if name in out:
            raise UsageError(f"{flag}: '{name}' is given twice")
        out[name] = items
    return out


def _numbers(text: str, flag: str, example: str) -> list[float]:
    """Comma-separated finite numbers, at least one."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise UsageError(f"{flag}: expected numbers such as {example} (got {text!r})")
    return values


def _satisfied(text: str) -> list[float]:
    return _numbers(text, "--satisfied", "4,5")


def _na_codes(text: str | None) -> list[float]:
    return [] if text is None else _numbers(text, "--na-codes", "0 or 0,9")


def _blank_codes(data: pd.DataFrame, columns: Sequence[str], codes: Sequence[float]) -> None:
    """Make the values equal to one of ``codes`` missing, in place, as if their fields were empty.

    Numbers are compared as numbers; text (the levels of a proportion, or a
    column the library will refuse) where it is a number; True/False never.
    """
    if not codes:
        return
    for name in dict.fromkeys(columns):
        if name not in data.columns:
            continue  # the library names it
        values = data[name]
        if pd.api.types.is_bool_dtype(values.dtype):
            continue
        if pd.api.types.is_numeric_dtype(values.dtype):
            coded = values.isin(codes)
        else:
            numbers = pd.to_numeric(values.astype(object), errors="coerce")
            coded = numbers.isin(codes) & values.notna()
        if not coded.any():
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            blanked = values.where(~coded)
            data[name] = blanked.cat.remove_categories(
                [c for c in blanked.cat.categories if c in set(values[coded])]
            )
        else:
            data[name] = values.where(~coded)  # numbers become float, with NaN


def run_estimate(args: argparse.Namespace) -> EstimateTable:
    """Compute the table of the ``estimate`` command."""
    if args.stat == "ratio" and not args.denominator:
        raise UsageError("--denominator: required with --stat ratio")
    if args.stat != "ratio" and args.denominator:
        raise UsageError("--denominator: only used with --stat ratio")
    from analysis.estimators import mean, proportion, ratio, total

    codes = _na_codes(args.na_codes)
    variables = [args.var, *([args.denominator] if args.denominator else [])]
    # a proportion may be of the levels of a text column: its type is inferred
    inferred = args.stat == "proportion"
    data = _read(args, [] if inferred else variables, others=variables if inferred else [])
    _blank_codes(data, variables, codes)
    design = _design(args, data)
    if args.var not in data.columns:
        raise UsageError(f"--var: column '{args.var}' is missing")
    if args.denominator and args.denominator not in data.columns:
        raise UsageError(f"--denominator: column '{args.denominator}' is missing")
    by = args.by or None
    if args.stat == "ratio":
        result = ratio(design, args.var, args.denominator, by=by)
    else:
        estimator = {"mean": mean, "total": total, "proportion": proportion}[args.stat]
        result = estimator(design, args.var, by=by)
    return as_table(result)


def run_index(args: argparse.Namespace) -> EstimateTable:
    """Compute the table of the ``index`` command."""
    from analysis.sipas import sipas_index

    dimensions = _named_lists(args.dimension, "--dimension")
    parts = _named_lists(args.part, "--part")
    satisfied = _satisfied(args.satisfied)
    codes = _na_codes(args.na_codes)
    both = [c for c in dict.fromkeys(codes) if c in satisfied]
    if both:
        raise UsageError(
            f"--na-codes: {_code_text(both[0])} is also in --satisfied; "
            "a not-applicable answer cannot count as satisfied"
        )
    answers = [item for items in dimensions.values() for item in items]
    data = _read(args, answers=answers)
    _blank_codes(data, answers, codes)
    design = _design(args, data)
    return sipas_index(
        design,
        dimensions,
        parts=parts or None,
        satisfied=satisfied,
        complete_cases=args.complete_cases,
        by=args.by or None,
    )


def _code_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return value


def render(records: list[dict[str, Any]], fmt: str, columns: Sequence[str] = COLUMNS) -> str:
    """Records as JSON (a list of objects) or CSV text with ``columns``."""
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([_csv_value(rec[c]) for c in columns])
    return buffer.getvalue()


def _as_option(message: str) -> str:
    """The library's message with its argument name (``weights:``) as the option."""
    name, sep, rest = message.partition(": ")
    option = _OPTIONS.get(name)
    return f"{option}: {rest}" if sep and option else message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0, or 2 for bad input).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    try:
        args = build_parser().parse_args(argv)
        run = run_estimate if args.command == "estimate" else run_index
        table = run(args)
        records = table.to_records(level=args.level, method=args.ci_method)
        text = render(records, args.format)
    except (UsageError, ValueError) as exc:
        message = _as_option(" ".join(str(exc).split()) or type(exc).__name__)
        sys.stderr.write(f"python -m analysis: error: {message}\n")
        return 2
    sys.stdout.write(text)
    return 0
