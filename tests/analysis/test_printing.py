"""What a user reads: printed designs, estimates and tables, their HTML, and the public API.

``print(design)`` summarises the design as R's ``summary(design)`` does;
estimates and tables print as compact tables instead of dataclass reprs full
of arrays; notebooks get HTML. ``mean`` of several variables is R's
``svymean(~a + b, na.rm=TRUE)`` (values from ``reference/table``).
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import (
    EstimateTable,
    ReplicateDesign,
    SurveyDesign,
    as_replicate,
    contrast,
    glm,
    joint_estimate,
    mean,
    post_stratify,
    proportion,
    quantile,
    ratio,
    table,
    total,
    ttest,
    variance,
)
from tests.analysis.conftest import api_data, reference_values

REF = Path(__file__).parent / "reference" / "table"
SIPAS = Path(__file__).parent / "reference" / "sipas" / "sipas.csv"


@cache
def sipas() -> pd.DataFrame:
    return pd.read_csv(SIPAS, dtype={"province": str, "desk": str, "day": str})


def two_stage() -> SurveyDesign:
    return SurveyDesign.from_frame(
        sipas(),
        weights="weight",
        strata="province",
        psu=["desk", "day"],
        fpc=["desks_total", "days_total"],
    )


def numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)


# ------------------------------------------------------------------- design
def test_print_design_summarises_strata_psus_weights_fpc_and_stages() -> None:
    frame = sipas()
    text = str(two_stage())
    lines = text.splitlines()
    assert lines[0] == "Stratified 2-stage cluster sampling design, without replacement (fpc)"
    assert "strata 'province'; PSU 'desk'; SSU 'day'; fpc 'desks_total', 'days_total'" in text
    n_psu = frame["desk"].nunique()
    n_ssu = frame.groupby(["desk", "day"]).ngroups
    assert f"6 strata, {n_psu} PSUs, {n_ssu} SSUs; design df {n_psu - 6}" in text
    w = frame["weight"]
    assert f"Weights: min {w.min():.6g}, median {w.median():.6g}, max {w.max():.6g}" in text
    assert "Finite population correction at stage 1, 2" in text
    # one line per stratum: its rows, PSUs sampled and in the population
    per_stratum = frame.groupby("province").agg(
        rows=("desk", "size"), psus=("desk", "nunique"), pop=("desks_total", "first")
    )
    for province, row in per_stratum.iterrows():
        line = next(x for x in lines if x.startswith(f"{province} "))
        assert numbers(line)[:3] == [str(row.rows), str(row.psus), str(row["pop"])], line
    assert "array(" not in text and "StageInfo" not in text


def test_print_design_without_strata_or_fpc() -> None:
    frame = sipas()
    text = str(SurveyDesign.from_frame(frame, weights="weight", psu="desk"))
    assert text.splitlines()[0] == "1-stage cluster sampling design, with replacement (no fpc)"
    assert f"no strata, {frame['desk'].nunique()} PSUs" in text
    assert "PSUs per stratum" not in text and "fpc" not in text.splitlines()[1]


def test_print_a_calibrated_design_says_so() -> None:
    frame = pd.read_csv(REF / "apiclus1.csv")
    design = SurveyDesign.from_frame(frame, weights="pw", psu="dnum", fpc="fpc")
    calibrated = post_stratify(design, "stype", {"E": 4421, "H": 755, "M": 1018})
    text = str(calibrated)
    assert "Calibrated: post-stratification" in text
    assert "PSUs: 15 sampled of 757" in text


def test_repr_of_a_design_is_one_line() -> None:
    assert repr(two_stage()) == "<SurveyDesign: 1500 rows, 6 strata, 33 PSUs, 2 stages, fpc>"


def test_design_summary_frame_and_many_strata() -> None:
    summary = two_stage().summary()
    assert list(summary.columns) == [
        "stratum",
        "rows",
        "psus",
        "psus_with_rows",
        "population_psus",
        "sampling_fraction",
    ]
    assert summary["rows"].sum() == 1500
    counts = sipas().groupby("desk")["province"].first().value_counts().sort_index()
    assert summary.set_index("stratum")["psus"].to_dict() == counts.to_dict()
    many = SurveyDesign.from_frame(sipas(), weights="weight", strata="desk")
    text = str(many)
    assert text.endswith(f"... and {sipas()['desk'].nunique() - 20} more strata")


def test_print_a_subset_shows_the_psus_left_without_rows() -> None:
    design = SurveyDesign.from_frame(
        sipas(), weights="weight", strata="province", psu="desk", fpc="desks_total"
    )
    part = design.subset("desk_no <= 2")
    text = str(part)
    assert "stratum  rows  PSUs  PSUs with rows  population PSUs" in text
    line = next(x for x in text.splitlines() if x.startswith("HN "))
    hn = sipas()[sipas()["province"] == "HN"]
    rows = int((hn["desk_no"] <= 2).sum())
    assert numbers(line)[:4] == [str(rows), str(hn["desk"].nunique()), "2", "27"]
    assert "PSUs with rows" not in str(design)


def test_design_html_lists_the_strata_escaped() -> None:
    frame = sipas().assign(province=sipas()["province"].replace("HN", "<HN>"))
    design = SurveyDesign.from_frame(frame, weights="weight", strata="province", psu="desk")
    page = design._repr_html_()
    assert page.count("<tr>") == 1 + 6  # header and one row per stratum
    assert "&lt;HN&gt;" in page and "<HN>" not in page
    assert "Weights: min" in page


# ---------------------------------------------------------------- estimates
@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    return reference_values(REF)


@pytest.fixture(scope="module")
def means_design() -> SurveyDesign:
    frame = pd.read_csv(REF / "apistrat_means.csv")
    return SurveyDesign.from_frame(frame, weights="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def strat() -> SurveyDesign:
    frame = pd.read_csv(REF / "apistrat.csv")
    return SurveyDesign.from_frame(frame, weights="pw", strata="stype", fpc="fpc")


def test_print_estimate_is_a_one_row_table(strat) -> None:
    est = proportion(strat, (pd.read_csv(REF / "apistrat.csv")["awards"] == "Yes"), name="won")
    text = str(est)
    header, row = text.splitlines()[1:]
    assert header.split() == ["variable", "estimate", "SE", "ci_low", "ci_high", "df", "deff", "n"]
    ci = est.ci()
    assert row.split() == [
        "won",
        f"{est.estimate:.6g}",
        f"{est.se:.6g}",
        f"{ci.low:.6g}",
        f"{ci.high:.6g}",
        "197",
        f"{est.deff:.3g}",
        "200",
    ]
    assert "Estimate(" not in text


def test_print_table_has_a_row_per_domain(means_design) -> None:
    result = mean(means_design, "api00", by="stype")
    text = str(result)
    assert repr(result) == text
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["stype", "variable", "estimate"]
    assert [line.split()[0] for line in lines[2:]] == ["E", "H", "M"]
    for line, e in zip(lines[2:], result, strict=True):
        assert line.split()[2:4] == [f"{e.estimate:.6g}", f"{e.se:.6g}"]
    assert "_Linearization" not in text and "array(" not in text


def test_a_long_table_prints_its_first_and_last_rows() -> None:
    design = SurveyDesign.from_frame(sipas(), weights="weight", strata="province", psu="desk")
    result = mean(design, "age", by="day")
    lines = str(result).splitlines()
    n = len(result)
    assert n > 40
    assert f"... {n - 30} more rows ..." in lines
    assert len(lines) == 2 + 30 + 1
    assert lines[-1].split()[0] == result[n - 1].domain["day"]


def test_table_html_has_one_row_per_estimate(strat) -> None:
    page = proportion(strat, "awards", by="stype")._repr_html_()
    assert page.startswith("<table><caption>proportion")
    assert page.count("<tr>") == 1 + 6
    assert "awards=Yes" in page


# -------------------------------------------------------------- two-way table
def test_print_two_way_table_shows_counts_shares_and_the_test(strat) -> None:
    result = table(strat, "stype", "awards")
    text = str(result)
    assert text.startswith("Table of stype (rows) by awards (columns): 200 rows with both values")
    for title in ("Weighted counts", "Proportions of the table (SE)", "within each stype"):
        assert title in text
    share = result.proportion[0, 1]
    assert f"{share:.4f} ({result.proportion_se[0, 1]:.4f})" in text
    assert text.splitlines()[-1].startswith(f"Rao-Scott F = {result.statistic:.5g}, ndf = ")
    assert f"p-value = {result.p_value:.4g}" in text
    assert repr(result) == text


def test_two_way_table_html(strat) -> None:
    page = table(strat, "stype", "awards")._repr_html_()
    assert page.count("<table>") == 3
    assert "Rao-Scott F = " in page
    # header cells: the column headers of the three tables, and each row's label
    headers = (4 + 3 + 4) + (4 + 4 + 4)  # shares with a total, within rows, counts
    assert page.count("<th>") == headers
    assert "style=" not in page  # nothing a page's content security policy would refuse


# ------------------------------------------- models, quantiles, t test, variance
# The numbers R prints for R's apistrat (docs/r-crosswalk.md):
#   summary(svyglm(api00 ~ ell + meals, dstrat)),
#   svyquantile(~api00, dstrat, c(0.25, 0.5, 0.75)), svyttest(api00 ~ comp.imp, dstrat),
#   svyvar(~api00, dstrat).
@pytest.fixture(scope="module")
def dstrat() -> SurveyDesign:
    return SurveyDesign.from_frame(api_data("apistrat"), weights="pw", strata="stype", fpc="fpc")


def cells(text: str, first: str) -> list[str]:
    """The cells of the printed row that starts with ``first``."""
    return next(line for line in text.splitlines() if line.split()[:1] == [first]).split()


def agrees_with_r(printed: str, r_value: float) -> bool:
    """A number printed to 6 significant digits is R's, printed to 4 decimals."""
    digits = math.floor(math.log10(abs(r_value)))
    return abs(float(printed) - r_value) <= 0.5e-4 + 0.5 * 10.0 ** (digits - 5)


