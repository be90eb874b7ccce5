"""Known-truth simulations of substantive-model-compatible imputation.

Each scenario draws data from a known analysis model, deletes a covariate
at random given the outcome and another covariate (MAR), imputes with
:class:`skjomo.SubstantiveModelImputer` and with the plain
:class:`skjomo.JointModelImputer` (outcome and covariates jointly normal,
the passive terms computed afterwards), fits the analysis model to every
completed data set and pools by Rubin's rules. Reported per coefficient:
bias of the pooled estimate, its Monte Carlo SE, the empirical SE, the mean
pooled SE and the coverage of the 95% interval; ``full`` is the analysis of
the data before deletion, the reference for the Monte Carlo noise
(``vs_full``: mean difference from it, with its Monte Carlo SE).

Run ``python tests/smc_simulation.py --reps 300`` for the table; the slow
tests in tests/test_smc_simulation.py assert on it.
"""

import time

import numpy as np
import pandas as pd
from scipy import stats
from simulation_table import report, study_parser, term_rows

from skjomo import JointModelImputer, SubstantiveModelImputer
from skjomo._gibbs._smc_ordinal import ordinal_fit


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _mar(rng, y, x2, intercept):
    """Missingness indicator with logit ``intercept + 0.5 z(y) + 0.5 x2``."""
    z = (y - y.mean()) / y.std()
    return rng.random(y.shape[0]) < _expit(intercept + 0.5 * z + 0.5 * x2)


def interaction(rng, n=400):
    """Linear model with an interaction; x1 ~35% MAR on (y, x2)."""
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + np.sqrt(0.75) * rng.normal(size=n)
    y = 1 + x1 + x2 + x1 * x2 + rng.normal(size=n)
    full = pd.DataFrame({"y": y, "x1": x1.copy(), "x2": x2})
    x1[_mar(rng, y, x2, -0.65)] = np.nan
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2}), full


def quadratic(rng, n=400):
    """Linear model with a quadratic term; x ~35% MAR on (y, z)."""
    z = rng.normal(size=n)
    x = 0.5 * z + np.sqrt(0.75) * rng.normal(size=n)
    y = 1 + x + 0.5 * x**2 + 0.5 * z + rng.normal(size=n)
    full = pd.DataFrame({"y": y, "x": x.copy(), "z": z})
    x[_mar(rng, y, z, -0.65)] = np.nan
    return pd.DataFrame({"y": y, "x": x, "z": z}), full


def logistic(rng, n=1000):
    """Logistic model with an interaction; x1 ~35% MAR on (y, x2)."""
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + np.sqrt(0.75) * rng.normal(size=n)
    y = (rng.random(n) < _expit(-0.5 + 0.5 * x1 + 0.5 * x2 + 0.5 * x1 * x2)).astype(float)
    full = pd.DataFrame({"y": y, "x1": x1.copy(), "x2": x2})
    x1[_mar(rng, y, x2, -0.65)] = np.nan
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2}), full


ORDINAL_CUTS = (-1.0, 0.25, 1.5)


def ordinal(rng, n=600):
    """Proportional-odds model with an interaction (4 categories coded 0-3);
    x1 ~30% MAR on (y, x2)."""
    x2 = rng.normal(size=n)
    x1 = 0.5 * x2 + np.sqrt(0.75) * rng.normal(size=n)
    latent = 0.75 * x1 + 0.5 * x2 + 0.5 * x1 * x2 + rng.logistic(size=n)
    y = np.digitize(latent, ORDINAL_CUTS).astype(float)
    full = pd.DataFrame({"y": y, "x1": x1.copy(), "x2": x2})
    x1[_mar(rng, y, x2, -0.95)] = np.nan
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2}), full


SCENARIOS = {
    "interaction": {
        "data": interaction,
        "formula": "y ~ x1 * x2",
        "model": "lm",
        "truth": [1.0, 1.0, 1.0, 1.0],
        "observed": ["x2"],
        "run": {"n_burn": 1000, "n_between": 100},
    },
    "quadratic": {
        "data": quadratic,
        "formula": "y ~ x + I(x**2) + z",
        "model": "lm",
        "truth": [1.0, 1.0, 0.5, 0.5],
        "observed": ["z"],
        "run": {"n_burn": 1500, "n_between": 100},
    },
    "logistic": {
        "data": logistic,
        "formula": "y ~ x1 * x2",
        "model": "logit",
        "truth": [-0.5, 0.5, 0.5, 0.5],
        "observed": ["x2"],
        "run": {"n_burn": 300, "n_between": 30},
    },
    "ordinal": {
        "data": ordinal,
        "formula": "y ~ x1 * x2",
        "model": "ordinal",
        "truth": [0.75, 0.5, 0.5, *ORDINAL_CUTS],
        "observed": ["x2"],
        "run": {"n_burn": 300, "n_between": 30},
    },
}


def _design(frame, scenario):
    if scenario == "ordinal":  # the cut-points take the intercept's place
        return np.column_stack([frame.x1, frame.x2, frame.x1 * frame.x2])
    if scenario == "quadratic":
        return np.column_stack([np.ones(len(frame)), frame.x, frame.x**2, frame.z])
    return np.column_stack([np.ones(len(frame)), frame.x1, frame.x2, frame.x1 * frame.x2])


