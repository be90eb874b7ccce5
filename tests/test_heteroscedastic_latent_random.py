"""The "random" method with categorical level-1 outcomes.

Given its latent block Omega_11, each cluster covariance has the prior
IW(a, A22.1) for Omega_22.1 times a matrix normal for
beta = Omega_11^{-1} Omega_12 (see _gibbs/_hierarchical.py, doc/model.rst).
Here cluster covariances are drawn from exactly that prior with known
(a, A); the hyper-parameter step, run alone on them, must recover a and A.
"""

import numpy as np
from scipy import stats

from skjomo import HeteroscedasticMultilevelImputer
from skjomo._gibbs._hierarchical import draw_covariance_hyperparameters
from skjomo.datasets import load_jspmiss


def _restricted_draws(a, scale, latent_blocks, rng):
    """Covariances [[Omega22, Omega21], [Omega12, Omega11]], latents last.

    ``Omega11`` is given (``latent_blocks``, one per cluster); ``beta`` and
    ``Omega22.1`` are drawn from their law under IW(a, scale).
    """
    p1 = latent_blocks.shape[1]
    p2 = scale.shape[0] - p1
    s11 = scale[p2:, p2:]
    b = np.linalg.solve(s11, scale[p2:, :p2])  # A11^{-1} A12
    s22_1 = scale[:p2, :p2] - scale[:p2, p2:] @ b
    out = np.empty((len(latent_blocks), p2 + p1, p2 + p1))
    for j, omega11 in enumerate(latent_blocks):
        cond = np.atleast_2d(stats.invwishart(df=a, scale=s22_1).rvs(random_state=rng))
        beta = (
            b
            + np.linalg.cholesky(np.linalg.inv(s11))
            @ rng.standard_normal((p1, p2))
            @ np.linalg.cholesky(cond).T
        )
        out[j, p2:, p2:] = omega11
        out[j, p2:, :p2] = omega11 @ beta
        out[j, :p2, p2:] = (omega11 @ beta).T
        out[j, :p2, :p2] = cond + beta.T @ omega11 @ beta
    return out


def _run_hyperparameter_step(covs, n_free, n_iter=3000, burn=500):
    p = covs.shape[1]
    chol = np.linalg.cholesky(covs)
    precision = np.linalg.inv(covs)
    a = np.array([30.0])
    scale = np.eye(p) * 2.0
    gen = np.random.default_rng(1)
    draws_a, draws_scale = [], []
    for k in range(n_iter):
        draw_covariance_hyperparameters(
            gen, covs, chol, precision, np.eye(p), float(p), n_free, a, scale
        )
        if k >= burn:
            draws_a.append(a[0])
            draws_scale.append(scale.copy())
    return np.array(draws_a), np.array(draws_scale)


def test_hyperparameters_recovered_with_a_latent_block():
    rng = np.random.default_rng(0)
    a_true = 9.0
    scale_true = np.array([[6.0, 1.0, 0.8], [1.0, 5.0, 0.5], [0.8, 0.5, 4.0]])
    covs = _restricted_draws(a_true, scale_true, np.ones((400, 1, 1)), rng)
    draws_a, draws_scale = _run_hyperparameter_step(covs, 2)
    lower, upper = np.quantile(draws_a, [0.005, 0.995])
    assert lower <= a_true <= upper, (lower, upper)
    # the identifiable parts: A_22.1 and A_11^{-1} A_12 (A_11 is identified only
    # through the spread of beta, so it gets a looser tolerance)
    b_true = scale_true[2:, :2] / scale_true[2, 2]
    b_mean = np.mean([s[2:, :2] / s[2, 2] for s in draws_scale], axis=0)
    assert np.allclose(b_mean, b_true, atol=0.08), (b_mean, b_true)
    cond_true = scale_true[:2, :2] - scale_true[:2, 2:] @ b_true
    cond_mean = np.mean(
        [s[:2, :2] - s[:2, 2:] @ (s[2:, :2] / s[2, 2]) for s in draws_scale], axis=0
    )
    assert np.allclose(cond_mean, cond_true, rtol=0.2), (cond_mean, cond_true)
    assert abs(draws_scale[:, 2, 2].mean() / scale_true[2, 2] - 1) < 0.35


def test_hyperparameters_recovered_with_two_latent_blocks():
    """Two binary outcomes whose latent correlation differs across clusters
    (it has its own prior, free of a and A): a, A_22.1 and A_11^{-1} A_12
    are still recovered from the regressions on the latents."""
    rng = np.random.default_rng(3)
    a_true = 7.0
    scale_true = np.array(
        [[5.0, 1.0, 0.8, -0.6], [1.0, 4.0, 0.5, 0.4], [0.8, 0.5, 3.0, 0.9], [-0.6, 0.4, 0.9, 3.5]]
    )
    correlations = rng.uniform(-0.6, 0.8, 400)
    blocks = np.array([[[1.0, r], [r, 1.0]] for r in correlations])
    covs = _restricted_draws(a_true, scale_true, blocks, rng)
    draws_a, draws_scale = _run_hyperparameter_step(covs, 2)
    lower, upper = np.quantile(draws_a, [0.005, 0.995])
    assert lower <= a_true <= upper, (lower, upper)
    b_true = np.linalg.solve(scale_true[2:, 2:], scale_true[2:, :2])
    b_draws = np.array([np.linalg.solve(s[2:, 2:], s[2:, :2]) for s in draws_scale])
    assert np.allclose(b_draws.mean(axis=0), b_true, atol=0.1), (b_draws.mean(axis=0), b_true)
    cond_true = scale_true[:2, :2] - scale_true[:2, 2:] @ b_true
    cond_mean = np.mean([s[:2, :2] - s[:2, 2:] @ b for s, b in zip(draws_scale, b_draws)], axis=0)
    assert np.allclose(cond_mean, cond_true, rtol=0.2), (cond_mean, cond_true)


def test_random_method_runs_with_a_categorical_outcome():
    data = load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]
    imputer = HeteroscedasticMultilevelImputer(
        cluster_col="school",
        covariate_cols=["sex"],
        cov_method="random",
        n_burn=200,
        n_between=20,
        n_imputations=3,
        random_state=0,
    ).fit(data)
    covariances = imputer.cluster_covariances_
    assert covariances.shape == (47, 4, 4)
    assert np.allclose(covariances[:, 2:, 2:], [[1.0, 0.5], [0.5, 1.0]])
    assert imputer.a_ > 4
    for completed in imputer.sample():
        assert set(completed["fluent"].dropna()) <= {0, 1, 2}
        assert not completed[["english", "ravens", "fluent"]].isna().any().any()
    new = data.iloc[:15].copy()
    new["school"] = "new school"
    assert not imputer.transform(new)[["english", "ravens"]].isna().any().any()
