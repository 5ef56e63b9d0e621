"""Command line: ``python -m analysis estimate|index|glm|table ...``.

Four commands, whose flags and output are a contract that scripts depend on::

    python -m analysis estimate --data FILE --weights COL [--strata COL]
        [--psu COL[,COL2]] [--fpc COL[,COL2]] [--nest] [--lonely-psu POLICY]
        --stat {mean,total,proportion,ratio,quantile} --var COL [--denominator COL]
        [--quantiles P,P,...] [--by COL[,COL...]] [--na-codes CODES] [--level 0.95]
        [--ci-method {wald,wald-t,logit,beta}] [--format {json,csv}]

    python -m analysis index --data FILE --weights COL [--strata COL]
        [--psu COL[,COL2]] [--fpc COL[,COL2]] [--nest] --dimension NAME=ITEM,ITEM,...
        (repeated) [--part NAME=DIMENSION,... (repeated)] [--satisfied 4,5]
        [--complete-cases] [--by COL] [--na-codes CODES] [--level 0.95]
        [--ci-method {wald,wald-t,logit}] [--format json]

    python -m analysis glm --data FILE --weights COL [--strata COL]
        [--psu COL[,COL2]] [--fpc COL[,COL2]] [--nest] [--lonely-psu POLICY]
        --formula "Y ~ X1 + C(G)" [--family {gaussian,binomial}]
        [--na-codes CODES] [--level 0.95] [--format {json,csv}]

    python -m analysis table --data FILE --weights COL [--strata COL]
        [--psu COL[,COL2]] [--fpc COL[,COL2]] [--nest] [--lonely-psu POLICY]
        --row COL --col COL [--na-codes CODES]

``FILE`` is CSV (UTF-8, with a header line), or, by its extension, Parquet
(``.parquet``, when pyarrow is installed), SPSS (``.sav``, ``.zsav``) or
Stata (``.dta``). Only the columns a command uses are read
(:mod:`analysis._read`); the value labels of SPSS and Stata files name the
categories of the strata, PSU, ``--by``, ``--row`` and ``--col`` columns in
the output.

Output is a JSON list of objects with the keys ``variable``, ``domain``
(``{column: value}`` or null), ``estimate``, ``se``, ``ci_low``, ``ci_high``,
``df``, ``deff``, ``n``; or CSV with the same columns (``domain`` written as
``column=value;column=value``). Empty CSV fields are missing values.

``--stat quantile`` (R's ``svyquantile``, see :mod:`analysis.quantile`)
estimates the quantiles of ``--var`` at the probabilities of
``--quantiles`` (default 0.5), each strictly between 0 and 1, with
Woodruff's interval at ``--level``; each row has ``quantile`` (the
probability) after ``domain`` and no ``deff``. ``--ci-method`` chooses
how the interval of the proportion below the quantile is made: ``wald``
and ``wald-t`` give R's default (t on the design degrees of freedom),
``logit`` and ``beta`` R's ``xlogit`` and ``beta``.

Every command takes ``--subset EXPR``, R's ``subset(design, ...)``: a
pandas query expression (``"province == '01'"``, ``"age >= 60 and
channel != 'qr'"``; names with spaces in backticks) choosing the rows to
analyse, whose estimates keep every PSU and stratum of the design for the
variance (the same as ``--by`` for that domain). A column it compares with
quoted text is read as text, the others with their inferred type; a row
where the expression is missing is left out.

``glm`` (R's ``svyglm``, see :mod:`analysis.glm`) prints one row per
coefficient with the keys ``term``, ``estimate``, ``se``, ``statistic`` (t),
``p_value``, ``df`` (the residual degrees of freedom) and ``ci_low``,
``ci_high`` (t interval at ``--level``). It reads the columns the formula
names, those inside ``C()`` as text; ``--na-codes`` applies to them.

``table`` (R's ``svytable`` and ``svychisq``, see :mod:`analysis.table`)
prints one JSON object: the Rao-Scott test (``statistic``, ``ndf``,
``ddf``, ``p_value``, and ``pearson``, ``design_df``, ``n``) and
``cells``, one object per cell, row by row, with ``row``, ``col``, ``n``,
``total`` (weighted count), ``proportion`` and ``proportion_se`` (of the
whole table), ``row_proportion`` and ``row_proportion_se`` (within its
row). ``--na-codes`` applies to ``--row`` and ``--col``; a category with no
weight (an empty row or column of the table) is refused, naming it.

``--na-codes 0`` (or ``0,9``, ...) names the codes of "not applicable"
answers: in the variables the command analyses (``--var`` and
``--denominator``, the items of ``--dimension``, or the columns of
``--formula``), values equal to one of them are missing values, as if their
fields were empty, so that they are out of every denominator. Weights,
strata, PSU, fpc and ``--by`` columns are read as they are.

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
from typing import TYPE_CHECKING, Any, NoReturn

import pandas as pd

from analysis._read import read_columns
from analysis.design import LonelyPSU, SurveyDesign, expression_columns
from analysis.results import COLUMNS, EstimateTable, as_table

if TYPE_CHECKING:
    from analysis.glm import GlmResult
    from analysis.quantile import QuantileTable
    from analysis.table import TwoWayTable

__all__ = ["build_parser", "main", "render"]

_STATS = ("mean", "total", "proportion", "ratio", "quantile")
# --ci-method for a quantile: R's interval.type of the proportion below it
_QUANTILE_INTERVALS = {"wald": "mean", "wald-t": "mean", "logit": "xlogit", "beta": "beta"}
_FAMILIES = ("gaussian", "binomial")  # analysis.glm.FAMILIES, without importing it
_GLM_COLUMNS = ("term", "estimate", "se", "statistic", "p_value", "df", "ci_low", "ci_high")
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
    "formula": "--formula",
    "family": "--family",
    "row": "--row",
    "subset": "--subset",
    "probs": "--quantiles",
    "col": "--col",
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
        help="CSV, Parquet (with pyarrow), SPSS .sav or Stata .dta file, one row per respondent",
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
    parser.add_argument(
        "--subset",
        metavar="EXPR",
        help="analyse the rows where EXPR is true, keeping the design "
        "(pandas query syntax, e.g. \"province == '01'\")",
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
    est.add_argument(
        "--quantiles",
        metavar="P,P,...",
        help="probabilities of --stat quantile, between 0 and 1 (default 0.5)",
    )
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

    reg = commands.add_parser("glm", help="design-based regression, linear or logistic (svyglm)")
    _design_arguments(reg)
    reg.add_argument(
        "--formula",
        required=True,
        metavar="'Y ~ X1 + C(G)'",
        help="Patsy formula: outcome ~ terms; C(col) for a categorical column",
    )
    reg.add_argument(
        "--family",
        default="gaussian",
        choices=_FAMILIES,
        help="gaussian (linear) or binomial (logistic, as quasibinomial); default gaussian",
    )
    reg.add_argument("--format", default="json", choices=("json", "csv"))
    _table_parser(commands)
    return parser


def _table_parser(commands: Any) -> None:
    """The ``table`` command: a two-way table and the Rao-Scott test (svychisq)."""
    tab = commands.add_parser("table", help="two-way table and Rao-Scott test (svychisq)")
    _design_arguments(tab)
    tab.add_argument("--row", required=True, metavar="COL", help="row variable")
    tab.add_argument("--col", required=True, metavar="COL", help="column variable")


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
    """The columns the command uses: group columns as text, numbers and answers as float.

    The columns of ``--subset`` come too, those it compares with text as text.
    """
    labels = _names(args.strata, args.psu, args.by)
    taken = {*labels, *numbers, *answers, *others}
    text, inferred = _subset_columns(args)
    return read_columns(
        args.data,
        labels=[*labels, *(c for c in text if c not in taken)],
        numbers=[*_names(args.weights, args.fpc), *numbers],
        answers=answers,
        others=[*others, *(c for c in inferred if c not in taken)],
    )


def _subset_columns(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The columns of ``--subset``: those compared with text, and the others."""
    expression = getattr(args, "subset", None)
    if expression is None:
        return [], []
    columns, text = expression_columns(expression)
    return list(text), [c for c in columns if c not in text]


