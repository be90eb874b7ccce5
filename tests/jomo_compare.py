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
    """Pooled estimates within ``n_sd`` Monte Carlo sds; SEs within ``se_tol``
    or, where their Monte Carlo error is larger, ``n_sd`` sds of their ratio."""
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
    se_ours = pooled.std_error[names].to_numpy()
    se_ref = np.asarray(ref["std_error"])
    se_ratio = se_ours / se_ref
    # Both SEs carry Monte Carlo error through the between-imputation
    # variance B (var(B_hat) ~ 2 B^2 / (m - 1)); where B dominates (a
    # coefficient of a variable with much missing information) a fixed 10%
    # band is under two sds of the ratio, so the band widens to n_sd sds.
    between_ours = np.diag(pooled.between.loc[names, names].to_numpy())
    rel_ours = _relative_se_error(se_ours, between_ours, pooled.m)
    rel_ref = _relative_se_error(se_ref, np.asarray(ref["b"]), m_ref)
    se_limit = np.maximum(se_tol, n_sd * se_ratio * np.sqrt(rel_ours**2 + rel_ref**2))
    assert np.all(np.abs(se_ratio - 1) <= se_limit), (
        f"SE ratios {dict(zip(ref['terms'], se_ratio))}, limits {se_limit}"
    )


def _relative_se_error(se, between, m):
    """Monte Carlo sd of a pooled SE over the SE: ``T = W + (1 + 1/m) B``
    with ``sd(B_hat) = B sqrt(2 / (m - 1))``, and ``sd(SE) = sd(T) / (2 SE)``."""
    sd_total = (1 + 1 / m) * between * np.sqrt(2 / (m - 1))
    return sd_total / (2 * se**2)


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


def ordinal_eta_terms(y, eta, cuts):
    """``log P(y | eta)`` of a cumulative logit model and its first two
    derivatives in ``eta`` (rows ``y`` coded ``0 .. K-1``)."""
    from scipy.special import expit

    bounds = np.concatenate([[-np.inf], cuts, [np.inf]])
    big_f_u, big_f_l = expit(bounds[y + 1] - eta), expit(bounds[y] - eta)
    f_u, f_l = big_f_u * (1 - big_f_u), big_f_l * (1 - big_f_l)
    prob = np.maximum(big_f_u - big_f_l, 1e-300)
    d1 = (f_l - f_u) / prob
    d2 = (f_u * (1 - 2 * big_f_u) - f_l * (1 - 2 * big_f_l)) / prob - d1**2
    return np.log(prob), d1, d2


def clmm_random_intercept(y, X, cluster, warm=None):
    """Laplace fit of the cumulative logit model with a random intercept,
    ``P(y_ij <= c) = expit(alpha_c - x_ij' beta - b_j)``, ``b_j ~ N(0, tau2)``:
    the fit of R's ``ordinal::clmm(y ~ X + (1 | cluster), link = "logit")``
    (its default Laplace approximation), used to pool the ordinal mixed
    analyses of the tests (Python has no maintained fit of this model).

    ``y`` holds category codes ``0 .. K-1``. Every cluster's random intercept
    is integrated out by the Laplace approximation at its mode (Newton steps,
    all clusters at once); the approximate marginal log-likelihood is
    maximised over ``(alpha, beta, log tau)`` and the covariance is the
    inverse of its numerical Hessian (central differences), as clmm reports.
    ``warm`` (a dict, filled in by the call) carries the optimum and Hessian
    of a fit to similar data, such as the previous imputation: the fit then
    starts there with Newton steps in that Hessian's metric.

    Returns
    -------
    params : ndarray
        Cut-points ``alpha_1 .. alpha_{K-1}``, then ``beta``.
    cov : ndarray
        Their covariance.
    tau2 : float
    loglik : float
        The Laplace log-likelihood at the maximum.
    """
    from scipy.optimize import minimize

    y = np.asarray(y, np.int64)
    X = np.asarray(X, float)
    codes = np.unique(cluster, return_inverse=True)[1].ravel()
    n_clusters, n_cuts, k = codes.max() + 1, y.max(), X.shape[1]

    modes = np.zeros(n_clusters)

    def laplace(params):
        cuts, beta, log_tau = params[:n_cuts], params[n_cuts:-1], params[-1]
        if np.any(np.diff(cuts) <= 0):
            return -np.inf
        tau2 = np.exp(2 * log_tau)
        fixed = X @ beta
        b = modes  # Newton from the last modes: the mode is unique (log-concave)
        for _ in range(100):
            _, d1, d2 = ordinal_eta_terms(y, fixed + b[codes], cuts)
            grad = np.bincount(codes, d1, n_clusters) - b / tau2
            hess = np.bincount(codes, d2, n_clusters) - 1 / tau2
            step = -grad / hess
            b += step  # in place: the next call starts here
            if np.max(np.abs(step)) < 1e-12:
                break
        log_p, _, d2 = ordinal_eta_terms(y, fixed + b[codes], cuts)
        hess = np.bincount(codes, d2, n_clusters) - 1 / tau2
        return (
            log_p.sum()
            - 0.5 * np.sum(b**2) / tau2
            - 0.5 * n_clusters * np.log(tau2)
            - 0.5 * np.sum(np.log(-hess))
        )

    r, h = n_cuts + k + 1, 1e-4

    def hessian_at(params):
        out = np.empty((r, r))
        for a in range(r):
            for c in range(a + 1):
                total = 0.0
                for sa, sc in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    shifted = params.copy()
                    shifted[a] += sa * h
                    shifted[c] += sc * h
                    total += sa * sc * laplace(shifted)
                out[a, c] = out[c, a] = total / (4 * h * h)
        return out

    params = None
    if warm:  # Newton steps with the previous fit's Hessian, central-difference gradients
        params, metric = warm["params"].copy(), np.linalg.inv(-warm["hessian"])
        for _ in range(50):
            grad = np.array(
                [(laplace(params + h * e) - laplace(params - h * e)) / (2 * h) for e in np.eye(r)]
            )
            step = metric @ grad
            params += step
            if not np.all(np.isfinite(step)) or np.max(np.abs(step)) < 1e-7:
                break
        if not np.all(np.isfinite(params)) or np.max(np.abs(step)) >= 1e-7:
            params = None
    if params is None:
        counts = np.bincount(y, minlength=n_cuts + 1) + 0.5
        cumulative = np.cumsum(counts)[:-1] / counts.sum()
        start = np.concatenate([np.log(cumulative / (1 - cumulative)), np.zeros(k), [-0.5]])
        params = minimize(lambda p: -laplace(p), start, method="BFGS", options={"gtol": 1e-6}).x
    hessian = hessian_at(params)
    if warm is not None:
        warm.update(params=params, hessian=hessian)
    cov = np.linalg.inv(-hessian)[:-1, :-1]
    return params[:-1], cov, float(np.exp(2 * params[-1])), float(laplace(params))
