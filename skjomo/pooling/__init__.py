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
* :func:`read_fit`: readers for statsmodels and scikit-learn models.
"""

from ._constraints import ConstraintTest, pool_constraints
from ._readers import FitSummary, read_fit
from ._rubin import PooledEstimates, pool_estimates, rubin_df
from ._table import format_table
from ._tests import MultiParameterTest, compare_models, pool_chi2, pool_lrt, pool_stacked_lrt, pool_wald

__all__ = [
    "pool_estimates",
    "compare_models",
    "pool_constraints",
    "pool_wald",
    "pool_chi2",
    "pool_lrt",
    "pool_stacked_lrt",
    "read_fit",
    "rubin_df",
    "format_table",
    "PooledEstimates",
    "MultiParameterTest",
    "ConstraintTest",
    "FitSummary",
]