def _design(args: argparse.Namespace, data: pd.DataFrame) -> SurveyDesign:
    """The design of the command's rows; with ``--subset``, of the rows it keeps (R ``subset``).

    A command that read its columns itself gets the columns of ``--subset``
    read here.
    """
    text, inferred = _subset_columns(args)
    missing = [c for c in [*text, *inferred] if c not in data.columns]
    if missing:
        extra = read_columns(
            args.data,
            labels=[c for c in text if c in missing],
            others=[c for c in inferred if c in missing],
        )
        data = pd.concat([data, extra], axis=1)
    design = SurveyDesign.from_frame(
        data,
        weights=args.weights,
        strata=args.strata,
        psu=args.psu,
        fpc=args.fpc,
        nest=args.nest,
        lonely_psu=args.lonely_psu,
    )
    return design if getattr(args, "subset", None) is None else design.subset(args.subset)


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


def run_estimate(args: argparse.Namespace) -> EstimateTable | QuantileTable:
    """Compute the table of the ``estimate`` command."""
    if args.stat == "ratio" and not args.denominator:
        raise UsageError("--denominator: required with --stat ratio")
    if args.stat != "ratio" and args.denominator:
        raise UsageError("--denominator: only used with --stat ratio")
    if args.stat != "quantile" and args.quantiles is not None:
        raise UsageError("--quantiles: only used with --stat quantile")
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
    if args.stat == "quantile":
        return _quantiles(args, design, by)
    if args.stat == "ratio":
        result = ratio(design, args.var, args.denominator, by=by)
    else:
        estimator = {"mean": mean, "total": total, "proportion": proportion}[args.stat]
        result = estimator(design, args.var, by=by)
    return as_table(result)


