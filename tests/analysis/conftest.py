"""Fixtures for the analysis tests: R's api data sets and small designs."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign

REFERENCE = Path(__file__).parent / "reference" / "core"


@cache
def api_data(name: str) -> pd.DataFrame:
    """One of R's api data sets (apisrs, apistrat, apiclus1, apiclus2), as exported by R."""
    return pd.read_csv(REFERENCE / f"{name}.csv")


@pytest.fixture
def api():
    """Loader of R's api data sets by name."""
    return lambda name: api_data(name).copy()


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """A small stratified cluster sample with missing answers and a domain column."""
    rng = np.random.default_rng(20261124)
    n = 120
    stratum = np.repeat(["north", "centre", "south"], 40)
    psu = np.array([f"{s}-{i % 5}" for s, i in zip(stratum, range(n), strict=True)])
    y = rng.normal(3.5, 1.0, n).round(1)
    y[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "w": rng.uniform(5, 50, n).round(2),
            "stratum": stratum,
            "desk": psu,
            "y": y,
            "sat": (rng.random(n) < 0.7).astype(float),
            "group": rng.choice(["a", "b"], n),
        }
    )


@pytest.fixture
def small_design(small_frame: pd.DataFrame) -> SurveyDesign:
    """The stratified cluster design of ``small_frame``."""
    return SurveyDesign.from_frame(small_frame, weights="w", strata="stratum", psu="desk")


def reference_values(folder: Path) -> dict[str, np.ndarray]:
    """The named vectors a folder's ``make_reference.R`` wrote to ``values.csv``."""
    values = pd.read_csv(folder / "values.csv", dtype={"value": float})
    return {name: group["value"].to_numpy() for name, group in values.groupby("name", sort=False)}
