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
"""

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
from analysis.results import Estimate, EstimateTable, as_table
from analysis.variance import (
    DomainVariance,
    domain_variances,
    stratified_covariance,
    taylor_covariance,
    taylor_se,
)

__all__ = [
    "CI_METHODS",
    "ConfidenceInterval",
    "DomainVariance",
    "Domains",
    "Estimate",
    "EstimateTable",
    "LonelyPSU",
    "StageInfo",
    "SurveyDesign",
    "as_table",
    "beta_interval",
    "confidence_interval",
    "domain_variances",
    "domains",
    "logit_interval",
    "mean",
    "proportion",
    "ratio",
    "stratified_covariance",
    "taylor_covariance",
    "taylor_se",
    "total",
    "wald_interval",
]
