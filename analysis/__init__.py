"""Design-based estimation for the SIPAS survey platform.

The library takes arrays or data frames and returns plain result objects; it
imports numpy, scipy and pandas only (never Flask or ``survey``), each
module when it is first used.
Its numbers agree with R's ``survey`` package (see ``tests/analysis``).

Typical use::

    from analysis import SurveyDesign, mean, proportion, table

    design = SurveyDesign.from_frame(df, weights="w", strata="province", psu="desk")
    est = proportion(design, "q1_satisfied")          # an Estimate
    est.estimate, est.se, est.ci(method="logit")
    by_province = mean(design, "age", by="province")  # an EstimateTable
    by_province.to_frame(level=0.95, method="wald-t")
    print(design)                                     # like R's summary(design)

    # A two-way table and the Rao-Scott test of association (R's svychisq)
    crossed = table(design, "province", "q1_satisfied")   # a TwoWayTable
    crossed.statistic, crossed.ndf, crossed.ddf, crossed.p_value

    # The SIPAS index: items -> dimensions -> parts -> overall, SEs by
    # linearising the whole chain, by province
    sipas_index(design, {"S-A": ["S-A1", "S-A2"], "S-B": ["S-B1"]}, by="province")
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.aggregates import (
        group_sums,
        index_from_aggregates,
        mean_from_aggregates,
        ratio_from_aggregates,
        total_from_aggregates,
    )
    from analysis.calibration import (
        CalibratedDesign,
        WeightDiagnostics,
        calibrate,
        post_stratify,
        rake,
        weight_diagnostics,
    )
    from analysis.contrast import (
        Contrast,
        ContrastTable,
        JointEstimate,
        contrast,
        joint_estimate,
        nonlinear_contrast,
    )
    from analysis.design import LonelyPSU, SurveyDesign
    from analysis.estimators import mean, proportion, ratio, total
    from analysis.glm import Coefficient, GlmResult, glm
    from analysis.intervals import (
        CI_METHODS,
        ConfidenceInterval,
        beta_interval,
        confidence_interval,
        logit_interval,
        wald_interval,
    )
    from analysis.moments import TTest, ttest, variance
    from analysis.quantile import QuantileEstimate, QuantileTable, quantile
    from analysis.replicate import (
        ReplicateDesign,
        ReplicateType,
        as_replicate,
        replicate_covariance,
    )
    from analysis.results import Estimate, EstimateTable, as_table
    from analysis.sipas import OVERALL, IndexSpec, sipas_index
    from analysis.table import TwoWayTable, table
    from analysis.variance import taylor_covariance, taylor_se

# Names are imported from their module on first use (PEP 562), so that
# ``python -m analysis`` and ``import analysis.design`` load only what they
# use: scipy, for one, is not imported unless a function needs it.
_EXPORTS: dict[str, str] = {
    "as_replicate": "analysis.replicate",
    "as_table": "analysis.results",
    "beta_interval": "analysis.intervals",
    "calibrate": "analysis.calibration",
    "CalibratedDesign": "analysis.calibration",
    "CI_METHODS": "analysis.intervals",
    "confidence_interval": "analysis.intervals",
    "ConfidenceInterval": "analysis.intervals",
    "Coefficient": "analysis.glm",
    "Contrast": "analysis.contrast",
    "contrast": "analysis.contrast",
    "ContrastTable": "analysis.contrast",
    "Estimate": "analysis.results",
    "EstimateTable": "analysis.results",
    "glm": "analysis.glm",
    "GlmResult": "analysis.glm",
    "group_sums": "analysis.aggregates",
    "index_from_aggregates": "analysis.aggregates",
    "IndexSpec": "analysis.sipas",
    "joint_estimate": "analysis.contrast",
    "JointEstimate": "analysis.contrast",
    "logit_interval": "analysis.intervals",
    "LonelyPSU": "analysis.design",
    "mean": "analysis.estimators",
    "mean_from_aggregates": "analysis.aggregates",
    "nonlinear_contrast": "analysis.contrast",
    "OVERALL": "analysis.sipas",
    "post_stratify": "analysis.calibration",
    "proportion": "analysis.estimators",
    "quantile": "analysis.quantile",
    "QuantileEstimate": "analysis.quantile",
    "QuantileTable": "analysis.quantile",
    "rake": "analysis.calibration",
    "ratio": "analysis.estimators",
    "ratio_from_aggregates": "analysis.aggregates",
    "replicate_covariance": "analysis.replicate",
    "ReplicateDesign": "analysis.replicate",
    "ReplicateType": "analysis.replicate",
    "sipas_index": "analysis.sipas",
    "SurveyDesign": "analysis.design",
    "table": "analysis.table",
    "taylor_covariance": "analysis.variance",
    "taylor_se": "analysis.variance",
    "total": "analysis.estimators",
    "total_from_aggregates": "analysis.aggregates",
    "ttest": "analysis.moments",
    "TTest": "analysis.moments",
    "TwoWayTable": "analysis.table",
    "variance": "analysis.moments",
    "wald_interval": "analysis.intervals",
    "weight_diagnostics": "analysis.calibration",
    "WeightDiagnostics": "analysis.calibration",
}

__all__ = [
    "CI_METHODS",
    "CalibratedDesign",
    "Coefficient",
    "ConfidenceInterval",
    "Contrast",
    "ContrastTable",
    "Estimate",
    "EstimateTable",
    "GlmResult",
    "IndexSpec",
    "JointEstimate",
    "LonelyPSU",
    "OVERALL",
    "QuantileEstimate",
    "QuantileTable",
    "ReplicateDesign",
    "ReplicateType",
    "SurveyDesign",
    "TwoWayTable",
    "TTest",
    "WeightDiagnostics",
    "as_replicate",
    "as_table",
    "beta_interval",
    "calibrate",
    "confidence_interval",
    "contrast",
    "glm",
    "group_sums",
    "index_from_aggregates",
    "joint_estimate",
    "logit_interval",
    "mean",
    "mean_from_aggregates",
    "nonlinear_contrast",
    "post_stratify",
    "proportion",
    "quantile",
    "rake",
    "ratio",
    "ratio_from_aggregates",
    "replicate_covariance",
    "sipas_index",
    "table",
    "taylor_covariance",
    "taylor_se",
    "total",
    "total_from_aggregates",
    "ttest",
    "variance",
    "wald_interval",
    "weight_diagnostics",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package module, whose exports are not shadowed by submodules.

    Importing a submodule binds it on the package under its name; for
    ``analysis.contrast`` that would hide the function ``contrast`` once the
    module is loaded, which the eager imports used to prevent.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
