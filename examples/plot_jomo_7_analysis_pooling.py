"""
jomo article, part 7: analysis, pooling and Monte Carlo error
=============================================================

Multiple imputation ends with the analysis: fit the model of interest to
every completed data set and combine the ``m`` results with Rubin's rules.
The pooled estimate is the mean of the ``m`` estimates; its variance is the
mean within-imputation variance ``W`` plus ``(1 + 1/m)`` times the
between-imputation variance ``B`` of the estimates (:doc:`/pooling`).

The article pools two analyses of JSPmiss: the single-level regression of
part 1 (with mitools' ``MIcombine``) and the random-intercept model of part
4 (with mitml's ``testEstimates``). This page fits both to skjomo's
imputations, puts the article's tables next to ours, and then shows what
the last column of each table, the Monte Carlo error, means.

The documentation build uses short chains and few repetitions (see part 1).
"""

# %%
# Single-level analysis
# ---------------------
# Imputation as in part 1, then ``english ~ ravens + sex`` by ordinary least
# squares on each of the 5 data sets. :meth:`skjomo.ImputationList.fit`
# fits a statsmodels formula to every data set (mitml's ``with``) and
# ``pool()`` applies Rubin's rules.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from skjomo import JointModelImputer, MultilevelJointImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ConvergenceWarning

QUICK = os.environ.get("SKJOMO_EXAMPLES_QUICK") == "1"
if QUICK:  # the documentation build's short chains make Rhat noisy
    warnings.simplefilter("ignore", ConvergenceWarning)
N_BURN, N_BETWEEN = (500, 100) if QUICK else (1000, 1000)
N_REPEATS = 8 if QUICK else 50
pd.set_option("display.width", 110)

data = load_jspmiss()
single = JointModelImputer(
    outcome_cols=["english", "ravens"],
    covariate_cols=["sex"],
    n_burn=N_BURN,
    n_between=N_BETWEEN,
    n_imputations=5,
    random_state=1569,
).fit(data)
single_fits = single.sample().fit("english ~ ravens + sex")
single_pooled = single_fits.pool()
print(single_pooled)


# %%
# The Monte Carlo error of a pooled estimate is its standard deviation over
# repetitions of the whole imputation with other seeds. From one run it is
# estimated by ``sqrt(B / m)``: the standard error of a mean of ``m`` draws
# whose variance is ``B``. For a published table we can recover ``B`` from
# the reported standard error and the fraction of missing information,
# ``FMI ~ (1 + 1/m) B / T`` with ``T`` the squared standard error, so the
# article's own Monte Carlo error is about ``SE sqrt(FMI / (m + 1))``.
def monte_carlo_error(fits):
    """sqrt(B / m) for each coefficient of a list of fitted models."""
    estimates = np.array([np.asarray(fit.params) for fit in fits])
    return estimates.std(axis=0, ddof=1) / np.sqrt(len(fits))


article_single = pd.DataFrame(
    {
        "Estimate": [-6.549183, 1.767782, 7.037727],
        "Std.Error": [3.0013631, 0.1124461, 1.3021658],
        "FMI": [0.35, 0.36, 0.31],
    },
    index=["Intercept", "ravens", "sex"],
)
article_single["MC error"] = article_single["Std.Error"] * np.sqrt(article_single["FMI"] / 6)
ours_single = single_pooled.to_frame()[["Estimate", "Std.Error", "FMI"]].set_axis(
    article_single.index
)
ours_single["MC error"] = monte_carlo_error(single_fits)
print(
    pd.concat({"jomo article (m = 5)": article_single, "skjomo (m = 5)": ours_single}, axis=1)
    .round(3)
    .to_string()
)

# %%
# With five imputations and 30 to 35% missing information, the Monte Carlo
# error is about a quarter of a standard error: the intercept of the
# article and ours could differ by a standard error without either being
# wrong. The fractions of missing information are themselves estimated from
# ``B`` with 4 degrees of freedom and vary a lot between runs.
#
# Two-level analysis
# ------------------
# Imputation as in part 4, then the random-intercept model ``english ~
# ravens + sex + fluent + (1 | school)`` fitted by REML with statsmodels'
# ``MixedLM`` (the article uses lme4). ``extra_params=True`` also averages
# the variance components and the intraclass correlation over the data sets,
# as mitml does (they are not pooled by Rubin's rules). statsmodels' default
# optimiser can stop short of the maximum on some data sets; Powell then
# L-BFGS converges on all (:ref:`pooling-converged-mixed`).
multilevel = MultilevelJointImputer(
    cluster_col="school",
    outcome_cols=["english", "ravens", "fluent"],
    covariate_cols=["sex"],
    n_burn=2 * N_BURN,
    n_between=N_BETWEEN,
    n_imputations=5,
    random_state=1569,
).fit(data)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # optimiser chatter of MixedLM
    multilevel_fits = multilevel.sample().fit(
        "english ~ ravens + sex + C(fluent)",
        model=smf.mixedlm,
        groups="school",
        fit_kwargs={"reml": True, "method": ["powell", "lbfgs"]},
    )
multilevel_pooled = multilevel_fits.pool(extra_params=True)
print(multilevel_pooled)

