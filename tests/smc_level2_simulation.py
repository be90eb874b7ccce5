"""Known-truth simulation: a cross-level interaction with a level-2 covariate.

Scenario 2 of issue 13. 50 clusters of 20 rows;

``y_ij = 1 + x_ij + 0.5 w_j + 0.5 x_ij w_j + b_j + e_ij``,
``x_ij = a_j + d_ij``,

``w_j ~ N(0, 1)`` measured on clusters, ``a_j = 0.5 w_j + N(0, 0.75)`` (the
cluster means of ``x`` depend on ``w``), ``d_ij ~ N(0, 1)``,
``b_j ~ N(0, 0.25)``, ``e_ij ~ N(0, 1)``. ``w`` is deleted for whole
clusters with probability ``expit(-0.9 + 1.0 z(ybar_j))`` (about 30% of
clusters, MAR given the cluster mean of the outcome).

Each replicate imputes with

* ``smc``: :class:`skjomo.SubstantiveModelImputer` with
  ``"y ~ x * w + (1 | cluster)"``: ``w`` is a level-2 outcome of the joint
  model (found by ``level2_cols="auto"``), drawn by Metropolis-Hastings with
  the likelihood of its whole cluster; the fully observed ``x`` is then a
  level-1 outcome of the joint model, whose random intercept ``w`` is
  correlated with;
* ``jm``: :class:`skjomo.MultilevelJointImputer` of ``(y, x)`` at level 1
  (random intercepts, common covariance) and ``w`` at level 2: the plain
  two-level joint model, which has no ``x w`` interaction;

fits ``y ~ x * w + (1 | cluster)`` by REML (statsmodels MixedLM) to every
completed data set and pools by Rubin's rules the fixed effects and the log
variance components (intercept variance ``tau2`` with the delta-method SE
of statsmodels' ``bse_re``; residual variance ``sigma2`` with the SE
``sigma2 sqrt(2 / (N - J - k))`` of its within-cluster estimate); ``full``
is the analysis of the data before deletion. Reported: bias, Monte Carlo
SE, empirical and mean pooled SE and the coverage of the 95% intervals
(back-transformed for the variances, bias on the variance scale).

Run ``python tests/smc_level2_simulation.py --reps 200`` for the table; the
slow test in tests/test_smc_level2.py asserts on it.
"""

import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from simulation_table import report, study_parser, term_rows

from skjomo import MultilevelJointImputer, SubstantiveModelImputer

FIXED = {"Intercept": 1.0, "x": 1.0, "w": 0.5, "x:w": 0.5}
VARIANCES = {"tau2": 0.25, "sigma2": 1.0}
TRUTH = {**FIXED, **VARIANCES}
FORMULA = "y ~ x * w + (1 | cluster)"


def cross_level(rng, n_clusters=50, size=20):
    """(incomplete frame, complete frame) of scenario 2."""
    cluster = np.repeat(np.arange(n_clusters), size)
    w = rng.normal(size=n_clusters)
    a = 0.5 * w + np.sqrt(0.75) * rng.normal(size=n_clusters)
    x = a[cluster] + rng.normal(size=cluster.size)
    b = np.sqrt(VARIANCES["tau2"]) * rng.normal(size=n_clusters)
    y = 1 + x + 0.5 * w[cluster] + 0.5 * x * w[cluster] + b[cluster] + rng.normal(size=cluster.size)
    full = pd.DataFrame({"y": y, "x": x, "w": w[cluster], "cluster": cluster})
    ybar = full.groupby("cluster").y.mean().to_numpy()
    z = (ybar - ybar.mean()) / ybar.std()
    deleted = rng.random(n_clusters) < 1 / (1 + np.exp(0.9 - 1.0 * z))
    frame = full.copy()
    frame.loc[deleted[cluster], "w"] = np.nan
    return frame, full