def _fit(x, y, model):
    """Estimates, covariance and complete-data df of the analysis model."""
    if model == "lm":
        xtx_inv = np.linalg.inv(x.T @ x)
        beta = xtx_inv @ x.T @ y
        resid = y - x @ beta
        df = x.shape[0] - x.shape[1]
        return beta, xtx_inv * (resid @ resid / df)
    if model == "ordinal":  # coefficients and cut-points (equal to OrderedModel's,
        return ordinal_fit(x, y, 3)  # tests/test_smc_ordinal.py, and faster)
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        prob = _expit(x @ beta)
        info = (x * (prob * (1 - prob))[:, None]).T @ x
        step = np.linalg.solve(info, x.T @ (y - prob))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    prob = _expit(x @ beta)
    return beta, np.linalg.inv((x * (prob * (1 - prob))[:, None]).T @ x)


def rubin(datasets, scenario, model):
    """Pooled estimates, SEs and 95% half-widths (Rubin's rules, classic df)."""
    fits = [_fit(_design(d, scenario), d.y.to_numpy(dtype=float), model) for d in datasets]
    estimates = np.array([f[0] for f in fits])
    within = np.mean([np.diag(f[1]) for f in fits], axis=0)
    m = len(fits)
    between = estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    df = (m - 1) * (1 + within / ((1 + 1 / m) * between)) ** 2
    return estimates.mean(axis=0), np.sqrt(total), stats.t.ppf(0.975, df) * np.sqrt(total)


def replicate(scenario, seed, n_imputations=10, n_burn=None, n_between=None):
    """Pooled results of one replicate for both imputers (run lengths: the
    scenario's unless given; the quadratic term mixes slowly, doc/smc.rst)."""
    setup = SCENARIOS[scenario]
    n_burn = setup["run"]["n_burn"] if n_burn is None else n_burn
    n_between = setup["run"]["n_between"] if n_between is None else n_between
    rng = np.random.default_rng(seed)
    frame, full = setup["data"](rng)
    run = {
        "n_burn": n_burn,
        "n_between": n_between,
        "n_imputations": n_imputations,
        "random_state": seed,
    }
    smc = SubstantiveModelImputer(setup["formula"], model=setup["model"], **run).fit(frame)
    plain = JointModelImputer(
        covariate_cols=setup["observed"],
        categorical_cols=["y"] if setup["model"] in ("logit", "ordinal") else None,
        **run,
    ).fit(frame)
    model = setup["model"]
    beta, cov = _fit(_design(full, scenario), full.y.to_numpy(dtype=float), model)
    df = len(full) - len(beta) if model == "lm" else np.inf
    se = np.sqrt(np.diag(cov))
    out = {"full": (beta, se, stats.t.ppf(0.975, df) * se)}
    for name, imputer in (("smc", smc), ("jm", plain)):
        out[name] = rubin(imputer.sample(), scenario, setup["model"])
    out["missing"] = frame.isna().mean().max()
    out["acceptance"] = smc.acceptance_rates_.get("analysis-model covariates", np.nan)
    return out


def study(scenario, reps, seed=0, **kwargs):
    """Table of bias, MCSE, empirical SE, mean SE and coverage per method and term."""
    truth = np.asarray(SCENARIOS[scenario]["truth"])
    results = [replicate(scenario, seed * 100_000 + r, **kwargs) for r in range(reps)]
    rows = []
    for method in ("full", "smc", "jm"):
        est = np.array([r[method][0] for r in results])
        se = np.array([r[method][1] for r in results])
        half = np.array([r[method][2] for r in results])
        covered = np.abs(est - truth) <= half
        paired = est - np.array([r["full"][0] for r in results])
        rows += term_rows(
            method,
            _terms(scenario),
            truth,
            est,
            se,
            covered,
            vs_full=paired.mean(axis=0),
            mcse_vs_full=paired.std(axis=0, ddof=1) / np.sqrt(reps),
        )
    table = pd.DataFrame(rows)
    table.attrs["missing"] = float(np.mean([r["missing"] for r in results]))
    table.attrs["acceptance"] = float(np.nanmean([r["acceptance"] for r in results]))
    return table


def _terms(scenario):
    if scenario == "ordinal":
        return ["x1", "x2", "x1:x2", "0/1", "1/2", "2/3"]
    if scenario == "quadratic":
        return ["Intercept", "x", "I(x**2)", "z"]
    return ["Intercept", "x1", "x2", "x1:x2"]


def main():
    import warnings

    warnings.simplefilter("ignore")  # convergence warnings of single short chains
    parser = study_parser(__doc__, reps=300, imputations=None)
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    for scenario in args.scenarios:
        start = time.time()
        table = study(scenario, args.reps, args.seed)
        report(
            f"\n{scenario}: {args.reps} replicates, mean fraction missing "
            f"{table.attrs['missing']:.3f}, covariate acceptance "
            f"{table.attrs['acceptance']:.3f}",
            table,
            start,
        )


if __name__ == "__main__":
    main()