def _quantiles(args: argparse.Namespace, design: SurveyDesign, by: str | None) -> QuantileTable:
    """The quantiles of ``--var`` at ``--quantiles``, with Woodruff intervals at ``--level``."""
    from analysis.quantile import QuantileTable, quantile

    probs = _numbers(args.quantiles or "0.5", "--quantiles", "0.25,0.5,0.75")
    result = quantile(
        design,
        args.var,
        probs,
        by=by,
        level=args.level,
        interval_type=_QUANTILE_INTERVALS[args.ci_method],
    )
    return result if isinstance(result, QuantileTable) else QuantileTable((result,))


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


def run_glm(args: argparse.Namespace) -> GlmResult:
    """Fit the model of the ``glm`` command (an :class:`analysis.glm.GlmResult`)."""
    from analysis.glm import formula_columns, glm

    columns, categorical = formula_columns(args.formula)
    groups = _names(args.strata, args.psu)
    labels = [*groups, *(c for c in categorical if c not in groups)]
    data = read_columns(
        args.data,
        labels=labels,
        numbers=_names(args.weights, args.fpc),
        others=[c for c in columns if c not in labels],
    )
    _blank_codes(data, columns, _na_codes(args.na_codes))
    design = _design(args, data)
    return glm(design, args.formula, family=args.family)


def run_table(args: argparse.Namespace) -> TwoWayTable:
    """Compute the two-way table of the ``table`` command."""
    from analysis.table import table

    variables = [args.row, args.col]
    data = read_columns(
        args.data,
        labels=_names(args.strata, args.psu, *variables),
        numbers=_names(args.weights, args.fpc),
    )
    _blank_codes(data, variables, _na_codes(args.na_codes))
    design = _design(args, data)
    return table(design, args.row, args.col)


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
    """Records as JSON (a list of objects, one a line) or CSV text with ``columns``.

    One ``json.dumps`` per record keeps the C encoder (``indent`` would use the
    pure-Python one, a second for a table by desk) and the output readable.
    """
    if fmt == "json":
        encode = json.JSONEncoder(ensure_ascii=False).encode
        lines = ",\n".join(map(encode, records))
        return f"[\n{lines}\n]\n" if records else "[]\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([_csv_value(rec[c]) for c in columns])
    return buffer.getvalue()


def _columns(args: argparse.Namespace) -> Sequence[str]:
    """The CSV columns of the ``estimate`` and ``index`` commands."""
    if getattr(args, "stat", None) == "quantile":
        from analysis.quantile import QUANTILE_COLUMNS

        return QUANTILE_COLUMNS
    return COLUMNS


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
        if args.command == "table":
            text = json.dumps(run_table(args).to_dict(), ensure_ascii=False, indent=1) + "\n"
        elif args.command == "glm":
            fit = run_glm(args)
            text = render(fit.to_records(level=args.level), args.format, _GLM_COLUMNS)
        else:
            run = run_estimate if args.command == "estimate" else run_index
            table = run(args)
            records = table.to_records(level=args.level, method=args.ci_method)
            text = render(records, args.format, _columns(args))
    except (UsageError, ValueError) as exc:
        message = _as_option(" ".join(str(exc).split()) or type(exc).__name__)
        sys.stderr.write(f"python -m analysis: error: {message}\n")
        return 2
    sys.stdout.write(text)
    return 0