def analyse(frame):
    """(estimates, SEs) of the fixed effects and log variances of the REML fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("y ~ x * w", frame, groups="cluster").fit(reml=True)
    names = list(FIXED)
    tau2, sigma2 = float(fit.cov_re.iloc[0, 0]), float(fit.scale)
    df = len(frame) - frame.cluster.nunique() - len(names)
    estimates = np.concatenate([fit.fe_params[names].to_numpy(), np.log([tau2, sigma2])])
    ses = np.concatenate(
        [
            np.sqrt(np.diag(fit.cov_params().loc[names, names])),
            [float(fit.bse_re.iloc[0]) / tau2, np.sqrt(2.0 / df)],
        ]
    )
    return estimates, ses


def rubin(datasets):
    """Pooled estimates, SEs and 95% half-widths (log scale for variances)."""
    fits = [analyse(d) for d in datasets]
    estimates = np.array([f[0] for f in fits])
    within = np.mean([f[1] ** 2 for f in fits], axis=0)
    m = len(fits)
    between = estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    df = (m - 1) * (1 + within / ((1 + 1 / m) * np.maximum(between, 1e-300))) ** 2
    half = stats.t.ppf(0.975, df) * np.sqrt(total)
    return estimates.mean(axis=0), np.sqrt(total), half


def replicate(seed, n_imputations=5, n_burn=500, n_between=50, joint_model=True):
    """Results of one replicate: method -> (estimates, SEs, half-widths)."""
    rng = np.random.default_rng(seed)
    frame, full = cross_level(rng)
    run = {
        "n_burn": n_burn,
        "n_between": n_between,
        "n_imputations": n_imputations,
        "random_state": seed,
    }
    estimates, ses = analyse(full)
    out = {"full": (estimates, ses, 1.959964 * ses)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smc = SubstantiveModelImputer(FORMULA, **run).fit(frame)
        out["smc"] = rubin(smc.sample())
        if joint_model:
            jm = MultilevelJointImputer("cluster", level2_cols=["w"], **run).fit(frame)
            out["jm"] = rubin(jm.sample())
    out["missing"] = frame.groupby("cluster").w.first().isna().mean()
    out["acceptance"] = smc.acceptance_rates_.get("analysis-model covariates", np.nan)
    return out


def study(reps, seed=0, **kwargs):
    """The table of :func:`summarize` over ``reps`` replicates."""
    return summarize([replicate(seed * 100_000 + r, **kwargs) for r in range(reps)])


def summarize(results):
    """Per method and parameter: bias (variances on their own scale), MCSE,
    empirical SE, mean pooled SE (log scale for variances) and coverage."""
    truth = np.array(list(TRUTH.values()))
    log_truth = np.concatenate([truth[: len(FIXED)], np.log(truth[len(FIXED) :])])
    n_fixed = len(FIXED)
    rows = []
    for method in ("full", "smc", "jm"):
        done = [r[method] for r in results if method in r]
        if not done:
            continue
        est = np.array([d[0] for d in done])
        se = np.array([d[1] for d in done])
        half = np.array([d[2] for d in done])
        covered = np.abs(est - log_truth) <= half
        natural = est.copy()
        natural[:, n_fixed:] = np.exp(est[:, n_fixed:])
        rows += term_rows(method, TRUTH, truth, natural, se, covered, spread=est)
    table = pd.DataFrame(rows)
    table.attrs["missing"] = float(np.mean([r["missing"] for r in results]))
    table.attrs["acceptance"] = float(np.nanmean([r["acceptance"] for r in results]))
    return table


def main():
    args = study_parser(__doc__).parse_args()
    start = time.time()
    table = study(args.reps, args.seed, n_imputations=args.imputations)
    report(
        f"cross-level interaction: {args.reps} replicates, fraction of clusters missing w "
        f"{table.attrs['missing']:.3f}, covariate acceptance {table.attrs['acceptance']:.3f}",
        table,
        start,
    )


if __name__ == "__main__":
    main()
