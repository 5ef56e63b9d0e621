"""Unusable input is refused by the library with a plain ValueError, never a numpy warning.

Each message names the argument and the column; the command line shows it
as it is (``tests/analysis/test_cli.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, mean, ratio, sipas_index, total
from analysis.replicate import ReplicateDesign
from analysis.sipas import IndexSpec


@pytest.fixture(autouse=True)
def no_warnings() -> Iterator[None]:
    """Any warning (numpy's RuntimeWarning above all) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def frame(**columns) -> pd.DataFrame:
    base = {
        "w": [1.0, 2, 1, 2, 1, 2, 1, 2],
        "st": list("AAAABBBB"),
        "desk": ["d1", "d1", "d2", "d2", "d3", "d3", "d4", "d4"],
        "q1": [5.0, 4, 3, 2, 1, 5, 4, 3],
        "q2": [4.0, 4, np.nan, 2, 5, 5, 1, 3],
    }
    return pd.DataFrame({**base, **columns})


def design(data: pd.DataFrame) -> SurveyDesign:
    return SurveyDesign.from_frame(data, weights="w", strata="st", psu="desk")


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([0.0] * 8, "weights: column 'w' is zero in every row"),
        ([True, False] * 4, "weights: column 'w' holds True/False, not numbers"),
        (
            [1e308] * 8,
            r"weights: column 'w' has values too large to compute with \(they sum to inf",
        ),
        ([1e150, 1e150, 1, 1, 1, 1, 1, 1], "weights: column 'w' has values too large"),
    ],
)
def test_design_refuses_unusable_weights(weights, message) -> None:
    with pytest.raises(ValueError, match=f"^{message}"):
        design(frame(w=weights))


def test_weights_in_python_objects_are_checked_too() -> None:
    with pytest.raises(ValueError, match="holds True/False"):
        design(frame(w=pd.Series([True, False, True, True, 1, 1, 1, 1], dtype=object)))


def test_replicate_design_refuses_zero_weights() -> None:
    data = frame(w=[0.0] * 8, r1=[1.0] * 8, r2=[2.0] * 8)
    with pytest.raises(ValueError, match="weights: column 'w' is zero in every row"):
        ReplicateDesign.from_frame(data, weights="w", repweights=["r1", "r2"], type="JK1")


def test_design_refuses_a_frame_without_rows() -> None:
    with pytest.raises(ValueError, match=r"^data: no rows"):
        design(frame().iloc[:0])


@pytest.mark.parametrize("estimator", [mean, total])
def test_estimators_refuse_a_variable_missing_in_every_row(estimator) -> None:
    with pytest.raises(ValueError, match="^y: column 'q2' has no valid value"):
        estimator(design(frame(q2=[np.nan] * 8)), "q2")


def test_domains_need_a_value_of_the_by_columns() -> None:
    data = frame(g=[None] * 8, h=["x", None] * 4, k=[None, "y"] * 4)
    with pytest.raises(ValueError, match="^by: column 'g' has no value in any row"):
        mean(design(data), "q1", by="g")
    with pytest.raises(ValueError, match="^by: no row has a value in every one of the columns"):
        sipas_index(design(data), {"A": ["q1"]}, by=["h", "k"])


def test_ratio_refuses_columns_never_present_together() -> None:
    data = frame(q1=[1.0, np.nan] * 4, q2=[np.nan, 1.0] * 4)
    with pytest.raises(ValueError, match="^ratio: no row has values of both 'q1' and 'q2'"):
        ratio(design(data), "q1", "q2")


@pytest.mark.parametrize("estimator", [mean, total])
def test_estimators_refuse_values_whose_sums_overflow(estimator) -> None:
    with pytest.raises(ValueError, match="^y: column 'q1' has values too large to compute with"):
        estimator(design(frame(q1=[1e308] * 8)), "q1")


def test_index_refuses_an_item_answered_in_no_row() -> None:
    with pytest.raises(ValueError, match="^items: column 'q2' has no valid answer"):
        sipas_index(design(frame(q2=[np.nan] * 8)), {"A": ["q1", "q2"]})


def test_index_refuses_infinite_answers() -> None:
    with pytest.raises(ValueError, match="^items: column 'q1' has infinite values"):
        sipas_index(design(frame(q1=[5.0, np.inf, 3, 2, 1, 5, 4, 3])), {"A": ["q1", "q2"]})


@pytest.mark.parametrize("satisfied", [(np.nan,), (4, np.inf)])
def test_index_spec_refuses_non_finite_satisfied_values(satisfied) -> None:
    with pytest.raises(ValueError, match="^satisfied: answer values must be finite numbers"):
        IndexSpec.build({"A": ["q1"]}, satisfied=satisfied)
