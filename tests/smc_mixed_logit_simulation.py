"""Known-truth simulation of compatible imputation with a mixed logistic model.

Scenario 3 of issue 13: a random-intercept logistic model with a partially
observed level-1 covariate. 50 clusters of 20 rows;

``logit P(y_ij = 1) = -0.5 + x_ij + 0.5 w_ij + b_j``,  ``b_j ~ N(0, 1)``,

``w_ij ~ N(0, 1)``, ``x_ij = 0.3 w_ij + c_j + d_ij`` with ``c_j ~ N(0,
0.25)``, ``d_ij ~ N(0, 0.75)`` (``x`` clustered, ICC about 0.23, and
correlated with ``w``). ``x`` is deleted with probability
``expit(-1.2 + y_ij - 0.5 w_ij)`` (about 30%, missing at random given the
outcome and the fully observed ``w``).

Each replicate imputes with

* ``smc``: :class:`skjomo.SubstantiveModelImputer` with
  ``"y ~ x + w + (1 | cluster)"``, ``model="logit"`` (the covariate model:
  the two-level joint model of ``x`` given ``w``, random intercepts, a
  common covariance);
* ``jm``: :class:`skjomo.MultilevelJointImputer` of ``(y, x, w)`` with random
  intercepts and a common level-1 covariance, ``y`` binary (a latent normal,
  probit-like);

fits ``y ~ x + w + (1 | cluster)`` by maximum likelihood
(:func:`mixed_logit_fit.fit_mixed_logit`: the Laplace approximation, as
``glmer``'s default ``nAGQ = 1``) to every completed data set and pools

* the fixed effects by Rubin's rules (t intervals with Rubin's 1987
  degrees of freedom);
* the random-intercept variance ``tau^2``: its point estimate is the mean
  of ``tau^2`` over the imputations (as mitml pools variance components);
  its 95% interval is Rubin's rules on ``log tau^2`` (Wald standard error
  from the observed information) transformed back, the usual interval of a
  variance by Wald's method on the log scale;

``full`` is the analysis of the data before deletion (Wald intervals, the
variance's on the log scale). Reported: bias, its Monte Carlo SE, empirical
and mean pooled SE (for ``tau^2``: of ``log tau^2``) and the coverage of the
95% intervals.

Run ``python tests/smc_mixed_logit_simulation.py --reps 200`` for the
table; the slow test in tests/test_smc_mixed_logit.py asserts on it.
"""

import time
import warnings

import numpy as np
import pandas as pd
from mixed_logit_fit import fit_frame
from scipy import stats
from simulation_table import report, study_parser, term_rows

from skjomo import MultilevelJointImputer, SubstantiveModelImputer

TRUTH = {"Intercept": -0.5, "x": 1.0, "w": 0.5}
TAU2 = 1.0
FORMULA = "y ~ x + w + (1 | cluster)"
QUADRATURE_NODES = 1  # Laplace, glmer's default


def random_intercept_logit(rng, n_clusters=50, size=20):
    """(incomplete frame, complete frame) of scenario 3."""
    cluster = np.repeat(np.arange(n_clusters), size)
    n = cluster.size
    w = rng.normal(size=n)
    x = 0.3 * w + np.sqrt(0.25) * rng.normal(size=n_clusters)[cluster]
    x += np.sqrt(0.75) * rng.normal(size=n)
    b = np.sqrt(TAU2) * rng.normal(size=n_clusters)
    eta = TRUTH["Intercept"] + TRUTH["x"] * x + TRUTH["w"] * w + b[cluster]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    full = pd.DataFrame({"y": y, "x": x, "w": w, "cluster": cluster})
    deleted = rng.random(n) < 1 / (1 + np.exp(-(-1.2 + y - 0.5 * w)))
    frame = full.copy()
    frame.loc[deleted, "x"] = np.nan
    return frame, full


def analyse(frame):
    """(fixed effects, their covariance, tau^2, SE of log tau^2) of the ML fit."""
    fit = fit_frame(frame, "y", ["x", "w"], "cluster", n_nodes=QUADRATURE_NODES)
    return fit.beta, fit.cov, fit.tau2, fit.log_tau2_se


def rubin_interval(estimates, variances):
    """Rubin's rules for one or more scalar estimands (columns): (pooled
    estimate, total SE, 95% half-width)."""
    estimates, within = np.atleast_2d(estimates), np.atleast_2d(variances).mean(axis=0)
    m = estimates.shape[0]
    between = estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    df = (m - 1) * (1 + within / ((1 + 1 / m) * between)) ** 2
    return estimates.mean(axis=0), np.sqrt(total), stats.t.ppf(0.975, df) * np.sqrt(total)


