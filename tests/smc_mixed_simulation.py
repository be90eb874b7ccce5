"""Known-truth simulation of compatible imputation with a linear mixed model.

Scenario 1 of issue 13: a random slope of a partially observed level-1
covariate. 50 clusters of 20 rows;

``y_ij = 1 + x_ij + b0_j + b1_j x_ij + e_ij``,  ``x_ij = c_j + d_ij``,

``c_j ~ N(0, 0.25)``, ``d_ij ~ N(0, 0.75)`` (``x`` has variance 1 and an ICC
of 0.25), ``b0_j ~ N(0, 0.25)``, ``b1_j ~ N(0, 0.5)`` independent,
``e_ij ~ N(0, 1)``: the random intercept is 20% of the outcome's variance
given ``x`` (``0.25 / (0.25 + 1)``, the ICC of ``y`` at ``x = 0``) and the
slope variance is 0.5. ``x`` is deleted with probability
``expit(-0.85 + 0.5 z(y))`` (about 30%, MAR given ``y``).

Each replicate imputes with

* ``smc``: :class:`skjomo.SubstantiveModelImputer` with
  ``"y ~ x + (1 + x | cluster)"`` (the covariate model: the two-level joint
  model with a common covariance, random intercepts);
* ``jm``: :class:`skjomo.MultilevelJointImputer` of ``(y, x)`` with random
  intercepts and a common level-1 covariance (the usual joint model, which
  has one ``y``-``x`` relation for every cluster);

fits ``y ~ x + (1 + x | cluster)`` by REML (statsmodels MixedLM,
``method=["powell", "lbfgs"]``) to every completed data set and pools the
fixed effects by Rubin's rules and the slope variance by its mean over the
imputations; ``full`` is the analysis of the data before deletion. Reported:
bias, its Monte Carlo SE, empirical and mean pooled SE and the coverage of
the 95% intervals of the fixed effects; the mean slope variance.

Run ``python tests/smc_mixed_simulation.py --reps 200`` for the table; the
slow test in tests/test_smc_mixed.py asserts on it.
"""

import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from simulation_table import report, study_parser, term_rows

from skjomo import MultilevelJointImputer, SubstantiveModelImputer

TRUTH = {"Intercept": 1.0, "x": 1.0}
SLOPE_VARIANCE = 0.5
FORMULA = "y ~ x + (1 + x | cluster)"


def random_slope(rng, n_clusters=50, size=20):
    """(incomplete frame, complete frame) of scenario 1."""
    cluster = np.repeat(np.arange(n_clusters), size)
    x = np.sqrt(0.25) * rng.normal(size=n_clusters)[cluster] + np.sqrt(0.75) * rng.normal(
        size=cluster.size
    )
    b0 = np.sqrt(0.25) * rng.normal(size=n_clusters)
    b1 = np.sqrt(SLOPE_VARIANCE) * rng.normal(size=n_clusters)
    y = 1 + x + b0[cluster] + b1[cluster] * x + rng.normal(size=cluster.size)
    full = pd.DataFrame({"y": y, "x": x, "cluster": cluster})
    z = (y - y.mean()) / y.std()
    deleted = rng.random(cluster.size) < 1 / (1 + np.exp(0.85 - 0.5 * z))
    frame = full.copy()
    frame.loc[deleted, "x"] = np.nan
    return frame, full


def analyse(frame):
    """(fixed effects, their covariance, slope variance) of the REML fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("y ~ x", frame, groups="cluster", re_formula="~x").fit(
            reml=True, method=["powell", "lbfgs"]
        )
    names = list(TRUTH)
    return (
        fit.fe_params[names].to_numpy(),
        fit.cov_params().loc[names, names].to_numpy(),
        float(fit.cov_re.iloc[1, 1]),
    )


def rubin(datasets):
    """Pooled fixed effects, SEs, 95% half-widths and mean slope variance."""
    fits = [analyse(d) for d in datasets]
    estimates = np.array([f[0] for f in fits])
    within = np.mean([np.diag(f[1]) for f in fits], axis=0)
    m = len(fits)
    between = estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    df = (m - 1) * (1 + within / ((1 + 1 / m) * between)) ** 2
    half = stats.t.ppf(0.975, df) * np.sqrt(total)
    return estimates.mean(axis=0), np.sqrt(total), half, np.mean([f[2] for f in fits])


def replicate(seed, n_imputations=5, n_burn=500, n_between=50, joint_model=True):
    """Results of one replicate: method -> (estimates, SEs, half-widths, slope variance)."""
    rng = np.random.default_rng(seed)
    frame, full = random_slope(rng)
    run = {
        "n_burn": n_burn,
        "n_between": n_between,
        "n_imputations": n_imputations,
        "random_state": seed,
    }
    beta, cov, slope = analyse(full)
    se = np.sqrt(np.diag(cov))
    out = {"full": (beta, se, 1.959964 * se, slope)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smc = SubstantiveModelImputer(FORMULA, **run).fit(frame)
        out["smc"] = rubin(smc.sample())
        if joint_model:
            jm = MultilevelJointImputer("cluster", **run).fit(frame)
            out["jm"] = rubin(jm.sample())
    out["missing"] = frame.x.isna().mean()
    out["acceptance"] = smc.acceptance_rates_.get("analysis-model covariates", np.nan)
    out["psi"] = float(smc.psi_.iloc[1, 1])
    return out


def study(reps, seed=0, joint_model_every=1, **kwargs):
    """Table per method and term: bias, MCSE, empirical SE, mean SE,
    coverage, and the mean pooled slope variance. The joint model runs on
    every ``joint_model_every``-th replicate only (its shrinkage is large)."""
    return summarize(
        [
            replicate(seed * 100_000 + r, joint_model=r % joint_model_every == 0, **kwargs)
            for r in range(reps)
        ]
    )


def summarize(results):
    """The table of :func:`study` from a list of :func:`replicate` results."""
    truth = np.array(list(TRUTH.values()))
    rows = []
    for method in ("full", "smc", "jm"):
        done = [r[method] for r in results if method in r]
        if not done:
            continue
        est = np.array([d[0] for d in done])
        se = np.array([d[1] for d in done])
        half = np.array([d[2] for d in done])
        slope = np.array([d[3] for d in done])
        covered = np.abs(est - truth) <= half
        n_terms = len(TRUTH)
        rows += term_rows(
            method,
            TRUTH,
            truth,
            est,
            se,
            covered,
            slope_var=np.full(n_terms, slope.mean()),
            slope_var_mcse=np.full(n_terms, slope.std(ddof=1) / np.sqrt(len(done))),
        )
    table = pd.DataFrame(rows)
    table.attrs["missing"] = float(np.mean([r["missing"] for r in results]))
    table.attrs["acceptance"] = float(np.nanmean([r["acceptance"] for r in results]))
    table.attrs["psi"] = float(np.mean([r["psi"] for r in results]))
    return table


def main():
    parser = study_parser(__doc__)
    parser.add_argument("--joint-model-every", type=int, default=4)
    args = parser.parse_args()
    start = time.time()
    table = study(
        args.reps,
        args.seed,
        joint_model_every=args.joint_model_every,
        n_imputations=args.imputations,
    )
    report(
        f"random slope: {args.reps} replicates, fraction of x missing "
        f"{table.attrs['missing']:.3f}, covariate acceptance {table.attrs['acceptance']:.3f}, "
        f"posterior mean of Psi[x, x] {table.attrs['psi']:.3f}",
        table,
        start,
    )


if __name__ == "__main__":
    main()
