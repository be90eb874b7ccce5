"""Pooling results across multiply imputed data sets.

The analysis side of multiple imputation, following R's mitml
(doc/pooling.rst, "What is computed"):

* :func:`pool_estimates`: Rubin's rules for single parameters (pooled
  estimates, total variance, t, classic Rubin or Barnard-Rubin df, p-value,
  confidence intervals, RIV, FMI) and averaged variance components;
* :func:`compare_models`: multi-parameter tests D1 (pooled Wald), D2 (pooled
  χ²), D3 (Meng-Rubin likelihood ratio) and D4 (stacked likelihood ratio);
* :func:`pool_constraints`: tests of (non)linear constraints by the delta
  method;
* :func:`pool_wald`, :func:`pool_chi2`, :func:`pool_lrt`,
  :func:`pool_stacked_lrt`: the same tests from plain arrays;
* :func:`read_fit`: what pooling reads from one fitted model (statsmodels,
  scikit-learn), as a :class:`FitSummary`.

The result classes :class:`PooledEstimates`, :class:`MultiParameterTest`
and :class:`ConstraintTest` are returned by these functions. Nothing is
pooled silently wrong: inputs that cannot be pooled are errors naming the
imputation, fits that did not converge and penalised fits are warned about,
and estimates without variances are printed without tests (see "What is
refused, and why" in ``doc/pooling.rst``).
"""

from ._constraints import ConstraintTest, pool_constraints
from ._readers import FitSummary, read_fit
from ._rubin import PooledEstimates, pool_estimates
from ._tests import (
    MultiParameterTest,
    compare_models,
    pool_chi2,
    pool_lrt,
    pool_stacked_lrt,
    pool_wald,
)

__all__ = [
    "ConstraintTest",
    "FitSummary",
    "MultiParameterTest",
    "PooledEstimates",
    "compare_models",
    "pool_chi2",
    "pool_constraints",
    "pool_estimates",
    "pool_lrt",
    "pool_stacked_lrt",
    "pool_wald",
    "read_fit",
]