def test_print_glm_is_r_summary_coefficient_table(dstrat) -> None:
    fit = glm(dstrat, "api00 ~ ell + meals")
    text = str(fit)
    lines = text.splitlines()
    assert lines[0] == (
        "Design-based linear regression (R's svyglm, family gaussian): api00 ~ ell + meals"
    )
    assert lines[1].split() == ["Estimate", "Std.", "Error", "t", "value", "Pr(>|t|)"]
    # R:            Estimate Std. Error t value Pr(>|t|)
    #   (Intercept) 823.8579     8.7595  94.053  < 2e-16
    #   ell          -0.5057     0.3879  -1.304    0.194
    #   meals        -3.1106     0.2758 -11.279  < 2e-16
    r_printed = {
        "Intercept": (823.8579, 8.7595, 94.053, "<2e-16"),
        "ell": (-0.5057, 0.3879, -1.304, "0.194"),
        "meals": (-3.1106, 0.2758, -11.279, "<2e-16"),
    }
    for term, (estimate, se, t, p) in r_printed.items():
        row = cells(text, term)
        assert agrees_with_r(row[1], estimate) and agrees_with_r(row[2], se), row
        assert float(row[3]) == pytest.approx(t, rel=1e-3), row
        assert row[4] == p
    assert lines[-1].startswith("Residual df 195; 200 rows used")
    assert repr(fit) == text
    assert "array(" not in text and "Coefficient(" not in text