def pool(datasets):
    """Pooled (estimates, SEs, 95% intervals) of the fixed effects and ``tau^2``."""
    fits = [analyse(d) for d in datasets]
    beta, se, half = rubin_interval(
        np.array([f[0] for f in fits]), np.array([np.diag(f[1]) for f in fits])
    )
    tau2 = np.array([f[2] for f in fits])
    log_tau2, log_se, log_half = rubin_interval(
        np.log(tau2)[:, None], np.array([[f[3] ** 2] for f in fits])
    )
    return _result(beta, se, half, tau2.mean(), log_tau2[0], log_se[0], log_half[0])


def _result(beta, se, half, tau2, log_tau2, log_se, log_half):
    """Estimates, SEs and intervals of the fixed effects and ``tau^2`` (SE of
    ``log tau^2``; interval on the log scale transformed back)."""
    interval = np.column_stack([beta - half, beta + half])
    tau2_interval = np.exp([log_tau2 - log_half, log_tau2 + log_half])
    return {
        "estimate": np.append(beta, tau2),
        "se": np.append(se, log_se),
        "interval": np.vstack([interval, tau2_interval]),
    }


def replicate(seed, n_imputations=5, n_burn=500, n_between=50, methods=("smc", "jm")):
    """Results of one replicate: method -> (estimates, SEs, intervals)."""
    rng = np.random.default_rng(seed)
    frame, full = random_intercept_logit(rng)
    run = {
        "n_burn": n_burn,
        "n_between": n_between,
        "n_imputations": n_imputations,
        "random_state": seed,
    }
    beta, cov, tau2, log_se = analyse(full)
    se = np.sqrt(np.diag(cov))
    z = stats.norm.ppf(0.975)
    out = {"full": _result(beta, se, z * se, tau2, np.log(tau2), log_se, z * log_se)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "smc" in methods:
            smc = SubstantiveModelImputer(FORMULA, model="logit", **run).fit(frame)
            out["smc"] = pool(smc.sample())
            out["acceptance"] = smc.acceptance_rates_
        if "jm" in methods:
            jm = MultilevelJointImputer("cluster", categorical_cols=["y"], **run).fit(frame)
            out["jm"] = pool(jm.sample())
    out["missing"] = frame.x.isna().mean()
    return out


def study(reps, seed=0, **kwargs):
    """Table per method and estimand: bias, MCSE, empirical SE, mean SE,
    coverage (see :func:`summarize`)."""
    return summarize([replicate(seed * 100_000 + r, **kwargs) for r in range(reps)])


def summarize(results):
    """The table of :func:`study` from a list of :func:`replicate` results.
    For ``tau2`` the empirical and mean SEs are those of ``log tau^2``."""
    names = [*TRUTH, "tau2"]
    truth = np.array([*TRUTH.values(), TAU2])
    rows = []
    for method in ("full", "smc", "jm"):
        done = [r[method] for r in results if method in r]
        if not done:
            continue
        est = np.array([d["estimate"] for d in done])
        se = np.array([d["se"] for d in done])
        interval = np.array([d["interval"] for d in done])
        covered = (interval[:, :, 0] <= truth) & (truth <= interval[:, :, 1])
        spread = est.copy()
        spread[:, -1] = np.log(est[:, -1])
        rows += term_rows(method, names, truth, est, se, covered, spread=spread)
    table = pd.DataFrame(rows)
    table.attrs["missing"] = float(np.mean([r["missing"] for r in results]))
    rates = pd.DataFrame([r["acceptance"] for r in results if "acceptance" in r])
    table.attrs["acceptance"] = rates.mean().to_dict()
    return table


def main():
    parser = study_parser(__doc__)
    parser.add_argument("--between", type=int, default=50, help="iterations between imputations")
    parser.add_argument("--methods", nargs="+", default=["smc", "jm"], choices=["smc", "jm"])
    parser.add_argument("--save", help="pickle the per-replicate results here")
    args = parser.parse_args()
    start = time.time()
    results = [
        replicate(
            args.seed * 100_000 + r,
            n_imputations=args.imputations,
            n_between=args.between,
            methods=args.methods,
        )
        for r in range(args.reps)
    ]
    if args.save:
        pd.to_pickle(results, args.save)
    table = summarize(results)
    rates = ", ".join(f"{k} {v:.3f}" for k, v in table.attrs["acceptance"].items())
    report(
        f"mixed logistic: {args.reps} replicates, fraction of x missing "
        f"{table.attrs['missing']:.3f}, acceptance rates: {rates}",
        table,
        start,
    )


if __name__ == "__main__":
    main()
