"""Hyper-parameters of cluster-specific covariances, "random" method (numba).

Model (jomo-samplers.md §8): ``Omega_j | a, A ~ IW(a, A)`` independently,
``A ~ Wishart(gamma, S)`` with ``gamma = p + 1`` and ``S`` the prior scale,
and ``a`` with the density of a chi-square with ``eta`` degrees of freedom,
restricted to ``a > p`` (as in jomo, which keeps ``a >= p``; ``IW(a, A)``
itself is proper for ``a > p - 1``).

The update is partially collapsed and in the order of spec/README.md
decision 5: first ``a`` from ``p(a | {Omega_j})`` with ``A`` integrated out
(§8.1),

``log p(a | .) = log chi2_eta(a) - J log Gamma_p(a/2)
  - (a/2) sum_j log|Omega_j| - ((J a + gamma)/2) log|M|
  + log Gamma_p((J a + gamma)/2) + const``,  ``M = S^{-1} + sum_j Omega_j^{-1}``,

by an independence Metropolis-Hastings step on ``v = log(a - p)`` whose
proposal is a t distribution with 4 degrees of freedom centred at the mode
with matched curvature, with its exact density (kernel exponent -5/2) in the
acceptance ratio. The mode is found by a search that does not start from the
current value, so the proposal depends on the conditioning covariances only
(jomo's Newton search from the current value can stick where the target is
not log-concave); then ``A | a, {Omega_j} ~ Wishart(gamma + J a, M^{-1})``.
"""

import math

import numba as nb
import numpy as np

from ._linalg import cholesky_lower, inverse_from_cholesky, log_det_from_cholesky
from ._wishart import log_multigamma, wishart

_T_DF = 4.0


@nb.njit(cache=True)
def _log_target(v, p, n_clusters, eta, gamma, sum_logdet, logdet_m):
    """``log p(a | .)`` at ``a = p + exp(v)``, plus the log-Jacobian ``v``."""
    a = p + math.exp(v)
    value = (0.5 * eta - 1.0) * math.log(a) - 0.5 * a
    value -= n_clusters * log_multigamma(p, 0.5 * a)
    value -= 0.5 * a * sum_logdet
    shape = 0.5 * (n_clusters * a + gamma)
    value += log_multigamma(p, shape) - shape * logdet_m
    return value + v


@nb.njit(cache=True)
def _mode_and_curvature(p, n_clusters, eta, gamma, sum_logdet, logdet_m):
    """Mode of the target over ``v`` and the curvature there.

    The search does not depend on the chain's current value (a grid over
    ``v`` in [-10, 12] with step 0.5, then golden-section refinement around the best grid
    point), so the proposal built from it is a function of the conditioning
    covariances only and the Metropolis-Hastings step is a valid independence
    sampler, whatever the shape of the target.
    """
    best_v, best_f = -10.0, -np.inf
    v = -10.0
    while v <= 12.0:
        f = _log_target(v, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
        if f > best_f:
            best_v, best_f = v, f
        v += 0.5
    low, high = best_v - 0.5, best_v + 0.5
    ratio = 0.5 * (math.sqrt(5.0) - 1.0)
    x1 = high - ratio * (high - low)
    x2 = low + ratio * (high - low)
    f1 = _log_target(x1, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    f2 = _log_target(x2, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    for _ in range(25):
        if f1 > f2:
            high, x2, f2 = x2, x1, f1
            x1 = high - ratio * (high - low)
            f1 = _log_target(x1, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
        else:
            low, x1, f1 = x1, x2, f2
            x2 = low + ratio * (high - low)
            f2 = _log_target(x2, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    mode = 0.5 * (low + high)
    h = 1e-3
    f0 = _log_target(mode, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    fp = _log_target(mode + h, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    fm = _log_target(mode - h, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    return mode, (fp - 2 * f0 + fm) / (h * h)


@nb.njit(cache=True)
def _log_t_kernel(x, centre, scale):
    z = (x - centre) / scale
    return -0.5 * (_T_DF + 1.0) * math.log(1.0 + z * z / _T_DF)


@nb.njit(cache=True)
def draw_degrees_of_freedom(rng, a, p, n_clusters, eta, gamma, sum_logdet, logdet_m):
    """One independence MH update of ``a``; returns the new value."""
    v = math.log(a - p)
    mode, curv = _mode_and_curvature(p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    # scale matching the curvature at the mode; a flat or convex mode gets a
    # wide fixed scale (still a function of the conditioning values only)
    scale = math.sqrt(-(_T_DF + 1.0) / (_T_DF * curv)) if curv < -1e-8 else 2.0
    t = rng.standard_normal() / math.sqrt(2.0 * rng.standard_gamma(0.5 * _T_DF) / _T_DF)
    proposal = mode + scale * t
    log_ratio = (_log_target(proposal, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
                 - _log_target(v, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
                 + _log_t_kernel(v, mode, scale) - _log_t_kernel(proposal, mode, scale))
    if math.log(rng.random()) < log_ratio:
        return p + math.exp(proposal)
    return a


@nb.njit(cache=True)
def draw_covariance_hyperparameters(rng, cov_chol, precision, prior_scale_inv, eta,
                                    a, scale_out):
    """Update ``a`` (in ``a[0]``) then ``A`` (into ``scale_out``).

    Parameters
    ----------
    rng : numpy.random.Generator
    cov_chol, precision : ndarray (J, p, p)
        Cholesky factors and inverses of the current cluster covariances.
    prior_scale_inv : ndarray (p, p)
        Inverse of the Wishart prior scale ``S`` of ``A``.
    eta : float
        Degrees of freedom of the chi-square prior of ``a``.
    a : ndarray (1,)
    scale_out : ndarray (p, p)
    """
    n_clusters, p = precision.shape[0], precision.shape[1]
    gamma = p + 1.0
    m = prior_scale_inv.copy()
    sum_logdet = 0.0
    for j in range(n_clusters):
        m += precision[j]
        sum_logdet += log_det_from_cholesky(cov_chol[j])
    chol = np.empty((p, p))
    cholesky_lower(m, chol)
    logdet_m = log_det_from_cholesky(chol)
    a[0] = draw_degrees_of_freedom(rng, a[0], p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    m_inv = np.empty((p, p))
    inverse_from_cholesky(chol, m_inv)
    wishart(rng, gamma + n_clusters * a[0], m_inv, scale_out)