def test_print_logistic_glm_names_its_family_and_categories(dstrat) -> None:
    fit = glm(dstrat, "yes ~ ell + C(stype)", family="binomial")
    text = str(fit)
    assert "logistic regression (R's svyglm, family quasibinomial): yes ~ ell + C(stype)" in text
    for c in fit:
        assert cells(text, c.term)[1:3] == [f"{c.estimate:.6g}", f"{c.se:.6g}"]
    assert [line.split()[0] for line in text.splitlines()[2:-1]] == list(fit.terms)


@pytest.mark.parametrize(
    ("formula", "terms", "groups"),
    [
        (
            "api00 ~ C(stype, Treatment('M'))",
            ("C(stype, Treatment('M'))[T.E]", "C(stype, Treatment('M'))[T.H]"),
            ("stype", "M", "E"),
        ),
        ("api00 ~ C(yes)", ("C(yes)[T.1]",), ("yes", 0, 1)),
        ("api00 ~ C(snum > 3000)", ("C(snum > 3000)[T.True]",), ("big", False, True)),
    ],
)
def test_glm_prints_category_terms_as_patsy_names_them(dstrat, formula, terms, groups) -> None:
    """A reference level, a numeric column and an expression inside ``C()``: the first
    term is one category against the reference, the difference of their means."""
    fit = glm(dstrat, formula)
    assert fit.terms == ("Intercept", *terms)
    term = terms[0]
    row = next(line for line in str(fit).splitlines() if line.startswith(term))
    assert row[len(term) :].split()[:2] == [f"{fit[term].estimate:.6g}", f"{fit[term].se:.6g}"]
    column, reference, level = groups
    frame = dstrat.data.assign(big=dstrat.data["snum"] > 3000)
    means = mean(SurveyDesign.from_frame(frame, weights="pw", strata="stype"), "api00", by=column)
    difference = means.find(**{column: level}).estimate - means.find(**{column: reference}).estimate
    assert fit[term].estimate == pytest.approx(difference, rel=1e-10)


