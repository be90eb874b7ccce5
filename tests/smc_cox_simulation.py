"""Known-truth simulation of compatible imputation with a Cox analysis model.

Data: ``x2`` binary and fully observed, ``x1`` continuous (correlated with
``x2``), ``x3`` binary (depends on ``x1``); exponential event times with
hazard ``0.1 exp(0.5 x1 - 0.5 x2 + 0.5 x1 x2 + 0.5 x3)`` and exponential
censoring (about 30% censored). ``x1`` is deleted (about 30%) at random
given the event indicator and ``x2`` (MAR), ``x3`` (about 15%) given the
event indicator. Imputed with :class:`skjomo.SubstantiveModelImputer`
(``model="cox"``) and with the plain :class:`skjomo.JointModelImputer`
(``x1`` and ``x3`` jointly normal/latent-normal given ``x2``, the event
indicator and the marginal Nelson-Aalen cumulative hazard, the usual
recommendation for a joint model of survival data), analysed by the Cox
model (Breslow partial likelihood) and pooled by Rubin's rules. Reported
per log hazard ratio: bias, its Monte Carlo SE, the empirical and mean
pooled SE and the coverage of the 95% interval; ``full`` is the analysis of
the data before deletion.

Run ``python tests/smc_cox_simulation.py --reps 300`` for the table; the
slow test in tests/test_smc_cox_simulation.py asserts on it.
"""

import time

import numpy as np
import pandas as pd
from scipy import stats
from simulation_table import report, study_parser, term_rows

from skjomo import JointModelImputer, SubstantiveModelImputer

FORMULA = "Surv(time, status) ~ x1 * x2 + x3"
TERMS = ["x1", "x2", "x3", "x1:x2"]
TRUTH = np.array([0.5, -0.5, 0.5, 0.5])
RUN = {"n_burn": 300, "n_between": 30}


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def simulate(rng, n=500):
    """(incomplete frame, complete frame) of one replicate."""
    x2 = (rng.random(n) < 0.5).astype(float)
    x1 = 0.5 * x2 + rng.normal(size=n)
    x3 = (rng.random(n) < _expit(0.5 * x1)).astype(float)
    eta = np.column_stack([x1, x2, x3, x1 * x2]) @ TRUTH
    event_time = rng.exponential(1.0 / (0.1 * np.exp(eta)))
    censor_time = rng.exponential(1.0 / 0.05, size=n)
    time = np.minimum(event_time, censor_time)
    status = (event_time <= censor_time).astype(float)
    full = pd.DataFrame({"time": time, "status": status, "x1": x1, "x2": x2, "x3": x3})
    frame = full.copy()
    frame.loc[rng.random(n) < _expit(-1.9 + 0.8 * status + 0.8 * x2), "x1"] = np.nan
    frame.loc[rng.random(n) < _expit(-2.4 + 0.8 * status), "x3"] = np.nan
    return frame, full


def nelson_aalen(time, status):
    """Marginal Nelson-Aalen cumulative hazard at every row's time (no ties)."""
    order = np.argsort(time, kind="stable")
    at_risk = np.arange(time.shape[0], 0, -1)
    out = np.empty(time.shape[0])
    out[order] = np.cumsum(status[order] / at_risk)
    return out


def cox_fit(time, status, x):
    """Breslow partial-likelihood estimates and inverse information (Newton;
    continuous times, so no ties)."""
    order = np.argsort(-time, kind="stable")  # decreasing: risk sets are prefixes
    x, d = x[order], status[order]
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        e = np.exp(x @ beta)
        r0 = np.cumsum(e)
        r1 = np.cumsum(e[:, None] * x, axis=0)
        r2 = np.cumsum(e[:, None, None] * x[:, :, None] * x[:, None, :], axis=0)
        mean = r1 / r0[:, None]
        score = (d[:, None] * (x - mean)).sum(axis=0)
        info = (
            d[:, None, None] * (r2 / r0[:, None, None] - mean[:, :, None] * mean[:, None, :])
        ).sum(axis=0)
        step = np.linalg.solve(info, score)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta, np.linalg.inv(info)


def _analyse(frame):
    x = np.column_stack([frame.x1, frame.x2, frame.x3, frame.x1 * frame.x2]).astype(float)
    return cox_fit(frame.time.to_numpy(), frame.status.to_numpy(dtype=float), x)


def rubin(datasets):
    """Pooled estimates, SEs and 95% half-widths (Rubin's rules, classic df)."""
    fits = [_analyse(d) for d in datasets]
    estimates = np.array([f[0] for f in fits])
    within = np.mean([np.diag(f[1]) for f in fits], axis=0)
    m = len(fits)
    between = estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    df = (m - 1) * (1 + within / ((1 + 1 / m) * between)) ** 2
    return estimates.mean(axis=0), np.sqrt(total), stats.t.ppf(0.975, df) * np.sqrt(total)


def replicate(seed, n_imputations=10):
    """Pooled results of one replicate for both imputers and the full data."""
    rng = np.random.default_rng(seed)
    frame, full = simulate(rng)
    run = {**RUN, "n_imputations": n_imputations, "random_state": seed}
    smc = SubstantiveModelImputer(FORMULA, model="cox", categorical_cols=["x3"], **run).fit(frame)
    plain = JointModelImputer(
        covariate_cols=["x2", "status", "cumhaz"], categorical_cols=["x3"], **run
    ).fit(frame.assign(cumhaz=nelson_aalen(frame.time.to_numpy(), frame.status.to_numpy())))
    beta, cov = _analyse(full)
    se = np.sqrt(np.diag(cov))
    return {
        "full": (beta, se, stats.norm.ppf(0.975) * se),
        "smc": rubin(smc.sample()),
        "jm": rubin(plain.sample()),
        "censored": 1 - frame.status.mean(),
        "missing_x1": frame.x1.isna().mean(),
        "missing_x3": frame.x3.isna().mean(),
        "acceptance": smc.acceptance_rates_["analysis-model covariates"],
    }


def study(reps, seed=0, **kwargs):
    """Table of bias, MCSE, empirical SE, mean SE and coverage per method and term."""
    results = [replicate(seed * 100_000 + r, **kwargs) for r in range(reps)]
    rows = []
    for method in ("full", "smc", "jm"):
        est = np.array([r[method][0] for r in results])
        se = np.array([r[method][1] for r in results])
        half = np.array([r[method][2] for r in results])
        covered = np.abs(est - TRUTH) <= half
        rows += term_rows(method, TERMS, TRUTH, est, se, covered)
    table = pd.DataFrame(rows)
    for key in ("censored", "missing_x1", "missing_x3", "acceptance"):
        table.attrs[key] = float(np.mean([r[key] for r in results]))
    return table


def main():
    import warnings

    warnings.simplefilter("ignore")  # convergence warnings of single short chains
    args = study_parser(__doc__, reps=300, imputations=None).parse_args()
    start = time.time()
    table = study(args.reps, args.seed)
    report(
        f"cox: {args.reps} replicates, "
        + ", ".join(f"{k} {v:.3f}" for k, v in table.attrs.items()),
        table,
        start,
    )


if __name__ == "__main__":
    main()
