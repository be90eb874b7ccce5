"""Known-truth simulation of compatible imputation with an ordinal mixed model.

40 clusters of 25 rows; a cumulative logit model with a random intercept,

``P(y_ij <= c) = expit(alpha_c - x_ij - 0.5 v_ij - b_j)``,
``alpha = (-1, 0.5, 2)``, ``b_j ~ N(0, 0.8)``,

with ``x_ij = c_j + d_ij`` (``c_j ~ N(0, 0.25)``, ``d_ij ~ N(0, 1)``) and a
fully observed binary ``v`` (probability 0.5). ``x`` is deleted with
probability ``expit(-1.3 + 0.4 (y - 1.5))`` (about 23%, missing at random
given the outcome, so the complete cases are biased) and ``y`` in 5% of the
rows (completely at random).

Each replicate analyses ``y ~ x + v + (1 | g)`` by the Laplace fit of R's
``ordinal::clmm`` (``clmm_random_intercept`` in tests/jomo_compare.py) of

* ``full``: the data before deletion;
* ``cc``: the complete cases;
* ``smc``: M imputations of :class:`skjomo.SubstantiveModelImputer`
  (``model="ordinal"``, the same formula), pooled by Rubin's rules.

Reported: bias, its Monte Carlo SE, empirical and mean SE and the coverage
of the 95% intervals of the coefficients and cut-points, and the mean
random-intercept variance. Run ``python tests/smc_ordinal_mixed_simulation.py
--reps 200`` for the table; the slow test in tests/test_smc_ordinal_mixed.py
asserts on it.
"""

import time
import warnings

import numpy as np
import pandas as pd
from jomo_compare import clmm_random_intercept
from scipy import stats
from simulation_table import report, study_parser, term_rows

from skjomo import SubstantiveModelImputer

CUTS = np.array([-1.0, 0.5, 2.0])
TRUTH = {"x": 1.0, "v": 0.5, "1/2": -1.0, "2/3": 0.5, "3/4": 2.0}
VARIANCE = 0.8
FORMULA = "y ~ x + v + (1 | g)"


def ordinal_mixed(rng, n_clusters=40, size=25):
    """(incomplete frame, complete frame)."""
    g = np.repeat(np.arange(n_clusters), size)
    x = 0.5 * rng.normal(size=n_clusters)[g] + rng.normal(size=g.size)
    v = (rng.random(g.size) < 0.5).astype(float)
    b = np.sqrt(VARIANCE) * rng.normal(size=n_clusters)[g]
    y = np.searchsorted(CUTS, TRUTH["x"] * x + TRUTH["v"] * v + b + rng.logistic(size=g.size))
    full = pd.DataFrame(
        {"y": pd.Categorical(y + 1, categories=[1, 2, 3, 4], ordered=True), "x": x, "v": v, "g": g}
    )
    frame = full.copy()
    frame.loc[rng.random(g.size) < 1 / (1 + np.exp(1.3 - 0.4 * (y - 1.5))), "x"] = np.nan
    frame.loc[rng.random(g.size) < 0.05, "y"] = np.nan
    return frame, full


def analyse(frame, warm=None):
    """(estimates in TRUTH order, their covariance, intercept variance)."""
    frame = frame.dropna()
    params, cov, tau2, _ = clmm_random_intercept(
        frame["y"].cat.codes.to_numpy(),
        frame[["x", "v"]].to_numpy(float),
        frame["g"].to_numpy(),
        warm=warm,
    )
    order = [3, 4, 0, 1, 2]  # clmm_random_intercept: cut-points first
    return params[order], cov[np.ix_(order, order)], tau2


def rubin(datasets):
    """Pooled estimates, SEs, 95% half-widths and mean intercept variance."""
    warm = {}
    fits = [analyse(d, warm) for d in datasets]
    estimates = np.array([f[0] for f in fits])
    within = np.mean([np.diag(f[1]) for f in fits], axis=0)
    m = len(fits)
    between = estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    df = (m - 1) * (1 + within / ((1 + 1 / m) * between)) ** 2
    half = stats.t.ppf(0.975, df) * np.sqrt(total)
    return estimates.mean(axis=0), np.sqrt(total), half, np.mean([f[2] for f in fits])


def _single(fit):
    estimate, cov, tau2 = fit
    se = np.sqrt(np.diag(cov))
    return estimate, se, 1.959964 * se, tau2


def replicate(seed, n_imputations=5, n_burn=300, n_between=30):
    """Results of one replicate: method -> (estimates, SEs, half-widths, variance)."""
    rng = np.random.default_rng(seed)
    frame, full = ordinal_mixed(rng)
    out = {"full": _single(analyse(full)), "cc": _single(analyse(frame))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smc = SubstantiveModelImputer(
            FORMULA,
            model="ordinal",
            n_burn=n_burn,
            n_between=n_between,
            n_imputations=n_imputations,
            random_state=seed,
        ).fit(frame)
        out["smc"] = rubin(smc.sample())
    out["missing"] = frame.x.isna().mean()
    out["acceptance"] = smc.acceptance_rates_
    out["psi"] = float(smc.psi_.iloc[0, 0])
    return out


def study(reps, seed=0, **kwargs):
    """Table per method and term: bias, MCSE, empirical SE, mean SE,
    coverage, and the mean random-intercept variance."""
    return summarize([replicate(seed * 100_000 + r, **kwargs) for r in range(reps)])


def summarize(results):
    """The table of :func:`study` from a list of :func:`replicate` results."""
    truth = np.array(list(TRUTH.values()))
    rows = []
    for method in ("full", "cc", "smc"):
        done = [r[method] for r in results]
        est = np.array([d[0] for d in done])
        se = np.array([d[1] for d in done])
        half = np.array([d[2] for d in done])
        variance = np.array([d[3] for d in done])
        covered = np.abs(est - truth) <= half
        rows += term_rows(
            method, TRUTH, truth, est, se, covered, variance=np.full(len(TRUTH), variance.mean())
        )
    table = pd.DataFrame(rows)
    table.attrs["missing"] = float(np.mean([r["missing"] for r in results]))
    table.attrs["acceptance"] = {
        step: float(np.mean([r["acceptance"][step] for r in results]))
        for step in results[0]["acceptance"]
    }
    table.attrs["psi"] = float(np.mean([r["psi"] for r in results]))
    return table


def main():
    args = study_parser(__doc__).parse_args()
    start = time.time()
    table = study(args.reps, args.seed, n_imputations=args.imputations)
    report(
        f"ordinal mixed: {args.reps} replicates, fraction of x missing "
        f"{table.attrs['missing']:.3f}, acceptance {table.attrs['acceptance']}, "
        f"posterior mean of Psi {table.attrs['psi']:.3f}",
        table,
        start,
    )


if __name__ == "__main__":
    main()
