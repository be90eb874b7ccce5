"""Helpers to compare skjomo with the R jomo fixtures in tests/fixtures/jomo.

Each fixture holds jomo's pooled analysis over m imputations (with the
between-imputation variance, so the Monte Carlo sd of a pooled estimate is
``sqrt(B / m)``) and posterior means of the parameters from a long chain
with batch-means Monte Carlo standard errors. See tests/r/README.md.
"""

import json

import numpy as np
from conftest import FIXTURES


def load_fixture(name):
    with open(FIXTURES / "jomo" / f"{name}.json") as fh:
        return json.load(fh)


def batch_means_se(draws, n_batches=50):
    """Monte Carlo standard error of the mean of each column of ``draws``."""
    draws = np.asarray(draws)
    n = draws.shape[0] // n_batches * n_batches
    batches = draws[:n].reshape((n_batches, -1) + draws.shape[1:]).mean(axis=1)
    return batches.std(axis=0, ddof=1) / np.sqrt(n_batches)


def assert_pooled_agree(pooled, fixture, names, n_sd=4.0, se_tol=0.10):
    """Pooled estimates within ``n_sd`` Monte Carlo sds, SEs within ``se_tol``."""
    ref = fixture["pooled"]["fixed"]
    m_ref = fixture["pooled"]["m"]
    mc_ref = np.sqrt(np.asarray(ref["b"]) / m_ref)
    ours = pooled.estimate[names].to_numpy()
    mc_ours = np.sqrt(np.diag(pooled.between.loc[names, names].to_numpy()) / pooled.m)
    limit = n_sd * np.sqrt(mc_ref**2 + mc_ours**2)
    diff = np.abs(ours - np.asarray(ref["estimate"]))
    report = dict(
        zip(ref["terms"], zip(ours, ref["estimate"], diff / np.sqrt(mc_ref**2 + mc_ours**2)))
    )
    assert np.all(diff <= limit), f"estimates (ours, jomo, z): {report}"
    se_ratio = pooled.std_error[names].to_numpy() / np.asarray(ref["std_error"])
    assert np.all(np.abs(se_ratio - 1) <= se_tol), f"SE ratios {dict(zip(ref['terms'], se_ratio))}"


def assert_posterior_agree(draws, block, n_sd=4.0, rows=None, cols=None):
    """Posterior means of a parameter block within ``n_sd`` combined MC se.

    ``draws`` has shape (n_draws, r, c) in the fixture's row/column order;
    ``rows``/``cols`` select a sub-block (e.g. the continuous part).
    """
    mean_ref = np.asarray(block["mean"])
    mcse_ref = np.asarray(block["mcse"])
    rows = slice(None) if rows is None else rows
    cols = slice(None) if cols is None else cols
    ours = draws.mean(axis=0)[rows][:, cols]
    mcse_ours = batch_means_se(draws)[rows][:, cols]
    ref = mean_ref[rows][:, cols]
    z = np.abs(ours - ref) / np.sqrt(mcse_ours**2 + mcse_ref[rows][:, cols] ** 2)
    assert np.all(z <= n_sd), f"posterior means ours={ours}, jomo={ref}, z={z}"


def random_intercept_reml(y, X, cluster):
    """REML fit of ``y = X beta + b_j + e`` with ``b_j ~ N(0, tau2)``, ``e ~ N(0, s2)``.

    An exact, fast equivalent of ``lmer(y ~ X + (1 | cluster))`` used to pool
    100 analyses quickly: with ``gamma = tau2 / s2`` every quantity reduces to
    per-cluster sums (Woodbury identity per cluster), and the REML criterion
    profiled over ``s2`` is minimised over ``log gamma``.

    Returns
    -------
    beta : ndarray (m,)
    cov : ndarray (m, m)
        ``s2 (X' V^{-1} X)^{-1}``, the covariance lmer reports.
    tau2, s2 : float
    """
    from scipy.optimize import minimize_scalar

    y = np.asarray(y, float)
    X = np.asarray(X, float)
    codes = np.unique(cluster, return_inverse=True)[1].ravel()
    J, (n, m) = codes.max() + 1, X.shape
    n_j = np.bincount(codes, minlength=J).astype(float)
    xx = X.T @ X
    xy = X.T @ y
    yy = y @ y
    sx = np.zeros((J, m))
    np.add.at(sx, codes, X)
    sy = np.bincount(codes, weights=y, minlength=J)

    def pieces(log_gamma):
        gamma = np.exp(log_gamma)
        w = gamma / (1.0 + n_j * gamma)
        a = xx - (sx * w[:, None]).T @ sx
        b = xy - (sx * w[:, None]).T @ sy
        beta = np.linalg.solve(a, b)
        rss = yy - np.sum(w * sy**2) - 2 * beta @ b + beta @ a @ beta
        logdet_v = np.sum(np.log1p(n_j * gamma))
        return beta, a, rss, logdet_v

    def criterion(log_gamma):
        beta, a, rss, logdet_v = pieces(log_gamma)
        return (logdet_v + np.linalg.slogdet(a)[1] + (n - m) * np.log(rss)) / 2

    log_gamma = minimize_scalar(
        criterion, bounds=(-15, 8), method="bounded", options={"xatol": 1e-10}
    ).x
    beta, a, rss, _ = pieces(log_gamma)
    s2 = rss / (n - m)
    return beta, s2 * np.linalg.inv(a), np.exp(log_gamma) * s2, s2


def pool_random_intercept(datasets, outcome, predictors, cluster):
    """Pool ``outcome ~ predictors + (1 | cluster)`` REML fits over data sets.

    Predictors may be categorical (dummy coded, first category as
    reference). Returns the PooledEstimates of the fixed effects and the
    averaged variance components (tau2, s2, ICC), as mitml averages them.
    """
    import pandas as pd

    from skjomo.pooling import pool_estimates

    estimates, covariances, components = [], [], []
    for data in datasets:
        design = pd.get_dummies(data[predictors], drop_first=True, dtype=float)
        X = np.column_stack([np.ones(len(data)), design.to_numpy(float)])
        names = ["Intercept"] + [str(c) for c in design.columns]
        beta, cov, tau2, s2 = random_intercept_reml(data[outcome], X, data[cluster])
        estimates.append(pd.Series(beta, index=names))
        covariances.append(cov)
        components.append((tau2, s2, tau2 / (tau2 + s2)))
    pooled = pool_estimates(estimates=estimates, covariances=covariances)
    return pooled, np.mean(components, axis=0)


def assert_pooled_agreement(table):
    """Pooled estimates within 4 Monte Carlo SDs of R's, standard errors within 10%."""
    assert np.all(np.abs(table.z) <= 4), table
    assert np.all(np.abs(table.se_ratio - 1) <= 0.10), table


def rerun_r_fixture(script, runs=5):
    """Run an R fixture script (``tests/r``) with ``--stdout`` and parse its JSON."""
    import json
    import subprocess
    from pathlib import Path

    tests = Path(__file__).parent
    out = subprocess.run(
        ["Rscript", str(tests / "r" / script), "--stdout", "--runs", str(runs)],
        cwd=tests.parent,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)
