"""Hyper-parameters of cluster-specific covariances, "random" method (numba).

Model (doc/sampler.rst, "Level-1 covariances"): ``Omega_j | a, A ~ IW(a, A)`` independently,
``A ~ Wishart(gamma, S)`` with ``gamma = p + 1`` and ``S`` the prior scale,
and ``a`` with the density of a chi-square with ``eta`` degrees of freedom,
restricted to ``a > p`` (as in jomo, which keeps ``a >= p``; ``IW(a, A)``
itself is proper for ``a > p - 1``).

The update is partially collapsed and in the order of doc/sampler.rst,
"Degrees of freedom a": first ``a`` from ``p(a | {Omega_j})`` with ``A`` integrated out
(same section),

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

import numpy as np

from ._jit import kernel
from ._linalg import (
    cholesky_lower,
    inverse_from_cholesky,
    log_det_from_cholesky,
    solve_lower,
    solve_lower_transpose,
    spd_inverse,
)
from ._wishart import log_multigamma, wishart

_T_DF = 4.0


@kernel
def _log_target(v, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m):
    """``log p(a | .)`` at ``a = a_min + exp(v)``, plus the log-Jacobian ``v``;
    ``p`` is the dimension of the inverse-Wishart matrices."""
    a = a_min + math.exp(v)
    value = (0.5 * eta - 1.0) * math.log(a) - 0.5 * a
    value -= n_clusters * log_multigamma(p, 0.5 * a)
    value -= 0.5 * a * sum_logdet
    shape = 0.5 * (n_clusters * a + gamma)
    value += log_multigamma(p, shape) - shape * logdet_m
    return value + v


@kernel
def _mode_and_curvature(a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m):
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
        f = _log_target(v, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
        if f > best_f:
            best_v, best_f = v, f
        v += 0.5
    low, high = best_v - 0.5, best_v + 0.5
    ratio = 0.5 * (math.sqrt(5.0) - 1.0)
    x1 = high - ratio * (high - low)
    x2 = low + ratio * (high - low)
    f1 = _log_target(x1, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    f2 = _log_target(x2, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    for _ in range(25):
        if f1 > f2:
            high, x2, f2 = x2, x1, f1
            x1 = high - ratio * (high - low)
            f1 = _log_target(x1, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
        else:
            low, x1, f1 = x1, x2, f2
            x2 = low + ratio * (high - low)
            f2 = _log_target(x2, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    mode = 0.5 * (low + high)
    h = 1e-3
    f0 = _log_target(mode, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    fp = _log_target(mode + h, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    fm = _log_target(mode - h, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    return mode, (fp - 2 * f0 + fm) / (h * h)


@kernel(inline=True)
def _log_t_kernel(x, centre, scale):
    z = (x - centre) / scale
    return -0.5 * (_T_DF + 1.0) * math.log(1.0 + z * z / _T_DF)


@kernel
def draw_degrees_of_freedom(rng, a, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m):
    """One independence MH update of ``a > a_min``; returns the new value."""
    v = math.log(a - a_min)
    mode, curv = _mode_and_curvature(a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
    # scale matching the curvature at the mode; a flat or convex mode gets a
    # wide fixed scale (still a function of the conditioning values only)
    scale = math.sqrt(-(_T_DF + 1.0) / (_T_DF * curv)) if curv < -1e-8 else 2.0
    t = rng.standard_normal() / math.sqrt(2.0 * rng.standard_gamma(0.5 * _T_DF) / _T_DF)
    proposal = mode + scale * t
    log_ratio = (
        _log_target(proposal, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
        - _log_target(v, a_min, p, n_clusters, eta, gamma, sum_logdet, logdet_m)
        + _log_t_kernel(v, mode, scale)
        - _log_t_kernel(proposal, mode, scale)
    )
    if math.log(rng.random()) < log_ratio:
        return a_min + math.exp(proposal)
    return a


@kernel
def _degrees_and_scale(rng, precisions, logdets, prior_scale_inv, eta, a_min, a, scale_out):
    """``a`` with the scale integrated out, then the Wishart scale given ``a``.

    For matrices ``W_j ~ IW(a, G)`` of dimension ``d`` with
    ``G ~ Wishart(d + 1, S)``: ``M = S^{-1} + sum_j W_j^{-1}``, ``a`` from
    :func:`draw_degrees_of_freedom`, then ``G ~ Wishart(d + 1 + J a, M^{-1})``.
    """
    n_clusters, d = precisions.shape[0], precisions.shape[1]
    gamma = d + 1.0
    m = prior_scale_inv.copy()
    sum_logdet = 0.0
    for j in range(n_clusters):
        m += precisions[j]
        sum_logdet += logdets[j]
    chol = np.empty((d, d))
    cholesky_lower(m, chol)
    logdet_m = log_det_from_cholesky(chol)
    a[0] = draw_degrees_of_freedom(
        rng, a[0], a_min, d, n_clusters, eta, gamma, sum_logdet, logdet_m
    )
    m_inv = np.empty((d, d))
    inverse_from_cholesky(chol, m_inv)
    wishart(rng, gamma + n_clusters * a[0], m_inv, scale_out)
    return m


@kernel
def _regressions_on_latents(cov, p2, betas, cond_prec, logdets):
    """Per cluster, ``beta_j = Omega_11^{-1} Omega_12`` (latents last, from
    column ``p2``), the inverse and log-determinant of
    ``Omega_22.1 = Omega_22 - Omega_21 beta_j``; small loops, no LAPACK."""
    p1 = cov.shape[1] - p2
    chol11 = np.empty((p1, p1))
    column = np.empty(p1)
    cond = np.empty((p2, p2))
    chol = np.empty((p2, p2))
    omega11 = np.empty((p1, p1))  # a C-contiguous copy: one signature of cholesky_lower
    for j in range(cov.shape[0]):
        for r in range(p1):
            for c in range(p1):
                omega11[r, c] = cov[j, p2 + r, p2 + c]
        cholesky_lower(omega11, chol11)
        for c in range(p2):
            for r in range(p1):
                column[r] = cov[j, p2 + r, c]
            solve_lower(chol11, column)
            solve_lower_transpose(chol11, column)
            for r in range(p1):
                betas[j, r, c] = column[r]
        for s in range(p2):
            for t in range(s + 1):
                total = cov[j, s, t]
                for r in range(p1):
                    total -= cov[j, s, p2 + r] * betas[j, r, t]
                cond[s, t] = total
                cond[t, s] = total
        cholesky_lower(cond, chol)
        logdets[j] = log_det_from_cholesky(chol)
        inverse_from_cholesky(chol, cond_prec[j])


@kernel
def _add_quadratic_forms(betas, centre, precisions, out):
    """``out += sum_j (beta_j - centre) P_j (beta_j - centre)'``."""
    p1, p2 = centre.shape
    diff = np.empty((p1, p2))
    for j in range(betas.shape[0]):
        for r in range(p1):
            for c in range(p2):
                diff[r, c] = betas[j, r, c] - centre[r, c]
        for r1 in range(p1):
            for r2 in range(p1):
                total = 0.0
                for s in range(p2):
                    for t in range(p2):
                        total += diff[r1, s] * precisions[j, s, t] * diff[r2, t]
                out[r1, r2] += total