def test_glm_html_has_a_row_per_term(dstrat) -> None:
    fit = glm(dstrat, "api00 ~ ell + meals + C(stype)")
    page = fit._repr_html_()
    assert page.startswith("<table><caption>Design-based linear regression")
    assert page.count("<tr>") == 1 + len(fit)
    assert "<th>C(stype)[T.H]</th>" in page and "Pr(&gt;|t|)" in page
    assert "Residual df 193" in page
    assert "style=" not in page


def test_print_quantiles_shows_estimates_intervals_and_ses(dstrat) -> None:
    result = quantile(dstrat, "api00", [0.25, 0.5, 0.75])
    text = str(result)
    lines = text.splitlines()
    assert lines[0].startswith("quantiles (95% Woodruff interval")
    assert lines[1].split() == [
        "variable", "quantile", "estimate", "SE", "ci_low", "ci_high", "df", "n"
    ]  # fmt: skip
    # R: 565 (535, 597; SE 15.71945), 668 (642, 694; 13.18406), 756 (726, 778; 13.18406)
    assert [line.split() for line in lines[2:]] == [
        ["api00", "0.25", "565", "15.7195", "535", "597", "197", "200"],
        ["api00", "0.5", "668", "13.1841", "642", "694", "197", "200"],
        ["api00", "0.75", "756", "13.1841", "726", "778", "197", "200"],
    ]
    assert repr(result) == text
    one = quantile(dstrat, "api00")
    assert str(one).splitlines()[2].split()[:3] == ["api00", "0.5", "668"]
    assert "QuantileEstimate(" not in str(one)


def test_quantiles_by_domain_print_and_html(dstrat) -> None:
    result = quantile(dstrat, "api00", [0.5, 0.9], by="stype", level=0.9)
    text = str(result)
    assert text.startswith("quantiles (90% Woodruff interval")
    assert [line.split()[:2] for line in text.splitlines()[2:]] == [
        [stype, "api00"] for stype in ("E", "E", "H", "H", "M", "M")
    ]
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + 6 and "style=" not in page
    assert "<th>stype</th>" in page


def test_print_ttest_reads_as_r_svyttest(dstrat) -> None:
    result = ttest(dstrat, "api00", "comp.imp")
    text = repr(result)
    assert text.splitlines()[0] == "Design-based t test: api00 by comp.imp"
    # R: t = 2.0842, df = 196, p-value = 0.03843; 2.204664 79.775196; 40.98993
    assert "t = 2.0842, df = 196, p-value = 0.03843" in text
    assert "95% CI: 2.20466 to 79.7752" in text
    assert "difference in mean (Yes - No): 40.9899" in text
    assert f"mean in No: {result.means[0]:.6g}, in Yes: {result.means[1]:.6g}; 200 rows" in text
    assert "TTest(" not in text


