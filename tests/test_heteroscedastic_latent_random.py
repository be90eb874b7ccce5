"""The "random" method with one categorical level-1 outcome.

With the latent block fixed at C, the restricted inverse-Wishart prior of
each cluster covariance is IW(a, A22.1) for Omega_22.1 times a matrix normal
for beta = Omega_11^{-1} Omega_12 (see _gibbs/_hierarchical.py). Here cluster
covariances are drawn from exactly that prior with known (a, A); the
hyper-parameter step, run alone on them, must recover a and A.
"""

import numpy as np
import pandas as pd
from scipy import stats

from skjomo import HeteroscedasticMultilevelImputer
from skjomo._gibbs._hierarchical import draw_covariance_hyperparameters
from skjomo.datasets import load_jspmiss


def _restricted_draws(a, scale, n_clusters, rng):
    """Covariances [[Omega22, Omega21], [Omega12, 1]] (latent last, fixed at 1)."""
    p2 = scale.shape[0] - 1
    s11 = scale[p2:, p2:]
    b = np.linalg.solve(s11, scale[p2:, :p2])  # A11^{-1} A12
    s22_1 = scale[:p2, :p2] - scale[:p2, p2:] @ b
    out = np.empty((n_clusters, p2 + 1, p2 + 1))
    for j in range(n_clusters):
        cond = np.atleast_2d(stats.invwishart(df=a, scale=s22_1).rvs(random_state=rng))
        beta = b + np.linalg.cholesky(np.linalg.inv(s11)) @ rng.standard_normal((1, p2)) @ \
            np.linalg.cholesky(cond).T
        out[j, p2:, p2:] = 1.0
        out[j, p2:, :p2] = beta
        out[j, :p2, p2:] = beta.T
        out[j, :p2, :p2] = cond + beta.T @ beta
    return out


def test_hyperparameters_recovered_with_a_latent_block():
    rng = np.random.default_rng(0)
    a_true = 9.0
    scale_true = np.array([[6.0, 1.0, 0.8], [1.0, 5.0, 0.5], [0.8, 0.5, 4.0]])
    covs = _restricted_draws(a_true, scale_true, 400, rng)
    chol = np.linalg.cholesky(covs)
    precision = np.linalg.inv(covs)
    a = np.array([30.0])
    scale = np.eye(3) * 2.0
    gen = np.random.default_rng(1)
    draws_a, draws_scale = [], []
    for k in range(3000):
        draw_covariance_hyperparameters(gen, covs, chol, precision, np.eye(3), 3.0, 2, a, scale)
        if k >= 500:
            draws_a.append(a[0])
            draws_scale.append(scale.copy())
    draws_a = np.array(draws_a)
    mean_scale = np.mean(draws_scale, axis=0)
    lower, upper = np.quantile(draws_a, [0.005, 0.995])
    assert lower <= a_true <= upper, (lower, upper)
    # the identifiable parts: A_22.1 and A_11^{-1} A_12 (A_11 is identified only
    # through the spread of beta, so it gets a looser tolerance)
    b_true = scale_true[2:, :2] / scale_true[2, 2]
    b_mean = np.mean([s[2:, :2] / s[2, 2] for s in draws_scale], axis=0)
    assert np.allclose(b_mean, b_true, atol=0.08), (b_mean, b_true)
    cond_true = scale_true[:2, :2] - scale_true[:2, 2:] @ b_true
    cond_mean = np.mean([s[:2, :2] - s[:2, 2:] @ (s[2:, :2] / s[2, 2]) for s in draws_scale],
                        axis=0)
    assert np.allclose(cond_mean, cond_true, rtol=0.2), (cond_mean, cond_true)
    assert abs(mean_scale[2, 2] / scale_true[2, 2] - 1) < 0.35


def test_random_method_runs_with_a_categorical_outcome():
    data = load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]
    imputer = HeteroscedasticMultilevelImputer(cluster_col="school", covariate_cols=["sex"],
                                               cov_method="random", n_burn=200, n_between=20,
                                               n_imputations=3, random_state=0).fit(data)
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
