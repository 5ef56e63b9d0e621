"""Design-based estimation for the SIPAS survey platform.

The library takes arrays or data frames and returns plain result objects; it
imports numpy, scipy, statsmodels and pandas only (never Flask or ``survey``).
Its numbers agree with R's ``survey`` package (see ``tests/analysis``).

Typical use::

    from analysis import SurveyDesign, mean, proportion

    design = SurveyDesign.from_frame(df, weights="w", strata="province", psu="desk")
    est = proportion(design, "q1_satisfied")          # an Estimate
    est.estimate, est.se, est.ci(method="logit")
    table = mean(design, "age", by="province")        # an EstimateTable
    table.to_frame(level=0.95, method="wald-t")

    # The SIPAS index: items -> dimensions -> parts -> overall, SEs by
    # linearising the whole chain, by province
    sipas_index(design, {"S-A": ["S-A1", "S-A2"], "S-B": ["S-B1"]}, by="province")
"""

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
from analysis.design import LonelyPSU, StageInfo, SurveyDesign
from analysis.estimators import Domains, domains, mean, proportion, ratio, total
from analysis.intervals import (
    CI_METHODS,
    ConfidenceInterval,
    beta_interval,
    confidence_interval,
    logit_interval,
    wald_interval,
)
from analysis.replicate import ReplicateDesign, ReplicateType, as_replicate, replicate_covariance
from analysis.results import Estimate, EstimateTable, as_table
from analysis.sipas import OVERALL, IndexSpec, sipas_index
from analysis.variance import (
    DomainVariance,
    domain_variances,
    stratified_covariance,
    taylor_covariance,
    taylor_se,
)

__all__ = [
    "CI_METHODS",
    "CalibratedDesign",
    "ConfidenceInterval",
    "Contrast",
    "ContrastTable",
    "DomainVariance",
    "Domains",
    "Estimate",
    "EstimateTable",
    "IndexSpec",
    "JointEstimate",
    "LonelyPSU",
    "OVERALL",
    "ReplicateDesign",
    "ReplicateType",
    "StageInfo",
    "SurveyDesign",
    "WeightDiagnostics",
    "as_replicate",
    "as_table",
    "beta_interval",
    "calibrate",
    "confidence_interval",
    "contrast",
    "domain_variances",
    "domains",
    "group_sums",
    "index_from_aggregates",
    "joint_estimate",
    "logit_interval",
    "mean",
    "mean_from_aggregates",
    "nonlinear_contrast",
    "post_stratify",
    "proportion",
    "rake",
    "ratio",
    "ratio_from_aggregates",
    "replicate_covariance",
    "sipas_index",
    "stratified_covariance",
    "taylor_covariance",
    "taylor_se",
    "total",
    "total_from_aggregates",
    "wald_interval",
    "weight_diagnostics",
]