# %%
# mitml's table reports the ratio of increase in variance ``RIV = (1 + 1/m)
# B / W``, from which ``B`` and the Monte Carlo error of the article's
# estimates follow exactly: ``B = RIV T / ((1 + RIV)(1 + 1/m))``.
article_multi = pd.DataFrame(
    {
        "Estimate": [-16.133, 1.623, 6.837, 5.001, 14.345],
        "Std.Error": [3.737, 0.120, 1.145, 4.241, 3.139],
        "RIV": [0.204, 0.755, 0.202, 0.260, 0.364],
        "FMI": [0.181, 0.476, 0.179, 0.223, 0.292],
    },
    index=["Intercept", "ravens", "sex", "fluent 1", "fluent 2"],
)
between = (
    article_multi["RIV"]
    * article_multi["Std.Error"] ** 2
    / ((1 + article_multi["RIV"]) * (1 + 1 / 5))
)
article_multi["MC error"] = np.sqrt(between / 5)
# statsmodels' names of the same coefficients, in the article's order
names = {
    "Intercept": "Intercept",
    "ravens": "ravens",
    "sex": "sex",
    "C(fluent)[T.1]": "fluent 1",
    "C(fluent)[T.2]": "fluent 2",
}
ours_multi = (
    multilevel_pooled.to_frame()
    .loc[list(names), ["Estimate", "Std.Error", "RIV", "FMI"]]
    .rename(index=names)
)
estimates = pd.DataFrame([fit.fe_params for fit in multilevel_fits])[list(names)]
ours_multi["MC error"] = (estimates.std(ddof=1) / np.sqrt(len(estimates))).to_numpy()
print(
    pd.concat({"jomo article (m = 5)": article_multi, "skjomo (m = 5)": ours_multi}, axis=1)
    .round(3)
    .to_string()
)

# %%
# The estimates agree within one or two Monte Carlo errors. The
# ``RIV`` and ``FMI`` columns are estimated from ``B`` with ``m - 1 = 4``
# degrees of freedom and differ more between the two runs than the
# estimates do; with the documentation build's short chains (``n_between``
# of 100 instead of 1,000) they are also a little less stable.
#
# Variance components and ICC, averaged over the imputations:
article_extra = pd.Series(
    {"Intercept~~Intercept|school": 32.231, "Residual~~Residual": 291.538, "ICC|school": 0.099}
)
print(
    pd.concat({"jomo article": article_extra, "skjomo": multilevel_pooled.extra}, axis=1).round(3)
)

# %%
# What the Monte Carlo error means
# --------------------------------
# Repeat the single-level analysis with other seeds: each repetition
# imputes anew and pools. The spread of the pooled coefficient of ``ravens``
# over repetitions is the Monte Carlo error; ``sqrt(B / m)`` from a single
# run estimates it. More imputations shrink it as ``1 / sqrt(m)``; the
# standard error does not change (it estimates the uncertainty about the
# coefficient, which is a property of the data).
rows = []
for m in (5, 20):
    for seed in range(N_REPEATS):
        imputer = JointModelImputer(
            outcome_cols=["english", "ravens"],
            covariate_cols=["sex"],
            n_burn=N_BURN,
            n_between=N_BETWEEN,
            n_imputations=m,
            random_state=seed,
        ).fit(data)
        fits = imputer.sample().fit("english ~ ravens + sex")
        pooled = fits.pool().to_frame().loc["ravens"]
        rows.append(
            {
                "m": m,
                "seed": seed,
                "estimate": pooled["Estimate"],
                "std error": pooled["Std.Error"],
                "FMI": pooled["FMI"],
                "sqrt(B/m)": monte_carlo_error(fits)[1],
            }
        )
repeats = pd.DataFrame(rows)
print(
    repeats.groupby("m")
    .agg(
        spread_over_seeds=("estimate", "std"),
        mean_sqrt_B_over_m=("sqrt(B/m)", "mean"),
        mean_std_error=("std error", "mean"),
        mean_FMI=("FMI", "mean"),
        sd_FMI=("FMI", "std"),
    )
    .round(4)
    .to_string()
)

figure, axis = plt.subplots(figsize=(6, 3))
for position, (_, group) in enumerate(repeats.groupby("m")):
    axis.scatter(group["estimate"], np.full(len(group), position), alpha=0.7)
axis.axvline(article_single.loc["ravens", "Estimate"], color="black", lw=1, label="jomo article")
axis.set_yticks([0, 1], ["m = 5", "m = 20"])
axis.set_ylim(-0.5, 1.5)
axis.set_xlabel("pooled coefficient of ravens (one point per seed)")
axis.legend(loc="upper right")
figure.tight_layout()

# %%
# The fraction of missing information of one run with ``m = 5`` scatters
# widely around its mean (``sd_FMI``); averaged over runs, or with more
# imputations, it settles near the article's 36% for ``ravens``. The high
# FMIs of our single run above are Monte Carlo error of this kind.
#
# How many imputations?
# ---------------------
# The Monte Carlo error of a pooled estimate is about ``SE sqrt(FMI / m)``.
# Choose ``m`` so that it is small against the standard error for the
# quantity with the most missing information, and small enough that the
# conclusions (intervals, p-values near a threshold) would not change with
# another seed. Five imputations, the article's choice and the classical
# advice, give a Monte Carlo error of a quarter of a standard error at 35%
# missing information; 20 halve it, 100 divide it by 4.5. The chains are
# cheap; the analyses usually cost more than the imputation. Correlated
# imputations (too small an ``n_between``) make ``B``, and with it the
# standard error, too small, and the Monte Carlo error larger than
# ``sqrt(B / m)`` says: choose ``n_between`` from the autocorrelation
# (:doc:`/guidance/burn_in`).
