"""Maximum-likelihood fit of a random-intercept logistic model, for pooling.

The analysis model of the mixed logistic studies is

``logit P(y_ij = 1 | x_ij, b_j) = x_ij' beta + b_j``,  ``b_j ~ N(0, tau^2)``,

with conditional (cluster-specific) fixed effects ``beta``: the quantity
that lme4's ``glmer`` estimates and that compatible imputation targets.
No maintained Python package fits it by maximum likelihood (statsmodels'
``BinomialBayesMixedGLM`` is a variational or Laplace-approximate Bayesian
posterior with priors on the variance, and GEE estimates marginal, not
conditional, effects), so the tests fit it here, the way ``glmer`` does:

* the marginal likelihood of cluster ``j``,
  ``L_j = int prod_i f(y_ij | b) N(b; 0, tau^2) db``, by adaptive
  Gauss-Hermite quadrature around the mode ``b_j`` of the integrand
  (Newton steps vectorised over the clusters) with the curvature there as
  scale; one node is the Laplace approximation (``glmer``'s default,
  ``nAGQ = 1``);
* ``(beta, log tau)`` maximising ``sum_j log L_j`` (BFGS);
* the covariance of ``(beta, log tau)`` as the inverse of the
  finite-difference Hessian of the negative log-likelihood, as ``glmer``
  reports it (``vcov`` of the fixed effects is its ``beta`` block).

Everything works on per-cluster sums (``np.bincount``): no loop over
clusters or rows. A fit of 1000 rows in 50 clusters takes about 0.1 s.
tests/test_mixed_logit_fit.py checks it against ``glmer`` (to 1e-3).
"""

from collections import namedtuple

import numpy as np
from scipy import optimize
from scipy.special import expit, log_expit

MixedLogitFit = namedtuple(
    "MixedLogitFit",
    [
        "beta",  # (p,) fixed effects
        "cov",  # (p, p) their covariance (beta block of the inverse Hessian)
        "tau2",  # random-intercept variance
        "log_tau2_se",  # standard error of log(tau^2)
        "loglik",  # maximised log-likelihood
    ],
)


class _Clusters:
    """The data of the fit and the per-cluster work of its likelihood."""

    def __init__(self, y, X, cluster, n_nodes):
        self.y = np.asarray(y, float)
        self.X = np.asarray(X, float)
        self.codes = np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
        self.n_clusters = int(self.codes.max()) + 1
        self.nodes, weights = np.polynomial.hermite.hermgauss(n_nodes)
        # int f(b) db = sqrt(2) s sum_k w_k exp(z_k^2) f(m + sqrt(2) s z_k)
        self.log_weights = np.log(weights) + self.nodes**2 + 0.5 * np.log(2.0)
        self.mode = np.zeros(self.n_clusters)

    def _sum(self, values):
        return np.bincount(self.codes, weights=values, minlength=self.n_clusters)

    def _conditional_mode(self, eta, tau2):
        """Mode of ``log f(y_j | b) - b^2 / (2 tau^2)`` in every cluster (Newton
        from the last mode, steps capped at 1: the function is concave, but
        a full Newton step from far away can overshoot) and the curvature
        there."""
        b = self.mode.copy()
        for _ in range(200):
            prob = expit(eta + b[self.codes])
            grad = self._sum(self.y - prob) - b / tau2
            info = self._sum(prob * (1.0 - prob)) + 1.0 / tau2
            step = np.clip(grad / info, -1.0, 1.0)
            b += step
            if np.max(np.abs(step)) < 1e-10:
                break
        else:
            raise RuntimeError("the conditional modes of the random intercepts did not converge")
        prob = expit(eta + b[self.codes])
        self.mode = b
        return b, self._sum(prob * (1.0 - prob)) + 1.0 / tau2

    def loglik(self, params):
        """Adaptive-quadrature log-likelihood at ``(beta, log tau)``."""
        beta, log_tau = params[:-1], params[-1]
        tau2 = np.exp(2.0 * log_tau)
        eta = self.X @ beta
        mode, info = self._conditional_mode(eta, tau2)
        scale = 1.0 / np.sqrt(info)
        b = mode[:, None] + np.sqrt(2.0) * scale[:, None] * self.nodes  # (J, K)
        eta_k = eta[:, None] + b[self.codes]  # (N, K)
        loglik_k = np.stack(
            [self._sum(self.y * e + log_expit(-e)) for e in eta_k.T], axis=1
        )  # sum_i log f(y_ij | b) = y eta - log(1 + e^eta)
        log_prior = -0.5 * b**2 / tau2 - 0.5 * np.log(2.0 * np.pi) - log_tau
        log_j = np.log(scale) + np.logaddexp.reduce(self.log_weights + loglik_k + log_prior, axis=1)
        return float(log_j.sum())


def _hessian(f, x, h=1e-4):
    """Central finite-difference Hessian of ``f`` at ``x``."""
    n = x.size
    out = np.empty((n, n))
    steps = h * np.maximum(1.0, np.abs(x))
    for a in range(n):
        for c in range(a + 1):
            ea, ec = np.zeros(n), np.zeros(n)
            ea[a], ec[c] = steps[a], steps[c]
            out[a, c] = out[c, a] = (
                f(x + ea + ec) - f(x + ea - ec) - f(x - ea + ec) + f(x - ea - ec)
            ) / (4.0 * steps[a] * steps[c])
    return out


def fit_mixed_logit(y, X, cluster, n_nodes=1):
    """Fit ``logit P(y = 1) = X beta + b_cluster``, ``b ~ N(0, tau^2)``, by ML.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary outcome (0/1).
    X : array-like of shape (n, p)
        Fixed-effect design, intercept included.
    cluster : array-like of shape (n,)
        Cluster labels.
    n_nodes : int, default=1
        Adaptive Gauss-Hermite nodes per cluster (1: Laplace, as ``glmer``'s
        default ``nAGQ = 1``).

    Returns
    -------
    MixedLogitFit
    """
    data = _Clusters(y, X, cluster, n_nodes)
    p = data.X.shape[1]
    start_beta = np.linalg.lstsq(data.X, 4.0 * (data.y - 0.5), rcond=None)[0] * 0.5
    start = np.concatenate([start_beta, [np.log(0.5)]])

    def objective(params):
        return -data.loglik(params)

    result = optimize.minimize(objective, start, method="BFGS", options={"gtol": 1e-7})
    if not result.success and np.max(np.abs(result.jac)) > 1e-3:
        raise RuntimeError(f"the mixed logistic fit did not converge: {result.message}")
    hessian = _hessian(objective, result.x)
    cov = np.linalg.inv(hessian)
    return MixedLogitFit(
        beta=result.x[:p],
        cov=cov[:p, :p],
        tau2=float(np.exp(2.0 * result.x[-1])),
        log_tau2_se=float(2.0 * np.sqrt(cov[-1, -1])),
        loglik=-float(result.fun),
    )


def fit_frame(frame, outcome, covariates, cluster, n_nodes=1):
    """:func:`fit_mixed_logit` of ``outcome ~ covariates + (1 | cluster)`` on
    a DataFrame (an intercept first, then the covariates in order)."""
    X = np.column_stack([np.ones(len(frame))] + [frame[c].to_numpy(float) for c in covariates])
    return fit_mixed_logit(frame[outcome].to_numpy(float), X, frame[cluster].to_numpy(), n_nodes)
