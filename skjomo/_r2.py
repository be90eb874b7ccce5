"""Explained variance of two-level linear mixed models (mitml's ``multilevelR2``).

For a statsmodels ``MixedLM`` fit with fixed effects ``beta`` (intercept
dropped), design ``X`` (intercept column dropped), random design ``Z``
(intercept column dropped, column means ``mu``, sample covariance ``S``),
random-effect covariance with intercept variance ``tau00``, intercept-slope
covariances ``tau10`` and slope covariance ``T11``, and residual variance
``sigma2`` (doc/formula.rst, "Analysing the imputations"):

* ``MVP = v_fixed / v_total`` with ``v_fixed`` the sample variance of
  ``X beta`` and ``v_total = v_fixed + tau00 + 2 mu'tau10 + mu'T11 mu +
  tr(T11 S) + sigma2`` (LaHuis et al., 2014);
* ``RB1 = 1 - sigma2 / sigma2_0`` and ``RB2 = 1 - tau00 / tau00_0``
  (Raudenbush and Bryk), ``SB = 1 - (sigma2 + tau00) / (sigma2_0 +
  tau00_0)`` (Snijders and Bosker), against the random-intercept null model
  ``y ~ 1 + (1 | cluster)`` refitted by the same method (REML or ML).

Over imputations each measure is averaged.
"""

import warnings

import numpy as np
import pandas as pd

MEASURES = ("RB1", "RB2", "SB", "MVP")


def _intercept_column(names, exog):
    constant = [k for k in range(exog.shape[1]) if np.ptp(exog[:, k]) == 0 and exog[0, k] == 1]
    if not constant:
        raise ValueError(
            f"multilevel R2 needs a model with an intercept; the fixed effects are {list(names)}."
        )
    return constant[0]


def _null_fit(result):
    from statsmodels.regression.mixed_linear_model import MixedLM

    model = result.model
    null = MixedLM(model.endog, np.ones((len(model.endog), 1)), groups=model.groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optimiser chatter
        return null.fit(reml=model.reml, method=["powell", "lbfgs"])


def multilevel_r2_one(result, measures=MEASURES):
    """The measures of one fitted ``MixedLM`` (a Series)."""
    if not hasattr(result, "cov_re") or not hasattr(result.model, "exog_re"):
        raise TypeError(
            f"multilevel R2 needs statsmodels MixedLM fits; got {type(result).__name__}."
        )
    unknown = [m for m in measures if m.upper() not in MEASURES]
    if unknown:
        raise ValueError(f"Unknown measures {unknown}; choose from {list(MEASURES)}.")
    model = result.model
    exog = np.asarray(model.exog, dtype=np.float64)
    fe = np.asarray(result.fe_params, dtype=np.float64)
    keep = np.arange(exog.shape[1]) != _intercept_column(model.exog_names, exog)
    v_fixed = np.var(exog[:, keep] @ fe[keep], ddof=1)
    cov_re = np.asarray(result.cov_re, dtype=np.float64)
    tau00, tau10, t11 = cov_re[0, 0], cov_re[1:, 0], cov_re[1:, 1:]
    z = np.asarray(model.exog_re, dtype=np.float64)[:, 1:]
    sigma2 = float(result.scale)
    v_total = v_fixed + tau00 + sigma2
    if z.shape[1]:
        mu = z.mean(axis=0)
        v_total += (
            2 * mu @ tau10 + mu @ t11 @ mu + np.trace(t11 @ np.atleast_2d(np.cov(z, rowvar=False)))
        )
    values = {"MVP": v_fixed / v_total}
    if {m.upper() for m in measures} & {"RB1", "RB2", "SB"}:
        null = _null_fit(result)
        sigma2_0, tau00_0 = float(null.scale), float(np.asarray(null.cov_re)[0, 0])
        values.update(
            RB1=1 - sigma2 / sigma2_0,
            RB2=1 - tau00 / tau00_0,
            SB=1 - (sigma2 + tau00) / (sigma2_0 + tau00_0),
        )
    return pd.Series({m.upper(): values[m.upper()] for m in measures}, dtype=np.float64)


def multilevel_r2(fits, measures=MEASURES):
    """The measures averaged over the fits of the imputations (a Series)."""
    table = pd.DataFrame([multilevel_r2_one(f, measures) for f in fits])
    return table.mean(axis=0)
