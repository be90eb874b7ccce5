"""
jomo article, part 1: single-level continuous data
==================================================

The first tutorial of the jomo article (Quartagno, Grund and Carpenter, *The
R Journal* 11(2), 2019) imputes the Junior School Project data (JSPmiss)
while ignoring the schools, with two continuous outcomes and one fully
observed covariate. This page does the same with
:class:`~skjomo.JointModelImputer` and puts the article's printed posterior
means next to ours.

The analysis of interest is the linear regression of ``english`` on
``ravens`` and ``sex``. Both ``english`` and ``ravens`` are partially
observed, so both are outcomes of the imputation model; ``sex`` is complete
and enters as a covariate::

    english_i = b0e + b1e sex_i + e_ei
    ravens_i  = b0r + b1r sex_i + e_ri,      (e_ei, e_ri) ~ N(0, Omega)

Fully observed variables can also be outcomes instead of covariates. For
single-level data the choice hardly matters; for clustered data it does: as
a covariate, a variable has one regression slope, the same within and
between clusters, while as an outcome with a random intercept its
association with the other outcomes can differ within and between
clusters. The analysis
outcome ``english`` is in the imputation model, as it must be
(:doc:`/guidance/outcome_in_model`).

.. note::

   The documentation build runs every chapter with short chains (the
   environment variable ``SKJOMO_EXAMPLES_QUICK=1``, set by ``doc/conf.py``).
   Run the script yourself (``python examples/plot_jomo_1_single_level.py``)
   for the article's settings: 1,000 burn-in iterations and 5 imputations
   1,000 iterations apart.
"""

# %%
# The data
# --------
# JSPmiss ships with skjomo (:func:`skjomo.datasets.load_jspmiss`). Unlike
# R, there is no need for a column of ones (an intercept is always part of
# the model) or for separate ``Y`` and ``X`` frames: the roles of the
# columns are parameters of the imputer.
import os
import warnings

import pandas as pd

from skjomo import JointModelImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ConvergenceWarning

QUICK = os.environ.get("SKJOMO_EXAMPLES_QUICK") == "1"
if QUICK:  # the documentation build's short chains make Rhat noisy
    warnings.simplefilter("ignore", ConvergenceWarning)
N_BURN, N_BETWEEN = (500, 50) if QUICK else (1000, 1000)

data = load_jspmiss()
print(data.describe(include="all").T[["count", "unique", "mean", "min", "max"]])
print(data.isna().sum())

# %%
# Imputation
# ----------
# Columns without a role pass through untouched when they are listed in
# ``exclude_cols``; here we name the outcomes explicitly instead, which
# leaves every other column out of the model and returns it as it was.
imputer = JointModelImputer(
    outcome_cols=["english", "ravens"],
    covariate_cols=["sex"],
    n_burn=N_BURN,
    n_between=N_BETWEEN,
    n_imputations=5,
    random_state=1569,
)
imputer.fit(data)

# %%
# The posterior means, as jomo prints them at the end of a run, are fitted
# attributes: ``beta_`` (one column per outcome, one row per predictor) and
# ``omega_`` (the residual covariance).
print(imputer.beta_.round(3))
print(imputer.omega_.round(3))

# %%
# Next to the article
# -------------------
# The article's run (``set.seed(1569)``; jomo's random numbers are not ours,
# so the same seed does not give the same chain) printed these posterior
# means. Both are averages over a few thousand draws of a chain, so they
# differ by Monte Carlo error: up to a tenth for the coefficients and a
# few units for the variance of ``english`` (whose posterior standard
# deviation is about 20).
article_beta = pd.DataFrame(
    {"english": [38.15030, 6.408079], "ravens": [25.32372, -0.556898]},
    index=["(Intercept)", "sex"],
)
article_omega = pd.DataFrame(
    [[458.39885, 64.92863], [64.92863, 36.41841]],
    index=["english", "ravens"],
    columns=["english", "ravens"],
)
print(
    pd.concat(
        {"jomo article": article_beta.stack(), "skjomo": imputer.beta_.stack()}, axis=1
    ).round(3)
)
print(
    pd.concat(
        {"jomo article": article_omega.stack(), "skjomo": imputer.omega_.stack()}, axis=1
    ).round(2)
)

# %%
# The imputed data sets
# ---------------------
# jomo returns one long data frame with an ``Imputation`` column (0 for the
# original data). ``sample()`` returns an :class:`~skjomo.ImputationList`, a
# list of completed DataFrames that keeps the original; its
# ``complete("long")`` gives jomo's layout.
imputations = imputer.sample()
long = imputations.complete("long")
print(long.shape)  # 6 stacked copies of the 1,119 rows
print(long.loc[long["imputation"] == 0, ["imputation", "english", "ravens", "sex"]].head())
print(long.loc[long["imputation"] == 5, ["imputation", "english", "ravens", "sex"]].head())

# %%
# Observed cells come back bit for bit, and the input frame is not modified;
# ``imputed_mask`` marks the cells that were filled in.
mask = imputations.imputed_mask
print(mask[["english", "ravens"]].sum())

# %%
# Analysing the imputed data
# --------------------------
# Fit the analysis model to every completed data set and pool with Rubin's
# rules (the article uses mitools' ``MIcombine``). The pooled table is
# compared with the article's in
# :ref:`sphx_glr_auto_examples_plot_jomo_7_analysis_pooling.py`, which also
# explains how far two runs of the same analysis can differ.
pooled = imputations.fit("english ~ ravens + sex").pool()
print(pooled)