@kernel(inline=True)
def draw_covariance_hyperparameters(
    rng, cov, cov_chol, precision, prior_scale, eta, n_free, a, scale_out
):
    """Update ``a`` (in ``a[0]``) then ``A`` (into ``scale_out``).

    Parameters
    ----------
    rng : numpy.random.Generator
    cov, cov_chol, precision : ndarray (J, p, p)
        Current cluster covariances, their Cholesky factors and inverses.
    prior_scale : ndarray (p, p)
        Scale ``S`` of the Wishart prior of ``A``.
    eta : float
        Degrees of freedom of the chi-square prior of ``a``.
    n_free : int
        Columns before the latent block (all ``p`` when there is none).
    a : ndarray (1,)
    scale_out : ndarray (p, p)

    Notes
    -----
    Without latents, :func:`_degrees_and_scale` on the ``Omega_j``. With
    latents (block 1, ``p1`` latents; block 2 the ``p2 = n_free`` free
    columns), the prior of ``Omega_j`` given ``a, A`` is
    ``Omega_22.1 ~ IW(a, A_22.1)`` times
    ``beta_j = Omega_11^{-1} Omega_12 ~ MN(A_11^{-1} A_12, A_11^{-1}, Omega_22.1)``,
    the law of these two under ``IW(a, A)``, which does not involve
    ``Omega_11``; ``Omega_11`` itself (fixed at ``C`` with one latent block,
    with free cross-block covariances otherwise) has a prior free of
    ``a, A`` (see doc/model.rst). Then
    the Wishart prior of ``A`` splits into ``A_22.1 ~ Wishart(p2 + 1, S_22.1)``
    independent of ``A_11 ~ Wishart(p + 1, S_11)`` and
    ``B = A_11^{-1} A_12 ~ MN(S_11^{-1} S_12, A_11^{-1}, S_22.1)``. So ``a``
    and ``A_22.1`` are updated as without latents on the ``Omega_22.1``, then
    ``A_11 | B`` (Wishart) and ``B | A_11`` (matrix normal, column precision
    ``L = S_22.1^{-1} + sum_j Omega_22.1^{-1}``), and ``A`` is reassembled.
    """
    n_clusters, p = precision.shape[0], precision.shape[1]
    if n_free == p:
        logdets = np.empty(n_clusters)
        for j in range(n_clusters):
            logdets[j] = log_det_from_cholesky(cov_chol[j])
        _degrees_and_scale(
            rng, precision, logdets, spd_inverse(prior_scale), eta, float(p), a, scale_out
        )
        return
    p2, p1 = n_free, p - n_free
    betas = np.empty((n_clusters, p1, p2))
    cond_prec = np.empty((n_clusters, p2, p2))
    logdets = np.empty(n_clusters)
    _regressions_on_latents(cov, p2, betas, cond_prec, logdets)
    s11 = np.ascontiguousarray(prior_scale[p2:, p2:])
    s12 = np.ascontiguousarray(prior_scale[p2:, :p2])
    s11_inv = spd_inverse(s11)
    m0 = s11_inv @ s12
    s22_1 = np.ascontiguousarray(prior_scale[:p2, :p2]) - s12.T @ m0
    s22_1_inv = spd_inverse(s22_1)
    a22_1 = np.empty((p2, p2))
    lam = _degrees_and_scale(rng, cond_prec, logdets, s22_1_inv, eta, float(p), a, a22_1)
    # A_11 | B, with B the current A_11^{-1} A_12
    a11 = np.ascontiguousarray(scale_out[p2:, p2:])
    b = spd_inverse(a11) @ np.ascontiguousarray(scale_out[p2:, :p2])
    q = s11_inv + (b - m0) @ s22_1_inv @ (b - m0).T
    _add_quadratic_forms(betas, b, cond_prec, q)
    q = 0.5 * (q + q.T)
    wishart(rng, p + 1.0 + (n_clusters + 1) * p2, spd_inverse(q), a11)
    # B | A_11 ~ MN(B_bar, A_11^{-1}, L^{-1})
    rhs = m0 @ s22_1_inv
    for j in range(n_clusters):
        for r in range(p1):
            for c in range(p2):
                total = 0.0
                for t in range(p2):
                    total += betas[j, r, t] * cond_prec[j, t, c]
                rhs[r, c] += total
    lam_inv = spd_inverse(lam)
    b_bar = rhs @ lam_inv
    row_chol = np.linalg.cholesky(spd_inverse(a11))
    col_chol = np.linalg.cholesky(lam_inv)
    noise = np.empty((p1, p2))
    for r in range(p1):
        for c in range(p2):
            noise[r, c] = rng.standard_normal()
    b = b_bar + row_chol @ noise @ col_chol.T
    a12 = a11 @ b
    scale_out[p2:, p2:] = a11
    scale_out[p2:, :p2] = a12
    scale_out[:p2, p2:] = a12.T
    scale_out[:p2, :p2] = a22_1 + b.T @ a11 @ b