def test_print_variance_has_no_design_effect_column(dstrat) -> None:
    text = str(variance(dstrat, "api00"))
    # R: svyvar(~api00, dstrat): 15191 (SE 1255.7)
    assert text.startswith("variance (95% interval")
    header, row = text.splitlines()[1:]
    assert header.split() == ["variable", "estimate", "SE", "ci_low", "ci_high", "df", "n"]
    assert row.split()[:3] == ["api00", "15190.6", "1255.74"]


# ------------------------------------------------ replicate and calibrated designs
def test_replicate_design_prints_a_summary_not_its_weights(dstrat) -> None:
    design = as_replicate(dstrat, "JKn")
    assert repr(design) == "<ReplicateDesign: 200 rows, 200 JKn replicates>"
    text = str(design)
    lines = text.splitlines()
    assert lines[0] == "Stratified cluster jackknife (JKn) with 200 replicates"  # R's print
    assert (
        lines[1] == "200 rows; weights 'pw'; strata 'stype'; replicates made from the design (JKn)"
    )
    assert f"design df {design.df}" in lines[2]
    w = api_data("apistrat")["pw"]
    assert f"Weights: min {w.min():.6g}, median {w.median():.6g}, max {w.max():.6g}" in text
    assert "array(" not in text and "array(" not in design._repr_html_()


def test_replicate_design_from_columns_names_them() -> None:
    frame = api_data("apistrat")
    rng = np.random.default_rng(7)
    frame = frame.assign(
        **{f"rep{i}": frame.pw * rng.uniform(0.5, 1.5, len(frame)) for i in range(1, 9)}
    )
    design = ReplicateDesign.from_frame(
        frame, weights="pw", repweights="rep[0-9]", type="bootstrap", mse=True
    )
    assert repr(design) == "<ReplicateDesign: 200 rows, 8 bootstrap replicates, mse>"
    text = str(design)
    assert text.startswith("Survey bootstrap with 8 replicates and MSE variances")
    assert "replicate weights 'rep1', 'rep2', ..., 'rep8'" in text
    reps = frame[[f"rep{i}" for i in range(1, 9)]].to_numpy()
    assert f"Replicate weights: min {reps.min():.6g}, max {reps.max():.6g}" in text
    assert f"scale {1 / 7:.6g}" in text  # the bootstrap's 1 / (R - 1)


def test_calibrated_design_repr_is_one_line_and_print_lists_strata(dstrat) -> None:
    calibrated = post_stratify(dstrat, "sch.wide", {"No": 1072, "Yes": 5122})
    assert repr(calibrated) == (
        "<CalibratedDesign: 200 rows, 3 strata, 200 PSUs, 1 stage, fpc; post-stratification>"
    )
    text = str(calibrated)
    assert "Calibrated: post-stratification" in text
    counts = api_data("apistrat").groupby("stype").agg(rows=("pw", "size"), pop=("fpc", "first"))
    for stype, row in counts.iterrows():
        assert numbers(" ".join(cells(text, stype)))[:3] == [
            str(row.rows),
            str(row.rows),
            str(row["pop"]),
        ]


def every_result(design: SurveyDesign) -> dict[str, object]:
    joint = joint_estimate(design, "mean", ["api00", "api99"], by="stype")
    return {
        "design": design,
        "calibrated": post_stratify(design, "stype", {"E": 4421, "H": 755, "M": 1018}),
        "replicate": as_replicate(design, "JKn"),
        "estimate": mean(design, "api00"),
        "table": mean(design, "api00", by="stype"),
        "quantile": quantile(design, "api00"),
        "quantiles": quantile(design, "api00", [0.25, 0.75], by="stype"),
        "glm": glm(design, "api00 ~ ell + C(stype)"),
        "ttest": ttest(design, "api00", "comp.imp"),
        "variance": variance(design, "api00"),
        "two-way": table(design, "stype", "comp.imp"),
        "joint": joint,
        "contrasts": contrast(joint, [[1, 0, -1, 0, 0, 0], [0, 0, 1, 0, -1, 0]]),
    }


def test_no_repr_dumps_arrays(dstrat) -> None:
    for name, result in every_result(dstrat).items():
        text = repr(result)
        assert "array(" not in text and "array(" not in str(result), name
        assert len(text) < 3000, name
        if name in ("design", "calibrated", "replicate", "joint"):
            assert "\n" not in text and text.startswith("<"), name


# ------------------------------------------------------- several variables
def test_mean_of_several_variables_is_svymean_of_their_sum(means_design, ref) -> None:
    result = mean(means_design, ["api00", "acs.k3"])
    assert isinstance(result, EstimateTable)
    assert [e.variable for e in result] == ["api00", "acs.k3"]
    np.testing.assert_allclose([e.estimate for e in result], ref["means_estimate"], rtol=1e-10)
    np.testing.assert_allclose([e.se for e in result], ref["means_se"], rtol=1e-8)
    np.testing.assert_allclose([e.deff for e in result], ref["means_deff"], rtol=1e-8)
    np.testing.assert_allclose(result.vcov().ravel(), ref["means_vcov"], rtol=1e-8)
    # complete cases: the rows with both values (acs.k3 is missing for high schools)
    frame = means_design.data
    assert result[0].n == int(frame[["api00", "acs.k3"]].notna().all(axis=1).sum())


def test_mean_of_several_variables_by_domain(means_design, ref) -> None:
    result = mean(means_design, ["api00", "acs.k3"], by="comp.imp")
    assert [(e.domain["comp.imp"], e.variable) for e in result] == [
        ("No", "api00"),
        ("No", "acs.k3"),
        ("Yes", "api00"),
        ("Yes", "acs.k3"),
    ]
    np.testing.assert_allclose([e.estimate for e in result], ref["means_by_estimate"], rtol=1e-10)
    np.testing.assert_allclose([e.se for e in result], ref["means_by_se"], rtol=1e-8)
    np.testing.assert_allclose([e.deff for e in result], ref["means_by_deff"], rtol=1e-8)


def test_mean_of_several_agrees_with_joint_estimate(means_design) -> None:
    several = mean(means_design, ["api00", "acs.k3"])
    joint = joint_estimate(means_design, "mean", ["api00", "acs.k3"])
    np.testing.assert_allclose([e.estimate for e in several], joint.estimate, rtol=1e-12)
    np.testing.assert_allclose(several.vcov(), joint.covariance, rtol=1e-10)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda d: total(d, ["api00", "acs.k3"]),
            "y: expected one column, got 2 ('api00', 'acs.k3'); estimate several together with "
            "mean(design, [...]) or joint_estimate(design, statistic, [...])",
        ),
        (
            lambda d: ratio(d, ["api00"], "acs.k3"),
            "numerator: expected one column, got 1 ('api00')",
        ),
        (
            lambda d: mean(d, np.ones(2)),
            "y: expected 200 values (one per row of the design) or a column name, got 2 values",
        ),
        (lambda d: mean(d, ["api00", "nope"]), "y: column 'nope' is missing"),
        (lambda d: mean(d, ["api00", "stype"]), "y: column 'stype' is not numeric"),
        (
            lambda d: mean(d, ["api00", "acs.k3"], name="x"),
            "name: only for one variable; several are named by their columns",
        ),
    ],
)
def test_messages_name_the_issue(means_design, call, message) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        call(means_design)


def test_no_complete_case_is_refused(means_design) -> None:
    frame = means_design.data.assign(a=np.where(means_design.data["acs.k3"].isna(), 1.0, np.nan))
    design = SurveyDesign.from_frame(frame, weights="pw", strata="stype")
    with pytest.raises(ValueError, match="^y: no row has a value of every one of the columns"):
        mean(design, ["acs.k3", "a"])


# --------------------------------------------------------------- public API
INTERNAL = (
    "DomainVariance",
    "domain_variances",
    "stratified_covariance",
    "StageInfo",
    "Domains",
    "domains",
)


def test_public_api_is_what_users_call() -> None:
    assert {"SurveyDesign", "mean", "proportion", "table", "TwoWayTable"} <= set(analysis.__all__)
    assert not set(INTERNAL) & set(analysis.__all__)
    for name in INTERNAL:
        with pytest.raises(AttributeError):
            getattr(analysis, name)
    for name in analysis.__all__:
        assert getattr(analysis, name) is not None
